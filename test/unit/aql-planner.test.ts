/**
 * The AQL planner by plan shape (pure: a catalogue in, steps out).
 */
import { describe, expect, it } from 'vitest';
import { attributeUse } from '../../src/aql/analyze.js';
import { parseAql } from '../../src/aql/parse.js';
import { planQuery, type Catalogue, type Plan, type Step, type TableCatalogue } from '../../src/aql/planner.js';
import { ThemisError } from '../../src/errors.js';

const TABLES: Record<string, TableCatalogue> = {
  users: {
    indexes: [
      { id: 1, columns: ['city'], type: 'equality', unique: false, sparse: false },
      { id: 2, columns: ['age'], type: 'range', unique: false, sparse: false },
      { id: 3, columns: ['email'], type: 'equality', unique: true, sparse: true },
    ],
    fulltext: ['bio'],
    vector: [{ name: 'users_emb', field: 'emb', metric: 'COSINE' }],
    rows: 100_000,
  },
  orders: {
    indexes: [{ id: 4, columns: ['user'], type: 'equality', unique: false, sparse: false }],
    fulltext: [],
    vector: [],
    rows: 500_000,
  },
  items: { indexes: [], fulltext: [], vector: [], rows: 1000 },
  edges: { indexes: [], fulltext: [], vector: [], rows: 10 },
};
const cat: Catalogue = (t) => TABLES[t] ?? { indexes: [], fulltext: [], vector: [], rows: 0 };

function plan(q: string, bindVars: Record<string, unknown> = {}, allowFullScan = true): Plan {
  return planQuery(parseAql(q), cat, { allowFullScan, bindVars: bindVars as never });
}

const fors = (p: Plan) => p.steps.filter((s): s is Extract<Step, { kind: 'for' }> => s.kind === 'for');

