/**
 * Chunking of extracted text for retrieval: chunks of at most `size` UTF-16
 * code units that end, in order of preference, at a paragraph break (a blank
 * line), a sentence end, a line end, a space, or (only inside a word longer
 * than the chunk) anywhere that does not split a surrogate pair or a
 * combining sequence. A paragraph break or sentence end is only taken when it
 * leaves the chunk at least 40 % full (else the next kind is tried), so a
 * short heading stays with the paragraph after it.
 *
 * A sentence ends at `.`, `!`, `?` or `…` (closing quotes and brackets may
 * follow) before whitespace and a word that does not start in lower case;
 * not after common German and English abbreviations ("Dr.", "Nr.", "bzw.",
 * "Prof.", "approx."), one-letter parts ("z. B.", "e.g.", "U.S.", initials),
 * "No. 7"-style abbreviations before a number, an ordinal before a month
 * ("3. Oktober"), or a list item's number at the start of a line ("2. ").
 * A decimal point is never followed by whitespace, so it never ends one.
 *
 * Consecutive chunks overlap by about `overlap` characters (between half and
 * one and a half times it): the next chunk starts at the sentence start
 * closest to `end - overlap` in that range, else the closest word start, else
 * exactly there. A chunk no longer than the overlap is not repeated.
 *
 * Every chunk's `start`/`end` are offsets into the text with
 * `text.slice(start, end) === chunk.text` (surrounding whitespace trimmed).
 * Linear in the text: each window is scanned a bounded number of times.
 */
import { ThemisError } from '../../errors.js';

export const DEFAULT_CHUNK_SIZE = 1000;
export const DEFAULT_CHUNK_OVERLAP = 100;
/** The smallest chunk size accepted. */
export const MIN_CHUNK_SIZE = 50;

export interface ChunkOptions {
  /** Most UTF-16 code units per chunk (≥ 50). */
  size: number;
  /** About how many characters consecutive chunks share (0 ≤ overlap < size / 2). */
  overlap: number;
}

export interface TextChunk {
  seq_num: number;
  text: string;
  /** Offset of the chunk's first character in the text. */
  start: number;
  /** Offset after its last character: `text.slice(start, end) === chunk.text`. */
  end: number;
}

/** A cut in a paragraph or sentence is only taken when the chunk is at least this full (else the next level is tried). */
const MIN_FILL = 0.4;

// Boundary levels of a whitespace run, strongest last.
const SPACE = 1;
const LINE = 2;
const SENTENCE = 3;
const PARAGRAPH = 4;

/** Abbreviated month names, German and English ("3. Okt.", "Dec. 5"). */
const MONTH_ABBREVIATIONS = ['jan', 'feb', 'mär', 'mrz', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'okt', 'oct', 'nov', 'dez', 'dec'];

/**
 * Words that end with a period without ending the sentence (lower case, without the period). Words of one
 * letter ("z. B.", "e.g.", initials) and multi-part abbreviations whose last part is one letter are
 * recognized without a list.
 */
const ABBREVIATIONS = new Set([
  // English
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'mt',
  'vs',
  'cf',
  'al',
  'approx',
  'dept',
  'est',
  'fig',
  'figs',
  'inc',
  'ltd',
  'corp',
  'co',
  'resp',
  'eq',
  'ed',
  'eds',
  'rev',
  'gen',
  'gov',
  'sgt',
  'capt',
  'col',
  'lt',
  // German
  'nr',
  'hr',
  'hrn',
  'fr',
  'frl',
  'str',
  'tel',
  'bzw',
  'ca',
  'vgl',
  'ggf',
  'evtl',
  'inkl',
  'exkl',
  'zzgl',
  'bspw',
  'dipl',
  'ing',
  'geb',
  'gem',
  'jh',
  'jhd',
  'mio',
  'mrd',
  'sog',
  'std',
  'tsd',
  'zit',
  'allg',
  'anm',
  'betr',
  'bzgl',
  'eigtl',
  'entspr',
  'gegr',
  'mind',
  'mtl',
  'orig',
  'phil',
  'rer',
  'nat',
  'med',
  'dt',
  'engl',
  'franz',
  'ehem',
  'verh',
  'abb',
  'abt',
  'bsp',
  'tab',
  'max',
  'min',
  'ggü',
  // months (both languages)
  ...MONTH_ABBREVIATIONS,
]);

