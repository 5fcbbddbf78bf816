/**
 * AQL WINDOW as ArangoDB 3.12 documents it (aql/high-level-operations/window.md
 * in arangodb/docs-hugo) and implements it (WindowNode / WindowExecutor in
 * arangodb/arangodb): the documentation's four examples over its
 * observations dataset with the documented results, then edge cases, the
 * bound checks (400), explain, cursors, subqueries and the row cap / memory
 * budget.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql, type AqlQueries } from '../../src/aql/index.js';
import { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { DEFAULTS } from '../../src/config.js';
import { openDb, tempDir } from '../helpers/inproc.js';

// The documentation's observationsSampleDataset, in its insertion order.
const OBSERVATIONS = [
  { time: '2021-05-25 07:00:00', subject: 'st113', val: 10 },
  { time: '2021-05-25 07:00:00', subject: 'xh458', val: 0 },
  { time: '2021-05-25 07:15:00', subject: 'st113', val: 9 },
  { time: '2021-05-25 07:15:00', subject: 'xh458', val: 10 },
  { time: '2021-05-25 07:30:00', subject: 'st113', val: 25 },
  { time: '2021-05-25 07:30:00', subject: 'xh458', val: 5 },
  { time: '2021-05-25 07:45:00', subject: 'st113', val: 20 },
  { time: '2021-05-25 07:45:00', subject: 'xh458', val: 30 },
  { time: '2021-05-25 08:00:00', subject: 'xh458', val: 25 },
];

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-window-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch(OBSERVATIONS.map((blob, i) => ({ op: 'put' as const, key: `observations:o${i + 1}`, blob })));
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Answer = Awaited<ReturnType<AqlQueries['run']>>;
const run = (query: string, extra: Record<string, unknown> = {}): Promise<Answer> => db.get(Aql).run({ query, ...extra });
const rows = async (query: string, bind_vars: Record<string, unknown> = {}): Promise<AqlValue[]> => {
  const r = await run(query, { bind_vars });
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
};

async function refused(query: string, message: RegExp, bind_vars: Record<string, unknown> = {}): Promise<ThemisError> {
  try {
    await run(query, { bind_vars });
  } catch (e) {
    expect(e, query).toBeInstanceOf(ThemisError);
    const t = e as ThemisError;
    expect([t.code, t.status], `${query}: ${t.message}`).toEqual(['VALIDATION_FAILED', 400]);
    expect(t.message, query).toMatch(message);
    return t;
  }
  throw new Error(`expected a refusal: ${query}`);
}

/** [time, subject, val, ...aggregates] of the documentation's tables. */
type Line = [string, string, number, ...number[]];
const table = (lines: Line[], names: string[]) =>
  lines.map(([time, subject, val, ...aggs]) => {
    const o: Record<string, unknown> = { time, subject, val };
    names.forEach((n, i) => {
      o[n] = aggs[i];
    });
    return o;
  });

