import type { DocumentStore } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import {
  type Engine,
  WriteBatch,
  type Snapshot,
  elementEnd,
  keyspace,
  orderedCodec,
  prefixUpperBound,
  type ScalarValue,
  type ScanOptions,
} from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';
import type { LatestValue } from './backfill.js';
import type { DefinitionRegistry } from './definitions.js';
import { MAX_ENTRIES_PER_DOCUMENT, indexTuples, valueAt } from './extract.js';
import { idPrefix } from './id-prefix.js';
import { MAX_KEYS, PostingCache } from './posting-cache.js';
import { ValueCounts } from './value-counts.js';
import { type KeyOp, type ResidentCopy, ResidentIndexes } from './resident.js';
import { indexName, type IndexDef, type LiveIndex } from './index-def.js';

const idxKs = keyspace('index');
const metaKs = keyspace('meta');
const EMPTY = Buffer.alloc(0);

/**
 * After the id, a byte greater than every orderedCodec value tag: the
 * compound marker of a single-column index (below) sorts after all its
 * scalar entries, as AQL orders arrays and objects after all scalars.
 */
const COMPOUND_TAG = 0x06;

/** Meta key: every single-column index holds its compound markers (written once existing indexes have them). */
export const COMPOUND_MARKERS_KEY = Buffer.from('index_compound_markers');

/** One change's entries in one secondary index: hex entry keys removed, and added with their value tuples. */
interface EntryChange {
  l: LiveIndex;
  key: string;
  removed: string[];
  added: [string, ScalarValue[]][];
  /** The document's compound marker appears or goes (single-column indexes). */
  marker?: 'add' | 'del';
}

/** Whether a single-column index holds a compound marker for `doc` (its attribute is an array or an object). */
function hasCompound(l: LiveIndex, doc: unknown): boolean {
  if (l.paths.length !== 1) return false;
  const v = valueAt(doc, l.paths[0]!);
  return v !== null && typeof v === 'object';
}

function compoundKey(l: LiveIndex, entityKey: string): Buffer {
  return Buffer.concat([l.prefix, Buffer.of(COMPOUND_TAG), orderedCodec.encode([entityKey])]);
}

/**
 * What a commit's changes to non-unique indexes do to the in-memory caches,
 * from one pass over its entries: the equality-scan starts (hex of prefix +
 * first value) whose postings change, and per single-column index the
 * entry count change by value (for the value counts; values decoded only
 * for indexes whose counts are kept).
 */
function cacheChanges(
  plan: readonly EntryChange[],
  counted: (id: number) => boolean,
): { starts: string[]; deltas: Map<number, Map<string, { value: ScalarValue; d: number }>> } {
  const starts = new Set<string>();
  const deltas = new Map<number, Map<string, { value: ScalarValue; d: number }>>();
  for (const p of plan) {
    if (p.l.def.unique || (p.removed.length === 0 && p.added.length === 0)) continue;
    const at = p.l.prefix.length;
    let m: Map<string, { value: ScalarValue; d: number }> | undefined;
    if (p.l.paths.length === 1) {
      // Marked pending even when no counts are kept (an offer must not keep a scan this commit overlaps).
      m = deltas.get(p.l.def.id);
      if (m === undefined) deltas.set(p.l.def.id, (m = new Map()));
      if (!counted(p.l.def.id)) m = undefined;
    }
    const note = (hex: string, d: number) => {
      const k = Buffer.from(hex, 'hex');
      const end = elementEnd(k, at);
      starts.add(hex.slice(0, 2 * end));
      if (m === undefined) return;
      const vh = hex.slice(2 * at, 2 * end);
      const e = m.get(vh);
      if (e) e.d += d;
      else m.set(vh, { value: orderedCodec.decode(k.subarray(at, end))[0]!, d });
    };
    for (const hex of p.removed) note(hex, -1);
    for (const [hex] of p.added) note(hex, 1);
  }
  return { starts: [...starts], deltas };
}

