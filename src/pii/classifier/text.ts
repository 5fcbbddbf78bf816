/**
 * Shared text helpers of the recognizers: word tokens, the per-call scan
 * state, and the context enhancer.
 */

/** A word of the text: letters and digits, with inner `.`, `'`, `’`, `-` (e.g. "geb", "e-mail", "O'Connor"). */
export interface Token {
  start: number;
  end: number;
  lower: string;
}

// The separators are disjoint from the word characters, so the inner group
// cannot backtrack: linear in the text.
const WORD = /[\p{L}\p{N}]+(?:[.'’-][\p{L}\p{N}]+)*/gu;

export function wordTokens(text: string): Token[] {
  const out: Token[] = [];
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) {
    out.push({ start: m.index, end: m.index + m[0].length, lower: m[0].toLowerCase() });
  }
  return out;
}

/** A match a recognizer found, before the context enhancer and the overlap resolution. */
export interface Found {
  start: number;
  end: number;
  confidence: number;
}

/** What one classify call shares between its recognizers (computed lazily). */
export class Scan {
  private tokenCache: Token[] | undefined;
  private readonly memo = new Map<string, unknown>();

  constructor(
    readonly text: string,
    /** German gazetteers, context words and formats are used. */
    readonly de: boolean,
    /** English gazetteers, context words and formats are used. */
    readonly en: boolean,
  ) {}

  tokens(): Token[] {
    if (this.tokenCache === undefined) this.tokenCache = wordTokens(this.text);
    return this.tokenCache;
  }

  /** A value computed once per classify call (e.g. the IBAN-shaped spans other recognizers avoid). */
  once<T>(key: string, compute: () => T): T {
    if (this.memo.has(key)) return this.memo.get(key) as T;
    const v = compute();
    this.memo.set(key, v);
    return v;
  }

  /** Index of the first token that starts at or after pos. */
  tokenIndexAt(pos: number): number {
    const t = this.tokens();
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]!.start < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The lowercase words (at most n) that end before pos. */
  wordsBefore(pos: number, n: number): string[] {
    const t = this.tokens();
    let i = this.tokenIndexAt(pos) - 1;
    // A token that straddles pos (the match starts inside a word) is not before it.
    while (i >= 0 && t[i]!.end > pos) i--;
    const out: string[] = [];
    for (; i >= 0 && out.length < n; i--) out.unshift(t[i]!.lower);
    return out;
  }
}

/** Context words of one rule, prepared for matching. */
export interface ContextMatcher {
  single: Set<string>;
  prefixes: string[];
  phrases: string[];
}

/**
 * Prepares context words: a single word matches a window word that equals it
 * or (for words of four or more letters) starts with it ("telefon" matches
 * "telefonnummer"); a phrase ("date of birth") matches consecutive window words.
 */
export function contextMatcher(words: readonly string[]): ContextMatcher {
  const single = new Set<string>();
  const prefixes: string[] = [];
  const phrases: string[] = [];
  for (const w of words) {
    const lw = w.toLowerCase().trim();
    if (lw === '') continue;
    if (/\s/.test(lw)) phrases.push(lw.split(/\s+/).join(' '));
    else {
      single.add(lw);
      if (lw.length >= 4) prefixes.push(lw);
    }
  }
  return { single, prefixes, phrases };
}

export function contextHit(window: readonly string[], cm: ContextMatcher): boolean {
  for (const w of window) {
    if (cm.single.has(w)) return true;
    for (const p of cm.prefixes) if (w.startsWith(p)) return true;
  }
  if (cm.phrases.length > 0) {
    const joined = ` ${window.join(' ')} `;
    for (const p of cm.phrases) if (joined.includes(` ${p} `)) return true;
  }
  return false;
}

/** Presidio's LemmaContextAwareEnhancer defaults. */
export const CONTEXT_WINDOW_WORDS = 5;
export const CONTEXT_SIMILARITY_FACTOR = 0.35;
export const MIN_SCORE_WITH_CONTEXT = 0.4;

/** The confidence after the context enhancer: raised by 0.35 (at least to 0.4) when a context word is among the 5 words before; capped at 1. */
export function enhance(confidence: number, hit: boolean): number {
  const c = hit ? Math.max(confidence + CONTEXT_SIMILARITY_FACTOR, MIN_SCORE_WITH_CONTEXT) : confidence;
  return Math.round(Math.min(1, c) * 100) / 100;
}

export function isUpper(c: string | undefined): boolean {
  return c !== undefined && c !== c.toLowerCase() && c === c.toUpperCase();
}

/** A cheap first test: whether the word's first character may be an uppercase letter. */
export function mayStartUpper(w: string): boolean {
  const c = w.charCodeAt(0);
  return (c >= 65 && c <= 90) || c >= 192;
}

/** Whether a word starts with an uppercase letter followed by a lowercase one ("Müller", "McDonald", not "GMBH"). */
export function isCapitalised(w: string): boolean {
  return /^\p{Lu}\p{Ll}/u.test(w) || /^\p{Lu}['’]\p{Lu}\p{Ll}/u.test(w);
}

export function isLetterOrDigit(code: number): boolean {
  if (code < 128) return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
  return /[\p{L}\p{N}]/u.test(String.fromCharCode(code));
}

export function isDigitCode(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Whether [start, end) overlaps one of the (sorted, disjoint) spans. */
export function overlapsAny(spans: readonly (readonly [number, number])[], start: number, end: number): boolean {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]![1] <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo < spans.length && spans[lo]![0] < end;
}
