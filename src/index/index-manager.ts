import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DocumentStore } from '../documents/index.js';
import type { BackupTarget } from '../kernel/index.js';
import { type Engine, type ScalarValue, type Snapshot, keyspace, seqCodec } from '../storage/index.js';
import type { CommitParticipant } from '../txn/index.js';
import { backfillTable, type CommitClock, type LatestValue } from './backfill.js';
import type { IndexCheckpoints } from './checkpoint-scheduler.js';
import { DefinitionRegistry } from './definitions.js';
import { FulltextIndexes } from './fulltext-indexes.js';
import type { AnalysisPool } from './fulltext/analysis-pool.js';
import type { FulltextIndex, FulltextStats } from './fulltext/index.js';
import { idPrefix } from './id-prefix.js';
import { indexName, parseIndexSpec, type IndexDef, type IndexSpec, type LiveIndex } from './index-def.js';
import { SecondaryIndexes, type EntryRange } from './secondary.js';

const BACKFILL_BATCH = 5000;

export type IndexListing = IndexDef & { name: string; entries: number; fulltext?: FulltextStats };

/**
 * Secondary (equality, range, unique) and fulltext indexes: their
 * definitions (keyspace `indexMeta`: id -> definition JSON; key 0 holds the
 * id counter), create with backfill, drop, listing and the lookups queries
 * use. What a commit does to them is the two participants': entries and
 * unique values in SecondaryIndexes (secondary.ts), postings in
 * FulltextIndexes (fulltext-indexes.ts), which also loads and checkpoints
 * the fulltext indexes' in-memory side.
 */
