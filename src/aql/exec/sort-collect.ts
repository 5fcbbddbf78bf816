/**
 * SORT (in governed slices; top-k with a LIMIT; checked index order) and
 * COLLECT (groups, aggregates, INTO, WITH COUNT). Both buffer rows: at most
 * `opts.maxIntermediate`, their bytes held on the governor.
 */
import type { AqlValue } from '../ast.js';
import { BigMap } from '../big-collections.js';
import { Pending, type Holding } from '../governor.js';
import type { Step } from '../planner.js';
import { compare, hashKey, toNumber } from '../values.js';
import { batchesOf, IndexOrderUnusable, limitValue, tooMany, type ExecContext, type Row } from './context.js';

/** What SORT and COLLECT need: evaluation, the governor (deadline, turns, memory), the row cap. */
export type SortCollectContext = Pick<ExecContext, 'opts' | 'gov' | 'eval' | 'tick' | 'turnDue' | 'turn' | 'rowBytes' | 'valueBytes'>;

// ------------------------------------------------------------------ SORT

export async function* sortStep(
  cx: SortCollectContext,
  s: Extract<Step, { kind: 'sort' }>,
  input: AsyncIterable<Row>,
): AsyncGenerator<Row> {
  const held = cx.gov.holding();
  try {
    yield* sortRows(cx, s, input, held);
  } finally {
    held.close();
  }
}

/** SORT's body; `held` accounts for the rows it buffers. */
async function* sortRows(
  cx: SortCollectContext,
  s: Extract<Step, { kind: 'sort' }>,
  input: AsyncIterable<Row>,
  held: Holding,
): AsyncGenerator<Row> {
  let need: number | undefined;
  const keyed: { row: Row; keys: AqlValue[]; n: number; bytes: number }[] = [];
  const prune = async (): Promise<void> => {
    await sorted(cx, keyed, cmp);
    let freed = 0;
    for (let i = need!; i < keyed.length; i++) freed += keyed[i]!.bytes;
    keyed.length = need!;
    held.free(freed);
  };
  let n = 0;
  /** Index order: the rows whose first key is an array or object, and how many of them went into `keyed` (sorted). */
  const compounds: { rows: typeof keyed; taken: number; done: boolean } = { rows: [], taken: 0, done: false };
  const takeCompounds = async (): Promise<void> => {
    compounds.done = true;
    if (compounds.rows.length === 0) return;
    await sorted(cx, compounds.rows, cmp);
    const room = need === undefined ? compounds.rows.length : Math.max(0, need - keyed.length);
    let freed = 0;
    for (let i = room; i < compounds.rows.length; i++) freed += compounds.rows[i]!.bytes;
    held.free(freed);
    compounds.rows.length = Math.min(room, compounds.rows.length);
    keyed.push(...compounds.rows);
    compounds.taken = compounds.rows.length;
  };
  const dirs = s.keys.map((k) => (k.dir === 'DESC' ? -1 : 1));
  const cmp = (a: (typeof keyed)[number], b: (typeof keyed)[number]) => {
    for (let i = 0; i < dirs.length; i++) {
      const c = compare(a.keys[i]!, b.keys[i]!);
      if (c !== 0) return c * dirs[i]!;
    }
    return a.n - b.n;
  };
  for await (const row of input) {
    cx.tick();
    if (s.limit && need === undefined)
      need = limitValue(await cx.eval(s.limit.offset, row), 'offset') + limitValue(await cx.eval(s.limit.count, row), 'count');
    const keys: AqlValue[] = [];
    for (const k of s.keys) {
      const v = cx.eval(k.expr, row);
      keys.push(v instanceof Promise ? await v : v);
    }
    // the row, its sort keys, and the entry that holds them
    const bytes =
      cx.rowBytes(row) +
      64 +
      8 * keys.length +
      keys.reduce<number>((t, k) => t + (k !== null && typeof k === 'object' ? cx.valueBytes(k) : 0), 0);
    held.hold(bytes);
    const entry = { row, keys, n: n++, bytes };
    if (s.byIndex) {
      // The source delivers this order for scalars; check it and stop at the limit. Arrays and objects (AQL orders
      // them after every scalar) come in no order: the index yields them by their compound markers after its scalar
      // entries (before them, descending), and ascending also by their scalar elements; they are sorted here.
      const cur = keys[0]!;
      const desc = s.keys[0]!.dir === 'DESC';
      if (cur !== null && typeof cur === 'object') {
        if (desc && keyed.length > compounds.taken) throw new IndexOrderUnusable('order');
        compounds.rows.push(entry);
        if (compounds.rows.length > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'SORT');
      } else {
        if (desc && !compounds.done) {
          await takeCompounds();
          if (need !== undefined && keyed.length >= need) break;
        }
        keyed.push(entry);
        if (s.keys.length === 1 && keyed.length - compounds.taken > 1) {
          const prev = keyed[keyed.length - 2]!.keys[0]!;
          if (compare(prev, cur) * (desc ? -1 : 1) > 0) throw new IndexOrderUnusable('order');
        }
        if (need !== undefined && keyed.length >= need) break;
      }
    } else {
      keyed.push(entry);
      if (need !== undefined && need < cx.opts.maxIntermediate && keyed.length >= Math.min(2 * need + 1024, cx.opts.maxIntermediate)) {
        // SORT ... LIMIT keeps only the rows that can still make the cut (memory stays bounded).
        await prune();
      } else if (keyed.length > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'SORT');
    }
    if (cx.turnDue) await cx.turn();
  }
  if (s.byIndex) {
    if (!compounds.done) await takeCompounds();
    // Similarity order from a vector source is exact by construction; a range index that ran out may have missed unindexed documents.
    if (need !== undefined && keyed.length < need && !isSimilaritySort(s)) throw new IndexOrderUnusable('short');
    yield* emit(cx, keyed);
    return;
  }
  if (need !== undefined && need < keyed.length) await prune();
  else await sorted(cx, keyed, cmp);
  yield* emit(cx, keyed);
}

