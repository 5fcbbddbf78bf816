/**
 * Resident columns: the values of some attribute paths (`u.city`,
 * `u.address.zip`) of every document of a table, held in memory as one
 * array per path, so a full-scan `COLLECT ... AGGREGATE` (aql/exec/
 * column-collect.ts) reads no LevelDB and parses no JSON: ~0.2 µs per
 * document instead of ~8 µs (docs/architecture.md, "Read path").
 *
 * A copy holds, per table, the documents' entity keys in LevelDB order (a
 * B+ tree from the key's UTF-8 bytes as a latin1 string to a slot), the
 * key of each slot, and one value array per path indexed by slot (a
 * delete frees its slot for a later insert; iteration goes by key order,
 * so rows come in the order a full scan reads them and order-dependent
 * aggregates such as PUSH, or a floating-point SUM, give the same answer).
 *
 * A copy is made by a query that scans the table anyway (a COLLECT the
 * copy cannot answer yet): the scan collects the values as it goes and
 * offers them at its end. From then on every commit that changes the
 * table's documents applies its changes once its write has completed. The
 * exactness rule is the resident indexes' (index/resident.ts), per table:
 *
 * - A commit changing a table's documents marks the table *pending* in
 *   its write phase, with the new values of the copy's paths; when the
 *   write has completed (`applied`) they are applied and the table's *last
 *   change* is the engine's write epoch then; a failed write only clears
 *   the mark.
 * - A copy serves a snapshot (of write epoch `epoch`) when nothing is
 *   pending and the last change is no later than `epoch`; a reader that
 *   stops between chunks checks that the copy was not changed meanwhile
 *   (`version`), else it reads the rest from LevelDB at its snapshot.
 * - A scan's values are kept only if no commit changed the table since the
 *   scan's snapshot; otherwise the next scans do not collect until ten
 *   times the scan's duration (at least a second) has passed.
 * - A copy no query has read for ten minutes is dropped by the next commit
 *   that changes its table (its writes stop paying for it).
 *
 * Values that are arrays or objects are deep-frozen copies (queries share
 * them); equal strings a scan reads are one string object per column.
 * Memory: a copy counts documents × (paths + 1) values (the key is one)
 * against `maxValues` (THEMIS_RESIDENT_COLUMN_VALUES, default 2,000,000);
 * a table that does not fit is not kept, or dropped when commits make it
 * grow past the bound. Measured on V8 (100,000 documents): ~80 bytes per
 * document for its key, slot and tree entry, ~8 more per small number,
 * ~20 per string of 10,000 distinct values, ~32 per distinct short string
 * (so the default bound is ~50-100 MB).
 */
import { createRequire } from 'node:module';
import type * as SortedBtree from 'sorted-btree';
import { deepFreeze } from '../documents/index.js';
import { CommitDiffs, ScanClaims } from '../storage/epoch-cache.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';

// A CommonJS module whose class is its `default` export (required as such: ESM interop differs between Node and vitest).
const BTree = (createRequire(import.meta.url)('sorted-btree') as typeof SortedBtree.default).default;
type Tree = InstanceType<typeof BTree<string, number>>;

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Most paths one table's copy holds (a query needing others replaces the copy with the union, up to this many). */
export const MAX_PATHS = 16;

/** Distinct strings per column a build shares (beyond, further strings are kept as they come). */
const MAX_INTERNED = 100_000;

/** The name of an attribute path (unambiguous for any attribute names). */
export const pathName = (path: readonly string[]): string => JSON.stringify(path);

/**
 * The value of attribute path `path` in `doc` as AQL's `doc.a.b` gives it:
 * an own attribute of an object at every step, else null.
 */
export function valueAt(doc: unknown, path: readonly string[]): unknown {
  let v = doc;
  for (const name of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    const x = (v as Record<string, unknown>)[name];
    if (x === undefined || typeof x === 'function' || (name === '__proto__' && !Object.hasOwn(v, name))) return null;
    v = x;
  }
  return v;
}

/** What a column holds of a document's value: scalars as they are, arrays and objects as deep-frozen copies. */
export function residentValue(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? deepFreeze(structuredClone(v)) : v;
}

/** An entity key as a string whose code-unit order is LevelDB's order of the key's UTF-8 bytes. */
export function orderKey(key: string): string {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return Buffer.from(key, 'utf8').toString('latin1');
  return key;
}

