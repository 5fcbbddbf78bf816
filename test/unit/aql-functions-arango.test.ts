/**
 * ArangoDB 3.12 fidelity of the AQL functions (issue 22, families 4 and 5):
 * the functions added to match ArangoDB's function reference, and the edge
 * semantics users notice. Expected values are ArangoDB's: from the
 * examples of its documentation (docs-hugo, site/content/arangodb/3.12/aql/
 * functions/*.md, cited as "doc: <page> <example>"), from its own test
 * suite (tests/js/client/aql/aql-functions-*.js, cited as "arangodb test")
 * or, where both are silent, from its C++ implementation (arangod/Aql).
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Governor, Pending } from '../../src/aql/governor.js';
import { arangoLike, likePattern } from '../../src/aql/functions/string.js';
import { callFunction, checkFunction, type FnContext, FUNCTIONS } from '../../src/aql/functions/index.js';
import { thrown } from '../helpers/aql.js';

let warnings: string[] = [];
const ctx: FnContext = { now: () => 0, warn: (m) => warnings.push(m) };

beforeEach(() => {
  warnings = [];
});

function f(name: string, ...args: AqlValue[]): AqlValue {
  return callFunction(name, args, ctx);
}

type Case = [name: string, args: AqlValue[], expected: AqlValue];

/** Calls that return `expected` without a warning. */
function cases(list: Case[]): void {
  it.each(list)('%s(%j) → %j', (name, args, expected) => {
    expect(callFunction(name, args, ctx)).toEqual(expected);
    expect(warnings).toEqual([]);
  });
}

/** Calls that return null with one warning (ArangoDB: null and a query warning). */
function warns(list: [name: string, args: AqlValue[]][]): void {
  it.each(list)('%s(%j) → null with a warning', (name, args) => {
    expect(callFunction(name, args, ctx)).toBeNull();
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/^[A-Z0-9_]+\(\): /);
  });
}

describe('the registry knows ArangoDB 3.12 functions', () => {
  it('has every function added for issue 22, with ArangoDB argument counts', () => {
    const arities: Record<string, [number, number]> = {
      REPEAT: [2, 3],
      TO_CHAR: [1, 1],
      PASSTHRU: [1, 1],
      NOOPT: [1, 1],
      NOEVAL: [1, 1],
      V8: [1, 1],
      DECAY_GAUSS: [5, 5],
      DECAY_EXP: [5, 5],
      DECAY_LINEAR: [5, 5],
      COSINE_SIMILARITY: [2, 2],
      L1_DISTANCE: [2, 2],
      L2_DISTANCE: [2, 2],
      SUBSTRING_BYTES: [2, 5],
      SOUNDEX: [1, 1],
      CRC32: [1, 1],
      FNV64: [1, 1],
      IPV4_TO_NUMBER: [1, 1],
      IPV4_FROM_NUMBER: [1, 1],
      IS_IPV4: [1, 1],
      NGRAM_SIMILARITY: [3, 3],
      NGRAM_POSITIONAL_SIMILARITY: [3, 3],
      LEVENSHTEIN_MATCH: [3, 6],
      IN_RANGE: [5, 5],
      RANDOM: [0, 0],
      BIT_AND: [1, 2],
      BIT_OR: [1, 2],
      BIT_XOR: [1, 2],
      BIT_NEGATE: [2, 2],
      BIT_TEST: [2, 2],
      BIT_POPCOUNT: [1, 1],
      BIT_SHIFT_LEFT: [3, 3],
      BIT_SHIFT_RIGHT: [3, 3],
      BIT_CONSTRUCT: [1, 1],
      BIT_DECONSTRUCT: [1, 1],
      BIT_TO_STRING: [2, 2],
      BIT_FROM_STRING: [1, 1],
      DATE_UTCTOLOCAL: [2, 3],
      DATE_LOCALTOUTC: [2, 3],
      DATE_TIMEZONE: [0, 0],
      DATE_TIMEZONES: [0, 0],
      FAIL: [0, 1],
      SLEEP: [1, 1],
      CALL: [1, Infinity],
      APPLY: [1, 2],
      MIN_MATCH: [2, Infinity],
      CHECK_DOCUMENT: [1, 1],
      DECODE_REV: [1, 1],
      HASH: [1, 1],
      VERSION: [0, 0],
      CURRENT_USER: [0, 0],
      CURRENT_DATABASE: [0, 0],
      MINHASH_COUNT: [1, 1],
      MINHASH_ERROR: [1, 1],
      SCHEMA_VALIDATE: [2, 2],
    };
    for (const [name, [min, max]] of Object.entries(arities)) {
      const d = FUNCTIONS.get(name);
      expect(d, name).toBeDefined();
      expect([d!.minArgs, d!.maxArgs], name).toEqual([min, max]);
    }
  });
});

// ---------------------------------------------------------------------------
// Strings

describe('REPEAT and TO_CHAR', () => {
  cases([
    ['REPEAT', ['foo', 3], 'foofoofoo'], // doc: string.md aqlRepeat_1
    ['REPEAT', ['foo', 3, ' | '], 'foo | foo | foo'], // doc: aqlRepeat_2
    ['REPEAT', [5, 5], '55555'], // doc: aqlRepeat_3
    ['REPEAT', ['foo', 0], ''],
    ['REPEAT', ['foo', '2'], 'foofoo'], // the count converts like TO_NUMBER
    ['REPEAT', [null, 3, '-'], '--'],
    ['TO_CHAR', [216], 'Ø'], // doc: string.md aqlToChar
    ['TO_CHAR', [0x1f951], '🥑'], // doc: aqlToChar
    ['TO_CHAR', [65.9], 'A'],
  ]);
  warns([
    ['REPEAT', ['foo', -1]],
    ['REPEAT', ['x', 16 * 1024 * 1024 + 1]], // "Output string of AQL REPEAT function was limited to 16MB."
    ['TO_CHAR', ['65']],
    ['TO_CHAR', [-1]],
  ]);
});

describe('SUBSTRING_BYTES', () => {
  const text = 'We ❤️ avocado!';
  cases([
    ['SUBSTRING_BYTES', [text, 10], 'avocado!'], // doc: string.md aqlSubstringBytes_1
    ['SUBSTRING_BYTES', [text, 3, 3], '❤'], // doc: aqlSubstringBytes_2
    ['SUBSTRING_BYTES', [text, -15, 6], '❤️'], // doc: aqlSubstringBytes_3
    ['SUBSTRING_BYTES', [text, 3, 3, 3, 5], 'We ❤️ avo'], // doc: aqlSubstringBytes_5
    ['SUBSTRING_BYTES', ['', 3], ''],
    ['SUBSTRING_BYTES', ['abc', 1, 1, 1], 'abc'],
  ]);
  warns([
    ['SUBSTRING_BYTES', [text, -15, 4]], // doc: aqlSubstringBytes_4 (incomplete UTF-8 sequence)
    ['SUBSTRING_BYTES', [123, 0]],
  ]);
});