/** Sorts in governed slices (one Array.prototype.sort over a million rows holds the loop for seconds). */
async function sorted<T>(cx: Pick<ExecContext, 'gov'>, arr: T[], cmp: (a: T, b: T) => number): Promise<void> {
  const r = cx.gov.sort(arr, cmp);
  if (r instanceof Pending) await r.promise;
}

/** Emits buffered rows; what the rows below build for one is released at the next. */
async function* emit(cx: Pick<ExecContext, 'gov'>, list: { row: Row }[]): AsyncGenerator<Row> {
  const m = cx.gov.mark();
  for (const k of list) {
    cx.gov.reset(m);
    yield k.row;
  }
  cx.gov.reset(m);
}

function isSimilaritySort(s: Extract<Step, { kind: 'sort' }>): boolean {
  const e = s.keys[0]?.expr;
  return e?.type === 'call' && e.name === 'SIMILARITY';
}

// ------------------------------------------------------------------ COLLECT

/** COLLECT: groups, aggregates, INTO; `held` accounts for its groups, their aggregate values and INTO rows. Rows in batches. */
export async function* collectBatches(
  cx: SortCollectContext,
  s: Extract<Step, { kind: 'collect' }>,
  input: AsyncIterable<Row>,
  start: Row,
): AsyncGenerator<Row[]> {
  const held = cx.gov.holding();
  try {
    const op = s.op;
    const table = new CollectTable(cx, op, held);
    let outerRow: Row | undefined;
    for await (const row of input) {
      if (cx.gov.due()) await cx.turn();
      outerRow ??= row;
      const values: AqlValue[] = [];
      for (const g of op.groups) {
        const v = cx.eval(g.expr, row);
        values.push(v instanceof Promise ? await v : v);
      }
      const g = table.group(values);
      for (let i = 0; i < op.aggregates.length; i++) {
        const a = op.aggregates[i]!;
        const v = a.arg ? cx.eval(a.arg, row) : null;
        table.aggregate(g, i, v instanceof Promise ? await v : v);
      }
      if (op.into) {
        let v = op.into.expr ? cx.eval(op.into.expr, row) : rowObject(row, op.into.keep);
        if (v instanceof Promise) v = await v;
        table.into(g, v, op.into.expr ? cx.valueBytes(v) : cx.rowBytes(row));
      }
    }
    const list = await table.sortedGroups();
    yield* batchesOf(groupRows(cx, s, list, outerRow ?? start));
  } finally {
    held.close();
  }
}