/** One table's columns. Read it between awaits only (`version` counts the commits applied since). */
export interface ColumnCopy {
  /** The paths held (pathName of each), in column order. */
  readonly names: readonly string[];
  readonly paths: readonly (readonly string[])[];
  /** orderKey(entity key) -> slot, in LevelDB order. */
  readonly order: Tree;
  /** Slot -> entity key (undefined: free). */
  readonly keys: (string | undefined)[];
  /** Per path, slot -> value. */
  readonly cols: unknown[][];
  readonly free: number[];
  version: number;
  /** When a query last read it (ms): a copy unread for `idleMs` is dropped by the next commit that would change it. */
  lastRead: number;
  /** The slots in key order (made when first asked for since the last insert or delete). */
  slotOrder: number[] | undefined;
  /** Per column, its group codes once a query asked for them (null: the column holds an array or object). */
  codes?: (GroupCodes | null | undefined)[];
}

/**
 * A column's distinct values numbered (its dictionary) and each slot's
 * number: a COLLECT grouping by the column counts and sums into arrays
 * indexed by number (aql/exec/column-collect.ts) instead of looking each
 * row's value up in a map. Only for columns of scalars (equal arrays or
 * objects are different values to a map). Made when first asked for, then
 * kept up to date by every change the copy gets; 4 bytes per document.
 * Values no document holds any more keep their number until the codes are
 * made again (when the dictionary outgrows twice the documents).
 */
export interface GroupCodes {
  /** Slot -> number of its value (-1: a free slot). */
  codes: Int32Array;
  /** Number -> value. */
  readonly values: unknown[];
  readonly numbers: Map<unknown, number>;
}

/** The group codes of column `col` of `copy` (made now if need be), or undefined when it holds (or held) an array or object. */
export function groupCodes(copy: ColumnCopy, col: number): GroupCodes | undefined {
  const all = (copy.codes ??= []);
  const have = all[col];
  if (have !== undefined) return have ?? undefined;
  const column = copy.cols[col]!;
  const g: GroupCodes = { codes: new Int32Array(Math.max(16, copy.keys.length)).fill(-1), values: [], numbers: new Map() };
  for (let s = 0; s < copy.keys.length; s++) {
    if (copy.keys[s] === undefined) continue;
    if (!setCode(g, s, column[s])) {
      all[col] = null;
      return undefined;
    }
  }
  all[col] = g;
  return g;
}

/** Slot `s` now holds `v`: false (nothing changed) when `v` is an array or object. */
function setCode(g: GroupCodes, s: number, v: unknown): boolean {
  if (v !== null && typeof v === 'object') return false;
  let n = g.numbers.get(v);
  if (n === undefined) {
    n = g.values.length;
    g.values.push(v);
    g.numbers.set(v, n);
  }
  if (s >= g.codes.length) {
    const grown = new Int32Array(Math.max(2 * g.codes.length, s + 1)).fill(-1);
    grown.set(g.codes);
    g.codes = grown;
  }
  g.codes[s] = n;
  return true;
}

/** The slots of `copy` in key order: the order a full scan reads its documents. */
export function slotsInOrder(copy: ColumnCopy): number[] {
  return (copy.slotOrder ??= copy.order.valuesArray());
}

/** The columns a scan collects for an offer (ColumnBuild.add per document, in key order). */
export class ColumnBuild {
  readonly order: Tree = new BTree<string, number>(undefined, byteOrder);
  readonly keys: string[] = [];
  readonly cols: unknown[][];
  /** Per column, one string object per distinct string value (less memory; equal group keys are one object). */
  private readonly strings: Map<string, string>[];

  constructor(
    /** The token of ResidentColumns.claimBuild. */
    readonly token: number,
    readonly names: readonly string[],
    readonly paths: readonly (readonly string[])[],
    /** The most documents it may hold (beyond: `full`, and nothing more is added). */
    readonly maxDocs: number,
  ) {
    this.cols = paths.map(() => []);
    this.strings = paths.map(() => new Map());
  }

  full = false;