describe('the documentation examples (observationsSampleDataset)', () => {
  it('row-based: rolling average and sum of the previous, current and next row; a running total (windowAggregationRow)', async () => {
    const q = `FOR t IN observations
      SORT t.time
      WINDOW { preceding: 1, following: 1 }
      AGGREGATE rollingAverage = AVG(t.val), rollingSum = SUM(t.val)
      WINDOW { preceding: "unbounded", following: 0}
      AGGREGATE cumulativeSum = SUM(t.val)
      RETURN {
        time: t.time,
        subject: t.subject,
        val: t.val,
        rollingAverage, // average of the window's values
        rollingSum,     // sum of the window's values
        cumulativeSum   // running total
      }`;
    expect(await rows(q)).toEqual(
      table(
        [
          ['2021-05-25 07:00:00', 'st113', 10, 5, 10, 10],
          ['2021-05-25 07:00:00', 'xh458', 0, 19 / 3, 19, 10],
          ['2021-05-25 07:15:00', 'st113', 9, 19 / 3, 19, 19],
          ['2021-05-25 07:15:00', 'xh458', 10, 44 / 3, 44, 29],
          ['2021-05-25 07:30:00', 'st113', 25, 40 / 3, 40, 54],
          ['2021-05-25 07:30:00', 'xh458', 5, 50 / 3, 50, 59],
          ['2021-05-25 07:45:00', 'st113', 20, 55 / 3, 55, 79],
          ['2021-05-25 07:45:00', 'xh458', 30, 25, 75, 109],
          ['2021-05-25 08:00:00', 'xh458', 25, 27.5, 55, 134],
        ],
        ['rollingAverage', 'rollingSum', 'cumulativeSum'],
      ),
    );
  });

  it('row-based per group, in a subquery (windowAggregationRowGrouped)', async () => {
    const q = `FOR t IN observations
      COLLECT subject = t.subject INTO group = t
      LET subquery = (FOR t2 IN group
        SORT t2.time
        WINDOW { preceding: 1, following: 1 }
        AGGREGATE rollingAverage = AVG(t2.val), rollingSum = SUM(t2.val)
        WINDOW { preceding: "unbounded", following: 0 }
        AGGREGATE cumulativeSum = SUM(t2.val)
        RETURN {
          time: t2.time,
          subject: t2.subject,
          val: t2.val,
          rollingAverage,
          rollingSum,
          cumulativeSum
        }
      )
      // flatten subquery result
      FOR t2 IN subquery
        RETURN t2`;
    expect(await rows(q)).toEqual(
      table(
        [
          ['2021-05-25 07:00:00', 'st113', 10, 9.5, 19, 10],
          ['2021-05-25 07:15:00', 'st113', 9, 44 / 3, 44, 19],
          ['2021-05-25 07:30:00', 'st113', 25, 18, 54, 44],
          ['2021-05-25 07:45:00', 'st113', 20, 22.5, 45, 64],
          ['2021-05-25 07:00:00', 'xh458', 0, 5, 10, 0],
          ['2021-05-25 07:15:00', 'xh458', 10, 5, 15, 10],
          ['2021-05-25 07:30:00', 'xh458', 5, 15, 45, 15],
          ['2021-05-25 07:45:00', 'xh458', 30, 20, 60, 45],
          ['2021-05-25 08:00:00', 'xh458', 25, 27.5, 55, 70],
        ],
        ['rollingAverage', 'rollingSum', 'cumulativeSum'],
      ),
    );
  });

  it('range-based: values within [val - 10, val + 5]; the rows come sorted by the range value (windowAggregationRangeValue)', async () => {
    const q = `FOR t IN observations
      WINDOW t.val WITH { preceding: 10, following: 5 }
      AGGREGATE rollingAverage = AVG(t.val), rollingSum = SUM(t.val)
      RETURN {
        time: t.time,
        subject: t.subject,
        val: t.val,
        rollingAverage,
        rollingSum
      }`;
    expect(await rows(q)).toEqual(
      table(
        [
          ['2021-05-25 07:00:00', 'xh458', 0, 2.5, 5],
          ['2021-05-25 07:30:00', 'xh458', 5, 6.8, 34],
          ['2021-05-25 07:15:00', 'st113', 9, 6.8, 34],
          ['2021-05-25 07:00:00', 'st113', 10, 6.8, 34],
          ['2021-05-25 07:15:00', 'xh458', 10, 6.8, 34],
          ['2021-05-25 07:45:00', 'st113', 20, 18, 90],
          ['2021-05-25 07:30:00', 'st113', 25, 25, 100],
          ['2021-05-25 08:00:00', 'xh458', 25, 25, 100],
          ['2021-05-25 07:45:00', 'xh458', 30, 25, 100],
        ],
        ['rollingAverage', 'rollingSum'],
      ),
    );
  });

  it('duration-based: the last 30 minutes, inclusive (windowAggregationRangeDuration)', async () => {
    const q = `FOR t IN observations
      WINDOW DATE_TIMESTAMP(t.time) WITH { preceding: "PT30M" }
      AGGREGATE rollingAverage = AVG(t.val), rollingSum = SUM(t.val)
      RETURN {
        time: t.time,
        subject: t.subject,
        val: t.val,
        rollingAverage,
        rollingSum
      }`;
    expect(await rows(q)).toEqual(
      table(
        [
          ['2021-05-25 07:00:00', 'st113', 10, 5, 10],
          ['2021-05-25 07:00:00', 'xh458', 0, 5, 10],
          ['2021-05-25 07:15:00', 'st113', 9, 7.25, 29],
          ['2021-05-25 07:15:00', 'xh458', 10, 7.25, 29],
          ['2021-05-25 07:30:00', 'st113', 25, 59 / 6, 59],
          ['2021-05-25 07:30:00', 'xh458', 5, 59 / 6, 59],
          ['2021-05-25 07:45:00', 'st113', 20, 16.5, 99],
          ['2021-05-25 07:45:00', 'xh458', 30, 16.5, 99],
          ['2021-05-25 08:00:00', 'xh458', 25, 21, 105],
        ],
        ['rollingAverage', 'rollingSum'],
      ),
    );
  });
});

