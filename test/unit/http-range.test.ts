import { describe, expect, it } from 'vitest';
import { contentRange, ifMatchPasses, ifNoneMatchHits, ifRangeAllows, parseRange, readPlan, strongETag } from '../../src/server/range.js';

/** Range requests and conditional requests as pure functions (src/server/range.ts, RFC 9110 §13, §14). */

const range = (start: number, end: number) => ({ kind: 'range', start, end });
const NONE = { kind: 'none' };
const UNSAT = { kind: 'unsatisfiable' };

describe('parseRange', () => {
  const cases: [header: string, size: number, expected: unknown][] = [
    // no header
    ['', 100, NONE],
    // a-b
    ['bytes=0-0', 100, range(0, 0)],
    ['bytes=0-9', 100, range(0, 9)],
    ['bytes=10-19', 100, range(10, 19)],
    ['bytes=99-99', 100, range(99, 99)],
    ['bytes=0-99', 100, range(0, 99)],
    // end beyond the body: clipped
    ['bytes=0-100', 100, range(0, 99)],
    ['bytes=50-1000000', 100, range(50, 99)],
    ['bytes=5-99999999999999999999999', 100, range(5, 99)],
    // start at or beyond the end: unsatisfiable
    ['bytes=100-100', 100, UNSAT],
    ['bytes=100-200', 100, UNSAT],
    ['bytes=100-', 100, UNSAT],
    ['bytes=99999999999999999999-', 100, UNSAT],
    // a-
    ['bytes=0-', 100, range(0, 99)],
    ['bytes=42-', 100, range(42, 99)],
    ['bytes=99-', 100, range(99, 99)],
    // suffix -n
    ['bytes=-1', 100, range(99, 99)],
    ['bytes=-10', 100, range(90, 99)],
    ['bytes=-100', 100, range(0, 99)],
    ['bytes=-101', 100, range(0, 99)],
    ['bytes=-99999999999999999999', 100, range(0, 99)],
    // -0: valid syntax, never satisfiable
    ['bytes=-0', 100, UNSAT],
    ['bytes=-000', 100, UNSAT],
    // b < a: invalid, ignored
    ['bytes=5-4', 100, NONE],
    ['bytes=500-400', 100, NONE],
    // invalid syntax: ignored
    ['bytes=', 100, NONE],
    ['bytes=-', 100, NONE],
    ['bytes=abc', 100, NONE],
    ['bytes=1-2-3', 100, NONE],
    ['bytes=1', 100, NONE],
    ['bytes=a-5', 100, NONE],
    ['bytes=5-b', 100, NONE],
    ['bytes=+1-5', 100, NONE],
    ['bytes=-+5', 100, NONE],
    ['bytes=1.5-3', 100, NONE],
    ['bytes=0x10-20', 100, NONE],
    ['bytes=--5', 100, NONE],
    ['bytes 0-5', 100, NONE],
    ['0-5', 100, NONE],
    ['=0-5', 100, NONE],
    // other units: ignored
    ['items=0-5', 100, NONE],
    ['none', 100, NONE],
    ['bytesx=0-5', 100, NONE],
    // unit case-insensitive, whitespace tolerated
    ['Bytes=0-4', 100, range(0, 4)],
    ['BYTES=0-4', 100, range(0, 4)],
    [' bytes = 0 - 4 ', 100, range(0, 4)],
    ['bytes=\t10-\t20', 100, range(10, 20)],
    ['bytes= -5', 100, range(95, 99)],
    // leading zeros are digits
    ['bytes=007-010', 100, range(7, 10)],
    // several ranges: merged when they overlap or touch, else the whole body
    ['bytes=0-1,5-6', 100, NONE],
    ['bytes=0-1,2-3', 100, range(0, 3)],
    ['bytes=0-5, 3-9', 100, range(0, 9)],
    ['bytes=5-9,0-4', 100, range(0, 9)],
    ['bytes=0-9,2-3', 100, range(0, 9)],
    ['bytes=0-,10-20', 100, range(0, 99)],
    ['bytes=-10,0-0', 100, NONE],
    ['bytes=-10,80-89', 100, range(80, 99)],
    ['bytes=0-0,0-0', 100, range(0, 0)],
    // unsatisfiable members are dropped; one left is served
    ['bytes=0-4,200-300', 100, range(0, 4)],
    ['bytes=200-300,-0', 100, UNSAT],
    ['bytes=200-300,150-', 100, UNSAT],
    // one invalid member invalidates the header
    ['bytes=0-4,x', 100, NONE],
    ['bytes=0-4,9-2', 100, NONE],
    // empty list elements are tolerated, an empty list is not
    ['bytes=0-4,,', 100, range(0, 4)],
    ['bytes=, ,0-4', 100, range(0, 4)],
    ['bytes=,', 100, NONE],
    // an empty body: never a range (200 with the empty body), invalid headers still ignored
    ['bytes=0-', 0, NONE],
    ['bytes=0-0', 0, NONE],
    ['bytes=-5', 0, NONE],
    ['bytes=-0', 0, NONE],
    ['bytes=5-1', 0, NONE],
    // one byte
    ['bytes=0-0', 1, range(0, 0)],
    ['bytes=-1', 1, range(0, 0)],
    ['bytes=-2', 1, range(0, 0)],
    ['bytes=1-', 1, UNSAT],
    // large bodies (beyond 32 bits)
    ['bytes=4294967296-', 2 ** 33, range(2 ** 32, 2 ** 33 - 1)],
    ['bytes=-1', 2 ** 40, range(2 ** 40 - 1, 2 ** 40 - 1)],
  ];
  for (const [header, size, expected] of cases) {
    it(`${JSON.stringify(header)} of ${size} bytes -> ${JSON.stringify(expected)}`, () => {
      expect(parseRange(header, size)).toEqual(expected);
    });
  }

  it('more than 100 ranges are ignored as abusive', () => {
    const many = `bytes=${Array.from({ length: 101 }, (_, i) => `${i}-${i}`).join(',')}`;
    expect(parseRange(many, 1000)).toEqual(NONE);
    const hundred = `bytes=${Array.from({ length: 100 }, (_, i) => `${i}-${i}`).join(',')}`;
    expect(parseRange(hundred, 1000)).toEqual(range(0, 99));
  });

  it('every range it returns lies within the body, start <= end (exhaustive over small sizes and headers)', () => {
    const parts = ['', '0', '1', '2', '3', '5', '9', '10', '11'];
    for (let size = 0; size <= 11; size++) {
      for (const a of parts) {
        for (const b of parts) {
          const r = parseRange(`bytes=${a}-${b}`, size);
          if (r.kind !== 'range') continue;
          expect(r.start).toBeGreaterThanOrEqual(0);
          expect(r.end).toBeLessThan(size);
          expect(r.start).toBeLessThanOrEqual(r.end);
          if (a === '') expect(r.end).toBe(size - 1);
          else expect(r.start).toBe(Number(a));
        }
      }
    }
  });
});

