import fs from 'node:fs';
import type { Logger } from '../log.js';
import { type Engine, WriteBatch, keyspace } from '../storage/index.js';
import { ticketedParticipant } from './ticketed-participant.js';
import type { CommitClock } from './backfill.js';
import type { BackupTarget } from '../kernel/index.js';
import { backupCheckpoints } from './checkpoint-backup.js';
import { CheckpointScheduler, checkpointFile, type IndexCheckpoints } from './checkpoint-scheduler.js';
import type { DefinitionRegistry } from './definitions.js';
import { FulltextIndex, checkpointSeq, type DocChange, type FulltextPlan } from './fulltext/index.js';
import { indexName, type IndexDef, type LiveIndex } from './index-def.js';
import { replayReport } from './replay.js';
import { AnalysisPool } from './fulltext/analysis-pool.js';
import type { BufferedWrite } from '../txn/index.js';

const ftKs = keyspace('fulltext');

/** A commit's fulltext work: the documents each index must (re)index, and (after write) the tickets taken. */

/**
 * The fulltext indexes' upkeep around their BM25 index (`FulltextIndex`,
 * which keeps its postings in keyspace `fulltext` and its query side in
 * memory): loading at open (checkpoint plus change-log replay, else the
 * postings), maintenance in every commit, backfill batches, checkpoints,
 * and removal. Their definitions live with the secondary indexes'.
 */
export class FulltextIndexes {
  private readonly scheduler: CheckpointScheduler<LiveIndex>;