describe('row-based frames', () => {
  const win = (spec: string, input = '[1, 2, 3, 4, 5]') =>
    rows(`FOR x IN ${input} WINDOW ${spec} AGGREGATE s = SUM(x), n = COUNT(), lo = MIN(x), hi = MAX(x) RETURN [x, s, n, lo, hi]`);

  it('no rows in, no rows out', async () => {
    expect(await win('{ preceding: 1, following: 1 }', '[]')).toEqual([]);
    expect(await win('{ preceding: "unbounded", following: "unbounded" }', '[]')).toEqual([]);
  });

  it('preceding and following 0 (and absent, which is 0): each row alone', async () => {
    const alone = [1, 2, 3, 4, 5].map((x) => [x, x, 1, x, x]);
    expect(await win('{ preceding: 0, following: 0 }')).toEqual(alone);
    expect(await win('{}')).toEqual(alone);
    expect(await win('{ preceding: 0 }')).toEqual(alone);
  });

  it('preceding only, following only', async () => {
    expect(await win('{ preceding: 2 }')).toEqual([
      [1, 1, 1, 1, 1],
      [2, 3, 2, 1, 2],
      [3, 6, 3, 1, 3],
      [4, 9, 3, 2, 4],
      [5, 12, 3, 3, 5],
    ]);
    expect(await win('{ following: 2 }')).toEqual([
      [1, 6, 3, 1, 3],
      [2, 9, 3, 2, 4],
      [3, 12, 3, 3, 5],
      [4, 9, 2, 4, 5],
      [5, 5, 1, 5, 5],
    ]);
  });

  it('"unbounded" (or "inf") on either side, and on both: every row sees the whole input', async () => {
    expect(await win('{ preceding: "unbounded" }')).toEqual([
      [1, 1, 1, 1, 1],
      [2, 3, 2, 1, 2],
      [3, 6, 3, 1, 3],
      [4, 10, 4, 1, 4],
      [5, 15, 5, 1, 5],
    ]);
    expect(await win('{ preceding: "unbounded", following: 1 }')).toEqual([
      [1, 3, 2, 1, 2],
      [2, 6, 3, 1, 3],
      [3, 10, 4, 1, 4],
      [4, 15, 5, 1, 5],
      [5, 15, 5, 1, 5],
    ]);
    expect(await win('{ following: "inf" }')).toEqual([
      [1, 15, 5, 1, 5],
      [2, 14, 4, 2, 5],
      [3, 12, 3, 3, 5],
      [4, 9, 2, 4, 5],
      [5, 5, 1, 5, 5],
    ]);
    const all = [1, 2, 3, 4, 5].map((x) => [x, 15, 5, 1, 5]);
    expect(await win('{ preceding: "unbounded", following: "unbounded" }')).toEqual(all);
    // a frame larger than the input is the whole input
    expect(await win('{ preceding: 100, following: 100 }')).toEqual(all);
  });

  it('fractional bounds are truncated; constant expressions are bounds known at compile time', async () => {
    expect(await win('{ preceding: 1.9, following: 0.5 }')).toEqual(await win('{ preceding: 1 }'));
    expect(await win('{ preceding: 3 - 2, following: -(-1) }')).toEqual(await win('{ preceding: 1, following: 1 }'));
  });

  it('nulls in the aggregated expression: SUM / AVG / MIN / MAX skip them, COUNT counts rows', async () => {
    expect(
      await rows(
        'FOR x IN [1, null, 3, null] WINDOW { preceding: "unbounded" } AGGREGATE s = SUM(x), a = AVG(x), n = COUNT(), lo = MIN(x), u = UNIQUE(x) RETURN [s, a, n, lo, u]',
      ),
    ).toEqual([
      [1, 1, 1, 1, [1]],
      [1, 1, 2, 1, [1, null]],
      [4, 2, 3, 1, [1, null, 3]],
      [4, 2, 4, 1, [1, null, 3]],
    ]);
    expect(
      await rows('FOR x IN [null, null] WINDOW { following: 1 } AGGREGATE a = AVG(x), s = SUM(x), m = MAX(x) RETURN [a, s, m]'),
    ).toEqual([
      [null, 0, null],
      [null, 0, null],
    ]);
  });

  it('the row stream and earlier variables are kept; the aggregate variables are visible after WINDOW, to later WINDOWs and FILTERs', async () => {
    expect(
      await rows(`FOR x IN 1..5 LET y = x * 10
        WINDOW { preceding: 1 } AGGREGATE s = SUM(y)
        WINDOW { preceding: 1 } AGGREGATE s2 = SUM(s)
        FILTER s2 > 50
        RETURN { x, y, s, s2 }`),
    ).toEqual([
      { x: 3, y: 30, s: 50, s2: 80 },
      { x: 4, y: 40, s: 70, s2: 120 },
      { x: 5, y: 50, s: 90, s2: 160 },
    ]);
    // a FILTER after a WINDOW is not moved in front of it (the frames are over the rows that reach the WINDOW)
    expect(await rows('FOR x IN 1..5 WINDOW { preceding: "unbounded" } AGGREGATE s = SUM(x) FILTER x > 3 RETURN s')).toEqual([10, 15]);
    expect(await rows('FOR x IN 1..5 FILTER x > 3 WINDOW { preceding: "unbounded" } AGGREGATE s = SUM(x) RETURN s')).toEqual([4, 9]);
  });

  it('after COLLECT, over a LIMIT, and with PUSH / COUNT_DISTINCT', async () => {
    expect(
      await rows(`FOR t IN observations COLLECT subject = t.subject AGGREGATE total = SUM(t.val)
        WINDOW { preceding: "unbounded" } AGGREGATE running = SUM(total), names = PUSH(subject)
        RETURN { subject, total, running, names }`),
    ).toEqual([
      { subject: 'st113', total: 64, running: 64, names: ['st113'] },
      { subject: 'xh458', total: 70, running: 134, names: ['st113', 'xh458'] },
    ]);
    expect(
      await rows('FOR t IN observations SORT t.time LIMIT 2, 3 WINDOW { following: 1 } AGGREGATE k = COUNT_DISTINCT(t.subject) RETURN k'),
    ).toEqual([2, 2, 1]);
  });

  it("every aggregate function of ArangoDB's list (shared with COLLECT AGGREGATE)", async () => {
    const all = `AGGREGATE len = LENGTH(1), cnt = COUNT(1), lo = MIN(x), hi = MAX(x), s = SUM(x), a = AVG(x), av = AVERAGE(x),
      sp = STDDEV_POPULATION(x), sd = STDDEV(x), ss = STDDEV_SAMPLE(x), vp = VARIANCE_POPULATION(x), v = VARIANCE(x), vs = VARIANCE_SAMPLE(x),
      u = UNIQUE(x), su = SORTED_UNIQUE(x), cd = COUNT_DISTINCT(x), cu = COUNT_UNIQUE(x), ba = BIT_AND(x), bo = BIT_OR(x), bx = BIT_XOR(x)`;
    const expected = {
      len: 8,
      cnt: 8,
      lo: 2,
      hi: 9,
      s: 40,
      a: 5,
      av: 5,
      sp: 2,
      sd: 2,
      ss: Math.sqrt(32 / 7),
      vp: 4,
      v: 4,
      vs: 32 / 7,
      u: [9, 4, 2, 5, 7],
      su: [2, 4, 5, 7, 9],
      cd: 5,
      cu: 5,
      ba: 0,
      bo: 15,
      bx: 9 ^ 4 ^ 4 ^ 2 ^ 5 ^ 4 ^ 7 ^ 5,
    };
    const input = '[9, 4, 4, 2, 5, 4, 7, 5]';
    const ret = `RETURN {${Object.keys(expected).join(', ')}}`;
    const w = await rows(`FOR x IN ${input} WINDOW { preceding: "unbounded", following: "unbounded" } ${all} ${ret}`);
    expect(w).toHaveLength(8);
    for (const r of w) expect(r).toEqual(expected);
    expect(await rows(`FOR x IN ${input} COLLECT ${all} ${ret}`)).toEqual([expected]);
    // nulls are skipped (SORTED_UNIQUE keeps one, as UNIQUE does); a value that is no number makes VARIANCE / STDDEV / BIT_* null
    expect(
      await rows(
        'FOR x IN [12, null, 10] WINDOW { preceding: 1 } AGGREGATE ba = BIT_AND(x), bo = BIT_OR(x), v = VARIANCE_SAMPLE(x), su = SORTED_UNIQUE(x) RETURN [ba, bo, v, su]',
      ),
    ).toEqual([
      [12, 12, null, [12]],
      [12, 12, null, [null, 12]],
      [10, 10, null, [null, 10]],
    ]);
    expect(await rows('FOR x IN [1, "2", -1, 2.5] WINDOW { preceding: 1 } AGGREGATE b = BIT_OR(x), sd = STDDEV(x) RETURN [b, sd]')).toEqual(
      [
        [1, 0],
        [null, null],
        [null, null],
        [null, 1.75],
      ],
    );
  });

  it('an aggregate cannot use its own or a later aggregate variable', async () => {
    await refused('FOR x IN 1..3 WINDOW { preceding: 1 } AGGREGATE s = SUM(s) RETURN s', /variable "s" is not declared/);
  });
});

