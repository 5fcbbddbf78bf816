/**
 * AQL array functions: access, set operations (by value, through hash
 * keys), sorting, flattening and editing. Functions that hash or copy
 * large arrays run through the governor.
 */
import { ThemisError } from '../../errors.js';
import type { AqlValue } from '../ast.js';
import { BigMap, BigSet } from '../big-collections.js';
import { andThen, type Governor, loopWith, sortWith, STOP, type Val } from '../governor.js';
import { compare, equals, hashKey, inArray, truthy } from '../values.js';
import { WarningCodes } from '../warnings.js';
import { charge, hashEntryBytes, int, invalidArg, loop, num, warn } from './helpers.js';
import { MAX_RANGE, rangeTooLarge } from './numeric.js';
import type { FnContext } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The array functions, for index.ts to register. */
export const ARRAY_FUNCTIONS: FunctionTable = table;

/** The distinct values of an array, in first-seen order (governed: hashing millions of values takes a while). */
function uniqueValues(values: readonly AqlValue[], ctx: FnContext): Val {
  return distinctWhere(ctx, values, new BigSet(), () => true);
}

/** The hash keys of an array's values (governed); `then` receives the set. */
function keySet(values: readonly AqlValue[], ctx: FnContext, done: (s: BigSet) => Val): Val {
  const s = new BigSet();
  return loop(
    ctx,
    values.length,
    (i) => {
      const k = hashKey(values[i]!);
      if (!s.has(k)) {
        charge(ctx, hashEntryBytes(k));
        s.add(k);
      }
    },
    () => done(s),
  );
}

/** An array argument, or null with a warning: 1542 (invalid argument type), or `code` (1563, array expected, where ArangoDB says so). */
function arrayArg(
  ctx: FnContext,
  fn: string,
  v: AqlValue | undefined,
  code: number = WarningCodes.INVALID_ARGUMENT_TYPE,
): AqlValue[] | null {
  return Array.isArray(v) ? v : warn(ctx, fn, 'invalid argument type', code);
}

def('FIRST', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'FIRST', a[0]);
  return arr === null || arr.length === 0 ? null : arr[0]!;
});

def('LAST', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'LAST', a[0]);
  return arr === null || arr.length === 0 ? null : arr[arr.length - 1]!;
});

def('NTH', 2, 2, (a, ctx) => {
  const arr = arrayArg(ctx, 'NTH', a[0]);
  if (arr === null) return null;
  const i = int(a[1]);
  return i < 0 || i >= arr.length ? null : arr[i]!;
});

def(['POSITION', 'CONTAINS_ARRAY'], 2, 3, (a, ctx) => {
  const ret = truthy(a[2]);
  const arr = a[0];
  if (!Array.isArray(arr)) {
    warn(ctx, 'POSITION', 'array expected', WarningCodes.ARRAY_EXPECTED);
    return ret ? -1 : false;
  }
  const needle = a[1]!;
  let found = -1;
  return loop(
    ctx,
    arr.length,
    (i) => {
      if (!equals(arr[i], needle)) return undefined;
      found = i;
      return STOP;
    },
    () => (ret ? found : found >= 0),
    1024,
  );
});

def(
  ['COUNT_DISTINCT', 'COUNT_UNIQUE'],
  1,
  1,
  (a, ctx) => {
    const arr = arrayArg(ctx, 'COUNT_DISTINCT', a[0], WarningCodes.ARRAY_EXPECTED);
    return arr === null ? null : keySet(arr, ctx, (s) => s.size);
  },
  true,
);

def(
  'UNIQUE',
  1,
  1,
  (a, ctx) => {
    const arr = arrayArg(ctx, 'UNIQUE', a[0], WarningCodes.ARRAY_EXPECTED);
    return arr === null ? null : uniqueValues(arr, ctx);
  },
  true,
);

def(
  'SORTED',
  1,
  1,
  (a, ctx) => {
    const arr = arrayArg(ctx, 'SORTED', a[0], WarningCodes.ARRAY_EXPECTED);
    if (arr === null) return null;
    charge(ctx, 16 + 8 * arr.length);
    return sortWith(ctx.gov, arr.slice(), compare) as Val;
  },
  true,
);

