import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ThemisError } from '../../src/errors.js';
import type { AqlValue } from '../../src/aql/ast.js';
import {
  arithmetic,
  attributeNames,
  compare,
  compareStrings,
  compileRegex,
  equals,
  getAttribute,
  hasAttribute,
  hashKey,
  inArray,
  isObject,
  like,
  negate,
  numberOrNull,
  plainObject,
  regexMatch,
  setAttribute,
  toArray,
  toBool,
  toJson,
  toNumber,
  toStringValue,
  truthy,
  typeName,
  typeRank,
} from '../../src/aql/values.js';

/** A stored document: `_key` / `_id` as non-enumerable own properties. */
function storedDoc(key: string, body: Record<string, AqlValue>): Record<string, AqlValue> {
  const d = { ...body };
  Object.defineProperty(d, '_key', { value: key, enumerable: false });
  Object.defineProperty(d, '_id', { value: `users/${key}`, enumerable: false });
  return d;
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

describe('typeRank / typeName', () => {
  it.each<[AqlValue | undefined, number, string]>([
    [null, 0, 'null'],
    [undefined, 0, 'null'],
    [false, 1, 'bool'],
    [true, 1, 'bool'],
    [0, 2, 'number'],
    [-1.5, 2, 'number'],
    ['', 3, 'string'],
    ['abc', 3, 'string'],
    [[], 4, 'array'],
    [[1, 2], 4, 'array'],
    [{}, 5, 'object'],
    [{ a: 1 }, 5, 'object'],
  ])('%j has rank %i (%s)', (v, rank, name) => {
    expect(typeRank(v)).toBe(rank);
    expect(typeName(v)).toBe(name);
  });

  it('isObject excludes arrays and null', () => {
    expect(isObject({})).toBe(true);
    expect(isObject([])).toBe(false);
    expect(isObject(null)).toBe(false);
    expect(isObject('x')).toBe(false);
  });
});

describe('compare: value order table', () => {
  // Strictly increasing under ArangoDB's order (documented examples included).
  const chain: AqlValue[] = [
    null,
    false,
    true,
    -1e300,
    -5,
    -0.5,
    0,
    0.5,
    1,
    100,
    1e300,
    '',
    ' ',
    '0',
    'A',
    'B',
    'Z',
    'a',
    'ab',
    'abc',
    'b',
    'z',
    'é', // U+00E9 sorts after ASCII
    '\uffff',
    '😀', // U+1F600: after U+FFFF by code point (JS `<` says otherwise)
    [],
    [false],
    [false, 1],
    [false, ''],
    [true],
    [0],
    [1],
    [1, 2],
    [2],
    [99, 99],
    [100],
    ['a'],
    [[]],
    [{}],
    {},
    { a: false },
    { a: 0 },
    { a: 1 },
    { a: 1, b: 1 },
    { a: 2 },
    { a: 'x' },
    { a: [] },
    { a: {} },
  ];

  it('orders every pair of the chain', () => {
    for (let i = 0; i < chain.length; i++) {
      expect(compare(chain[i]!, chain[i]!)).toBe(0);
      for (let j = i + 1; j < chain.length; j++) {
        const a = chain[i]!;
        const b = chain[j]!;
        if (compare(a, b) !== -1) throw new Error(`expected ${JSON.stringify(a)} < ${JSON.stringify(b)}`);
        expect(compare(b, a)).toBe(1);
        expect(equals(a, b)).toBe(false);
      }
    }
  });

  it('documented type-order examples', () => {
    const pairs: [AqlValue, AqlValue][] = [
      [null, false],
      [null, ''],
      [null, []],
      [null, {}],
      [true, 0],
      [true, ''],
      [true, []],
      [0, ''],
      [0, '0'],
      ['', []],
      ['abc', {}],
      [[], {}],
      [[], [0]],
      [[1], [2]],
      [[1, 2], [2]],
      [[99, 99], [100]],
      [[false], [true]],
      [
        [false, 1],
        [false, ''],
      ],
    ];
    for (const [a, b] of pairs) expect(compare(a, b), `${JSON.stringify(a)} < ${JSON.stringify(b)}`).toBe(-1);
  });

  it('compares strings by code point, not UTF-16 unit', () => {
    expect('\uffff' < '😀').toBe(false); // what JS would say
    expect(compareStrings('\uffff', '😀')).toBe(-1);
    expect(compareStrings('😀', '\uffff')).toBe(1);
    expect(compareStrings('\ue000', '\ud800\udc00')).toBe(-1);
    expect(compareStrings('😀', '😁')).toBe(-1);
    expect(compareStrings('abc', 'abd')).toBe(-1);
    expect(compareStrings('ab', 'abc')).toBe(-1);
    expect(compareStrings('same', 'same')).toBe(0);
    expect(compareStrings('Z', 'a')).toBe(-1);
  });

  it('compares numbers numerically', () => {
    expect(compare(2, 10)).toBe(-1);
    expect(compare(-0, 0)).toBe(0);
    expect(compare(1.5, 1.25)).toBe(1);
  });

  it('treats undefined as null', () => {
    expect(compare(undefined, null)).toBe(0);
    expect(compare(undefined, false)).toBe(-1);
    expect(equals(undefined, null)).toBe(true);
  });

  it('pads the shorter array with null (ArangoDB)', () => {
    expect(compare([], [null])).toBe(0);
    expect(compare([1], [1, null])).toBe(0);
    expect(compare([1], [1, false])).toBe(-1);
    expect(compare([1, 2], [1])).toBe(1);
    expect(equals([1], [1, null])).toBe(true);
  });

  it('compares objects over the sorted union of keys, missing = null', () => {
    expect(compare({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(0);
    expect(compare({}, { a: null })).toBe(0);
    expect(compare({ b: 1 }, { a: 1 })).toBe(-1); // key "a": null < 1
    expect(compare({ a: 1, c: 0 }, { a: 1, b: 0 })).toBe(-1); // key "b": null < 0
    expect(compare({ a: { x: 1 } }, { a: { x: 2 } })).toBe(-1);
    expect(compare({ a: [1, 2] }, { a: [1, 3] })).toBe(-1);
  });

  it('sees the hidden _key / _id of stored documents', () => {
    const a = storedDoc('a', { n: 1 });
    const b = storedDoc('b', { n: 1 });
    expect(compare(a, b)).toBe(-1);
    expect(equals(a, b)).toBe(false);
    expect(equals(a, storedDoc('a', { n: 1 }))).toBe(true);
    expect(equals(a, { n: 1 })).toBe(false);
    expect(equals(a, { n: 1, _key: 'a', _id: 'users/a' })).toBe(true);
  });
});

/** Small values so that equal-but-not-identical pairs come up often. */
const smallValue: fc.Arbitrary<AqlValue> = fc.letrec<{ v: AqlValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<AqlValue>(null, false, true, 0, -0, 1, -1, 0.5, '', 'a', 'b', 'A', 'é', '😀', '\uffff'),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', '_key'), tie('v'), { maxKeys: 3 }),
  ),
})).v;

describe('compare: total order properties (fast-check)', () => {
  it('is antisymmetric and reflexive', () => {
    fc.assert(
      fc.property(smallValue, smallValue, (a, b) => {
        expect(compare(a, a)).toBe(0);
        expect(sign(compare(a, b)) + sign(compare(b, a))).toBe(0);
        expect([-1, 0, 1]).toContain(compare(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(smallValue, smallValue, smallValue, (a, b, c) => {
        if (compare(a, b) <= 0 && compare(b, c) <= 0) expect(compare(a, c)).toBeLessThanOrEqual(0);
        if (compare(a, b) === 0 && compare(b, c) === 0) expect(compare(a, c)).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('a sorted array is pairwise ordered', () => {
    fc.assert(
      fc.property(fc.array(smallValue, { maxLength: 12 }), (xs) => {
        const sorted = xs.slice().sort(compare);
        for (let i = 0; i < sorted.length; i++)
          for (let j = i + 1; j < sorted.length; j++) expect(compare(sorted[i]!, sorted[j]!)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });

  it('is consistent with equals and hashKey', () => {
    fc.assert(
      fc.property(smallValue, smallValue, (a, b) => {
        const eq = compare(a, b) === 0;
        expect(equals(a, b)).toBe(eq);
        expect(hashKey(a) === hashKey(b)).toBe(eq);
      }),
      { numRuns: 3000 },
    );
  });

  it('works on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), (x, y) => {
        const a = x as AqlValue;
        const b = y as AqlValue;
        expect(sign(compare(a, b)) + sign(compare(b, a))).toBe(0);
        expect(equals(a, b)).toBe(compare(a, b) === 0);
        expect(hashKey(a) === hashKey(b)).toBe(compare(a, b) === 0);
        expect(equals(a, JSON.parse(JSON.stringify(a)) as AqlValue)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('equals', () => {
  it.each<[AqlValue, AqlValue, boolean]>([
    [1, 1, true],
    [1, 1.0, true],
    [0, -0, true],
    [1, '1', false],
    [true, 1, false],
    [null, false, false],
    ['', null, false],
    [[1, [2, { a: 3 }]], [1, [2, { a: 3 }]], true],
    [{ a: 1, b: [1] }, { b: [1], a: 1 }, true],
    [{ a: 1 }, { a: '1' }, false],
    [[], {}, false],
  ])('%j == %j is %s', (a, b, r) => {
    expect(equals(a, b)).toBe(r);
    expect(equals(b, a)).toBe(r);
  });
});

describe('hashKey', () => {
  it('distinguishes types and normalises equal values', () => {
    const keys = ([null, false, true, 0, '0', '', [], {}, ['0'], [0], { a: 0 }, { a: '0' }] as AqlValue[]).map((x) => hashKey(x));
    expect(new Set(keys).size).toBe(keys.length);
    expect(hashKey(-0)).toBe(hashKey(0));
    expect(hashKey({ b: 1, a: 2 })).toBe(hashKey({ a: 2, b: 1 }));
    expect(hashKey({ a: null })).toBe(hashKey({}));
    expect(hashKey([1, null, null])).toBe(hashKey([1]));
    expect(hashKey(undefined)).toBe(hashKey(null));
    const lookalikes = (['null', null, 'true', true, '1', 1, '[1]', [1], '"a"', ['a'], '{}', {}, ['a,"b'], ['a', 'b']] as AqlValue[]).map(
      (x) => hashKey(x),
    );
    expect(new Set(lookalikes).size).toBe(lookalikes.length);
    expect(hashKey(storedDoc('k', {}))).toBe(hashKey({ _id: 'users/k', _key: 'k' }));
  });
});

describe('truthy / toBool', () => {
  it.each<[AqlValue | undefined, boolean]>([
    [null, false],
    [undefined, false],
    [false, false],
    [true, true],
    [0, false],
    [-0, false],
    [1, true],
    [-0.5, true],
    ['', false],
    [' ', true],
    ['0', true],
    ['false', true],
    [[], true],
    [[0], true],
    [{}, true],
  ])('%j → %s', (v, r) => {
    expect(truthy(v)).toBe(r);
    expect(toBool(v)).toBe(r);
  });
});

describe('toNumber', () => {
  it.each<[AqlValue | undefined, number]>([
    [null, 0],
    [undefined, 0],
    [false, 0],
    [true, 1],
    [42, 42],
    [-1.5, -1.5],
    ['5', 5],
    ['  12.5  ', 12.5],
    ['\t-3\n', -3],
    ['+7', 7],
    ['1e3', 1000],
    ['.5', 0.5],
    ['5.', 5],
    ['-2.5E-1', -0.25],
    ['', 0],
    [' ', 0],
    ['abc', 0],
    ['12abc', 0],
    ['0x10', 0],
    ['Infinity', 0],
    ['NaN', 0],
    ['1e400', 0],
    ['1 2', 0],
    [[], 0],
    [[8], 8],
    [['8'], 8],
    [[[3]], 3],
    [[8, 9], 0],
    [{}, 0],
    [{ a: 1 }, 0],
  ])('%j → %d', (v, n) => {
    expect(toNumber(v)).toBe(n);
  });
});

describe('toStringValue / toJson', () => {
  it.each<[AqlValue | undefined, string]>([
    [null, ''],
    [undefined, ''],
    [true, 'true'],
    [false, 'false'],
    [123, '123'],
    [1.23, '1.23'],
    [-1.23, '-1.23'],
    [1.0, '1'],
    [-0, '0'],
    [0.0000002, '2e-7'],
    [1e21, '1e+21'],
    ['abc', 'abc'],
    [[1, 2, 3], '[1,2,3]'],
    [{ foo: 'bar', baz: null }, '{"foo":"bar","baz":null}'],
    [[{ a: [] }], '[{"a":[]}]'],
  ])('%j → %s', (v, s) => {
    expect(toStringValue(v)).toBe(s);
  });

  it('JSON includes the hidden _key / _id of stored documents', () => {
    const d = storedDoc('k1', { name: 'x' });
    expect(JSON.stringify(d)).toBe('{"name":"x"}');
    expect(JSON.parse(toJson(d))).toEqual({ name: 'x', _key: 'k1', _id: 'users/k1' });
    expect(JSON.parse(toStringValue([d]))).toEqual([{ name: 'x', _key: 'k1', _id: 'users/k1' }]);
    expect(toJson(undefined)).toBe('null');
  });
});

describe('toArray', () => {
  it('follows TO_ARRAY', () => {
    expect(toArray(null)).toEqual([]);
    expect(toArray(false)).toEqual([false]);
    expect(toArray(5)).toEqual([5]);
    expect(toArray('foo')).toEqual(['foo']);
    expect(toArray([1, 2, 'foo'])).toEqual([1, 2, 'foo']);
    expect(toArray({ foo: 1, bar: 2, baz: [3, 4, 5] })).toEqual([1, 2, [3, 4, 5]]);
    expect(toArray(storedDoc('k', { a: 1 }))).toEqual([1, 'k', 'users/k']);
  });
});

describe('arithmetic', () => {
  it.each<[string, AqlValue, AqlValue, number | null]>([
    ['+', 1, 2, 3],
    ['+', '1', '2', 3], // never string concatenation
    ['+', 'a', 1, 1],
    ['+', null, 1, 1],
    ['+', true, true, 2],
    ['+', [3], 4, 7],
    ['+', [3, 4], 1, 1],
    ['+', {}, 1, 1],
    ['-', 5, 7, -2],
    ['-', '10', 4, 6],
    ['*', 3, '4', 12],
    ['*', 1e308, 10, null],
    ['/', 1, 0, null],
    ['/', 0, 0, null],
    ['/', 1, null, null],
    ['/', 1, '0', null],
    ['/', 7, 2, 3.5],
    ['/', -1, 4, -0.25],
    ['%', 7, 3, 1],
    ['%', -7, 3, -1],
    ['%', 7, -3, 1],
    ['%', 5.5, 2, 1.5],
    ['%', 5, 0, null],
    ['%', 5, false, null],
    ['-', 1e308, -1e308, null],
  ])('%s %j %j → %j', (op, a, b, r) => {
    expect(arithmetic(op as '+', a, b)).toBe(r);
  });

  it('keeps floating point results as JS doubles', () => {
    expect(arithmetic('+', 0.1, 0.2)).toBeCloseTo(0.3, 15);
  });

  it('negate and numberOrNull', () => {
    expect(negate('5')).toBe(-5);
    expect(negate([8])).toBe(-8);
    expect(negate([8, 9])).toBe(0);
    expect(Object.is(negate(0), 0)).toBe(true);
    expect(negate({})).toBe(0);
    expect(numberOrNull(NaN)).toBeNull();
    expect(numberOrNull(Infinity)).toBeNull();
    expect(numberOrNull(-Infinity)).toBeNull();
    expect(Object.is(numberOrNull(-0), 0)).toBe(true);
    expect(numberOrNull(2.5)).toBe(2.5);
  });
});

describe('like', () => {
  it.each<[string, string, boolean, boolean]>([
    ['cart', 'ca_t', false, true],
    ['carrot', 'ca_t', false, false],
    ['carrot', 'ca%t', false, true],
    ['foo bar baz', 'bar', false, false],
    ['foo bar baz', '%bar%', false, true],
    ['bar', '%bar%', false, true],
    ['FoO bAr BaZ', 'fOo%bAz', false, false],
    ['FoO bAr BaZ', 'fOo%bAz', true, true],
    ['abc', 'abc', false, true],
    ['abc', 'ABC', true, true],
    ['abc', 'ab', false, false],
    ['abc', 'ab%', false, true],
    ['abc', '%bc', false, true],
    ['abc', '%', false, true],
    ['', '%', false, true],
    ['', '', false, true],
    ['a', '', false, false],
    ['', '_', false, false],
    ['abc', '___', false, true],
    ['abc', '__', false, false],
    ['abc', '%%%c', false, true],
    ['a%c', 'a\\%c', false, true],
    ['abc', 'a\\%c', false, false],
    ['a_c', 'a\\_c', false, true],
    ['abc', 'a\\_c', false, false],
    ['a\\c', 'a\\\\c', false, true],
    ['a.c', 'a.c', false, true],
    ['abc', 'a.c', false, false],
    ['a+b*(c)', 'a+b*(c)', false, true],
    ['[x]{1}^$|/?', '[x]{1}^$|/?', false, true],
    ['line1\nline2', 'line1%line2', false, true],
    ['line1\nline2', 'line1_line2', false, true],
    ['😀x', '_x', false, true],
    ['ÄÖÜ', 'äöü', true, true],
    ['xyz', 'x\\yz', false, true], // a backslash before an ordinary character is dropped
    ['a\\', 'a\\', false, true], // a trailing lone backslash is literal
  ])('%j LIKE %j (ci=%s) → %s', (text, pattern, ci, r) => {
    expect(like(text, pattern, ci)).toBe(r);
  });

  it('keeps working past the pattern cache capacity', () => {
    for (let i = 0; i < 1200; i++) expect(like(`v${i}x`, `v${i}%`)).toBe(true);
    expect(like('v1x', 'v1%')).toBe(true);
    expect(like('v1x', 'v2%')).toBe(false);
  });
});

describe('regexMatch / compileRegex', () => {
  it('matches anywhere unless anchored', () => {
    expect(regexMatch('the quick brown fox', 'the.*fox')).toBe(true);
    expect(regexMatch('the quick brown fox', '^quick')).toBe(false);
    expect(regexMatch('the quick brown fox', 'qu?ick')).toBe(true);
    expect(regexMatch('the quick brown fox', '^(a|the)\\s+(quick|slow).*f.x$')).toBe(true);
    expect(regexMatch('the\nquick\nbrown\nfox', '^the(\n[a-w]+)+\nfox$')).toBe(true);
  });

  it('supports case-insensitive matching', () => {
    expect(regexMatch('Hello', 'hello')).toBe(false);
    expect(regexMatch('Hello', 'hello', true)).toBe(true);
  });

  it('matches astral characters as one character', () => {
    expect(regexMatch('😀', '^.$')).toBe(true);
  });

  it('accepts patterns only valid without Unicode mode', () => {
    expect(regexMatch('a-b', 'a\\-b')).toBe(true);
    expect(regexMatch('a{b', 'a{b')).toBe(true);
  });

  it('rejects invalid patterns with VALIDATION_FAILED naming the pattern', () => {
    let err: unknown;
    try {
      regexMatch('x', '(unclosed');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ThemisError);
    expect((err as ThemisError).code).toBe('VALIDATION_FAILED');
    expect((err as ThemisError).status).toBe(400);
    expect((err as ThemisError).details).toEqual({ pattern: '(unclosed' });
    expect(() => regexMatch('x', '[')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', details: { pattern: '[' } }));
  });

  it('returns cached compiled patterns that keep no state between uses (RE2, no lastIndex)', () => {
    const re = compileRegex('a');
    expect(re.test('banana')).toBe(true);
    expect(compileRegex('a')).toBe(re);
    expect(re.test('xyz')).toBe(false);
    expect(re.test('a')).toBe(true);
  });
});

describe('inArray', () => {
  it.each<[AqlValue, AqlValue, boolean]>([
    [1, [1, 2, 3], true],
    [4, [1, 2, 3], false],
    ['1', [1, 2, 3], false],
    [0, [-0], true],
    [null, [1, null], true],
    [null, [1], false],
    [false, [0, ''], false],
    [[1, 2], [[1, 2], 3], true],
    [[1, 2], [[2, 1]], false],
    [{ a: 1 }, [{ a: 1 }], true],
    [{ a: 1 }, [{ a: 1, b: 2 }], false],
    [1, 'abc1', false],
    [1, { a: 1 }, false],
    [1, null, false],
    [1, [], false],
  ])('%j IN %j → %s', (n, h, r) => {
    expect(inArray(n, h)).toBe(r);
  });

  it('treats undefined as null', () => {
    expect(inArray(undefined, [null])).toBe(true);
  });
});

describe('attribute helpers', () => {
  it('never exposes prototype members', () => {
    expect(getAttribute({}, 'constructor')).toBeNull();
    expect(getAttribute({}, 'toString')).toBeNull();
    expect(getAttribute({}, '__proto__')).toBeNull();
    expect(getAttribute({}, 'hasOwnProperty')).toBeNull();
    const parsed = JSON.parse('{"__proto__": {"x": 1}, "constructor": 5}') as Record<string, AqlValue>;
    expect(getAttribute(parsed, '__proto__')).toEqual({ x: 1 });
    expect(getAttribute(parsed, 'constructor')).toBe(5);
  });

  it('sees hidden attributes', () => {
    const d = storedDoc('k', { a: 1 });
    expect(getAttribute(d, '_key')).toBe('k');
    expect(hasAttribute(d, '_id')).toBe(true);
    expect(hasAttribute(d, 'toString')).toBe(false);
    expect(attributeNames(d).sort()).toEqual(['_id', '_key', 'a']);
    const p = plainObject(d);
    expect(Object.keys(p).sort()).toEqual(['_id', '_key', 'a']);
  });

  it('setAttribute creates an own __proto__ attribute', () => {
    const o: Record<string, AqlValue> = {};
    setAttribute(o, '__proto__', 1);
    setAttribute(o, 'x', 2);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__', 'x']);
    expect(JSON.stringify(o)).toBe('{"__proto__":1,"x":2}');
  });
});
