import type { ScalarValue } from '../storage/index.js';

/** Most index entries one document may produce (array fan-out across columns). */
export const MAX_ENTRIES_PER_DOCUMENT = 1024;

/** The value at a dotted path (`address.city`), or undefined. */
export function valueAt(doc: unknown, path: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function scalars(v: unknown): ScalarValue[] | undefined {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return [v];
  if (typeof v === 'number') return Number.isFinite(v) ? [v] : undefined;
  if (Array.isArray(v)) {
    // Arrays index each scalar element (de-duplicated); nested arrays/objects are not indexable.
    const out: ScalarValue[] = [];
    const seen = new Set<unknown>();
    for (const e of v) {
      if (e === null || typeof e === 'boolean' || typeof e === 'string' || (typeof e === 'number' && Number.isFinite(e))) {
        if (!seen.has(e)) {
          seen.add(e);
          out.push(e);
        }
      }
    }
    return out;
  }
  return undefined; // objects are not indexable values
}

/**
 * The value tuples a document contributes to an index on `columns`: one per
 * combination of array elements. A missing column is `null` unless the index
 * is sparse, in which case the document contributes nothing. Pure.
 */
export function indexTuples(doc: unknown, columns: readonly (readonly string[])[], sparse: boolean): ScalarValue[][] {
  let tuples: ScalarValue[][] = [[]];
  for (const path of columns) {
    const raw = valueAt(doc, path);
    let vals: ScalarValue[] | undefined;
    if (raw === undefined) vals = sparse ? undefined : [null];
    else vals = scalars(raw);
    if (vals === undefined || vals.length === 0) return [];
    const next: ScalarValue[][] = [];
    for (const t of tuples) for (const v of vals) next.push([...t, v]);
    tuples = next;
    if (tuples.length > MAX_ENTRIES_PER_DOCUMENT) return tuples; // the caller refuses the document
  }
  return tuples;
}
