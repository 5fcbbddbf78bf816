/**
 * Issue 13, harness part (c): AQL fuzzing with pathological generators —
 * regular-expression and LIKE bombs, huge ranges through the array
 * built-ins, deep nesting, cartesian products of FOR loops, big string
 * building, SORT and COLLECT over huge inputs, and mixtures of them. Every
 * query must get an answer (2xx, or 4xx in the error format; never a 5xx,
 * never no answer) within its deadline plus slack, the server's RSS must
 * stay bounded, and the server must be alive afterwards.
 *
 * A modest number of queries in the default run; THEMIS_SOAK=1 runs many
 * more (THEMIS_AQL_FUZZ_RUNS overrides the count; THEMIS_AQL_FUZZ_LOG=file
 * writes one line per query: status, ms, RSS growth, query).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startServer, type StartedServer } from '../helpers/server.js';

const SOAK = process.env.THEMIS_SOAK === '1';
const RUNS = Number(process.env.THEMIS_AQL_FUZZ_RUNS ?? (SOAK ? 1000 : 60));
const MiB = 1024 * 1024;
/** A small budget keeps each query cheap and the RSS bound tight. */
const BUDGET = 64 * MiB;
/** Per query; generous on a loaded 2-core machine, far below the old multi-second stalls. */
const SLACK_MS = 3_000;
/** RSS growth one query may cause: the budget, what the estimate misses, garbage not yet collected. */
const RSS_PER_QUERY = 3 * BUDGET + 128 * MiB;
/**
 * RSS growth over the whole run. V8 collects garbage lazily, so the heap
 * holds a few budgets of earlier queries' garbage at times; it must not
 * grow beyond that. (The old server grew by 1-2.3 GB in one query.)
 */
const RSS_TOTAL = 12 * BUDGET + 256 * MiB;

let s: StartedServer;
let baseRss = 0;

async function rss(): Promise<number> {
  const text = await (await s.req('GET', '/metrics')).text();
  const m = /^process_resident_memory_bytes (\S+)/m.exec(text);
  if (!m) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(m[1]);
}

