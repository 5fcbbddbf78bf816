/**
 * Columnar COLLECT (planner: columnCollect): `FOR v IN t [FILTER …] COLLECT
 * … [AGGREGATE …] [WITH COUNT INTO n]` over a full scan, where the query
 * reads the documents only through some attribute paths. The rows are
 * those paths' values, in the full scan's (key) order:
 *
 * - from the table's in-memory columns (columns/resident-columns.ts) when
 *   they hold the paths and are the state of the query's snapshot: no
 *   LevelDB read, no JSON parse, no row object per document unless a
 *   filter or an expression needs one (then a projection `{a: {b: …}}` of
 *   the paths stands in for the document);
 * - else from one scan of the documents at the snapshot, each parsed once
 *   (no `_key`/`_id`, no stored text, no async step per row), which also
 *   collects the columns for later queries when there is room
 *   (ResidentColumns.claimBuild / offer).
 *
 * A reader that pauses (the governor's turns) while a commit changes the
 * columns reads the rest from LevelDB at its snapshot. Inside a transaction
 * that has written to the table the ordinary FOR and COLLECT run (the
 * columns do not hold its buffered writes).
 */
import { parseEntityKey } from '../../documents/index.js';
import { type ColumnBuild, type ColumnCopy, groupCodes, pathName, slotsInOrder, valueAt } from '../../columns/index.js';
import type { AqlValue } from '../ast.js';
import type { ColumnPlan, Step } from '../planner.js';
import { Pending, type Holding } from '../governor.js';
import { compare, toNumber, truthy } from '../values.js';
import { batchesOf, extend, tooMany, type Row } from './context.js';
import { CollectTable, collectBatches, groupRowMaker, groupRows, newAgg, type SortCollectContext } from './sort-collect.js';
import { forStep, overlay, type SourceContext } from './sources.js';

type ForStep = Extract<Step, { kind: 'for' }>;
type CollectStep = Extract<Step, { kind: 'collect' }>;

/** Rows between looks at the governor (its deadline, its turns). */
const CHUNK = 1024;

/** `{a: {b: value}}` for the paths' values: the document as far as the query looks at it. */
function projection(paths: readonly (readonly string[])[], values: readonly AqlValue[]): AqlValue {
  const doc: Record<string, AqlValue> = {};
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i]!;
    let o = doc;
    for (let j = 0; j < p.length - 1; j++) {
      const name = p[j]!;
      let next = Object.hasOwn(o, name) ? o[name] : undefined;
      if (next === undefined) {
        next = {};
        Object.defineProperty(o, name, { value: next, enumerable: true, writable: true, configurable: true });
      }
      o = next as Record<string, AqlValue>;
    }
    Object.defineProperty(o, p[p.length - 1]!, { value: values[i]!, enumerable: true, writable: true, configurable: true });
  }
  return doc;
}

/** Adds one row (the values of the plan's paths) to the groups; a promise only when an evaluation suspended. */
function rowAdder(cx: SourceContext & SortCollectContext, f: ForStep, c: CollectStep, groups: CollectTable, start: Row) {
  const plan: ColumnPlan = c.columnar!;
  const op = c.op;
  const gv = new Array<AqlValue>(plan.groups.length);
  if (!plan.projection) {
    return (vals: readonly AqlValue[]): void => {
      for (let i = 0; i < gv.length; i++) gv[i] = vals[plan.groups[i]!]!;
      const g = groups.group(gv);
      for (let i = 0; i < plan.aggregates.length; i++) {
        const k = plan.aggregates[i]!;
        groups.aggregate(g, i, k === -2 ? null : vals[k]!);
      }
    };
  }
  return async (vals: readonly AqlValue[]): Promise<void> => {
    const row = extend(start, f.var, projection(plan.paths, vals));
    for (const e of f.filters) {
      let ok = cx.eval(e, row);
      if (ok instanceof Promise) ok = await ok;
      if (!truthy(ok)) return;
    }
    for (let i = 0; i < gv.length; i++) {
      const k = plan.groups[i]!;
      let v = k >= 0 ? vals[k]! : cx.eval(op.groups[i]!.expr, row);
      if (v instanceof Promise) v = await v;
      gv[i] = v;
    }
    const g = groups.group(gv);
    for (let i = 0; i < plan.aggregates.length; i++) {
      const k = plan.aggregates[i]!;
      let v = k === -2 ? null : k >= 0 ? vals[k]! : cx.eval(op.aggregates[i]!.arg!, row);
      if (v instanceof Promise) v = await v;
      groups.aggregate(g, i, v);
    }
  };
}