describe('SOUNDEX, CRC32, FNV64', () => {
  cases([
    ['SOUNDEX', ['example'], 'E251'], // doc: string.md aqlSoundex
    ['SOUNDEX', ['ekzampul'], 'E251'], // doc: aqlSoundex
    ['SOUNDEX', ['soundex'], 'S532'], // doc: aqlSoundex
    ['SOUNDEX', ['sounteks'], 'S532'], // doc: aqlSoundex
    ['SOUNDEX', ['Robert'], 'R163'],
    ['SOUNDEX', ['Ashcraft'], 'A261'], // h and w do not separate equal codes
    ['SOUNDEX', [''], ''],
    ['CRC32', ['foobar'], 'D5F5C7F'], // doc: string.md aqlCrc32 (CRC-32C, upper-case hex)
    ['CRC32', [''], '0'],
    ['FNV64', ['foobar'], '85944171F73967E8'], // doc: string.md aqlFnv64 (FNV-1a 64)
  ]);
});

describe('IPv4', () => {
  cases([
    ['IPV4_FROM_NUMBER', [0], '0.0.0.0'], // doc: string.md aqlIPv4FromNumber_1..4
    ['IPV4_FROM_NUMBER', [134744072], '8.8.8.8'],
    ['IPV4_FROM_NUMBER', [2130706433], '127.0.0.1'],
    ['IPV4_FROM_NUMBER', [3232235521], '192.168.0.1'],
    ['IPV4_TO_NUMBER', ['0.0.0.0'], 0], // doc: aqlIPv4ToNumber_1..4
    ['IPV4_TO_NUMBER', ['8.8.8.8'], 134744072],
    ['IPV4_TO_NUMBER', ['127.0.0.1'], 2130706433],
    ['IPV4_TO_NUMBER', ['192.168.0.1'], 3232235521],
    ['IS_IPV4', ['127.0.0.1'], true], // doc: type-check-and-cast.md / string.md aqlIsIPv4_1..6
    ['IS_IPV4', ['8.8.8.8'], true],
    ['IS_IPV4', ['008.008.008.008'], false],
    ['IS_IPV4', ['12345.2.3.4'], false],
    ['IS_IPV4', ['12.34'], false],
    ['IS_IPV4', [8888], false],
    ['IS_IPV4', ['256.1.1.1'], false],
  ]);
  warns([
    ['IPV4_FROM_NUMBER', [-23]], // doc: aqlIPv4FromNumber_5
    ['IPV4_FROM_NUMBER', [4294967296]],
    ['IPV4_FROM_NUMBER', ['1']],
    ['IPV4_TO_NUMBER', ['milk']], // doc: aqlIPv4ToNumber_5
  ]);
});

describe('n-gram similarity and LEVENSHTEIN_MATCH', () => {
  // doc: string.md aqlNgramSimilarity / aqlNgramPositionalSimilarity (single precision, as iresearch computes them)
  cases([
    ['NGRAM_SIMILARITY', ['quick fox', 'quick foxx', 2], Math.fround(8 / 9)],
    ['NGRAM_SIMILARITY', ['quick fox', 'quick foxx', 3], 0.875],
    ['NGRAM_SIMILARITY', ['quick fox', 'quirky fox', 2], Math.fround(5 / 9)],
    ['NGRAM_SIMILARITY', ['quick fox', 'quirky fox', 3], 0.375],
    ['NGRAM_POSITIONAL_SIMILARITY', ['quick fox', 'quick foxx', 2], Math.fround(8 / 9)],
    ['NGRAM_POSITIONAL_SIMILARITY', ['quick fox', 'quick foxx', 3], 0.875],
    ['NGRAM_POSITIONAL_SIMILARITY', ['quick fox', 'quirky fox', 2], Math.fround(Math.fround(6.5) / 9)],
    ['NGRAM_POSITIONAL_SIMILARITY', ['quick fox', 'quirky fox', 3], Math.fround(Math.fround(16 / 3) / 8)],
    ['NGRAM_SIMILARITY', ['a', 'abc', 2], 0],
    ['NGRAM_POSITIONAL_SIMILARITY', ['', '', 2], 1],
    ['LEVENSHTEIN_MATCH', ['quick', 'quikc', 1], true], // a transposition is one edit by default
    ['LEVENSHTEIN_MATCH', ['quick', 'quikc', 1, false], false],
    ['LEVENSHTEIN_MATCH', ['quick', 'quikc', 2, false], true],
    // arangod/Aql/Functions (LevenshteinMatch): outside a SEARCH, maxTerms and prefix have no effect
    ['LEVENSHTEIN_MATCH', ['foobar', 'foobax', 1, true, 64, 'foo'], true],
    ['LEVENSHTEIN_MATCH', ['foobar', 'bax', 1, true, 64, 'foo'], false],
    ['LEVENSHTEIN_MATCH', [123, '', 0], true], // a non-string is ""
    ['LEVENSHTEIN_MATCH', ['abcdefgh', 'badcfehg', 4, true], false], // above 3 with transpositions: plain LEVENSHTEIN_DISTANCE (5), not 4
    ['LEVENSHTEIN_MATCH', ['abcdef', 'badcfe', 3, true], true], // three transpositions
  ]);
  warns([
    ['NGRAM_SIMILARITY', ['a', 'b', 0]],
    ['NGRAM_SIMILARITY', [1, 'b', 2]],
    ['LEVENSHTEIN_MATCH', ['a', 'b', 5, false]], // at most 4 without transpositions
    ['LEVENSHTEIN_MATCH', ['a', 'b', -1]],
    ['LEVENSHTEIN_MATCH', ['a', 'b', '1']],
    ['LEVENSHTEIN_MATCH', ['a', 'b', 1, 'yes']],
  ]);
});

describe('IN_RANGE', () => {
  cases([
    ['IN_RANGE', [4, 3, 5, true, true], true], // doc: miscellaneous.md aqlMiscInRange_1
    ['IN_RANGE', [3, 3, 5, false, true], false], // doc: aqlMiscInRange_2
    ['IN_RANGE', [5, 3, 5, false, true], true],
    ['IN_RANGE', [6, 3, 5, false, true], false],
    ['IN_RANGE', ['fox grape', 'fo', 'fp', true, false], true], // doc: aqlMiscInRange_3
    ['IN_RANGE', ['fennel', 'fo', 'fp', true, false], false],
    ['IN_RANGE', [1, 1, 1, true, false], false], // low == high with an open end matches nothing
    ['IN_RANGE', [null, null, 0, true, true], true], // AQL's type order
  ]);
  warns([['IN_RANGE', [1, 0, 2, 1, true]]]);
});

