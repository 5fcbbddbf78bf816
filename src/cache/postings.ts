import type { Metadata, Scalar } from './record.js';

/** A metadata filter: equality per field; an array means any of its values. */
export type Filter = Record<string, Scalar | Scalar[]>;

export function matches(filter: Filter, meta: Metadata | undefined): boolean {
  for (const f in filter) {
    const want = filter[f]!;
    const have = meta?.[f];
    if (have === undefined) return false;
    if (Array.isArray(want)) {
      if (!want.includes(have)) return false;
    } else if (have !== want) return false;
  }
  return true;
}

/** The keys a filter may match: a superset of the matching keys, and its size. */
export interface Candidates {
  size: number;
  keys(): Iterable<string>;
}

/**
 * Which keys carry which metadata value: field -> value -> keys. A filter's
 * candidates are the keys of its most selective field (the union over the
 * field's values when it lists several); their number tells the semantic
 * search how selective the filter is before it searches (docs/cache.md).
 */
export class MetadataPostings {
  private readonly fields = new Map<string, Map<Scalar, Set<string>>>();

  add(key: string, meta: Metadata | undefined): void {
    if (!meta) return;
    for (const f in meta) {
      let values = this.fields.get(f);
      if (!values) this.fields.set(f, (values = new Map()));
      const v = meta[f]!;
      let keys = values.get(v);
      if (!keys) values.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  remove(key: string, meta: Metadata | undefined): void {
    if (!meta) return;
    for (const f in meta) {
      const values = this.fields.get(f);
      const keys = values?.get(meta[f]!);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size > 0) continue;
      values!.delete(meta[f]!);
      if (values!.size === 0) this.fields.delete(f);
    }
  }

  /** The candidates of `filter` (an empty filter: undefined, every key is one). */
  candidates(filter: Filter): Candidates | undefined {
    let best: Set<string>[] | undefined;
    let bestSize = Number.POSITIVE_INFINITY;
    for (const f in filter) {
      const want = filter[f]!;
      const values = this.fields.get(f);
      const sets: Set<string>[] = [];
      let size = 0;
      for (const v of Array.isArray(want) ? new Set(want) : [want]) {
        const keys = values?.get(v);
        if (keys) {
          sets.push(keys);
          size += keys.size;
        }
      }
      if (size < bestSize) {
        best = sets;
        bestSize = size;
      }
    }
    if (!best) return undefined;
    const sets = best;
    return {
      size: bestSize,
      *keys() {
        // A key has one value per field, so the sets of one field are disjoint.
        for (const s of sets) yield* s;
      },
    };
  }
}
