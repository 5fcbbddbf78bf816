/**
 * kill -9 in the middle of a stream of multi-key transactions. After the
 * restart: no transaction is partially visible, every acknowledged one is
 * fully visible, the change feed has no gaps, each transaction's entries
 * are contiguous under one txn_id, and the feed holds nothing of
 * transactions that did not commit (rolled back, never committed, or
 * committed only after the kill).
 */
import { describe, expect, it } from 'vitest';
import { expectStatus, startServer, tempDir, type StartedServer } from '../helpers/server.js';

interface Entry {
  seq: number;
  op: 'put' | 'delete';
  key: string;
  value: { txn: string; j: number } | null;
  txn_id: string;
}

/** One transaction the test issued: its keys, and how far it got from the client's point of view. */
interface Issued {
  name: string;
  kind: 'batch' | 'explicit' | 'rollback';
  keys: string[];
  /** begun: never asked to commit; sent: commit requested, answer unknown; acked: 200; rolled_back: 200 on rollback. */
  state: 'begun' | 'sent' | 'acked' | 'rolled_back';
  txnId?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('crash during multi-key transactions', () => {
  it('kill -9: all-or-nothing per transaction, acknowledged ones complete, change feed gap-free and contiguous', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'sync' } });
    const issued: Issued[] = [];
    let dead = false;
    const send = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
      const r = await a.req(method, path, body, headers);
      const text = await r.text();
      return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const blob = (txn: string, j: number) => ({ txn, j, pad: 'p'.repeat(40) });

    // POST /transaction with 5 puts
    const batchClient = async (c: number) => {
      for (let i = 0; !dead; i++) {
        const name = `b${c}-${i}`;
        const t: Issued = { name, kind: 'batch', keys: [0, 1, 2, 3, 4].map((j) => `cb:${name}-${j}`), state: 'sent' };
        issued.push(t);
        try {
          const r = await send('POST', '/transaction', { operations: t.keys.map((key, j) => ({ op: 'put', key, blob: blob(name, j) })) });
          if (r.status !== 200) throw new Error(`batch answered ${r.status}: ${JSON.stringify(r.body)}`);
          t.state = 'acked';
          t.txnId = String(r.body.transaction_id);
        } catch (e) {
          if (dead) return;
          throw e;
        }
      }
    };

    // begin / PUT x3 / commit, every third one rolled back instead (2 PUTs)
    const explicitClient = async (c: number) => {
      for (let i = 0; !dead; i++) {
        const rollback = i % 3 === 2;
        const name = `e${c}-${i}`;
        const n = rollback ? 2 : 3;
        const t: Issued = {
          name,
          kind: rollback ? 'rollback' : 'explicit',
          keys: Array.from({ length: n }, (_, j) => `${rollback ? 'rb' : 'ce'}:${name}-${j}`),
          state: 'begun',
        };
        issued.push(t);
        try {
          const b = await send('POST', '/transaction/begin', { isolation: c % 2 === 0 ? 'snapshot' : 'read_committed' });
          if (b.status !== 200) throw new Error(`begin answered ${b.status}`);
          t.txnId = String(b.body.transaction_id);
          const h = { 'x-transaction-id': t.txnId };
          for (let j = 0; j < n; j++) {
            const p = await send('PUT', `/entities/${t.keys[j]}`, { blob: blob(name, j) }, h);
            if (p.status !== 201) throw new Error(`PUT answered ${p.status}`);
          }
          if (rollback) {
            const r = await send('POST', '/transaction/rollback', { transaction_id: Number(t.txnId) });
            if (r.status !== 200) throw new Error(`rollback answered ${r.status}`);
            t.state = 'rolled_back';
          } else {
            t.state = 'sent';
            const r = await send('POST', '/transaction/commit', { transaction_id: Number(t.txnId) });
            if (r.status !== 200) throw new Error(`commit answered ${r.status}: ${JSON.stringify(r.body)}`);
            t.state = 'acked';
          }
        } catch (e) {
          if (dead) return;
          throw e;
        }
      }
    };

    const clients = [...Array.from({ length: 16 }, (_, c) => batchClient(c)), ...Array.from({ length: 4 }, (_, c) => explicitClient(c))];
    const failures: unknown[] = [];
    const all = Promise.all(clients.map((p) => p.catch((e) => failures.push(e))));
    await sleep(1_500);
    dead = true;
    await a.kill();
    await all;
    expect(failures).toEqual([]);
    const acked = issued.filter((t) => t.state === 'acked');
    expect(acked.filter((t) => t.kind === 'batch').length).toBeGreaterThan(20);
    expect(acked.filter((t) => t.kind === 'explicit').length).toBeGreaterThan(3);
    expect(issued.filter((t) => t.state === 'rolled_back').length).toBeGreaterThan(0);

