import type { components } from '../api/types.js';
import { ThemisError } from '../errors.js';
import type { ScalarValue } from '../storage/index.js';

/**
 * POST /query: request normalisation and the planner. Everything here is
 * pure (no I/O): the executor supplies the ready indexes and the
 * per-predicate estimates it counted, and runs the returned plan.
 */

export type ReturnKind = 'keys' | 'entities';

export interface EqualityPredicate {
  column: string;
  /** The value as sent (echoed in the plan). */
  value: ScalarValue;
  /** Values looked up / matched: a numeric-literal string matches both the number and the string. */
  values: ScalarValue[];
}

export interface RangePredicate {
  column: string;
  lower?: ScalarValue;
  upper?: ScalarValue;
  includeLower: boolean;
  includeUpper: boolean;
}

export interface NormalizedQuery {
  table: string;
  predicates: EqualityPredicate[];
  ranges: RangePredicate[];
  orderBy?: { column: string; desc: boolean; limit?: number };
  return: ReturnKind;
  allowFullScan: boolean;
  explain: boolean;
}

export interface PlannerIndex {
  id: number;
  table: string;
  columns: string[];
  type: 'equality' | 'range';
  unique: boolean;
  sparse?: boolean;
}

export interface Estimate {
  estimatedCount: number;
  capped: boolean;
}

export type Driver =
  | { kind: 'equality'; indexId: number; column: string; value: ScalarValue; values: ScalarValue[] }
  | {
      kind: 'range';
      indexId: number;
      column: string;
      lower?: ScalarValue;
      upper?: ScalarValue;
      includeLower: boolean;
      includeUpper: boolean;
      reverse: boolean;
    }
  | { kind: 'intersection'; parts: { indexId: number; column: string; value: ScalarValue; values: ScalarValue[] }[] }
  | { kind: 'full' };

/**
 * Intersect the two most selective equality indexes when even the best one
 * matches many entries: index scans read keys only, while every candidate
 * costs an entity read and a JSON parse.
 */
export const INTERSECT_ABOVE = 100;

export type PlanOrderItem =
  | { column: string; value: ScalarValue }
  | { column: string; lower?: ScalarValue; upper?: ScalarValue; includeLower: boolean; includeUpper: boolean };

export interface Plan {
  mode: 'index_optimized' | 'index_intersection' | 'range_scan' | 'full_scan';
  order: PlanOrderItem[];
  estimates: { column: string; value: ScalarValue; estimatedCount: number; capped: boolean }[];
  driver: Driver;
  /** False when the driver already yields ORDER BY order (early termination at limit). */
  sortInMemory: boolean;
  limit?: number;
}

/** Cap of the per-predicate estimate scans. */
export const ESTIMATE_CAP = 1000;