/** What scanKeys reads: entries whose first value is `eq`, or the single-column range [lower, upper]. */
export interface EntryRange {
  eq?: ScalarValue;
  lower?: ScalarValue;
  upper?: ScalarValue;
  includeLower?: boolean;
  includeUpper?: boolean;
  reverse?: boolean;
  limit?: number;
  /** Entries the reader expects to need (a LIMIT after the scan): the size of the first read, when smaller than the default. Later reads grow as usual. */
  first?: number;
}

/** Entries read first from a range that is not a cached equality range (r.first can ask for fewer). */
const FIRST_CHUNK = 32;

/** The key range [gte, lt) of an index's entries in range `r`. */
function entryBounds(l: LiveIndex, r: EntryRange): { gte: Buffer; lt: Buffer } {
  if ('eq' in r) {
    const gte = orderedCodec.encodePrefixed(l.prefix, [r.eq!]);
    return { gte, lt: prefixUpperBound(gte) };
  }
  let gte: Buffer = l.prefix;
  let lt = prefixUpperBound(l.prefix);
  if (r.lower !== undefined) {
    const lo = orderedCodec.encodePrefixed(l.prefix, [r.lower]);
    gte = r.includeLower === false ? prefixUpperBound(lo) : lo;
  }
  if (r.upper !== undefined) {
    const hi = orderedCodec.encodePrefixed(l.prefix, [r.upper]);
    lt = r.includeUpper === false ? hi : prefixUpperBound(hi);
  }
  return { gte, lt };
}

function describeTuple(t: ScalarValue[]): string {
  return JSON.stringify(t.length === 1 ? t[0] : t);
}

/** A unique index cannot be created over data that already repeats a value. */
function duplicateValue(l: { def: IndexDef }, t: ScalarValue[], owner: string, key: string): ThemisError {
  return new ThemisError(
    'CONFLICT',
    `cannot create unique index ${indexName(l.def)}: value ${describeTuple(t)} is used by ${owner} and ${key}`,
  );
}

/**
 * The entries of secondary indexes (equality and range share one
 * order-preserving layout) and their maintenance.
 *
 *   non-unique: id(4) ‹values…, entityKey› -> ''
 *   unique:     id(4) ‹values…›            -> entityKey
 *   compound:   id(4) 0x06 ‹entityKey›     -> ''   (single-column indexes)
 *
 * A compound marker names a document whose indexed attribute is an array or
 * an object (its scalar elements still get entries): AQL orders those after
 * every scalar, so a range scan without an upper bound, and an index-ordered
 * SORT, reach them at the end of the index (the start, descending) and
 * return them as a full scan would.
 * ‹…› is orderedCodec (null < bool < number < string, numbers numerically),
 * so an index range is a LevelDB range and a value prefix is a byte prefix.
 * Entries are maintained by a commit participant in the same batch as the entity,
 * so an index never disagrees with the data (updates, deletes, rollbacks,
 * crashes). Unique indexes are point-addressable by value, which lets the
 * participant check a violation synchronously; values claimed or released by
 * commits still in flight are tracked so concurrent writers cannot both win.
 */
