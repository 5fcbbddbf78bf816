/**
 * GET /changefeed (and /changefeed/stats) over HTTP: ordering and
 * contiguity, entry contents, from_seq/limit/key_prefix/next_seq, long-poll
 * wake-up and timeout, parameter validation, retention (410), restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEntry } from '../../src/cdc/index.js';
import { call, expectStatus, sleep, startServer, tempDir, waitUntil, type Body, type StartedServer } from '../helpers/server.js';

type Entry = ChangeEntry;
interface Feed {
  from_seq: number;
  next_seq: number;
  last_seq: number;
  entries: Entry[];
}
async function feed(s: StartedServer, query: string): Promise<Feed> {
  const r = await call(s, 'GET', `/changefeed?${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as unknown as Feed;
}
async function lastSeq(s: StartedServer): Promise<number> {
  return (await call(s, 'GET', '/changefeed/stats')).body.last_seq as number;
}
async function put(s: StartedServer, key: string, blob: unknown): Promise<void> {
  const r = await call(s, 'PUT', `/entities/${key}`, { blob });
  await expectStatus(r, 201);
}
async function batch(s: StartedServer, keys: string[], blob: (k: string) => unknown = (k) => ({ k })): Promise<Body> {
  const r = await call(s, 'POST', '/transaction', { operations: keys.map((key) => ({ op: 'put', key, blob: blob(key) })) });
  await expectStatus(r, 200);
  return r.body;
}

/** Every txn_id's entries form one contiguous run. */
function expectContiguousTransactions(entries: Entry[]): void {
  const seen = new Set<string>();
  let prev: string | undefined;
  for (const e of entries) {
    if (e.txn_id !== prev) {
      expect(seen.has(e.txn_id), `txn ${e.txn_id} appears in two runs (seq ${e.seq})`).toBe(false);
      seen.add(e.txn_id);
      prev = e.txn_id;
    }
  }
}

let s: StartedServer;
/** Retention server: started first so its 5 s pruning timer runs while the other tests do. */
let ret: StartedServer;

beforeAll(async () => {
  [s, ret] = await Promise.all([startServer(), startServer({ env: { THEMIS_CDC_RETENTION: '3' } })]);
  for (let i = 1; i <= 10; i++) await put(ret, `ret:${i}`, { i });
});
afterAll(async () => {
  await Promise.all([s?.stop(), ret?.stop()]);
});

