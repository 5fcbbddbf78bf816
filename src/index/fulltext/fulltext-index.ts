import type { Logger } from '../../log.js';
import { type Engine, WriteBatch, decodeAscending, encodeAscending, keyspace, prefixUpperBound, writeAscii } from '../../storage/index.js';
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
import { ForwardWriter, decodeForward, recordLength } from './forward.js';

const ftKs = keyspace('fulltext');
const TAG_FORWARD = 0x66; // 'f' + entityKey -> the document's postings (forward.ts)
const TAG_STATS = 0x73; // 's' -> N (uint32), sum of dl (float64)
const TAG_LAYOUT = 0x76; // 'v' -> layout version (written by the migration from layout 1)
// Layout 1 (until 2026-12): one entry per posting and per document frequency. Read once, at the migration.
const TAG_DOC_V1 = 0x64; // 'd' + entityKey -> dl (uint32)
const TAG_POSTING_V1 = 0x70; // 'p' + term 0x00 entityKey -> positions (varint deltas)
const TAG_TERM_V1 = 0x74; // 't' + term -> df (uint32)
const LAYOUT = 2;
/** Documents per batch when the migration writes their records. */
const MIGRATE_BATCH = 4096;

/**
 * What one commit (or one backfill batch) does to a document of the index,
 * from `plan` until the change is in memory: the document's new record (the
 * bytes written to LevelDB; undefined: not indexed afterwards) and what the
 * index holds for it now (undefined: nothing). Compact on purpose: it waits
 * for durability, and a commit's analyses (a map and an array per term) kept
 * that long were copied by the young-generation GC.
 */
export interface DocChange {
  key: string;
  record?: Buffer;
  old?: { length: number; terms: string[] };
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

/** Positions as unsigned LEB128 deltas (layout 1's posting values). */
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
 * Durable layout (keyspace `fulltext`, after the 4-byte index id; layout 2):
 *   'f' entityKey  -> the document's postings: length, terms, positions (forward.ts)
 *   's'            -> N (documents with ≥ 1 token), Σ document lengths
 *   'v'            -> layout version (only where layout 1 was migrated)
 * written in the entity's commit batch: one entry per changed document plus
 * the statistics. Document frequencies are not stored: they are the
 * inverted lists' lengths in memory, which start-up rebuilds from a
 * checkpoint plus the change log, or from the 'f' records. The statistics
 * are absolute values, so the hook needs the state every earlier commit
 * leaves behind, including commits still in flight: that write-side view is
 * the in-memory index (durable state) overlaid with the `pending*` entries,
 * which belong to a ticket and are dropped once that ticket is applied to
 * memory. Tickets are applied strictly in order, whatever order their
 * writes finish.
 */
export class FulltextIndex {
  readonly analyzer: Analyzer;
  private memRef = new MemoryIndex();
  private readonly prefix: Buffer;
  /** The index id and 'f': the start of every document's record key. */
  private readonly forwardPrefix: Buffer;
  private readonly path: string[];
  private readonly scratch = new SearchScratch();
  private readonly pendingDocs = new Map<string, { dl: number | null; t: number }>();
  private pendingStats: { n: number; sumDl: number; t: number } | undefined;
  /** Records analysis workers made for documents of commits not yet prepared (see `hint`). */
  private readonly hints = new WeakMap<object, Buffer | null>();
  private configText: string | undefined;
  private layout1Left: Promise<boolean> | undefined;
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
    this.forwardPrefix = Buffer.concat([this.prefix, Buffer.of(TAG_FORWARD)]);
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
    const texts = this.textsOf(doc);
    if (texts.length === 0) return undefined;
    const a = this.analyzer.analyze(texts);
    return a.length === 0 ? undefined : a;
  }

  /** The texts a parsed document gives the index (fieldTexts of the indexed path). */
  textsOf(doc: unknown): string[] {
    return fieldTexts(valueAt(doc, this.path));
  }

