import { ThemisError } from '../../errors.js';
import { BLOCK, PAIRS, ROW, indexOfSorted, type MemoryIndex, type PostingList } from './postings.js';
import type { QueryNode } from './query.js';

/** A prefix may expand to at most this many terms (each is scored like a term). */
export const MAX_PREFIX_EXPANSIONS = 10_000;

export interface Bm25Params {
  k1: number;
  b: number;
}

export interface ScoredDoc {
  key: string;
  score: number;
}

export interface SearchResult {
  /** Documents matching the query (all of them, not only the returned page). */
  total: number;
  hits: ScoredDoc[];
  /** Documents whose BM25 score was computed (≤ total when block-max pruning skipped some). */
  scored: number;
}

/** idf = ln(1 + (N − n + 0.5) / (n + 0.5)) (Lucene's BM25). */
export function bm25Idf(N: number, n: number): number {
  return Math.log(1 + (N - n + 0.5) / (n + 0.5));
}

/** Compiled query node: candidate generation, per-document match and score. */
interface Matcher {
  /** Upper bound of the number of candidates (drives the choice of the generating clause). */
  estimate(): number;
  forEachCandidate(f: (doc: number) => void): void;
  /** BM25 contribution of this node for `doc`, or -1 when the document does not match. */
  score(doc: number): number;
  /** Same as score(), for callers that ask in ascending document order after reset(): cursors gallop forward. */
  scoreAsc?(doc: number): number;
  reset?(): void;
  /** No document scores more than this (for top-k pruning). */
  upperBound(): number;
}

/** Whether `m` matches `doc`, asked in ascending order (no score computed where it can be avoided). */
function matchAsc(m: Matcher, doc: number): boolean {
  if (m instanceof TermMatcher) return m.hasAsc(doc);
  return (m.scoreAsc ? m.scoreAsc(doc) : m.score(doc)) >= 0;
}

class Ctx {
  readonly avgdl: number;
  private readonly k1p1: number;
  private readonly c0: number;
  private readonly c1: number;
  private readonly docLen: Int32Array;
  constructor(
    readonly mem: MemoryIndex,
    readonly p: Bm25Params,
  ) {
    this.avgdl = mem.n > 0 ? mem.sumDl / mem.n : 1;
    // f·(k1 + 1) / (f + k1·(1 − b + b·dl/avgdl)) = f·k1p1 / (f + c0 + c1·dl)
    this.k1p1 = p.k1 + 1;
    this.c0 = p.k1 * (1 - p.b);
    this.c1 = (p.k1 * p.b) / this.avgdl;
    this.docLen = mem.docLen;
  }
  idf(pl: PostingList): number {
    return bm25Idf(this.mem.n, pl.len);
  }
  /** f·(k1 + 1) / (f + k1·(1 − b + b·dl/avgdl)) */
  tfPart(f: number, doc: number): number {
    return (f * this.k1p1) / (f + this.c0 + this.c1 * this.docLen[doc]!);
  }
  tfPartDl(f: number, dl: number): number {
    return (f * this.k1p1) / (f + this.c0 + this.c1 * dl);
  }
  /** The largest term part a posting of block `b` can have, from the block's (tf, length) pairs. */
  blockTfPart(pairs: Int32Array, b: number): number {
    let best = 0;
    for (let o = b * 2 * PAIRS, end = o + 2 * PAIRS; o < end && pairs[o]! > 0; o += 2) {
      const x = this.tfPartDl(pairs[o]!, pairs[o + 1]!);
      if (x > best) best = x;
    }
    return best;
  }
  /** The largest term part any posting of `pl` can have. */
  maxTfPart(pl: PostingList): number {
    const pairs = pl.blockBounds(this.docLen);
    let best = 0;
    for (let b = 0, n = Math.ceil(pl.len / BLOCK); b < n; b++) best = Math.max(best, this.blockTfPart(pairs, b));
    return best;
  }
}