  /** Document `key` (after every key added before) with parsed `doc`. */
  add(key: string, doc: unknown): void {
    if (this.full) return;
    if (this.keys.length >= this.maxDocs) {
      this.full = true;
      return;
    }
    const slot = this.keys.length;
    this.keys.push(key);
    for (let i = 0; i < this.paths.length; i++) {
      let v = residentValue(valueAt(doc, this.paths[i]!));
      if (typeof v === 'string') {
        const seen = this.strings[i]!;
        const s = seen.get(v);
        if (s === undefined) {
          if (seen.size < MAX_INTERNED) seen.set(v, v);
        } else v = s;
      }
      this.cols[i]!.push(v);
    }
    this.order.set(orderKey(key), slot);
  }
}

/** One commit's changes to one table's documents: the new values of the copy's paths (null: deleted). */
interface Diff {
  id: string;
  /** The copy the values were taken for (they apply to no later copy of the same table). */
  copy: ColumnCopy | undefined;
  ops: [key: string, values: unknown[] | null][];
}

export class ResidentColumns {
  private readonly copies = new Map<string, ColumnCopy>();
  private readonly diffs = new CommitDiffs<Diff, string>();
  /** Scans collecting values, per table. */
  private readonly scans = new ScanClaims<string>();
  private total = 0;
  hits = 0;
  misses = 0;
  builds = 0;
  /** Copies dropped because no query read them for `idleMs`. */
  idleDrops = 0;

  private readonly idleMs: number;
  private readonly now: () => number;

  /**
   * `maxValues`: the most values (documents × paths) all copies may hold
   * (THEMIS_RESIDENT_COLUMN_VALUES; 0: no copies are made); `epoch`: the
   * engine's write epoch (Engine.writeEpoch). `idleMs` (default 10 minutes):
   * a copy no query has read for that long is dropped by the next commit
   * that changes its table, so a table no longer aggregated stops costing
   * its writes the values and its memory (the next such query collects
   * them again); `now`: the clock in ms (tests).
   */
  constructor(
    readonly maxValues: number,
    private readonly epoch: () => number,
    opts: { idleMs?: number; now?: () => number } = {},
  ) {
    this.idleMs = opts.idleMs ?? 600_000;
    this.now = opts.now ?? Date.now;
  }

  /** `table`'s copy if it holds every path of `names` and is the state of a snapshot of `epoch` (read it, do not change it). */
  get(table: string, names: readonly string[], epoch: number): ColumnCopy | undefined {
    const c = this.copies.get(table);
    if (c === undefined || !this.diffs.marks.current(table, epoch) || !names.every((n) => c.names.includes(n))) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    c.lastRead = this.now();
    return c;
  }

  /** Whether `copy` is still `table`'s copy, unchanged since it was at `version`. */
  unchanged(table: string, copy: ColumnCopy, version: number): boolean {
    return this.copies.get(table) === copy && copy.version === version;
  }

  /**
   * Whether a scan of `table` that needs `names` should collect a copy now
   * (none that holds them, none under way, not retrying yet): then the
   * build, holding `names` and those of the current copy (up to
   * MAX_PATHS); it counts as under way until `offer` or `abandon`.
   */
  claimBuild(table: string, paths: readonly (readonly string[])[], now: number): ColumnBuild | undefined {
    if (this.maxValues === 0) return undefined;
    const byName = new Map<string, readonly string[]>();
    for (const p of paths) byName.set(pathName(p), p);
    if (byName.size === 0 || byName.size > MAX_PATHS) return undefined;
    const old = this.copies.get(table);
    if (old !== undefined) {
      if ([...byName.keys()].every((n) => old.names.includes(n))) return undefined;
      for (let i = 0; i < old.paths.length && byName.size < MAX_PATHS; i++) byName.set(old.names[i]!, old.paths[i]!);
    }
    const token = this.scans.claim(table, now);
    if (token === undefined) return undefined;
    const room = this.maxValues - this.total + (old === undefined ? 0 : counted(old));
    return new ColumnBuild(token, [...byName.keys()], [...byName.values()], Math.floor(room / (byName.size + 1)));
  }

