import type { Logger } from '../../log.js';
import { type Engine, WriteBatch, decodeAscending, encodeAscending, keyspace, prefixUpperBound } from '../../storage/index.js';
import { valueAt } from '../extract.js';
import { idPrefix } from '../id-prefix.js';
import { TicketQueue } from '../tickets.js';
import { Analyzer, fieldTexts, type AnalyzedText, type FulltextConfig } from './analyzer.js';
import fs from 'node:fs';
import { writeCheckpointFile } from '../checkpoint-io.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import { MemoryIndex } from './postings.js';
import { parseFulltextQuery, queryTerms, type QueryNode } from './query.js';
import { SearchScratch, searchMemory, type SearchResult } from './search.js';
import { coalesceReplay, type ReplayEntry } from '../replay.js';
import { makeSnippet, type HighlightOptions } from './snippet.js';

const ftKs = keyspace('fulltext');
const TAG_DOC = 0x64; // 'd' + entityKey -> dl (uint32)
const TAG_POSTING = 0x70; // 'p' + term 0x00 entityKey -> positions (varint deltas)
const TAG_TERM = 0x74; // 't' + term -> df (uint32)
const TAG_STATS = 0x73; // 's' -> N (uint32), sum of dl (float64)

/** What one commit (or one backfill batch) does to a document of the index. */
export interface DocChange {
  key: string;
  /** The analysis the index holds for the document now (undefined: not indexed). */
  before?: AnalyzedText;
  /** What it will hold (undefined: not indexed afterwards). */
  after?: AnalyzedText;
}

/** A planned change of the index, applied to LevelDB in the commit's batch and to memory once durable. */
export interface FulltextPlan {
  docs: DocChange[];
  ticket: number;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

/** Positions as unsigned LEB128 deltas. */
export function encodePositions(ps: readonly number[]): Buffer {
  if (ps.length === 1 && ps[0]! < 0x80) return Buffer.of(ps[0]!); // the common case
  return encodeAscending(ps);
}

export function decodePositions(b: Uint8Array): number[] {
  return decodeAscending(b);
}

export interface FulltextStats {
  documents: number;
  terms: number;
  postings: number;
  avg_doc_length: number;
}

/**
 * One BM25 fulltext index over `table.column`.
 *
 * Durable layout (keyspace `fulltext`, after the 4-byte index id):
 *   'd' entityKey            -> document length (indexed tokens)
 *   'p' term 0x00 entityKey  -> positions (LEB128 deltas; tf = their count)
 *   't' term                 -> document frequency
 *   's'                      -> N (documents with ≥ 1 token), Σ document lengths
 * all written in the entity's commit batch. The statistics are absolute
 * values, so the hook needs the state every earlier commit leaves behind,
 * including commits still in flight: that write-side view is the in-memory
 * index (durable state) overlaid with the `pending*` maps, whose entries
 * belong to a ticket and are dropped once that ticket is applied to memory.
 * Tickets are applied strictly in order, whatever order their writes finish.
 */
export class FulltextIndex {
  readonly analyzer: Analyzer;
  private memRef = new MemoryIndex();
  private readonly prefix: Buffer;
  private readonly path: string[];
  private readonly scratch = new SearchScratch();
  private readonly pendingDf = new Map<string, { df: number; t: number }>();
  private readonly pendingDocs = new Map<string, { dl: number | null; t: number }>();
  private pendingStats: { n: number; sumDl: number; t: number } | undefined;
  private readonly tickets = new TicketQueue<FulltextPlan>(
    (p) => this.applyToMemory(p),
    (p) => this.dropPending(p),
  );
  /** Documents changed in memory since the last checkpoint. */
  private changedSinceCheckpoint = 0;
  /** How the in-memory side was built at start: from a checkpoint (plus the change log), or from the postings. */
  loadedFrom: 'new' | 'checkpoint' | 'postings' = 'new';
  /** The change-log seq the checkpoint on disk reflects (0: none yet); the replay after a crash starts there. */
  checkpointSeq = 0;