describe("bound checks (400 VALIDATION_FAILED, ArangoDB's messages)", () => {
  it('row bounds must be integers >= 0 or "unbounded"', async () => {
    for (const bad of ['-1', '"1"', 'null', 'true', '"forever"', '[1]', '{}'])
      await refused(
        `FOR x IN 1..3 WINDOW { preceding: ${bad} } AGGREGATE s = SUM(x) RETURN s`,
        /WINDOW row spec is invalid; bounds must be positive integers or "unbounded"/,
      );
    await refused('FOR x IN 1..3 WINDOW { following: -2 } AGGREGATE s = SUM(x) RETURN s', /WINDOW row spec is invalid/);
  });

  it('bounds must be known at compile time', async () => {
    await refused(
      'FOR x IN 1..3 WINDOW { preceding: x } AGGREGATE s = SUM(x) RETURN s',
      /WINDOW bounds must be determined at compile time/,
    );
    await refused(
      'FOR x IN 1..3 WINDOW { preceding: LENGTH([1]) } AGGREGATE s = SUM(x) RETURN s',
      /WINDOW bounds must be determined at compile time/,
    );
  });

  it('range bounds: numbers or ISO 8601 durations, not mixed', async () => {
    await refused(
      'FOR x IN 1..3 WINDOW x WITH { preceding: 1, following: "PT1H" } AGGREGATE s = SUM(x) RETURN s',
      /must be of the same type/,
    );
    await refused('FOR x IN 1..3 WINDOW x WITH { preceding: null } AGGREGATE s = SUM(x) RETURN s', /WINDOW range spec is invalid/);
    await refused('FOR x IN 1..3 WINDOW x WITH { preceding: [1] } AGGREGATE s = SUM(x) RETURN s', /WINDOW range spec is invalid/);
    for (const d of ['PT0.5H', 'PT0.1234S', 'P', 'PT', '1H', 'P-1D', 'p1d'])
      await refused(
        `FOR x IN 1..3 WINDOW x WITH { preceding: "${d}" } AGGREGATE s = SUM(x) RETURN s`,
        /'preceding' is not a valid ISO 8601 duration string/,
      );
    await refused(
      'FOR x IN 1..3 WINDOW x WITH { following: "1 day" } AGGREGATE s = SUM(x) RETURN s',
      /'following' is not a valid ISO 8601 duration string/,
    );
  });

  it('syntax: AGGREGATE is required, the spec is an object literal, aggregate functions as for COLLECT, WINDOW is reserved', async () => {
    const e = await refused('FOR x IN 1..3 WINDOW { preceding: 1 } RETURN x', /AQL syntax error .*expected AGGREGATE/);
    expect(e.details).toMatchObject({ field: 'query', token: 'RETURN' });
    await refused('FOR x IN 1..3 WINDOW { preceding: 1 }', /unexpected end of query: expected AGGREGATE/);
    await refused('FOR x IN 1..3 WINDOW 1 AGGREGATE s = SUM(x) RETURN s', /WINDOW expects an object/);
    await refused('FOR x IN 1..3 WINDOW x WITH @spec AGGREGATE s = SUM(x) RETURN s', /WINDOW \.\.\. WITH expects an object/, { spec: {} });
    await refused('FOR x IN 1..3 WINDOW {} AGGREGATE s = x + 1 RETURN s', /AGGREGATE expects a call of an aggregate function/);
    await refused('FOR x IN 1..3 WINDOW {} AGGREGATE s = FOO(x) RETURN s', /unknown aggregate function FOO/);
    await refused('LET window = 1 RETURN window', /AQL syntax error/);
  });
});