    // ---------------------------------------------------------------- after the restart
    const b: StartedServer = await startServer({ dataDir });
    const get = async (path: string) => {
      const r = await b.req('GET', path);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };

    // The whole change feed.
    const entries: Entry[] = [];
    const st = (await get('/changefeed/stats')).body as { first_seq: number; last_seq: number };
    expect(st.first_seq).toBe(1);
    for (let from = 0; from < st.last_seq; ) {
      const f = await get(`/changefeed?from_seq=${from}&limit=10000`);
      await expectStatus(f, 200);
      const page = f.body.entries as Entry[];
      expect(page.length).toBeGreaterThan(0);
      entries.push(...page);
      from = f.body.next_seq as number;
    }
    // gap-free: 1..last_seq
    expect(entries.length).toBe(st.last_seq);
    entries.forEach((e, i) => {
      if (e.seq !== i + 1) expect.fail(`change feed gap: position ${i} has seq ${e.seq}`);
    });
    // each txn_id's entries are one contiguous run
    const runs = new Map<string, Entry[]>();
    let prevTxn: string | undefined;
    for (const e of entries) {
      if (e.txn_id !== prevTxn && runs.has(e.txn_id)) expect.fail(`txn ${e.txn_id} is not contiguous (seq ${e.seq})`);
      prevTxn = e.txn_id;
      runs.set(e.txn_id, [...(runs.get(e.txn_id) ?? []), e]);
    }
    // each run is exactly one issued transaction, complete, and one that was allowed to commit
    const byName = new Map(issued.map((t) => [t.name, t]));
    const committedNames = new Set<string>();
    for (const [txnId, run] of runs) {
      const names = new Set(run.map((e) => e.value?.txn));
      expect(names.size, `txn ${txnId} mixes writes of ${[...names].join(', ')}`).toBe(1);
      const t = byName.get([...names][0]!);
      expect(t, `txn ${txnId} wrote keys the test never issued`).toBeDefined();
      expect(
        run.map((e) => e.key),
        `txn ${t!.name} partially in the change feed`,
      ).toEqual(t!.keys);
      expect(run.every((e) => e.op === 'put')).toBe(true);
      expect(['sent', 'acked'], `txn ${t!.name} (${t!.state}) must not be in the change feed`).toContain(t!.state);
      if (t!.txnId !== undefined) expect(txnId).toBe(t!.txnId);
      committedNames.add(t!.name);
    }
    // every acknowledged transaction is in the feed; no rolled-back or never-committed one is
    for (const t of issued) {
      if (t.state === 'acked') expect(committedNames.has(t.name), `acknowledged ${t.name} missing from the change feed`).toBe(true);
      if (t.state === 'rolled_back' || t.state === 'begun') expect(committedNames.has(t.name)).toBe(false);
    }
    expect(entries.some((e) => e.key.startsWith('rb:'))).toBe(false);

    // The data agrees with the feed: for every issued transaction, all of its keys or none are visible,
    // all of them exactly when it is in the feed.
    const visible = new Map<string, unknown>();
    const keys = issued.flatMap((t) => t.keys);
    for (let i = 0; i < keys.length; i += 64) {
      const chunk = keys.slice(i, i + 64);
      const got = await Promise.all(
        chunk.map(async (k) => {
          const r = await b.req('GET', `/entities/${k}`);
          if (r.status === 404) {
            await r.arrayBuffer();
            return undefined;
          }
          await expectStatus(r, 200);
          return JSON.parse(((await r.json()) as { blob: string }).blob) as unknown;
        }),
      );
      chunk.forEach((k, j) => {
        if (got[j] !== undefined) visible.set(k, got[j]);
      });
    }
    const partial: string[] = [];
    const wrong: string[] = [];
    for (const t of issued) {
      const n = t.keys.filter((k) => visible.has(k)).length;
      if (n !== 0 && n !== t.keys.length) partial.push(`${t.name}: ${n}/${t.keys.length}`);
      const inFeed = committedNames.has(t.name);
      if ((n === t.keys.length) !== inFeed) wrong.push(`${t.name}: visible ${n}/${t.keys.length}, in feed ${inFeed}, state ${t.state}`);
      t.keys.forEach((k, j) => {
        if (visible.has(k)) expect(visible.get(k)).toMatchObject({ txn: t.name, j });
      });
    }
    expect(partial).toEqual([]);
    expect(wrong).toEqual([]);

    // Sequence numbers continue after the crash.
    const r = await b.req('PUT', '/entities/after:crash', { blob: { ok: true } });
    await expectStatus(r, 201);
    const after = await get(`/changefeed?from_seq=${st.last_seq}`);
    expect((after.body.entries as Entry[]).map((e) => [e.seq, e.key])).toEqual([[st.last_seq + 1, 'after:crash']]);
    await b.stop();
  });
});
