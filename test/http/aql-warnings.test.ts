/**
 * AQL query warnings over HTTP, black box against the built server: every
 * answer of POST /query/aql carries `extra: {warnings, warnings_total}`
 * (ArangoDB's cursor API), `max_warning_count` bounds the list,
 * `fail_on_warning` turns the first warning into 400 QUERY_WARNING (a
 * modifying query then writes nothing), and bad option values are 400
 * naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type Body, type StartedServer } from '../helpers/server.js';

let s: StartedServer;

beforeAll(async () => {
  s = await startServer();
  const r = await call(s, 'POST', '/transaction', { operations: [{ op: 'put', key: 'wt:seed', blob: { v: 0 } }] });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
});

afterAll(async () => {
  await s?.stop();
});

interface Warning {
  code: number;
  message: string;
}
interface Extra {
  warnings: Warning[];
  warnings_total: number;
}

const aql = (body: Body) => call(s, 'POST', '/query/aql', body);

describe('extra.warnings', () => {
  it('is [] for a query without warnings, in every kind of answer', async () => {
    const r = await aql({ query: 'RETURN 1' });
    expect(r.status).toBe(200);
    expect(r.body.extra).toEqual({ warnings: [], warnings_total: 0 });
    const ex = await aql({ query: 'RETURN 1', explain: true });
    expect(ex.body.extra).toEqual({ warnings: [], warnings_total: 0 });
    const cur = await aql({ query: 'RETURN 1', use_cursor: true });
    expect(cur.body.extra).toEqual({ warnings: [], warnings_total: 0 });
  });

  it('lists the warnings of functions and operators that evaluate to null, with ArangoDB codes', async () => {
    const r = await aql({
      query:
        "RETURN [REGEX_TEST('a', '('), 'a' =~ '[', PARSE_KEY(null), PARSE_IDENTIFIER('foo bar'), DATE_YEAR('2020-01-01', 1), 1 / 0, 1 % 0]",
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.entities).toEqual([[null, null, null, null, null, null, null]]);
    const extra = r.body.extra as Extra;
    expect(extra.warnings.map((w) => w.code)).toEqual([1543, 1543, 1542, 1542, 1542, 1562, 1562]);
    expect(extra.warnings_total).toBe(7);
    for (const w of extra.warnings) expect(typeof w.message).toBe('string');
  });

  it('WARN(expr, message) records the message (1594) when expr is falsy', async () => {
    const r = await aql({ query: "FOR i IN [1, 2] RETURN WARN(i == 1, CONCAT('not one: ', i))" });
    expect(r.body.entities).toEqual([true, false]);
    expect((r.body.extra as Extra).warnings).toEqual([{ code: 1594, message: 'not one: 2' }]);
  });

  it('a cursor page carries the warnings raised while it was read', async () => {
    const first = await aql({ query: 'FOR i IN 1..10 RETURN i > 5 ? i / 0 : i', use_cursor: true, batch_size: 5 });
    expect(first.status).toBe(200);
    // The first page reads one row ahead (row 6, with a warning).
    expect((first.body.extra as Extra).warnings).toHaveLength(1);
    const next = await aql({ cursor: first.body.next_cursor });
    expect(next.status).toBe(200);
    expect((next.body.extra as Extra).warnings).toHaveLength(4);
    expect((next.body.extra as Extra).warnings_total).toBe(5);
  });
  it('pages bigger than a chunk of values (256) compute no row ahead of the one after the page', async () => {
    // Every row warns: warnings_total (counted over the cursor's pages) is exactly the rows computed so far.
    const q = { query: 'FOR i IN 1..1000 RETURN i / 0', use_cursor: true, batch_size: 300, max_warning_count: 1000 };
    const pages: { n: number; warned: number; items: unknown[] }[] = [];
    let r = await aql(q);
    for (;;) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const items = r.body.items as unknown[];
      pages.push({ n: items.length, warned: (r.body.extra as Extra).warnings_total, items });
      if (!r.body.has_more) break;
      r = await aql({ cursor: r.body.next_cursor });
    }
    expect(pages.map((p) => [p.n, p.warned])).toEqual([
      [300, 301],
      [300, 601],
      [300, 901],
      [100, 1000],
    ]);
    expect(pages.flatMap((p) => p.items)).toEqual(Array.from({ length: 1000 }, () => null));
  });

  it('results and subquery results of many chunks come whole and in order', async () => {
    const r = await aql({ query: 'LET xs = (FOR i IN 1..2000 RETURN i) FOR x IN xs FILTER x % 3 == 0 RETURN [x, LENGTH(xs)]' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.entities).toEqual(Array.from({ length: 666 }, (_, k) => [3 * (k + 1), 2000]));
    // Values of ~2 KB: chunks end by their estimated bytes (256 KB) before 256 values.
    const big = await aql({ query: 'FOR i IN 1..600 RETURN CONCAT(i, ":", CONCAT_SEPARATOR("", 1..400))' });
    expect(big.status, JSON.stringify(big.body)).toBe(200);
    const digits = Array.from({ length: 400 }, (_, k) => k + 1).join('');
    expect(big.body.entities).toEqual(Array.from({ length: 600 }, (_, k) => `${k + 1}:${digits}`));
  });
});

describe('max_warning_count', () => {
  it('lists 10 by default, as many as asked, and counts them all', async () => {
    const d = await aql({ query: 'FOR i IN 1..30 RETURN i / 0' });
    expect((d.body.extra as Extra).warnings).toHaveLength(10);
    expect((d.body.extra as Extra).warnings_total).toBe(30);
    const two = await aql({ query: 'FOR i IN 1..30 RETURN i / 0', max_warning_count: 2 });
    expect(two.body.extra).toEqual({
      warnings: [
        { code: 1562, message: 'division by zero' },
        { code: 1562, message: 'division by zero' },
      ],
      warnings_total: 30,
    });
    const none = await aql({ query: 'FOR i IN 1..30 RETURN i / 0', max_warning_count: 0 });
    expect(none.body.extra).toEqual({ warnings: [], warnings_total: 30 });
  });

  it('bad values are 400 naming the field', async () => {
    for (const v of [-1, 1001, 2.5, 'ten', null, true]) {
      const r = await aql({ query: 'RETURN 1', max_warning_count: v });
      expect(r.status, JSON.stringify(v)).toBe(400);
      expect(r.body.code).toBe('VALIDATION_FAILED');
      expect(r.body.field).toBe('max_warning_count');
    }
    const f = await aql({ query: 'RETURN 1', fail_on_warning: 'yes' });
    expect(f.status).toBe(400);
    expect(f.body.code).toBe('VALIDATION_FAILED');
    expect(f.body.field).toBe('fail_on_warning');
  });
});

describe('fail_on_warning', () => {
  it('makes the first warning a 400 QUERY_WARNING answer naming it', async () => {
    const r = await aql({ query: "RETURN REGEX_TEST('a', '(')", fail_on_warning: true });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe(true);
    expect(r.body.status_code).toBe(400);
    expect(r.body.code).toBe('QUERY_WARNING');
    expect(typeof r.body.message).toBe('string');
    expect((r.body.warning as Warning).code).toBe(1543);
    const z = await aql({ query: 'RETURN 1 / 0', fail_on_warning: true });
    expect(z.body.warning).toEqual({ code: 1562, message: 'division by zero' });
  });

  it('a modifying query failing on a warning writes nothing', async () => {
    const q = 'FOR i IN 1..3 INSERT {_key: CONCAT("n", i), v: 1 / (i - 2)} INTO wt';
    const r = await aql({ query: q, fail_on_warning: true });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('QUERY_WARNING');
    const keys = await aql({ query: 'FOR d IN wt SORT d._key RETURN d._key' });
    expect(keys.body.entities).toEqual(['seed']);
  });

  it('in a request transaction: the failed query leaves nothing of its own, the transaction goes on', async () => {
    const b = await call(s, 'POST', '/transaction/begin', {});
    expect(b.status).toBe(200);
    const h = { 'x-transaction-id': String(b.body.transaction_id) };
    expect((await call(s, 'POST', '/query/aql', { query: 'INSERT {_key: "t1", v: 1} INTO wt' }, h)).status).toBe(200);
    const r = await call(
      s,
      'POST',
      '/query/aql',
      { query: 'FOR i IN 2..3 INSERT {_key: CONCAT("t", i), v: 1 / (i - 3)} INTO wt', fail_on_warning: true },
      h,
    );
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('QUERY_WARNING');
    expect((await call(s, 'POST', '/transaction/commit', { transaction_id: b.body.transaction_id })).status).toBe(200);
    const keys = await aql({ query: 'FOR d IN wt SORT d._key RETURN d._key' });
    expect(keys.body.entities).toEqual(['seed', 't1']);
  });

  it('leaves a query without warnings alone', async () => {
    const r = await aql({ query: 'RETURN 4 / 2', fail_on_warning: true });
    expect(r.status).toBe(200);
    expect(r.body.entities).toEqual([2]);
  });
});

describe('CURRENT_USER() and CURRENT_DATABASE()', () => {
  it('are the authenticated principal name and _system', async () => {
    const r = await aql({ query: 'RETURN [CURRENT_USER(), CURRENT_DATABASE()]' });
    expect(r.status).toBe(200);
    const [user, database] = (r.body.entities as [unknown, unknown][])[0]!;
    expect(typeof user).toBe('string');
    expect(user).not.toBe('');
    expect(database).toBe('_system');
  });
});