const NEVER: Matcher = { estimate: () => 0, forEachCandidate: () => {}, score: () => -1, upperBound: () => 0 };

class TermMatcher implements Matcher {
  readonly idf: number;
  constructor(
    readonly ctx: Ctx,
    readonly pl: PostingList,
  ) {
    this.idf = ctx.idf(pl);
  }
  estimate(): number {
    return this.pl.len;
  }
  forEachCandidate(f: (doc: number) => void): void {
    this.pl.forEachDoc(f);
  }
  score(doc: number): number {
    const i = this.pl.find(doc);
    return i < 0 ? -1 : this.idf * this.ctx.tfPart(this.pl.tfAt(i), doc);
  }
  private cur = 0;
  reset(): void {
    this.cur = 0;
  }
  scoreAsc(doc: number): number {
    const i = (this.cur = this.pl.seek(doc, this.cur));
    return i < this.pl.len && this.pl.docAt(i) === doc ? this.idf * this.ctx.tfPart(this.pl.tfAt(i), doc) : -1;
  }
  hasAsc(doc: number): boolean {
    const i = (this.cur = this.pl.seek(doc, this.cur));
    return i < this.pl.len && this.pl.docAt(i) === doc;
  }
  upperBound(): number {
    return this.idf * this.ctx.maxTfPart(this.pl);
  }
}

/** Exact phrase over positions; scored as Lucene's PhraseQuery: Σ idf(term) · tfPart(phrase frequency). */
class PhraseMatcher implements Matcher {
  readonly idfSum: number;
  readonly rarest: PostingList;
  private readonly curs: number[];
  /** Per part, the posting index of the document being checked (no allocation per candidate). */
  private readonly at: Int32Array;
  constructor(
    private readonly ctx: Ctx,
    private readonly parts: { pl: PostingList; offset: number }[],
  ) {
    this.idfSum = parts.reduce((s, p) => s + ctx.idf(p.pl), 0);
    this.rarest = parts.reduce((a, p) => (p.pl.len < a.len ? p.pl : a), parts[0]!.pl);
    this.curs = parts.map(() => 0);
    this.at = new Int32Array(parts.length);
  }
  reset(): void {
    this.curs.fill(0);
  }
  upperBound(): number {
    // the phrase frequency is at most the rarest term's tf in the document
    return this.idfSum * this.ctx.maxTfPart(this.rarest);
  }
  estimate(): number {
    return this.rarest.len;
  }
  forEachCandidate(f: (doc: number) => void): void {
    this.rarest.forEachDoc(f);
  }
  score(doc: number): number {
    for (let k = 0; k < this.parts.length; k++) {
      const i = this.parts[k]!.pl.find(doc);
      if (i < 0) return -1;
      this.at[k] = i;
    }
    return this.phraseScore(doc);
  }
  scoreAsc(doc: number): number {
    for (let k = 0; k < this.parts.length; k++) {
      const pl = this.parts[k]!.pl;
      const i = (this.curs[k] = pl.seek(doc, this.curs[k]!));
      if (i >= pl.len || pl.docAt(i) !== doc) return -1;
      this.at[k] = i;
    }
    return this.phraseScore(doc);
  }
  /** Phrase frequency from the positions of postings `at` (read in place from each list's pool). */
  private phraseScore(doc: number): number {
    const p0 = this.parts[0]!;
    const i0 = this.at[0]!;
    const from0 = p0.pl.offAt(i0);
    const to0 = from0 + p0.pl.tfAt(i0);
    const b0 = p0.pl.buf;
    let freq = 0;
    for (let a = from0; a < to0; a++) {
      const start = b0[a]! - p0.offset;
      let ok = true;
      for (let k = 1; k < this.parts.length && ok; k++) {
        const { pl, offset } = this.parts[k]!;
        const i = this.at[k]!;
        const from = pl.offAt(i);
        ok = indexOfSorted(pl.buf, from, from + pl.tfAt(i), start + offset) >= 0;
      }
      if (ok) freq++;
    }
    return freq === 0 ? -1 : this.idfSum * this.ctx.tfPart(freq, doc);
  }
}

