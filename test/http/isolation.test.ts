/**
 * Isolation over HTTP, in the style of Hermitage (github.com/ept/hermitage):
 * two or three concurrent transactions interleave their steps on a table
 * `test` with rows 1 => 10 and 2 => 20; every test states what each
 * isolation level must show. Writes are buffered until commit, so nothing
 * ever blocks: where PostgreSQL blocks a second writer, here the second
 * writer proceeds and the conflict (snapshot) or the last commit
 * (read_committed) decides at commit time.
 *
 * Then two concurrency tests: a counter incremented by many clients with
 * retry on 409, and bank transfers whose total must be constant in every
 * snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

type Isolation = 'read_committed' | 'snapshot';
const LEVELS: Isolation[] = ['read_committed', 'snapshot'];

let srv: StartedServer;
let tableNo = 0;

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await srv?.stop();
});

/** A fresh Hermitage table: `<name>:1` => 10, `<name>:2` => 20. */
async function freshTable(): Promise<string> {
  const table = `test${++tableNo}`;
  const r = await srv.req('POST', '/transaction', {
    operations: [
      { op: 'put', key: `${table}:1`, blob: { value: 10 } },
      { op: 'put', key: `${table}:2`, blob: { value: 20 } },
    ],
  });
  await expectStatus(r, 200);
  return table;
}

/** The committed value of a row outside any transaction (null if absent). */
async function committed(table: string, id: number): Promise<number | null> {
  const r = await srv.req('GET', `/entities/${table}:${id}`);
  if (r.status === 404) return null;
  await expectStatus(r, 200);
  return (JSON.parse((await json<{ blob: string }>(r)).blob) as { value: number }).value;
}

/** One explicit transaction driven over HTTP with X-Transaction-Id. */
class Tx {
  private constructor(
    readonly id: number,
    readonly table: string,
    private readonly s: StartedServer,
  ) {}

  static async begin(table: string, isolation: Isolation, s: StartedServer = srv): Promise<Tx> {
    const r = await s.req('POST', '/transaction/begin', { isolation });
    await expectStatus(r, 200);
    const b = await json<{ transaction_id: number; isolation: string; status: string }>(r);
    expect(b).toMatchObject({ isolation, status: 'begun' });
    expect(Number.isSafeInteger(b.transaction_id)).toBe(true);
    return new Tx(b.transaction_id, table, s);
  }

  private get h() {
    return { 'x-transaction-id': String(this.id) };
  }

  /** Read row `id` as this transaction sees it (null if absent). */
  async get(id: number | string): Promise<number | null> {
    const r = await this.s.req('GET', `/entities/${this.table}:${id}`, undefined, this.h);
    if (r.status === 404) return null;
    expect(r.status, await r.clone().text()).toBe(200);
    return (JSON.parse((await json<{ blob: string }>(r)).blob) as { value: number }).value;
  }

  /** Read several rows (a "predicate" read by key). */
  async getAll(ids: number[]): Promise<(number | null)[]> {
    const out: (number | null)[] = [];
    for (const id of ids) out.push(await this.get(id));
    return out;
  }

  async put(id: number, value: number): Promise<{ created: boolean }> {
    const r = await this.s.req('PUT', `/entities/${this.table}:${id}`, { blob: { value } }, this.h);
    expect(r.status, await r.clone().text()).toBe(201);
    return json<{ created: boolean }>(r);
  }

  async create(id: number, value: number): Promise<number> {
    const r = await this.s.req('POST', '/entities', { key: `${this.table}:${id}`, blob: { value } }, this.h);
    return r.status;
  }

  async del(id: number): Promise<boolean> {
    const r = await this.s.req('DELETE', `/entities/${this.table}:${id}`, undefined, this.h);
    await expectStatus(r, 200);
    return (await json<{ deleted: boolean }>(r)).deleted;
  }

  /** Commit; resolves to the HTTP status (200 committed, 409 aborted by a conflict). */
  async commit(): Promise<number> {
    const r = await this.s.req('POST', '/transaction/commit', { transaction_id: this.id });
    const b = await json<Record<string, unknown>>(r);
    if (r.status === 200) expect(b).toMatchObject({ transaction_id: this.id, status: 'committed' });
    if (r.status === 409)
      expect(b).toMatchObject({ error: true, code: 'CONFLICT', status_code: 409, transaction_id: this.id, status: 'aborted' });
    return r.status;
  }

  async rollback(): Promise<void> {
    const r = await this.s.req('POST', '/transaction/rollback', { transaction_id: this.id });
    await expectStatus(r, 200);
  }
}

const by = <T>(iso: Isolation, rc: T, snap: T): T => (iso === 'snapshot' ? snap : rc);