// ---------------------------------------------------------------------------
// Numbers, vectors, bits

describe('decay functions', () => {
  cases([
    ['DECAY_GAUSS', [41, 40, 5, 5, 0.5], 1], // doc: numeric.md DECAY_GAUSS
    ['DECAY_GAUSS', [[20, 41], 40, 5, 5, 0.5], [0.0019531250000000017, 1]], // doc
    ['DECAY_EXP', [41, 40, 5, 5, 0.7], 1], // doc: DECAY_EXP
    ['DECAY_EXP', [2, 0, 10, 0, 0.2], 0.7247796636776955], // doc
    ['DECAY_LINEAR', [41, 40, 5, 5, 0.5], 1], // doc: DECAY_LINEAR
    ['DECAY_LINEAR', [9.8, 0, 10, 0, 0.2], 0.21599999999999994], // doc
    ['DECAY_LINEAR', [[5, 6, 7], 0, 10, 0, 0.2], [0.6, 0.52, 0.44]], // doc: DECAY_LINEAR(5..7, ...)
  ]);
  it('matches the documented values up to the last digit of the C library', () => {
    expect(f('DECAY_GAUSS', 49.9889, 49.987, 0.001, 0.001, 0.2)).toBeCloseTo(0.2715403018822964, 14); // doc
    expect(f('DECAY_EXP', 49.9889, 50, 0.001, 0.001, 0.2)).toBeCloseTo(8.717720806626885e-8, 20); // doc
  });
  warns([
    ['DECAY_GAUSS', ['1', 0, 1, 0, 0.5]],
    ['DECAY_GAUSS', [1, 0, 0, 0, 0.5]], // scale must be > 0
    ['DECAY_EXP', [1, 0, 1, -1, 0.5]], // offset must be >= 0
    ['DECAY_LINEAR', [1, 0, 1, 0, 1]], // decay must be in (0, 1)
    ['DECAY_LINEAR', [[1, 'a'], 0, 1, 0, 0.5]],
  ]);
});

describe('vector distances', () => {
  cases([
    [
      'COSINE_SIMILARITY',
      [
        [0, 1],
        [1, 0],
      ],
      0,
    ], // doc: numeric.md COSINE_SIMILARITY
    [
      'COSINE_SIMILARITY',
      [
        [
          [0, 1, 0, 1],
          [1, 0, 0, 1],
          [1, 1, 1, 0],
          [0, 0, 0, 1],
        ],
        [1, 1, 1, 1],
      ],
      [0.7071067811865475, 0.7071067811865475, 0.8660254037844387, 0.5],
    ], // doc: [0.707, 0.707, 0.866, 0.5]
    [
      'COSINE_SIMILARITY',
      [
        [-1, 0],
        [1, 0],
      ],
      -1,
    ], // doc
    [
      'L1_DISTANCE',
      [
        [-1, -1],
        [2, 2],
      ],
      6,
    ], // doc: L1_DISTANCE
    [
      'L1_DISTANCE',
      [
        [
          [1, 2, 3],
          [-1, -2, -3],
          [3, 4, 5],
          [-5, 2, 1],
        ],
        [1, 1, 1],
      ],
      [3, 9, 9, 7],
    ], // doc
    ['L1_DISTANCE', [[1.5], [3]], 1.5], // doc
    [
      'L2_DISTANCE',
      [
        [1, 1],
        [5, 2],
      ],
      4.123105625617661,
    ], // doc: 4.1231056256176606
    [
      'L2_DISTANCE',
      [
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ],
        [3, 2, 1],
      ],
      [2.8284271247461903, 5.916079783099616, 10.770329614269007],
    ], // doc
    [
      'L2_DISTANCE',
      [
        [0, 1],
        [1, 0],
      ],
      Math.SQRT2,
    ], // doc: 1.4142135623730951
    ['L2_DISTANCE', [[3, 2, 1], [[1, 2, 3]]], [2.8284271247461903]], // the matrix may come second
  ]);
  warns([
    [
      'COSINE_SIMILARITY',
      [
        [0, 0],
        [1, 0],
      ],
    ], // zero vector: invalid arithmetic value
    ['L1_DISTANCE', [[1, 2], [1]]], // unequal lengths
    ['L2_DISTANCE', [[], []]],
    [
      'L2_DISTANCE',
      [
        [1, 'a'],
        [1, 2],
      ],
    ],
    [
      'L2_DISTANCE',
      [
        [[1, 2], 3],
        [1, 2],
      ],
    ], // a matrix row that is not an array
    ['COSINE_SIMILARITY', ['a', [1]]],
  ]);
});