/** The FOR and its COLLECT from the table's resident columns (or the documents), the rows in batches. */
export async function* columnCollectBatches(
  cx: SourceContext & SortCollectContext,
  f: ForStep,
  c: CollectStep,
  input: AsyncIterable<Row>,
  start: Row,
): AsyncGenerator<Row[]> {
  const plan = c.columnar!;
  const table = (f.source as { table: string }).table;
  if (overlay(cx, table)) {
    yield* collectBatches(cx, c, forStep(cx, f, input), start);
    return;
  }
  const held = cx.gov.holding();
  try {
    // The columns, if they hold the paths and are the state of the query's snapshot; `at`: the copy's column of each path.
    const names = plan.paths.map(pathName);
    let copy = cx.deps.columns?.get(table, names, cx.snapshot.epoch);
    const at = copy === undefined ? [] : names.map((n) => copy!.names.indexOf(n));
    if (copy !== undefined) {
      const version = copy.version;
      const coded = await fromCodes(cx, table, copy, at, c, start, held);
      if (coded !== undefined) {
        yield* batchesOf(coded);
        return;
      }
      // Changed while the coded passes paused: no longer the snapshot's state, the documents are read instead.
      if (!cx.deps.columns!.unchanged(table, copy, version)) copy = undefined;
    }
    const groups = new CollectTable(cx, c.op, held);
    const add = rowAdder(cx, f, c, groups, start);
    // The FOR is its level's first step: its one input row is `start`.
    const after = copy === undefined ? undefined : await fromColumns(cx, table, copy, at, add);
    if (after !== null) await fromDocuments(cx, table, plan, add, after);
    yield* batchesOf(groupRows(cx, c, await groups.sortedGroups(), start));
  } finally {
    held.close();
  }
}

type Add = (vals: readonly AqlValue[]) => void | Promise<void>;

/** The aggregates `fromCodes` computes: row counts, numeric sums (AVG from both), the least and greatest number. */
const CODED = new Set(['COUNT', 'LENGTH', 'SUM', 'AVG', 'AVERAGE', 'MIN', 'MAX']);

/** One aggregate's arrays, indexed by group number (undefined: COUNT/LENGTH, the group's row count). */
type CodedAcc =
  | { kind: 'sum'; sum: Float64Array; n: Float64Array }
  | { kind: 'min' | 'max'; best: Float64Array; seen: Uint8Array }
  | undefined;

/**
 * `COLLECT g = v.a [AGGREGATE s = SUM(v.b), m = MAX(v.c), …] [WITH COUNT INTO n]`
 * without filters, from the columns and the group codes of `a` (ResidentColumns'
 * groupCodes): per row a number read from an Int32Array and additions into
 * arrays indexed by it — no map lookup, no group object or aggregate state
 * per group (a query's groups would outlive a young-generation GC and be
 * promoted: ~4 MB per query over 10,000 groups, a full GC every second
 * under a steady load of such queries). The rows are read in key order for
 * each aggregate, so every group's floating-point sum adds its values in
 * the order of the other paths; MIN and MAX keep a number per group (a
 * value of another type: undefined, the per-row path orders across types).
 * The groups come out as rows, in AQL order of their values.
 * Undefined when it does not apply, or when the columns changed while it
 * paused (nothing produced then).
 */