  /** Worker threads that analyse the fields of large write batches before their commit. */
  readonly analysis: AnalysisPool;
  private readonly minDocs: number;

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly defs: DefinitionRegistry<IndexDef, LiveIndex>,
    private readonly clock?: CommitClock,
    private readonly checkpoints?: IndexCheckpoints,
    analysis: { workers: number; minDocs: number } = { workers: 0, minDocs: 64 },
  ) {
    this.analysis = new AnalysisPool(analysis.workers, log);
    this.minDocs = analysis.minDocs;
    this.scheduler = new CheckpointScheduler(
      'fulltext',
      log,
      () => [...this.defs.all()].filter((l) => l.ft && l.def.state === 'ready'),
      (l) => indexName(l.def),
      async (l, force) =>
        this.checkpoints !== undefined &&
        this.clock !== undefined &&
        this.defs.isCurrent(l) &&
        l.ft!.checkpoint(checkpointFile(this.checkpoints, l.def.id), this.clock.appliedSeq(), force),
      checkpoints,
      (l) => l.ft!.checkpointSeq,
    );
  }

  /** The BM25 index of a fulltext definition (empty until loaded or backfilled). */
  create(def: IndexDef): FulltextIndex {
    return new FulltextIndex(def.id, def.columns[0]!, def.config!, this.engine, this.log);
  }

  /** The in-memory side of a fulltext index: from its checkpoint plus the change log, else from the durable records; a layout-1 index is migrated. */
  async load(ft: FulltextIndex, def: IndexDef): Promise<void> {
    const started = Date.now();
    let from: Record<string, unknown>;
    const c = this.checkpoints;
    const r = c
      ? await ft.loadCheckpoint(checkpointFile(c, def.id), c.lastSeq(), (seq) => c.replay(def.table, seq))
      : { loaded: false as const, reason: 'checkpoints off' };
    if (r.loaded) from = { source: 'checkpoint', ...replayReport(r.fromSeq ?? 0, c!.lastSeq(), r.replayed ?? 0) };
    else {
      await ft.load();
      from = { source: 'postings', checkpoint_unused: r.reason ?? 'unknown' };
    }
    // An index written by an older version (one entry per posting) is rewritten now, before any commit touches it.
    const migrated = await ft.migrate();
    if (migrated > 0) from.migrated_documents = migrated;
    this.log.info('fulltext index loaded', { index: indexName(def), ...from, ...ft.stats(), ms: Date.now() - started });
  }

  /** Start the periodic and growth checkpoints (only with a commit clock: without one there is no applied position to record), and the analysis workers. */
  start(): void {
    if (this.clock) this.scheduler.start();
    this.analysis.warm();
  }

  /**
   * Checkpoint every ready fulltext index that changed since its last
   * checkpoint: periodically, after a create, and at shutdown (commits in
   * flight are left to the change-log replay).
   */
  checkpointAll(force = false, only?: LiveIndex): Promise<void> {
    return this.scheduler.run(force, only);
  }

  /** Online backup: the checkpoints of the fulltext indexes ready in the backup's snapshot (`ready`), those not newer than its seq. */
  async backup(b: BackupTarget, ready: ReadonlySet<number>): Promise<void> {
    if (this.checkpoints) await backupCheckpoints(b, this.checkpoints.dir, 'fulltext', ready, checkpointSeq);
  }

  /** Stop the background checkpoint and write a final one (shutdown, after the last commit); stop the analysis workers. */
  async close(): Promise<void> {
    await this.analysis.close();
    await this.scheduler.stop();
  }

  /** One backfill batch (`rows`: entity key and current text): postings committed, then the in-memory side. */
  fill(ft: FulltextIndex, rows: readonly [string, string][]): Promise<void> {
    const batch = new WriteBatch();
    const plan = ft.apply(ft.planBackfill(rows), batch);
    return this.engine.commit(batch).then(() => ft.complete(plan));
  }

  /** Remove an index's postings and checkpoint (a drop). */
  async clear(id: number): Promise<void> {
    await FulltextIndex.deleteAll(this.engine, id);
    if (this.checkpoints) await fs.promises.rm(checkpointFile(this.checkpoints, id), { force: true });
  }

  approximateSize(l: LiveIndex): Promise<number> {
    return this.engine.approximateRange(ftKs, l.prefix);
  }

  // ------------------------------------------------------------------ maintenance (commit participant)

  /** Commit participation: documents analysed in prepare, postings written and tickets taken in write, the in-memory side updated once durable. */
  readonly participant = ticketedParticipant<FulltextIndex, DocChange[], FulltextPlan>({
    name: 'fulltext',
    empty: () => this.defs.empty,
    indexesOn: (table) => this.fulltextOn(table),
    draft: (ft, changes) => {
      const docs = ft.plan(changes);
      return docs.length === 0 ? undefined : docs;
    },
    afterCommit: () => this.scheduler.afterCommit(),
    precommit: (writes) => this.precommit(writes),
  });

  /**
   * Before an implicit transaction's commit: when it puts at least `minDocs`
   * documents with text into the table of a fulltext index, their texts go
   * to an analysis worker and the records that come back are left with the
   * index as hints for `prepare` (FulltextIndex.hint). A smaller commit
   * (the common case) costs one comparison.
   */
  private precommit(writes: ReadonlyMap<string, BufferedWrite>): Promise<void> | undefined {
    if (writes.size < this.minDocs || this.defs.empty || this.analysis.size === 0) return undefined;
    let jobs: Map<FulltextIndex, { docs: object[]; texts: string[][] }> | undefined;
    for (const w of writes.values()) {
      const doc = w.doc;
      if (w.op !== 'put' || typeof doc !== 'object' || doc === null) continue;
      for (const ft of this.fulltextOn(w.k.table)) {
        const texts = ft.textsOf(doc);
        if (texts.length === 0) continue;
        jobs ??= new Map();
        let j = jobs.get(ft);
        if (!j) jobs.set(ft, (j = { docs: [], texts: [] }));
        j.docs.push(doc);
        j.texts.push(texts);
      }
    }
    if (!jobs) return undefined;
    const waits: Promise<void>[] = [];
    for (const [ft, j] of jobs) {
      if (j.docs.length < this.minDocs) continue;
      waits.push(
        this.analysis.analyze(ft.configJson, j.texts).then((records) => {
          if (records) ft.hint(j.docs, records);
        }),
      );
    }
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  }

  private *fulltextOn(table: string): Generator<FulltextIndex> {
    for (const l of this.defs.onTable(table)) if (l.ft) yield l.ft;
  }
}