  /** The analyzer's configuration as an analysis worker takes it. */
  get configJson(): string {
    return (this.configText ??= JSON.stringify(this.config));
  }

  /**
   * Records an analysis worker made for documents about to be committed
   * (null: nothing indexed): `plan` takes them instead of analysing. Keyed by
   * the parsed document object the commit carries, so a document rewritten
   * in between (another object) is analysed as usual.
   */
  hint(docs: readonly object[], records: readonly (Buffer | null)[]): void {
    for (let i = 0; i < docs.length; i++) this.hints.set(docs[i]!, records[i]!);
  }

  /** The hinted record of `doc` (taken: a hint serves one plan), or undefined when there is none. */
  private takeHint(doc: unknown): Buffer | null | undefined {
    if (typeof doc !== 'object' || doc === null) return undefined;
    const h = this.hints.get(doc);
    if (h !== undefined) this.hints.delete(doc);
    return h;
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
    // records are encoded into shared buffers (views stay valid)
    const records = new ForwardWriter();
    for (const c of changes) {
      const before = this.indexedLength(c.key) !== undefined ? this.analyzeDoc(c.prev) : undefined;
      // the record an analysis worker made for the new document, else ours (null: nothing indexed)
      let record = this.takeHint(c.next);
      if (record === undefined) {
        const after = this.analyzeDoc(c.next);
        record = after ? records.encode(after) : null;
      }
      // records are canonical (terms in order of first position): equal bytes, same postings
      if (before === undefined ? record === null : record !== null && records.encode(before).equals(record)) continue;
      out.push({
        key: c.key,
        ...(record ? { record } : {}),
        ...(before ? { old: { length: before.length, terms: [...before.terms.keys()] } } : {}),
      });
    }
    return out;
  }

  /** Backfill: documents the index does not hold yet (by the write-side view), from their latest text. */
  planBackfill(rows: readonly [string, string][]): DocChange[] {
    const out: DocChange[] = [];
    const records = new ForwardWriter();
    for (const [key, text] of rows) {
      if (this.pendingDocs.has(key) || this.mem.docOf(key) !== undefined) continue;
      const after = this.analyzeDoc(JSON.parse(text));
      if (after) out.push({ key, record: records.encode(after) });
    }
    return out;
  }

  /** Add the planned changes to `batch` and to the write-side view; returns the plan to hand to `complete` once durable. */
  apply(docs: DocChange[], batch: WriteBatch, firstSeq?: number): FulltextPlan {
    const t = this.tickets.take(firstSeq);
    let n = this.pendingStats?.n ?? this.mem.n;
    let sumDl = this.pendingStats?.sumDl ?? this.mem.sumDl;
    for (const d of docs) {
      if (d.old) {
        n--;
        sumDl -= d.old.length;
      }
      const dl = d.record ? recordLength(d.record) : null;
      if (dl !== null) {
        n++;
        sumDl += dl;
      }
      const k = this.forwardKey(d.key);
      if (d.record) batch.put(ftKs, k, d.record);
      else batch.del(ftKs, k);
      this.pendingDocs.set(d.key, { dl, t });
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
    }
    if (this.pendingStats?.t === p.ticket) this.pendingStats = undefined;
  }

