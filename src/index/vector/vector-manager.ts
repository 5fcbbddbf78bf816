import fs from 'node:fs';
import path from 'node:path';
import { ThemisError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { DocumentStore } from '../../documents/index.js';
import { Engine, WriteBatch, keyspace } from '../../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../../txn/index.js';
import { backfillTable, type CommitClock, type LatestValue } from '../backfill.js';
import { CheckpointScheduler, type IndexCheckpoints } from '../checkpoint-scheduler.js';
import { replayReport } from '../replay.js';
import { DEFAULT_VECTOR_INDEX, describeVectorIndex, type VectorIndexDef, type VectorIndexSpec } from './vector-def.js';
import { TAG_DEF, VectorIndex, countKey, defKey, type VectorDraft, type VectorPlan } from './vector-index.js';

const vecKs = keyspace('vector');
const COUNTER_KEY = Buffer.of(0x4e); // 'N' -> {"next_id": n}
const BACKFILL_BATCH = 1000;


export type VectorIndexListing = Record<string, unknown>;

/**
 * The vector indexes: definitions (keyspace `vector`), maintenance from
 * commits, creation with backfill, drop, checkpoints. The default index
 * (`vector_index` on `vectors.embedding`) always exists.
 *
 * Maintenance is a commit participant: `prepare` validates and drafts
 * without side effects (a bad vector refuses the commit), `write` puts the
 * drafts into the batch and takes tickets, `applied` updates the graphs
 * once durable, `aborted` gives the tickets' turns back.
 */
export interface VectorCommitPlan {
  drafts: [VectorIndex, VectorDraft][];
  /** Filled by write: the tickets taken. */
  applied: [VectorIndex, VectorPlan][];
}

export class VectorManager {
  private readonly byName = new Map<string, VectorIndex>();
  private readonly byTable = new Map<string, VectorIndex[]>();
  private nextId = 1;
  private readonly scheduler: CheckpointScheduler<VectorIndex>;

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly latest: LatestValue,
    private readonly log: Logger,
    private readonly clock: CommitClock,
    private readonly checkpoints?: IndexCheckpoints,
  ) {
    this.scheduler = new CheckpointScheduler(
      'vector',
      log,
      () => [...this.byName.values()].filter((ix) => ix.def.state === 'ready'),
      (ix) => ix.def.name,
      async (ix, force) => this.checkpoints !== undefined && this.byName.get(ix.def.name) === ix && ix.checkpoint(this.checkpointFile(ix.def.id), this.clock.appliedSeq(), force),
      checkpoints,
      (ix) => ix.checkpointSeq,
    );
  }

  async open(): Promise<void> {
    const building: VectorIndexDef[] = [];
    const dropping: VectorIndexDef[] = [];
    const counter = this.engine.getSync(vecKs, COUNTER_KEY);
    if (counter) this.nextId = (JSON.parse(counter.toString('utf8')) as { next_id: number }).next_id;
    for await (const [, v] of this.engine.scan(vecKs, { gte: Buffer.of(TAG_DEF), lt: Buffer.of(TAG_DEF + 1) })) {
      const def = JSON.parse(v.toString('utf8')) as VectorIndexDef;
      this.nextId = Math.max(this.nextId, def.id + 1);
      if (def.state === 'building') building.push(def);
      else if (def.state === 'dropping') dropping.push(def);
      else await this.loadIndex(this.register(def));
    }
    for (const def of dropping) await this.discard(def);
    for (const def of building) {
      await this.discard(def);
      try {
        await this.create(def);
      } catch (e) {
        this.log.error('rebuilding an interrupted vector index failed; it was dropped', { index: def.name, error: e });
      }
    }
    if (!this.byName.has(DEFAULT_VECTOR_INDEX.name)) await this.create(DEFAULT_VECTOR_INDEX);
    this.scheduler.start();
  }

  private async loadIndex(ix: VectorIndex): Promise<void> {
    const started = Date.now();
    const c = this.checkpoints;
    const { fromSeq, replayed, ...from } = await ix.load(c ? this.checkpointFile(ix.def.id) : undefined, c?.lastSeq() ?? 0, (seq) => c!.replay(ix.def.table, seq));
    const replay = fromSeq !== undefined ? replayReport(fromSeq, c!.lastSeq(), replayed ?? 0) : {};
    this.log.info('vector index loaded', { index: ix.def.name, ...from, ...replay, vectors: ix.size, ms: Date.now() - started });
  }

  private checkpointFile(id: number): string {
    return path.join(this.checkpoints!.dir, `index-${id}.ckpt`);
  }

  /** Checkpoint every ready index that changed since its last checkpoint (periodically, after a create, at shutdown). */
  checkpointAll(force = false, only?: VectorIndex): Promise<void> {
    return this.scheduler.run(force, only);
  }

  close(): Promise<void> {
    return this.scheduler.stop();
  }

  // ------------------------------------------------------------------ lookup

  /** The named index, ready to search: INDEX_NOT_FOUND when there is none, UNAVAILABLE while it builds. */
  get(name: string): VectorIndex {
    const ix = this.byName.get(name);
    if (!ix) throw new ThemisError('INDEX_NOT_FOUND', `vector index ${name} does not exist; create it with POST /vector/index/create`, { details: { field: 'index' } });
    if (ix.def.state !== 'ready') throw new ThemisError('UNAVAILABLE', `vector index ${name} is still being built; retry shortly`, { retryAfterMs: 1000 });
    return ix;
  }

  /** Indexes over `table` (any state). */
  onTable(table: string): readonly VectorIndex[] {
    return this.byTable.get(table) ?? [];
  }

  list(): VectorIndexListing[] {
    return [...this.byName.values()].map((ix) => ({ ...describeVectorIndex(ix.def), ...ix.stats() }));
  }

  /** Persist a changed efSearch. */
  async setEfSearch(ix: VectorIndex, ef: number): Promise<void> {
    ix.setEfSearch(ef);
    await this.engine.commit(new WriteBatch().put(vecKs, defKey(ix.def.id), Buffer.from(JSON.stringify(ix.def), 'utf8')));
  }

  // ------------------------------------------------------------------ create / drop

  /** Create and backfill from the table's entities; serves once `ready`. INDEX_EXISTS when the name is taken. */
  async create(spec: VectorIndexSpec): Promise<VectorIndexDef> {
    if (this.byName.has(spec.name)) throw new ThemisError('INDEX_EXISTS', `vector index ${spec.name} already exists`, { details: { field: 'name' } });
    const def: VectorIndexDef = {
      id: this.nextId++,
      name: spec.name,
      table: spec.table,
      field: spec.field,
      dimension: spec.dimension,
      metric: spec.metric,
      M: spec.M,
      efConstruction: spec.efConstruction,
      efSearch: spec.efSearch,
      state: 'building',
      created_at: new Date().toISOString(),
    };
    // Registered (so commits maintain it) before the definition is queued, as for secondary indexes.
    const ix = this.register(def);
    try {
      await this.saveDef(def);
      await this.backfill(ix);
      if (this.byName.get(def.name) !== ix) throw new ThemisError('CONFLICT', `vector index ${def.name} was dropped while it was being built`);
    } catch (e) {
      await this.discard(def);
      throw e;
    }
    def.state = 'ready';
    await this.saveDef(def);
    this.log.info('vector index ready', { index: def.name, table: def.table, field: def.field, vectors: ix.size });
    await this.checkpointAll(true, ix);
    return def;
  }

  async drop(name: string): Promise<VectorIndexDef> {
    const ix = this.byName.get(name);
    if (!ix) throw new ThemisError('INDEX_NOT_FOUND', `vector index ${name} does not exist`, { details: { field: 'name' } });
    if (name === DEFAULT_VECTOR_INDEX.name) throw new ThemisError('BAD_REQUEST', `the default vector index ${name} cannot be dropped`, { details: { field: 'name' } });
    await this.discard(ix.def);
    return ix.def;
  }

  /** Stop maintaining at once; the definition stays (`dropping`) until the count and checkpoint are gone. */
  private async discard(def: VectorIndexDef): Promise<void> {
    this.unregister(def.name, def.id);
    await this.saveDef({ ...def, state: 'dropping' });
    if (this.checkpoints) await fs.promises.rm(this.checkpointFile(def.id), { force: true });
    await this.engine.commit(new WriteBatch().del(vecKs, countKey(def.id)).del(vecKs, defKey(def.id)));
  }

  /**
   * Index the table's existing documents (see backfillTable: ordered against
   * concurrent commits). A document whose field is not a valid vector fails
   * the create (400).
   */
  private async backfill(ix: VectorIndex): Promise<void> {
    const alive = () => {
      if (this.byName.get(ix.def.name) !== ix) throw new ThemisError('CONFLICT', `vector index ${ix.def.name} was dropped while it was being built`);
    };
    await backfillTable(this.documents, ix.def.table, BACKFILL_BATCH, this.clock, this.latest, alive, (current) => {
      const batch = new WriteBatch();
      const plan = ix.apply(ix.draftBackfill(current), batch);
      return this.engine.commit(batch).then(() => ix.complete(plan));
    });
  }

  // ------------------------------------------------------------------ maintenance (commit participant)

  /** Commit participation: vectors validated and drafted in prepare (a bad vector refuses the commit), written in write, put in the graphs once durable. */
  readonly participant: CommitParticipant<VectorCommitPlan> = {
    name: 'vector',
    prepare: (info) => this.prepare(info),
    write: (info, plan, batch) => {
      if (plan) for (const d of plan.drafts) plan.applied.push([d[0], d[0].apply(d[1], batch, info.changes[0]!.seq)]);
    },
    applied: (_info, plan) => {
      if (plan) for (const [ix, p] of plan.applied) ix.complete(p);
      this.scheduler.afterCommit();
    },
    aborted: (_info, plan) => {
      if (plan) for (const [ix, p] of plan.applied) ix.cancel(p);
    },
  };

  private prepare(info: CommitInfo): VectorCommitPlan | undefined {
    if (this.byTable.size === 0) return undefined;
    const byIndex = new Map<VectorIndex, { key: string; prev: unknown; next: unknown }[]>();
    for (const c of info.changes) {
      const indexes = this.byTable.get(c.table);
      if (!indexes) continue;
      for (const ix of indexes) {
        const list = byIndex.get(ix) ?? [];
        list.push({ key: c.key, prev: c.prevDoc, next: c.doc });
        byIndex.set(ix, list);
      }
    }
    let drafts: [VectorIndex, VectorDraft][] | undefined;
    for (const [ix, changes] of byIndex) {
      const d = ix.draft(changes);
      if (d.changes.length > 0 || d.dimension !== undefined) (drafts ??= []).push([ix, d]);
    }
    return drafts && { drafts, applied: [] };
  }

  // ------------------------------------------------------------------ internals

  private register(def: VectorIndexDef): VectorIndex {
    const ix = new VectorIndex(def, this.engine, this.documents, this.log);
    this.byName.set(def.name, ix);
    this.byTable.set(def.table, [...(this.byTable.get(def.table) ?? []), ix]);
    return ix;
  }

  private unregister(name: string, id: number): void {
    const ix = this.byName.get(name);
    if (!ix || ix.def.id !== id) return;
    this.byName.delete(name);
    const rest = (this.byTable.get(ix.def.table) ?? []).filter((x) => x !== ix);
    if (rest.length === 0) this.byTable.delete(ix.def.table);
    else this.byTable.set(ix.def.table, rest);
  }

  private async saveDef(def: VectorIndexDef): Promise<void> {
    const b = new WriteBatch().put(vecKs, defKey(def.id), Buffer.from(JSON.stringify(def), 'utf8'));
    b.put(vecKs, COUNTER_KEY, Buffer.from(JSON.stringify({ next_id: this.nextId }), 'utf8'));
    await this.engine.commit(b);
  }
}
