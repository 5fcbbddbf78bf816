import { createRequire } from 'node:module';
import { ThemisError } from '../../errors.js';

// natural's package entry point loads dotenv (which prints to stdout) and its
// whole NLP suite; the stemmers and stopword lists are imported one by one.
const require = createRequire(import.meta.url);
interface NaturalStemmer {
  stem(word: string): string;
}
const porterEn = require('natural/lib/natural/stemmers/porter_stemmer.js') as NaturalStemmer;
const porterDe = require('natural/lib/natural/stemmers/porter_stemmer_de.js') as NaturalStemmer;
const stopwordsEn = (require('natural/lib/natural/util/stopwords.js') as { words: string[] }).words;
// natural's German stemmer module uses the stopwords-iso lists; so do we.
const stopwordsDe = (require('stopwords-iso') as Record<string, string[]>).de ?? [];

export type FulltextLanguage = 'en' | 'de' | 'none';
export const FULLTEXT_LANGUAGES: readonly FulltextLanguage[] = ['en', 'de', 'none'];

/** Per-index analysis and scoring settings (POST /index/create `config`). */
export interface FulltextConfig {
  language: FulltextLanguage;
  stemming_enabled: boolean;
  stopwords_enabled: boolean;
  /** Custom stopwords, used in addition to the language list when stopwords are enabled. */
  stopwords: string[];
  normalize_umlauts: boolean;
  k1: number;
  b: number;
}

export const DEFAULT_FULLTEXT_CONFIG: FulltextConfig = {
  language: 'en',
  stemming_enabled: false,
  stopwords_enabled: false,
  stopwords: [],
  normalize_umlauts: false,
  k1: 1.2,
  b: 0.75,
};

/** Tokens longer than this (base64 blobs, hashes) are skipped; they still take a position. */
export const MAX_TERM_LENGTH = 128;
/** Position gap between the elements of an array field, so phrases do not match across elements. */
export const ARRAY_POSITION_GAP = 100;
const MAX_CUSTOM_STOPWORDS = 10_000;

const CONFIG_KEYS = new Set(Object.keys(DEFAULT_FULLTEXT_CONFIG));

/** Validate a create request's `config` (undefined = all defaults). */
export function parseFulltextConfig(raw: unknown): FulltextConfig {
  const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field: `config.${field}` } });
  if (raw === undefined || raw === null) return { ...DEFAULT_FULLTEXT_CONFIG, stopwords: [] };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ThemisError('VALIDATION_FAILED', 'field "config" must be an object', { details: { field: 'config' } });
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!CONFIG_KEYS.has(k)) throw bad(k, `unknown fulltext config field "${k.slice(0, 60)}" (known: ${[...CONFIG_KEYS].join(', ')})`);
  const c: FulltextConfig = { ...DEFAULT_FULLTEXT_CONFIG, stopwords: [] };
  for (const f of ['stemming_enabled', 'stopwords_enabled', 'normalize_umlauts'] as const) {
    if (o[f] !== undefined) {
      if (typeof o[f] !== 'boolean') throw bad(f, `field "config.${f}" must be a boolean`);
      c[f] = o[f];
    }
  }
  if (o.language !== undefined) {
    if (typeof o.language !== 'string' || !(FULLTEXT_LANGUAGES as readonly string[]).includes(o.language))
      throw bad('language', `field "config.language" must be one of ${FULLTEXT_LANGUAGES.join(', ')}`);
    c.language = o.language as FulltextLanguage;
  }
  // Naming a language asks for its analysis (the contract's example): its stemmer and stopwords, unless
  // `stemming_enabled` / `stopwords_enabled` say otherwise. Without `language`, both stay off (a plain index).
  if (o.language !== undefined && c.language !== 'none') {
    if (o.stemming_enabled === undefined) c.stemming_enabled = true;
    if (o.stopwords_enabled === undefined) c.stopwords_enabled = true;
  }
  if (c.stemming_enabled && c.language === 'none')
    throw bad('stemming_enabled', 'stemming needs a language ("en" or "de"); set config.language or disable stemming');
  if (o.stopwords !== undefined) {
    if (
      !Array.isArray(o.stopwords) ||
      o.stopwords.length > MAX_CUSTOM_STOPWORDS ||
      !o.stopwords.every((w) => typeof w === 'string' && w.length > 0 && w.length <= MAX_TERM_LENGTH)
    ) {
      throw bad(
        'stopwords',
        `field "config.stopwords" must be a list of at most ${MAX_CUSTOM_STOPWORDS} non-empty words (each at most ${MAX_TERM_LENGTH} characters)`,
      );
    }
    c.stopwords = [...new Set(o.stopwords as string[])];
  }
  for (const [f, lo, hi] of [
    ['k1', 0, 10],
    ['b', 0, 1],
  ] as const) {
    if (o[f] !== undefined) {
      const v = o[f];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi)
        throw bad(f, `field "config.${f}" must be a number from ${lo} to ${hi}`);
      c[f] = v;
    }
  }
  return c;
}

/** One token of a text: its analysed term (null if removed), position and character offsets. */
export interface Token {
  term: string | null;
  /** Raw (lowercased, normalised, unstemmed) form; what prefix queries and highlighting compare. */
  surface: string;
  pos: number;
  start: number;
  end: number;
}

