import { readVarint, writeAscii, writeVarint } from '../../storage/index.js';
import type { AnalyzedText } from './analyzer.js';

/**
 * The durable form of one document's postings: its analysed field (length,
 * and every term with its positions) as one LevelDB value, keyed by the
 * document. One entry per document and commit instead of one per term and
 * document: the commit batch of a 500-passage transaction carries ~500
 * entries for the index rather than ~10,000 postings plus ~4,000 document
 * frequencies, and the in-memory (query) side is the inversion of these
 * records (start-up without a checkpoint reads them in key order).
 *
 *   varint length (indexed tokens)
 *   per term: varint n, n bytes term (UTF-8), varint count, count varints
 *             (positions ascending: the first absolute, then deltas)
 */

/** Writes records into one growing buffer; each record is a view that stays valid (a grown buffer is a new one). */
export class ForwardWriter {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private at = 0;

  encode(a: AnalyzedText): Buffer {
    let need = 5;
    for (const [term, ps] of a.terms) need += 5 + term.length * 3 + 5 + ps.length * 5;
    if (this.at + need > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(this.buf.length, need * 2, 16 * 1024));
      this.at = 0;
    }
    const b = this.buf;
    const start = this.at;
    let o = writeVarint(b, start, a.length);
    for (const [term, ps] of a.terms) {
      // The term's bytes go after a one-byte length when they fit in 127 (terms are at most 128 characters).
      const ascii = writeAscii(b, o + 1, term);
      const n = ascii >= 0 ? ascii - o - 1 : b.write(term, o + 1, 'utf8');
      if (n < 0x80) b[o] = n;
      else {
        b.copyWithin(o + 2, o + 1, o + 1 + n);
        writeVarint(b, o, n);
        o++;
      }
      o += 1 + n;
      o = writeVarint(b, o, ps.length);
      let prev = 0;
      for (const p of ps) {
        o = writeVarint(b, o, p - prev);
        prev = p;
      }
    }
    this.at = o;
    return b.subarray(start, o);
  }
}

/** Positions of the term being decoded (shared: valid during the `term` callback only). */
let scratch = new Int32Array(256);

/**
 * The record's length (also given to `head` before the terms); calls `term`
 * for each term with its positions — the first `count` of a shared array,
 * valid only during the call — in the order they were written.
 */
export function decodeForward(
  b: Uint8Array,
  term: (t: string, positions: Int32Array, count: number) => void,
  head?: (length: number) => void,
): number {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const at = { o: 0 };
  const length = readVarint(buf, at);
  head?.(length);
  while (at.o < buf.length) {
    const n = readVarint(buf, at);
    const end = at.o + n;
    if (end > buf.length) throw new TypeError('truncated fulltext record');
    const t = shortAscii(buf, at.o, end) ?? buf.toString('utf8', at.o, end);
    at.o = end;
    const count = readVarint(buf, at);
    if (count > scratch.length) scratch = new Int32Array(Math.max(count, scratch.length * 2));
    const ps = scratch;
    let prev = 0;
    for (let i = 0; i < count; i++) ps[i] = prev += readVarint(buf, at);
    term(t, ps, count);
  }
  return length;
}

/** Bytes [s, e) as a string when they are at most 12 and all ASCII (cheaper in JS than a native UTF-8 decode), else undefined. */
function shortAscii(b: Buffer, s: number, e: number): string | undefined {
  if (e - s > 12) return undefined; // longer concatenations make cons strings (a node per character), kept as terms
  let r = '';
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c > 0x7f) return undefined;
    r += String.fromCharCode(c);
  }
  return r;
}

/** The indexed length (dl) a record holds: its first varint. */
export function recordLength(b: Uint8Array): number {
  return readVarint(b, { o: 0 });
}

/** The analysis a record holds. */
export function decodeAnalysis(b: Uint8Array): AnalyzedText {
  const terms = new Map<string, number[]>();
  const length = decodeForward(b, (t, ps, n) => terms.set(t, Array.from(ps.subarray(0, n))));
  return { length, terms };
}