async function fromCodes(
  cx: SourceContext & SortCollectContext,
  table: string,
  copy: ColumnCopy,
  at: readonly number[],
  c: CollectStep,
  start: Row,
  held: Holding,
): Promise<Generator<Row> | undefined> {
  const plan = c.columnar!;
  const op = c.op;
  const columns = cx.deps.columns!;
  if (plan.projection || plan.groups.length !== 1 || !op.aggregates.every((a) => CODED.has(a.fn))) return undefined;
  const gc = groupCodes(copy, at[plan.groups[0]!]!);
  if (gc === undefined) return undefined;
  const version = copy.version;
  const codes = gc.codes;
  const slots = slotsInOrder(copy);
  const n = gc.values.length;
  const accs: CodedAcc[] = op.aggregates.map((a) =>
    a.fn === 'COUNT' || a.fn === 'LENGTH'
      ? undefined
      : a.fn === 'MIN' || a.fn === 'MAX'
        ? { kind: a.fn === 'MIN' ? 'min' : 'max', best: new Float64Array(n), seen: new Uint8Array(n) }
        : { kind: 'sum', sum: new Float64Array(n), n: new Float64Array(n) },
  );
  held.hold(8 * n * (1 + 2 * accs.filter((x) => x !== undefined).length));
  const counts = new Float64Array(n);
  // The slots in key order, 16 chunks of rows at a time, the governor's turn between: false when `pass` gives up on
  // a range (returns false) or the columns changed during a turn.
  const inKeyOrder = async (pass: (from: number, to: number) => boolean | undefined): Promise<boolean> => {
    for (let i = 0; i < slots.length; i += 16 * CHUNK) {
      if (pass(i, Math.min(slots.length, i + 16 * CHUNK)) === false) return false;
      if (cx.gov.due()) {
        await cx.turn();
        if (!columns.unchanged(table, copy, version)) return false;
      }
    }
    return true;
  };
  const counted = await inKeyOrder((from, to) => {
    for (let i = from; i < to; i++) counts[codes[slots[i]!]!]!++;
    return undefined;
  });
  if (!counted) return undefined;
  for (let a = 0; a < accs.length; a++) {
    const acc = accs[a];
    const k = plan.aggregates[a]!;
    // (no argument: every value null)
    if (acc === undefined || k < 0) continue;
    const col = copy.cols[at[k]!]!;
    const done = await inKeyOrder(acc.kind === 'sum' ? sumPass(acc, col, slots, codes) : extremePass(acc, col, slots, codes));
    if (!done) return undefined;
  }
  // The groups: the numbers of the values some row has, in AQL order of the values.
  const present: number[] = [];
  for (let g = 0; g < n; g++) {
    if (counts[g] === 0) continue;
    const v = gc.values[g];
    held.hold(64 + (typeof v === 'string' ? 2 * v.length : 8));
    present.push(g);
    if (present.length > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'COLLECT');
  }
  const sorting = cx.gov.sort(present, (x, y) => compare(gc.values[x] as AqlValue, gc.values[y] as AqlValue));
  if (sorting instanceof Pending) await sorting.promise;
  if (!columns.unchanged(table, copy, version)) return undefined;
  return codedRows(c, start, gc.values as AqlValue[], present, counts, accs);
}

/** SUM/AVG over slots [from, to) of `col`: each non-null value added to its group's sum and count. */
function sumPass(acc: Extract<CodedAcc, { kind: 'sum' }>, col: readonly unknown[], slots: readonly number[], codes: Int32Array) {
  return (from: number, to: number): undefined => {
    for (let i = from; i < to; i++) {
      const s = slots[i]!;
      const v = col[s];
      if (v === null) continue;
      const g = codes[s]!;
      acc.sum[g] = acc.sum[g]! + (typeof v === 'number' ? v : toNumber(v as AqlValue));
      acc.n[g]!++;
    }
    return undefined;
  };
}

/** MIN/MAX over slots [from, to) of `col`; false at a value that is no number (AQL orders across types: the per-row path). */
function extremePass(
  acc: Extract<CodedAcc, { kind: 'min' | 'max' }>,
  col: readonly unknown[],
  slots: readonly number[],
  codes: Int32Array,
) {
  const max = acc.kind === 'max';
  const { best, seen } = acc;
  return (from: number, to: number): boolean | undefined => {
    for (let i = from; i < to; i++) {
      const s = slots[i]!;
      const v = col[s];
      if (v === null) continue;
      if (typeof v !== 'number') return false;
      const g = codes[s]!;
      // Strictly less (greater): of equal values the first in key order stays, as with the per-row path.
      if (seen[g] === 0 || (max ? v > best[g]! : v < best[g]!)) {
        best[g] = v;
        seen[g] = 1;
      }
    }
    return undefined;
  };
}

