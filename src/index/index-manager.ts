import fs from 'node:fs';
import path from 'node:path';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DocumentStore } from '../documents/index.js';
import { Engine, WriteBatch, type Snapshot, keyspace, orderedCodec, prefixUpperBound, seqCodec, type ScalarValue } from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';
import { backfillTable, type CommitClock, type LatestValue } from './backfill.js';
import { CheckpointScheduler, type IndexCheckpoints } from './checkpoint-scheduler.js';
import { replayReport } from './replay.js';
import { MAX_ENTRIES_PER_DOCUMENT, indexTuples } from './extract.js';
import { FulltextIndex, type DocChange, type FulltextPlan, type FulltextStats } from './fulltext/index.js';
import { idPrefix } from './id-prefix.js';
import { indexName, parseIndexSpec, type IndexDef, type IndexSpec } from './index-def.js';

const idxKs = keyspace('index');
const defKs = keyspace('indexMeta');
const ftKs = keyspace('fulltext');
const EMPTY = Buffer.alloc(0);
const BACKFILL_BATCH = 5000;
/** Key 0 of the indexMeta keyspace holds the id counter (index ids start at 1 and are never reused). */
const COUNTER_ID = 0;

interface LiveIndex {
  def: IndexDef;
  paths: string[][];
  prefix: Buffer;
  entries: number;
  /** Fulltext indexes: the BM25 index (its own keyspace and in-memory query side). */
  ft?: FulltextIndex;
}

/** One change's entries in one secondary index: hex entry keys removed, and added with their value tuples. */
interface EntryChange {
  l: LiveIndex;
  key: string;
  removed: string[];
  added: [string, ScalarValue[]][];
}

/** A commit's index work: secondary entries, fulltext documents to plan, and (after write) the fulltext tickets taken. */
export interface IndexCommitPlan {
  entries: EntryChange[];
  fulltext: (readonly [FulltextIndex, DocChange[]])[];
  ft: [FulltextIndex, FulltextPlan][];
}

export type IndexListing = IndexDef & { name: string; entries: number; fulltext?: FulltextStats };

function describeTuple(t: ScalarValue[]): string {
  return JSON.stringify(t.length === 1 ? t[0] : t);
}

/** A unique index cannot be created over data that already repeats a value. */
function duplicateValue(l: { def: IndexDef }, t: ScalarValue[], owner: string, key: string): ThemisError {
  return new ThemisError('CONFLICT', `cannot create unique index ${indexName(l.def)}: value ${describeTuple(t)} is used by ${owner} and ${key}`);
}


/**
 * Secondary indexes (equality and range share one order-preserving layout).
 *
 *   non-unique: id(4) ‹values…, entityKey› -> ''
 *   unique:     id(4) ‹values…›            -> entityKey
 *
 * ‹…› is orderedCodec (null < bool < number < string, numbers numerically),
 * so an index range is a LevelDB range and a value prefix is a byte prefix.
 * Entries are maintained by a commit participant in the same batch as the entity,
 * so an index never disagrees with the data (updates, deletes, rollbacks,
 * crashes). Unique indexes are point-addressable by value, which lets the
 * participant check a violation synchronously; values claimed or released by
 * commits still in flight are tracked so concurrent writers cannot both win.
 */
