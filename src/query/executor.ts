import { parseEntityKey, type DocumentStore } from '../documents/index.js';
import { valueAt, type IndexManager } from '../index/index.js';
import type { Engine, ScalarValue, Snapshot } from '../storage/index.js';
import type { Transaction } from '../txn/index.js';
import {
  ESTIMATE_CAP,
  indexForEquality,
  planQuery,
  type EqualityPredicate,
  type Estimate,
  type NormalizedQuery,
  type Plan,
  type PlanOrderItem,
  type RangePredicate,
} from './planner.js';

// ------------------------------------------------------------------ value order (as orderedCodec)

function rank(v: ScalarValue): number {
  if (v === null) return 0;
  if (v === false) return 1;
  if (v === true) return 2;
  return typeof v === 'number' ? 3 : 4;
}

/** null < false < true < numbers (numerically) < strings (by code point): the index order. */
export function compareScalar(a: ScalarValue, b: ScalarValue): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // By code point, as the index (UTF-8 bytes) orders them; JS's < compares UTF-16 units,
  // which disagrees for characters above U+FFFF.
  if (typeof a === 'string' && typeof b === 'string') return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return 0;
}

function isScalar(v: unknown): v is ScalarValue {
  return v === null || typeof v === 'boolean' || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** The scalars a document holds at a path (array elements each; missing = [null], as non-sparse indexes store it). */
function candidates(doc: unknown, path: string[], missingAsNull: boolean): ScalarValue[] {
  const v = valueAt(doc, path);
  if (v === undefined) return missingAsNull ? [null] : [];
  if (Array.isArray(v)) return v.filter(isScalar);
  return isScalar(v) ? [v] : [];
}

function matchesEq(doc: unknown, p: EqualityPredicate): boolean {
  return candidates(doc, p.column.split('.'), true).some((v) => p.values.some((w) => compareScalar(v, w) === 0 && rank(v) === rank(w)));
}

function matchesRange(doc: unknown, r: RangePredicate): boolean {
  return candidates(doc, r.column.split('.'), false).some((v) => {
    if (r.lower !== undefined) {
      const c = compareScalar(v, r.lower);
      if (c < 0 || (c === 0 && !r.includeLower)) return false;
    }
    if (r.upper !== undefined) {
      const c = compareScalar(v, r.upper);
      if (c > 0 || (c === 0 && !r.includeUpper)) return false;
    }
    return true;
  });
}

/** Every predicate and range, evaluated on the document. */
export function matchesAll(doc: unknown, q: NormalizedQuery): boolean {
  return q.predicates.every((p) => matchesEq(doc, p)) && q.ranges.every((r) => matchesRange(doc, r));
}

/** The sort value of a document: its scalar at the column (first element of an array; missing = null). */
function sortValue(doc: unknown, path: string[]): ScalarValue {
  const v = valueAt(doc, path);
  if (Array.isArray(v)) return (v.find(isScalar) as ScalarValue | undefined) ?? null;
  return isScalar(v) ? v : null;
}

type IntersectionPart = Extract<Plan['driver'], { kind: 'intersection' }>['parts'][number];

/** Keys in both equality scans (the most selective first), sorted; keys only, no entity reads. */
async function intersectionKeys(indexes: IndexManager, parts: readonly IntersectionPart[], snap: Snapshot): Promise<string[]> {
  const [first, second] = parts as [IntersectionPart, IntersectionPart];
  const firstKeys = new Set<string>();
  for (const v of first.values) for await (const key of indexes.scanKeys(first.indexId, { eq: v }, snap)) firstKeys.add(key);
  const both: string[] = [];
  for (const v of second.values)
    for await (const key of indexes.scanKeys(second.indexId, { eq: v }, snap)) if (firstKeys.delete(key)) both.push(key);
  return both.sort();
}

interface Row {
  key: string;
  text: string;
  doc: unknown;
}

export interface QueryResult {
  table: string;
  count?: number;
  keys?: string[];
  entities?: string[];
  plan: {
    mode: Plan['mode'];
    order: PlanOrderItem[];
    estimates: Plan['estimates'] /** Answered from the index alone, without reading entities. */;
    index_only?: true;
  };
  explain?: true;
}

/**
 * Runs POST /query: one consistent read view (a LevelDB snapshot, or the
 * snapshot-isolation transaction's), the plan's driver scan, all predicates
 * re-checked on each document, ORDER BY / limit, and with a transaction its
 * own buffered writes laid over the result.
 */
export async function executeQuery(
  engine: Engine,
  documents: DocumentStore,
  indexes: IndexManager,
  q: NormalizedQuery,
  txn?: Transaction,
): Promise<QueryResult> {
  const own = txn?.snapshot === undefined;
  const snap: Snapshot = txn?.snapshot ?? engine.snapshot();
  try {
    const defs = indexes.readyDefs(q.table);
    const estimates: (Estimate | undefined)[] = [];
    for (const p of q.predicates) {
      const idx = indexForEquality(p, q.table, defs);
      if (!idx) {
        estimates.push(undefined);
        continue;
      }
      let n = 0;
      let capped = false;
      for (const v of p.values) {
        let c = 0;
        for await (const _ of indexes.scanKeys(idx.id, { eq: v, limit: ESTIMATE_CAP }, snap)) c++;
        if (c >= ESTIMATE_CAP) capped = true;
        n += c;
      }
      estimates.push({ estimatedCount: n, capped });
    }
    const plan = planQuery(q, defs, estimates);
    const planOut = { mode: plan.mode, order: [...plan.order], estimates: [...plan.estimates] };
    if (q.explain) return { table: q.table, plan: planOut, explain: true };

    const overlay = txn ? [...txn.writes.values()].filter((w) => w.k.table === q.table) : [];
    const written = new Set(overlay.map((w) => w.k.key));
    const early = !plan.sortInMemory && plan.limit !== undefined && overlay.length === 0;
    const rows: Row[] = [];
    const seen = new Set<string>();
    const consider = (key: string, text: string): boolean => {
      const doc: unknown = JSON.parse(text);
      if (!matchesAll(doc, q)) return false;
      rows.push({ key, text, doc });
      return early && rows.length >= plan.limit!;
    };

    const d = plan.driver;
    // Index-only: keys requested, and the driving index scan(s) decide every
    // predicate exactly (single-column, non-sparse indexes; no range, order or
    // transaction overlay): no entity needs to be read.
    const simple = (id: number) => {
      const def = defs.find((x) => x.id === id);
      return def !== undefined && def.columns.length === 1 && !def.sparse;
    };
    const indexOnly =
      q.return === 'keys' &&
      q.orderBy === undefined &&
      q.ranges.length === 0 &&
      overlay.length === 0 &&
      ((d.kind === 'equality' && q.predicates.length === 1 && simple(d.indexId)) ||
        (d.kind === 'intersection' && q.predicates.length === 2 && d.parts.every((x) => simple(x.indexId))));
    if (indexOnly) {
      const keys: string[] = [];
      if (d.kind === 'equality') {
        const seenKeys = new Set<string>();
        for (const v of d.values)
          for await (const key of indexes.scanKeys(d.indexId, { eq: v }, snap)) if (!seenKeys.has(key)) seenKeys.add(key), keys.push(key);
      } else if (d.kind === 'intersection') {
        keys.push(...(await intersectionKeys(indexes, d.parts, snap)));
      }
      return { table: q.table, count: keys.length, keys, plan: { ...planOut, index_only: true } };
    }
    if (d.kind === 'full') {
      full: for await (const rows of documents.scan({ table: q.table, snapshot: snap, size: 256 })) {
        for (const [key, text] of rows) {
          if (written.has(key)) continue;
          if (consider(key, text)) break full;
        }
      }
    } else if (d.kind === 'intersection') {
      for (const key of await intersectionKeys(indexes, d.parts, snap)) {
        if (written.has(key)) continue;
        const text = documents.read(parseEntityKey(key), snap);
        if (text === undefined) continue;
        if (consider(key, text)) break;
      }
    } else {
      const ranges =
        d.kind === 'equality'
          ? d.values.map((v) => ({ eq: v }))
          : [
              {
                ...(d.lower !== undefined ? { lower: d.lower } : {}),
                ...(d.upper !== undefined ? { upper: d.upper } : {}),
                includeLower: d.includeLower,
                includeUpper: d.includeUpper,
                reverse: d.reverse,
              },
            ];
      outer: for (const r of ranges) {
        for await (const key of indexes.scanKeys(d.indexId, r, snap)) {
          if (seen.has(key) || written.has(key)) continue;
          seen.add(key);
          const text = documents.read(parseEntityKey(key), snap);
          if (text === undefined) continue;
          if (consider(key, text)) break outer;
        }
      }
    }

    // The transaction's own writes: its puts are re-evaluated, its deletes stay removed.
    let resort = plan.sortInMemory;
    for (const w of overlay) {
      if (w.op === 'put' && w.value !== null) {
        const doc: unknown = JSON.parse(w.value);
        if (matchesAll(doc, q)) {
          rows.push({ key: w.k.key, text: w.value, doc });
          resort = true;
        }
      }
    }
    if (q.orderBy && resort) {
      const path = q.orderBy.column.split('.');
      const dir = q.orderBy.desc ? -1 : 1;
      const keyed = rows.map((r) => ({ r, v: sortValue(r.doc, path) }));
      keyed.sort((a, b) => dir * compareScalar(a.v, b.v) || (a.r.key < b.r.key ? -1 : a.r.key > b.r.key ? 1 : 0));
      rows.splice(0, rows.length, ...keyed.map((x) => x.r));
    }
    if (plan.limit !== undefined && rows.length > plan.limit) rows.length = plan.limit;
    const out: QueryResult = { table: q.table, count: rows.length, plan: planOut };
    if (q.return === 'keys') out.keys = rows.map((r) => r.key);
    else out.entities = rows.map((r) => r.text);
    return { table: out.table, count: out.count!, ...(out.keys ? { keys: out.keys } : { entities: out.entities! }), plan: planOut };
  } finally {
    if (own) snap.close();
  }
}