  /** A complete scan of `table` at a snapshot of `epoch` collected `b` in `ms`: kept if that is still the current state and it fits. */
  offer(table: string, b: ColumnBuild, epoch: number, ms: number): boolean {
    const old = this.copies.get(table);
    const values = b.keys.length * (b.paths.length + 1);
    if (
      b.full ||
      !this.scans.valid(table, b.token) ||
      !this.diffs.marks.current(table, epoch) ||
      this.total - (old === undefined ? 0 : counted(old)) + values > this.maxValues
    ) {
      this.scans.refused(table, ms, this.now());
      return false;
    }
    if (old !== undefined) this.total -= counted(old);
    this.copies.set(table, {
      names: b.names,
      paths: b.paths,
      order: b.order,
      keys: b.keys,
      cols: b.cols,
      free: [],
      version: 0,
      lastRead: this.now(),
      slotOrder: undefined,
    });
    this.total += values;
    this.scans.kept(table);
    this.builds++;
    return true;
  }

  /** The scan of `table` did not finish (an error, the query stopped): another may collect later. */
  abandon(table: string): void {
    this.scans.abandoned(table, this.now());
  }

  /** Forget `table`'s copy. */
  drop(table: string): void {
    this.scans.invalidate(table);
    const c = this.copies.get(table);
    if (c === undefined) return;
    this.copies.delete(table);
    this.total -= counted(c);
  }

  /** Values counted in all copies (documents × (paths + 1): a document's key counts as one). */
  get values(): number {
    return this.total;
  }

  /** Tables with a copy. */
  get tables(): number {
    return this.copies.size;
  }

  /** The commit participant: every commit marks the tables it changes; those with a copy get its new values once written. */
  participant(): CommitParticipant {
    const seqOf = (info: CommitInfo) => info.changes[info.changes.length - 1]!.seq;
    return {
      name: 'columns',
      write: (info) => this.writing(seqOf(info), info),
      applied: (info) => this.ended(seqOf(info), true),
      aborted: (info) => this.ended(seqOf(info), false),
    };
  }

  private writing(seq: number, info: CommitInfo): void {
    const byTable = new Map<string, Diff>();
    for (const c of info.changes) {
      let d = byTable.get(c.table);
      if (d === undefined) {
        let copy = this.copies.get(c.table);
        if (copy !== undefined && this.now() - copy.lastRead > this.idleMs) {
          this.drop(c.table);
          this.idleDrops++;
          copy = undefined;
        }
        d = { id: c.table, copy, ops: [] };
        byTable.set(c.table, d);
      }
      const copy = d.copy;
      if (copy === undefined) continue;
      const doc = c.op === 'delete' ? undefined : c.doc;
      d.ops.push([c.key, doc === undefined ? null : copy.paths.map((p) => residentValue(valueAt(doc, p)))]);
    }
    for (const d of byTable.values()) this.diffs.add(seq, d);
  }

  private ended(seq: number, written: boolean): void {
    for (const { id, copy, ops } of this.diffs.end(seq, written, this.epoch())) {
      if (copy === undefined || this.copies.get(id) !== copy) continue;
      const before = counted(copy);
      for (const [key, values] of ops) apply(copy, key, values);
      copy.version++;
      this.total += counted(copy) - before;
      if (this.total > this.maxValues) this.drop(id);
    }
  }
}

/** What a copy counts against the bound: a value per path and one for the key, per document. */
const counted = (c: ColumnCopy): number => c.order.size * (c.paths.length + 1);

/** Document `key` of `copy` now has `values` (null: deleted). */
function apply(copy: ColumnCopy, key: string, values: unknown[] | null): void {
  const ok = orderKey(key);
  const slot = copy.order.get(ok);
  const cols = copy.cols;
  const codes = copy.codes;
  if (values === null) {
    if (slot === undefined) return;
    copy.order.delete(ok);
    copy.slotOrder = undefined;
    copy.keys[slot] = undefined;
    for (const col of cols) col[slot] = null;
    if (codes) for (const g of codes) if (g) g.codes[slot] = -1;
    copy.free.push(slot);
    return;
  }
  const s = slot ?? copy.free.pop() ?? copy.keys.length;
  for (let i = 0; i < cols.length; i++) cols[i]![s] = values[i];
  if (codes) {
    for (let i = 0; i < codes.length; i++) {
      const g = codes[i];
      if (!g) continue;
      // An array or object: no codes for this column (of this copy) any more.
      if (!setCode(g, s, values[i])) codes[i] = null;
      // Mostly values no document holds: made again when next asked for.
      else if (g.values.length > 2 * copy.order.size + 1024) codes[i] = undefined;
    }
  }
  if (slot === undefined) {
    copy.keys[s] = key;
    copy.order.set(ok, s);
    copy.slotOrder = undefined;
  }
}
