import { describe, expect, it } from 'vitest';
import { normalizeQuery, planQuery, type PlannerIndex } from '../../src/query/index.js';
import { ThemisError } from '../../src/errors.js';

const idx = (id: number, column: string, type: 'equality' | 'range' = 'equality', extra: Partial<PlannerIndex> = {}): PlannerIndex => ({
  id,
  table: 'users',
  columns: [column],
  type,
  unique: false,
  ...extra,
});

describe('query planner (pure)', () => {
  it('drives from the most selective indexed equality predicate', () => {
    const q = normalizeQuery({
      table: 'users',
      predicates: [
        { column: 'city', value: 'Berlin' },
        { column: 'name', value: 'Ann' },
        { column: 'x', value: 1 },
      ],
    });
    const p = planQuery(
      q,
      [idx(1, 'city'), idx(2, 'name', 'range')],
      [{ estimatedCount: 500, capped: false }, { estimatedCount: 3, capped: false }, undefined],
    );
    expect(p.mode).toBe('index_optimized');
    expect(p.driver).toMatchObject({ kind: 'equality', indexId: 2, column: 'name', value: 'Ann' });
    expect(p.order.map((o) => o.column)).toEqual(['name', 'city', 'x']);
    expect(p.estimates).toEqual([
      { column: 'city', value: 'Berlin', estimatedCount: 500, capped: false },
      { column: 'name', value: 'Ann', estimatedCount: 3, capped: false },
    ]);
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('numeric-literal strings: equality looks up both, range bounds become numbers', () => {
    const q = normalizeQuery({
      table: 'users',
      predicates: [{ column: 'age', value: '25' }],
      range: [{ column: 'age', gte: '25', lt: '35' }],
    });
    expect(q.predicates[0]!.values).toEqual([25, '25']);
    expect(q.ranges[0]).toEqual({ column: 'age', lower: 25, upper: 35, includeLower: true, includeUpper: false });
  });

  it('uses a range index for a range predicate (range_scan), in order when ORDER BY matches', () => {
    const q = normalizeQuery({
      table: 'users',
      range: [{ column: 'age', gte: 25, lte: 35 }],
      order_by: { column: 'age', desc: true, limit: 5 },
    });
    const p = planQuery(q, [idx(1, 'age', 'range')], []);
    expect(p.mode).toBe('range_scan');
    expect(p.driver).toEqual({
      kind: 'range',
      indexId: 1,
      column: 'age',
      lower: 25,
      upper: 35,
      includeLower: true,
      includeUpper: true,
      reverse: true,
    });
    expect(p.sortInMemory).toBe(false);
    expect(p.limit).toBe(5);
  });

  it('an equality index does not serve a range predicate', () => {
    const q = normalizeQuery({ table: 'users', range: [{ column: 'age', gte: 25 }] });
    expect(() => planQuery(q, [idx(1, 'age', 'equality')], [])).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', details: { field: 'range' } }),
    );
  });

  it('scans the ORDER BY range index with a limit when there is no predicate', () => {
    const q = normalizeQuery({ table: 'users', order_by: { column: 'age', limit: 10 } });
    const p = planQuery(q, [idx(1, 'age', 'range')], []);
    expect(p).toMatchObject({ mode: 'range_scan', sortInMemory: false, limit: 10, driver: { kind: 'range', indexId: 1, reverse: false } });
  });

  it('full scan only when allowed; otherwise 400 naming the column', () => {
    const q = normalizeQuery({ table: 'users', predicates: [{ column: 'city', value: 'Rome' }] });
    try {
      planQuery(q, [], [undefined]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ThemisError);
      expect((e as ThemisError).code).toBe('BAD_REQUEST');
      expect((e as ThemisError).details).toEqual({ field: 'predicates' });
    }
    const allowed = planQuery(
      normalizeQuery({
        table: 'users',
        predicates: [{ column: 'city', value: 'Rome' }],
        allow_full_scan: true,
        order_by: { column: 'age' },
      }),
      [],
      [undefined],
    );
    expect(allowed).toMatchObject({ mode: 'full_scan', driver: { kind: 'full' }, sortInMemory: true });
  });

  it("refuses what the schema cannot: a range without a bound, or with two bounds on one side (types and enums are the schema's, tested over HTTP)", () => {
    const refused = (field: string) => expect.objectContaining({ code: 'VALIDATION_FAILED', details: { field } });
    expect(() => normalizeQuery({ table: 'u', range: [{ column: 'a' }] })).toThrow(refused('range.0'));
    expect(() => normalizeQuery({ table: 'u', range: [{ column: 'a', gt: 1, gte: 2 }] })).toThrow(refused('range.0.gt'));
  });
});

describe('compareScalar', () => {
  it('orders like the index: null < false < true < numbers < strings, strings by code point', async () => {
    const { compareScalar } = await import('../../src/query/executor.js');
    const sorted = ['\u{1F600}', '\uFFFF', 'b', 10, 9, true, false, null, 'a'].sort((x, y) => compareScalar(x as never, y as never));
    expect(sorted).toEqual([null, false, true, 9, 10, 'a', 'b', '\uFFFF', '\u{1F600}']);
  });
});

describe('index intersection', () => {
  it('intersects the two most selective equality indexes when even the best matches many', () => {
    const q = normalizeQuery({
      table: 'users',
      predicates: [
        { column: 'city', value: 'Berlin' },
        { column: 'age', value: 30 },
        { column: 'name', value: 'Ann' },
      ],
    });
    const p = planQuery(
      q,
      [idx(1, 'city'), idx(2, 'age', 'range'), idx(3, 'name')],
      [
        { estimatedCount: 1000, capped: true },
        { estimatedCount: 400, capped: false },
        { estimatedCount: 900, capped: false },
      ],
    );
    expect(p.mode).toBe('index_intersection');
    expect(p.driver).toEqual({
      kind: 'intersection',
      parts: [
        { indexId: 2, column: 'age', value: 30, values: [30] },
        { indexId: 3, column: 'name', value: 'Ann', values: ['Ann'] },
      ],
    });
  });

  it('drives from a single index when it is selective enough', () => {
    const q = normalizeQuery({
      table: 'users',
      predicates: [
        { column: 'city', value: 'Berlin' },
        { column: 'age', value: 30 },
      ],
    });
    const p = planQuery(
      q,
      [idx(1, 'city'), idx(2, 'age')],
      [
        { estimatedCount: 20, capped: false },
        { estimatedCount: 400, capped: false },
      ],
    );
    expect(p).toMatchObject({ mode: 'index_optimized', driver: { kind: 'equality', indexId: 1 } });
  });
});