for (const iso of LEVELS) {
  describe(`Hermitage: ${iso}`, () => {
    it("G0 dirty write: prevented (the final state is entirely one transaction's writes)", async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      await t1.put(1, 11);
      await t2.put(1, 12); // would block in PostgreSQL; here it is buffered
      await t1.put(2, 21);
      expect(await t1.commit()).toBe(200);
      await t2.put(2, 22);
      // snapshot: first committer wins, T2 is aborted; read_committed: the last committer wins, atomically.
      expect(await t2.commit()).toBe(by(iso, 200, 409));
      const final = [await committed(t, 1), await committed(t, 2)];
      expect(final).toEqual(by(iso, [12, 22], [11, 21]));
    });

    it('G1a aborted read: prevented (a rolled-back write is never seen)', async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      await t1.put(1, 101);
      expect(await t2.getAll([1, 2])).toEqual([10, 20]);
      await t1.rollback();
      expect(await t2.getAll([1, 2])).toEqual([10, 20]);
      expect(await t2.commit()).toBe(200);
      expect(await committed(t, 1)).toBe(10);
    });

    it("G1b intermediate read: prevented (only a transaction's final write is ever seen)", async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      await t1.put(1, 101);
      expect(await t2.get(1)).toBe(10);
      await t1.put(1, 11);
      expect(await t1.commit()).toBe(200);
      expect(await t2.get(1)).toBe(by(iso, 11, 10)); // never 101
      expect(await t2.commit()).toBe(200);
    });

    it('G1c circular information flow (dirty reads both ways): prevented', async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      await t1.put(1, 11);
      await t2.put(2, 22);
      expect(await t1.get(2)).toBe(20); // not T2's uncommitted 22
      expect(await t2.get(1)).toBe(10); // not T1's uncommitted 11
      expect(await t1.commit()).toBe(200);
      expect(await t2.commit()).toBe(200);
      expect([await committed(t, 1), await committed(t, 2)]).toEqual([11, 22]);
    });

    it('OTV observed transaction vanishes: prevented (three transactions)', async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      const t3 = await Tx.begin(t, iso);
      await t1.put(1, 11);
      await t2.put(1, 19);
      await t1.put(2, 12);
      expect(await t1.commit()).toBe(200);
      expect(await t3.get(1)).toBe(by(iso, 11, 10));
      await t2.put(2, 18);
      expect(await t3.get(2)).toBe(by(iso, 12, 20));
      // T2 wrote row 1 after T1 committed it under snapshot: it loses.
      expect(await t2.commit()).toBe(by(iso, 200, 409));
      // Once T3 sees T2's 18, it must also see T2's 19 (not T1's 11).
      expect(await t3.get(2)).toBe(by(iso, 18, 20));
      expect(await t3.get(1)).toBe(by(iso, 19, 10));
      expect(await t3.commit()).toBe(200);
    });

    it(`P2 non-repeatable read: ${iso === 'snapshot' ? 'prevented' : 'allowed under read_committed'}`, async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      expect(await t1.get(1)).toBe(10);
      await t2.put(1, 11);
      expect(await t2.commit()).toBe(200);
      expect(await t1.get(1)).toBe(by(iso, 11, 10));
      expect(await t1.commit()).toBe(200);
    });

    it(`PMP predicate-many-preceders (read of a key set): ${iso === 'snapshot' ? 'prevented' : 'phantom allowed under read_committed'}`, async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      // "where value = 30" over rows 1..3: nothing
      expect((await t1.getAll([1, 2, 3])).filter((v) => v === 30)).toEqual([]);
      expect(await t2.create(3, 30)).toBe(201);
      expect(await t2.commit()).toBe(200);
      // "where value % 3 = 0"
      expect((await t1.getAll([1, 2, 3])).filter((v) => v !== null && v % 3 === 0)).toEqual(by(iso, [30], []));
      expect(await t1.commit()).toBe(200);
    });

    it(`PMP-write: ${iso === 'snapshot' ? 'prevented (the later committer is aborted)' : 'last committer wins under read_committed (documented)'}`, async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      // T1: update test set value = value + 10
      for (const id of [1, 2]) await t1.put(id, (await t1.get(id))! + 10);
      // T2: delete from test where value = 20 (as T2 sees the rows)
      for (const id of [1, 2]) if ((await t2.get(id)) === 20) expect(await t2.del(id)).toBe(true);
      expect(await t1.commit()).toBe(200);
      expect(await t2.commit()).toBe(by(iso, 200, 409));
      expect([await committed(t, 1), await committed(t, 2)]).toEqual(by(iso, [20, null], [20, 30]));
    });

    it(`P4 lost update: ${iso === 'snapshot' ? 'prevented (the second committer gets 409)' : 'allowed under read_committed: the last committer wins (documented)'}`, async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      const a = await t1.get(1);
      const b = await t2.get(1);
      expect([a, b]).toEqual([10, 10]);
      await t1.put(1, a! + 1);
      await t2.put(1, b! + 5);
      expect(await t1.commit()).toBe(200);
      expect(await t2.commit()).toBe(by(iso, 200, 409));
      expect(await committed(t, 1)).toBe(by(iso, 15, 11));
      if (iso === 'snapshot') {
        // An aborted transaction is finished: neither commit nor reads with its id are accepted.
        const again = await srv.req('POST', '/transaction/commit', { transaction_id: t2.id });
        await expectStatus(again, 400);
        expect(await json(again)).toMatchObject({ code: 'TRANSACTION_NOT_ACTIVE', transaction_id: t2.id, status: 'aborted' });
        const read = await srv.req('GET', `/entities/${t}:1`, undefined, { 'x-transaction-id': String(t2.id) });
        await expectStatus(read, 400);
        // A retry in a new transaction sees T1's update and succeeds.
        const t3 = await Tx.begin(t, iso);
        await t3.put(1, (await t3.get(1))! + 5);
        expect(await t3.commit()).toBe(200);
        expect(await committed(t, 1)).toBe(16);
      }
    });

    it(`G-single read skew: ${iso === 'snapshot' ? 'prevented (reads stay in one snapshot)' : 'allowed under read_committed'}`, async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      expect(await t1.get(1)).toBe(10);
      expect(await t2.getAll([1, 2])).toEqual([10, 20]);
      await t2.put(1, 12);
      await t2.put(2, 18);
      expect(await t2.commit()).toBe(200);
      const second = await t1.get(2);
      expect(second).toBe(by(iso, 18, 20));
      if (iso === 'snapshot') expect(10 + second!).toBe(30); // the invariant holds in T1's view
      expect(await t1.commit()).toBe(200);
    });

    it(`G-single write (read skew, then write on what was read): ${iso === 'snapshot' ? 'prevented (409)' : 'allowed under read_committed'}`, async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      expect(await t1.get(1)).toBe(10);
      expect(await t2.getAll([1, 2])).toEqual([10, 20]);
      await t2.put(1, 12);
      await t2.put(2, 18);
      expect(await t2.commit()).toBe(200);
      // T1: delete from test where value = 20
      for (const id of [1, 2]) if ((await t1.get(id)) === 20) await t1.del(id);
      expect(await t1.commit()).toBe(by(iso, 200, 409));
      // read_committed: T1 saw 18, deleted nothing
      expect([await committed(t, 1), await committed(t, 2)]).toEqual([12, 18]);
    });

    it(`G2-item write skew: allowed under ${iso} (documented: snapshot isolation does not prevent write skew)`, async () => {
      const t = await freshTable();
      const t1 = await Tx.begin(t, iso);
      const t2 = await Tx.begin(t, iso);
      expect(await t1.getAll([1, 2])).toEqual([10, 20]);
      expect(await t2.getAll([1, 2])).toEqual([10, 20]);
      await t1.put(1, 11);
      await t2.put(2, 21);
      expect(await t1.commit()).toBe(200);
      expect(await t2.commit()).toBe(200); // both commit: disjoint write sets
      expect([await committed(t, 1), await committed(t, 2)]).toEqual([11, 21]);
    });
  });
}