def(
  'SORTED_UNIQUE',
  1,
  1,
  (a, ctx) => {
    const arr = arrayArg(ctx, 'SORTED_UNIQUE', a[0], WarningCodes.ARRAY_EXPECTED);
    if (arr === null) return null;
    charge(ctx, 16 + 16 * arr.length);
    return andThen(sortWith(ctx.gov, arr.slice(), compare) as Val, (sorted) => {
      const xs = sorted as AqlValue[];
      const out: AqlValue[] = [];
      return loop(
        ctx,
        xs.length,
        (i) => {
          const x = xs[i]!;
          if (out.length === 0 || compare(out[out.length - 1], x) !== 0) out.push(x);
        },
        () => out,
      );
    });
  },
  true,
);

function arraysArgs(ctx: FnContext, fn: string, a: AqlValue[], code: number = WarningCodes.INVALID_ARGUMENT_TYPE): AqlValue[][] | null {
  for (const x of a) if (!Array.isArray(x)) return warn(ctx, fn, 'invalid argument type', code);
  return a as AqlValue[][];
}

def(
  'UNION',
  2,
  Infinity,
  (a, ctx) => {
    const arrays = arraysArgs(ctx, 'UNION', a);
    if (arrays === null) return null;
    let n = 0;
    for (const x of arrays) n += x.length;
    charge(ctx, 16 + 8 * n);
    return ([] as AqlValue[]).concat(...arrays);
  },
  true,
);

def(
  'UNION_DISTINCT',
  2,
  Infinity,
  (a, ctx) => {
    const arrays = arraysArgs(ctx, 'UNION_DISTINCT', a);
    if (arrays === null) return null;
    let n = 0;
    for (const x of arrays) n += x.length;
    charge(ctx, 16 + 8 * n);
    return uniqueValues(([] as AqlValue[]).concat(...arrays), ctx);
  },
  true,
);

/** Key sets of several arrays, one after another (governed), for `done`. */
function keySets(arrays: AqlValue[][], ctx: FnContext, done: (sets: BigSet[]) => Val): Val {
  const sets: BigSet[] = [];
  const next = (): Val => (sets.length === arrays.length ? done(sets) : keySet(arrays[sets.length]!, ctx, (s) => (sets.push(s), next())));
  return next();
}

/** The distinct values of `arr` (first occurrences, in order) whose key `keep` accepts; `seen` collects the keys taken (governed). */
function distinctWhere(ctx: FnContext, arr: readonly AqlValue[], seen: BigSet, keep: (k: string) => boolean): Val {
  const out: AqlValue[] = [];
  charge(ctx, 16 + 16 * arr.length); // built by push: its capacity can be twice its length
  return loop(
    ctx,
    arr.length,
    (i) => {
      const v = arr[i]!;
      const k = hashKey(v);
      if (seen.has(k) || !keep(k)) return;
      charge(ctx, hashEntryBytes(k));
      seen.add(k);
      out.push(v);
    },
    () => out,
  );
}

def(
  'INTERSECTION',
  2,
  Infinity,
  (a, ctx) => {
    const arrays = arraysArgs(ctx, 'INTERSECTION', a);
    if (arrays === null) return null;
    return keySets(arrays.slice(1), ctx, (others) => distinctWhere(ctx, arrays[0]!, new BigSet(), (k) => others.every((s) => s.has(k))));
  },
  true,
);

def(
  'MINUS',
  2,
  Infinity,
  (a, ctx) => {
    const arrays = arraysArgs(ctx, 'MINUS', a);
    if (arrays === null) return null;
    const rest: AqlValue[] = ([] as AqlValue[]).concat(...arrays.slice(1));
    charge(ctx, 16 + 8 * rest.length);
    // The excluded keys double as the seen set: a value of the first array is kept once, and only if not excluded.
    return keySet(rest, ctx, (exclude) => distinctWhere(ctx, arrays[0]!, exclude, () => true));
  },
  true,
);

