import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES_PER_DOCUMENT, indexTuples, valueAt } from '../../src/index/index.js';

const p = (...cols: string[]) => cols.map((c) => c.split('.'));

describe('valueAt', () => {
  it('follows dotted paths through objects only', () => {
    const doc = { a: 1, address: { city: 'Berlin', geo: { lat: 52 } }, list: [{ x: 1 }], n: null };
    expect(valueAt(doc, ['a'])).toBe(1);
    expect(valueAt(doc, ['address', 'city'])).toBe('Berlin');
    expect(valueAt(doc, ['address', 'geo', 'lat'])).toBe(52);
    expect(valueAt(doc, ['address'])).toEqual({ city: 'Berlin', geo: { lat: 52 } });
    expect(valueAt(doc, ['missing'])).toBeUndefined();
    expect(valueAt(doc, ['address', 'zip'])).toBeUndefined();
    expect(valueAt(doc, ['a', 'b'])).toBeUndefined(); // through a scalar
    expect(valueAt(doc, ['n', 'b'])).toBeUndefined(); // through null
    expect(valueAt(doc, ['list', '0'])).toBeUndefined(); // arrays are not traversed
    expect(valueAt(doc, ['n'])).toBeNull();
    expect(valueAt(null, ['a'])).toBeUndefined();
    expect(valueAt(doc, [])).toBe(doc);
  });
});

describe('indexTuples', () => {
  it('scalars give one tuple each (null, booleans, numbers, strings)', () => {
    expect(indexTuples({ v: 'x' }, p('v'), false)).toEqual([['x']]);
    expect(indexTuples({ v: 3.5 }, p('v'), false)).toEqual([[3.5]]);
    expect(indexTuples({ v: false }, p('v'), false)).toEqual([[false]]);
    expect(indexTuples({ v: null }, p('v'), false)).toEqual([[null]]);
    expect(indexTuples({ v: null }, p('v'), true)).toEqual([[null]]); // explicit null is a value even when sparse
    expect(indexTuples({ a: { b: 'deep' } }, p('a.b'), false)).toEqual([['deep']]);
  });

  it('a missing column is null unless sparse, then the document contributes nothing', () => {
    expect(indexTuples({ other: 1 }, p('v'), false)).toEqual([[null]]);
    expect(indexTuples({ other: 1 }, p('v'), true)).toEqual([]);
    expect(indexTuples({ a: 1, other: 1 }, p('a', 'v'), false)).toEqual([[1, null]]);
    expect(indexTuples({ a: 1, other: 1 }, p('a', 'v'), true)).toEqual([]);
    expect(indexTuples({ a: 1 }, p('a.b'), false)).toEqual([[null]]);
  });

  it('arrays fan out to their scalar elements, de-duplicated; nested arrays/objects inside are skipped', () => {
    expect(indexTuples({ tags: ['a', 'b', 'a', 1, null, [2], { x: 1 }] }, p('tags'), false)).toEqual([['a'], ['b'], [1], [null]]);
    expect(indexTuples({ tags: [] }, p('tags'), false)).toEqual([]);
    expect(indexTuples({ tags: [{ x: 1 }] }, p('tags'), false)).toEqual([]);
  });

  it('objects (and non-finite numbers) are not indexed', () => {
    expect(indexTuples({ v: { x: 1 } }, p('v'), false)).toEqual([]);
    expect(indexTuples({ v: { x: 1 } }, p('v'), true)).toEqual([]);
    expect(indexTuples({ v: Infinity }, p('v'), false)).toEqual([]);
    expect(indexTuples({ a: 1, v: { x: 1 } }, p('a', 'v'), false)).toEqual([]);
  });

  it('composite indexes take the cartesian product in column order', () => {
    expect(indexTuples({ a: 1, b: 'x' }, p('a', 'b'), false)).toEqual([[1, 'x']]);
    expect(indexTuples({ a: [1, 2], b: ['x', 'y', 'x'] }, p('a', 'b'), false)).toEqual([
      [1, 'x'],
      [1, 'y'],
      [2, 'x'],
      [2, 'y'],
    ]);
    expect(indexTuples({ a: [1, 2], b: 'z', c: { d: true } }, p('a', 'b', 'c.d'), false)).toEqual([
      [1, 'z', true],
      [2, 'z', true],
    ]);
  });

  it('more than MAX_ENTRIES_PER_DOCUMENT tuples are returned for the caller to refuse', () => {
    const a = Array.from({ length: 40 }, (_, i) => i);
    const b = Array.from({ length: 40 }, (_, i) => `s${i}`);
    const t = indexTuples({ a, b, c: [true, false] }, p('a', 'b', 'c'), false);
    expect(MAX_ENTRIES_PER_DOCUMENT).toBe(1024);
    expect(t.length).toBeGreaterThan(MAX_ENTRIES_PER_DOCUMENT);
    // exactly 1024 is fine
    const ok = indexTuples({ a: Array.from({ length: 32 }, (_, i) => i), b: Array.from({ length: 32 }, (_, i) => i) }, p('a', 'b'), false);
    expect(ok.length).toBe(1024);
    // a single column array with > 1024 distinct elements
    expect(indexTuples({ a: Array.from({ length: 1025 }, (_, i) => i) }, p('a'), false).length).toBe(1025);
  });
});