describe('range-based frames', () => {
  it('numeric ranges: inclusive, following only, duplicates share a frame, negative and fractional offsets', async () => {
    const q = (spec: string, input = '[3, 1, 2, 2, 5]') =>
      rows(`FOR x IN ${input} WINDOW x WITH ${spec} AGGREGATE n = COUNT(), s = SUM(x) RETURN [x, n, s]`);
    expect(await q('{ preceding: 1 }')).toEqual([
      [1, 1, 1],
      [2, 3, 5],
      [2, 3, 5],
      [3, 3, 7],
      [5, 1, 5],
    ]);
    expect(await q('{ following: 1 }')).toEqual([
      [1, 3, 5],
      [2, 3, 7],
      [2, 3, 7],
      [3, 1, 3],
      [5, 1, 5],
    ]);
    expect(await q('{}')).toEqual([
      [1, 1, 1],
      [2, 2, 4],
      [2, 2, 4],
      [3, 1, 3],
      [5, 1, 5],
    ]);
    expect(await q('{ preceding: 0.5, following: 2.5 }')).toEqual([
      [1, 4, 8],
      [2, 3, 7],
      [2, 3, 7],
      [3, 2, 8],
      [5, 1, 5],
    ]);
    expect(await q('{ preceding: 1 }', '[]')).toEqual([]);
  });

  it("null counts as 0; a value that is no number gets null aggregates and a warning (ArangoDB's WindowExecutor scan)", async () => {
    const r = await run('FOR x IN [2, "a", 1, null] WINDOW x WITH { preceding: 1, following: 1 } AGGREGATE n = COUNT() RETURN [x, n]');
    if (!('entities' in r)) throw new Error('no entities');
    // sorted: null (0), 1, 2, "a"; "a" is not numeric: its own aggregates are null, and it counts as 0 in the other
    // frames it is scanned in (1's frame [0, 2] reaches it), as in ArangoDB
    expect(r.entities).toEqual([
      [null, 2],
      [1, 4],
      [2, 2],
      ['a', null],
    ]);
    expect(r.extra.warnings).toEqual([{ code: 1561, message: 'invalid arithmetic value' }]);
  });

  it('durations: over numeric timestamps; calendar months; a range value that is no timestamp gets null and a warning', async () => {
    const day = 86_400_000;
    const t0 = Date.UTC(2024, 0, 31);
    const q = `FOR t IN @ts WINDOW t WITH { preceding: "P1M", following: "P1D" } AGGREGATE n = COUNT() RETURN [t, n]`;
    // Dec 31, Jan 29, Jan 31, Feb 29, Mar 1 (2024): Jan 31 - 1 month = Dec 31; Feb 29 - 1 month = Jan 29; Mar 1 - 1 month = Feb 1
    const ts = [t0 - 31 * day, t0 - 2 * day, t0, t0 + 29 * day, t0 + 30 * day];
    expect(await rows(q, { ts })).toEqual([
      [ts[0], 1],
      [ts[1], 2],
      [ts[2], 3],
      [ts[3], 4],
      [ts[4], 2],
    ]);
    expect(
      await rows('FOR t IN [0, 3600000, 7200000] WINDOW t WITH { following: "PT1H" } AGGREGATE s = SUM(t / 3600000) RETURN s'),
    ).toEqual([1, 3, 2]);
    expect(await rows('FOR t IN [1000, 1500, 2100] WINDOW t WITH { preceding: "PT0.5S" } AGGREGATE n = COUNT() RETURN n')).toEqual([
      1, 2, 1,
    ]);
    // (the date string is no timestamp; as in ArangoDB it counts as 0 in the frames whose scan reaches it: sorted
    // after the numbers, it is reached only when no larger number ends the scan before: 5's frame [5 - 1 day, 5]
    // counts it alone, next to 1e12 it is not reached)
    expect(await rows('FOR t IN ["2021-05-25", 5] WINDOW t WITH { preceding: "P1D" } AGGREGATE n = COUNT() RETURN [t, n]')).toEqual([
      [5, 2],
      ['2021-05-25', null],
    ]);
    const r = await run('FOR t IN ["2021-05-25", 5, 1e12] WINDOW t WITH { preceding: "P1D" } AGGREGATE n = COUNT() RETURN [t, n]');
    if (!('entities' in r)) throw new Error('no entities');
    expect(r.entities).toEqual([
      [5, 1],
      [1e12, 1],
      ['2021-05-25', null],
    ]);
    expect(r.extra.warnings.map((w) => w.code)).toEqual([1572]);
  });

  it('the range value is computed once per row (a random one too)', async () => {
    const r = await rows('FOR x IN 1..50 WINDOW RAND() WITH { preceding: 2 } AGGREGATE n = COUNT() RETURN n');
    // sorted by the value: each row's frame is itself and the rows before it with a value at most 2 below (all of them)
    expect(r).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});

describe('plans, cursors', () => {
  it('explain shows a window step (a range WINDOW: with the LET and SORT put before it)', async () => {
    const r = await run('FOR x IN 1..3 WINDOW { preceding: "unbounded", following: 1 } AGGREGATE s = SUM(x) RETURN s', { explain: true });
    if (!('explain' in r)) throw new Error('no explain');
    expect((r.plan as { steps: unknown[] }).steps).toEqual([
      { type: 'for', variable: 'x', access: 'expr' },
      { type: 'window', preceding: 'unbounded', following: 1, aggregates: ['s = SUM'] },
    ]);
    const d = await run('FOR x IN 1..3 WINDOW x * 1000 WITH { preceding: "P1W2DT1.5S" } AGGREGATE n = COUNT(), s = SUM(x) RETURN n', {
      explain: true,
    });
    if (!('explain' in d)) throw new Error('no explain');
    expect((d.plan as { steps: unknown[] }).steps).toEqual([
      { type: 'for', variable: 'x', access: 'expr' },
      { type: 'let', variable: '$window#1' },
      { type: 'sort', keys: 1, by_index: false },
      { type: 'window', range: true, preceding: 'P1W2DT1.500S', following: 'P0D', aggregates: ['n = COUNT', 's = SUM'] },
    ]);
  });

  it('through a cursor, one row per page: the same rows', async () => {
    const q = `FOR t IN observations SORT t.time WINDOW { preceding: 2, following: 1 } AGGREGATE s = SUM(t.val), a = AVG(t.val) RETURN [t.subject, s, a]`;
    const all = await rows(q);
    let r = await run(q, { use_cursor: true, batch_size: 1 });
    if (!('items' in r)) throw new Error('expected a cursor page');
    const got = [...r.items];
    while (r.has_more) {
      r = await db.get(Aql).run({ cursor: r.next_cursor });
      if (!('items' in r)) throw new Error('expected a cursor page');
      got.push(...r.items);
    }
    expect(got).toEqual(all);
    expect(got).toHaveLength(9);
  });

  it('bind parameters as bounds', async () => {
    expect(await rows('FOR x IN 1..4 WINDOW { preceding: @p, following: @f } AGGREGATE s = SUM(x) RETURN s', { p: 1, f: 0 })).toEqual([
      1, 3, 5, 7,
    ]);
    expect(await rows('FOR x IN 1..4 WINDOW { preceding: @p } AGGREGATE s = SUM(x) RETURN s', { p: 'unbounded' })).toEqual([1, 3, 6, 10]);
    await refused('FOR x IN 1..4 WINDOW { preceding: @p } AGGREGATE s = SUM(x) RETURN s', /WINDOW row spec is invalid/, { p: -1 });
  });
});

describe('docs/aql.md', () => {
  it('the WINDOW examples', async () => {
    expect(
      await rows(
        'FOR i IN [10, 0, 9, 10, 25] WINDOW { preceding: 1, following: 1 } AGGREGATE rollingSum = SUM(i), rollingAverage = AVG(i) WINDOW { preceding: "unbounded" } AGGREGATE runningTotal = SUM(i) RETURN {i, rollingSum, rollingAverage, runningTotal}',
      ),
    ).toEqual([
      { i: 10, rollingSum: 10, rollingAverage: 5, runningTotal: 10 },
      { i: 0, rollingSum: 19, rollingAverage: 6.333333333333333, runningTotal: 10 },
      { i: 9, rollingSum: 19, rollingAverage: 6.333333333333333, runningTotal: 19 },
      { i: 10, rollingSum: 44, rollingAverage: 14.666666666666666, runningTotal: 29 },
      { i: 25, rollingSum: 35, rollingAverage: 17.5, runningTotal: 54 },
    ]);
    expect(
      await rows(
        'FOR t IN ["2021-05-25 07:00:00", "2021-05-25 07:20:00", "2021-05-25 08:00:00"] WINDOW DATE_TIMESTAMP(t) WITH { preceding: "PT30M" } AGGREGATE n = COUNT() RETURN {t, n}',
      ),
    ).toEqual([
      { t: '2021-05-25 07:00:00', n: 1 },
      { t: '2021-05-25 07:20:00', n: 2 },
      { t: '2021-05-25 08:00:00', n: 1 },
    ]);
  });

  it('the refusal example of the Errors section (SEARCH, still unsupported)', async () => {
    const e = await refused(
      'FOR u IN users SEARCH u.name == "Ann" RETURN u',
      /^AQL syntax error at line 1, column 16 \(near "SEARCH"\): SEARCH is not supported by ThemisTS AQL$/,
    );
    expect(e.details).toEqual({ field: 'query', line: 1, column: 16, offset: 15, token: 'SEARCH' });
  });
});

describe('limits', () => {
  it('rows held by a WINDOW count against THEMIS_QUERY_MAX_INTERMEDIATE; a bounded frame streams', async () => {
    const d = tempDir('themis-aql-window-cap-');
    const small = new Database({ ...DEFAULTS, dataDir: d, durability: 'relaxed', queryMaxIntermediate: 100 }, createLogger('silent'));
    await small.open();
    try {
      const q = (query: string) => small.get(Aql).run({ query }) as Promise<{ entities: AqlValue[] }>;
      // a bounded frame holds a few rows at a time, whatever the input size
      expect((await q('FOR i IN 1..1000 WINDOW { preceding: 2, following: 2 } AGGREGATE s = SUM(i) RETURN s')).entities).toHaveLength(1000);
      expect((await q('FOR i IN 1..1000 WINDOW { preceding: "unbounded" } AGGREGATE s = SUM(i) RETURN s')).entities.at(-1)).toBe(500500);
      let err: unknown;
      try {
        await q('FOR i IN 1..1000 WINDOW { following: "unbounded" } AGGREGATE s = SUM(i) RETURN s');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ThemisError);
      expect((err as ThemisError).message).toContain('WINDOW holds more than 100 rows (THEMIS_QUERY_MAX_INTERMEDIATE)');
    } finally {
      await small.close();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('large inputs: accumulating, bounded and range frames', async () => {
    expect(
      await rows(
        'FOR i IN 1..50000 WINDOW { preceding: "unbounded", following: "unbounded" } AGGREGATE s = SUM(i) COLLECT AGGREGATE lo = MIN(s), hi = MAX(s) RETURN [lo, hi]',
      ),
    ).toEqual([[1250025000, 1250025000]]);
    expect(
      await rows(
        'FOR i IN 1..50000 WINDOW { preceding: 3, following: 3 } AGGREGATE n = COUNT() COLLECT AGGREGATE lo = MIN(n), hi = MAX(n) RETURN [lo, hi]',
      ),
    ).toEqual([[4, 7]]);
    expect(
      await rows(
        'FOR i IN 1..50000 WINDOW i WITH { preceding: 2, following: 2 } AGGREGATE n = COUNT() COLLECT AGGREGATE lo = MIN(n), hi = MAX(n) RETURN [lo, hi]',
      ),
    ).toEqual([[3, 5]]);
  });

  it('and against the memory budget', async () => {
    const d = tempDir('themis-aql-window-mem-');
    const small = new Database({ ...DEFAULTS, dataDir: d, durability: 'relaxed', queryMaxMemory: 4 * 1024 * 1024 }, createLogger('silent'));
    await small.open();
    try {
      let err: unknown;
      try {
        await small.get(Aql).run({
          query:
            'FOR i IN 1..100000 LET s = CONCAT("row-", i, "-", i * 3) WINDOW { following: "unbounded" } AGGREGATE n = COUNT() RETURN n',
        });
      } catch (e) {
        err = e;
      }
      expect((err as ThemisError).code).toBe('RESOURCE_LIMIT_EXCEEDED');
      const r = (await small.get(Aql).run({
        query:
          'FOR i IN 1..100000 LET s = CONCAT("row-", i, "-", i * 3) WINDOW { preceding: 1 } AGGREGATE n = COUNT() COLLECT AGGREGATE m = MAX(n) RETURN m',
      })) as {
        entities: AqlValue[];
      };
      expect(r.entities).toEqual([2]);
    } finally {
      await small.close();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
