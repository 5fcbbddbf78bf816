import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, type StartedServer, startServer } from '../../../test/helpers/server.js';
import { type EntityResponse, ThemisClient, ThemisError, aql, isConflict, unwrap } from '../src/index.js';

// The client against a real server (dist/src/cli.js, started by test/helpers/server.ts).

let server: StartedServer;
let db: ThemisClient;

beforeAll(async () => {
  server = await startServer();
  db = new ThemisClient({ baseUrl: server.base, apiKey: ADMIN_KEY });
});

afterAll(async () => {
  await server?.stop();
});

/** Rejection of `p` as a ThemisError (fails the test when it resolves or throws something else). */
async function themisError(p: Promise<unknown>): Promise<ThemisError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ThemisError);
  return e as ThemisError;
}

describe('generated types (openapi-fetch)', () => {
  it('putEntity / getEntity through the raw typed client', async () => {
    const put = await db.api.PUT('/entities/{key}', { params: { path: { key: 'raw:1' } }, body: { blob: '{"name":"Ada"}' } });
    expect(put.response.status).toBe(201);
    expect(put.data).toMatchObject({ success: true, key: 'raw:1', created: true });
    const got = await db.api.GET('/entities/{key}', { params: { path: { key: 'raw:1' } } });
    const entity: EntityResponse | undefined = got.data;
    expect(entity).toEqual({ key: 'raw:1', blob: '{"name":"Ada"}' });
    const missing = await db.api.GET('/entities/{key}', { params: { path: { key: 'raw:none' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ error: true, status_code: 404, code: 'NOT_FOUND' });
  });

  it('putEntity / getEntity / getDocument / deleteEntity wrappers', async () => {
    expect(await db.putEntity('users:ada', { name: 'Ada', age: 36 })).toMatchObject({ success: true, key: 'users:ada', created: true });
    expect(await db.getEntity('users:ada')).toEqual({ key: 'users:ada', blob: '{"name":"Ada","age":36}' });
    expect(await db.getDocument<{ name: string }>('users:ada')).toEqual({ name: 'Ada', age: 36 });
    expect(await db.deleteEntity('users:ada')).toMatchObject({ deleted: true });
  });
});

describe('typed errors', () => {
  it('404 is a ThemisError with code NOT_FOUND, status 404, the message and the raw body', async () => {
    const e = await themisError(db.getEntity('users:nobody'));
    expect(e.status).toBe(404);
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toEqual(expect.any(String));
    expect(e.body).toMatchObject({ error: true, status_code: 404, code: 'NOT_FOUND' });
    expect(e.requestId).toEqual(expect.any(String));
  });

  it('a missing key is 401 UNAUTHORIZED; an AQL typo 404 COLLECTION_NOT_FOUND; bad AQL 400', async () => {
    const anon = new ThemisClient({ baseUrl: server.base });
    expect(await themisError(anon.getEntity('users:1'))).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(await themisError(db.query('FOR x IN no_such_collection RETURN x'))).toMatchObject({
      status: 404,
      code: 'COLLECTION_NOT_FOUND',
    });
    expect((await themisError(db.query('FOR x IN'))).status).toBe(400);
  });
});

describe('aql tag and query', () => {
  beforeAll(async () => {
    for (const [k, age] of [
      ['ann', 25],
      ['bob', 35],
      ['cy', 45],
    ] as const)
      await db.putEntity(`people:${k}`, { name: k, age });
  });

  it('interpolated values are bind variables (an injection attempt stays a string)', async () => {
    const minAge = 30;
    expect(await db.query(aql`FOR p IN people FILTER p.age > ${minAge} SORT p.age RETURN p.name`)).toEqual(['bob', 'cy']);
    const evil = '" || true || "';
    expect(await db.query(aql`FOR p IN people FILTER p.name == ${evil} RETURN p.name`)).toEqual([]);
    // Plain text with bind variables (a query kept in a file or typed by a user).
    expect(
      await db.query('FOR p IN @@coll FILTER p.age > @min SORT p.age RETURN p.name', { bindVars: { '@coll': 'people', min: minAge } }),
    ).toEqual(['bob', 'cy']);
    expect(
      await db.query(aql`FOR p IN people FILTER p.age > ${minAge} AND p.name != @not SORT p.age RETURN p.name`, {
        bindVars: { not: 'cy' },
      }),
    ).toEqual(['bob']);
    await expect(db.query(aql`RETURN ${1}`, { bindVars: { value0: 2 } })).rejects.toThrow(/bound by the aql tag and by bindVars/);
  });

  it('collection interpolation and nested fragments', async () => {
    const coll = aql.collection('people');
    const filter = aql`FILTER p.age < ${40}`;
    expect(await db.query(aql`FOR p IN ${coll} ${filter} SORT p.name RETURN {n: p.name, a: p.age}`)).toEqual([
      { n: 'ann', a: 25 },
      { n: 'bob', a: 35 },
    ]);
  });

  it('a plain string query and explain', async () => {
    expect(await db.query<number>('RETURN 1 + 1')).toEqual([2]);
    const plan = await db.explain(aql`FOR p IN people FILTER p.age > ${1} RETURN p`);
    expect(plan).toMatchObject({ mode: 'full_scan' });
  });
});

describe('cursor', () => {
  beforeAll(async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => db.putEntity(`nums:${String(i).padStart(2, '0')}`, { n: i })));
  });

  it('iterates over more than one batch in order', async () => {
    const cursor = await db.cursor<number>(aql`FOR d IN nums SORT d.n RETURN d.n`, { batchSize: 10 });
    expect(cursor.hasMore).toBe(true);
    const seen: number[] = [];
    for await (const n of cursor) seen.push(n);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(cursor.hasMore).toBe(false);
  });

  it('batches() yields the server pages; all() collects the rest', async () => {
    const pages: number[][] = [];
    for await (const page of (await db.cursor<number>('FOR d IN nums SORT d.n RETURN d.n', { batchSize: 10 })).batches()) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    const c = await db.cursor<number>('FOR d IN nums SORT d.n RETURN d.n', { batchSize: 7 });
    for await (const n of c) if (n === 2) break;
    // a break ends this iteration; the cursor goes on where it stopped
    expect(await c.all()).toEqual(Array.from({ length: 22 }, (_, i) => i + 3));
  });

  it('returns a document as its stored JSON text', async () => {
    const c = await db.cursor<string>(aql`FOR d IN nums FILTER d.n == ${3} RETURN d`);
    expect(await c.all()).toEqual(['{"n":3}']);
  });
});