/** The rows of the groups `present` (numbers, in output order): one aggregate state per aggregate, refilled per group. */
function* codedRows(
  c: CollectStep,
  start: Row,
  values: readonly AqlValue[],
  present: readonly number[],
  counts: Float64Array,
  accs: readonly CodedAcc[],
): Generator<Row> {
  const rowOf = groupRowMaker(c, start);
  const states = accs.map(() => newAgg());
  const one: AqlValue[] = [null];
  for (const g of present) {
    const count = counts[g]!;
    for (let a = 0; a < states.length; a++) {
      const acc = accs[a];
      const st = states[a]!;
      if (acc === undefined) st.n = count;
      else if (acc.kind === 'sum') {
        st.n = acc.n[g]!;
        st.sum = acc.sum[g]!;
      } else {
        const v = acc.seen[g] === 1 ? acc.best[g]! : undefined;
        if (acc.kind === 'min') st.min = v;
        else st.max = v;
      }
    }
    one[0] = values[g]!;
    yield rowOf(one, count, states);
  }
}

/**
 * The rows from the table's columns (`copy`: the snapshot's state when the
 * query began; `at`: its column of each path): null when all were read; else the key after which the
 * documents must be read (they changed while the reader paused).
 */
async function fromColumns(
  cx: SourceContext,
  table: string,
  copy: ColumnCopy,
  at: readonly number[],
  add: Add,
): Promise<string | undefined | null> {
  const columns = cx.deps.columns!;
  const cols = at.map((i) => copy.cols[i]!);
  const slots = slotsInOrder(copy);
  const version = copy.version;
  const vals = new Array<AqlValue>(cols.length);
  let i = 0;
  while (i < slots.length) {
    const end = Math.min(slots.length, i + CHUNK);
    for (; i < end; i++) {
      const s = slots[i]!;
      for (let j = 0; j < cols.length; j++) vals[j] = cols[j]![s] as AqlValue;
      const r = add(vals);
      if (r !== undefined) {
        // An evaluation suspended: the columns may change meanwhile (checked below, before the next row).
        const last = copy.keys[s]!;
        await r;
        if (!columns.unchanged(table, copy, version)) return last;
      }
    }
    if (i < slots.length && cx.gov.due()) {
      const last = copy.keys[slots[i - 1]!]!;
      await cx.turn();
      if (!columns.unchanged(table, copy, version)) return last;
    }
  }
  return null;
}

/** The rows from the documents at the snapshot (after key `after`), collecting the table's columns on a whole scan when it may. */
async function fromDocuments(cx: SourceContext, table: string, plan: ColumnPlan, add: Add, after: string | undefined): Promise<void> {
  const columns = cx.deps.columns;
  const started = performance.now();
  const build: ColumnBuild | undefined = after === undefined ? columns?.claimBuild(table, plan.paths, Date.now()) : undefined;
  let complete = false;
  try {
    const vals = new Array<AqlValue>(plan.paths.length);
    const scan = cx.deps.documents.scan({
      table,
      snapshot: cx.snapshot,
      size: CHUNK,
      ...(after === undefined ? {} : { after: parseEntityKey(after) }),
    });
    for await (const chunk of scan) {
      for (const [key, text] of chunk) {
        const doc = JSON.parse(text) as unknown;
        build?.add(key, doc);
        for (let j = 0; j < vals.length; j++) vals[j] = valueAt(doc, plan.paths[j]!) as AqlValue;
        const r = add(vals);
        if (r !== undefined) await r;
      }
      if (cx.gov.due()) await cx.turn();
    }
    complete = true;
  } finally {
    if (build !== undefined && columns !== undefined) {
      if (complete) columns.offer(table, build, cx.snapshot.epoch, performance.now() - started);
      else columns.abandon(table);
    }
  }
}