def(
  'OUTERSECTION',
  2,
  Infinity,
  (a, ctx) => {
    const arrays = arraysArgs(ctx, 'OUTERSECTION', a);
    if (arrays === null) return null;
    const all: AqlValue[] = ([] as AqlValue[]).concat(...arrays);
    charge(ctx, 16 + 8 * all.length);
    const counts = new BigMap<{ v: AqlValue; n: number }>();
    const order: { v: AqlValue; n: number }[] = []; // first-seen order (a BigMap iterates by shard)
    return loop(
      ctx,
      all.length,
      (i) => {
        const v = all[i]!;
        const k = hashKey(v);
        const e = counts.get(k);
        if (e) e.n++;
        else {
          charge(ctx, hashEntryBytes(k) + 40);
          const entry = { v, n: 1 };
          counts.set(k, entry);
          order.push(entry);
        }
      },
      () => {
        const out: AqlValue[] = [];
        for (const e of order) if (e.n === 1) out.push(e.v);
        return out;
      },
    );
  },
  true,
);

def(
  'INTERLEAVE',
  2,
  Infinity,
  (a, ctx) => {
    const arrays = arraysArgs(ctx, 'INTERLEAVE', a, WarningCodes.ARRAY_EXPECTED);
    if (arrays === null) return null;
    const out: AqlValue[] = [];
    let max = 0;
    let n = 0;
    for (const x of arrays) {
      if (x.length > max) max = x.length;
      n += x.length;
    }
    charge(ctx, 16 + 8 * n);
    return loop(
      ctx,
      max,
      (i) => {
        for (const arr of arrays) if (i < arr.length) out.push(arr[i]!);
      },
      () => out,
    );
  },
  true,
);

def(
  'JACCARD',
  2,
  2,
  (a, ctx) => {
    const arrays = arraysArgs(ctx, 'JACCARD', a);
    if (arrays === null) return null;
    return keySets(arrays, ctx, ([x, y]) => {
      if (x!.size === 0 && y!.size === 0) return 1;
      let inter = 0;
      for (const k of x!) if (y!.has(k)) inter++;
      return inter / (x!.size + y!.size - inter);
    });
  },
  true,
);

/**
 * Flattens nested arrays `depth` levels (for FLATTEN() and `[**]`):
 * iteratively (any nesting is safe), charged and governed element by
 * element.
 */
export function flattenArray(arr: AqlValue[], depth: number, gov?: Governor): Val {
  const out: AqlValue[] = [];
  // A stack of [array, next index, remaining depth].
  const stack: [AqlValue[], number, number][] = [[arr, 0, depth]];
  return loopWith(
    gov,
    Infinity,
    () => {
      const top = stack[stack.length - 1];
      if (top === undefined) return STOP;
      const [a, i, d] = top;
      if (i >= a.length) {
        stack.pop();
        return undefined;
      }
      top[1] = i + 1;
      const v = a[i]!;
      if (Array.isArray(v) && d > 0) stack.push([v, 0, d - 1]);
      else {
        gov?.charge(8);
        out.push(v);
      }
      return undefined;
    },
    () => out,
    1024,
  );
}

def(
  'FLATTEN',
  1,
  2,
  (a, ctx) => {
    const arr = arrayArg(ctx, 'FLATTEN', a[0]);
    if (arr === null) return null;
    const depth = a.length > 1 && a[1] !== null ? int(a[1]) : 1;
    return flattenArray(arr, Math.max(0, depth), ctx.gov);
  },
  true,
);

def('PUSH', 2, 3, (a, ctx) => {
  const v = a[1]!;
  if (a[0] === null) return [v];
  const arr = arrayArg(ctx, 'PUSH', a[0]);
  if (arr === null) return null;
  if (truthy(a[2]) && inArray(v, arr)) return arr.slice();
  return [...arr, v];
});

def('UNSHIFT', 2, 3, (a, ctx) => {
  const v = a[1]!;
  if (a[0] === null) return [v];
  const arr = arrayArg(ctx, 'UNSHIFT', a[0]);
  if (arr === null) return null;
  if (truthy(a[2]) && inArray(v, arr)) return arr.slice();
  return [v, ...arr];
});