/** Abbreviations that stand before a number ("Nr. 5", "No. 3", "Art. 5", "S. 12", "p. 7"). */
const ABBREVIATIONS_BEFORE_NUMBER = new Set(['no', 'nos', 'art', 'abs', 'vol', 'p', 'pp', 's', 'ch', 'sec', 'para', 'bd', 'kap', 'ziff']);

/** Month names: "am 3. Oktober" is an ordinal, not a sentence end. */
const MONTHS = new Set([
  'januar',
  'jänner',
  'februar',
  'märz',
  'april',
  'mai',
  'juni',
  'juli',
  'august',
  'september',
  'oktober',
  'november',
  'dezember',
  'january',
  'february',
  'march',
  'may',
  'june',
  'july',
  'october',
  'december',
  ...MONTH_ABBREVIATIONS,
]);

const LOWER = /\p{Ll}/u;
const WORD_CHAR = /[\p{L}\p{N}]/u;
const DIGITS = /^\p{Nd}+$/u;
const DIGIT = /\p{Nd}/u;
const MARK = /^(?:\p{M}|\u200c|\u200d|[\ufe00-\ufe0f])/u;

/** JavaScript's `\s` (what `String.prototype.trim` removes). */
function isWs(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Closing quotes and brackets that may follow a sentence's final punctuation. */
function isCloser(ch: string): boolean {
  return '"\'”’»«›)]}'.includes(ch);
}
/** Opening quotes and brackets that may precede a sentence's first word. */
function isOpener(ch: string): boolean {
  return '"\'“‘„»«‹›([{'.includes(ch);
}

export function validateChunkOptions(opts: ChunkOptions): void {
  const { size, overlap } = opts;
  if (!Number.isSafeInteger(size) || size < MIN_CHUNK_SIZE) {
    throw new ThemisError('VALIDATION_FAILED', `chunk size must be an integer of at least ${MIN_CHUNK_SIZE} characters`, {
      details: { field: 'chunking.size' },
    });
  }
  if (!Number.isSafeInteger(overlap) || overlap < 0 || overlap * 2 >= size) {
    throw new ThemisError('VALIDATION_FAILED', 'chunk overlap must be an integer from 0 to less than half the chunk size', {
      details: { field: 'chunking.overlap' },
    });
  }
}

/**
 * Splits text into chunks of at most `opts.size` characters, overlapping by about `opts.overlap`; see the
 * module comment. Whitespace-only text gives no chunks.
 */
export function chunkText(text: string, opts: ChunkOptions): TextChunk[] {
  validateChunkOptions(opts);
  return new Chunker(text, opts.size, opts.overlap).run();
}

class Chunker {
  private readonly n: number;

  constructor(
    private readonly text: string,
    private readonly size: number,
    private readonly overlap: number,
  ) {
    this.n = text.length;
  }

  run(): TextChunk[] {
    const { text, n, size } = this;
    const out: TextChunk[] = [];
    let s = this.skipWs(0);
    let prevEnd = -1;
    while (s < n) {
      let cut: number;
      if (n - s <= size) cut = n;
      else cut = this.findCut(s, prevEnd);
      const end = this.trimEnd(s, cut);
      if (end <= prevEnd) {
        // No progress past the previous chunk (cannot happen with valid options; a guard against a loop).
        s = this.skipWs(prevEnd);
        continue;
      }
      out.push({ seq_num: out.length, text: text.slice(s, end), start: s, end });
      prevEnd = end;
      const rest = this.skipWs(cut);
      if (rest >= n) break;
      // A chunk no longer than the overlap is not repeated in the next one.
      s = this.overlap > 0 && end - s > this.overlap ? this.overlapStart(s, end) : rest;
    }
    return out;
  }

  private skipWs(i: number): number {
    const { text, n } = this;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    return i;
  }

  /** The end of the chunk [s, cut) with trailing whitespace removed. */
  private trimEnd(s: number, cut: number): number {
    let e = cut;
    while (e > s && isWs(this.text.charCodeAt(e - 1))) e--;
    return e;
  }

  /**
   * Where the chunk starting at s (whose rest does not fit) ends: the last boundary of the strongest level in
   * (s, s + size] that leaves the chunk at least MIN_FILL full (for spaces: anywhere), past the previous chunk.
   */
  private findCut(s: number, prevEnd: number): number {
    const { text, size } = this;
    const limit = s + size;
    const minFill = Math.max(s + Math.floor(size * MIN_FILL), prevEnd + 1);
    const minAny = Math.max(s + 1, prevEnd + 1);
    // The last run start of each level in the window (a run starting at `limit` still ends a chunk of `size`).
    const best = [-1, -1, -1, -1, -1];
    let i = s + 1;
    while (i <= limit) {
      if (!isWs(text.charCodeAt(i))) {
        i++;
        continue;
      }
      const { level, runEnd } = this.classifyRun(i);
      if (i >= minAny) {
        for (let l = SPACE; l <= level; l++) {
          if (l === SPACE || i >= minFill) best[l] = i;
        }
      }
      i = runEnd + 1;
    }
    for (const level of [PARAGRAPH, SENTENCE, LINE, SPACE]) {
      const at = best[level]!;
      if (at > 0) return at;
    }
    return this.hardCut(limit, minAny);
  }

  /**
   * A position at or before `at` (but not below `min`) that splits no surrogate pair or combining sequence;
   * a surrogate pair is never split, even when the sequence is longer than we look back.
   */
  private hardCut(at: number, min: number): number {
    const { text } = this;
    let c = at;
    for (let steps = 0; steps < 32 && c > min && this.isInsideCluster(c); steps++) c--;
    if (isLow(text.charCodeAt(c)) && isHigh(text.charCodeAt(c - 1))) c = c - 1 >= min ? c - 1 : c + 1;
    return c;
  }

  /** Whether a cut at c would separate text[c] from the character before it. */
  private isInsideCluster(c: number): boolean {
    const { text } = this;
    if (c <= 0 || c >= this.n) return false;
    const here = text.charCodeAt(c);
    if (isLow(here) && isHigh(text.charCodeAt(c - 1))) return true;
    if (text.charCodeAt(c - 1) === 0x200d) return true; // after a zero-width joiner (emoji sequences)
    return MARK.test(text.slice(c, c + 2));
  }

  /** The level of the whitespace run starting at i, and the index of its last character. */
  private classifyRun(i: number): { level: number; runEnd: number } {
    const { text, n } = this;
    let newlines = 0;
    let j = i;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (!isWs(c)) break;
      if (c === 0x0a || c === 0x2029) newlines++;
      else if (c === 0x0d && text.charCodeAt(j + 1) !== 0x0a) newlines++;
      j++;
    }
    let level = newlines >= 2 ? PARAGRAPH : newlines === 1 ? LINE : SPACE;
    if (level < SENTENCE && this.endsSentence(i, j)) level = SENTENCE;
    return { level, runEnd: j - 1 };
  }

  /** Whether the text before the whitespace run [i, next) ends a sentence. */
  private endsSentence(i: number, next: number): boolean {
    const { text } = this;
    let p = i - 1;
    for (let k = 0; k < 3 && p >= 0 && isCloser(text[p]!); k++) p--;
    if (p < 0) return false;
    const punct = text[p]!;
    if (punct !== '.' && punct !== '!' && punct !== '?' && punct !== '…') return false;
    const nextWord = this.wordAt(next);
    // A sentence does not go on in lower case ("etc. and", "usw. und", "... dann").
    if (nextWord !== '' && LOWER.test(nextWord[0]!)) return false;
    if (punct !== '.') return true;
    if (p > 0 && text[p - 1] === '.') return true; // "..."
    const tokenStart = this.tokenStart(p);
    const token = text.slice(tokenStart, p);
    if (token === '') return true;
    const lower = token.toLowerCase();
    if (ABBREVIATIONS.has(lower)) return false;
    const parts = lower.split(/[.-]/);
    const last = parts[parts.length - 1]!;
    // "z. B.", "e.g.", "i.e.", "U.S.", initials: the last part is one letter.
    if ([...last].length === 1 && /\p{L}/u.test(last)) return false;
    if (ABBREVIATIONS.has(last) && parts.length > 1) return false; // "Dipl.-Ing."
    const nextLower = nextWord.toLowerCase();
    if (ABBREVIATIONS_BEFORE_NUMBER.has(lower) && nextWord !== '' && DIGIT.test(nextWord[0]!)) return false;
    if (DIGITS.test(lower)) {
      // "am 3. Oktober": an ordinal before a month.
      if (lower.length <= 2 && MONTHS.has(nextLower)) return false;
      // "2. Zweiter Punkt": the number of a list item at the start of a line.
      if (lower.length <= 3 && this.atLineStart(tokenStart)) return false;
    }
    return true;
  }

  /** The word (letters and digits) at i, after opening quotes or brackets; at most 20 characters. */
  private wordAt(i: number): string {
    const { text, n } = this;
    let p = i;
    for (let k = 0; k < 3 && p < n && isOpener(text[p]!); k++) p++;
    let q = p;
    while (q < n && q - p < 20 && WORD_CHAR.test(text[q]!)) q++;
    return text.slice(p, q);
  }

  /** Where the token (letters, digits, inner `.` and `-`) ending just before the period at p starts; at most 30 characters back. */
  private tokenStart(p: number): number {
    const { text } = this;
    let q = p;
    while (q > 0 && p - q < 30) {
      const ch = text[q - 1]!;
      if (WORD_CHAR.test(ch) || ch === '.' || ch === '-') q--;
      else break;
    }
    return q;
  }

  /** Whether only spaces and tabs stand between the start of the line (or text) and i. */
  private atLineStart(i: number): boolean {
    const { text } = this;
    let q = i - 1;
    for (let k = 0; k < 16 && q >= 0 && (text[q] === ' ' || text[q] === '\t'); k++) q--;
    return q < 0 || text[q] === '\n';
  }

  /**
   * Where the chunk after [s, end) starts: a sentence start, else a word start, closest to `end - overlap`
   * within [end - 1.5·overlap, end - overlap/2], else `end - overlap` itself; always after s.
   */
  private overlapStart(s: number, end: number): number {
    const { text, overlap } = this;
    const target = end - overlap;
    const lo = Math.max(s + 1, end - Math.ceil(overlap * 1.5));
    const hi = Math.max(lo, end - Math.floor(overlap / 2));
    let bestSentence = -1;
    let bestWord = -1;
    const closer = (a: number, b: number): boolean => b < 0 || Math.abs(a - target) < Math.abs(b - target);
    // Runs starting before lo may still end inside the window: start the scan a little earlier.
    let i = lo - 1;
    while (i > s && isWs(text.charCodeAt(i))) i--;
    while (i < hi) {
      if (!isWs(text.charCodeAt(i))) {
        i++;
        continue;
      }
      const { level, runEnd } = this.classifyRun(i);
      const start = runEnd + 1;
      if (start >= lo && start <= hi && start < end) {
        if (level >= SENTENCE && closer(start, bestSentence)) bestSentence = start;
        if (closer(start, bestWord)) bestWord = start;
      }
      i = runEnd + 1;
    }
    if (bestSentence >= 0) return bestSentence;
    if (bestWord >= 0) return bestWord;
    const at = this.hardCut(Math.max(target, s + 1), s + 1);
    return this.skipWs(at);
  }
}