  constructor(
    readonly id: number,
    readonly column: string,
    readonly config: FulltextConfig,
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {
    this.analyzer = new Analyzer(config);
    this.prefix = idPrefix(id);
    this.path = column.split('.');
  }

  /** The in-memory (query) side: the durable state as of the last applied commit. */
  get mem(): MemoryIndex {
    return this.memRef;
  }

  /** Commits (or backfill batches) planned whose changes are not in memory yet. */
  get hasPending(): boolean {
    return this.tickets.hasPending;
  }

  // ------------------------------------------------------------------ analysis

  /** The analysed field of a parsed document (undefined when it has no indexed token). */
  analyzeDoc(doc: unknown): AnalyzedText | undefined {
    if (doc === undefined) return undefined;
    const texts = fieldTexts(valueAt(doc, this.path));
    if (texts.length === 0) return undefined;
    const a = this.analyzer.analyze(texts);
    return a.length === 0 ? undefined : a;
  }

  /** Whether the write-side view holds `key` (including commits in flight). */
  private indexedLength(key: string): number | undefined {
    const p = this.pendingDocs.get(key);
    if (p) return p.dl ?? undefined;
    const doc = this.mem.docOf(key);
    return doc === undefined ? undefined : this.mem.docLen[doc];
  }

  /**
   * Plan a commit's changes (pure: nothing changes until `apply`). `prev` is
   * re-analysed only when the index holds the document, so a commit racing a
   * backfill never removes what was not added.
   */
  plan(changes: readonly { key: string; prev: unknown; next: unknown }[]): DocChange[] {
    const out: DocChange[] = [];
    for (const c of changes) {
      const before = this.indexedLength(c.key) !== undefined ? this.analyzeDoc(c.prev) : undefined;
      const after = this.analyzeDoc(c.next);
      if (before === undefined && after === undefined) continue;
      out.push({ key: c.key, ...(before ? { before } : {}), ...(after ? { after } : {}) });
    }
    return out;
  }

  /** Backfill: documents the index does not hold yet (by the write-side view), from their latest text. */
  planBackfill(rows: readonly [string, string][]): DocChange[] {
    const out: DocChange[] = [];
    for (const [key, text] of rows) {
      if (this.pendingDocs.has(key) || this.mem.docOf(key) !== undefined) continue;
      const after = this.analyzeDoc(JSON.parse(text));
      if (after) out.push({ key, after });
    }
    return out;
  }

  /** Add the planned changes to `batch` and to the write-side view; returns the plan to hand to `complete` once durable. */
  apply(docs: DocChange[], batch: WriteBatch, firstSeq?: number): FulltextPlan {
    const t = this.tickets.take(firstSeq);
    const dfDelta = new Map<string, number>();
    // Key prefix 'p' term 0x00 of each term, built once per batch (terms repeat across documents).
    const termParts = new Map<string, Buffer>();
    const postingKey = (term: string, kb: Buffer): Buffer => {
      let tp = termParts.get(term);
      if (!tp) termParts.set(term, (tp = Buffer.concat([this.prefix, Buffer.of(TAG_POSTING), Buffer.from(term, 'utf8'), Buffer.of(0)])));
      return Buffer.concat([tp, kb], tp.length + kb.length);
    };
    let n = this.pendingStats?.n ?? this.mem.n;
    let sumDl = this.pendingStats?.sumDl ?? this.mem.sumDl;
    for (const d of docs) {
      const kb = Buffer.from(d.key, 'utf8');
      if (d.before) {
        n--;
        sumDl -= d.before.length;
        for (const [term, ps] of d.before.terms) {
          const next = d.after?.terms.get(term);
          if (next && samePositions(ps, next)) continue;
          if (!next) {
            dfDelta.set(term, (dfDelta.get(term) ?? 0) - 1);
            batch.del(ftKs, postingKey(term, kb));
          }
        }
      }
      if (d.after) {
        n++;
        sumDl += d.after.length;
        for (const [term, ps] of d.after.terms) {
          const old = d.before?.terms.get(term);
          if (old && samePositions(old, ps)) continue;
          if (!old) dfDelta.set(term, (dfDelta.get(term) ?? 0) + 1);
          batch.put(ftKs, postingKey(term, kb), encodePositions(ps));
        }
        batch.put(ftKs, this.docKey(kb), u32(d.after.length));
      } else {
        batch.del(ftKs, this.docKey(kb));
      }
      this.pendingDocs.set(d.key, { dl: d.after?.length ?? null, t });
    }
    for (const [term, delta] of dfDelta) {
      if (delta === 0) continue;
      const df = (this.pendingDf.get(term)?.df ?? this.mem.df(term)) + delta;
      this.pendingDf.set(term, { df, t });
      const k = this.termKey(term);
      if (df > 0) batch.put(ftKs, k, u32(df));
      else batch.del(ftKs, k);
    }
    this.pendingStats = { n, sumDl, t };
    batch.put(ftKs, this.statsKey(), statsValue(n, sumDl));
    return { docs, ticket: t };
  }

  /** The plan's batch is durable: apply it (and every earlier ticket) to the in-memory index, in ticket order. */
  complete(plan: FulltextPlan): void {
    this.tickets.complete(plan);
  }

  /** The plan's batch failed: memory stays as it is, and what the plan marked pending is dropped in its turn. */
  cancel(plan: FulltextPlan): void {
    this.tickets.cancel(plan);
  }

  private applyToMemory(p: FulltextPlan): void {
    this.putInMemory(p.docs);
    this.dropPending(p);
  }

  private dropPending(p: FulltextPlan): void {
    for (const d of p.docs) {
      if (this.pendingDocs.get(d.key)?.t === p.ticket) this.pendingDocs.delete(d.key);
      for (const a of [d.before, d.after]) {
        if (!a) continue;
        for (const term of a.terms.keys()) if (this.pendingDf.get(term)?.t === p.ticket) this.pendingDf.delete(term);
      }
    }
    if (this.pendingStats?.t === p.ticket) this.pendingStats = undefined;
  }

  /** Apply planned document changes to the in-memory index. */
  private putInMemory(docs: readonly DocChange[]): void {
    this.changedSinceCheckpoint += docs.length;
    for (const d of docs) {
      if (d.after) this.memRef.put(d.key, d.after.length, d.after.terms, d.before?.terms.keys());
      else if (d.before) this.memRef.delete(d.key, d.before.terms.keys());
    }
  }

  /** N and Σdl as stored (the 's' entry). */
  private storedStats(): { n: number; sumDl: number } {
    const s = this.engine.getSync(ftKs, this.statsKey());
    return { n: s ? s.readUInt32BE(0) : 0, sumDl: s ? s.readDoubleBE(4) : 0 };
  }

  // ------------------------------------------------------------------ queries

  /** Parse (400 on bad syntax) and evaluate against the latest durable state. */
  search(query: string | QueryNode, opts: { limit: number; offset: number }): SearchResult & { query: QueryNode } {
    const q = typeof query === 'string' ? parseFulltextQuery(query, this.analyzer) : query;
    return { ...searchMemory(this.mem, q, { ...opts, k1: this.config.k1, b: this.config.b }, this.scratch), query: q };
  }

  /** A highlighted fragment of `doc`'s field around the query's terms. */
  snippet(doc: unknown, query: QueryNode, opts: HighlightOptions): string {
    return makeSnippet(this.analyzer, fieldTexts(valueAt(doc, this.path)), queryTerms(query), opts);
  }

  stats(): FulltextStats {
    const m = this.mem;
    return { documents: m.n, terms: m.terms.size, postings: m.postings, avg_doc_length: m.n > 0 ? m.sumDl / m.n : 0 };
  }

  // ------------------------------------------------------------------ durable state

  /** Rebuild the in-memory index from the durable postings (start-up). */
  async load(): Promise<void> {
    const docs = new Map<string, number>();
    for await (const chunk of this.engine.scanChunks(ftKs, this.range(TAG_DOC), 4096)) {
      for (const [k, v] of chunk) {
        const key = k.toString('utf8', 5);
        docs.set(key, this.mem.loadDoc(key, v.readUInt32BE(0)));
      }
    }
    let missing = 0;
    // Postings come grouped by term: the term's bytes are compared, not decoded, for each entry.
    let termBytes: Buffer = Buffer.alloc(0);
    let term = '';
    for await (const chunk of this.engine.scanChunks(ftKs, this.range(TAG_POSTING), 4096)) {
      for (const [k, v] of chunk) {
        const sep = k.indexOf(0, 5);
        if (sep - 5 !== termBytes.length || k.compare(termBytes, 0, termBytes.length, 5, sep) !== 0) {
          termBytes = Buffer.from(k.subarray(5, sep));
          term = termBytes.toString('utf8');
        }
        const doc = docs.get(k.toString('utf8', sep + 1));
        if (doc === undefined) missing++;
        else this.mem.loadPosting(term, doc, decodePositions(v));
      }
    }
    const { n, sumDl } = this.storedStats();
    // No usable checkpoint led here: the next checkpoint is due whatever changes.
    this.changedSinceCheckpoint = Math.max(1, this.memRef.n);
    this.loadedFrom = 'postings';
    if (missing > 0 || n !== this.mem.n || sumDl !== this.mem.sumDl) {
      this.log.error('fulltext index statistics disagree with its postings; the postings win', {
        index_id: this.id,
        missing,
        stored_n: n,
        n: this.mem.n,
        stored_sum_dl: sumDl,
        sum_dl: this.mem.sumDl,
      });
    }
  }

  /**
   * Write the in-memory side to `file` (atomically). Memory holds every
   * commit of this index's table up to the one before the first outstanding
   * ticket (tickets follow sequence order), or, with none outstanding, every
   * commit up to `appliedSeq` (the transaction manager's); that is the
   * checkpoint's sequence number. Returns false when nothing changed since
   * the last checkpoint (unless `force`) or a backfill batch is outstanding.
   */
  async checkpoint(file: string, appliedSeq: number, force = false): Promise<boolean> {
    if (!force && this.changedSinceCheckpoint === 0) return false;
    const seq = this.tickets.reflectedSeq(appliedSeq);
    if (seq === undefined) return false;
    const data = encodeCheckpoint({ indexId: this.id, config: JSON.stringify(this.config), seq, mem: this.memRef });
    this.changedSinceCheckpoint = 0;
    await writeCheckpointFile(file, data);
    this.checkpointSeq = seq;
    return true;
  }

  /**
   * Start-up from a checkpoint: load it, replay the change log's commits
   * after its sequence number (`replay` yields them in order; it throws when
   * they are no longer retained), and check the result against the durable
   * statistics. Returns false, leaving memory empty, if any step fails; the
   * caller then rebuilds from the postings (`load`).
   */
  async loadCheckpoint(
    file: string,
    lastSeq: number,
    replay: (fromSeq: number) => AsyncIterable<ReplayEntry>,
  ): Promise<{ loaded: boolean; reason?: string; replayed?: number; fromSeq?: number }> {
    let data: Buffer;
    try {
      data = await fs.promises.readFile(file);
    } catch {
      return { loaded: false, reason: 'no checkpoint' };
    }
    try {
      const c = decodeCheckpoint(data);
      if (c.indexId !== this.id || c.config !== JSON.stringify(this.config))
        throw new Error('checkpoint belongs to another index definition');
      // A checkpoint ahead of the change log reflects commits a crash took back (relaxed durability).
      if (c.seq > lastSeq) throw new Error(`checkpoint seq ${c.seq} is ahead of the change log (${lastSeq})`);
      this.memRef = c.mem;
      const read = { entries: 0 };
      // The same planning as the commit hook (nothing is pending at start, so the view is memory), once per key.
      for await (const changes of coalesceReplay(replay(c.seq), read)) this.putInMemory(this.plan(changes));
      const replayed = read.entries;
      const { n, sumDl } = this.storedStats();
      if (n !== this.memRef.n || sumDl !== this.memRef.sumDl)
        throw new Error(`checkpoint + replay gives N=${this.memRef.n}, Σdl=${this.memRef.sumDl}; stored N=${n}, Σdl=${sumDl}`);
      this.loadedFrom = 'checkpoint';
      this.checkpointSeq = c.seq;
      return { loaded: true, replayed, fromSeq: c.seq };
    } catch (e) {
      this.memRef = new MemoryIndex();
      await fs.promises.rm(file, { force: true });
      return { loaded: false, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The durable statistics (for checks): N, Σdl, df per term, dl per document. */
  async durableStats(): Promise<{ n: number; sumDl: number; df: Map<string, number>; dl: Map<string, number> }> {
    const df = new Map<string, number>();
    const dl = new Map<string, number>();
    for await (const [k, v] of this.engine.scan(ftKs, this.range(TAG_TERM))) df.set(k.subarray(5).toString('utf8'), v.readUInt32BE(0));
    for await (const [k, v] of this.engine.scan(ftKs, this.range(TAG_DOC))) dl.set(k.subarray(5).toString('utf8'), v.readUInt32BE(0));
    return { ...this.storedStats(), df, dl };
  }

  private range(tag: number): { gte: Buffer; lt: Buffer } {
    const gte = Buffer.concat([this.prefix, Buffer.of(tag)]);
    return { gte, lt: prefixUpperBound(gte) };
  }

  private docKey(key: Buffer): Buffer {
    return Buffer.concat([this.prefix, Buffer.of(TAG_DOC), key]);
  }

  private statsKey(): Buffer {
    return Buffer.concat([this.prefix, Buffer.of(TAG_STATS)]);
  }

  private termKey(term: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.of(TAG_TERM), Buffer.from(term, 'utf8')]);
  }

  /** Remove every durable entry of index `id` (drop). */
  static async deleteAll(engine: Engine, id: number): Promise<void> {
    const gte = idPrefix(id);
    const lt = prefixUpperBound(gte);
    for (;;) {
      const b = new WriteBatch();
      for await (const [k] of engine.scan(ftKs, { gte, lt, limit: 10_000 })) b.del(ftKs, k);
      if (b.length === 0) return;
      await engine.commit(b);
    }
  }
}

function samePositions(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function statsValue(n: number, sumDl: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt32BE(n, 0);
  b.writeDoubleBE(sumDl, 4);
  return b;
}
