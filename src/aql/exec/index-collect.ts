/**
 * Index-only COLLECT (planner: indexOnlyCollect): `FOR v IN t [FILTER …]
 * COLLECT g = v.a [WITH COUNT INTO n]` over a single-column, non-unique,
 * non-sparse index on `a`, answered from the index keys of the query's
 * snapshot: one run of equal values per group (SecondaryIndexes.valueRuns),
 * the FOR's filters evaluated once per distinct value on `{a: value}`.
 * Documents whose `a` is an array or an object (the index's compound
 * markers; their scalar entries are the elements, not the value) are read
 * and grouped as COLLECT would. The groups come out in AQL order: the index
 * orders scalars as AQL does, and arrays and objects follow every scalar;
 * the scalar groups' rows go out in batches as their runs are counted (nothing
 * buffered but the array and object groups).
 * Inside a transaction that has written to the table the ordinary FOR and
 * COLLECT run instead (the index does not hold its buffered writes).
 */
import type { ScalarValue } from '../../storage/index.js';
import type { AqlValue } from '../ast.js';
import type { Step } from '../planner.js';
import { compare, hashKey, truthy } from '../values.js';
import { extend, ROW_BATCH, tooMany, type Row } from './context.js';
import { collectBatches, groupRowMaker, type SortCollectContext } from './sort-collect.js';
import { forStep, overlay, readDocument, toDoc, type SourceContext } from './sources.js';

type ForStep = Extract<Step, { kind: 'for' }>;
type CollectStep = Extract<Step, { kind: 'collect' }>;
type Range = { eq?: ScalarValue; lower?: ScalarValue; upper?: ScalarValue; includeLower?: boolean; includeUpper?: boolean };

const isScalar = (v: AqlValue): v is ScalarValue => v === null || typeof v !== 'object';

/**
 * The index ranges the FOR reads, in index order, or undefined when a value
 * or bound is no scalar (the ordinary path decides what that means).
 */
async function rangesOf(cx: SourceContext, f: ForStep, row: Row): Promise<Range[] | undefined> {
  const src = f.source;
  if (src.kind === 'index_eq') {
    const v = await cx.eval(src.values, row);
    const vals = src.many ? (Array.isArray(v) ? v : []) : [v];
    if (!vals.every(isScalar)) return undefined;
    const distinct = new Map(vals.map((x) => [hashKey(x), x]));
    return [...distinct.values()].sort(compare).map((eq) => ({ eq }));
  }
  return rangeOf(cx, src, row).then((r) => r && [r]);
}

async function rangeOf(cx: SourceContext, src: ForStep['source'], row: Row): Promise<Range | undefined> {
  if (src.kind !== 'index_range') return {};
  const r: Range = {};
  if (src.lower) {
    const v = await cx.eval(src.lower.expr, row);
    if (!isScalar(v)) return undefined;
    r.lower = v;
    r.includeLower = src.lower.inclusive;
  }
  if (src.upper) {
    const v = await cx.eval(src.upper.expr, row);
    if (!isScalar(v)) return undefined;
    r.upper = v;
    r.includeUpper = src.upper.inclusive;
  }
  return r;
}

/** `{a: {b: value}}` for path a.b: the document as far as the query looks at it. */
function projection(path: readonly string[], value: AqlValue): AqlValue {
  let v = value;
  for (let i = path.length - 1; i >= 0; i--) v = { [path[i]!]: v };
  return v;
}

/** The FOR and its COLLECT from the index, the rows in batches (of ROW_BATCH at most). */
export async function* indexCollectBatches(
  cx: SourceContext & SortCollectContext,
  f: ForStep,
  c: CollectStep,
  input: AsyncIterable<Row>,
  start: Row,
): AsyncGenerator<Row[]> {
  const only = c.indexOnly!;
  const table = (f.source as { table: string }).table;
  // The FOR is its level's first step: its one input row is `start`.
  const ranges = await rangesOf(cx, f, start);
  if (ranges === undefined || overlay(cx, table)) {
    yield* collectBatches(cx, c, forStep(cx, f, input), start);
    return;
  }
  const held = cx.gov.holding();
  const op = c.op;
  // COUNT and LENGTH aggregates are the group's entry count.
  const makeRow = groupRowMaker(c, start);
  const rowOf = (value: AqlValue, count: number): Row => makeRow([value], count, count);
  const m = cx.gov.mark();
  let batch: Row[] = [];
  try {
    const passes = async (row: Row) => {
      for (const e of f.filters) if (!truthy(await cx.eval(e, row))) return false;
      return true;
    };
    // Arrays and objects: from their documents (they come last: AQL orders them after every scalar).
    const compound = await cx.deps.compoundKeys(only.indexId, cx.snapshot);
    const others = new Map<string, { value: AqlValue; count: number }>();
    for (const key of compound) {
      const d = readDocument(cx, key, table);
      if (d === undefined) continue;
      const row = extend(start, f.var, d);
      if (!(await passes(row))) continue;
      const value = await cx.eval(op.groups[0]!.expr, row);
      const h = hashKey(value);
      const g = others.get(h);
      if (g) g.count++;
      else {
        held.hold(256 + cx.valueBytes(value));
        others.set(h, { value, count: 1 });
        if (others.size > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'COLLECT');
      }
      if (cx.gov.due()) await cx.turn();
    }
    // Scalars: runs of equal index keys, in index order (= AQL order), each a row as soon as it is counted.
    const skip = new Set(compound);
    for (const range of ranges) {
      for await (const runs of cx.deps.valueRuns(only.indexId, range, cx.snapshot, skip)) {
        for (const [value, count] of runs) {
          if (f.filters.length > 0 && !(await passes(extend(start, f.var, projection(only.path, value))))) continue;
          cx.gov.reset(m);
          batch.push(rowOf(value, count));
          if (batch.length >= ROW_BATCH) {
            yield batch;
            batch = [];
          }
        }
        if (cx.gov.due()) await cx.turn();
      }
    }
    for (const g of [...others.values()].sort((a, b) => compare(a.value, b.value))) {
      cx.gov.reset(m);
      batch.push(rowOf(g.value, g.count));
    }
    if (batch.length > 0) yield batch;
    cx.gov.reset(m);
  } finally {
    held.close();
  }
}