describe('concurrency over HTTP (snapshot isolation, retry on 409)', () => {
  it('8 clients x 25 increments of one counter: final value == successful commits == 200', async () => {
    const key = 'counter:1';
    await expectStatus(await srv.req('PUT', `/entities/${key}`, { blob: { n: 0 } }), 201);
    const before = await json<{ total_committed: number; conflicts: number }>(await srv.req('GET', '/transaction/stats'));
    let commits = 0;
    let conflicts = 0;
    const client = async () => {
      for (let done = 0; done < 25; ) {
        const b = await json<{ transaction_id: number }>(await srv.req('POST', '/transaction/begin', { isolation: 'snapshot' }));
        const h = { 'x-transaction-id': String(b.transaction_id) };
        const g = await srv.req('GET', `/entities/${key}`, undefined, h);
        await expectStatus(g, 200);
        const n = (JSON.parse((await json<{ blob: string }>(g)).blob) as { n: number }).n;
        const p = await srv.req('PUT', `/entities/${key}`, { blob: { n: n + 1 } }, h);
        await expectStatus(p, 201);
        await p.arrayBuffer();
        const c = await srv.req('POST', '/transaction/commit', { transaction_id: b.transaction_id });
        const body = await json<{ status: string; code?: string }>(c);
        if (c.status === 200) {
          commits++;
          done++;
        } else {
          await expectStatus(c, 409);
          expect(body).toMatchObject({ code: 'CONFLICT', status: 'aborted' });
          conflicts++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    const final = (JSON.parse((await json<{ blob: string }>(await srv.req('GET', `/entities/${key}`))).blob) as { n: number }).n;
    expect(commits).toBe(200);
    expect(final).toBe(commits);
    const after = await json<{ total_committed: number; conflicts: number; active_count: number }>(
      await srv.req('GET', '/transaction/stats'),
    );
    // Tests of this file run one after another on this server: the deltas are exactly this test's.
    expect(after.total_committed - before.total_committed).toBe(200);
    expect(after.conflicts - before.conflicts).toBe(conflicts);
    expect(after.active_count).toBe(0);
  });

  it('bank transfers: the total is the same in every snapshot read and at the end', async () => {
    const ACCOUNTS = 6;
    const TOTAL = ACCOUNTS * 100;
    const acct = (i: number) => `bank:${i}`;
    const r0 = await srv.req('POST', '/transaction', {
      operations: Array.from({ length: ACCOUNTS }, (_, i) => ({ op: 'put', key: acct(i), blob: { balance: 100 } })),
    });
    await expectStatus(r0, 200);
    const before = await json<{ total_committed: number; conflicts: number; rolled_back: number }>(
      await srv.req('GET', '/transaction/stats'),
    );
    const balanceIn = async (i: number, h: Record<string, string>) => {
      const r = await srv.req('GET', `/entities/${acct(i)}`, undefined, h);
      await expectStatus(r, 200);
      return (JSON.parse((await json<{ blob: string }>(r)).blob) as { balance: number }).balance;
    };
    // deterministic pseudo-random transfers
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let transfers = 0;
    let retries = 0;
    let readerRollbacks = 0;
    let running = true;
    // The first attempts of transferers 0 and 1 move money between the same two accounts and both
    // read before either writes, so one of them must get 409 and retry: the retry path always runs.
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((r) => (release = r));
    const barrier = async () => {
      if (++arrived === 2) release();
      await bothRead;
    };
    const transferer = async (_: unknown, no: number) => {
      for (let done = 0; done < 15; ) {
        const forced = done === 0 && no < 2;
        const from = forced ? no : rnd(ACCOUNTS);
        const to = forced ? 1 - no : (from + 1 + rnd(ACCOUNTS - 1)) % ACCOUNTS;
        const amount = 1 + rnd(10);
        for (let attempt = 0; ; attempt++) {
          const b = await json<{ transaction_id: number }>(await srv.req('POST', '/transaction/begin', { isolation: 'snapshot' }));
          const h = { 'x-transaction-id': String(b.transaction_id) };
          const a = await balanceIn(from, h);
          const c = await balanceIn(to, h);
          if (forced && attempt === 0) await barrier();
          for (const [i, v] of [
            [from, a - amount],
            [to, c + amount],
          ] as const) {
            const p = await srv.req('PUT', `/entities/${acct(i)}`, { blob: { balance: v } }, h);
            await expectStatus(p, 201);
            await p.arrayBuffer();
          }
          const cr = await srv.req('POST', '/transaction/commit', { transaction_id: b.transaction_id });
          const body = await json(cr);
          if (cr.status === 200) break;
          expect(cr.status, JSON.stringify(body)).toBe(409);
          expect(body).toMatchObject({ code: 'CONFLICT', status: 'aborted' });
          retries++;
        }
        transfers++;
        done++;
      }
    };
    const sums: number[] = [];
    const reader = async () => {
      while (running) {
        const b = await json<{ transaction_id: number }>(await srv.req('POST', '/transaction/begin', { isolation: 'snapshot' }));
        const h = { 'x-transaction-id': String(b.transaction_id) };
        let sum = 0;
        for (let i = 0; i < ACCOUNTS; i++) sum += await balanceIn(i, h);
        sums.push(sum);
        const r = await srv.req('POST', '/transaction/rollback', { transaction_id: b.transaction_id });
        await expectStatus(r, 200);
        readerRollbacks++;
      }
    };
    const readers = [reader(), reader()];
    await Promise.all(Array.from({ length: 6 }, transferer));
    running = false;
    await Promise.all(readers);
    expect(transfers).toBe(90);
    expect(sums.length).toBeGreaterThan(5);
    expect(sums.filter((s) => s !== TOTAL)).toEqual([]);
    let final = 0;
    for (let i = 0; i < ACCOUNTS; i++) final += await balanceIn(i, {});
    expect(final).toBe(TOTAL);
    // at least the forced conflict; and the server counted exactly what the clients saw
    expect(retries).toBeGreaterThanOrEqual(1);
    const after = await json<{ total_committed: number; conflicts: number; rolled_back: number; active_count: number }>(
      await srv.req('GET', '/transaction/stats'),
    );
    expect(after.total_committed - before.total_committed).toBe(90);
    expect(after.conflicts - before.conflicts).toBe(retries);
    expect(after.rolled_back - before.rolled_back).toBe(readerRollbacks);
    expect(readerRollbacks).toBe(sums.length);
    expect(after.active_count).toBe(0);
  });
});
