import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { entityKeyCodec } from '../../src/documents/codec.js';
import { elementEnd, orderedCodec, prefixUpperBound, seqCodec, type ScalarValue } from '../../src/storage/index.js';

/** The order AQL compares scalars in: null < false < true < numbers < strings (by code point). */
function compareValues(a: ScalarValue, b: ScalarValue): number {
  const rank = (v: ScalarValue) => (v === null ? 0 : v === false ? 1 : v === true ? 2 : typeof v === 'number' ? 3 : 4);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'string' && typeof b === 'string') {
    const ca = [...a].map((c) => c.codePointAt(0)!);
    const cb = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i]! - cb[i]!;
    return ca.length - cb.length;
  }
  return 0;
}

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.string({ unit: 'binary' }), // any code point, including 0x00 and astral planes
  fc.constantFrom('', 'a', 'a\u0000', 'a\u0000b', 'ab', 'b', '\uffff', '\u{10000}'),
);

describe('orderedCodec', () => {
  it('round-trips scalars and tuples', () => {
    fc.assert(
      fc.property(fc.array(scalar, { maxLength: 4 }), (tuple) => {
        const back = orderedCodec.decode(orderedCodec.encode(tuple));
        expect(back).toEqual(tuple.map((v) => (Object.is(v, -0) ? 0 : v)));
      }),
    );
  });

  it('elementEnd finds where each element of a tuple ends, without decoding (strings with escaped NULs too)', () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 1, maxLength: 4 }), (tuple) => {
        const b = orderedCodec.encode(tuple);
        let at = 0;
        for (const v of tuple) {
          const end = elementEnd(b, at);
          expect(end - at).toBe(orderedCodec.encode([v]).length);
          at = end;
        }
        expect(at).toBe(b.length);
      }),
    );
    expect(() => elementEnd(Buffer.from([0x05, 0x61, 0x00]), 0)).toThrow(/unterminated/);
    expect(() => elementEnd(Buffer.from([0x04, 1, 2]), 0)).toThrow(/truncated/);
  });

  it('byte order equals value order', () => {
    fc.assert(
      fc.property(scalar, scalar, (a, b) => {
        const bytes = Buffer.compare(orderedCodec.encode([a]), orderedCodec.encode([b]));
        expect(Math.sign(bytes)).toBe(Math.sign(compareValues(a, b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('byte order of tuples is lexicographic by element', () => {
    fc.assert(
      fc.property(fc.tuple(scalar, scalar), fc.tuple(scalar, scalar), (a, b) => {
        const expected = compareValues(a[0], b[0]) || compareValues(a[1], b[1]);
        expect(Math.sign(Buffer.compare(orderedCodec.encode(a), orderedCodec.encode(b)))).toBe(Math.sign(expected));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts numbers numerically, not as strings (9 < 25 < 100)', () => {
    const sorted = [100, 9, 25, -3, 0, -100.5, 1e300, -1e-300].map((n) => orderedCodec.encode([n])).sort(Buffer.compare);
    expect(sorted.map((b) => orderedCodec.decode(b)[0])).toEqual([-100.5, -3, -1e-300, 0, 9, 25, 100, 1e300]);
  });

  it('encodes a tuple prefix as a byte prefix (composite index scans)', () => {
    const full = orderedCodec.encode(['Berlin', 30]);
    const prefix = orderedCodec.encode(['Berlin']);
    expect(full.subarray(0, prefix.length).equals(prefix)).toBe(true);
    expect(orderedCodec.encode(['Berlin\u0000x']).subarray(0, prefix.length).equals(prefix)).toBe(false);
  });

  it('encodePrefixed is the prefix followed by the encoding of the values (and the last one), in one buffer', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 6 }),
        fc.array(scalar, { maxLength: 3 }),
        fc.option(scalar, { nil: undefined }),
        (prefix, values, last) => {
          const expected = Buffer.concat([prefix, orderedCodec.encode(last === undefined ? values : [...values, last])]);
          expect(orderedCodec.encodePrefixed(prefix, values, last)).toEqual(expected);
        },
      ),
    );
    expect(() => orderedCodec.encodePrefixed(Buffer.of(1), [NaN])).toThrow(TypeError);
    expect(() => orderedCodec.encodePrefixed(Buffer.of(1), ['a'], {} as unknown as ScalarValue)).toThrow(TypeError);
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => orderedCodec.encode([NaN])).toThrow(TypeError);
    expect(() => orderedCodec.encode([Infinity])).toThrow(TypeError);
    expect(() => orderedCodec.encode([{} as unknown as ScalarValue])).toThrow(TypeError);
    expect(() => orderedCodec.decode(Buffer.of(0x04, 1, 2))).toThrow(TypeError);
    expect(() => orderedCodec.decode(Buffer.of(0x05, 0x61))).toThrow(TypeError);
  });
});

describe('seqCodec', () => {
  it('is fixed width and sorts numerically', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        const ea = seqCodec.encode(a);
        expect(ea.length).toBe(8);
        expect(seqCodec.decode(ea)).toBe(a);
        expect(Math.sign(Buffer.compare(ea, seqCodec.encode(b)))).toBe(Math.sign(a - b));
      }),
    );
  });

  it('rejects out-of-range values', () => {
    expect(() => seqCodec.encode(-1)).toThrow(TypeError);
    expect(() => seqCodec.encode(1.5)).toThrow(TypeError);
    expect(() => seqCodec.encode(2 ** 53)).toThrow(TypeError);
    expect(() => seqCodec.decode(Buffer.alloc(7))).toThrow(TypeError);
  });
});

describe('entityKeyCodec', () => {
  const table = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
  it('round-trips any pk, including separators and NUL', () => {
    fc.assert(
      fc.property(table, fc.string({ unit: 'binary', minLength: 1 }), (t, pk) => {
        expect(entityKeyCodec.decode(entityKeyCodec.encode({ table: t, pk }))).toEqual({ table: t, pk });
      }),
    );
  });

  it('keeps every key of a table inside tableRange, and other tables outside', () => {
    fc.assert(
      fc.property(table, table, fc.string({ unit: 'binary', minLength: 1 }), (t, other, pk) => {
        const r = entityKeyCodec.tableRange(t);
        const k = entityKeyCodec.encode({ table: other, pk });
        const inside = Buffer.compare(k, r.gte) >= 0 && Buffer.compare(k, r.lt) < 0;
        expect(inside).toBe(t === other);
      }),
    );
  });
});

describe('prefixUpperBound', () => {
  it('is the smallest key above every key with the prefix', () => {
    expect(prefixUpperBound(Buffer.of(1, 2))).toEqual(Buffer.of(1, 3));
    expect(prefixUpperBound(Buffer.of(1, 0xff))).toEqual(Buffer.of(2));
    expect(() => prefixUpperBound(Buffer.of(0xff))).toThrow(TypeError);
  });
});