  /** Apply planned document changes to the in-memory index. */
  private putInMemory(docs: readonly DocChange[]): void {
    this.changedSinceCheckpoint += docs.length;
    for (const d of docs) {
      if (d.record) this.memRef.putRecord(d.key, d.record, d.old?.terms);
      else if (d.old) this.memRef.delete(d.key, d.old.terms);
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

  /**
   * Rebuild the in-memory index from the durable records (start-up): each
   * document's record, in key order, so the documents' numbers ascend and
   * every posting is an append. A layout-1 index is read from its postings
   * instead (`migrate` rewrites it afterwards).
   */
  async load(): Promise<void> {
    if (await this.isLayout1()) await this.loadLayout1();
    else {
      for await (const chunk of this.engine.scanChunks(ftKs, this.range(TAG_FORWARD), 1024)) {
        for (const [k, v] of chunk) {
          const key = k.toString('utf8', 5);
          let doc = -1;
          decodeForward(
            v,
            (t, ps, n) => this.mem.loadPosting(t, doc, ps, n),
            (length) => {
              doc = this.mem.loadDoc(key, length);
            },
          );
        }
      }
    }
    const { n, sumDl } = this.storedStats();
    // No usable checkpoint led here: the next checkpoint is due whatever changes.
    this.changedSinceCheckpoint = Math.max(1, this.memRef.n);
    this.loadedFrom = 'postings';
    if (n !== this.mem.n || sumDl !== this.mem.sumDl) {
      this.log.error('fulltext index statistics disagree with its postings; the postings win', {
        index_id: this.id,
        stored_n: n,
        n: this.mem.n,
        stored_sum_dl: sumDl,
        sum_dl: this.mem.sumDl,
      });
    }
  }

  /** Layout 1 holds the durable state: there are entries of it and no layout mark (which the migration writes with its last record). */
  private async isLayout1(): Promise<boolean> {
    if (this.engine.getSync(ftKs, this.layoutKey())) return false;
    return this.hasLayout1Entries();
  }

  /** Whether entries of layout 1 are left (looked at once per open, by `load` or `migrate`, whichever comes first). */
  private hasLayout1Entries(): Promise<boolean> {
    this.layout1Left ??= (async () => {
      for (const tag of [TAG_DOC_V1, TAG_POSTING_V1, TAG_TERM_V1])
        for await (const _ of this.engine.scan(ftKs, { ...this.range(tag), limit: 1 })) return true;
      return false;
    })();
    return this.layout1Left;
  }

  /** Layout 1's documents ('d') and postings ('p', grouped by term). */
  private async loadLayout1(): Promise<void> {
    const docs = new Map<string, number>();
    for await (const chunk of this.engine.scanChunks(ftKs, this.range(TAG_DOC_V1), 4096)) {
      for (const [k, v] of chunk) {
        const key = k.toString('utf8', 5);
        docs.set(key, this.mem.loadDoc(key, v.readUInt32BE(0)));
      }
    }
    let missing = 0;
    // Postings come grouped by term: the term's bytes are compared, not decoded, for each entry.
    let termBytes: Buffer = Buffer.alloc(0);
    let term = '';
    for await (const chunk of this.engine.scanChunks(ftKs, this.range(TAG_POSTING_V1), 4096)) {
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
    if (missing > 0)
      this.log.error('fulltext index (layout 1) has postings of unknown documents; they are left out', { index_id: this.id, missing });
  }

  /**
   * Start-up, once the in-memory side is loaded (from a checkpoint or the
   * durable state) and before any commit: rewrite a layout-1 index as one
   * record per document. The records, then the layout mark, are committed
   * from memory (which equals the durable state here); only then are the
   * layout-1 entries deleted, so a crash at any point leaves one complete
   * layout that the next start reads (and finishes migrating). Returns the
   * documents rewritten (0: nothing to do).
   */
  async migrate(): Promise<number> {
    if (!(await this.hasLayout1Entries())) return 0;
    let written = 0;
    if (!this.engine.getSync(ftKs, this.layoutKey())) {
      // Records an interrupted migration left behind are not trusted: memory (= layout 1) is written whole.
      await deleteRange(this.engine, this.range(TAG_FORWARD));
      const m = this.memRef;
      const perDoc = new Map<number, Map<string, number[]>>();
      for (const [term, pl] of m.terms) {
        for (let i = 0; i < pl.len; i++) {
          const doc = pl.docAt(i);
          let terms = perDoc.get(doc);
          if (!terms) perDoc.set(doc, (terms = new Map()));
          terms.set(term, [...pl.positions(i)]);
        }
      }
      let batch = new WriteBatch();
      let records = new ForwardWriter();
      for (let doc = 0; doc < m.docKeys.length; doc++) {
        const key = m.docKeys[doc];
        if (key === undefined) continue;
        batch.put(ftKs, this.forwardKey(key), records.encode({ length: m.docLen[doc]!, terms: perDoc.get(doc) ?? new Map() }));
        written++;
        if (batch.length >= MIGRATE_BATCH) {
          await this.engine.commit(batch);
          batch = new WriteBatch();
          records = new ForwardWriter();
        }
      }
      batch.put(ftKs, this.statsKey(), statsValue(m.n, m.sumDl));
      batch.put(ftKs, this.layoutKey(), u32(LAYOUT));
      await this.engine.commit(batch);
    }
    for (const tag of [TAG_POSTING_V1, TAG_TERM_V1, TAG_DOC_V1]) await deleteRange(this.engine, this.range(tag));
    this.layout1Left = Promise.resolve(false);
    this.log.info('fulltext index rewritten as one record per document (layout 2)', { index_id: this.id, documents: written });
    return written;
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

  /** The durable state (for checks): N and Σdl as stored, and df per term, dl per document and the postings as the records hold them. */
  async durableStats(): Promise<{
    n: number;
    sumDl: number;
    df: Map<string, number>;
    dl: Map<string, number>;
    postings: Map<string, Map<string, number[]>>;
  }> {
    const df = new Map<string, number>();
    const dl = new Map<string, number>();
    const postings = new Map<string, Map<string, number[]>>();
    for await (const [k, v] of this.engine.scan(ftKs, this.range(TAG_FORWARD))) {
      const key = k.subarray(5).toString('utf8');
      dl.set(
        key,
        decodeForward(v, (t, ps, n) => {
          df.set(t, (df.get(t) ?? 0) + 1);
          let docs = postings.get(t);
          if (!docs) postings.set(t, (docs = new Map()));
          docs.set(key, Array.from(ps.subarray(0, n)));
        }),
      );
    }
    return { ...this.storedStats(), df, dl, postings };
  }

  private range(tag: number): { gte: Buffer; lt: Buffer } {
    const gte = Buffer.concat([this.prefix, Buffer.of(tag)]);
    return { gte, lt: prefixUpperBound(gte) };
  }

  private forwardKey(key: string): Buffer {
    const p = this.forwardPrefix;
    let k = Buffer.allocUnsafe(p.length + key.length);
    if (writeAscii(k, p.length, key) < 0) {
      k = Buffer.allocUnsafe(p.length + Buffer.byteLength(key, 'utf8'));
      k.write(key, p.length, 'utf8');
    }
    for (let i = 0; i < p.length; i++) k[i] = p[i]!;
    return k;
  }

  private layoutKey(): Buffer {
    return Buffer.concat([this.prefix, Buffer.of(TAG_LAYOUT)]);
  }

  private statsKey(): Buffer {
    return Buffer.concat([this.prefix, Buffer.of(TAG_STATS)]);
  }

  /** Remove every durable entry of index `id` (drop). */
  static deleteAll(engine: Engine, id: number): Promise<void> {
    const gte = idPrefix(id);
    return deleteRange(engine, { gte, lt: prefixUpperBound(gte) });
  }
}

/** Delete every entry of the range, 10,000 per batch. */
async function deleteRange(engine: Engine, range: { gte: Buffer; lt: Buffer }): Promise<void> {
  for (;;) {
    const b = new WriteBatch();
    for await (const [k] of engine.scan(ftKs, { ...range, limit: 10_000 })) b.del(ftKs, k);
    if (b.length === 0) return;
    await engine.commit(b);
  }
}

function statsValue(n: number, sumDl: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt32BE(n, 0);
  b.writeDoubleBE(sumDl, 4);
  return b;
}