describe('transaction()', () => {
  it('commits what the function wrote, with reads of its own writes', async () => {
    const result = await db.transaction(async (tx) => {
      await tx.putEntity('acct:a', { balance: 70 });
      await tx.putEntity('acct:b', { balance: 80 });
      expect(await tx.getDocument('acct:a')).toEqual({ balance: 70 });
      expect(await tx.query(aql`FOR a IN acct SORT a._key RETURN a.balance`)).toEqual([70, 80]);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await db.getDocument('acct:b')).toEqual({ balance: 80 });
  });

  it('rolls back and rethrows when the function throws', async () => {
    let txId: number | undefined;
    await expect(
      db.transaction(async (tx) => {
        txId = tx.transactionId;
        await tx.putEntity('acct:ghost', { balance: 1 });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await themisError(db.getEntity('acct:ghost'))).code).toBe('NOT_FOUND');
    // the transaction is finished: a commit of it is refused
    const commit = async () => unwrap(await db.api.POST('/transaction/commit', { body: { transaction_id: txId! } }));
    expect((await themisError(commit())).code).toBe('TRANSACTION_NOT_ACTIVE');
  });

  /** Two transactions that both read counters:hits before either writes: the second to commit gets a real 409. */
  function racingIncrements(opts: { maxAttempts?: number } = {}) {
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((r) => (release = r));
    const retries: ThemisError[] = [];
    const increment = () =>
      db.transaction(
        async (tx) => {
          const { n } = await tx.getDocument<{ n: number }>('counters:hits');
          if (arrived < 2) {
            if (++arrived === 2) release();
            await bothRead;
          }
          await tx.putEntity('counters:hits', { n: n + 1 });
          return n + 1;
        },
        { ...opts, onRetry: (e) => retries.push(e) },
      );
    return { run: () => Promise.allSettled([increment(), increment()]), retries };
  }

  it('retries the whole function on a real 409 conflict: no update is lost', async () => {
    await db.putEntity('counters:hits', { n: 0 });
    const race = racingIncrements();
    const results = await race.run();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(results.map((r) => (r as PromiseFulfilledResult<number>).value).sort()).toEqual([1, 2]);
    expect(race.retries.length).toBe(1);
    expect(race.retries[0]).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(await db.getDocument('counters:hits')).toEqual({ n: 2 });
  });

  it('gives up after maxAttempts and throws the 409 as a ThemisError', async () => {
    await db.putEntity('counters:hits', { n: 0 });
    const race = racingIncrements({ maxAttempts: 1 });
    const results = await race.run();
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBe(1);
    expect(isConflict(rejected[0]!.reason)).toBe(true);
    expect(rejected[0]!.reason).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(race.retries).toEqual([]);
    expect(await db.getDocument('counters:hits')).toEqual({ n: 1 });
  });
});