/** Terms of one analysed field value: term -> ascending positions; `length` = indexed tokens (BM25 dl). */
export interface AnalyzedText {
  length: number;
  terms: Map<string, number[]>;
}

// Letters (with combining marks) and digits; everything else separates tokens.
const WORD = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu;

/**
 * The words of a text that is all ASCII (where WORD's words are runs of
 * A–Z, a–z, 0–9), lowercased, found by one scan without the regex engine or
 * Unicode tables; undefined at the first non-ASCII character.
 */
function asciiWords(text: string): string[] | undefined {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
    if (!(c >= 97 ? c <= 122 : c >= 65 ? c <= 90 : c >= 48 && c <= 57)) {
      i++;
      continue;
    }
    const start = i;
    let upper = false;
    for (; i < n; i++) {
      c = text.charCodeAt(i);
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) continue;
      if (c >= 65 && c <= 90) {
        upper = true;
        continue;
      }
      if (c > 0x7f) return undefined;
      break;
    }
    const w = text.slice(start, i);
    out.push(upper ? w.toLowerCase() : w);
  }
  return out;
}
const UMLAUTS: Record<string, string> = { ä: 'a', ö: 'o', ü: 'u', ß: 'ss', ẞ: 'ss' };

/**
 * The analyzer of one fulltext index; the same instance analyses documents and
 * queries. Pipeline per token: Unicode-aware word tokenizer (letters, marks,
 * digits; offsets kept for highlighting) → NFC + lowercase → optional umlaut
 * normalisation (ä→a, ö→o, ü→u, ß→ss, and the spelled-out ae/oe/ue → a/o/u) →
 * optional stopword removal (the language list plus custom words; removed
 * tokens keep their position, so phrases stay exact) → optional Porter
 * stemming (en, or the Snowball German stemmer for de) from `natural`.
 */
export class Analyzer {
  private readonly stop: Set<string> | undefined;
  private readonly stemmer: NaturalStemmer | undefined;

  constructor(readonly config: FulltextConfig) {
    if (config.stopwords_enabled) {
      const base = config.language === 'en' ? stopwordsEn : config.language === 'de' ? stopwordsDe : [];
      this.stop = new Set([...base, ...config.stopwords].map((w) => this.normalize(w)));
    }
    if (config.stemming_enabled) this.stemmer = config.language === 'de' ? porterDe : config.language === 'en' ? porterEn : undefined;
  }

  /** Lowercase, NFC and (if configured) umlaut normalisation of one word (`ascii`: the caller knows it is all ASCII, which is its own NFC form). */
  normalize(word: string, ascii = false): string {
    let w = ascii ? word.toLowerCase() : word.normalize('NFC').toLowerCase();
    if (this.config.normalize_umlauts) {
      if (!ascii) w = w.replace(/[äöüßẞ]/g, (c) => UMLAUTS[c] ?? c);
      w = w.replace(/ae|oe|ue/g, (s) => s[0]!);
    }
    return w;
  }

  /** The stem of an already normalised word (the word itself without stemming). */
  stem(normalized: string): string {
    if (!this.stemmer) return normalized;
    const t = this.stemmer.stem(normalized);
    return t.length === 0 ? normalized : t;
  }

  /** The indexed term of one word, or null when it is a stopword or too long. */
  term(word: string): string | null {
    const w = this.normalize(word);
    return this.termOfNormalized(w);
  }

  private termOfNormalized(w: string): string | null {
    if (w.length === 0 || w.length > MAX_TERM_LENGTH) return null;
    if (this.stop?.has(w)) return null;
    return this.stem(w);
  }

  /** Tokens of `text` with positions starting at `firstPos`. */
  tokens(text: string, firstPos = 0): Token[] {
    const out: Token[] = [];
    let pos = firstPos;
    for (const m of text.matchAll(WORD)) {
      const surface = this.normalize(m[0]);
      out.push({ term: this.termOfNormalized(surface), surface, pos: pos++, start: m.index, end: m.index + m[0].length });
    }
    return out;
  }

  /** Terms with positions; each text of `texts` starts ARRAY_POSITION_GAP after the previous one. */
  analyze(texts: readonly string[]): AnalyzedText {
    const terms = new Map<string, number[]>();
    let length = 0;
    let pos = 0;
    const umlauts = this.config.normalize_umlauts;
    // `lowered`: an ASCII word, already lowercased (its own NFC form)
    const add = (word: string, lowered: boolean): void => {
      const t = this.termOfNormalized(lowered && !umlauts ? word : this.normalize(word, lowered));
      if (t !== null) {
        length++;
        const ps = terms.get(t);
        if (ps) ps.push(pos);
        else terms.set(t, [pos]);
      }
      pos++;
    };
    for (const text of texts) {
      const words = asciiWords(text);
      if (words) for (const w of words) add(w, true);
      else {
        WORD.lastIndex = 0;
        for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) add(m[0], false);
      }
      pos += ARRAY_POSITION_GAP;
    }
    return { length, terms };
  }
}

/**
 * The texts a document contributes to a fulltext index on `path`: a string,
 * a number (as its decimal text), or an array of those. Anything else (or a
 * missing field) contributes nothing.
 */
export function fieldTexts(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' && Number.isFinite(v)) return [String(v)];
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const e of v) {
      if (typeof e === 'string') out.push(e);
      else if (typeof e === 'number' && Number.isFinite(e)) out.push(String(e));
    }
    return out;
  }
  return [];
}