describe('AQL planner', () => {
  it('an equality FILTER on an indexed attribute drives the FOR with the index; the filter stays as a re-check', () => {
    const p = plan('FOR u IN users FILTER u.city == "Berlin" RETURN u');
    expect(p.mode).toBe('index_optimized');
    expect(fors(p)[0]!.source).toMatchObject({ kind: 'index_eq', table: 'users', indexId: 1, column: 'city', many: false });
    expect(fors(p)[0]!.filters).toHaveLength(1);
    expect(p.steps.some((s) => s.kind === 'filter')).toBe(false);
    expect(p.ret?.documentVar).toBe('u');
    expect(p.explain).toMatchObject({ mode: 'index_optimized', indexes: [{ type: 'equality', attribute: 'city' }] });
  });

  it('the unique index wins; IN lists use the index; bind values count as constants', () => {
    expect(fors(plan('FOR u IN users FILTER u.city == "B" AND u.email == @e RETURN u', { e: 'a@x' }))[0]!.source).toMatchObject({
      kind: 'index_eq',
      indexId: 3,
      unique: true,
    });
    expect(fors(plan('FOR u IN users FILTER u.city IN ["a", "b"] RETURN u'))[0]!.source).toMatchObject({
      kind: 'index_eq',
      indexId: 1,
      many: true,
    });
    // a sparse index cannot answer == null
    expect(fors(plan('FOR u IN users FILTER u.email == null RETURN u'))[0]!.source.kind).toBe('full_scan');
  });

  it('_key conditions are point reads', () => {
    expect(fors(plan('FOR u IN users FILTER u._key == "7" RETURN u'))[0]!.source).toMatchObject({ kind: 'primary', many: false });
    expect(fors(plan('FOR u IN users FILTER u._key IN @ks RETURN u', { ks: ['1', '2'] }))[0]!.source).toMatchObject({
      kind: 'primary',
      many: true,
    });
  });

  it('ranges use a range index with their bounds', () => {
    const s = fors(plan('FOR u IN users FILTER u.age >= 25 AND u.age < 35 RETURN u'))[0]!.source;
    expect(s).toMatchObject({
      kind: 'index_range',
      indexId: 2,
      column: 'age',
      lower: { inclusive: true },
      upper: { inclusive: false },
      reverse: false,
    });
    // flipped operands
    expect(fors(plan('FOR u IN users FILTER 30 < u.age RETURN u'))[0]!.source).toMatchObject({
      kind: 'index_range',
      lower: { inclusive: false },
    });
  });

  it('a LIMIT right after an index range scan (or after the SORT its order answers) becomes the scan’s read-size hint', () => {
    const direct = fors(plan('FOR u IN users FILTER u.age > 30 LET x = 1 LIMIT 2, @n RETURN u', { n: 5 }))[0]!.source;
    expect(direct).toMatchObject({ kind: 'index_range', hint: { offset: { type: 'literal', value: 2 }, count: { type: 'bind' } } });
    const sorted = fors(plan('FOR u IN users SORT u.age DESC LIMIT 10 RETURN u'))[0]!.source;
    expect(sorted).toMatchObject({ kind: 'index_range', reverse: true, hint: { count: { type: 'literal', value: 10 } } });
    // not for computed limits, a FILTER step in between, an in-memory SORT or no LIMIT
    expect(fors(plan('FOR u IN users FILTER u.age > 30 LIMIT 1 + 1 RETURN u'))[0]!.source).not.toHaveProperty('hint');
    expect(fors(plan('FOR u IN users FILTER u.age > 30 SORT u.name LIMIT 3 RETURN u'))[0]!.source).not.toHaveProperty('hint');
    expect(fors(plan('FOR u IN users FILTER u.age > 30 RETURN u'))[0]!.source).not.toHaveProperty('hint');
  });

  it('SORT on a range index with LIMIT scans the index in order (reverse for DESC) and stops early', () => {
    const p = plan('FOR u IN users SORT u.age DESC LIMIT 10 RETURN u');
    expect(fors(p)[0]!.source).toMatchObject({ kind: 'index_range', column: 'age', reverse: true });
    expect(p.steps.find((s) => s.kind === 'sort')).toMatchObject({ byIndex: true, limit: {} });
    // without a LIMIT, or on an unindexed attribute: sorted in memory
    expect(plan('FOR u IN users SORT u.age RETURN u').steps.find((s) => s.kind === 'sort')).toMatchObject({ byIndex: false });
    expect(plan('FOR u IN users SORT u.name LIMIT 5 RETURN u').steps.find((s) => s.kind === 'sort')).toMatchObject({
      byIndex: false,
      limit: {},
    });
    // re-planned without index order
    const q = parseAql('FOR u IN users SORT u.age DESC LIMIT 10 RETURN u');
    const p2 = planQuery(q, cat, { allowFullScan: true, bindVars: {}, noIndexOrder: true });
    expect(fors(p2)[0]!.source.kind).toBe('full_scan');
  });

  it('joins: index nested loop on an indexed attribute, hash join otherwise; filters move to the FOR that binds their variables', () => {
    const p = plan('FOR u IN users FOR o IN orders FILTER o.user == u._key FILTER u.city == "B" RETURN {u, o}');
    const [fu, fo] = fors(p);
    expect(fu!.source).toMatchObject({ kind: 'index_eq', column: 'city' });
    expect(fo!.source).toMatchObject({ kind: 'index_eq', table: 'orders', column: 'user' });
    expect(p.explain).toMatchObject({ join_strategy: 'index_nested_loop' });
    const h = plan('FOR o IN orders FOR i IN items FILTER i.sku == o.sku RETURN i');
    expect(fors(h)[1]!.source).toMatchObject({ kind: 'hash_join', table: 'items' });
    expect(h.explain).toMatchObject({ join_strategy: 'hash_join' });
    expect(p.ret?.documentVar).toBeUndefined();
  });

  it('filters are not moved across SORT, LIMIT or COLLECT', () => {
    const p = plan('FOR u IN users LIMIT 5 FILTER u.city == "B" RETURN u');
    expect(fors(p)[0]!.source.kind).toBe('full_scan');
    expect(p.steps.map((s) => s.kind)).toEqual(['for', 'limit', 'filter']);
  });

  it('FULLTEXT and SIMILARITY / NEAR are planned onto their indexes', () => {
    const f = plan('FOR u IN users FILTER FULLTEXT(u.bio, "graph") SORT BM25(u) DESC LIMIT 5 RETURN u');
    expect(fors(f)[0]!.source).toMatchObject({ kind: 'fulltext', column: 'bio' });
    const v = plan('FOR u IN users SORT SIMILARITY(u.emb, @v) DESC LIMIT 3 RETURN u', { v: [1, 0] });
    expect(fors(v)[0]!.source).toMatchObject({ kind: 'vector', index: 'users_emb' });
    expect(v.steps.find((s) => s.kind === 'sort')).toMatchObject({ byIndex: true });
    expect(fors(plan('FOR u IN users FILTER NEAR(u.emb, @v, 4) RETURN u', { v: [1] }))[0]!.source).toMatchObject({
      kind: 'vector',
      k: { type: 'literal', value: 4 },
    });
    expectError(() => plan('FOR u IN users FILTER FULLTEXT(u.name, "x") RETURN u'), 'INDEX_NOT_FOUND', { field: 'query' });
  });

  it('allow_full_scan false refuses a full scan, naming the collection and attribute', () => {
    const e = expectError(() => plan('FOR u IN users FILTER u.name == "x" RETURN u', {}, false), 'BAD_REQUEST');
    expect(e.details).toMatchObject({ collection: 'users', attribute: 'name' });
    expect(plan('FOR u IN users FILTER u.city == "x" RETURN u', {}, false).mode).toBe('index_optimized');
  });

  it('checks variables, bind parameters, collection names and functions before running', () => {
    expectError(() => plan('FOR u IN users RETURN x'), 'VALIDATION_FAILED', { field: 'query', line: 1, column: 23 });
    expectError(() => plan('FOR u IN users FILTER u.a == @missing RETURN u'), 'VALIDATION_FAILED', {
      field: 'bind_vars',
      parameter: 'missing',
    });
    expectError(() => plan('FOR u IN @@c RETURN u'), 'VALIDATION_FAILED', { field: 'bind_vars', parameter: '@c' });
    expect(fors(plan('FOR u IN @@c RETURN u', { c: 'users' }))[0]!.source).toMatchObject({ table: 'users' });
    expectError(() => plan('RETURN NO_SUCH_FN(1)'), 'VALIDATION_FAILED', { function: 'NO_SUCH_FN' });
    // FOR over a variable is not a collection
    const p = plan('LET xs = [1, 2] FOR x IN xs RETURN x');
    expect(fors(p)[0]!.source.kind).toBe('expr');
    expect(p.mode).toBe('no_collection');
  });

  it('COLLECT hides the loop variables; subqueries see outer variables', () => {
    expectError(() => plan('FOR u IN users COLLECT c = u.city RETURN u'), 'VALIDATION_FAILED', { field: 'query', line: 1, column: 42 });
    const p = plan('FOR u IN users LET n = (FOR o IN orders FILTER o.user == u._key RETURN 1) RETURN {u, n: LENGTH(n)}');
    expect(p.steps.map((s) => s.kind)).toEqual(['for', 'let']);
  });

  it('data modification steps name their collection', () => {
    const p = plan('FOR u IN users FILTER u.city == "B" UPDATE u WITH {seen: true} IN users RETURN NEW');
    expect(p.writes).toEqual(['users']);
    expect(p.steps.at(-1)).toMatchObject({ kind: 'modify', table: 'users' });
    expect(plan('INSERT {a: 1} INTO items').writes).toEqual(['items']);
  });
});

