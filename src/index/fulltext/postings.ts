/**
 * In-memory form of one fulltext index: the query side. Rebuilt from the
 * durable records at start and updated after each commit is durable, in
 * commit order, so it always equals the committed LevelDB state at some
 * commit boundary.
 *
 * A posting list keeps the documents of one term sorted by document number
 * in ONE typed array: rows of (document, term frequency, offset of the
 * positions) first, the positions after them. Appends are amortised O(1), a
 * lookup is a binary search over the rows, and positions replaced by updates
 * are dropped when they exceed half of those stored (or at the next growth).
 * One array per term rather than four: an indexed commit appends ~19
 * postings per document to lists spread over the whole heap, and each
 * separate array is another cache miss (and another object for the GC).
 */
import { decodeAnalysis, decodeForward } from './forward.js';

/** Index of `v` in the ascending entries a[from] … a[to - 1], or -1 (binary search). */
export function indexOfSorted(a: Int32Array, from: number, to: number, v: number): number {
  let lo = from;
  let hi = to - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = a[mid]!;
    if (x < v) lo = mid + 1;
    else if (x > v) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/** Postings per block of the block-max metadata, and (tf, length) pairs kept per block. */
export const BLOCK = 64;
export const PAIRS = 4;

/** The block-max metadata of a list no query has bounded yet (shared: most terms are never searched). */
const NO_PAIRS = new Int32Array(0);

/** Ints per posting row in `PostingList.buf`: document, term frequency, offset of its positions in `buf`. */
export const ROW = 3;

export class PostingList {
  len = 0;
  /** Rows (doc, tf, offset) at [ROW·i …], for i < len; positions from ROW·rowCap on. Replaced when it grows. */
  buf: Int32Array;
  private rowCap: number;
  /** Positions stored after the rows, those of replaced or removed postings (`garbage`) included. */
  poolLen = 0;
  private garbage = 0;
  // Block-max metadata for top-k pruning: per block of BLOCK postings, up to PAIRS (tf, length)
  // pairs that dominate every posting of the block (its Pareto frontier: no posting has a larger
  // tf at a smaller length than some pair). Recomputed lazily from the first posting changed since.
  private blockPairs = NO_PAIRS;
  private dirtyFrom = 0;

  /** Room for `capacity` postings with one position each (most terms occur once per document). */
  constructor(capacity = 2) {
    this.rowCap = Math.max(1, capacity);
    this.buf = new Int32Array((ROW + 1) * this.rowCap);
  }

  /** A list from parallel arrays (ascending docs) and the positions of all postings in order. */
  static fromArrays(docs: Int32Array, tfs: Int32Array, positions: Int32Array): PostingList {
    const n = docs.length;
    const pl = new PostingList(1);
    pl.rowCap = Math.max(1, n);
    const buf = new Int32Array(ROW * pl.rowCap + positions.length);
    let o = ROW * pl.rowCap;
    for (let i = 0; i < n; i++) {
      buf[ROW * i] = docs[i]!;
      buf[ROW * i + 1] = tfs[i]!;
      buf[ROW * i + 2] = o;
      o += tfs[i]!;
    }
    if (o - ROW * pl.rowCap !== positions.length) throw new Error('posting list positions do not match its frequencies');
    buf.set(positions, ROW * pl.rowCap);
    pl.buf = buf;
    pl.poolLen = positions.length;
    pl.len = n;
    return pl;
  }

  docAt(i: number): number {
    return this.buf[ROW * i]!;
  }

  tfAt(i: number): number {
    return this.buf[ROW * i + 1]!;
  }

  /** Where the positions of posting `i` start in `buf` (`tfAt(i)` of them). */
  offAt(i: number): number {
    return this.buf[ROW * i + 2]!;
  }

  positions(i: number): Int32Array {
    const o = this.buf[ROW * i + 2]!;
    return this.buf.subarray(o, o + this.buf[ROW * i + 1]!);
  }

  /** Index of `doc`, or -1. */
  find(doc: number): number {
    const i = this.search(doc);
    return i < 0 ? -1 : i;
  }

  /** Call `f` with every document, in ascending order. */
  forEachDoc(f: (doc: number) => void): void {
    const { buf, len } = this;
    for (let i = 0; i < len; i++) f(buf[ROW * i]!);
  }

  /** The first index ≥ `from` whose document is ≥ `doc` (galloping search; `len` if none). */
  seek(doc: number, from: number): number {
    const b = this.buf;
    const n = this.len;
    if (from >= n || b[ROW * from]! >= doc) return from;
    let step = 1;
    let lo = from;
    let hi = from + 1;
    while (hi < n && b[ROW * hi]! < doc) {
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
    if (hi > n) hi = n;
    // b[lo] < doc; answer in (lo, hi]
    lo++;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[ROW * mid]! < doc) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of `doc`, or -(insertion point) - 1. */
  private search(doc: number): number {
    const b = this.buf;
    if (this.len === 0 || b[ROW * (this.len - 1)]! < doc) return -this.len - 1;
    let lo = 0;
    let hi = this.len - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = b[ROW * mid]!;
      if (v < doc) lo = mid + 1;
      else if (v > doc) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  /** Insert or replace the positions of `doc` (ascending, non-empty): the first `n` of `positions`. */
  upsert(doc: number, positions: ArrayLike<number>, n = positions.length): void {
    if (this.len === 0 || this.buf[ROW * (this.len - 1)]! < doc) {
      this.append(doc, positions, n);
      return;
    }
    let i = this.search(doc);
    this.touch(i >= 0 ? i : -i - 1);
    if (i >= 0) {
      const r = ROW * i;
      const old = this.buf[r + 1]!;
      if (n <= old) {
        this.copyIn(positions, n, this.buf[r + 2]!);
        this.garbage += old - n;
        this.buf[r + 1] = n;
        return;
      }
      this.garbage += old;
      this.buf[r + 1] = 0; // its old positions are garbage now: a relayout below must not copy them
    } else {
      i = -i - 1;
      if (this.len === this.rowCap) this.relayout(this.rowCap * 2, n);
      const b = this.buf;
      b.copyWithin(ROW * (i + 1), ROW * i, ROW * this.len);
      b[ROW * i] = doc;
      b[ROW * i + 1] = 0;
      b[ROW * i + 2] = ROW * this.rowCap + this.poolLen;
      this.len++;
    }
    this.roomFor(n);
    const r = ROW * i;
    const o = ROW * this.rowCap + this.poolLen;
    this.buf[r + 1] = n;
    this.buf[r + 2] = o;
    this.copyIn(positions, n, o);
    this.poolLen += n;
  }

  /** `doc` after every document of the list (the common case: new documents take the highest numbers, and loads go in order). */
  private append(doc: number, positions: ArrayLike<number>, n: number): void {
    const i = this.len;
    if (i < this.dirtyFrom) this.dirtyFrom = i;
    if (i === this.rowCap) this.relayout(this.rowCap * 2, n);
    else this.roomFor(n);
    const b = this.buf;
    let o = ROW * this.rowCap + this.poolLen;
    b[ROW * i] = doc;
    b[ROW * i + 1] = n;
    b[ROW * i + 2] = o;
    // element-wise: TypedArray.set from a (mostly one-element) array is a slow generic call
    for (let k = 0; k < n; k++) b[o++] = positions[k]!;
    this.poolLen += n;
    this.len = i + 1;
  }

  private copyIn(positions: ArrayLike<number>, n: number, at: number): void {
    const b = this.buf;
    for (let k = 0; k < n; k++) b[at + k] = positions[k]!;
  }

  remove(doc: number): boolean {
    const i = this.find(doc);
    if (i < 0) return false;
    this.touch(i);
    this.garbage += this.buf[ROW * i + 1]!;
    this.buf.copyWithin(ROW * i, ROW * (i + 1), ROW * this.len);
    this.len--;
    if (this.garbage > 64 && this.garbage * 2 > this.poolLen) this.relayout(this.rowCap, 0);
    return true;
  }

  /** Postings from index `i` on changed (or their documents' lengths did: every update of a document upserts all its terms). */
  private touch(i: number): void {
    if (i < this.dirtyFrom) this.dirtyFrom = i;
  }

  /** Room for `n` more positions after the stored ones (garbage dropped first when it is half of them). */
  private roomFor(n: number): void {
    if (ROW * this.rowCap + this.poolLen + n <= this.buf.length) return;
    this.relayout(this.rowCap, n);
  }

  /**
   * A new `buf` with `rowCap` rows and room for the live positions plus
   * `extra` (at least doubling the position space when that is what ran
   * out); the live positions are copied in row order, garbage dropped.
   */
  private relayout(rowCap: number, extra: number): void {
    const old = this.buf;
    const poolCap = old.length - ROW * this.rowCap;
    const live = this.poolLen - this.garbage;
    let cap: number;
    if (rowCap !== this.rowCap)
      cap = live + extra > poolCap ? Math.max(poolCap * 2, live + extra) : poolCap; // rows ran out
    else if (extra === 0)
      cap = Math.min(poolCap, Math.max(8, live * 2)); // compaction after removes
    // positions ran out: dropping the garbage is room enough when it is over half of them, else double
    else cap = this.garbage * 2 > this.poolLen && live + extra <= poolCap ? poolCap : Math.max(poolCap * 2, live + extra);
    const b = new Int32Array(ROW * rowCap + cap);
    let o = ROW * rowCap;
    if (this.garbage === 0) {
      // every stored position is live: rows and positions are each copied as one block, the offsets moved by the pool's shift
      const shift = o - ROW * this.rowCap;
      b.set(old.subarray(0, ROW * this.len));
      for (let r = 2; r < ROW * this.len; r += ROW) b[r] = b[r]! + shift;
      b.set(old.subarray(ROW * this.rowCap, ROW * this.rowCap + this.poolLen), o);
      this.buf = b;
      this.rowCap = rowCap;
      return;
    }
    for (let i = 0; i < this.len; i++) {
      const r = ROW * i;
      const tf = old[r + 1]!;
      const from = old[r + 2]!;
      b[r] = old[r]!;
      b[r + 1] = tf;
      b[r + 2] = o;
      for (let k = 0; k < tf; k++) b[o++] = old[from + k]!;
    }
    this.buf = b;
    this.rowCap = rowCap;
    this.poolLen = o - ROW * rowCap;
    this.garbage = 0;
  }

  /**
   * Per block b, PAIRS (tf, dl) pairs at [b·2·PAIRS …] (tf 0 = unused) such that every posting
   * of the block has tf ≤ and dl ≥ one of them. BM25's term part grows with tf and falls with
   * the length, so the block's best possible term part is the best over its pairs.
   */
  blockBounds(docLen: Int32Array): Int32Array {
    const blocks = Math.ceil(this.len / BLOCK);
    if (this.dirtyFrom < this.len || this.blockPairs.length < blocks * 2 * PAIRS) {
      if (this.blockPairs.length < blocks * 2 * PAIRS) {
        const a = new Int32Array(Math.max(blocks, 4, (this.blockPairs.length / (2 * PAIRS)) * 2) * 2 * PAIRS);
        a.set(this.blockPairs);
        this.blockPairs = a;
      }
      const tf: number[] = [];
      const dl: number[] = [];
      const b0 = this.buf;
      for (let b = Math.floor(Math.min(this.dirtyFrom, this.len) / BLOCK); b < blocks; b++) {
        const end = Math.min(this.len, (b + 1) * BLOCK);
        tf.length = 0;
        dl.length = 0;
        const order: number[] = [];
        for (let i = b * BLOCK; i < end; i++) {
          tf.push(b0[ROW * i + 1]!);
          dl.push(docLen[b0[ROW * i]!]!);
          order.push(order.length);
        }
        // frontier: by tf descending (then length ascending), keep each posting shorter than all before it
        order.sort((x, y) => tf[y]! - tf[x]! || dl[x]! - dl[y]!);
        const front: [number, number][] = [];
        for (const x of order) if (front.length === 0 || dl[x]! < front[front.length - 1]![1]) front.push([tf[x]!, dl[x]!]);
        if (front.length > PAIRS) {
          // merge the tail into one pair that dominates it (largest tf, smallest length)
          const tail = front.splice(PAIRS - 1);
          front.push([Math.max(...tail.map((p) => p[0])), Math.min(...tail.map((p) => p[1]))]);
        }
        const o = b * 2 * PAIRS;
        for (let p = 0; p < PAIRS; p++) {
          this.blockPairs[o + 2 * p] = front[p]?.[0] ?? 0;
          this.blockPairs[o + 2 * p + 1] = front[p]?.[1] ?? 0;
        }
      }
      this.dirtyFrom = 0x7fffffff;
    }
    return this.blockPairs;
  }
}

/** Documents, their lengths and the posting lists of one index. */
export class MemoryIndex {
  readonly terms = new Map<string, PostingList>();
  private readonly keyToDoc = new Map<string, number>();
  docKeys: (string | undefined)[] = [];
  docLen = new Int32Array(1024);
  private readonly free: number[] = [];
  /** Documents with at least one indexed token (BM25 N) and the sum of their lengths. */
  n = 0;
  sumDl = 0;
  postings = 0;
  // Sorted term dictionary for prefix queries: terms added since the last merge are kept aside.
  private sorted: string[] = [];
  private added: string[] = [];

  /** Capacity of document numbers (scratch arrays of searches are sized to it). */
  get docCapacity(): number {
    return this.docKeys.length;
  }

  docOf(key: string): number | undefined {
    return this.keyToDoc.get(key);
  }

  df(term: string): number {
    return this.terms.get(term)?.len ?? 0;
  }

  /** Start-up: a document (documents are loaded in key order before their postings). */
  loadDoc(key: string, length: number): number {
    return this.slot(key, length);
  }

  /** Start-up: a whole posting list (its documents must have been loaded). */
  loadList(term: string, pl: PostingList): void {
    this.terms.set(term, pl);
    this.added.push(term);
    this.postings += pl.len;
  }

  /** Start-up: one posting; postings of a term arrive in ascending document order, so this appends. */
  loadPosting(term: string, doc: number, positions: ArrayLike<number>, n = positions.length): void {
    this.addPosting(term, doc, positions, n);
  }

  /**
   * Add or replace a document from its durable record (forward.ts), without
   * building its term map when it is new (`oldTerms`: the postings it has now).
   */
  putRecord(key: string, record: Uint8Array, oldTerms?: Iterable<string>): void {
    if (oldTerms) {
      const a = decodeAnalysis(record);
      this.put(key, a.length, a.terms, oldTerms);
      return;
    }
    let doc = -1;
    decodeForward(
      record,
      (t, ps, n) => this.addPosting(t, doc, ps, n),
      (length) => {
        doc = this.slot(key, length);
      },
    );
  }

  /** Add or replace a document (its previous postings are those in `oldTerms`). */
  put(key: string, length: number, terms: ReadonlyMap<string, readonly number[]>, oldTerms?: Iterable<string>): void {
    const doc = this.slot(key, length);
    if (oldTerms) for (const t of oldTerms) if (!terms.has(t)) this.removePosting(t, doc);
    for (const [t, ps] of terms) this.addPosting(t, doc, ps);
  }

  private addPosting(t: string, doc: number, ps: ArrayLike<number>, n = ps.length): void {
    let pl = this.terms.get(t);
    if (!pl) {
      pl = new PostingList();
      this.terms.set(t, pl);
      this.added.push(t);
    }
    const before = pl.len;
    pl.upsert(doc, ps, n);
    this.postings += pl.len - before;
  }

  /** The number of document `key` (a new one if needed) with its length set. */
  private slot(key: string, length: number): number {
    let doc = this.keyToDoc.get(key);
    if (doc === undefined) {
      doc = this.free.pop() ?? this.docKeys.length;
      if (doc === this.docKeys.length) this.docKeys.push(key);
      else this.docKeys[doc] = key;
      if (doc >= this.docLen.length) {
        const a = new Int32Array(this.docLen.length * 2);
        a.set(this.docLen);
        this.docLen = a;
      }
      this.keyToDoc.set(key, doc);
      this.n++;
    } else {
      this.sumDl -= this.docLen[doc]!;
    }
    this.docLen[doc] = length;
    this.sumDl += length;
    return doc;
  }

  delete(key: string, oldTerms: Iterable<string>): void {
    const doc = this.keyToDoc.get(key);
    if (doc === undefined) return;
    for (const t of oldTerms) this.removePosting(t, doc);
    this.keyToDoc.delete(key);
    this.docKeys[doc] = undefined;
    this.sumDl -= this.docLen[doc]!;
    this.docLen[doc] = 0;
    this.free.push(doc);
    this.n--;
  }

  private removePosting(t: string, doc: number): void {
    const pl = this.terms.get(t);
    if (pl && pl.remove(doc)) {
      this.postings--;
      if (pl.len === 0) this.terms.delete(t); // the dictionary drops it lazily
    }
  }

  /** Terms starting with `prefix`, in order; stops after `max + 1` (the caller reports too many). */
  termsWithPrefix(prefix: string, max: number): string[] {
    if (this.added.length > 0) {
      const merged = [...this.sorted, ...this.added].filter((t) => this.terms.has(t));
      merged.sort();
      this.sorted = merged.filter((t, i) => i === 0 || merged[i - 1] !== t);
      this.added = [];
    }
    const out: string[] = [];
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.sorted.length; i++) {
      const t = this.sorted[i]!;
      if (!t.startsWith(prefix)) break;
      if (!this.terms.has(t)) continue;
      out.push(t);
      if (out.length > max) break;
    }
    return out;
  }
}
