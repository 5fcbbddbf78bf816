import { describe, expect, it } from 'vitest';
import { fuse, parseFusion } from '../../src/index/hybrid.js';

const text = [
  { key: 't:a', score: 9 },
  { key: 't:b', score: 5 },
  { key: 't:c', score: 1 },
];
const vector = [
  { key: 't:c', distance: 0.1 },
  { key: 't:d', distance: 0.2 },
  { key: 't:a', distance: 0.5 },
];

describe('hybrid fusion', () => {
  it('rrf: Σ 1/(60 + rank) over the lists a document is in, ties by key', () => {
    const r = fuse(text, vector, parseFusion({}));
    const expected = new Map([
      ['t:a', 1 / 61 + 1 / 63],
      ['t:c', 1 / 63 + 1 / 61],
      ['t:b', 1 / 62],
      ['t:d', 1 / 62],
    ]);
    expect(r.map((h) => h.key)).toEqual(['t:a', 't:c', 't:b', 't:d']);
    for (const h of r) expect(h.score).toBeCloseTo(expected.get(h.key)!, 12);
    expect(r[0]).toMatchObject({ text: { rank: 1, score: 9 }, vector: { rank: 3, distance: 0.5 } });
    expect(r.find((h) => h.key === 't:d')!.text).toBeNull();
  });

  it('rrf with weights and rrf_k', () => {
    const r = fuse(text, vector, parseFusion({ weights: { text: 0, vector: 2 }, rrf_k: 0 }));
    expect(r.map((h) => [h.key, h.score])).toEqual([
      ['t:c', 2],
      ['t:d', 1],
      ['t:a', 2 / 3],
      ['t:b', 0],
    ]);
  });

  it('weighted: min-max normalised scores (distance inverted), absent = 0', () => {
    const r = fuse(text, vector, parseFusion({ fusion: 'weighted', weights: { text: 0.3, vector: 0.7 }, k: 3 }));
    // text: a 1, b 0.5, c 0; vector: c 1, d 0.75, a 0
    const expected: [string, number][] = [
      ['t:c', 0.7],
      ['t:d', 0.7 * 0.75],
      ['t:a', 0.3],
    ];
    expect(r.map((h) => h.key)).toEqual(expected.map(([k]) => k));
    r.forEach((h, i) => {
      expect(h.score).toBeCloseTo(expected[i]![1], 12);
    });
  });

  it('weighted: a list of equal values normalises to 1; empty lists are fine', () => {
    const r = fuse([{ key: 'x:1', score: 3 }], [], parseFusion({ fusion: 'weighted' }));
    expect(r).toEqual([{ key: 'x:1', score: 0.5, text: { rank: 1, score: 3 }, vector: null }]);
    expect(fuse([], [], parseFusion({}))).toEqual([]);
  });

  it("fills in defaults and refuses what the schema cannot: two zero weights (types and ranges are the schema's, tested over HTTP)", () => {
    expect(() => parseFusion({ weights: { text: 0, vector: 0 } })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', details: { field: 'weights' } }),
    );
    expect(parseFusion({ fusion: 'weighted' })).toEqual({ fusion: 'weighted', k: 10, weights: { text: 0.5, vector: 0.5 }, rrfK: 60 });
    expect(parseFusion({ weights: { text: 0 } })).toEqual({ fusion: 'rrf', k: 10, weights: { text: 0, vector: 1 }, rrfK: 60 });
  });
});