export class IndexManager {
  private readonly byId = new Map<number, LiveIndex>();
  private readonly byTable = new Map<string, LiveIndex[]>();
  /** In-flight unique claims (hex of the unique key) -> owner and the claiming commit's last seq. */
  private readonly claims = new Map<string, { key: string; seq: number }>();
  /** In-flight releases (an owner moving off a value) -> former owner and seq. */
  private readonly releases = new Map<string, { key: string; seq: number }>();
  private nextId = 1;
  private readonly scheduler: CheckpointScheduler<LiveIndex>;

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly latest: LatestValue,
    private readonly log: Logger,
    private readonly clock?: CommitClock,
    private readonly checkpoints?: IndexCheckpoints,
  ) {
    this.scheduler = new CheckpointScheduler(
      'fulltext',
      log,
      () => [...this.byId.values()].filter((l) => l.ft && l.def.state === 'ready'),
      (l) => indexName(l.def),
      async (l, force) => this.checkpoints !== undefined && this.clock !== undefined && this.byId.get(l.def.id) === l && l.ft!.checkpoint(this.checkpointFile(l.def.id), this.clock.appliedSeq(), force),
      checkpoints,
      (l) => l.ft!.checkpointSeq,
    );
  }

  async open(): Promise<void> {
    const building: IndexDef[] = [];
    const dropping: IndexDef[] = [];
    for await (const [k, v] of this.engine.scan(defKs)) {
      const id = seqCodec.decode(k);
      if (id === COUNTER_ID) {
        this.nextId = Math.max(this.nextId, (JSON.parse(v.toString('utf8')) as { next_id: number }).next_id);
        continue;
      }
      const def = JSON.parse(v.toString('utf8')) as IndexDef;
      this.nextId = Math.max(this.nextId, id + 1);
      if (def.state === 'building') building.push(def);
      else if (def.state === 'dropping') dropping.push(def);
      else {
        const l = this.register(def, def.type === 'fulltext' ? 0 : await this.count(def));
        if (l.ft) await this.loadFulltext(l.ft, def);
      }
    }
    if (this.clock) this.scheduler.start();
    // A drop interrupted by a crash finishes.
    for (const def of dropping) await this.discard(def);
    // A backfill interrupted by a crash starts over: its partial entries are removed first.
    for (const def of building) {
      await this.discard(def);
      try {
        await this.create({ table: def.table, columns: def.columns, type: def.type, unique: def.unique, sparse: def.sparse, ...(def.config ? { config: def.config } : {}) });
      } catch (e) {
        this.log.error('rebuilding an interrupted index failed; it was dropped', { index: indexName(def), error: e });
      }
    }
  }

  /** The in-memory side of a fulltext index: from its checkpoint plus the change log, else from the durable postings. */
  private async loadFulltext(ft: FulltextIndex, def: IndexDef): Promise<void> {
    const started = Date.now();
    let from: Record<string, unknown>;
    const c = this.checkpoints;
    const r = c ? await ft.loadCheckpoint(this.checkpointFile(def.id), c.lastSeq(), (seq) => c.replay(def.table, seq)) : { loaded: false as const, reason: 'checkpoints off' };
    if (r.loaded) from = { source: 'checkpoint', ...replayReport(r.fromSeq ?? 0, c!.lastSeq(), r.replayed ?? 0) };
    else {
      await ft.load();
      from = { source: 'postings', checkpoint_unused: r.reason ?? 'unknown' };
    }
    this.log.info('fulltext index loaded', { index: indexName(def), ...from, ...ft.stats(), ms: Date.now() - started });
  }

  private checkpointFile(id: number): string {
    return path.join(this.checkpoints!.dir, `index-${id}.ckpt`);
  }

  /**
   * Checkpoint every ready fulltext index that changed since its last
   * checkpoint: periodically, after a create, and at shutdown (commits in
   * flight are left to the change-log replay).
   */
  checkpointAll(force = false, only?: LiveIndex): Promise<void> {
    return this.scheduler.run(force, only);
  }

  /** Stop the background checkpoint and write a final one (shutdown, after the last commit). */
  close(): Promise<void> {
    return this.scheduler.stop();
  }

  list(): IndexListing[] {
    return [...this.byId.values()].map((l) => this.listing(l));
  }

  /** Fulltext indexes count postings as entries and report their BM25 statistics. */
  private listing(l: LiveIndex): IndexListing {
    if (!l.ft) return { ...l.def, name: indexName(l.def), entries: l.entries };
    const fulltext = l.ft.stats();
    return { ...l.def, name: indexName(l.def), entries: fulltext.postings, fulltext };
  }

  async stats(): Promise<{ indexes: (IndexListing & { approximate_size_bytes: number })[] }> {
    const out = [];
    for (const l of this.byId.values()) {
      const size = await this.engine.approximateRange(l.ft ? ftKs : idxKs, l.prefix);
      out.push({ ...this.listing(l), approximate_size_bytes: size });
    }
    return { indexes: out };
  }

  /** Ready equality/range index definitions of a table (what the query planner may use). */
  readyDefs(table: string): (IndexDef & { type: 'equality' | 'range' })[] {
    const defs = (this.byTable.get(table) ?? []).filter((l) => l.def.state === 'ready').map((l) => l.def);
    return defs.filter((d): d is IndexDef & { type: 'equality' | 'range' } => d.type !== 'fulltext');
  }

  /** Columns of `table` with a ready fulltext index. */
  fulltextColumns(table: string): string[] {
    return (this.byTable.get(table) ?? []).filter((l) => l.ft && l.def.state === 'ready').map((l) => l.def.columns[0]!);
  }

  /** The fulltext index on `table.column`: BAD_REQUEST when there is none, UNAVAILABLE while it builds. */
  fulltext(table: string, column: string): FulltextIndex {
    const l = (this.byTable.get(table) ?? []).find((x) => x.ft && x.def.columns[0] === column);
    if (!l) {
      throw new ThemisError('BAD_REQUEST', `no fulltext index on ${table}.${column}; create one with POST /index/create {"table": "${table}", "column": "${column}", "type": "fulltext"}`, {
        details: { field: 'column' },
      });
    }
    if (l.def.state !== 'ready') {
      throw new ThemisError('UNAVAILABLE', `the fulltext index on ${table}.${column} is still being built; retry shortly`, { headers: { 'Retry-After': '1' } });
    }
    return l.ft!;
  }

  /**
   * Entity keys of a ready index's entries, in index order, as of `snapshot`:
   * `eq` = entries whose first value is eq (a byte prefix, also for composites);
   * otherwise the single-column range [lower, upper] (each optional).
   * `limit` stops after that many entries (estimates).
   */
  async *scanKeys(
    id: number,
    r: { eq?: ScalarValue; lower?: ScalarValue; upper?: ScalarValue; includeLower?: boolean; includeUpper?: boolean; reverse?: boolean; limit?: number },
    snapshot?: Snapshot,
  ): AsyncGenerator<string> {
    const l = this.byId.get(id);
    if (!l || l.def.state !== 'ready') throw new ThemisError('UNAVAILABLE', `index ${id} is not available (dropped while the query ran?); retry`);
    if ('eq' in r && l.def.unique && l.def.columns.length === 1) {
      // A single-column unique index is point-addressable by value: one synchronous read, no iterator.
      const owner = this.engine.getSync(idxKs, Buffer.concat([l.prefix, orderedCodec.encode([r.eq!])]), snapshot);
      if (owner !== undefined) yield owner.toString('utf8');
      return;
    }
    let gte: Buffer;
    let lt: Buffer;
    if ('eq' in r) {
      gte = Buffer.concat([l.prefix, orderedCodec.encode([r.eq!])]);
      lt = prefixUpperBound(gte);
    } else {
      if (r.lower !== undefined) {
        const lo = Buffer.concat([l.prefix, orderedCodec.encode([r.lower])]);
        gte = r.includeLower === false ? prefixUpperBound(lo) : lo;
      } else gte = l.prefix;
      if (r.upper !== undefined) {
        const hi = Buffer.concat([l.prefix, orderedCodec.encode([r.upper])]);
        lt = r.includeUpper === false ? hi : prefixUpperBound(hi);
      } else lt = prefixUpperBound(l.prefix);
    }
    if (Buffer.compare(gte, lt) >= 0) return;
    const opts = { gte, lt, reverse: r.reverse === true, ...(r.limit !== undefined ? { limit: r.limit } : {}), ...(snapshot ? { snapshot } : {}) };
    for await (const [k, v] of this.engine.scan(idxKs, opts)) {
      if (l.def.unique) yield v.toString('utf8');
      else {
        const t = orderedCodec.decode(k.subarray(4));
        yield t[t.length - 1] as string;
      }
    }
  }

  // ------------------------------------------------------------------ create / drop

  /** Create and backfill; the index serves (and enforces uniqueness) once `ready`. */
  async create(spec: IndexSpec): Promise<IndexDef> {
    const s = parseIndexSpec(spec);
    if (this.find(s.table, s.columns, s.type)) throw new ThemisError('BAD_REQUEST', `index ${indexName(s)} (${s.type}) already exists`);
    const def: IndexDef = { id: this.nextId++, ...s, state: 'building', created_at: new Date().toISOString() };
    if (def.config === undefined) delete def.config;
    // Registered (so the commit hook maintains it) before the definition is queued: every commit
    // whose hook missed it is queued before the definition, hence durable before the backfill scans.
    const live = this.register(def, 0);
    try {
      await this.saveDef(def);
      await this.backfill(live);
      // From `ready` on, the hook enforces uniqueness; then a second pass finds
      // any duplicate that slipped in while the index was building (a unique
      // entry holds one owner, so a duplicate shows as an entity whose value is
      // owned by another entity that still has it).
      if (this.byId.get(def.id) !== live) throw new ThemisError('CONFLICT', `index ${indexName(def)} was dropped while it was being built`);
      def.state = 'ready';
      if (def.unique) await this.verifyUnique(live);
    } catch (e) {
      await this.discard(def);
      throw e;
    }
    if (!live.ft) live.entries = await this.count(def);
    await this.saveDef(def);
    this.log.info('index ready', { index: indexName(def), type: def.type, entries: this.listing(live).entries });
    if (live.ft) await this.checkpointAll(true, live);
    return def;
  }

  async drop(spec: IndexSpec): Promise<IndexDef> {
    const s = parseIndexSpec(spec);
    const matching = (this.byTable.get(s.table) ?? []).filter((x) => x.def.columns.join(',') === s.columns.join(',') && (spec.type === undefined || x.def.type === s.type));
    if (matching.length === 0) throw new ThemisError('BAD_REQUEST', `index ${indexName(s)}${spec.type === undefined ? '' : ` (${s.type})`} does not exist`);
    if (matching.length > 1) {
      const kinds = matching.map((m) => m.def.type).join(' and ');
      throw new ThemisError('VALIDATION_FAILED', `${indexName(s)} has ${matching.length} indexes (${kinds}); say which with "type"`, { details: { field: 'type' } });
    }
    const l = matching[0]!;
    await this.discard(l.def);
    return l.def;
  }

  /**
   * Stop maintaining an index at once, then remove its entries and its
   * definition. The definition stays (state `dropping`) until the entries
   * are gone, so a crash in between resumes the drop at the next start; ids
   * are never reused (the counter is stored), so leftovers can't be adopted.
   */
  private async discard(def: IndexDef): Promise<void> {
    this.unregister(def.id);
    await this.saveDef({ ...def, state: 'dropping' });
    await this.deleteEntries(def.id);
    await FulltextIndex.deleteAll(this.engine, def.id);
    if (this.checkpoints) await fs.promises.rm(this.checkpointFile(def.id), { force: true });
    await this.engine.commit(new WriteBatch().del(defKs, seqCodec.encode(def.id)));
  }

  private find(table: string, columns: string[], type: string | undefined): LiveIndex | undefined {
    return (this.byTable.get(table) ?? []).find((l) => l.def.columns.join(',') === columns.join(',') && (type === undefined || l.def.type === type));
  }

  /** Index the table's existing documents (see backfillTable: ordered against concurrent commits, whose own hook maintains this index). */
  private async backfill(l: LiveIndex): Promise<void> {
    const alive = () => {
      if (this.byId.get(l.def.id) !== l) throw new ThemisError('CONFLICT', `index ${indexName(l.def)} was dropped while it was being built`);
    };
    await backfillTable(this.documents, l.def.table, BACKFILL_BATCH, this.clock, this.latest, alive, (current) => {
      const batch = new WriteBatch();
      if (l.ft) {
        const ft = l.ft;
        const plan = ft.apply(ft.planBackfill(current), batch);
        return this.engine.commit(batch).then(() => ft.complete(plan));
      }
      const local = new Map<string, string>();
      for (const [key, text] of current) {
        for (const t of this.tuplesOf(l, text, key)) {
          const k = this.entryKey(l, t, key);
          if (l.def.unique) {
            const hex = k.toString('hex');
            const owner = local.get(hex) ?? this.engine.getSync(idxKs, k)?.toString('utf8');
            if (owner !== undefined && owner !== key && this.stillHas(l, t, owner)) {
              throw duplicateValue(l, t, owner, key);
            }
            local.set(hex, key);
            batch.put(idxKs, k, Buffer.from(key, 'utf8'));
          } else {
            batch.put(idxKs, k, EMPTY);
          }
          l.entries++;
        }
      }
      return this.engine.commit(batch);
    });
  }

  private async verifyUnique(l: LiveIndex): Promise<void> {
    for await (const rows of this.documents.scan({ table: l.def.table })) {
      for (const [key] of rows) {
        const text = this.latest(key);
        if (text === null) continue;
        for (const t of this.tuplesOf(l, text, key)) {
          const ek = this.entryKey(l, t, key);
          const owner = this.claims.get(ek.toString('hex'))?.key ?? this.engine.getSync(idxKs, ek)?.toString('utf8');
          if (owner !== undefined && owner !== key && this.stillHas(l, t, owner)) {
            throw duplicateValue(l, t, owner, key);
          }
        }
      }
    }
  }

  /** Whether `owner`'s latest document still holds tuple `t` in this index (stale unique entries don't count). */
  private stillHas(l: LiveIndex, t: ScalarValue[], owner: string): boolean {
    const text = this.latest(owner);
    if (text === null) return false;
    const want = orderedCodec.encode(t);
    return this.tuplesOf(l, text, owner).some((x) => orderedCodec.encode(x).equals(want));
  }

  // ------------------------------------------------------------------ maintenance (commit participant)

  /** Commit participation: plan and check (unique values, entry limits) in prepare; entries and claims in write. */
  readonly participant: CommitParticipant<IndexCommitPlan> = {
    name: 'indexes',
    prepare: (info) => this.prepare(info),
    write: (info, plan, batch) => plan && this.write(info, plan, batch),
    applied: (info, plan) => this.applied(info, plan),
    aborted: (info, plan) => plan && this.forget(info, plan),
  };

  /** What each change removes and adds, per index, checked against unique values (pure; throws on a violation). */
  private prepare(info: CommitInfo): IndexCommitPlan | undefined {
    if (this.byTable.size === 0) return undefined;
    const entries: EntryChange[] = [];
    const localReleases = new Map<string, string>();
    const ftChanges = new Map<FulltextIndex, { key: string; prev: unknown; next: unknown }[]>();
    for (const c of info.changes) {
      const indexes = this.byTable.get(c.table);
      if (!indexes) continue;
      for (const l of indexes) {
        if (l.ft) {
          const list = ftChanges.get(l.ft) ?? [];
          list.push({ key: c.key, prev: c.prevDoc, next: c.doc });
          ftChanges.set(l.ft, list);
          continue;
        }
        const before = c.prev === null ? [] : this.tuplesOfDoc(l, c.prevDoc, c.key);
        const after = c.value === null ? [] : this.tuplesOfDoc(l, c.doc, c.key);
        const oldKeys = new Map(before.map((t) => [this.entryKey(l, t, c.key).toString('hex'), t]));
        const newKeys = new Map(after.map((t) => [this.entryKey(l, t, c.key).toString('hex'), t]));
        const removed = [...oldKeys.keys()].filter((h) => !newKeys.has(h));
        const added = [...newKeys].filter(([h]) => !oldKeys.has(h));
        if (l.def.unique) for (const h of removed) localReleases.set(h, c.key);
        if (removed.length > 0 || added.length > 0) entries.push({ l, key: c.key, removed, added });
      }
    }
    // Unique checks (a value released earlier in this same commit may be taken).
    const localClaims = new Map<string, string>();
    for (const p of entries) {
      if (!p.l.def.unique) continue;
      for (const [hex, t] of p.added) {
        if (p.l.def.state === 'ready') this.checkUnique(p.l, hex, t, p.key, localClaims, localReleases);
        localClaims.set(hex, p.key);
      }
    }
    const fulltext = [...ftChanges].map(([ft, changes]) => [ft, ft.plan(changes)] as const).filter(([, docs]) => docs.length > 0);
    if (entries.length === 0 && fulltext.length === 0) return undefined;
    return { entries, fulltext, ft: [] };
  }

  /** Entries into the batch; unique values claimed and released until the batch is durable; fulltext tickets taken. */
  private write(info: CommitInfo, plan: IndexCommitPlan, batch: WriteBatch): void {
    const lastSeq = info.changes[info.changes.length - 1]!.seq;
    for (const [ft, docs] of plan.fulltext) plan.ft.push([ft, ft.apply(docs, batch, info.changes[0]!.seq)]);
    // A unique entry is removed only by the document it names: while an index is built, a value may have two
    // holders for a moment (the check starts when it is ready), and the one giving it up must not take the other's entry.
    for (const p of plan.entries) if (p.l.def.unique && p.removed.length > 0) p.removed = p.removed.filter((hex) => this.uniqueOwner(hex) === p.key);
    // Every removal before any addition: a unique value one document gives up and another takes in this commit is the same key.
    for (const p of plan.entries) for (const hex of p.removed) batch.del(idxKs, Buffer.from(hex, 'hex'));
    for (const p of plan.entries) {
      for (const [hex] of p.added) batch.put(idxKs, Buffer.from(hex, 'hex'), p.l.def.unique ? Buffer.from(p.key, 'utf8') : EMPTY);
      p.l.entries += p.added.length - p.removed.length;
      if (p.l.def.unique) {
        for (const hex of p.removed) this.releases.set(hex, { key: p.key, seq: lastSeq });
        for (const [hex] of p.added) this.claims.set(hex, { key: p.key, seq: lastSeq });
      }
    }
  }

  /** Durable: the in-memory fulltext side catches up, and claims and releases are visible in LevelDB itself. */
  private applied(info: CommitInfo, plan: IndexCommitPlan | undefined): void {
    if (plan) for (const [index, p] of plan.ft) index.complete(p);
    this.scheduler.afterCommit();
    if (this.claims.size === 0 && this.releases.size === 0) return;
    const last = info.changes[info.changes.length - 1]!.seq;
    for (const m of [this.claims, this.releases]) for (const [hex, v] of m) if (v.seq <= last) m.delete(hex);
  }

  /** The batch failed: its claims and releases never happened, its entry counts are taken back. */
  private forget(info: CommitInfo, plan: IndexCommitPlan): void {
    const last = info.changes[info.changes.length - 1]!.seq;
    for (const p of plan.entries) {
      p.l.entries -= p.added.length - p.removed.length;
      if (!p.l.def.unique) continue;
      for (const hex of p.removed) if (this.releases.get(hex)?.seq === last) this.releases.delete(hex);
      for (const [hex] of p.added) if (this.claims.get(hex)?.seq === last) this.claims.delete(hex);
    }
    for (const [index, p] of plan.ft) index.cancel(p);
  }

  /** Who holds a unique entry now: the latest commit in flight that claimed it, else what LevelDB holds. */
  private uniqueOwner(hex: string): string | undefined {
    return this.claims.get(hex)?.key ?? this.engine.getSync(idxKs, Buffer.from(hex, 'hex'))?.toString('utf8');
  }

  private checkUnique(l: LiveIndex, hex: string, t: ScalarValue[], entityKey: string, localClaims: Map<string, string>, localReleases: Map<string, string>): void {
    let owner: string | undefined = localClaims.get(hex);
    if (owner === undefined) {
      const claim = this.claims.get(hex);
      if (claim && localReleases.get(hex) !== claim.key) owner = claim.key;
      else if (!claim) {
        const durable = this.engine.getSync(idxKs, Buffer.from(hex, 'hex'))?.toString('utf8');
        const released = this.releases.get(hex);
        const freed = durable !== undefined && (localReleases.get(hex) === durable || (released !== undefined && released.key === durable));
        owner = durable !== undefined && !freed ? durable : undefined;
      }
    }
    if (owner !== undefined && owner !== entityKey) {
      throw new ThemisError('CONFLICT', `unique index ${indexName(l.def)}: value ${describeTuple(t)} is already used by ${owner}`, {
        details: { index: indexName(l.def), conflicting_key: owner },
      });
    }
  }

  // ------------------------------------------------------------------ internals

  private tuplesOf(l: LiveIndex, text: string, key: string): ScalarValue[][] {
    return this.tuplesOfDoc(l, JSON.parse(text), key);
  }

  private tuplesOfDoc(l: LiveIndex, doc: unknown, key: string): ScalarValue[][] {
    const tuples = indexTuples(doc, l.paths, l.def.sparse);
    if (tuples.length > MAX_ENTRIES_PER_DOCUMENT) {
      throw new ThemisError('VALIDATION_FAILED', `${key} would produce more than ${MAX_ENTRIES_PER_DOCUMENT} entries in index ${indexName(l.def)} (arrays multiply across columns)`);
    }
    return tuples;
  }

  private entryKey(l: LiveIndex, t: ScalarValue[], entityKey: string): Buffer {
    return Buffer.concat([l.prefix, orderedCodec.encode(l.def.unique ? t : [...t, entityKey])]);
  }

  private register(def: IndexDef, entries: number): LiveIndex {
    const prefix = idPrefix(def.id);
    const l: LiveIndex = { def, paths: def.columns.map((c) => c.split('.')), prefix, entries };
    if (def.type === 'fulltext') l.ft = new FulltextIndex(def.id, def.columns[0]!, def.config!, this.engine, this.log);
    this.byId.set(def.id, l);
    this.byTable.set(def.table, [...(this.byTable.get(def.table) ?? []), l]);
    return l;
  }

  private unregister(id: number): void {
    const l = this.byId.get(id);
    if (!l) return;
    this.byId.delete(id);
    const rest = (this.byTable.get(l.def.table) ?? []).filter((x) => x !== l);
    if (rest.length === 0) this.byTable.delete(l.def.table);
    else this.byTable.set(l.def.table, rest);
  }

  private async saveDef(def: IndexDef): Promise<void> {
    const b = new WriteBatch().put(defKs, seqCodec.encode(def.id), Buffer.from(JSON.stringify(def), 'utf8'));
    b.put(defKs, seqCodec.encode(COUNTER_ID), Buffer.from(JSON.stringify({ next_id: this.nextId }), 'utf8'));
    await this.engine.commit(b);
  }

  private async count(def: IndexDef): Promise<number> {
    const prefix = idPrefix(def.id);
    let n = 0;
    for await (const _ of this.engine.scan(idxKs, { gte: prefix, lt: prefixUpperBound(prefix) })) n++;
    return n;
  }

  private async deleteEntries(id: number): Promise<void> {
    const prefix = idPrefix(id);
    for (;;) {
      const b = new WriteBatch();
      for await (const [k] of this.engine.scan(idxKs, { gte: prefix, lt: prefixUpperBound(prefix), limit: 10_000 })) b.del(idxKs, k);
      if (b.length === 0) return;
      await this.engine.commit(b);
    }
  }
}