beforeAll(async () => {
  s = await startServer({ env: { THEMIS_QUERY_MAX_MEMORY: String(BUDGET) } });
  // A small collection for loops over documents (cartesian products with ranges).
  const docs = Array.from({ length: 300 }, (_, i) => ({
    table: 'fz',
    key: `d${i}`,
    blob: { i, g: i % 7, s: `text ${i} ${'x'.repeat(i % 50)}`, tags: [i % 3, i % 5] },
  }));
  for (const d of docs) {
    const r = await s.req('PUT', `/entities/fz:${d.key}`, { blob: d.blob });
    expect(r.status, await r.text()).toBeLessThan(300);
  }
  await s.req('POST', '/query/aql', { query: 'RETURN LENGTH(1..100000)' }); // warm up
  // THEMIS_QUERY_MAX_MEMORY reaches the query service: 10M range slots (80 MB) are over 64 MiB
  const r = await s.req('POST', '/query/aql', { query: 'RETURN LENGTH(1..10000000)' });
  const body = (await r.json()) as Record<string, unknown>;
  expect(r.status, JSON.stringify(body)).toBe(400);
  expect(body).toMatchObject({ code: 'RESOURCE_LIMIT_EXCEEDED', limit: 'memory', limit_bytes: BUDGET });
  baseRss = await rss();
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

// ---------------------------------------------------------------- generators

interface Case {
  query: string;
  bind_vars?: Record<string, unknown>;
  timeout_ms: number;
}

const size = fc.constantFrom(1_000, 100_000, 1_000_000, 3_000_000, 10_000_000);
const timeout = fc.constantFrom(50, 200, 800, 1500);

const regexBomb = fc
  .record({
    n: fc.integer({ min: 10, max: 5_000 }),
    p: fc.constantFrom(
      '(a*)*b',
      '(a|a)*b',
      '(a+)+b',
      '(a|aa)+b',
      '((a*)*)*c',
      '(.*a){12}',
      '(a?){25}a{25}',
      '^(a+)+$',
      '(\\w+\\s?)*!x',
      '(a*)*b|(a+)+c',
    ),
    f: fc.constantFrom(
      'REGEX_TEST(@t, @p)',
      'REGEX_MATCHES(@t, @p)',
      'REGEX_SPLIT(@t, @p)',
      'REGEX_REPLACE(@t, @p, "x")',
      '@t =~ @p',
      '@t !~ @p',
    ),
    tail: fc.constantFrom('!', 'b', ''),
  })
  .map(({ n, p, f, tail }) => ({ query: `RETURN ${f}`, bind_vars: { t: 'a'.repeat(n) + tail, p } }));

const likeBomb = fc
  .record({
    n: fc.integer({ min: 10, max: 200_000 }),
    k: fc.integer({ min: 1, max: 30 }),
    unit: fc.constantFrom('%a', '%a_', '_%a', '%aa%'),
    end: fc.constantFrom('%b', 'b', '%', '_b'),
    ci: fc.boolean(),
  })
  .map(({ n, k, unit, end, ci }) => ({ query: `RETURN LIKE(@t, @p, ${ci})`, bind_vars: { t: 'a'.repeat(n), p: unit.repeat(k) + end } }));

const arrayFn = fc.constantFrom(
  (r: string) => `UNIQUE(${r})`,
  (r: string) => `SORTED(${r})`,
  (r: string) => `SORTED_UNIQUE(${r})`,
  (r: string) => `FLATTEN([${r}, ${r}])`,
  (r: string) => `REVERSE(${r})`,
  (r: string) => `MINUS(${r}, [1, 2])`,
  (r: string) => `UNION(${r}, ${r})`,
  (r: string) => `UNION_DISTINCT(${r}, [1])`,
  (r: string) => `INTERSECTION(${r}, ${r})`,
  (r: string) => `OUTERSECTION(${r}, [1])`,
  (r: string) => `COUNT_DISTINCT(${r})`,
  (r: string) => `[MEDIAN(${r})]`,
  (r: string) => `[PERCENTILE(${r}, 90)]`,
  (r: string) => `[SUM(${r}), MAX(${r}), AVERAGE(${r})]`,
  (r: string) => `${r}[* FILTER CURRENT % 3 == 0 RETURN CURRENT * 2]`,
  (r: string) => `REMOVE_VALUES(${r}, [1, 2, 3])`,
  (r: string) => `[POSITION(${r}, -1)]`,
  (r: string) => `INTERLEAVE(${r}, ${r})`,
  (r: string) => `SLICE(PUSH(${r}, 0), 1)`,
);
const hugeRange = fc
  .record({ n: size, f: arrayFn, g: fc.constantFrom(0, 1) })
  .map(({ n, f, g }) => ({ query: `RETURN LENGTH(${f(g ? `RANGE(1, ${n})` : `1..${n}`)})` }));

const bigString = fc
  .record({
    n: size,
    f: fc.constantFrom(
      'CONCAT_SEPARATOR(",", §)',
      'CONCAT(§)',
      'TO_STRING(§)',
      'JSON_STRINGIFY(§)',
      'UPPER(CONCAT_SEPARATOR("", §))',
      'SPLIT(CONCAT_SEPARATOR("", §), "")',
      'SPLIT(CONCAT_SEPARATOR(",", §), ",")',
      'TO_BASE64(CONCAT(§))',
      'MD5(CONCAT(§))',
      'REGEX_REPLACE(CONCAT_SEPARATOR(",", §), ",", ";;")',
      'SUBSTITUTE(CONCAT_SEPARATOR(",", §), ",", "--")',
      'REGEX_SPLIT(CONCAT_SEPARATOR(",", §), ",")',
      'LEVENSHTEIN_DISTANCE(CONCAT(§), CONCAT(§))',
    ),
  })
  .map(({ n, f }) => ({
    query: `RETURN LENGTH(${f.replaceAll('§', `1..${n}`)})`,
  }));

const deep = fc
  .record({
    d: fc.constantFrom(10, 255, 256, 257, 1_000, 100_000),
    f: fc.constantFrom(
      'LENGTH(JSON_PARSE(@s))',
      'FLATTEN(JSON_PARSE(@s), 1000000)',
      'JSON_STRINGIFY(JSON_PARSE(@s)) == @s',
      'MERGE_RECURSIVE({a: JSON_PARSE(@s)}, {a: JSON_PARSE(@s)})',
      'JSON_PARSE(@s) == JSON_PARSE(@s)',
      'UNIQUE([JSON_PARSE(@s), JSON_PARSE(@s)])',
      '[JSON_PARSE(@s)]',
    ),
  })
  .map(({ d, f }) => ({
    query: `RETURN ${f}`,
    bind_vars: { s: '['.repeat(d) + ']'.repeat(d) },
  }));

const cartesian = fc
  .record({
    a: size,
    b: size,
    docs: fc.boolean(),
    tail: fc.constantFrom(
      'LIMIT 5 RETURN [x, y]',
      'COLLECT WITH COUNT INTO n RETURN n',
      'FILTER x * y == -1 RETURN x',
      'SORT x * y DESC LIMIT 3 RETURN x * y',
      'COLLECT k = x % 10 INTO g RETURN [k, LENGTH(g)]',
    ),
  })
  .map(({ a, b, docs, tail }) => ({
    query: docs
      ? `FOR x IN 1..${a} FOR d IN fz FOR y IN 1..${Math.min(b, 1000)} ${tail.replaceAll('y', 'd.i')}`
      : `FOR x IN 1..${a} FOR y IN 1..${b} ${tail}`,
  }));

const sortCollect = fc
  .record({
    n: size,
    q: fc.constantFrom(
      'FOR x IN § SORT RAND() LIMIT 1 RETURN x',
      'FOR x IN § SORT -x RETURN x',
      'FOR x IN § COLLECT g = x % 1000 INTO items RETURN LENGTH(items)',
      'FOR x IN § COLLECT g = x INTO items RETURN g',
      'FOR x IN § RETURN DISTINCT x % 100000',
      'RETURN LENGTH(FOR x IN § RETURN CONCAT("k", x))',
      'FOR x IN § COLLECT AGGREGATE u = UNIQUE(x), p = PUSH(x) RETURN LENGTH(u) + LENGTH(p)',
    ),
  })
  .map(({ n, q }) => ({
    query: q.replaceAll('§', `1..${n}`),
  }));

const mixed = fc.record({ n: size, bomb: regexBomb, f: arrayFn }).map(({ n, bomb, f }) => ({
  query: `LET r = ${f(`1..${n}`)} LET s = (${bomb.query}) RETURN [LENGTH(r), s]`,
  bind_vars: bomb.bind_vars,
}));

const anyCase: fc.Arbitrary<Case> = fc
  .record({ c: fc.oneof(regexBomb, likeBomb, hugeRange, bigString, deep, cartesian, sortCollect, mixed), timeout_ms: timeout })
  .map(({ c, timeout_ms }) => ({ ...c, timeout_ms }));

// ---------------------------------------------------------------- the property

describe(`AQL fuzzing with pathological queries (${RUNS} queries${SOAK ? ', soak' : ''})`, () => {
  it(
    'every query is answered (2xx, or 4xx in the error format) within its deadline plus slack, RSS stays bounded, the server stays up',
    async () => {
      const stats = { ok: 0, timeout: 0, memory: 0, other4xx: 0, slowest: 0, maxRssGrowth: 0, maxQueryGrowth: 0 };
      const others = new Map<string, string>(); // other 4xx: code → one message
      await fc.assert(
        fc.asyncProperty(anyCase, async (c) => {
          const label = JSON.stringify({
            query: c.query.slice(0, 300),
            timeout_ms: c.timeout_ms,
            bind: c.bind_vars
              ? Object.fromEntries(
                  Object.entries(c.bind_vars).map(([k, v]) => [
                    k,
                    typeof v === 'string' && v.length > 40 ? `${v.slice(0, 20)}… (${v.length} chars)` : v,
                  ]),
                )
              : undefined,
          });
          const before = await rss();
          const t0 = Date.now();
          const r = await s.req('POST', '/query/aql', { query: c.query, bind_vars: c.bind_vars ?? {}, timeout_ms: c.timeout_ms });
          const text = await r.text();
          const ms = Date.now() - t0;
          stats.slowest = Math.max(stats.slowest, ms);
          expect(r.status, `${label} → ${r.status} ${text.slice(0, 300)}`).toBeLessThan(500);
          const body = JSON.parse(text) as Record<string, unknown>;
          if (r.status >= 400) {
            expect(body, label).toMatchObject({ error: true, status_code: r.status });
            expect(typeof body.message, label).toBe('string');
            expect(typeof body.code, label).toBe('string');
            expect(text, label).not.toMatch(/\n\s+at |Error: .*\.ts:\d+/); // no stack traces
            if (body.code === 'TIMEOUT') stats.timeout++;
            else if (body.code === 'RESOURCE_LIMIT_EXCEEDED') stats.memory++;
            else {
              stats.other4xx++;
              if (!others.has(`${r.status} ${String(body.code)}`))
                others.set(`${r.status} ${String(body.code)}`, String(body.message).slice(0, 120));
            }
          } else stats.ok++;
          expect(ms, `${label} answered after ${ms} ms`).toBeLessThan(c.timeout_ms + SLACK_MS);
          const after = await rss();
          const grown = after - baseRss;
          stats.maxRssGrowth = Math.max(stats.maxRssGrowth, grown);
          stats.maxQueryGrowth = Math.max(stats.maxQueryGrowth, after - before);
          if (process.env.THEMIS_AQL_FUZZ_LOG)
            fs.appendFileSync(
              process.env.THEMIS_AQL_FUZZ_LOG,
              `${r.status}\t${ms}\t${Math.round(grown / MiB)}\t${Math.round((after - before) / MiB)}\t${label}\n`,
            );
          expect(after - before, `${label}: RSS grew by ${Math.round((after - before) / MiB)} MiB during the query`).toBeLessThan(
            RSS_PER_QUERY,
          );
          expect(grown, `${label}: RSS grew by ${Math.round(grown / MiB)} MiB since the start`).toBeLessThan(RSS_TOTAL);
          const h = await fetch(`${s.base}/health`);
          expect(h.status, label).toBe(200);
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      console.log(
        `aql fuzz: ${RUNS} queries: ${stats.ok} answered, ${stats.timeout} TIMEOUT, ${stats.memory} RESOURCE_LIMIT_EXCEEDED, ${stats.other4xx} other 4xx; slowest ${stats.slowest} ms; RSS +${Math.round(stats.maxQueryGrowth / MiB)} MiB at most during one query, +${Math.round(stats.maxRssGrowth / MiB)} MiB at most since the start; other 4xx: ${JSON.stringify(Object.fromEntries(others))}`,
      );
      // the server still runs ordinary queries
      const r = await s.req('POST', '/query/aql', { query: 'FOR d IN fz FILTER d.g == 3 COLLECT WITH COUNT INTO n RETURN n' });
      const body = (await r.json()) as { entities: unknown[] };
      expect(r.status, JSON.stringify(body)).toBe(200);
      expect(body.entities).toEqual([43]);
    },
    SOAK ? 3_600_000 : 120_000,
  );
});