const NUMBER_LITERAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** A string that is a JSON number literal ("25") as that number, else undefined. */
export function numericLiteral(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.length > 64 || !NUMBER_LITERAL.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function bad(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

/** POST /query's body as openapi.yaml defines it (types, paths and enums checked by the schema). */
export type QueryRequest = components['schemas']['QueryRequest'];

/** Range bounds: a numeric-literal string compares as a number. */
function bound(v: ScalarValue): ScalarValue {
  return numericLiteral(v) ?? v;
}

/** Normalise a request body: defaults, numeric literals, and what the schema cannot say (a range needs one bound on each side at most, and at least one). */
export function normalizeQuery(b: QueryRequest): NormalizedQuery {
  const predicates: EqualityPredicate[] = (b.predicates ?? []).map((p) => {
    const n = numericLiteral(p.value);
    return { column: p.column, value: p.value, values: n === undefined ? [p.value] : [n, p.value] };
  });
  const ranges: RangePredicate[] = (b.range ?? []).map((o, i) => {
    if (o.gte !== undefined && o.gt !== undefined) throw bad(`range.${i}.gt`, `range.${i}: give either "gte" or "gt", not both`);
    if (o.lte !== undefined && o.lt !== undefined) throw bad(`range.${i}.lt`, `range.${i}: give either "lte" or "lt", not both`);
    const rp: RangePredicate = { column: o.column, includeLower: true, includeUpper: true };
    if (o.gte !== undefined) {
      rp.lower = bound(o.gte);
      rp.includeLower = o.includeLower !== false;
    }
    if (o.gt !== undefined) {
      rp.lower = bound(o.gt);
      rp.includeLower = false;
    }
    if (o.lte !== undefined) {
      rp.upper = bound(o.lte);
      rp.includeUpper = o.includeUpper !== false;
    }
    if (o.lt !== undefined) {
      rp.upper = bound(o.lt);
      rp.includeUpper = false;
    }
    if (!('lower' in rp) && !('upper' in rp)) throw bad(`range.${i}`, `range.${i} needs a bound (gte, gt, lte or lt)`);
    return rp;
  });
  const o = b.order_by;
  return {
    table: b.table,
    predicates,
    ranges,
    ...(o ? { orderBy: { column: o.column, desc: o.desc === true, ...(o.limit !== undefined ? { limit: o.limit } : {}) } } : {}),
    return: b.return ?? 'entities',
    allowFullScan: b.allow_full_scan === true,
    explain: b.explain === true,
  };
}

/**
 * The index an equality predicate on `column` can be looked up in: a
 * single-column index (equality preferred over range), else a composite whose
 * first column it is (its entries are byte-prefixed by the first value).
 * A sparse index has no entries for missing columns, so it cannot answer `= null`.
 */
export function indexForEquality(
  p: Pick<EqualityPredicate, 'column' | 'values'>,
  table: string,
  indexes: readonly PlannerIndex[],
): PlannerIndex | undefined {
  const usable = indexes.filter((i) => i.table === table && i.columns[0] === p.column && !(i.sparse && p.values.includes(null)));
  const rank = (i: PlannerIndex) => (i.columns.length === 1 ? 0 : 2) + (i.type === 'equality' ? 0 : 1);
  return [...usable].sort((a, b) => rank(a) - rank(b) || a.id - b.id)[0];
}

/** A single-column range index on `column`. */
export function rangeIndexFor(col: string, table: string, indexes: readonly PlannerIndex[], allowSparse = true): PlannerIndex | undefined {
  return indexes.find(
    (i) => i.table === table && i.type === 'range' && i.columns.length === 1 && i.columns[0] === col && (allowSparse || !i.sparse),
  );
}

function rangeItem(r: RangePredicate): PlanOrderItem {
  return {
    column: r.column,
    ...('lower' in r ? { lower: r.lower } : {}),
    ...('upper' in r ? { upper: r.upper } : {}),
    includeLower: r.includeLower,
    includeUpper: r.includeUpper,
  };
}

/**
 * Choose how to run a query. `estimates[i]` belongs to `q.predicates[i]`
 * (undefined when that predicate has no usable index). Pure; the result is frozen.
 */
export function planQuery(
  q: NormalizedQuery,
  indexes: readonly PlannerIndex[],
  estimates: readonly (Estimate | undefined)[],
): Readonly<Plan> {
  const limit = q.orderBy?.limit;
  const withLimit = limit !== undefined ? { limit } : {};
  // Equality predicates with an index, most selective first.
  const indexed = q.predicates
    .map((p, i) => ({ p, i, idx: indexForEquality(p, q.table, indexes), est: estimates[i] }))
    .filter((x): x is typeof x & { idx: PlannerIndex; est: Estimate } => x.idx !== undefined && x.est !== undefined);
  const sorted = [...indexed].sort((a, b) => a.est.estimatedCount - b.est.estimatedCount || a.i - b.i);
  const estimateList = indexed.map((x) => ({
    column: x.p.column,
    value: x.p.value,
    estimatedCount: x.est.estimatedCount,
    capped: x.est.capped,
  }));
  const unindexedPreds = q.predicates.filter((p) => !indexed.some((x) => x.p === p));
  const order: PlanOrderItem[] = [
    ...sorted.map((x) => ({ column: x.p.column, value: x.p.value })),
    ...unindexedPreds.map((p) => ({ column: p.column, value: p.value })),
    ...q.ranges.map(rangeItem),
  ];
  const orderedBy = (col: string) => q.orderBy !== undefined && q.orderBy.column === col;

  let driver: Driver | undefined;
  let mode: Plan['mode'] = 'full_scan';
  let sortInMemory = q.orderBy !== undefined;
  if (sorted.length >= 2 && (sorted[0]!.est.estimatedCount > INTERSECT_ABOVE || sorted[0]!.est.capped)) {
    driver = {
      kind: 'intersection',
      parts: sorted.slice(0, 2).map((d) => ({ indexId: d.idx.id, column: d.p.column, value: d.p.value, values: d.p.values })),
    };
    mode = 'index_intersection';
  } else if (sorted.length > 0) {
    const d = sorted[0]!;
    driver = { kind: 'equality', indexId: d.idx.id, column: d.p.column, value: d.p.value, values: d.p.values };
    mode = 'index_optimized';
  } else {
    const r = q.ranges.find((x) => rangeIndexFor(x.column, q.table, indexes) !== undefined);
    if (r) {
      const idx = rangeIndexFor(r.column, q.table, indexes)!;
      const reverse = orderedBy(r.column) && q.orderBy!.desc;
      driver = {
        kind: 'range',
        indexId: idx.id,
        column: r.column,
        ...('lower' in r ? { lower: r.lower } : {}),
        ...('upper' in r ? { upper: r.upper } : {}),
        includeLower: r.includeLower,
        includeUpper: r.includeUpper,
        reverse,
      };
      mode = 'range_scan';
      if (orderedBy(r.column)) sortInMemory = false;
    } else {
      const missing = q.predicates[0]?.column ?? q.ranges[0]?.column;
      const obIdx = q.orderBy ? rangeIndexFor(q.orderBy.column, q.table, indexes, false) : undefined;
      // Scanning the ORDER BY index is a full scan in index order unless nothing is filtered (or a full scan is allowed).
      if (obIdx && (missing === undefined || q.allowFullScan)) {
        driver = {
          kind: 'range',
          indexId: obIdx.id,
          column: q.orderBy!.column,
          includeLower: true,
          includeUpper: true,
          reverse: q.orderBy!.desc,
        };
        mode = 'range_scan';
        sortInMemory = false;
      } else if (q.allowFullScan) {
        driver = { kind: 'full' };
      } else if (missing !== undefined) {
        throw new ThemisError(
          'BAD_REQUEST',
          `no index for ${q.table}.${missing}; create one with POST /index/create or set allow_full_scan`,
          { details: { field: q.predicates.length > 0 ? 'predicates' : 'range' } },
        );
      } else {
        throw new ThemisError(
          'BAD_REQUEST',
          `query on ${q.table} has no indexed predicate${q.orderBy ? ` and no range index on ${q.table}.${q.orderBy.column}` : ''}; create one with POST /index/create or set allow_full_scan`,
        );
      }
    }
  }
  const plan: Plan = { mode, order, estimates: estimateList, driver, sortInMemory, ...withLimit };
  Object.freeze(plan.order);
  Object.freeze(plan.estimates);
  Object.freeze(plan.driver);
  return Object.freeze(plan);
}
