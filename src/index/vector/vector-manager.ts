import fs from 'node:fs';
import { ThemisError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { DocumentStore } from '../../documents/index.js';
import { type Engine, WriteBatch, keyspace } from '../../storage/index.js';
import { ticketedParticipant } from '../ticketed-participant.js';
import { backfillTable, type CommitClock, type LatestValue } from '../backfill.js';
import type { BackupTarget } from '../../kernel/index.js';
import { backupCheckpoints } from '../checkpoint-backup.js';
import { CheckpointScheduler, checkpointFile, type IndexCheckpoints } from '../checkpoint-scheduler.js';
import { DefinitionRegistry } from '../definitions.js';
import { replayReport } from '../replay.js';
import { DEFAULT_VECTOR_INDEX, describeVectorIndex, type VectorIndexDef, type VectorIndexSpec } from './vector-def.js';
import { TAG_DEF, VectorIndex, countKey, defKey, vectorCheckpointSeq, type VectorDraft, type VectorPlan } from './vector-index.js';

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
 * once durable, `aborted` gives the tickets' turns back (ticketed-participant.ts).
 */
export class VectorManager {
  private readonly defs: DefinitionRegistry<VectorIndexDef, VectorIndex>;
  private readonly scheduler: CheckpointScheduler<VectorIndex>;

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly latest: LatestValue,
    private readonly log: Logger,
    private readonly clock: CommitClock,
    private readonly checkpoints?: IndexCheckpoints,
  ) {
    this.defs = new DefinitionRegistry<VectorIndexDef, VectorIndex>(
      engine,
      log,
      { keyspace: vecKs, key: defKey, counterKey: COUNTER_KEY, range: { gte: Buffer.of(TAG_DEF), lt: Buffer.of(TAG_DEF + 1) } },
      { noun: 'vector index', name: (def) => def.name, clear: (def, last) => this.clear(def, last) },
    );
    this.scheduler = new CheckpointScheduler(
      'vector',
      log,
      () => [...this.defs.all()].filter((ix) => ix.def.state === 'ready'),
      (ix) => ix.def.name,
      async (ix, force) =>
        this.checkpoints !== undefined &&
        this.defs.isCurrent(ix) &&
        ix.checkpoint(checkpointFile(this.checkpoints, ix.def.id), this.clock.appliedSeq(), force),
      checkpoints,
      (ix) => ix.checkpointSeq,
    );
  }

  async open(): Promise<void> {
    const loaded = await this.defs.load();
    for (const def of loaded.ready) await this.loadIndex(this.defs.register(this.live(def)));
    await this.defs.resume(loaded, (def) => this.create(def));
    if (!this.find(DEFAULT_VECTOR_INDEX.name)) await this.create(DEFAULT_VECTOR_INDEX);
    this.scheduler.start();
  }

  private async loadIndex(ix: VectorIndex): Promise<void> {
    const started = Date.now();
    const c = this.checkpoints;
    const { fromSeq, replayed, ...from } = await ix.load(c ? checkpointFile(c, ix.def.id) : undefined, c?.lastSeq() ?? 0, (seq) =>
      c!.replay(ix.def.table, seq),
    );
    const replay = fromSeq !== undefined ? replayReport(fromSeq, c!.lastSeq(), replayed ?? 0) : {};
    this.log.info('vector index loaded', { index: ix.def.name, ...from, ...replay, vectors: ix.size, ms: Date.now() - started });
  }

  /** Checkpoint every ready index that changed since its last checkpoint (periodically, after a create, at shutdown). */
  checkpointAll(force = false, only?: VectorIndex): Promise<void> {
    return this.scheduler.run(force, only);
  }

  close(): Promise<void> {
    return this.scheduler.stop();
  }

  /** Online backup: the graph checkpoints of the indexes ready in the backup's snapshot, those not newer than its seq. */
  async backup(b: BackupTarget): Promise<void> {
    if (this.checkpoints)
      await backupCheckpoints(b, this.checkpoints.dir, 'vector', await this.defs.readyAt(b.snapshot), vectorCheckpointSeq);
  }

  // ------------------------------------------------------------------ lookup

  /** The named index, ready to search: INDEX_NOT_FOUND when there is none, UNAVAILABLE while it builds. */
  get(name: string): VectorIndex {
    const ix = this.find(name);
    if (!ix)
      throw new ThemisError('INDEX_NOT_FOUND', `vector index ${name} does not exist; create it with POST /vector/index/create`, {
        details: { field: 'index' },
      });
    if (ix.def.state !== 'ready')
      throw new ThemisError('UNAVAILABLE', `vector index ${name} is still being built; retry shortly`, { retryAfterMs: 1000 });
    return ix;
  }

  /** Indexes over `table` (any state). */
  onTable(table: string): readonly VectorIndex[] {
    return this.defs.onTable(table);
  }

  list(): VectorIndexListing[] {
    return [...this.defs.all()].map((ix) => ({ ...describeVectorIndex(ix.def), ...ix.stats() }));
  }

  /** Persist a changed efSearch. */
  async setEfSearch(ix: VectorIndex, ef: number): Promise<void> {
    ix.setEfSearch(ef);
    await this.engine.commit(this.defs.put(new WriteBatch(), ix.def));
  }

  // ------------------------------------------------------------------ create / drop

  /** Create and backfill from the table's entities; serves once `ready`. INDEX_EXISTS when the name is taken. */
  async create(spec: VectorIndexSpec): Promise<VectorIndexDef> {
    if (this.find(spec.name))
      throw new ThemisError('INDEX_EXISTS', `vector index ${spec.name} already exists`, { details: { field: 'name' } });
    const def: VectorIndexDef = {
      id: this.defs.newId(),
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
    const ix = this.live(def);
    await this.defs.build(ix, () => this.backfill(ix));
    await this.defs.save(def);
    this.log.info('vector index ready', { index: def.name, table: def.table, field: def.field, vectors: ix.size });
    await this.checkpointAll(true, ix);
    return def;
  }

  async drop(name: string): Promise<VectorIndexDef> {
    const ix = this.find(name);
    if (!ix) throw new ThemisError('INDEX_NOT_FOUND', `vector index ${name} does not exist`, { details: { field: 'name' } });
    if (name === DEFAULT_VECTOR_INDEX.name)
      throw new ThemisError('BAD_REQUEST', `the default vector index ${name} cannot be dropped`, { details: { field: 'name' } });
    await this.defs.discard(ix.def);
    return ix.def;
  }

  /** What a drop removes before the definition: the checkpoint, and the count (in the batch that removes the definition). */
  private async clear(def: VectorIndexDef, last: WriteBatch): Promise<void> {
    if (this.checkpoints) await fs.promises.rm(checkpointFile(this.checkpoints, def.id), { force: true });
    last.del(vecKs, countKey(def.id));
  }

  /**
   * Index the table's existing documents (see backfillTable: ordered against
   * concurrent commits). A document whose field is not a valid vector fails
   * the create (400).
   */
  private async backfill(ix: VectorIndex): Promise<void> {
    await backfillTable(
      this.documents,
      ix.def.table,
      BACKFILL_BATCH,
      this.clock,
      this.latest,
      () => this.defs.assertCurrent(ix),
      (current) => {
        const batch = new WriteBatch();
        const plan = ix.apply(ix.draftBackfill(current), batch);
        return this.engine.commit(batch).then(() => ix.complete(plan));
      },
    );
  }

  // ------------------------------------------------------------------ maintenance (commit participant)

  /** Commit participation: vectors validated and drafted in prepare (a bad vector refuses the commit), written in write, put in the graphs once durable. */
  readonly participant = ticketedParticipant<VectorIndex, VectorDraft, VectorPlan>({
    name: 'vector',
    empty: () => this.defs.empty,
    indexesOn: (table) => this.defs.onTable(table),
    draft: (ix, changes) => {
      const d = ix.draft(changes);
      return d.changes.length > 0 || d.dimension !== undefined ? d : undefined;
    },
    afterCommit: () => this.scheduler.afterCommit(),
  });

  // ------------------------------------------------------------------ internals

  /** The live index named `name` (names are unique among them). */
  private find(name: string): VectorIndex | undefined {
    for (const ix of this.defs.all()) if (ix.def.name === name) return ix;
    return undefined;
  }

  private live(def: VectorIndexDef): VectorIndex {
    return new VectorIndex(def, this.engine, this.documents, this.log);
  }
}