export class IndexManager {
  private readonly defs: DefinitionRegistry<IndexDef, LiveIndex>;
  private readonly secondary: SecondaryIndexes;
  private readonly ft: FulltextIndexes;
  /** The commit participants: secondary entries and unique values, fulltext postings. */
  readonly participants: readonly CommitParticipant[];

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly latest: LatestValue,
    private readonly log: Logger,
    private readonly clock?: CommitClock,
    checkpoints?: IndexCheckpoints,
    /** Entries the resident index copies may hold in all (resident.ts; 0: none). */
    residentEntries = 0,
    /** Worker threads for the fulltext analysis of large batches, and from how many documents per index a batch uses them. */
    analysis: { workers: number; minDocs: number } = { workers: 0, minDocs: 64 },
  ) {
    this.defs = new DefinitionRegistry<IndexDef, LiveIndex>(
      engine,
      log,
      { keyspace: keyspace('indexMeta'), key: (id) => seqCodec.encode(id), counterKey: seqCodec.encode(0) },
      { noun: 'index', name: indexName, clear: (def) => this.clear(def) },
    );
    this.secondary = new SecondaryIndexes(engine, documents, latest, this.defs, residentEntries);
    this.ft = new FulltextIndexes(engine, log, this.defs, clock, checkpoints, analysis);
    this.participants = [this.secondary.participant, this.ft.participant];
  }

  async open(): Promise<void> {
    const loaded = await this.defs.load();
    const ready: LiveIndex[] = [];
    for (const def of loaded.ready) {
      const l = this.defs.register(this.live(def, def.type === 'fulltext' ? 0 : await this.secondary.count(def.id)));
      if (l.ft) await this.ft.load(l.ft, def);
      ready.push(l);
    }
    const markers = await this.secondary.addCompoundMarkers(ready);
    if (markers > 0) this.log.info('index compound markers added', { markers });
    this.ft.start();
    await this.defs.resume(loaded, (def) =>
      this.create({
        table: def.table,
        columns: def.columns,
        type: def.type,
        unique: def.unique,
        sparse: def.sparse,
        ...(def.config ? { config: def.config } : {}),
      }),
    );
  }

  /**
   * Checkpoint every ready fulltext index that changed since its last
   * checkpoint: periodically, after a create, and at shutdown (commits in
   * flight are left to the change-log replay).
   */
  checkpointAll(force = false, only?: LiveIndex): Promise<void> {
    return this.ft.checkpointAll(force, only);
  }

  /** Stop the background checkpoint and write a final one (shutdown, after the last commit). */
  close(): Promise<void> {
    return this.ft.close();
  }

  /** The worker threads that analyse fulltext fields of large batches before their commit. */
  get analysis(): AnalysisPool {
    return this.ft.analysis;
  }

  /** Online backup: the fulltext checkpoints that fit the backup's snapshot (secondary indexes live in LevelDB only). */
  async backup(b: BackupTarget): Promise<void> {
    await this.ft.backup(b, await this.defs.readyAt(b.snapshot, (d) => d.type === 'fulltext'));
  }

  list(): IndexListing[] {
    return [...this.defs.all()].map((l) => this.listing(l));
  }

  /** Fulltext indexes count postings as entries and report their BM25 statistics. */
  private listing(l: LiveIndex): IndexListing {
    if (!l.ft) return { ...l.def, name: indexName(l.def), entries: l.entries };
    const fulltext = l.ft.stats();
    return { ...l.def, name: indexName(l.def), entries: fulltext.postings, fulltext };
  }

  async stats(): Promise<{ indexes: (IndexListing & { approximate_size_bytes: number })[] }> {
    const out = [];
    for (const l of this.defs.all()) {
      const size = await (l.ft ? this.ft.approximateSize(l) : this.secondary.approximateSize(l));
      out.push({ ...this.listing(l), approximate_size_bytes: size });
    }
    return { indexes: out };
  }

  /** Ready equality/range index definitions of a table (what the query planner may use). */
  readyDefs(table: string): (IndexDef & { type: 'equality' | 'range' })[] {
    const defs = this.defs
      .onTable(table)
      .filter((l) => l.def.state === 'ready')
      .map((l) => l.def);
    return defs.filter((d): d is IndexDef & { type: 'equality' | 'range' } => d.type !== 'fulltext');
  }

  /** Columns of `table` with a ready fulltext index. */
  fulltextColumns(table: string): string[] {
    return this.defs
      .onTable(table)
      .filter((l) => l.ft && l.def.state !== 'dropping')
      .map((l) => l.def.columns[0]!);
  }

  /** The fulltext index on `table.column`: INDEX_NOT_FOUND when there is none, UNAVAILABLE while it builds. */
  fulltext(table: string, column: string): FulltextIndex {
    const l = this.defs.onTable(table).find((x) => x.ft && x.def.columns[0] === column);
    if (!l) {
      throw new ThemisError(
        'INDEX_NOT_FOUND',
        `no fulltext index on ${table}.${column}; create one with POST /index/create {"table": "${table}", "column": "${column}", "type": "fulltext"}`,
        {
          details: { field: 'column' },
        },
      );
    }
    if (l.def.state !== 'ready') {
      throw new ThemisError('UNAVAILABLE', `the fulltext index on ${table}.${column} is still being built; retry shortly`, {
        retryAfterMs: 1000,
      });
    }
    return l.ft!;
  }

  /**
   * Entity keys of a ready index's entries, in index order, as of `snapshot`
   * (see SecondaryIndexes.scan); UNAVAILABLE when the index is gone or not
   * ready.
   */
  async *scanKeys(id: number, r: EntryRange, snapshot?: Snapshot): AsyncGenerator<string> {
    yield* this.secondary.scan(this.readyIndex(id), r, snapshot);
  }

  /** The equality posting cache's state (entries, hits, misses): see posting-cache.ts. */
  get postingCache(): { entries: number; hits: number; misses: number } {
    const c = this.secondary.postings;
    return { entries: c.size, hits: c.hits, misses: c.misses };
  }

  /** The resident index copies' state (indexes and entries kept, copies made, hits, misses): see resident.ts. */
  get residentIndexes(): { indexes: number; entries: number; builds: number; hits: number; misses: number } {
    const r = this.secondary.resident;
    return { indexes: r.indexes, entries: r.entries, builds: r.builds, hits: r.hits, misses: r.misses };
  }

  /** The index-only COLLECT counts' state (indexes and values kept, hits, misses): see value-counts.ts. */
  get valueCounts(): { indexes: number; values: number; hits: number; misses: number } {
    const c = this.secondary.counts;
    return { ...c.size, hits: c.hits, misses: c.misses };
  }

  /** The same keys in chunks (AQL reads them so: no generator step per key). */
  scanKeyChunks(id: number, r: EntryRange, snapshot?: Snapshot): AsyncGenerator<string[]> {
    return this.secondary.scanChunks(this.readyIndex(id), r, snapshot);
  }

  /** Index-only grouping of a ready single-column index (see SecondaryIndexes.valueRuns); UNAVAILABLE as scanKeys. */
  valueRuns(id: number, r: EntryRange, snapshot: Snapshot, skip: ReadonlySet<string>): AsyncGenerator<[ScalarValue, number][]> {
    return this.secondary.valueRuns(this.readyIndex(id), r, snapshot, skip);
  }

  /** Documents whose attribute is an array or object in a ready single-column index (see SecondaryIndexes.compoundKeys). */
  compoundKeys(id: number, snapshot: Snapshot): Promise<string[]> {
    return this.secondary.compoundKeys(this.readyIndex(id), snapshot);
  }

  private readyIndex(id: number): LiveIndex {
    const l = this.defs.get(id);
    if (!l || l.def.state !== 'ready')
      throw new ThemisError('UNAVAILABLE', `index ${id} is not available (dropped while the query ran?); retry`);
    return l;
  }

  // ------------------------------------------------------------------ create / drop

  /** Create and backfill; the index serves (and enforces uniqueness) once `ready`. */
  async create(spec: IndexSpec): Promise<IndexDef> {
    const s = parseIndexSpec(spec);
    if (this.find(s.table, s.columns, s.type)) throw new ThemisError('INDEX_EXISTS', `index ${indexName(s)} (${s.type}) already exists`);
    const def: IndexDef = { id: this.defs.newId(), ...s, state: 'building', created_at: new Date().toISOString() };
    if (def.config === undefined) delete def.config;
    const live = this.live(def, 0);
    // From `ready` on, the participant enforces uniqueness; then a second pass finds any duplicate that slipped in while the index was building.
    await this.defs.build(live, () => this.backfill(live), def.unique ? () => this.secondary.verifyUnique(live) : undefined);
    // The backfill's count is exact unless commits changed entries meanwhile (a scan of 100k entries is ~25 % of a build).
    if (!live.ft && live.touchedWhileBuilding) live.entries = await this.secondary.count(def.id);
    await this.defs.save(def);
    this.log.info('index ready', { index: indexName(def), type: def.type, entries: this.listing(live).entries });
    if (live.ft) await this.checkpointAll(true, live);
    return def;
  }

  async drop(spec: IndexSpec): Promise<IndexDef> {
    const s = parseIndexSpec(spec);
    const matching = this.defs
      .onTable(s.table)
      .filter((x) => x.def.columns.join(',') === s.columns.join(',') && (spec.type === undefined || x.def.type === s.type));
    if (matching.length === 0)
      throw new ThemisError('INDEX_NOT_FOUND', `index ${indexName(s)}${spec.type === undefined ? '' : ` (${s.type})`} does not exist`);
    if (matching.length > 1) {
      const kinds = matching.map((m) => m.def.type).join(' and ');
      throw new ThemisError('VALIDATION_FAILED', `${indexName(s)} has ${matching.length} indexes (${kinds}); say which with "type"`, {
        details: { field: 'type' },
      });
    }
    const l = matching[0]!;
    await this.defs.discard(l.def);
    return l.def;
  }

  /** What a drop removes before the definition: the entries or postings, and a fulltext checkpoint. */
  private async clear(def: IndexDef): Promise<void> {
    await this.secondary.deleteEntries(def.id);
    await this.ft.clear(def.id);
  }

  private find(table: string, columns: string[], type: string | undefined): LiveIndex | undefined {
    return this.defs
      .onTable(table)
      .find((l) => l.def.columns.join(',') === columns.join(',') && (type === undefined || l.def.type === type));
  }

  /** Index the table's existing documents (see backfillTable: ordered against concurrent commits, whose participants maintain this index). */
  private async backfill(l: LiveIndex): Promise<void> {
    await backfillTable(
      this.documents,
      l.def.table,
      BACKFILL_BATCH,
      this.clock,
      this.latest,
      () => this.defs.assertCurrent(l),
      (current) => (l.ft ? this.ft.fill(l.ft, current) : this.secondary.fill(l, current)),
    );
  }

  private live(def: IndexDef, entries: number): LiveIndex {
    const l: LiveIndex = { def, paths: def.columns.map((c) => c.split('.')), prefix: idPrefix(def.id), entries };
    if (def.type === 'fulltext') l.ft = this.ft.create(def);
    return l;
  }
}