describe('bit functions', () => {
  // doc: bit.md, every example
  cases([
    ['BIT_AND', [[1, 4, 8, 16]], 0],
    ['BIT_AND', [[3, 7, 63]], 3],
    ['BIT_AND', [[255, 127, null, 63]], 63],
    ['BIT_AND', [127, 255], 127],
    ['BIT_CONSTRUCT', [[1, 2, 3]], 14],
    ['BIT_CONSTRUCT', [[0, 4, 8]], 273],
    ['BIT_CONSTRUCT', [[0, 1, 10, 31]], 2147484675],
    ['BIT_DECONSTRUCT', [14], [1, 2, 3]],
    ['BIT_DECONSTRUCT', [273], [0, 4, 8]],
    ['BIT_DECONSTRUCT', [2147484675], [0, 1, 10, 31]],
    ['BIT_FROM_STRING', ['0111'], 7],
    ['BIT_FROM_STRING', ['000000000000010'], 2],
    ['BIT_FROM_STRING', ['11010111011101'], 13789],
    ['BIT_FROM_STRING', ['100000000000000000000'], 1048576], // the doc prints 1048756, a typo for 2^20
    ['BIT_NEGATE', [0, 8], 255],
    ['BIT_NEGATE', [0, 10], 1023],
    ['BIT_NEGATE', [3, 4], 12],
    ['BIT_NEGATE', [446359921, 32], 3848607374],
    ['BIT_OR', [[1, 4, 8, 16]], 29],
    ['BIT_OR', [[3, 7, 63]], 63],
    ['BIT_OR', [[255, 127, null, 63]], 255],
    ['BIT_OR', [255, 127], 255],
    ['BIT_POPCOUNT', [0], 0],
    ['BIT_POPCOUNT', [255], 8],
    ['BIT_POPCOUNT', [69399252], 12],
    ['BIT_SHIFT_LEFT', [0, 1, 8], 0],
    ['BIT_SHIFT_LEFT', [7, 1, 16], 14],
    ['BIT_SHIFT_LEFT', [2, 10, 16], 2048],
    ['BIT_SHIFT_LEFT', [878836, 16, 32], 1760821248],
    ['BIT_SHIFT_RIGHT', [0, 1, 8], 0],
    ['BIT_SHIFT_RIGHT', [33, 1, 16], 16],
    ['BIT_SHIFT_RIGHT', [65536, 13, 16], 8],
    ['BIT_SHIFT_RIGHT', [878836, 4, 32], 54927],
    ['BIT_TEST', [0, 3], false],
    ['BIT_TEST', [255, 0], true],
    ['BIT_TEST', [7, 2], true],
    ['BIT_TEST', [255, 8], false],
    ['BIT_TO_STRING', [7, 4], '0111'],
    ['BIT_TO_STRING', [255, 8], '11111111'],
    ['BIT_TO_STRING', [60, 8], '00111100'],
    ['BIT_TO_STRING', [1048576, 32], '00000000000100000000000000000000'],
    ['BIT_XOR', [[1, 4, 8, 16]], 29],
    ['BIT_XOR', [[3, 7, 63]], 59],
    ['BIT_XOR', [[255, 127, null, 63]], 191],
    ['BIT_XOR', [255, 257], 510],
    ['BIT_AND', [[]], null],
    ['BIT_POPCOUNT', [7.9], 3], // fractions are cut off (velocypack getNumber<uint64_t>)
  ]);
  warns([
    ['BIT_AND', ['foo']], // doc: BIT_AND("foo") // null
    ['BIT_OR', ['foo']], // doc
    ['BIT_XOR', ['foo']], // doc
    ['BIT_POPCOUNT', ['foo']], // doc
    ['BIT_AND', [[1, -1]]],
    ['BIT_OR', [4294967296, 1]],
    ['BIT_TEST', [1, 32]],
    ['BIT_NEGATE', [1, 33]],
    ['BIT_CONSTRUCT', [[32]]],
    ['BIT_FROM_STRING', ['012']],
    ['BIT_FROM_STRING', ['0b11']],
  ]);
});

describe('RANDOM', () => {
  it('is an alias of RAND', () => {
    const r = f('RANDOM') as number;
    expect(r).toBeGreaterThanOrEqual(0);
    expect(r).toBeLessThan(1);
  });
});

// ---------------------------------------------------------------------------
// Miscellaneous

describe('PASSTHRU, NOOPT, NOEVAL, V8', () => {
  cases([
    ['PASSTHRU', [{ a: [1] }], { a: [1] }], // doc: miscellaneous.md PASSTHRU
    ['NOOPT', [123], 123], // doc: RETURN NOOPT( 123 )
    ['NOOPT', ['ab'], 'ab'], // doc: RETURN NOOPT( CONCAT("a", "b") )
    ['NOEVAL', [null], null],
    ['V8', [2], 2], // doc: V8(1 + 1)
  ]);
});

describe('CALL and APPLY', () => {
  cases([
    ['APPLY', ['SUBSTRING', ['this is a test', 0, 7]], 'this is'], // doc: miscellaneous.md APPLY
    ['CALL', ['SUBSTRING', 'this is a test', 0, 4], 'this'], // doc: CALL
    ['CALL', ['lower', 'FOOBARBAZ'], 'foobarbaz'], // arangodb test: aql-call-apply.js testCall
    ['CALL', ['flOoR', 1.6], 1],
    ['CALL', ['ZIP', ['a', 'b', 'c'], [true, false, null]], { a: true, b: false, c: null }],
    ['CALL', ['CALL', 'TRIM', '  foo bar  '], 'foo bar'], // arangodb test: testCallRecursive
    ['CALL', ['APPLY', 'TRIM', ['  foo bar  ']], 'foo bar'],
    ['APPLY', ['APPLY', ['TRIM', ['  foo bar  ']]], 'foo bar'], // arangodb test: testApplyRecursive
    ['APPLY', ['UUID'], expect.any(String)], // the arguments may be omitted
  ]);
  it('fails the query for an unknown name, a user-defined one, a non-string name or a wrong argument count', () => {
    // arangodb test: testCallNonExisting / testApplyNonExisting (query errors, not warnings)
    expect(thrown(() => f('CALL', 'nono-existing', 'baz')).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => f('CALL', ' trim', 'baz')).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => f('CALL', 'foo::bar::baz', 'baz')).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => f('CALL', 123, 'baz')).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => f('APPLY', [], ['baz'])).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => f('APPLY', 'TRIM', [])).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => f('CALL', 'DOCUMENT', 'users/a')).code).toBe('VALIDATION_FAILED');
    expect(() => checkFunction('APPLY', 3)).toThrow(); // APPLY('TRIM', 1, 2)
    expect(() => checkFunction('CALL', 0)).toThrow(); // CALL()
  });
});