/** Any child matches; the score is the sum of the matching children. */
class OrMatcher implements Matcher {
  constructor(private readonly children: Matcher[]) {}
  upperBound(): number {
    return this.children.reduce((s, c) => s + c.upperBound(), 0);
  }
  estimate(): number {
    return this.children.reduce((s, c) => s + c.estimate(), 0);
  }
  forEachCandidate(f: (doc: number) => void): void {
    for (const c of this.children) c.forEachCandidate(f);
  }
  score(doc: number): number {
    let s = -1;
    for (const c of this.children) {
      const x = c.score(doc);
      if (x >= 0) s = s < 0 ? x : s + x;
    }
    return s;
  }
}

/** Every `must` matches and no `not` does; candidates come from the most selective `must`. */
class AndMatcher implements Matcher {
  readonly driver: Matcher;
  constructor(
    readonly must: Matcher[],
    readonly not: Matcher[],
  ) {
    this.driver = must.reduce((a, m) => (m.estimate() < a.estimate() ? m : a), must[0] ?? NEVER);
  }
  estimate(): number {
    return this.must.length === 0 ? 0 : this.driver.estimate();
  }
  upperBound(): number {
    return this.must.reduce((s, c) => s + c.upperBound(), 0);
  }
  forEachCandidate(f: (doc: number) => void): void {
    if (this.must.length > 0) this.driver.forEachCandidate(f);
  }
  score(doc: number): number {
    if (this.must.length === 0) return -1;
    let s = 0;
    for (const m of this.must) {
      const x = m.score(doc);
      if (x < 0) return -1;
      s += x;
    }
    for (const m of this.not) if (m.score(doc) >= 0) return -1;
    return s;
  }
}

function compile(n: QueryNode, ctx: Ctx): Matcher {
  const mem = ctx.mem;
  switch (n.kind) {
    case 'term': {
      const pl = mem.terms.get(n.term);
      return pl ? new TermMatcher(ctx, pl) : NEVER;
    }
    case 'prefix': {
      let terms = mem.terms.size === 0 ? [] : mem.termsWithPrefix(n.prefix, MAX_PREFIX_EXPANSIONS);
      if (n.stem !== undefined && terms.length <= MAX_PREFIX_EXPANSIONS)
        terms = [...new Set([...terms, ...mem.termsWithPrefix(n.stem, MAX_PREFIX_EXPANSIONS)])];
      if (terms.length > MAX_PREFIX_EXPANSIONS) {
        throw new ThemisError(
          'VALIDATION_FAILED',
          `prefix "${n.prefix}*" matches more than ${MAX_PREFIX_EXPANSIONS} terms; use a longer prefix`,
          { details: { field: 'query' } },
        );
      }
      const ms = terms.map((t) => new TermMatcher(ctx, mem.terms.get(t)!));
      return ms.length === 0 ? NEVER : ms.length === 1 ? ms[0]! : new OrMatcher(ms);
    }
    case 'phrase': {
      const parts: { pl: PostingList; offset: number }[] = [];
      for (const t of n.terms) {
        const pl = mem.terms.get(t.term);
        if (!pl) return NEVER;
        parts.push({ pl, offset: t.offset });
      }
      return new PhraseMatcher(ctx, parts);
    }
    case 'or': {
      const cs = n.children.map((c) => compile(c, ctx)).filter((c) => c !== NEVER);
      return cs.length === 0 ? NEVER : cs.length === 1 ? cs[0]! : new OrMatcher(cs);
    }
    case 'and': {
      const must = n.must.map((c) => compile(c, ctx));
      if (must.length === 0 || must.includes(NEVER)) return NEVER;
      return new AndMatcher(
        must,
        n.not.map((c) => compile(c, ctx)).filter((c) => c !== NEVER),
      );
    }
  }
}