/**
 * COLLECT's groups as rows are added (collectRows; column-collect.ts): the
 * group of each row's values, its count, its aggregates' states and INTO
 * values, with their memory held on `held` and the row cap checked.
 */
export class CollectTable {
  private readonly groups = new BigMap<CollectGroup>();
  /** Groups by a single scalar value (one group value: no key string per row). */
  private readonly scalar = new Map<AqlValue, CollectGroup>();
  private readonly single: boolean;
  /** Per aggregate: whether it keeps values (VALUE_AGGREGATES). */
  private readonly keeps: boolean[];
  /** INTO rows and PUSH/UNIQUE values of all groups together: each group alone may stay under the cap. */
  private heldValues = 0;

  constructor(
    private readonly cx: Pick<ExecContext, 'opts' | 'valueBytes' | 'gov'>,
    private readonly op: Extract<Step, { kind: 'collect' }>['op'],
    private readonly held: Holding,
  ) {
    this.single = op.groups.length === 1;
    this.keeps = op.aggregates.map((a) => VALUE_AGGREGATES.has(a.fn));
  }

  get size(): number {
    return this.groups.size + this.scalar.size;
  }

  /** The group of a row with group `values` (counted; `values` is copied when it starts a group, so callers may reuse it). */
  group(values: AqlValue[]): CollectGroup {
    const v0 = values[0];
    const scalar = values.length === 0 || (this.single && (v0 === null || typeof v0 !== 'object'));
    const h = scalar ? '' : this.single ? hashKey(v0) : values.map(hashKey).join('\u0000');
    let g = scalar ? this.scalar.get(v0!) : this.groups.get(h);
    if (!g) {
      // the group object, its arrays and aggregate states, the map entry and its key
      this.held.hold(
        256 +
          2 * (scalar ? (typeof v0 === 'string' ? v0.length + 1 : 8) : h.length) +
          values.reduce<number>((t, v) => t + this.cx.valueBytes(v), 0),
      );
      g = { values: values.slice(), count: 0, agg: this.op.aggregates.map(() => newAgg()), into: [] };
      if (scalar) this.scalar.set(v0!, g);
      else this.groups.set(h, g);
      if (this.size > this.cx.opts.maxIntermediate) throw tooMany(this.cx.opts.maxIntermediate, 'COLLECT');
    }
    g.count++;
    return g;
  }

  /** Aggregate `i` of group `g` takes the row's value `v`. */
  aggregate(g: CollectGroup, i: number, v: AqlValue): void {
    const st = g.agg[i]!;
    if (!this.keeps[i]) {
      addAgg(st, this.op.aggregates[i]!.fn, v);
      return;
    }
    const before = st.values.length;
    this.held.hold(48 + this.cx.valueBytes(v));
    addAgg(st, this.op.aggregates[i]!.fn, v);
    this.heldValues += st.values.length - before;
    if (this.heldValues > this.cx.opts.maxIntermediate) throw tooMany(this.cx.opts.maxIntermediate, 'COLLECT AGGREGATE');
  }

  /** Group `g`'s INTO value of a row (`bytes`: its estimated size). */
  into(g: CollectGroup, v: AqlValue, bytes: number): void {
    this.held.hold(8 + bytes);
    g.into.push(v);
    if (++this.heldValues > this.cx.opts.maxIntermediate) throw tooMany(this.cx.opts.maxIntermediate, 'COLLECT ... INTO');
  }