describe('contentRange and strongETag', () => {
  it('formats Content-Range for 206 and 416', () => {
    expect(contentRange(1000, { start: 0, end: 99 })).toBe('bytes 0-99/1000');
    expect(contentRange(1000)).toBe('bytes */1000');
    expect(contentRange(0)).toBe('bytes */0');
  });
  it('quotes an opaque tag', () => {
    expect(strongETag('abc123')).toBe('"abc123"');
  });
});

describe('conditional requests', () => {
  const tag = '"abc"';
  it('If-None-Match: weak comparison, lists, *, quoted or not', () => {
    expect(ifNoneMatchHits('', tag)).toBe(false);
    expect(ifNoneMatchHits('"abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('"abc"', 'abc')).toBe(true);
    expect(ifNoneMatchHits('W/"abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('"abc"', 'W/"abc"')).toBe(true);
    expect(ifNoneMatchHits('"x", "abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('"x","y"', tag)).toBe(false);
    expect(ifNoneMatchHits('*', tag)).toBe(true);
    expect(ifNoneMatchHits('"*"', tag)).toBe(false);
    expect(ifNoneMatchHits('"ab"', tag)).toBe(false);
    expect(ifNoneMatchHits('"abcd"', tag)).toBe(false);
    expect(ifNoneMatchHits('abc', tag)).toBe(true);
    expect(ifNoneMatchHits('"a,b"', '"a,b"')).toBe(true);
  });
  it('If-Match: strong comparison, * only with a representation', () => {
    expect(ifMatchPasses('', tag)).toBe(true);
    expect(ifMatchPasses('', undefined)).toBe(true);
    expect(ifMatchPasses('"abc"', tag)).toBe(true);
    expect(ifMatchPasses('"x", "abc"', tag)).toBe(true);
    expect(ifMatchPasses('W/"abc"', tag)).toBe(false);
    expect(ifMatchPasses('"abc"', 'W/"abc"')).toBe(false);
    expect(ifMatchPasses('"x"', tag)).toBe(false);
    expect(ifMatchPasses('*', tag)).toBe(true);
    expect(ifMatchPasses('*', undefined)).toBe(false);
    expect(ifMatchPasses('"abc"', undefined)).toBe(false);
  });
  it('If-Range: a strong tag equal to the current one, or the exact Last-Modified date', () => {
    expect(ifRangeAllows('', tag)).toBe(true);
    expect(ifRangeAllows('"abc"', tag)).toBe(true);
    expect(ifRangeAllows(' "abc" ', 'abc')).toBe(true);
    expect(ifRangeAllows('"old"', tag)).toBe(false);
    expect(ifRangeAllows('W/"abc"', tag)).toBe(false);
    expect(ifRangeAllows('"abc", "x"', tag)).toBe(false);
    const date = 'Wed, 21 Oct 2015 07:28:00 GMT';
    expect(ifRangeAllows(date, tag, date)).toBe(true);
    expect(ifRangeAllows(date, tag, 'Wed, 21 Oct 2015 07:28:01 GMT')).toBe(false);
    expect(ifRangeAllows(date, tag)).toBe(false);
    expect(ifRangeAllows('not a date', tag, date)).toBe(false);
  });
});

describe('readPlan', () => {
  const req = (method: string, headers: Record<string, string>) => ({ method, header: (n: string) => headers[n] ?? '' });
  const tag = '"v1"';
  it('applies the preconditions in the order of RFC 9110 §13.2.2', () => {
    expect(readPlan(req('GET', {}), 100, tag)).toEqual({ kind: 'full' });
    expect(readPlan(req('GET', { 'if-match': '"v0"', 'if-none-match': tag }), 100, tag)).toEqual({ kind: 'precondition_failed' });
    expect(readPlan(req('GET', { 'if-none-match': tag, range: 'bytes=0-1' }), 100, tag)).toEqual({ kind: 'not_modified' });
    expect(readPlan(req('HEAD', { 'if-none-match': tag }), 100, tag)).toEqual({ kind: 'not_modified' });
    expect(readPlan(req('GET', { 'if-none-match': '"v0"', range: 'bytes=0-1' }), 100, tag)).toEqual(range(0, 1));
  });
  it('Range: GET only, only while If-Range holds, ignored when invalid', () => {
    expect(readPlan(req('GET', { range: 'bytes=10-' }), 100, tag)).toEqual(range(10, 99));
    expect(readPlan(req('HEAD', { range: 'bytes=10-' }), 100, tag)).toEqual({ kind: 'full' });
    expect(readPlan(req('GET', { range: 'bytes=10-', 'if-range': tag }), 100, tag)).toEqual(range(10, 99));
    expect(readPlan(req('GET', { range: 'bytes=10-', 'if-range': '"v0"' }), 100, tag)).toEqual({ kind: 'full' });
    expect(readPlan(req('GET', { range: 'bytes=200-' }), 100, tag)).toEqual(UNSAT);
    expect(readPlan(req('GET', { range: 'bytes=9-2' }), 100, tag)).toEqual({ kind: 'full' });
    expect(readPlan(req('GET', { range: 'lines=1-2' }), 100, tag)).toEqual({ kind: 'full' });
    expect(readPlan(req('GET', { range: 'bytes=0-' }), 0, tag)).toEqual({ kind: 'full' });
  });
});