export class SecondaryIndexes {
  /** In-flight unique claims (hex of the unique key) -> owner and the claiming commit's last seq. */
  private readonly claims = new Map<string, { key: string; seq: number }>();
  /** In-flight releases (an owner moving off a value) -> former owner and seq. */
  private readonly releases = new Map<string, { key: string; seq: number }>();
  /** Small equality postings of non-unique indexes, for repeated lookups without an iterator (posting-cache.ts). */
  readonly postings = new PostingCache();
  /** Entry counts by value of non-unique single-column indexes, for index-only COLLECT (value-counts.ts). */
  readonly counts = new ValueCounts();
  /** Ordered in-memory copies of non-unique indexes, for scans without a LevelDB iterator (resident.ts). */
  readonly resident: ResidentIndexes;

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly latest: LatestValue,
    /** The live indexes (fulltext ones, which carry `ft`, are not this class's). */
    private readonly defs: DefinitionRegistry<IndexDef, LiveIndex>,
    /** Entries the resident copies may hold in all (0: none are made). */
    residentEntries = 0,
  ) {
    this.resident = new ResidentIndexes(residentEntries);
  }

  // ------------------------------------------------------------------ maintenance (commit participant)

  /** Commit participation: plan and check (unique values, entry limits) in prepare; entries and claims in write. */
  readonly participant: CommitParticipant<EntryChange[]> = {
    name: 'indexes',
    prepare: (info) => this.prepare(info),
    write: (info, plan, batch) => plan && this.write(info, plan, batch),
    applied: (info) => this.applied(info),
    aborted: (info, plan) => plan && this.forget(info, plan),
  };

  /** What each change removes and adds, per index, checked against unique values (pure; throws on a violation). */
  private prepare(info: CommitInfo): EntryChange[] | undefined {
    if (this.defs.empty) return undefined;
    const entries: EntryChange[] = [];
    const localReleases = new Map<string, string>();
    for (const c of info.changes) {
      for (const l of this.defs.onTable(c.table)) {
        if (l.ft) continue;
        const before = c.prev === null ? [] : this.tuplesOfDoc(l, c.prevDoc, c.key);
        const after = c.value === null ? [] : this.tuplesOfDoc(l, c.doc, c.key);
        const oldKeys = new Map(before.map((t) => [this.entryKey(l, t, c.key).toString('hex'), t]));
        const newKeys = new Map(after.map((t) => [this.entryKey(l, t, c.key).toString('hex'), t]));
        const removed = [...oldKeys.keys()].filter((h) => !newKeys.has(h));
        const added = [...newKeys].filter(([h]) => !oldKeys.has(h));
        if (l.def.unique) for (const h of removed) localReleases.set(h, c.key);
        const hadMarker = c.prev !== null && hasCompound(l, c.prevDoc);
        const hasMarker = c.value !== null && hasCompound(l, c.doc);
        const marker = hadMarker === hasMarker ? undefined : hasMarker ? 'add' : 'del';
        if (removed.length > 0 || added.length > 0 || marker)
          entries.push({ l, key: c.key, removed, added, ...(marker ? { marker } : {}) });
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
    return entries.length === 0 ? undefined : entries;
  }

  /** Entries into the batch; unique values claimed and released until the batch is durable. */
  private write(info: CommitInfo, plan: EntryChange[], batch: WriteBatch): void {
    const lastSeq = info.changes[info.changes.length - 1]!.seq;
    const { starts, deltas } = cacheChanges(plan, (id) => this.counts.has(id));
    this.postings.writing(lastSeq, starts);
    for (const [id, d] of deltas) this.counts.writing(lastSeq, id, d);
    // A unique entry is removed only by the document it names: while an index is built, a value may have two
    // holders for a moment (the check starts when it is ready), and the one giving it up must not take the other's entry.
    for (const p of plan)
      if (p.l.def.unique && p.removed.length > 0) p.removed = p.removed.filter((hex) => this.uniqueOwner(hex) === p.key);
    // The resident copies (resident.ts) get the same puts and deletes in the batch's order; every changed
    // non-unique index is marked pending, kept or not (a scan for a copy must not be kept across this commit).
    const resident = new Map<number, KeyOp[] | undefined>();
    const opsOf = (l: LiveIndex): KeyOp[] | undefined => {
      const id = l.def.id;
      if (resident.has(id)) return resident.get(id);
      const ops = this.resident.has(id) ? [] : undefined;
      resident.set(id, ops);
      return ops;
    };
    // Every removal before any addition: a unique value one document gives up and another takes in this commit is the same key.
    for (const p of plan) {
      const ops = p.l.def.unique || p.removed.length === 0 ? undefined : opsOf(p.l);
      for (const hex of p.removed) {
        const k = Buffer.from(hex, 'hex');
        batch.del(idxKs, k);
        ops?.push([false, k.toString('latin1')]);
      }
    }
    for (const p of plan) {
      const ops = p.l.def.unique || (p.marker === undefined && p.added.length === 0) ? undefined : opsOf(p.l);
      if (p.marker !== undefined) {
        const k = compoundKey(p.l, p.key);
        if (p.marker === 'add') batch.put(idxKs, k, EMPTY);
        else batch.del(idxKs, k);
        ops?.push([p.marker === 'add', k.toString('latin1')]);
      }
      for (const [hex] of p.added) {
        const k = Buffer.from(hex, 'hex');
        batch.put(idxKs, k, p.l.def.unique ? Buffer.from(p.key, 'utf8') : EMPTY);
        ops?.push([true, k.toString('latin1')]);
      }
      p.l.entries += p.added.length - p.removed.length;
      if (p.l.def.state === 'building') p.l.touchedWhileBuilding = true;
      if (p.l.def.unique) {
        for (const hex of p.removed) this.releases.set(hex, { key: p.key, seq: lastSeq });
        for (const [hex] of p.added) this.claims.set(hex, { key: p.key, seq: lastSeq });
      }
    }
    for (const [id, ops] of resident) this.resident.writing(lastSeq, id, ops ?? []);
  }

  /** Durable: claims and releases up to this commit are visible in LevelDB itself. */
  private applied(info: CommitInfo): void {
    const last = info.changes[info.changes.length - 1]!.seq;
    this.postings.ended(last, true, this.engine.writeEpoch);
    this.counts.ended(last, true, this.engine.writeEpoch);
    this.resident.ended(last, true, this.engine.writeEpoch);
    if (this.claims.size === 0 && this.releases.size === 0) return;
    for (const m of [this.claims, this.releases]) for (const [hex, v] of m) if (v.seq <= last) m.delete(hex);
  }

  /** The batch failed: its claims and releases never happened, its entry counts are taken back. */
  private forget(info: CommitInfo, plan: EntryChange[]): void {
    const last = info.changes[info.changes.length - 1]!.seq;
    this.postings.ended(last, false, this.engine.writeEpoch);
    this.counts.ended(last, false, this.engine.writeEpoch);
    this.resident.ended(last, false, this.engine.writeEpoch);
    for (const p of plan) {
      p.l.entries -= p.added.length - p.removed.length;
      if (!p.l.def.unique) continue;
      for (const hex of p.removed) if (this.releases.get(hex)?.seq === last) this.releases.delete(hex);
      for (const [hex] of p.added) if (this.claims.get(hex)?.seq === last) this.claims.delete(hex);
    }
  }

  /** Who holds a unique entry now: the latest commit in flight that claimed it, else what LevelDB holds. */
  private uniqueOwner(hex: string): string | undefined {
    return this.claims.get(hex)?.key ?? this.engine.getSync(idxKs, Buffer.from(hex, 'hex'))?.toString('utf8');
  }

  private checkUnique(
    l: LiveIndex,
    hex: string,
    t: ScalarValue[],
    entityKey: string,
    localClaims: Map<string, string>,
    localReleases: Map<string, string>,
  ): void {
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

  // ------------------------------------------------------------------ backfill

  /**
   * One backfill batch's entries (`rows`: entity key and current text),
   * committed; throws at once (nothing written) when a unique index would
   * get a value twice.
   */
  fill(l: LiveIndex, rows: readonly [string, string][]): Promise<void> {
    this.counts.drop(l.def.id);
    this.resident.drop(l.def.id);
    const batch = new WriteBatch();
    const local = new Map<string, string>();
    for (const [key, text] of rows) {
      const doc = JSON.parse(text) as unknown;
      if (hasCompound(l, doc)) batch.put(idxKs, compoundKey(l, key), EMPTY);
      for (const t of this.tuplesOfDoc(l, doc, key)) {
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
  }

  /**
   * After a unique index turned `ready` (from then on commits enforce it): a
   * second pass finds any duplicate that slipped in while it was building (a
   * unique entry holds one owner, so a duplicate shows as an entity whose
   * value is owned by another entity that still has it).
   */
  async verifyUnique(l: LiveIndex): Promise<void> {
    for await (const rows of this.documents.scan({ table: l.def.table })) {
      // Entries to restore: while the index was built a value could have two holders for a moment, the later one's
      // entry replacing the earlier one's; if the later one then gave the value up, the earlier holder has no entry.
      const repairs: [hex: string, key: string][] = [];
      for (const [key] of rows) {
        const text = this.latest(key);
        if (text === null) continue;
        for (const t of this.tuplesOf(l, text, key)) {
          const ek = this.entryKey(l, t, key);
          const hex = ek.toString('hex');
          const owner = this.claims.get(hex)?.key ?? this.engine.getSync(idxKs, ek)?.toString('utf8');
          if (owner === key) continue;
          if (owner !== undefined && this.stillHas(l, t, owner)) throw duplicateValue(l, t, owner, key);
          // Claimed now, synchronously, as a commit claims: from here on no commit can take the value meanwhile.
          this.claims.set(hex, { key, seq: Number.MAX_SAFE_INTEGER });
          repairs.push([hex, key]);
        }
      }
      if (repairs.length === 0) continue;
      const batch = new WriteBatch();
      for (const [hex, key] of repairs) batch.put(idxKs, Buffer.from(hex, 'hex'), Buffer.from(key, 'utf8'));
      try {
        await this.engine.commit(batch);
        l.entries += repairs.length;
      } finally {
        for (const [hex, key] of repairs)
          if (this.claims.get(hex)?.key === key && this.claims.get(hex)?.seq === Number.MAX_SAFE_INTEGER) this.claims.delete(hex);
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

  // ------------------------------------------------------------------ reads

  /**
   * Entity keys of an index's entries, in index order, as of `snapshot`:
   * `eq` = entries whose first value is eq (a byte prefix, also for composites);
   * otherwise the single-column range [lower, upper] (each optional).
   * `limit` stops after that many entries (estimates).
   */
  async *scan(l: LiveIndex, r: EntryRange, snapshot?: Snapshot): AsyncGenerator<string> {
    for await (const keys of this.scanChunks(l, r, snapshot)) yield* keys;
  }

  /** The same keys in chunks (one LevelDB nextv each; the first small, so a LIMIT or a short range costs little). */
  async *scanChunks(l: LiveIndex, r: EntryRange, snapshot?: Snapshot): AsyncGenerator<string[]> {
    if ('eq' in r && l.def.unique && l.def.columns.length === 1) {
      // A single-column unique index is point-addressable by value: one synchronous read, no iterator.
      const owner = this.engine.getSync(idxKs, orderedCodec.encodePrefixed(l.prefix, [r.eq!]), snapshot);
      if (owner !== undefined) yield [owner.toString('utf8')];
      return;
    }
    const { gte, lt } = entryBounds(l, r);
    if (Buffer.compare(gte, lt) >= 0) return;
    // A whole equality range of a non-unique index: from the posting cache when it holds this snapshot's state.
    const cacheable = 'eq' in r && !l.def.unique && r.limit === undefined && r.reverse !== true;
    const epoch = snapshot?.epoch ?? this.engine.writeEpoch;
    const value = cacheable ? gte.toString('hex') : '';
    if (cacheable) {
      const hit = this.postings.get(value, epoch);
      if (hit !== undefined) {
        if (hit.length > 0) yield hit as string[];
        return;
      }
    }
    const opts: ScanOptions = {
      gte,
      lt,
      reverse: r.reverse === true,
      // A non-unique entry's key holds the document key (its value is empty): only a unique index needs values.
      keysOnly: !l.def.unique,
      ...(r.limit !== undefined ? { limit: r.limit } : {}),
      ...(snapshot ? { snapshot } : {}),
    };
    const at = l.prefix.length;
    const columns = l.def.columns.length;
    const keysOf = (chunk: [Buffer, Buffer][]): string[] => {
      const keys: string[] = new Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const [k, v] = chunk[i]!;
        if (k[at] === COMPOUND_TAG) keys[i] = orderedCodec.decode(k.subarray(at + 1))[0] as string;
        else if (l.def.unique) keys[i] = v.toString('utf8');
        else {
          // The entity key is the tuple's last element: skip the values without decoding them.
          let o = at;
          for (let c = 0; c < columns; c++) o = elementEnd(k, o);
          keys[i] = orderedCodec.decode(k.subarray(o))[0] as string;
        }
      }
      return keys;
    };
    // A cacheable range is read up to MAX_KEYS + 1 entries in its first chunk: when that is all of it (the engine then
    // ends the scan without another round trip), it is offered before the consumer sees it — a consumer that stops
    // early (LIMIT) must not keep a complete posting list from the cache.
    const firstRead = r.first !== undefined && r.first >= 1 ? Math.min(Math.ceil(r.first), FIRST_CHUNK) : FIRST_CHUNK;
    // A non-unique index with an in-memory copy that is this snapshot's state: read from it (resident.ts).
    const copy = l.def.unique ? undefined : this.resident.get(l.def.id, epoch);
    if (copy === undefined && !l.def.unique) this.buildResident(l);
    const firstSize = cacheable ? MAX_KEYS + 1 : firstRead;
    const chunks =
      copy !== undefined ? this.copyChunks(l.def.id, copy, opts, firstSize) : this.engine.scanChunks(idxKs, opts, 256, firstSize);
    try {
      if (cacheable) {
        const first = await chunks.next();
        if (first.done) {
          this.postings.offer(value, [], epoch);
          return;
        }
        const keys = keysOf(first.value);
        const second = keys.length <= MAX_KEYS ? await chunks.next() : undefined;
        if (second?.done) {
          this.postings.offer(value, keys, epoch);
          yield keys;
          return;
        }
        yield keys;
        if (second) yield keysOf(second.value as [Buffer, Buffer][]);
      }
      for await (const chunk of chunks) yield keysOf(chunk);
    } finally {
      // A consumer that stopped early: the scan's iterator closes now, not with the database.
      await chunks.return(undefined);
    }
  }

  /**
   * The entries of `opts`' range (keys only, reversed if asked, at most
   * `opts.limit`) from index `id`'s in-memory copy, in chunks as
   * Engine.scanChunks gives them (the first `first` entries, then 256).
   * When a commit changes the copy while the consumer holds a chunk, the
   * rest comes from LevelDB (at `opts.snapshot`).
   */
  private async *copyChunks(id: number, copy: ResidentCopy, opts: ScanOptions, first: number): AsyncGenerator<[Buffer, Buffer][]> {
    const version = copy.version;
    const lo = opts.gte!.toString('latin1');
    const hi = opts.lt!.toString('latin1');
    const reverse = opts.reverse === true;
    const it = reverse ? copy.tree.entriesReversed(hi, undefined, true) : copy.tree.entries(lo);
    let left = opts.limit ?? Number.POSITIVE_INFINITY;
    let size = first;
    let last = '';
    for (;;) {
      const chunk: [Buffer, Buffer][] = [];
      let end = false;
      while (chunk.length < size) {
        const n = left > 0 ? it.next() : undefined;
        const k = n === undefined || n.done ? undefined : n.value[0];
        if (k === undefined || (reverse ? k < lo : k >= hi)) {
          end = true;
          break;
        }
        chunk.push([Buffer.from(k, 'latin1'), EMPTY]);
        left--;
        last = k;
      }
      if (chunk.length > 0) yield chunk;
      if (end) return;
      if (!this.resident.unchanged(id, copy, version)) {
        const after = Buffer.from(last, 'latin1');
        const { gte, lt, ...rest } = opts;
        const bounds = reverse ? { gte, lt: after } : { gt: after, lt };
        yield* this.engine.scanChunks(idxKs, { ...rest, ...bounds, limit: left }, 256, 256);
        return;
      }
      size = 256;
    }
  }

  /**
   * Start making index `l`'s in-memory copy in the background, unless one
   * is kept, being made, or was just tried (resident.ts): a keys-only scan
   * of the whole index at a snapshot, kept only if no commit changed the
   * index since.
   */
  private buildResident(l: LiveIndex): void {
    const id = l.def.id;
    const token = this.resident.claimBuild(id, Date.now());
    if (token === undefined) return;
    void (async () => {
      const started = performance.now();
      let snapshot: Snapshot | undefined;
      try {
        snapshot = this.engine.snapshot();
        const keys: string[] = [];
        const opts: ScanOptions = { gte: l.prefix, lt: prefixUpperBound(l.prefix), keysOnly: true, snapshot };
        for await (const chunk of this.engine.scanChunks(idxKs, opts, 4096, 1024)) {
          for (const [k] of chunk) keys.push(k.toString('latin1'));
          if (keys.length > this.resident.maxEntries) throw new RangeError('too large to keep');
        }
        this.resident.offer(id, token, keys, snapshot.epoch, performance.now() - started);
      } catch {
        // Closed storage, a dropped index, or too large: read from LevelDB; maybe later.
        this.resident.abandon(id);
      } finally {
        snapshot?.close();
      }
    })();
  }

  /**
   * Index-only grouping of a single-column, non-unique index (COLLECT over
   * the indexed attribute, aql/exec/index-collect.ts): the distinct scalar
   * values of the entries in range `r` with how many entries hold each, in
   * index order, as of `snapshot`, read from the keys alone (no document is
   * read). Entries of the documents in `skip` are not counted (the caller
   * reads those itself: documents whose attribute is an array or object,
   * see compoundKeys). Yields the finished runs after each chunk of keys.
   */
  async *valueRuns(l: LiveIndex, r: EntryRange, snapshot: Snapshot, skip: ReadonlySet<string>): AsyncGenerator<[ScalarValue, number][]> {
    // The whole index, nothing skipped: the counts kept by the commits (value-counts.ts) when they are this snapshot's.
    const whole = skip.size === 0 && !('eq' in r) && r.lower === undefined && r.upper === undefined && !l.def.unique;
    const id = l.def.id;
    if (whole) {
      const hit = this.counts.get(id, snapshot.epoch);
      if (hit !== undefined) {
        for (let i = 0; i < hit.length; i += 1024) yield hit.slice(i, i + 1024) as [ScalarValue, number][]; // shared pairs: read, never changed
        return;
      }
    }
    const offer: [string, ScalarValue, number][] | undefined = whole && this.counts.wants(id, snapshot.epoch) ? [] : undefined;
    const { gte, lt } = entryBounds(l, r);
    // Scalar entries only: compound markers sort after them.
    const scalarEnd = Buffer.concat([l.prefix, Buffer.of(COMPOUND_TAG)]);
    const end = Buffer.compare(lt, scalarEnd) > 0 ? scalarEnd : lt;
    if (Buffer.compare(gte, end) >= 0) return;
    const at = l.prefix.length;
    let run: Buffer | undefined;
    let count = 0;
    for await (const chunk of this.engine.scanChunks(idxKs, { gte, lt: end, snapshot, keysOnly: true }, 1024, 256)) {
      const done: [ScalarValue, number][] = [];
      for (const [k] of chunk) {
        const valueEnd = elementEnd(k, at);
        if (skip.size > 0 && skip.has(orderedCodec.decode(k.subarray(valueEnd))[0] as string)) continue;
        if (run !== undefined && run.length === valueEnd - at && run.compare(k, at, valueEnd) === 0) {
          count++;
          continue;
        }
        if (run !== undefined) {
          const value = orderedCodec.decode(run)[0]!;
          done.push([value, count]);
          offer?.push([run.toString('hex'), value, count]);
        }
        run = k.subarray(at, valueEnd);
        count = 1;
      }
      if (done.length > 0) yield done;
    }
    if (run !== undefined) {
      const value = orderedCodec.decode(run)[0]!;
      offer?.push([run.toString('hex'), value, count]);
      yield [[value, count]];
    }
    // Complete (a consumer that stopped early never gets here): kept if nothing changed the index meanwhile.
    if (offer !== undefined) this.counts.offer(id, offer, snapshot.epoch);
  }

  /** Entity keys of the documents holding a compound marker in single-column index `l` (attribute an array or object), as of `snapshot`. */
  async compoundKeys(l: LiveIndex, snapshot: Snapshot): Promise<string[]> {
    const from = Buffer.concat([l.prefix, Buffer.of(COMPOUND_TAG)]);
    const out: string[] = [];
    for await (const chunk of this.engine.scanChunks(idxKs, { gte: from, lt: prefixUpperBound(from), snapshot, keysOnly: true }, 1024, 32))
      for (const [k] of chunk) out.push(orderedCodec.decode(k.subarray(from.length))[0] as string);
    return out;
  }

  /** How many entries index `id` has (at open and after a backfill; compound markers are not entries). */
  async count(id: number): Promise<number> {
    const prefix = idPrefix(id);
    let n = 0;
    for await (const chunk of this.engine.scanChunks(idxKs, { gte: prefix, lt: prefixUpperBound(prefix), keysOnly: true }, 4096, 1024))
      for (const [k] of chunk) if (k[4] !== COMPOUND_TAG) n++;
    return n;
  }

  /**
   * Recovery, once: indexes created before compound markers existed get them
   * (a pass over their tables, before the database serves requests); then
   * COMPOUND_MARKERS_KEY records that every index has them. A crash midway
   * redoes the pass (markers are idempotent puts).
   */
  async addCompoundMarkers(live: readonly LiveIndex[]): Promise<number> {
    if (this.engine.getSync(metaKs, COMPOUND_MARKERS_KEY) !== undefined) return 0;
    let n = 0;
    for (const l of live) {
      if (l.ft || l.paths.length !== 1) continue;
      for await (const rows of this.documents.scan({ table: l.def.table })) {
        const batch = new WriteBatch();
        for (const [key, text] of rows) if (hasCompound(l, JSON.parse(text))) batch.put(idxKs, compoundKey(l, key), EMPTY);
        n += batch.length;
        if (batch.length > 0) await this.engine.commit(batch);
      }
    }
    const done = new WriteBatch();
    done.put(metaKs, COMPOUND_MARKERS_KEY, Buffer.from('1'));
    await this.engine.commit(done);
    return n;
  }

  approximateSize(l: LiveIndex): Promise<number> {
    return this.engine.approximateRange(idxKs, l.prefix);
  }

  /** Remove every entry of index `id` (a drop), in batches. */
  async deleteEntries(id: number): Promise<void> {
    this.postings.clear();
    this.counts.drop(id);
    this.resident.drop(id);
    const prefix = idPrefix(id);
    for (;;) {
      const b = new WriteBatch();
      for await (const [k] of this.engine.scan(idxKs, { gte: prefix, lt: prefixUpperBound(prefix), limit: 10_000 })) b.del(idxKs, k);
      if (b.length === 0) return;
      await this.engine.commit(b);
    }
  }

  // ------------------------------------------------------------------ internals

  private tuplesOf(l: LiveIndex, text: string, key: string): ScalarValue[][] {
    return this.tuplesOfDoc(l, JSON.parse(text), key);
  }

  private tuplesOfDoc(l: LiveIndex, doc: unknown, key: string): ScalarValue[][] {
    const tuples = indexTuples(doc, l.paths, l.def.sparse);
    if (tuples.length > MAX_ENTRIES_PER_DOCUMENT) {
      throw new ThemisError(
        'VALIDATION_FAILED',
        `${key} would produce more than ${MAX_ENTRIES_PER_DOCUMENT} entries in index ${indexName(l.def)} (arrays multiply across columns)`,
      );
    }
    return tuples;
  }

  private entryKey(l: LiveIndex, t: ScalarValue[], entityKey: string): Buffer {
    return orderedCodec.encodePrefixed(l.prefix, t, l.def.unique ? undefined : entityKey);
  }
}