describe('FAIL, SLEEP, MIN_MATCH, CHECK_DOCUMENT', () => {
  it('FAIL fails the query with "FAIL(reason) called"', () => {
    const e = thrown(() => f('FAIL', 'error'));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toBe('FAIL(error) called');
    expect(thrown(() => f('FAIL')).message).toBe('FAIL() called');
  });

  it('SLEEP waits (without blocking the event loop inside a query) and returns null', async () => {
    const gov = new Governor({ deadline: Date.now() + 10_000, maxMemory: 1e9, maxDepth: 64 });
    const started = Date.now();
    const r = FUNCTIONS.get('SLEEP')!.fn([0.05], { ...ctx, gov });
    expect(r).toBeInstanceOf(Pending);
    expect(await (r as Pending).promise).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(f('SLEEP', 0)).toBeNull();
  });

  it('SLEEP past the query deadline ends the query with a timeout', async () => {
    const gov = new Governor({ deadline: Date.now() + 20, maxMemory: 1e9, maxDepth: 64 });
    const r = FUNCTIONS.get('SLEEP')!.fn([5], { ...ctx, gov }) as Pending;
    await expect(r.promise).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  cases([
    // doc: miscellaneous.md MIN_MATCH (two of three conditions)
    ['MIN_MATCH', [true, true, false, 2], true],
    ['MIN_MATCH', [true, false, false, 2], false],
    ['MIN_MATCH', [0, 'x', [], 2], true],
    ['MIN_MATCH', [false, 0], true],
    ['CHECK_DOCUMENT', [{ a: 1, b: 2 }], true], // doc: CHECK_DOCUMENT({ a: 1, a: 2 }) is true (the literal drops duplicates)
    ['CHECK_DOCUMENT', [[1]], false],
    ['CHECK_DOCUMENT', ['x'], false],
  ]);
  warns([['MIN_MATCH', [true, 'two']]]);
});

describe('DECODE_REV, HASH, VERSION, CURRENT_USER, CURRENT_DATABASE', () => {
  cases([
    ['DECODE_REV', ['_YU0HOEG---'], { date: '2019-03-11T16:15:05.314Z', count: 0 }], // doc: miscellaneous.md DECODE_REV
    ['VERSION', [], '3.12.0'],
    ['CURRENT_DATABASE', [], '_system'],
    ['CURRENT_USER', [], null], // doc: null without authentication
  ]);
  warns([
    ['DECODE_REV', [1]],
    ['DECODE_REV', ['not a rev!']],
    ['DECODE_REV', ['']],
  ]);

  it('CURRENT_USER and CURRENT_DATABASE come from the query context', () => {
    expect(callFunction('CURRENT_USER', [], { ...ctx, user: 'alice' })).toBe('alice');
    expect(callFunction('CURRENT_DATABASE', [], { ...ctx, database: 'shop' })).toBe('shop');
  });

  it('HASH: a number, equal for equal values regardless of attribute order, different across types', () => {
    // doc: "the number 1 and the string "1" will have different hash values"; attribute order does not matter
    const h = f('HASH', { a: 1, b: [1, 'x'] }) as number;
    expect(Number.isSafeInteger(h)).toBe(true);
    expect(f('HASH', { b: [1, 'x'], a: 1 })).toBe(h);
    expect(f('HASH', 1)).not.toBe(f('HASH', '1'));
    expect(f('HASH', [1, 2])).not.toBe(f('HASH', [2, 1]));
  });
});

describe('MINHASH_COUNT, MINHASH_ERROR', () => {
  cases([
    ['MINHASH_COUNT', [0.05], 400], // doc: miscellaneous.md aqlMinHashCount
    ['MINHASH_ERROR', [400], 0.05], // doc: aqlMinHashError
  ]);
  warns([
    ['MINHASH_COUNT', [0]],
    ['MINHASH_COUNT', [1]],
    ['MINHASH_ERROR', [0]],
    ['MINHASH_ERROR', ['x']],
  ]);
});

describe('SCHEMA_VALIDATE', () => {
  const schema = {
    rule: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    level: 'strict',
    message: 'name!',
  };
  cases([
    ['SCHEMA_VALIDATE', [{ name: 'x' }, schema], { valid: true }],
    ['SCHEMA_VALIDATE', [{ name: 1 }, schema], { valid: false, errorMessage: 'name!' }],
    ['SCHEMA_VALIDATE', [{ a: 1 }, null], { valid: true }], // doc: a null schema passes every object
    ['SCHEMA_VALIDATE', [{ a: 1 }, {}], { valid: true }], // doc: so does an empty one
  ]);
  warns([
    ['SCHEMA_VALIDATE', [[1], schema]],
    ['SCHEMA_VALIDATE', [{ a: 1 }, 'schema']],
  ]);
  it('an invalid rule fails the query', () => {
    expect(thrown(() => f('SCHEMA_VALIDATE', { a: 1 }, { rule: { type: 'no-such-type' } })).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => f('SCHEMA_VALIDATE', { a: 1 }, { level: 'strict' })).code).toBe('VALIDATION_FAILED');
  });
});

// ---------------------------------------------------------------------------
// Dates

describe('DATE_UTCTOLOCAL, DATE_LOCALTOUTC, DATE_TIMEZONE(S)', () => {
  cases([
    // doc: date.md aqlDateTimeToLocal_1 / _2
    ['DATE_UTCTOLOCAL', ['2020-03-15T00:00:00.000', 'Europe/Berlin'], '2020-03-15T01:00:00.000'],
    ['DATE_UTCTOLOCAL', ['2020-03-15T00:00:00.000', 'America/New_York'], '2020-03-14T20:00:00.000'],
    ['DATE_UTCTOLOCAL', ['2020-03-15T00:00:00.000', 'UTC'], '2020-03-15T00:00:00.000Z'],
    ['DATE_UTCTOLOCAL', ['2020-03-15T00:00:00.000', 'Asia/Shanghai'], '2020-03-15T08:00:00.000'],
    ['DATE_UTCTOLOCAL', ['2020-03-15T00:00:00.000Z', 'Asia/Shanghai'], '2020-03-15T08:00:00.000'],
    ['DATE_UTCTOLOCAL', ['2020-03-15T00:00:00.000-02:00', 'Asia/Shanghai'], '2020-03-15T10:00:00.000'],
    ['DATE_UTCTOLOCAL', [1584230400000, 'Asia/Shanghai'], '2020-03-15T08:00:00.000'],
    // doc: date.md aqlDateTimeToUTC_1 / _2
    ['DATE_LOCALTOUTC', ['2020-03-15T00:00:00.000', 'Europe/Berlin'], '2020-03-14T23:00:00.000Z'],
    ['DATE_LOCALTOUTC', ['2020-03-15T00:00:00.000', 'America/New_York'], '2020-03-15T04:00:00.000Z'],
    ['DATE_LOCALTOUTC', ['2020-03-15T00:00:00.000', 'UTC'], '2020-03-15T00:00:00.000Z'],
    ['DATE_LOCALTOUTC', ['2020-03-15T00:00:00.000', 'Asia/Shanghai'], '2020-03-14T16:00:00.000Z'],
    ['DATE_LOCALTOUTC', ['2020-03-15T00:00:00.000Z', 'Asia/Shanghai'], '2020-03-14T16:00:00.000Z'],
    ['DATE_LOCALTOUTC', ['2020-03-15T00:00:00.000-02:00', 'Asia/Shanghai'], '2020-03-14T18:00:00.000Z'],
    ['DATE_LOCALTOUTC', [1584230400000, 'Asia/Shanghai'], '2020-03-14T16:00:00.000Z'],
  ]);

  it('reports the zone information with zoneinfo = true', () => {
    // doc: date.md aqlDateTimeToUTC_3 / aqlDateTimeToLocal_3 (the result's shape)
    const r = f('DATE_LOCALTOUTC', '2021-03-16T12:00:00.000', 'Africa/Lagos', true) as Record<string, AqlValue>;
    expect(r.utc).toBe('2021-03-16T11:00:00.000Z');
    expect(typeof r.tzdb).toBe('string');
    expect(r.zoneInfo).toMatchObject({ dst: false, offset: 3600, end: null });
    const berlin = f('DATE_UTCTOLOCAL', '2021-07-16T12:00:00.000', 'Europe/Berlin', true) as Record<string, AqlValue>;
    expect(berlin).toMatchObject({
      local: '2021-07-16T14:00:00.000',
      zoneInfo: { name: 'CEST', begin: '2021-03-28T01:00:00.000Z', end: '2021-10-31T01:00:00.000Z', dst: true, offset: 7200 },
    });
    expect(f('DATE_UTCTOLOCAL', 0, 'UTC', true)).toMatchObject({ zoneInfo: { name: 'UTC', dst: false, offset: 0 } });
  });

  it('DATE_TIMEZONE names the server zone; DATE_TIMEZONES lists the known zones', () => {
    expect(typeof f('DATE_TIMEZONE')).toBe('string');
    const zones = f('DATE_TIMEZONES') as string[];
    expect(zones).toEqual(expect.arrayContaining(['Europe/Berlin', 'America/New_York', 'UTC']));
  });

  warns([
    ['DATE_UTCTOLOCAL', [0, null]],
    ['DATE_UTCTOLOCAL', [0, 'UTC', 'yes']],
    ['DATE_LOCALTOUTC', ['nope', 'UTC']],
  ]);
  it('an unknown zone fails the query', () => {
    expect(thrown(() => f('DATE_UTCTOLOCAL', 0, 'Mars/Olympus_Mons')).code).toBe('VALIDATION_FAILED');
  });
});

// ---------------------------------------------------------------------------
// Edge semantics (family 5)

describe('CONTAINS with an empty or null needle', () => {
  // ArangoDB (StringFunctions.cpp, contains): only a non-empty search string is looked for.
  cases([
    ['CONTAINS', ['abc', ''], false],
    ['CONTAINS', ['abc', '', true], -1],
    ['CONTAINS', ['abc', null], false],
    ['CONTAINS', ['abc', null, true], -1],
    ['CONTAINS', ['', ''], false],
    ['CONTAINS', [null, null], false],
    ['CONTAINS', ['foobarbaz', 'bar', true], 3], // doc: string.md aqlContainsMatchIndex
    ['CONTAINS', ['null', null], false],
  ]);
});

describe('LIKE with backslashes and escaped wildcards', () => {
  // doc: string.md LIKE: `\\_` a literal underscore, `\\%` a literal percent sign
  // (the AQL string literal "\\%" is the two characters \%); ArangoDB's pattern
  // builder (AqlFunctionsInternalCache::buildLikePattern) for the rest.
  cases([
    ['LIKE', ['cart', 'ca_t'], true], // doc: aqlLikeString_1
    ['LIKE', ['carrot', 'ca_t'], false],
    ['LIKE', ['carrot', 'ca%t'], true],
    ['LIKE', ['foo bar baz', 'bar'], false], // doc: aqlLikeString_2
    ['LIKE', ['foo bar baz', '%bar%'], true],
    ['LIKE', ['bar', '%bar%'], true],
    ['LIKE', ['FoO bAr BaZ', 'fOo%bAz'], false], // doc: aqlLikeString_3
    ['LIKE', ['FoO bAr BaZ', 'fOo%bAz', true], true],
    ['LIKE', ['100%', '100\\%'], true], // \% is a literal percent sign
    ['LIKE', ['1000', '100\\%'], false],
    ['LIKE', ['a_c', 'a\\_c'], true], // \_ is a literal underscore
    ['LIKE', ['abc', 'a\\_c'], false],
    ['LIKE', ['a\\b', 'a\\\\b'], true], // \\ is a literal backslash
    ['LIKE', ['ab', 'a\\\\b'], false],
    ['LIKE', ['a\\b', 'a\\b'], true], // a backslash before an ordinary character stays a backslash
    ['LIKE', ['ab', 'a\\b'], false],
    ['LIKE', ['a.b', 'a\\.b'], true], // ... and is dropped before a regex special character
    ['LIKE', ['axb', 'a\\.b'], false],
    ['LIKE', ['a', 'a\\'], true], // a trailing lone backslash is dropped
    ['LIKE', ['a\\', 'a\\'], false],
    ['LIKE', ['a\\%x', 'a\\\\\\%x'], true], // \\ then \%
    ['LIKE', ['a\\zzz', 'a\\\\%'], true], // \\ then the wildcard
    ['LIKE', ['line1\nline2', 'line1_line2'], true], // wildcards match newlines
    ['LIKE', ['line1\nline2', 'line1%'], true],
  ]);
  it('a pattern with every %, _ and \\ escaped matches exactly its own text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '%', '_', '\\', '.', '*', '[', '(', '\n', 'ä') }), (text) => {
        const escaped = text.replace(/[%_\\]/g, (c) => `\\${c}`);
        expect(arangoLike(text, escaped)).toBe(true);
        expect(arangoLike(`${text}x`, escaped)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
  it('likePattern rewrites only what the two readings disagree on', () => {
    expect(likePattern('plain%_')).toBe('plain%_');
    expect(likePattern('a\\b')).toBe('a\\\\b');
    expect(likePattern('a\\')).toBe('a');
    expect(arangoLike('A\\B', 'a\\b', true)).toBe(true);
  });
});

describe('REMOVE_NTH with negative and fractional positions', () => {
  // ArangoDB (ListFunctions.cpp, RemoveNth): p = TO_NUMBER(position) as a float; out of bounds when
  // p >= length or p < -length; a negative p counts from the end (p + length); then truncated.
  cases([
    ['REMOVE_NTH', [['a', 'b', 'c', 'd', 'e'], 1], ['a', 'c', 'd', 'e']], // doc: array.md aqlArrayRemoveNth_1
    ['REMOVE_NTH', [['a', 'b', 'c', 'd', 'e'], -2], ['a', 'b', 'c', 'e']], // doc: aqlArrayRemoveNth_2
    ['REMOVE_NTH', [[1, 2, 3], -0.5], [1, 2]], // -0.5 + 3 = 2.5 → index 2
    ['REMOVE_NTH', [[1, 2, 3], -1.5], [1, 3]], // 1.5 → index 1
    ['REMOVE_NTH', [[1, 2, 3], -3], [2, 3]],
    ['REMOVE_NTH', [[1, 2, 3], -3.5], [1, 2, 3]], // below -length: unchanged
    ['REMOVE_NTH', [[1, 2, 3], 1.9], [1, 3]],
    ['REMOVE_NTH', [[1, 2, 3], 2.5], [1, 2]],
    ['REMOVE_NTH', [[1, 2, 3], 3], [1, 2, 3]],
    ['REMOVE_NTH', [[1, 2, 3], '1'], [1, 3]],
    ['REMOVE_NTH', [null, 0], []], // a null array is []
  ]);
  warns([['REMOVE_NTH', [{}, 0]]]);
});

describe('REMOVE_VALUES with null', () => {
  // ArangoDB (ListFunctions.cpp, RemoveValues): null values return the array as is;
  // a null array is []; anything else that is not an array: null and a warning.
  cases([
    [
      'REMOVE_VALUES',
      [
        ['a', 'a', 'b', 'c', 'd', 'e', 'f'],
        ['a', 'f', 'd'],
      ],
      ['b', 'c', 'e'],
    ], // doc: array.md aqlArrayRemoveValues_1
    ['REMOVE_VALUES', [null, [1]], []],
    ['REMOVE_VALUES', [null, null], null],
    ['REMOVE_VALUES', [[1, 2], null], [1, 2]],
    ['REMOVE_VALUES', ['x', null], 'x'],
  ]);
  warns([
    ['REMOVE_VALUES', [1, [1]]],
    ['REMOVE_VALUES', [[1, 2], 1]],
  ]);
});

describe('DATE_FORMAT %z and %t with a time zone', () => {
  cases([
    // arangodb test: aql-functions-date.js testDateFormat: %z with a zone is the local time, still with a Z
    ['DATE_FORMAT', ['6789-12-31T23:59:58.990Z', '%z'], '6789-12-31T23:59:58.990Z'],
    ['DATE_FORMAT', ['6789-12-31T23:59:58.990Z', '%z', 'Europe/Berlin'], '6790-01-01T00:59:58.990Z'],
    ['DATE_FORMAT', ['2023-12-31T23:00:00.000Z', '%z', 'Asia/Kathmandu'], '2024-01-01T04:45:00.000Z'],
    ['DATE_FORMAT', ['1970-01-01T00:00:00.000Z', '%t', 'Europe/Berlin'], '3600000'], // the localized time point
    // arangodb test: timezonedValues / timezonedTValues
    ['DATE_FORMAT', ['2023-03-25T23:00:00.000Z', '%y %yyyy %yy %yyyyyy %mm %dd', 'Europe/Berlin'], '2023 2023 23 +002023 03 26'],
    ['DATE_FORMAT', ['7199-12-31T23:59:59.000Z', '%y %yyyy %yy %yyyyyy %mm %dd', 'Europe/Berlin'], '7200 7200 00 +007200 01 01'],
    ['DATE_FORMAT', ['2023-03-25T23:00:00.000Z', '%hh %ii %ss %fff %xxx %kk', 'Europe/Berlin'], '00 00 00 000 085 12'],
    ['DATE_FORMAT', ['7199-12-31T23:59:59.000Z', '%hh %ii %ss %fff %xxx %kk', 'Europe/Berlin'], '00 59 59 000 001 52'],
    ['DATE_FORMAT', ['199-12-31T23:59:59.000Z', '%hh %ii %ss %fff %xxx %kk', 'Europe/Berlin'], '00 53 27 000 001 01'], // LMT +00:53:28
    ['DATE_FORMAT', ['2023-12-31T23:00:00.000Z', '%hh %ii %ss %fff %xxx %kk', 'Asia/Kathmandu'], '04 45 00 000 001 01'],
  ]);
  warns([
    ['DATE_FORMAT', [{}, {}]], // arangodb test: testDateFormatInvalid
    ['DATE_FORMAT', [[], []]],
    ['DATE_FORMAT', [0, 5]], // the format must be a string
  ]);
});

describe('date strings with surrounding spaces', () => {
  // ArangoDB (lib/Basics/datetime.cpp, parseDateTime) trims spaces, tabs and line breaks first.
  cases([
    ['DATE_TIMESTAMP', [' 2014-05-07T14:19:09.522Z'], 1399472349522],
    ['DATE_TIMESTAMP', ['  2014-05-07 14:19:09.522  '], 1399472349522],
    ['DATE_TIMESTAMP', ['\t2014-05-07\n'], 1399420800000],
    ['DATE_YEAR', ['   2015'], 2015],
    ['IS_DATESTRING', [' 2015'], true],
    ['IS_DATESTRING', ['2015 '], true],
    ['IS_DATESTRING', ['+2015-01-01'], true], // a leading + is skipped
    ['IS_DATESTRING', ['-2015-01-01'], false],
    ['IS_DATESTRING', ['2014-05-07T1:2'], false], // doc: two digits for hours, minutes and seconds are mandatory
    ['IS_DATESTRING', ['2014-5-7T01:02'], true], // doc: leading zeros of month and day can be left out
    ['IS_DATESTRING', ['2014-05-07T14:19:09+01'], false], // an offset needs its minutes
    ['IS_DATESTRING', ['2014-05-07T14:19:09+0100'], false],
    ['IS_DATESTRING', ['2014-05-07T'], false],
    ['IS_DATESTRING', [' '], false],
    ['DATE_TIMESTAMP', ['2014-05-07T14:19:09.5Z'], 1399472349500],
    ['DATE_TIMESTAMP', ['2013-12-31T09:09:09.12345678912984378577834767363'], 1388480949123], // arangodb test: tvalues
    ['DATE_MONTH', ['2015-02-31'], 3], // a day up to 31 is accepted and carries into the next month
  ]);
  // arangodb test: testRangesExtractFunctions
  warns([
    ['DATE_YEAR', ['0000-01-01T00:00:00+01:00']],
    ['DATE_YEAR', ['10000-01-01']],
    ['DATE_YEAR', ['-01-01-01T12:23:34Z']],
  ]);
  it('DATE_COMPARE fails the query for an end unit before the start unit (doc: date.md DATE_COMPARE)', () => {
    expect(thrown(() => f('DATE_COMPARE', 0, 0, 'days', 'years')).code).toBe('VALIDATION_FAILED');
  });
  it('surrounding whitespace never changes a date (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -62167219200000, max: 253402300799999 }),
        fc.constantFrom('', ' ', '  ', '\t', '\n', ' \r\n'),
        fc.constantFrom('', ' ', '\t'),
        (ms, before, after) => {
          const iso = new Date(ms).toISOString();
          expect(f('DATE_TIMESTAMP', `${before}${iso}${after}`)).toBe(ms);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('accepts the valid range boundaries, with offsets', () => {
    expect(f('DATE_YEAR', '0000-01-01T00:00:00-01:00')).toBe(0);
    expect(f('DATE_YEAR', '9999-12-31T23:59:59+01:00')).toBe(9999);
    expect(f('DATE_YEAR', '00002015-01-01')).toBe(2015); // any number of leading zeros
  });
});

describe('a null time zone argument', () => {
  // ArangoDB (DateFunctions.cpp): a present time zone argument that is not a string is
  // "invalid argument type": null and a warning (not an error, not UTC).
  warns([
    ['DATE_YEAR', ['2023-12-31T23:00:00.000Z', null]],
    ['DATE_DAYOFWEEK', [0, null]],
    ['DATE_FORMAT', [0, '%z', null]],
    ['DATE_TRUNC', [0, 'd', null]],
    ['DATE_TRUNC', [0, 'd', 5]],
    ['DATE_ROUND', [0, 1, 'd', null]],
    ['DATE_ADD', [0, 1, 'd', null]],
    ['DATE_ADD', [0, 'P1D', null]],
    ['DATE_DIFF', [0, 1, 'd', null]],
    ['DATE_DIFF', [0, 1, 'd', true, null]],
    ['DATE_COMPARE', [0, 0, 'years', null]],
    ['DATE_COMPARE', [0, 0, 'years', 'days', null]],
  ]);
  cases([
    ['DATE_YEAR', ['2023-12-31T23:00:00.000Z', 'Europe/Berlin'], 2024],
    ['DATE_FORMAT', [0, '%z', 'UTC'], '1970-01-01T00:00:00.000Z'],
  ]);
});

describe('DATE_COMPARE, DATE_DIFF and DATE_ROUND argument forms', () => {
  cases([
    ['DATE_COMPARE', ['1984-04-04', '1985-04-04', 'years', 'days'], false],
    ['DATE_COMPARE', ['1984-04-04', '1985-04-04', 'years', 'years'], false],
    ['DATE_COMPARE', ['2023-12-31T23:30:00Z', '2024-01-01T00:10:00Z', 'days', 'Europe/Berlin'], true], // a time zone in 4th place
    ['DATE_COMPARE', ['2023-12-31T22:30:00Z', '2024-01-01T00:10:00Z', 'days', 'days', 'Europe/Berlin', 'UTC'], false],
    ['DATE_COMPARE', ['2023-12-31T23:30:00Z', '2024-01-01T00:10:00Z', 'days', 'days', 'Europe/Berlin', 'UTC'], true],
    ['DATE_COMPARE', ['2023-12-31T23:30:00Z', '2024-01-01T00:10:00Z', 'days'], false],
    ['DATE_DIFF', ['2023-03-25T23:00:00.000Z', '2023-03-26T23:00:00.000Z', 'hours', 'Europe/Berlin'], 25],
    ['DATE_DIFF', ['2023-03-25T23:00:00.000Z', '2023-03-26T23:00:00.000Z', 'hours', false, 'Europe/Berlin'], 25],
    ['DATE_ROUND', ['2000-01-01T10:00:00Z', 1, 'DAY'], '2000-01-01T00:00:00.000Z'], // doc: units are case-insensitive
    // DateFunctions.cpp addOrSubtractUnitFromTimestamp: a fraction of a year continues in months, of a month in 30-day units
    ['DATE_ADD', ['2000-01-31', 1.5, 'years'], '2001-07-31T00:00:00.000Z'],
    ['DATE_ADD', ['2000-01-01', 0.5, 'months'], '2000-01-16T00:00:00.000Z'],
    ['DATE_ADD', ['2000-01-01', -1.5, 'years'], '1998-07-01T00:00:00.000Z'],
    ['DATE_SUBTRACT', ['2000-01-01', 1.25, 'years'], '1998-10-01T00:00:00.000Z'],
    ['DATE_ROUND', ['1969-12-31T23:59:59.999Z', 1, 'second'], '1970-01-01T00:00:00.000Z'], // integer division truncates toward 0
  ]);
  warns([
    ['DATE_ROUND', [0, 0, 'day']],
    ['DATE_ROUND', [0, 1.5, 'day']], // doc: "Must be a positive integer value"
    ['DATE_ROUND', [0, '1', 'day']],
    ['DATE_DIFF', [0, 1, 5]],
    ['DATE_COMPARE', [0, 0, 'weeks']],
    ['DATE_COMPARE', [0, 0, 'years', 'bogus', 'UTC', 'UTC']], // a time zone in 4th place leaves room for one more
  ]);
});

// ---------------------------------------------------------------------------
// Geo functions that need no geo index

describe('DISTANCE and the GeoJSON constructors', () => {
  cases([
    ['DISTANCE', [52.5163, 13.3777, 50.9322, 6.94], 476918.89688380965], // doc: geo.md DISTANCE (Berlin → Cologne)
    ['DISTANCE', [0, 0, 0, 0], 0],
    ['GEO_POINT', [1.0, 2.0], { type: 'Point', coordinates: [1, 2] }], // doc: geo.md GEO_POINT
    ['GEO_POINT', [1, 2, 3], { type: 'Point', coordinates: [1, 2, 3] }],
    [
      'GEO_MULTIPOINT',
      [
        [
          [35, 10],
          [45, 45],
        ],
      ],
      {
        type: 'MultiPoint',
        coordinates: [
          [35, 10],
          [45, 45],
        ],
      },
    ], // doc: geo.md GEO_MULTIPOINT
    [
      'GEO_LINESTRING',
      [
        [
          [35, 10],
          [45, 45],
        ],
      ],
      {
        type: 'LineString',
        coordinates: [
          [35, 10],
          [45, 45],
        ],
      },
    ], // doc: geo.md GEO_LINESTRING
    [
      'GEO_MULTILINESTRING',
      [
        [
          [
            [100.0, 0.0],
            [101.0, 1.0],
          ],
          [
            [102.0, 2.0],
            [101.0, 2.3],
          ],
        ],
      ],
      {
        type: 'MultiLineString',
        coordinates: [
          [
            [100, 0],
            [101, 1],
          ],
          [
            [102, 2],
            [101, 2.3],
          ],
        ],
      },
    ], // doc: geo.md GEO_MULTILINESTRING
  ]);
  warns([
    ['DISTANCE', ['52', 13, 50, 6]],
    ['GEO_POINT', ['1', 2]],
    ['GEO_MULTIPOINT', [[[35, 10]]]],
    ['GEO_LINESTRING', [[[35, 10], [45]]]],
    [
      'GEO_MULTILINESTRING',
      [
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ],
    ],
  ]);
});
