/**
 * AQL engine behaviours in-process (a Database on a temp dir): index order
 * fallbacks, DOCUMENT(), collection bind parameters, ids, write permission,
 * atomicity of a failed query in a transaction, bounded SORT ... LIMIT.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { openDb, tempDir } from '../helpers/inproc.js';
import { Aql } from '../../src/aql/index.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { tableAccessOf } from '../../src/security/index.js';

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch([
    { op: 'put', key: 'people:a', blob: { age: [20], name: 'A' } },
    { op: 'put', key: 'people:b', blob: { age: 30, name: 'B' } },
    { op: 'put', key: 'people:c', blob: { age: 40, name: 'C' } },
    { op: 'put', key: 'w:a', blob: { i: 0 } },
  ]);
  await db.get(Indexes).create({ table: 'people', column: 'age', type: 'range' });
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rows = async (query: string, bind_vars: Record<string, unknown> = {}, txn?: string) => {
  const r = await db.get(Aql).run({ query, bind_vars }, txn);
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
};

async function refused(p: Promise<unknown>, code: string): Promise<ThemisError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ThemisError);
    expect((e as ThemisError).code).toBe(code);
    return e as ThemisError;
  }
  throw new Error(`expected ${code}`);
}

describe('AQL engine', () => {
  it('an index-ordered SORT re-plans when the first row already holds an array (AQL orders arrays after numbers)', async () => {
    expect(await rows('FOR p IN people SORT p.age ASC LIMIT 1 RETURN p.name')).toEqual(['B']);
    expect(await rows('FOR p IN people SORT p.age ASC LIMIT 3 RETURN p.name')).toEqual(['B', 'C', 'A']);
    // (DESC through the index reaches the array only through its element 20: the documented limitation.)
  });

  it('DOCUMENT() reads by id, ids, or collection and key(s); absent ones are null / left out', async () => {
    expect(await rows('RETURN DOCUMENT("people:b").name')).toEqual(['B']);
    expect(await rows('RETURN DOCUMENT("people/c").name')).toEqual(['C']);
    expect(await rows('RETURN DOCUMENT(people, "b")._id')).toEqual(['people:b']);
    expect(await rows('RETURN DOCUMENT(@@c, "c").name', { '@c': 'people' })).toEqual(['C']);
    expect(await rows('RETURN DOCUMENT(["people:b", "people:x", "people:c"])[*].name')).toEqual([['B', 'C']]);
    expect(await rows('RETURN DOCUMENT("people:x")')).toEqual([null]);
  });

  it('collection bind parameters are "@name" in bind_vars (as ArangoDB), "name" works too', async () => {
    expect(await rows('FOR p IN @@c FILTER p.name == "C" RETURN p._key', { '@c': 'people' })).toEqual(['c']);
    expect(await rows('FOR p IN @@c FILTER p.name == "C" RETURN p._key', { c: 'people' })).toEqual(['c']);
    const e = await refused(db.get(Aql).run({ query: 'FOR p IN @@c RETURN p' }), 'VALIDATION_FAILED');
    expect(e.details).toMatchObject({ field: 'bind_vars', parameter: '@c' });
  });

  it('ids are table:pk; PARSE_KEY / PARSE_COLLECTION / IS_SAME_COLLECTION read them', async () => {
    expect(
      await rows(
        'FOR p IN people FILTER p._key == "b" RETURN [p._id, PARSE_KEY(p), PARSE_COLLECTION(p._id), IS_SAME_COLLECTION("people", p)]',
      ),
    ).toEqual([['people:b', 'b', 'people', true]]);
  });

  it('a query that writes needs data:write; reading queries do not', async () => {
    const reader = { access: tableAccessOf(['query:execute', 'data:read']), id: 'reader' };
    await refused(db.get(Aql).run({ query: 'INSERT {x: 1} INTO w' }, undefined, {}, reader), 'FORBIDDEN');
    expect((await db.get(Aql).run({ query: 'FOR x IN w RETURN x.i' }, undefined, {}, reader)) as { entities: unknown[] }).toMatchObject({
      entities: [0],
    });
  });

  it('a failing query in a transaction leaves the transaction as it was', async () => {
    const id = db.get(Transactions).begin().transaction_id;
    await db.get(Entities).putEntity('w:kept', { i: 7 }, id);
    await refused(db.get(Aql).run({ query: 'FOR k IN ["a", "zz"] UPDATE k WITH {i: 1} IN w' }, id), 'NOT_FOUND');
    await db.get(Transactions).commit(id);
    expect(JSON.parse(db.get(Entities).getEntity('w:a').blob)).toEqual({ i: 0 });
    expect(JSON.parse(db.get(Entities).getEntity('w:kept').blob)).toEqual({ i: 7 });
  });

  it('SORT ... LIMIT keeps only the rows that can make the cut (not bounded by the intermediate cap)', async () => {
    // 5,000 rows through a SORT with a cap of 1,000 intermediate rows
    const small = await openDb(tempDir('themis-aql-small-'), 'relaxed', { queryMaxIntermediate: 1000 });
    try {
      expect(await small.get(Aql).run({ query: 'FOR i IN 1..5000 SORT i DESC LIMIT 3 RETURN i' })).toMatchObject({
        entities: [5000, 4999, 4998],
      });
      await refused(small.get(Aql).run({ query: 'FOR i IN 1..5000 SORT i DESC RETURN i' }), 'VALIDATION_FAILED');
    } finally {
      await small.close();
    }
  });

  it('a query past its timeout is refused with TIMEOUT (408) promptly, even when each row is expensive', async () => {
    const work = 'LENGTH(1..2000000) < 0';
    // the cost of one row, measured now (a busy machine slows this and the run below alike)
    await db.get(Aql).run({ query: `FOR i IN 1..2 FILTER ${work} RETURN i` });
    const t1 = Date.now();
    await db.get(Aql).run({ query: `FOR i IN 1..5 FILTER ${work} RETURN i` });
    const perRow = (Date.now() - t1) / 5;
    const t0 = Date.now();
    const e = await refused(db.get(Aql).run({ query: `FOR i IN 1..1000 FILTER ${work} RETURN i`, timeout_ms: 50 }), 'TIMEOUT');
    const took = Date.now() - t0;
    expect(e.status).toBe(408);
    // the deadline plus a few rows (and slack), far from the 1000 rows a missed check would run
    expect(took, `${took} ms; ${perRow.toFixed(1)} ms per row`).toBeLessThan(50 + 40 * perRow + 500);
  });
});