/** Scratch space reused by every search of one index (searches are synchronous). */
export class SearchScratch {
  private stamp = new Uint32Array(0);
  private gen = 0;
  /** A fresh "seen" set over document numbers. */
  begin(capacity: number): Uint32Array {
    if (this.stamp.length < capacity) this.stamp = new Uint32Array(Math.max(capacity, this.stamp.length * 2, 1024));
    if (++this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.gen = 1;
    }
    return this.stamp;
  }
  get generation(): number {
    return this.gen;
  }
}

/**
 * Evaluate `query` and return the `offset`..`offset + limit` best documents
 * by BM25 (ties by key), plus the exact number of matching documents.
 * Candidates come from the most selective required clause; each is checked
 * against the other clauses by binary search and scored; the top documents
 * are kept in a bounded min-heap of size offset + limit, so nothing is
 * allocated per match and sorting costs O(matches · log k).
 */
export function searchMemory(
  mem: MemoryIndex,
  query: QueryNode,
  opts: { limit: number; offset: number } & Bm25Params,
  scratch: SearchScratch,
): SearchResult {
  const ctx = new Ctx(mem, opts);
  const m = compile(query, ctx);
  const k = opts.offset + opts.limit;
  if (m === NEVER || k === 0) return { total: m === NEVER ? 0 : forEachMatch(m, mem, scratch), hits: [], scored: 0 };
  const heap = new TopK(k, mem);
  // Fast path: a term or phrase, alone or driving an AND. Its (rarest) posting list gives the
  // candidates once each in ascending order, so the other clauses gallop forward through theirs.
  const and = m instanceof AndMatcher ? m : undefined;
  const drive = and ? and.driver : m;
  if (drive instanceof TermMatcher || drive instanceof PhraseMatcher) {
    const rest = and ? and.must.filter((x) => x !== drive) : [];
    const not = and ? and.not : [];
    for (const x of [drive, ...rest, ...not]) x.reset?.();
    const asc = (x: Matcher, doc: number) => (x.scoreAsc ? x.scoreAsc(doc) : x.score(doc));
    const pl = drive instanceof TermMatcher ? drive.pl : drive.rarest;
    const { buf, len } = pl;
    const termIdf = drive instanceof TermMatcher ? drive.idf : -1;
    // Block-max pruning: once k documents are held, a block whose best possible score (the best of
    // its (tf, length) pairs, plus the other clauses' maxima) cannot beat the k-th
    // is not scored; its matches are only counted (a lone term's block: by its length).
    const pairs = pl.blockBounds(mem.docLen);
    const blockIdf = drive instanceof TermMatcher ? drive.idf : drive.idfSum;
    const restBound = rest.reduce((s, r) => s + r.upperBound(), 0);
    let total = 0;
    for (let b = 0, start = 0; start < len; b++, start += BLOCK) {
      const end = Math.min(len, start + BLOCK);
      if (heap.full && (blockIdf * ctx.blockTfPart(pairs, b) + restBound) * (1 + 1e-9) < heap.threshold) {
        if (termIdf >= 0 && rest.length === 0 && not.length === 0) {
          total += end - start;
          continue;
        }
        count: for (let i = start; i < end; i++) {
          const doc = buf[ROW * i]!;
          if (termIdf < 0 && !matchAsc(drive, doc)) continue;
          for (const r of rest) if (!matchAsc(r, doc)) continue count;
          for (const r of not) if (matchAsc(r, doc)) continue count;
          total++;
        }
        continue;
      }
      score: for (let i = start; i < end; i++) {
        const doc = buf[ROW * i]!;
        let s = termIdf >= 0 ? termIdf * ctx.tfPart(buf[ROW * i + 1]!, doc) : drive.scoreAsc(doc);
        if (s < 0) continue;
        for (const r of rest) {
          const x = asc(r, doc);
          if (x < 0) continue score;
          s += x;
        }
        for (const r of not) if (asc(r, doc) >= 0) continue score;
        total++;
        heap.offer(doc, s);
      }
    }
    return { total, hits: heap.page(opts.offset), scored: heap.offered };
  }
  const total = forEachMatch(m, mem, scratch, (doc, s) => heap.offer(doc, s));
  return { total, hits: heap.page(opts.offset), scored: heap.offered };
}