describe('GET /changefeed', () => {
  it('a 5-key POST /transaction gives 5 contiguous entries with one txn_id; concurrent transactions never interleave', async () => {
    const from = await lastSeq(s);
    const r = await batch(s, ['ord:1', 'ord:2', 'ord:3', 'ord:4', 'ord:5']);
    const f = await feed(s, `from_seq=${from}`);
    expect(f.entries.map((e) => e.seq)).toEqual([from + 1, from + 2, from + 3, from + 4, from + 5]);
    expect(f.entries.map((e) => e.key)).toEqual(['ord:1', 'ord:2', 'ord:3', 'ord:4', 'ord:5']);
    expect(new Set(f.entries.map((e) => e.txn_id))).toEqual(new Set([String(r.transaction_id)]));
    expect(new Set(f.entries.map((e) => e.ts)).size).toBe(1);
    expect(r.last_seq).toBe(from + 5);

    const from2 = await lastSeq(s);
    await Promise.all(
      Array.from({ length: 12 }, (_, t) =>
        t % 3 === 0
          ? put(s, `conc:single${t}`, { t })
          : batch(
              s,
              [0, 1, 2, 3, 4].map((i) => `conc:${t}-${i}`),
            ),
      ),
    );
    const all = await feed(s, `from_seq=${from2}&limit=1000`);
    expect(all.entries).toHaveLength(4 * 1 + 8 * 5);
    all.entries.forEach((e, i) => {
      expect(e.seq).toBe(from2 + 1 + i);
    }); // gap-free
    expectContiguousTransactions(all.entries);
    const groups = new Map<string, string[]>();
    for (const e of all.entries) groups.set(e.txn_id, [...(groups.get(e.txn_id) ?? []), e.key]);
    for (const keys of groups.values()) {
      if (keys.length === 1) expect(keys[0]).toMatch(/^conc:single/);
      else expect(keys.map((k) => k.replace(/-\d$/, '')).every((k) => k === keys[0]!.replace(/-\d$/, ''))).toBe(true);
    }
  });

  it('entries carry op, key, table, parsed value and prev for create, update and delete', async () => {
    const from = await lastSeq(s);
    await put(s, 'docs:1', { v: 1, name: 'Zoë' });
    await put(s, 'docs:1', '{"v":2}');
    await call(s, 'DELETE', '/entities/docs:1');
    await call(s, 'DELETE', '/entities/docs:1'); // nothing to delete: no entry
    await call(s, 'POST', '/entities', { key: 'docs:2', blob: { made: true } });
    const f = await feed(s, `from_seq=${from}`);
    expect(f.entries.map(({ seq, op, key, table, value, prev }) => ({ seq, op, key, table, value, prev }))).toEqual([
      { seq: from + 1, op: 'put', key: 'docs:1', table: 'docs', value: { v: 1, name: 'Zoë' }, prev: null },
      { seq: from + 2, op: 'put', key: 'docs:1', table: 'docs', value: { v: 2 }, prev: { v: 1, name: 'Zoë' } },
      { seq: from + 3, op: 'delete', key: 'docs:1', table: 'docs', value: null, prev: { v: 2 } },
      { seq: from + 4, op: 'put', key: 'docs:2', table: 'docs', value: { made: true }, prev: null },
    ]);
    for (const e of f.entries) {
      expect(typeof e.txn_id).toBe('string');
      expect(new Date(e.ts).toISOString()).toBe(e.ts);
    }
    expect(new Set(f.entries.map((e) => e.txn_id)).size).toBe(4);
  });

  it('from_seq is exclusive, limit caps, next_seq is where to continue, last_seq is the newest', async () => {
    const from = await lastSeq(s);
    await batch(
      s,
      Array.from({ length: 6 }, (_, i) => `page:${i}`),
    );
    const p1 = await feed(s, `from_seq=${from}&limit=4`);
    expect(p1).toMatchObject({ from_seq: from, next_seq: from + 4, last_seq: from + 6 });
    expect(p1.entries.map((e) => e.seq)).toEqual([from + 1, from + 2, from + 3, from + 4]);
    const p2 = await feed(s, `from_seq=${p1.next_seq}&limit=4`);
    expect(p2).toMatchObject({ from_seq: from + 4, next_seq: from + 6 });
    expect(p2.entries.map((e) => e.key)).toEqual(['page:4', 'page:5']);
    const p3 = await feed(s, `from_seq=${p2.next_seq}`);
    expect(p3).toEqual({ from_seq: from + 6, next_seq: from + 6, last_seq: from + 6, entries: [] });
    const one = await feed(s, `from_seq=${from + 2}&limit=1`);
    expect(one.entries.map((e) => e.key)).toEqual(['page:2']);
    // default limit is 100
    await batch(
      s,
      Array.from({ length: 120 }, (_, i) => `many:${i}`),
    );
    expect((await feed(s, `from_seq=${from}`)).entries).toHaveLength(100);
    expect((await feed(s, `from_seq=${from}&limit=10000`)).entries).toHaveLength(126);
  });

  it('key_prefix filters; next_seq moves past entries that do not match', async () => {
    const from = await lastSeq(s);
    await batch(s, ['pfa:1', 'pfb:1', 'pfa:2', 'pfb:2', 'pfb:3']);
    const a = await feed(s, `from_seq=${from}&key_prefix=pfa:`);
    expect(a.entries.map((e) => e.key)).toEqual(['pfa:1', 'pfa:2']);
    expect(a.next_seq).toBe(from + 5); // examined everything
    const b = await feed(s, `from_seq=${from}&key_prefix=pfb&limit=2`);
    expect(b.entries.map((e) => e.key)).toEqual(['pfb:1', 'pfb:2']);
    expect(b.next_seq).toBe(from + 4);
    const none = await feed(s, `from_seq=${from}&key_prefix=${encodeURIComponent('nomatch:')}`);
    expect(none).toMatchObject({ entries: [], next_seq: from + 5 });
    const exact = await feed(s, `from_seq=${from}&key_prefix=${encodeURIComponent('pfb:3')}`);
    expect(exact.entries.map((e) => e.seq)).toEqual([from + 5]);
  });

  it('invalid parameters are 400 VALIDATION_FAILED naming the field', async () => {
    const cases: [string, string][] = [
      ['', 'from_seq'],
      ['limit=5', 'from_seq'],
      ['from_seq=-1', 'from_seq'],
      ['from_seq=abc', 'from_seq'],
      ['from_seq=1.5', 'from_seq'],
      ['from_seq=99999999999999999999', 'from_seq'],
      ['from_seq=0&limit=0', 'limit'],
      ['from_seq=0&limit=10001', 'limit'],
      ['from_seq=0&limit=x', 'limit'],
      ['from_seq=0&long_poll_ms=60001', 'long_poll_ms'],
      ['from_seq=0&long_poll_ms=-1', 'long_poll_ms'],
      ['from_seq=0&long_poll_ms=soon', 'long_poll_ms'],
      [`from_seq=0&key_prefix=${'k'.repeat(5000)}`, 'key_prefix'],
    ];
    for (const [q, field] of cases) {
      const r = await call(s, 'GET', `/changefeed?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body, q).toMatchObject({ error: true, code: 'VALIDATION_FAILED', status_code: 400, field });
    }
    // the bounds themselves are valid
    await expectStatus(await call(s, 'GET', '/changefeed?from_seq=0&limit=10000&long_poll_ms=0'), 200);
    await expectStatus(await call(s, 'GET', '/changefeed?from_seq=0&limit=1'), 200);
  });

  it('rolled-back and conflicting transactions produce no entries', async () => {
    const from = await lastSeq(s);
    const rb = (await call(s, 'POST', '/transaction/begin', { isolation: 'snapshot' })).body.transaction_id as number;
    await call(s, 'PUT', '/entities/none:1', { blob: {} }, { 'x-transaction-id': String(rb) });
    await call(s, 'DELETE', '/entities/docs:2', undefined, { 'x-transaction-id': String(rb) });
    await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: rb }), 200);
    const loser = (await call(s, 'POST', '/transaction/begin', { isolation: 'snapshot' })).body.transaction_id as number;
    await call(s, 'PUT', '/entities/none:2', { blob: { loser: true } }, { 'x-transaction-id': String(loser) });
    await put(s, 'none:2', { winner: true });
    await expectStatus(await call(s, 'POST', '/transaction/commit', { transaction_id: loser }), 409);
    const f = await feed(s, `from_seq=${from}`);
    expect(f.entries.map((e) => [e.key, e.value])).toEqual([['none:2', { winner: true }]]);
    expect(f.entries.some((e) => e.txn_id === String(rb) || e.txn_id === String(loser))).toBe(false);
  });
});

describe('long poll', () => {
  it('wakes as soon as a matching entry commits, with all entries of its transaction', async () => {
    const from = await lastSeq(s);
    const t0 = Date.now();
    const poll = feed(s, `from_seq=${from}&long_poll_ms=20000`);
    // the poll is waiting (one waiter registered, nothing answered yet)
    expect(
      await waitUntil(
        async () => (await call(s, 'GET', '/changefeed/stats')).body.waiters,
        (w) => w === 1,
      ),
    ).toBe(1);
    const written = Date.now();
    await batch(s, ['lp:1', 'lp:2', 'lp:3']);
    const f = await poll;
    const done = Date.now();
    expect(f.entries.map((e) => e.key)).toEqual(['lp:1', 'lp:2', 'lp:3']);
    expect(f).toMatchObject({ from_seq: from, next_seq: from + 3, last_seq: from + 3 });
    // woken by the commit (typically within a few ms), not by the 20 s long_poll_ms
    expect(done - written).toBeLessThan(10_000);
    expect(done - t0).toBeLessThan(15_000);
    expect((await call(s, 'GET', '/changefeed/stats')).body.waiters).toBe(0);
  });

  it('answers at once when entries already exist', async () => {
    const from = (await lastSeq(s)) - 1;
    const t0 = Date.now();
    const f = await feed(s, `from_seq=${from}&long_poll_ms=20000`);
    expect(f.entries).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(10_000); // not after the 20 s long_poll_ms
  });

  it('times out with no entries after about long_poll_ms', async () => {
    const from = await lastSeq(s);
    const t0 = Date.now();
    const f = await feed(s, `from_seq=${from}&long_poll_ms=500`);
    const took = Date.now() - t0;
    expect(f).toEqual({ from_seq: from, next_seq: from, last_seq: from, entries: [] });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5_000);
  });

  it('a prefix-filtered long poll is not woken by a non-matching commit, and is by a matching one', async () => {
    const from = await lastSeq(s);
    const t0 = Date.now();
    const poll = feed(s, `from_seq=${from}&key_prefix=lpa:&long_poll_ms=1000`);
    await sleep(150);
    await put(s, 'lpb:1', { other: true });
    const f = await poll;
    const took = Date.now() - t0;
    expect(f.entries).toEqual([]);
    expect(f.next_seq).toBe(from + 1); // moved past the non-matching entry
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(6_000);

    const from2 = await lastSeq(s);
    const poll2 = feed(s, `from_seq=${from2}&key_prefix=lpa:&long_poll_ms=20000`);
    await sleep(100);
    await put(s, 'lpb:2', {});
    await sleep(150);
    const written = Date.now();
    await batch(s, ['lpb:3', 'lpa:1']);
    const f2 = await poll2;
    expect(Date.now() - written).toBeLessThan(10_000); // woken by the matching commit, not the 20 s timeout
    expect(f2.entries.map((e) => [e.seq, e.key])).toEqual([[from2 + 3, 'lpa:1']]);
    expect(f2.next_seq).toBe(from2 + 3);
  });

  it('a client that disconnects during a long poll leaves no waiter behind', async () => {
    const from = await lastSeq(s);
    const ac = new AbortController();
    const poll = fetch(`${s.base}/changefeed?from_seq=${from}&long_poll_ms=30000`, {
      headers: { authorization: 'Bearer test-admin-key-0123456789' },
      signal: ac.signal,
    }).catch((e: unknown) => e);
    expect(
      await waitUntil(
        async () => (await call(s, 'GET', '/changefeed/stats')).body.waiters,
        (w) => w === 1,
      ),
    ).toBe(1);
    ac.abort();
    expect(await poll).toMatchObject({ name: 'AbortError' }); // our abort, not a server error
    let waiters = -1;
    for (let i = 0; i < 40 && waiters !== 0; i++) {
      await sleep(50);
      waiters = (await call(s, 'GET', '/changefeed/stats')).body.waiters as number;
    }
    expect(waiters).toBe(0);
    // and a commit afterwards is fine (nobody to answer)
    await put(s, 'lpx:1', {});
    await expectStatus(await call(s, 'GET', '/health'), 200);
  });

  it('a long poll from a future sequence number waits for the whole timeout', async () => {
    const future = (await lastSeq(s)) + 100;
    const t0 = Date.now();
    const poll = feed(s, `from_seq=${future}&long_poll_ms=600`);
    await sleep(100);
    await put(s, 'lpf:1', {});
    const f = await poll;
    expect(f.entries).toEqual([]);
    expect(f.next_seq).toBe(future);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  });
});

describe('GET /changefeed/stats', () => {
  it('reports first_seq, last_seq, entries, subscribers, waiters, retention', async () => {
    const st = (await call(s, 'GET', '/changefeed/stats')).body;
    expect(st).toMatchObject({ first_seq: 1, last_seq: expect.any(Number), subscribers: 0, waiters: 0, retention: expect.any(String) });
    expect(st.entries).toBe((st.last_seq as number) - (st.first_seq as number) + 1);
  });
});

describe('retention (THEMIS_CDC_RETENTION=3)', () => {
  it('reading below the retained range is 410 GONE with first_seq; reading inside it works', async () => {
    // ret got 10 entries in beforeAll; the server prunes every 5 s.
    const deadline = Date.now() + 9_000;
    let st: Body = {};
    while (Date.now() < deadline) {
      st = (await call(ret, 'GET', '/changefeed/stats')).body;
      if (st.first_seq === 8) break;
      await sleep(200);
    }
    expect(st).toMatchObject({ first_seq: 8, last_seq: 10, entries: 3, retention: '3 entries' });
    const gone = await call(ret, 'GET', '/changefeed?from_seq=0');
    await expectStatus(gone, 410);
    expect(gone.body).toMatchObject({ error: true, code: 'GONE', status_code: 410, first_seq: 8 });
    expect(gone.body.last_seq).toBe(10);
    await expectStatus(await call(ret, 'GET', '/changefeed?from_seq=6'), 410);
    await expectStatus(await call(ret, 'GET', '/changefeed?from_seq=0&long_poll_ms=1000'), 410);
    const inside = await feed(ret, 'from_seq=7');
    expect(inside.entries.map((e) => e.seq)).toEqual([8, 9, 10]);
    const tail = await feed(ret, `from_seq=${(st.last_seq as number) - 2}`);
    expect(tail.entries.map((e) => [e.seq, e.key])).toEqual([
      [9, 'ret:9'],
      [10, 'ret:10'],
    ]);
    // data itself is not subject to retention
    await expectStatus(await call(ret, 'GET', '/entities/ret:1'), 200);
  });
});

describe('restarts', () => {
  it('the change feed survives a restart and a kill -9; seq continues without gaps', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir });
    await batch(a, ['rs:1', 'rs:2']);
    await put(a, 'rs:1', { v: 2 });
    expect(await a.stop()).toBe(0);

    const b = await startServer({ dataDir });
    const f1 = await feed(b, 'from_seq=0');
    expect(f1.entries.map((e) => [e.seq, e.key])).toEqual([
      [1, 'rs:1'],
      [2, 'rs:2'],
      [3, 'rs:1'],
    ]);
    expect(f1.entries[2]!.prev).toEqual({ k: 'rs:1' });
    expect((await call(b, 'GET', '/changefeed/stats')).body).toMatchObject({ first_seq: 1, last_seq: 3, entries: 3 });
    const c = await batch(b, ['rs:3', 'rs:4']);
    expect(c.last_seq).toBe(5);
    await b.kill();

    const d = await startServer({ dataDir });
    await call(d, 'DELETE', '/entities/rs:2');
    const f2 = await feed(d, 'from_seq=0');
    expect(f2.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(f2.entries[5]).toMatchObject({ op: 'delete', key: 'rs:2', prev: { k: 'rs:2' }, value: null });
    expect(new Set(f2.entries.map((e) => e.txn_id)).size).toBe(4);
    await d.stop();
  });
});
