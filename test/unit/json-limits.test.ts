import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, jsonSyntaxMessage, jsonTooDeep } from '../../src/json-limits.js';

/** Reference: nesting depth of a parsed value, by explicit stack (deep values must not overflow the test either). */
function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x !== null && typeof x === 'object') {
      max = Math.max(max, d + 1);
      for (const c of Array.isArray(x) ? x : Object.values(x)) stack.push([c, d + 1]);
    }
  }
  return max;
}

describe('exceedsJsonDepth', () => {
  it('agrees with the depth of the parsed value, for text and UTF-8 bytes, at every limit around it', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.nat({ max: 3 }), (v, pad) => {
        // Pad so the short-input fast path does not decide alone.
        const text = JSON.stringify(v) + ' '.repeat(64 * pad);
        const d = depthOf(v);
        for (const limit of [Math.max(1, d - 1), d, d + 1]) {
          if (limit < 1) continue;
          const expected = d > limit;
          expect(exceedsJsonDepth(text, limit)).toBe(expected);
          expect(exceedsJsonDepth(Buffer.from(text, 'utf8'), limit)).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ignores brackets inside strings, escaped quotes included, and multi-byte characters', () => {
    const tricky = JSON.stringify({ a: '[[[{{{', b: 'quote \\" [[[ \\\\', c: ['ü€😀[', { d: '"]]]}}}' }] });
    expect(depthOf(JSON.parse(tricky))).toBe(3);
    for (const form of [tricky, Buffer.from(tricky, 'utf8')]) {
      expect(exceedsJsonDepth(form, 3)).toBe(false);
      expect(exceedsJsonDepth(form, 2)).toBe(true);
    }
  });

  it('handles 1,000,000 levels without recursion', () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(exceedsJsonDepth(deep, 256)).toBe(true);
    expect(exceedsJsonDepth(Buffer.from(deep), 256)).toBe(true);
    expect(exceedsJsonDepth(deep, 1_000_000)).toBe(false);
  });

  it('the error names the limit and carries a stable code', () => {
    const e = jsonTooDeep('request body', 256);
    expect(e.code).toBe('JSON_TOO_DEEP');
    expect(e.status).toBe(400);
    expect(e.details).toEqual({ max_depth: 256 });
  });
});

describe('jsonSyntaxMessage', () => {
  it('keeps what went wrong and drops the quoted input', () => {
    for (const text of ['{"email": max@example.com}', '{"a": "jörg@example.org" x}', 'max@example.com', '{"k": 1,']) {
      let msg = '';
      try {
        JSON.parse(text);
      } catch (e) {
        msg = jsonSyntaxMessage(e);
      }
      expect(msg.length).toBeGreaterThan(5);
      expect(msg).not.toContain('example');
    }
  });
});
