/**
 * THEMIS_QUERY_MAX_INTERMEDIATE caps every structure one AQL query holds in
 * memory (docs/configuration.md): SORT, COLLECT (groups, INTO rows and
 * aggregate values), RETURN DISTINCT, a hash join's build side, a subquery's
 * result, a traversal's and a shortest-path search's visited vertices. Each
 * case runs at the cap (the exact result) and just over it (400
 * VALIDATION_FAILED naming the structure), with a cap of 100.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/inproc.js';
import { Aql } from '../../src/aql/index.js';
import { Entities } from '../../src/entities/index.js';

const CAP = 100;

describe(`THEMIS_QUERY_MAX_INTERMEDIATE (${CAP})`, () => {
  let dir: string;
  let db: Database;
  beforeAll(async () => {
    dir = tempDir('themis-aql-cap-');
    db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed', queryMaxIntermediate: CAP }, createLogger('silent'));
    await db.open();
    // 150 orders of 3 users; a star graph hub -> leaf0..leaf149 and a chain c0 -> c1 -> ... -> c120
    await db.get(Entities).applyBatch([
      ...['a', 'b', 'c'].map((u) => ({ op: 'put' as const, key: `users:${u}`, blob: { name: u } })),
      ...Array.from({ length: 150 }, (_, i) => ({
        op: 'put' as const,
        key: `orders:${i}`,
        blob: { user: ['a', 'b', 'c'][i % 3], n: i },
      })),
      ...Array.from({ length: 150 }, (_, i) => ({
        op: 'put' as const,
        key: `star:e${i}`,
        blob: { _from: 'nodes:hub', _to: `nodes:leaf${i}` },
      })),
      ...Array.from({ length: 120 }, (_, i) => ({
        op: 'put' as const,
        key: `chain:e${i}`,
        blob: { _from: `nodes:c${i}`, _to: `nodes:c${i + 1}` },
      })),
    ]);
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = async (query: string): Promise<unknown[]> => ((await db.get(Aql).run({ query })) as { entities: unknown[] }).entities;
  /** The query is refused with 400 VALIDATION_FAILED naming `what` and the setting. */
  const refused = async (query: string, what: string) => {
    let err: unknown;
    try {
      await db.get(Aql).run({ query });
    } catch (e) {
      err = e;
    }
    expect(err, query).toBeInstanceOf(ThemisError);
    const e = err as ThemisError;
    expect([e.code, e.status], `${query}: ${e.message}`).toEqual(['VALIDATION_FAILED', 400]);
    expect(e.message).toContain(`${what} holds more than ${CAP} rows (THEMIS_QUERY_MAX_INTERMEDIATE)`);
  };

  it('SORT without LIMIT', async () => {
    expect(await rows(`FOR i IN 1..${CAP} SORT i DESC LIMIT 1 RETURN i`)).toEqual([CAP]);
    expect((await rows(`FOR i IN 1..${CAP} SORT i DESC RETURN i`)).length).toBe(CAP);
    await refused(`FOR i IN 1..${CAP + 1} SORT i DESC RETURN i`, 'SORT');
  });

  it('COLLECT: the number of groups', async () => {
    expect(await rows(`FOR i IN 1..${CAP} COLLECT x = i WITH COUNT INTO n COLLECT AGGREGATE groups = COUNT(1) RETURN groups`)).toEqual([
      CAP,
    ]);
    // many rows into few groups is fine
    expect(await rows(`FOR i IN 1..${10 * CAP} COLLECT x = i % 10 WITH COUNT INTO n RETURN n`)).toEqual(Array(10).fill(CAP));
    await refused(`FOR i IN 1..${CAP + 1} COLLECT x = i RETURN x`, 'COLLECT');
  });

  it('COLLECT ... INTO: the rows kept in one group', async () => {
    expect(await rows(`FOR i IN 1..${CAP} COLLECT g = 1 INTO rs = i RETURN LENGTH(rs)`)).toEqual([CAP]);
    await refused(`FOR i IN 1..${CAP + 1} COLLECT g = 1 INTO rs = i RETURN LENGTH(rs)`, 'COLLECT ... INTO');
  });

  it('COLLECT ... INTO: the rows kept across all groups (each group under the cap)', async () => {
    expect(await rows(`FOR i IN 1..${CAP} COLLECT g = i % 4 INTO rs = i RETURN LENGTH(rs)`)).toEqual(Array(4).fill(CAP / 4));
    // 10 groups of 50 rows: every group is under the cap, together they hold 5x the cap
    await refused(`FOR i IN 1..${5 * CAP} COLLECT g = i % 10 INTO rs = i RETURN LENGTH(rs)`, 'COLLECT ... INTO');
  });

  it('COLLECT AGGREGATE: the values PUSH and UNIQUE keep', async () => {
    expect(await rows(`FOR i IN 1..${CAP} COLLECT AGGREGATE all = PUSH(i) RETURN LENGTH(all)`)).toEqual([CAP]);
    expect(await rows(`FOR i IN 1..${10 * CAP} COLLECT AGGREGATE u = UNIQUE(i % 7) RETURN LENGTH(u)`)).toEqual([7]);
    await refused(`FOR i IN 1..${CAP + 1} COLLECT AGGREGATE all = PUSH(i) RETURN LENGTH(all)`, 'COLLECT AGGREGATE');
    await refused(`FOR i IN 1..${5 * CAP} COLLECT g = i % 10 AGGREGATE u = UNIQUE(i) RETURN LENGTH(u)`, 'COLLECT AGGREGATE');
  });

  it('RETURN DISTINCT: the distinct values seen', async () => {
    expect((await rows(`FOR i IN 1..${CAP} RETURN DISTINCT i`)).length).toBe(CAP);
    expect((await rows(`FOR i IN 1..${10 * CAP} RETURN DISTINCT i % ${CAP}`)).length).toBe(CAP);
    await refused(`FOR i IN 1..${CAP + 1} RETURN DISTINCT i`, 'RETURN DISTINCT');
  });

  it('a subquery result', async () => {
    expect(await rows(`LET xs = (FOR i IN 1..${CAP} RETURN i) RETURN LENGTH(xs)`)).toEqual([CAP]);
    await refused(`LET xs = (FOR i IN 1..${CAP + 1} RETURN i) RETURN LENGTH(xs)`, 'a subquery');
  });

  it("a hash join's build side", async () => {
    const join = 'FOR u IN users FOR o IN orders FILTER o.user == u._key COLLECT name = u.name WITH COUNT INTO n RETURN [name, n]';
    const plan = (
      (await db.get(Aql).run({ query: join, explain: true })) as unknown as { plan: { steps: { access?: string; collection?: string }[] } }
    ).plan;
    expect(plan.steps[1], JSON.stringify(plan)).toMatchObject({ access: 'hash_join', collection: 'orders' });
    await refused(join, 'the hash join over orders');
    // a build side within the cap joins
    expect(await rows('FOR o IN orders FILTER o.n < 3 FOR u IN users FILTER u._key == o.user RETURN [o.n, u.name]')).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it("a traversal's visited vertices", async () => {
    expect((await rows(`FOR v IN 1..${CAP - 1} OUTBOUND "nodes:c0" chain RETURN v`)).length).toBe(CAP - 1);
    await refused('FOR v IN 1..1 OUTBOUND "nodes:hub" star RETURN v', 'the traversal');
    // the start vertex counts: depth 1..100 visits 101 vertices
    await refused(`FOR v IN 1..${CAP} OUTBOUND "nodes:c0" chain RETURN v`, 'the traversal');
  });

  it('a shortest-path search', async () => {
    expect((await rows(`FOR v IN OUTBOUND SHORTEST_PATH "nodes:c0" TO "nodes:c${CAP - 2}" chain RETURN v`)).length).toBe(CAP - 1);
    await refused('FOR v IN OUTBOUND SHORTEST_PATH "nodes:hub" TO "nodes:nowhere" star RETURN v', 'the shortest-path search');
  });
});