  /** The groups in the order of their values (ArangoDB sorts COLLECT's output by them). */
  async sortedGroups(): Promise<CollectGroup[]> {
    // `COLLECT WITH COUNT INTO n` / aggregates without groups over no rows give one row.
    if (this.size === 0 && this.op.groups.length === 0)
      return [{ values: [], count: 0, agg: this.op.aggregates.map(() => newAgg()), into: [] }];
    const list = [...this.scalar.values(), ...this.groups.values()];
    await sorted(this.cx, list, (a, b) => {
      for (let i = 0; i < a.values.length; i++) {
        const c = compare(a.values[i]!, b.values[i]!);
        if (c !== 0) return c;
      }
      return 0;
    });
    return list;
  }
}

/** One COLLECT group: its values, how many rows it has, its aggregates' states and its INTO values. */
export interface CollectGroup {
  values: AqlValue[];
  count: number;
  agg: AggState[];
  into: AqlValue[];
}

/**
 * COLLECT's output: a row per group, in `list`'s order. Variables of enclosing levels stay visible (taken from
 * `from`: the first input row, or the enclosing row when none came); the loop's own variables do not.
 * Synchronous: a caller's `for … of` loop yields the rows without an async generator layer per row.
 */
export function* groupRows(
  cx: Pick<ExecContext, 'gov'>,
  s: Extract<Step, { kind: 'collect' }>,
  list: readonly CollectGroup[],
  from: Row,
): Generator<Row> {
  const rowOf = groupRowMaker(s, from);
  const m = cx.gov.mark();
  for (const g of list) {
    cx.gov.reset(m);
    yield rowOf(g.values, g.count, g.agg, g.into);
  }
  cx.gov.reset(m);
}

/**
 * COLLECT's output row of one group (groupRows; index-only COLLECT streams
 * its groups through it too): the group values, each aggregate's result
 * (`agg` a number: every aggregate is that count, COUNT/LENGTH of an
 * index-only COLLECT), the INTO values and the count.
 */
export function groupRowMaker(
  s: Extract<Step, { kind: 'collect' }>,
  from: Row,
): (values: readonly AqlValue[], count: number, agg: readonly AggState[] | number, into?: AqlValue[]) => Row {
  const op = s.op;
  const base = Object.create(null) as Row;
  for (const v of s.keep) if (v in from) base[v] = from[v]!;
  return (values, count, agg, into) => {
    const r = Object.create(base) as Row;
    for (let i = 0; i < op.groups.length; i++) r[op.groups[i]!.var] = values[i]!;
    for (let i = 0; i < op.aggregates.length; i++) {
      const a = op.aggregates[i]!;
      r[a.var] = typeof agg === 'number' ? agg : aggResult(agg[i]!, a.fn);
    }
    if (op.into) r[op.into.var] = into ?? [];
    if (op.count) r[op.count] = count;
    return r;
  };
}

/** COLLECT ... INTO g without an expression: every variable of the row (`KEEP a, b`: only those). */
function rowObject(row: Row, keep?: string[]): AqlValue {
  const out: Record<string, AqlValue> = {};
  if (keep) {
    for (const k of keep) if (row[k] !== undefined) out[k] = row[k]!;
    return out;
  }
  // (`$upsert#n`: the lookup result of an UPSERT, internal)
  for (const k in row) if (!k.includes('#')) out[k] = row[k]!;
  return out;
}

// ------------------------------------------------------------------ aggregates (COLLECT and WINDOW)

export interface AggState {
  n: number;
  sum: number;
  min: AqlValue | undefined;
  max: AqlValue | undefined;
  values: AqlValue[];
  /** UNIQUE and the like: the hash keys of the values kept (made at the first value). */
  distinct: Set<string> | undefined;
  /** VARIANCE / STDDEV (Welford: running mean and sum of squared deviations) and BIT_*: a value they cannot take makes the result null. */
  mean: number;
  m2: number;
  bits: number | undefined;
  invalid: boolean;
}

export function newAgg(): AggState {
  return { n: 0, sum: 0, min: undefined, max: undefined, values: [], distinct: undefined, mean: 0, m2: 0, bits: undefined, invalid: false };
}

