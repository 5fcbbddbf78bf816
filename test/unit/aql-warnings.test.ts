/**
 * AQL query warnings (ArangoDB's model), in-process: a function or operator
 * given input it cannot work with evaluates to null and records a warning
 * `{code, message}` with ArangoDB's number (lib/Basics/errors.dat); the
 * answer's `extra.warnings` lists at most `max_warning_count` (default 10),
 * `extra.warnings_total` counts them all; `fail_on_warning` makes the first
 * one an error (QUERY_WARNING) and a modifying query then writes nothing.
 * Real errors stay errors. CURRENT_USER() / CURRENT_DATABASE().
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TABLES, type Caller } from '../../src/access.js';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql, type AqlRequest } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { ThemisError } from '../../src/errors.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-warnings-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch([{ op: 'put', key: 'w:seed', blob: { v: 0 } }]);
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  entities: AqlValue[];
  extra: { warnings: { code: number; message: string }[]; warnings_total: number };
}

async function run(query: string, opts: Partial<AqlRequest> = {}, caller?: Caller): Promise<Answer> {
  const r = await db.get(Aql).run({ query, ...opts }, undefined, {}, caller);
  if (!('entities' in r)) throw new Error('no entities');
  return r as Answer;
}

async function refused(query: string, opts: Partial<AqlRequest> = {}): Promise<ThemisError> {
  try {
    await db.get(Aql).run({ query, ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(ThemisError);
    return e as ThemisError;
  }
  throw new Error(`expected an error: ${query}`);
}

describe('warnings instead of errors: null (or the documented value) and one warning with ArangoDB code', () => {
  const cases: [query: string, value: AqlValue, code: number, message: RegExp][] = [
    ["RETURN REGEX_TEST('abc', '(')", null, 1543, /^REGEX_TEST\(\): invalid regex value/],
    ["RETURN REGEX_REPLACE('abc', '[', 'x')", null, 1543, /^REGEX_REPLACE\(\): invalid regex value/],
    ["RETURN REGEX_MATCHES('abc', '(')", null, 1543, /^REGEX_MATCHES\(\): invalid regex value/],
    ["RETURN REGEX_SPLIT('abc', '(')", null, 1543, /^REGEX_SPLIT\(\): invalid regex value/],
    ["RETURN 'abc' =~ '('", null, 1543, /^REGEX_TEST\(\): invalid regex value/],
    ["RETURN 'abc' !~ '('", true, 1543, /^REGEX_TEST\(\): invalid regex value/],
    ['RETURN PARSE_KEY(null)', null, 1542, /^PARSE_KEY\(\): /],
    ["RETURN PARSE_IDENTIFIER('foo bar')", null, 1542, /^PARSE_IDENTIFIER\(\): /],
    ['RETURN PARSE_COLLECTION(42)', null, 1542, /^PARSE_COLLECTION\(\): /],
    ["RETURN DATE_YEAR('2020-01-01', 42)", null, 1542, /^DATE_YEAR\(\): time zone must be a string/],
    ["RETURN DATE_ISO8601('not a date')", null, 1572, /^DATE_ISO8601\(\): invalid date value/],
    ['RETURN 1 / 0', null, 1562, /^division by zero$/],
    ['RETURN 7 % 0', null, 1562, /^division by zero$/],
    ["RETURN 1 / '0'", null, 1562, /^division by zero$/],
    ["RETURN SUM(['x'])", null, 1542, /^SUM\(\): invalid argument type$/],
    ["RETURN UNIQUE('x')", null, 1563, /^UNIQUE\(\): /],
    ["RETURN INTERLEAVE([1], 'x')", null, 1563, /^INTERLEAVE\(\): /],
    ["RETURN WARN(1 == 2, 'one is not two')", false, 1594, /^one is not two$/],
    ['RETURN WARN(true, 42)', null, 1542, /^WARN\(\): invalid argument type$/],
  ];
  it.each(cases)('%s', async (query, value, code, message) => {
    const r = await run(query);
    expect(r.entities).toEqual([value]);
    expect(r.extra.warnings).toHaveLength(1);
    expect(r.extra.warnings[0]!.code).toBe(code);
    expect(r.extra.warnings[0]!.message).toMatch(message);
    expect(r.extra.warnings_total).toBe(1);
  });

  it('a query without warnings answers extra.warnings: []', async () => {
    const r = await run('RETURN 1 + 1');
    expect(r.extra).toEqual({ warnings: [], warnings_total: 0 });
  });

  it('WARN with a truthy expression records nothing', async () => {
    const r = await run("RETURN WARN(1 == 1, 'fine')");
    expect(r.entities).toEqual([true]);
    expect(r.extra.warnings).toEqual([]);
  });

  it('real errors stay errors', async () => {
    expect((await refused('RETURN NO_SUCH_FUNCTION(1)')).code).toBe('VALIDATION_FAILED');
    expect((await refused('RETURN LENGTH(1, 2)')).code).toBe('VALIDATION_FAILED');
    expect((await refused('RETURN @missing')).code).toBe('VALIDATION_FAILED');
    expect((await refused('RETURN (1')).code).toBe('VALIDATION_FAILED');
    expect((await refused("RETURN FAIL('no')")).code).toBe('VALIDATION_FAILED');
    expect((await refused("RETURN ASSERT(1 == 2, 'no')")).code).toBe('VALIDATION_FAILED');
    expect((await refused('FOR d IN no_such_collection RETURN d')).code).toBe('COLLECTION_NOT_FOUND');
  });
});

describe('max_warning_count', () => {
  it('lists at most 10 warnings by default and counts them all', async () => {
    const r = await run('FOR i IN 1..25 RETURN i / 0');
    expect(r.entities).toHaveLength(25);
    expect(r.extra.warnings).toHaveLength(10);
    expect(r.extra.warnings_total).toBe(25);
    expect(r.extra.warnings.every((w) => w.code === 1562)).toBe(true);
  });

  it('lists as many as max_warning_count (0: none)', async () => {
    expect((await run('FOR i IN 1..25 RETURN i / 0', { max_warning_count: 3 })).extra.warnings).toHaveLength(3);
    const none = await run('FOR i IN 1..25 RETURN i / 0', { max_warning_count: 0 });
    expect(none.extra).toEqual({ warnings: [], warnings_total: 25 });
    expect((await run('FOR i IN 1..25 RETURN i / 0', { max_warning_count: 1000 })).extra.warnings).toHaveLength(25);
  });

  it('refuses values that are not an integer from 0 to 1000, naming the field', async () => {
    for (const v of [-1, 1001, 1.5, '3', null, true]) {
      const e = await refused('RETURN 1', { max_warning_count: v });
      expect(e.code).toBe('VALIDATION_FAILED');
      expect(e.details).toEqual({ field: 'max_warning_count' });
    }
  });

  it('a cursor page carries the warnings raised while it was read', async () => {
    const aql = db.get(Aql);
    const first = await aql.run({ query: 'FOR i IN 1..6 RETURN i <= 3 ? i / 0 : i', use_cursor: true, batch_size: 2 });
    if (!('items' in first)) throw new Error('no cursor');
    // The first page reads one row ahead (to know whether more follow): rows 1..3.
    expect(first.extra.warnings).toHaveLength(3);
    let total = first.extra.warnings.length;
    let cursor = first.next_cursor;
    while (cursor !== null) {
      const page = await aql.run({ cursor });
      if (!('items' in page)) throw new Error('no cursor');
      total += page.extra.warnings.length;
      expect(page.extra.warnings_total).toBe(3);
      cursor = page.next_cursor;
    }
    expect(total).toBe(3);
  });
});

describe('fail_on_warning', () => {
  it('turns the first warning into a QUERY_WARNING error naming it', async () => {
    const e = await refused('FOR i IN 1..5 RETURN i / 0', { fail_on_warning: true });
    expect(e.code).toBe('QUERY_WARNING');
    expect(e.status).toBe(400);
    expect(e.details).toEqual({ warning: { code: 1562, message: 'division by zero' } });
    expect(e.message).toMatch(/division by zero/);
    const re = await refused("RETURN REGEX_TEST('a', '(')", { fail_on_warning: true });
    expect((re.details as { warning: { code: number } }).warning.code).toBe(1543);
  });

  it('changes nothing for a query without warnings; false is the default', async () => {
    expect((await run('RETURN 1 / 1', { fail_on_warning: true })).entities).toEqual([1]);
    expect((await run('RETURN 1 / 0', { fail_on_warning: false })).entities).toEqual([null]);
  });

  it('must be a boolean', async () => {
    const e = await refused('RETURN 1', { fail_on_warning: 'yes' });
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.details).toEqual({ field: 'fail_on_warning' });
  });

  it('a modifying query that fails on a warning writes nothing', async () => {
    const e = await refused('FOR i IN 1..3 INSERT {_key: CONCAT("k", i), v: 1 / (i - 2)} INTO w', { fail_on_warning: true });
    expect(e.code).toBe('QUERY_WARNING');
    expect((await run('FOR d IN w RETURN d._key')).entities).toEqual(['seed']);
    // Without the option the same query writes all three, with one warning.
    const ok = await run('FOR i IN 1..3 INSERT {_key: CONCAT("k", i), v: 1 / (i - 2)} INTO w');
    expect(ok.extra.warnings).toEqual([{ code: 1562, message: 'division by zero' }]);
    expect((await run('FOR d IN w SORT d._key RETURN [d._key, d.v]')).entities).toEqual([
      ['k1', -1],
      ['k2', null],
      ['k3', 1],
      ['seed', 0],
    ]);
  });
});

describe('THEMIS_QUERY_FAIL_ON_WARNING (queryFailOnWarning): the default of fail_on_warning', () => {
  it('fails on the first warning unless the request says fail_on_warning: false', async () => {
    const dir2 = tempDir('themis-aql-warnings-strict-');
    const strict = await openDb(dir2, 'relaxed', { queryFailOnWarning: true });
    try {
      await expect(strict.get(Aql).run({ query: 'RETURN 1 / 0' })).rejects.toMatchObject({ code: 'QUERY_WARNING' });
      const r = await strict.get(Aql).run({ query: 'RETURN 1 / 0', fail_on_warning: false });
      expect('entities' in r && r.entities).toEqual([null]);
      expect((await strict.get(Aql).run({ query: 'RETURN 1 / 1' })).extra.warnings).toEqual([]);
    } finally {
      await strict.close();
      fs.rmSync(dir2, { recursive: true, force: true });
    }
  });
});

describe('CURRENT_USER() and CURRENT_DATABASE()', () => {
  it('CURRENT_USER() is the caller principal name; null in-process', async () => {
    const alice: Caller = { access: ALL_TABLES, id: 'key-1', name: 'alice' };
    expect((await run('RETURN CURRENT_USER()', {}, alice)).entities).toEqual(['alice']);
    expect((await run('RETURN CURRENT_USER()')).entities).toEqual([null]);
  });

  it('CURRENT_DATABASE() is _system', async () => {
    expect((await run('RETURN CURRENT_DATABASE()')).entities).toEqual(['_system']);
  });
});
