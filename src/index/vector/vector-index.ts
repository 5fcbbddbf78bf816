import fs from 'node:fs';
import path from 'node:path';
import { ThemisError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { DocumentStore } from '../../documents/index.js';
import { type Engine, WriteBatch, keyspace } from '../../storage/index.js';
import { CheckpointReader, CheckpointWriter, writeCheckpointFile } from '../checkpoint-io.js';
import { valueAt } from '../extract.js';
import { idPrefix } from '../id-prefix.js';
import { TicketQueue } from '../tickets.js';
import { HnswIndex, MAX_DIMENSION, checkVector, type VectorHit } from './hnsw-index.js';
import { coalesceReplay, type ReplayEntry } from '../replay.js';
import { graphIdentity, type VectorIndexDef } from './vector-def.js';

const vecKs = keyspace('vector');
export const TAG_DEF = 0x44; // 'D' id -> definition JSON
export const TAG_COUNT = 0x43; // 'C' id -> vectors indexed (uint32)

/** One change of the index: the key's new vector, or null (no longer indexed). */
export interface VectorChange {
  key: string;
  vector: number[] | null;
}

/** What a commit (or backfill batch) does to the index, decided before anything is written. */
export interface VectorDraft {
  changes: VectorChange[];
  /** The dimension this commit fixes (the index had none). */
  dimension?: number;
}

export interface VectorPlan {
  ticket: number;
  changes: VectorChange[];
}

export function defKey(id: number): Buffer {
  return Buffer.concat([Buffer.of(TAG_DEF), idPrefix(id)]);
}

export function countKey(id: number): Buffer {
  return Buffer.concat([Buffer.of(TAG_COUNT), idPrefix(id)]);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function sameVector(a: unknown, b: readonly number[]): boolean {
  if (!Array.isArray(a) || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** hnswlib's in-place replacement (addPoint over a deleted slot) costs about this many fresh inserts (measured: ~785 µs vs ~130 µs at 50,000 × 16-d, M 16). */
const REPLACE_COST = 6;
/** A replay is abandoned for a rebuild once it would cost this much more than inserting every stored vector afresh... */
const REBUILD_MARGIN = 1.2;
/** ...and more than this many inserts (a few seconds): below it both are quick, and the replay keeps the graph's history. */
const REBUILD_WORTH = 20_000;

const MAGIC = 0x54485643; // "THVC"
const VERSION = 1;

/** The sequence number a vector checkpoint reflects, read from its first bytes (no checksum: for choosing files to back up, not for loading). */
export function vectorCheckpointSeq(head: Buffer): number {
  const r = new CheckpointReader(head);
  if (r.u32() !== MAGIC) throw new Error('not a vector checkpoint');
  if (r.u32() !== VERSION) throw new Error('unknown checkpoint version');
  r.str();
  r.f64();
  return r.f64();
}

export interface VectorIndexStats {
  vectorCount: number;
  deletedSlots: number;
  capacity: number;
  loaded_from: VectorIndex['loadedFrom'];
}

/**
 * One vector index: entities of `def.table` whose `def.field` holds a vector,
 * in an HNSW graph held in memory.
 *
 * Writes: the commit hook drafts the changes (validating every vector: a
 * wrong dimension or a non-finite number refuses the whole commit), then
 * writes the durable vector count (and the definition when the commit fixes
 * the dimension) into the commit's batch and takes a ticket; once the batch
 * is durable the graph is updated, strictly in ticket order. The vectors
 * themselves live only in the entities: the graph is derived data,
 * checkpointed to a file with the change-log sequence number it reflects and
 * rebuilt from the entities when no usable checkpoint exists.
 *
 * The hook's write-side view (which keys are indexed, how many) is the graph
 * overlaid with the `pending*` entries of tickets not applied yet.
 */
export class VectorIndex {
  private hnswRef: HnswIndex | undefined;
  private readonly path: string[];
  private readonly tickets = new TicketQueue<VectorPlan>(
    (p) => this.applyToGraph(p),
    (p) => this.dropPending(p),
  );
  private readonly pendingKeys = new Map<string, { indexed: boolean; t: number }>();
  private pendingCount: { n: number; t: number } | undefined;
  private changedSinceCheckpoint = 0;
  loadedFrom: 'new' | 'checkpoint' | 'rebuild' = 'new';
  /** The change-log seq the checkpoint on disk reflects (0: none yet); the replay after a crash starts there. */
  checkpointSeq = 0;

  constructor(
    readonly def: VectorIndexDef,
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly log: Logger,
  ) {
    this.path = def.field.split('.');
    if (def.dimension !== null) this.hnswRef = this.newGraph(def.dimension);
  }

  private newGraph(dimension: number, capacity?: number): HnswIndex {
    const d = this.def;
    return new HnswIndex({
      dimension,
      metric: d.metric,
      M: d.M,
      efConstruction: d.efConstruction,
      efSearch: d.efSearch,
      ...(capacity ? { capacity } : {}),
    });
  }

  /** Vectors in the graph (the durable state as of the last applied commit). */
  get size(): number {
    return this.hnswRef?.size ?? 0;
  }

  get hasPending(): boolean {
    return this.tickets.hasPending;
  }

  setEfSearch(ef: number): void {
    this.def.efSearch = ef;
    if (this.hnswRef) this.hnswRef.efSearch = ef;
  }

  /** Whether the graph holds `key` (latest applied state). */
  has(key: string): boolean {
    return this.hnswRef?.has(key) ?? false;
  }

  /** The vector the graph holds for `key` (float32; normalised under COSINE). */
  vectorOf(key: string): number[] | undefined {
    return this.hnswRef?.vectorOf(key);
  }

  /** The durable vector count (written with every commit that changes the index). */
  storedCount(): number {
    const v = this.engine.getSync(vecKs, countKey(this.def.id));
    return v ? v.readUInt32BE(0) : 0;
  }

  /** Keys in the graph (latest applied state). */
  keys(): IterableIterator<string> {
    return (this.hnswRef?.keyMap() ?? new Map<string, number>()).keys();
  }

  stats(): VectorIndexStats {
    const h = this.hnswRef;
    return {
      vectorCount: this.size,
      deletedSlots: h ? h.capacityUsed - h.size : 0,
      capacity: h?.capacity ?? 0,
      loaded_from: this.loadedFrom,
    };
  }

  // ------------------------------------------------------------------ write side

  /** The raw value of the indexed field in a parsed document (undefined when absent or null). */
  fieldValue(doc: unknown): unknown {
    if (doc === undefined) return undefined;
    const v = valueAt(doc, this.path);
    return v === null ? undefined : v;
  }

  /** A document's vector checked against the index (400 naming the entity otherwise); `dimension` when the index has none yet. */
  checkDocVector(key: string, v: unknown, dimension: number | null): number[] {
    const field = this.def.field;
    try {
      if (dimension === null) {
        if (!Array.isArray(v) || v.length < 1 || v.length > MAX_DIMENSION) {
          throw new ThemisError('VALIDATION_FAILED', `field "${field}" must be an array of 1 to ${MAX_DIMENSION} numbers`, {
            details: { field },
          });
        }
        return checkVector(v, v.length, this.def.metric, field);
      }
      return checkVector(v, dimension, this.def.metric, field);
    } catch (e) {
      if (!(e instanceof ThemisError)) throw e;
      throw new ThemisError('VALIDATION_FAILED', `${key}: ${e.message} (vector index ${this.def.name})`, {
        details: { ...(e.details ?? {}), key, index: this.def.name },
      });
    }
  }

  /** Whether the write-side view holds `key` (including commits in flight). */
  private indexed(key: string): boolean {
    return this.pendingKeys.get(key)?.indexed ?? this.has(key);
  }

  private get writeDimension(): number | null {
    return this.def.dimension;
  }

  /**
   * Draft a commit's changes (pure; throws VALIDATION_FAILED on a bad
   * vector). A document whose vector did not change (another field was
   * updated) is left alone.
   */
  draft(changes: readonly { key: string; prev: unknown; next: unknown }[]): VectorDraft {
    const out: VectorChange[] = [];
    let dimension = this.writeDimension;
    let fixes: number | undefined;
    for (const c of changes) {
      const v = this.fieldValue(c.next);
      const held = this.indexed(c.key);
      if (v === undefined) {
        if (held) out.push({ key: c.key, vector: null });
        continue;
      }
      const vector = this.checkDocVector(c.key, v, dimension);
      if (dimension === null) dimension = fixes = vector.length;
      if (held && sameVector(this.fieldValue(c.prev), vector)) continue;
      out.push({ key: c.key, vector });
    }
    return { changes: out, ...(fixes !== undefined ? { dimension: fixes } : {}) };
  }

  /** Backfill: documents of `rows` the index does not hold yet (by the write-side view), from their latest text. */
  draftBackfill(rows: readonly [string, string][]): VectorDraft {
    const fresh = rows
      .filter(([key]) => !this.indexed(key))
      .map(([key, text]) => ({ key, prev: undefined, next: JSON.parse(text) as unknown }));
    return this.draft(fresh);
  }

  /** Add a draft to `batch` and to the write-side view (nothing here throws); returns the plan to `complete` once durable. */
  apply(d: VectorDraft, batch: WriteBatch, firstSeq?: number): VectorPlan {
    const t = this.tickets.take(firstSeq);
    if (d.dimension !== undefined && this.def.dimension === null) {
      this.def.dimension = d.dimension;
      this.hnswRef = this.newGraph(d.dimension);
      batch.put(vecKs, defKey(this.def.id), Buffer.from(JSON.stringify(this.def), 'utf8'));
    }
    let n = this.pendingCount?.n ?? this.size;
    for (const c of d.changes) {
      const was = this.indexed(c.key);
      const is = c.vector !== null;
      if (was !== is) n += is ? 1 : -1;
      this.pendingKeys.set(c.key, { indexed: is, t });
    }
    this.pendingCount = { n, t };
    batch.put(vecKs, countKey(this.def.id), u32(n));
    return { ticket: t, changes: d.changes };
  }

  /** The plan's batch is durable: apply it (and every earlier ticket) to the graph, in ticket order. */
  complete(plan: VectorPlan): void {
    this.tickets.complete(plan);
  }

  /** The plan's batch failed: the graph stays as it is, and what the plan marked pending is dropped in its turn. */
  cancel(plan: VectorPlan): void {
    this.tickets.cancel(plan);
  }

  private applyToGraph(p: VectorPlan): void {
    this.putInGraph(p.changes);
    this.dropPending(p);
  }

  private dropPending(p: VectorPlan): void {
    for (const c of p.changes) if (this.pendingKeys.get(c.key)?.t === p.ticket) this.pendingKeys.delete(c.key);
    if (this.pendingCount?.t === p.ticket) this.pendingCount = undefined;
  }

  private putInGraph(changes: readonly VectorChange[]): void {
    this.changedSinceCheckpoint += changes.length;
    for (const c of changes) {
      if (c.vector !== null) this.hnswRef!.upsert(c.key, c.vector);
      else this.hnswRef?.remove(c.key);
    }
  }

  // ------------------------------------------------------------------ queries

  /**
   * The k nearest vectors to `vector` (checked against the index: 400 on a
   * wrong dimension or non-finite number), nearest first; with `filter`,
   * only keys it accepts, k of them whenever k exist.
   */
  search(vector: unknown, k: number, filter?: (key: string) => boolean, ef?: number): VectorHit[] {
    const h = this.hnswRef;
    if (this.def.dimension === null || !h) {
      // An empty index without a dimension yet: any well-formed vector finds nothing.
      this.checkDocVector('query', vector, null);
      return [];
    }
    const q = checkVector(vector, this.def.dimension, this.def.metric);
    return h.search(q, k, filter, ef);
  }

  // ------------------------------------------------------------------ durable state

  /**
   * Write the graph to `file` (atomically) with the sequence number it
   * reflects (see TicketQueue.reflectedSeq). Returns false when nothing
   * changed since the last checkpoint (unless `force`) or a backfill batch is
   * outstanding.
   */
  async checkpoint(file: string, appliedSeq: number, force = false): Promise<boolean> {
    if (!force && this.changedSinceCheckpoint === 0) return false;
    const seq = this.tickets.reflectedSeq(appliedSeq);
    if (seq === undefined) return false;
    // hnswlib writes its graph to a file; that and the key map are taken in one synchronous step (a consistent cut).
    const h = this.hnswRef;
    let graph: Buffer = Buffer.alloc(0);
    let labels: [string, number][] = [];
    let counter = 0;
    if (h) {
      const tmp = `${file}.graph.tmp`;
      // hnswlib fails silently when the directory is missing (deleted by an operator, say).
      fs.mkdirSync(path.dirname(file), { recursive: true });
      h.writeGraph(tmp);
      labels = h.labels();
      counter = h.labelCounter;
      graph = fs.readFileSync(tmp);
      fs.rmSync(tmp, { force: true });
    }
    this.changedSinceCheckpoint = 0;
    const w = new CheckpointWriter(graph.length + labels.length * 48 + 1024);
    w.u32(MAGIC);
    w.u32(VERSION);
    w.str(graphIdentity(this.def));
    w.f64(h ? this.def.dimension! : 0);
    w.f64(seq);
    w.f64(counter);
    w.u32(labels.length);
    for (const [key, label] of labels) {
      w.str(key);
      w.f64(label);
    }
    w.bytes(graph);
    await writeCheckpointFile(file, w.done());
    this.checkpointSeq = seq;
    return true;
  }

  /**
   * Start-up: load the checkpoint, replay the change log after its sequence
   * number (`replay` throws when no longer retained) and check the vector
   * count against the durable one; otherwise (no file, corrupt, another
   * definition, ahead of the log, mismatch) rebuild from the stored entities.
   */
  async load(
    file: string | undefined,
    lastSeq: number,
    replay: (fromSeq: number) => AsyncIterable<ReplayEntry>,
  ): Promise<{ source: string; replayed?: number; fromSeq?: number; checkpoint_unused?: string }> {
    if (file) {
      const r = await this.loadCheckpoint(file, lastSeq, replay);
      if (r.loaded) return { source: 'checkpoint', replayed: r.replayed ?? 0, fromSeq: r.fromSeq ?? 0 };
      await this.rebuild();
      return { source: 'rebuild', checkpoint_unused: r.reason };
    }
    await this.rebuild();
    return { source: 'rebuild', checkpoint_unused: 'checkpoints off' };
  }

  private async loadCheckpoint(
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
    const tmp = `${file}.graph.tmp`;
    try {
      const r = CheckpointReader.checked(data);
      if (r.u32() !== MAGIC) throw new Error('not a vector checkpoint');
      if (r.u32() !== VERSION) throw new Error('unknown checkpoint version');
      if (r.str() !== graphIdentity(this.def)) throw new Error('checkpoint belongs to another index definition');
      const dimension = r.f64();
      if (dimension !== 0 && dimension !== this.def.dimension)
        throw new Error(`checkpoint has dimension ${dimension}, the index ${this.def.dimension}`);
      const seq = r.f64();
      if (seq > lastSeq) throw new Error(`checkpoint seq ${seq} is ahead of the change log (${lastSeq})`);
      const counter = r.f64();
      const labels: [string, number][] = [];
      for (let i = r.u32(); i > 0; i--) labels.push([r.str(), r.f64()]);
      const graph = r.bytes();
      if (!r.done) throw new Error('checkpoint has trailing bytes');
      if (graph.length > 0) {
        if (dimension === 0) throw new Error('checkpoint has a graph but no dimension');
        await fs.promises.writeFile(tmp, graph, { mode: 0o600 });
        const d = this.def;
        this.hnswRef = HnswIndex.restore(
          { dimension: d.dimension!, metric: d.metric, M: d.M, efConstruction: d.efConstruction, efSearch: d.efSearch },
          tmp,
          labels,
          counter,
        );
      } else if (labels.length > 0) throw new Error('checkpoint lists keys without a graph');
      const read = { entries: 0 };
      // What a rebuild would cost, in fresh inserts (every stored vector once); replacing a vector in place costs
      // hnswlib about six of them (its updatePoint repairs the neighbours' links): past that, rebuilding is faster.
      const rebuildCost = this.storedCount() * REBUILD_MARGIN;
      let replayCost = 0;
      // Net changes per key: a vector replaced many times since the checkpoint is replaced once.
      for await (const changes of coalesceReplay(replay(seq), read)) {
        for (const c of changes) if (this.fieldValue(c.next) !== undefined) replayCost += this.has(c.key) ? REPLACE_COST : 1;
        // Not a fault in the data: the catch below rebuilds, and the reason is logged as checkpoint_unused.
        if (replayCost > rebuildCost && replayCost > REBUILD_WORTH)
          throw new Error(`replaying ${read.entries}+ change-log entries would cost more than a rebuild`);
        const draft = this.draft(changes);
        if (draft.dimension !== undefined && this.def.dimension === null) this.def.dimension = draft.dimension;
        if (draft.changes.some((c) => c.vector !== null) && !this.hnswRef) this.hnswRef = this.newGraph(this.def.dimension!);
        this.putInGraph(draft.changes);
      }
      const replayed = read.entries;
      const stored = this.storedCount();
      if (stored !== this.size) throw new Error(`checkpoint + replay gives ${this.size} vectors; ${stored} are stored`);
      this.loadedFrom = 'checkpoint';
      this.checkpointSeq = seq;
      return { loaded: true, replayed, fromSeq: seq };
    } catch (e) {
      this.hnswRef = this.def.dimension === null ? undefined : this.newGraph(this.def.dimension);
      await fs.promises.rm(file, { force: true });
      return { loaded: false, reason: e instanceof Error ? e.message : String(e) };
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /** Build the graph from the vectors stored in the table's entities. */
  async rebuild(): Promise<void> {
    this.hnswRef = undefined;
    let vectors = 0;
    let skipped = 0;
    for await (const chunk of this.documents.scan({ table: this.def.table })) {
      const rows: VectorChange[] = [];
      for (const [key, text] of chunk) {
        const raw = this.fieldValue(JSON.parse(text));
        if (raw === undefined) continue;
        try {
          const vector = this.checkDocVector(key, raw, this.def.dimension);
          this.def.dimension ??= vector.length;
          rows.push({ key, vector });
        } catch {
          skipped++;
        }
      }
      if (rows.length > 0) this.hnswRef ??= this.newGraph(this.def.dimension!);
      this.putInGraph(rows);
      vectors += rows.length;
    }
    if (this.def.dimension !== null) this.hnswRef ??= this.newGraph(this.def.dimension);
    this.changedSinceCheckpoint = Math.max(1, vectors);
    this.loadedFrom = 'rebuild';
    const stored = this.storedCount();
    if (skipped > 0 || stored !== vectors) {
      this.log.error('vector index disagreed with the stored entities; rebuilt from the entities', {
        index: this.def.name,
        stored_count: stored,
        vectors,
        skipped,
      });
      await this.engine.commit(new WriteBatch().put(vecKs, countKey(this.def.id), u32(vectors)));
    }
  }
}