/** Generic evaluation: every candidate once (candidates may repeat across OR branches); returns the number of matches. */
function forEachMatch(m: Matcher, mem: MemoryIndex, scratch: SearchScratch, f?: (doc: number, score: number) => void): number {
  const seen = scratch.begin(mem.docCapacity);
  const gen = scratch.generation;
  let total = 0;
  m.forEachCandidate((doc) => {
    if (seen[doc] === gen) return;
    seen[doc] = gen;
    const s = m.score(doc);
    if (s < 0) return;
    total++;
    f?.(doc, s);
  });
  return total;
}

/** Bounded min-heap of (doc, score): the root is the worst kept document. */
class TopK {
  private docs: Int32Array;
  private scores: Float64Array;
  private size = 0;
  get full(): boolean {
    return this.size >= this.k;
  }
  /** The score a document must exceed to enter once full (the k-th best so far). */
  get threshold(): number {
    return this.scores[0]!;
  }
  constructor(
    private readonly k: number,
    private readonly mem: MemoryIndex,
  ) {
    const cap = Math.min(k, 1 << 16);
    this.docs = new Int32Array(cap);
    this.scores = new Float64Array(cap);
  }
  private grow(): void {
    // only when k is beyond the initial 65,536
    const d = new Int32Array(this.docs.length * 2);
    d.set(this.docs);
    const s = new Float64Array(this.scores.length * 2);
    s.set(this.scores);
    this.docs = d;
    this.scores = s;
  }
  /** a is worse than b: lower score, or equal score and larger key. */
  private worse(da: number, sa: number, db: number, sb: number): boolean {
    if (sa !== sb) return sa < sb;
    return this.mem.docKeys[da]! > this.mem.docKeys[db]!;
  }
  /** Documents offered (scored). */
  offered = 0;
  offer(doc: number, score: number): void {
    this.offered++;
    if (this.size < this.k) {
      if (this.size === this.docs.length) this.grow();
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(doc, score, this.docs[p]!, this.scores[p]!)) break;
        this.docs[i] = this.docs[p]!;
        this.scores[i] = this.scores[p]!;
        i = p;
      }
      this.docs[i] = doc;
      this.scores[i] = score;
      return;
    }
    if (!this.worse(this.docs[0]!, this.scores[0]!, doc, score)) return;
    // replace the root and sift down
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.worse(this.docs[r]!, this.scores[r]!, this.docs[l]!, this.scores[l]!)) c = r;
      if (!this.worse(this.docs[c]!, this.scores[c]!, doc, score)) break;
      this.docs[i] = this.docs[c]!;
      this.scores[i] = this.scores[c]!;
      i = c;
    }
    this.docs[i] = doc;
    this.scores[i] = score;
  }
  /** The hits from `offset` on, best first. */
  page(offset: number): ScoredDoc[] {
    return this.sorted()
      .slice(offset)
      .map(([doc, score]) => ({ key: this.mem.docKeys[doc]!, score }));
  }
  /** Best first. */
  sorted(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.size; i++) out.push([this.docs[i]!, this.scores[i]!]);
    out.sort((a, b) => (this.worse(a[0], a[1], b[0], b[1]) ? 1 : this.worse(b[0], b[1], a[0], a[1]) ? -1 : 0));
    return out;
  }
}