function expectError(f: () => unknown, code: string, details?: Record<string, unknown>): ThemisError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ThemisError);
    expect((e as ThemisError).code).toBe(code);
    if (details !== undefined) expect((e as ThemisError).details).toMatchObject(details);
    return e as ThemisError;
  }
  throw new Error('expected an error');
}

describe('attributeUse: what a full scan builds of each document', () => {
  const attrsOf = (q: string, v = 'u') => attributeUse(parseAql(q), v)?.sort();
  it('only the attributes read, when every use of the variable is an attribute path', () => {
    expect(attrsOf('FOR u IN items COLLECT c = u.city AGGREGATE s = SUM(u.age) RETURN {c, s}')).toEqual(['age', 'city']);
    expect(attrsOf('FOR u IN items FILTER u.a.b[0] == 1 AND u["c d"] > 2 SORT u.e RETURN u.f[*].g')).toEqual(['a', 'c d', 'e', 'f']);
    expect(attrsOf('FOR u IN items LET x = (FOR o IN orders FILTER o.user == u._key RETURN o.n) RETURN [u._id, x]')).toEqual([
      '_id',
      '_key',
    ]);
    expect(attrsOf('FOR u IN items COLLECT c = u.city INTO g = u.name RETURN {c, g}')).toEqual(['city', 'name']);
    expect(attrsOf('FOR u IN items RETURN 1')).toEqual([]);
    // the scan of the plan carries them
    const p = plan('FOR u IN items FILTER u.x > 1 RETURN u.y');
    expect(fors(p)[0]!.docAttrs?.slice().sort()).toEqual(['x', 'y']);
  });

  it('undefined (the whole document) when some use needs it', () => {
    for (const q of [
      'FOR u IN items RETURN u',
      'FOR u IN items RETURN MERGE(u, {a: 1})',
      'FOR u IN items RETURN u[@name]',
      'FOR u IN items RETURN u[*].a',
      'FOR u IN items LET d = u RETURN d.a',
      'FOR u IN items COLLECT c = u.city INTO g RETURN {c, g}',
      'FOR u IN items COLLECT c = u.city INTO g KEEP u RETURN {c, g}',
      'FOR u IN items UPDATE u WITH {a: 1} IN items',
      'FOR u IN items LET x = (FOR o IN orders FILTER o.user == u RETURN 1) RETURN x',
      'FOR u IN items FILTER HAS(u, "a") RETURN u.a',
    ])
      expect(attrsOf(q), q).toBeUndefined();
    expect(fors(plan('FOR u IN items RETURN u'))[0]!.docAttrs).toBeUndefined();
  });
});