def('APPEND', 2, 3, (a, ctx) => {
  const first = a[0];
  const second = a[1];
  const unique = truthy(a[2]);
  const values = second === null ? [] : Array.isArray(second) ? second : [second!];
  if (first === null) return unique ? uniqueValues(values, ctx) : values.slice();
  const arr = arrayArg(ctx, 'APPEND', first);
  if (arr === null) return null;
  if (!unique) return arr.concat(values);
  return uniqueValues(arr.concat(values), ctx);
});

def('POP', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'POP', a[0]);
  return arr === null ? null : arr.slice(0, -1);
});

def('SHIFT', 1, 1, (a, ctx) => {
  const arr = arrayArg(ctx, 'SHIFT', a[0]);
  return arr === null ? null : arr.slice(1);
});

def('SLICE', 2, 3, (a, ctx) => {
  const arr = arrayArg(ctx, 'SLICE', a[0]);
  if (arr === null) return null;
  const len = arr.length;
  let start = int(a[1]);
  if (start < 0) start = Math.max(0, len + start);
  let end = len;
  if (a.length > 2 && a[2] !== null) {
    const n = int(a[2]);
    end = n < 0 ? len + n : start + n;
  }
  if (end <= start) return [];
  return arr.slice(start, end);
});

def('REMOVE_VALUE', 2, 3, (a, ctx) => {
  const arr = arrayArg(ctx, 'REMOVE_VALUE', a[0]);
  if (arr === null) return null;
  let limit = a.length > 2 && a[2] !== null ? int(a[2]) : Infinity;
  const out: AqlValue[] = [];
  for (const v of arr) {
    if (limit > 0 && equals(v, a[1])) {
      limit--;
      continue;
    }
    out.push(v);
  }
  return out;
});

/**
 * REMOVE_VALUES(array, values), as ArangoDB: null values return the first
 * argument unchanged (whatever it is), a null array is `[]`, and anything
 * else that is not an array is null with a warning.
 */
def('REMOVE_VALUES', 2, 2, (a, ctx) => {
  const values = a[1];
  if (values === null || values === undefined) return a[0] ?? null;
  if (a[0] === null || a[0] === undefined) return [];
  const arr = a[0];
  // warning: ArangoDB 1542 (function argument type mismatch) when either is not an array
  if (!Array.isArray(arr) || !Array.isArray(values)) return invalidArg(ctx, 'REMOVE_VALUES');
  return keySet(values, ctx, (remove) => {
    const out: AqlValue[] = [];
    return loop(
      ctx,
      arr.length,
      (i) => {
        const v = arr[i]!;
        if (!remove.has(hashKey(v))) out.push(v);
      },
      () => out,
    );
  });
});

/**
 * REMOVE_NTH(array, position), as ArangoDB: the position is taken as a
 * float, out of bounds when `p >= length || p < -length`; a negative one
 * counts from the end (`p + length`), and the index is then truncated
 * (`-0.5` removes the last element of a 3-element array: 2.5 → 2). A null
 * array is `[]`.
 */
def('REMOVE_NTH', 2, 2, (a, ctx) => {
  if (a[0] === null || a[0] === undefined) return [];
  const arr = arrayArg(ctx, 'REMOVE_NTH', a[0]);
  if (arr === null) return null;
  const count = arr.length;
  let p = num(a[1]);
  if (p >= count || p < -count) return arr.slice();
  if (p < 0) p += count;
  const i = Math.trunc(p);
  return [...arr.slice(0, i), ...arr.slice(i + 1)];
});

def('REPLACE_NTH', 3, 4, (a, ctx) => {
  const arr = arrayArg(ctx, 'REPLACE_NTH', a[0]);
  if (arr === null) return null;
  let i = int(a[1]);
  if (i < 0) i = Math.max(0, arr.length + i);
  const out = arr.slice();
  if (i < arr.length) {
    out[i] = a[2]!;
    return out;
  }
  if (i > arr.length) {
    if (a.length < 4)
      throw new ThemisError('VALIDATION_FAILED', 'REPLACE_NTH(): position is beyond the end of the array and no padding value was given');
    if (i - arr.length > MAX_RANGE) throw rangeTooLarge();
    charge(ctx, 8 * (i - arr.length));
    while (out.length < i) out.push(a[3]!);
  }
  out.push(a[2]!);
  return out;
});