/** The aggregates that keep every (distinct) value: their values count against the row cap and the memory budget. */
export const VALUE_AGGREGATES = new Set(['PUSH', 'UNIQUE', 'SORTED_UNIQUE', 'COUNT_DISTINCT', 'COUNT_UNIQUE']);

export function addAgg(s: AggState, fn: string, v: AqlValue): void {
  switch (fn) {
    case 'COUNT':
    case 'LENGTH':
      s.n++;
      return;
    case 'SUM':
    case 'AVG':
    case 'AVERAGE':
      if (v === null) return;
      s.sum += toNumber(v);
      s.n++;
      return;
    // ArangoDB's aggregators: null is skipped, any other non-number makes the result null
    case 'VARIANCE_POPULATION':
    case 'VARIANCE':
    case 'VARIANCE_SAMPLE':
    case 'STDDEV_POPULATION':
    case 'STDDEV':
    case 'STDDEV_SAMPLE': {
      if (v === null || s.invalid) return;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        s.invalid = true;
        return;
      }
      s.n++;
      const d = v - s.mean;
      s.mean += d / s.n;
      s.m2 += d * (v - s.mean);
      return;
    }
    case 'BIT_AND':
    case 'BIT_OR':
    case 'BIT_XOR': {
      if (v === null || s.invalid) return;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        s.invalid = true;
        return;
      }
      if (s.bits === undefined) s.bits = v;
      else if (fn === 'BIT_AND') s.bits = (s.bits & v) >>> 0;
      else if (fn === 'BIT_OR') s.bits = (s.bits | v) >>> 0;
      else s.bits = (s.bits ^ v) >>> 0;
      return;
    }
    case 'MIN':
      if (v !== null && (s.min === undefined || compare(v, s.min) < 0)) s.min = v;
      return;
    case 'MAX':
      if (v !== null && (s.max === undefined || compare(v, s.max) > 0)) s.max = v;
      return;
    case 'UNIQUE':
    case 'SORTED_UNIQUE':
    case 'COUNT_DISTINCT':
    case 'COUNT_UNIQUE': {
      if (v === null && fn !== 'UNIQUE' && fn !== 'SORTED_UNIQUE') return;
      const h = hashKey(v);
      const seen = (s.distinct ??= new Set());
      if (!seen.has(h)) {
        seen.add(h);
        s.values.push(v);
      }
      return;
    }
    case 'PUSH':
      s.values.push(v);
      return;
  }
}

export function aggResult(s: AggState, fn: string): AqlValue {
  switch (fn) {
    case 'COUNT':
    case 'LENGTH':
      return s.n;
    case 'SUM':
      return s.sum;
    case 'AVG':
    case 'AVERAGE':
      return s.n === 0 ? null : s.sum / s.n;
    case 'VARIANCE_POPULATION':
    case 'VARIANCE':
    case 'STDDEV_POPULATION':
    case 'STDDEV': {
      if (s.invalid || s.n === 0) return null;
      const v = s.m2 / s.n;
      return fn.startsWith('STDDEV') ? Math.sqrt(v) : v;
    }
    case 'VARIANCE_SAMPLE':
    case 'STDDEV_SAMPLE': {
      if (s.invalid || s.n < 2) return null;
      const v = s.m2 / (s.n - 1);
      return fn === 'STDDEV_SAMPLE' ? Math.sqrt(v) : v;
    }
    case 'BIT_AND':
    case 'BIT_OR':
    case 'BIT_XOR':
      return s.invalid ? null : (s.bits ?? null);
    case 'SORTED_UNIQUE':
      return s.values.slice().sort(compare);
    case 'MIN':
      return s.min ?? null;
    case 'MAX':
      return s.max ?? null;
    case 'UNIQUE':
    case 'PUSH':
      return s.values;
    case 'COUNT_DISTINCT':
    case 'COUNT_UNIQUE':
      return s.values.length;
    default:
      return null;
  }
}
