/**
 * The kill -9 workload and its checker (test/reliability/kill-cycle.test.ts).
 *
 * Writers own disjoint key sets and write each key sequentially, so for every
 * key the checker knows the last acknowledged value and the one write that
 * may have been in flight at the kill (its outcome is unknown: either value
 * is correct, nothing else). What is written touches every derived structure:
 *
 *   table k  {grp, score, email, text, emb?}   equality index k.grp, range index k.score,
 *                                              unique index k.email, fulltext k.text,
 *                                              vector index kv on k.emb (L2, 8-d)
 *   table e  {_from, _to}                      graph adjacency
 *   table p  pairs p:<i>a / p:<i>b             written together by POST /transaction (torn-transaction check)
 *
 * The checker compares, after a restart: every key against acked/pending;
 * pairs for atomicity; each index's answers against a recomputation from the
 * stored documents; the change feed for contiguity and against the data;
 * fulltext and vector findability of every document; graph neighbours.
 */
import crypto from 'node:crypto';
import { expect } from 'vitest';
import { call, type Body, type StartedServer } from '../helpers/server.js';

export const DIM = 8;
const GROUPS = 7;

export interface KeyState {
  /** The last acknowledged document text (null: deleted or never written). */
  acked: string | null;
  /** A write whose answer never came (the kill): its document text, or null for a delete. */
  pending?: { value: string | null };
}

export interface WorkloadState {
  keys: Map<string, KeyState>;
  /** The change feed as checked so far: the last sequence number read and every key's value after it. */
  feed: { seq: number; last: Map<string, string | null> };
  /** Pair index -> last acknowledged version and the version in flight. */
  pairs: Map<number, { acked: number; pending?: number }>;
  writes: number;
  refused: number;
}

export function newState(): WorkloadState {
  return { keys: new Map(), pairs: new Map(), feed: { seq: 0, last: new Map() }, writes: 0, refused: 0 };
}

export async function setupSchema(s: StartedServer): Promise<void> {
  const ok = async (p: Promise<{ status: number; body: Body }>) => {
    const r = await p;
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  };
  await ok(call(s, 'POST', '/index/create', { table: 'k', column: 'grp' }));
  await ok(call(s, 'POST', '/index/create', { table: 'k', column: 'score', type: 'range' }));
  await ok(call(s, 'POST', '/index/create', { table: 'k', column: 'email', unique: true, sparse: true }));
  await ok(call(s, 'POST', '/index/create', { table: 'k', column: 'text', type: 'fulltext' }));
  await ok(call(s, 'POST', '/vector/index/create', { name: 'kv', table: 'k', field: 'emb', metric: 'L2', dimension: DIM }));
}

const rnd = (n: number) => Math.floor(Math.random() * n);

function kDoc(id: number, version: string): Record<string, unknown> {
  const doc: Record<string, unknown> = { grp: rnd(GROUPS), score: rnd(1000) / 10, text: `tok${id}x${version} common word${rnd(5)}` };
  // Emails collide across writers now and then: the unique index refuses one of them (409), which is fine.
  if (Math.random() < 0.7) doc.email = `u${rnd(400)}@example.org`;
  if (Math.random() < 0.6) doc.emb = Array.from({ length: DIM }, () => Math.round(Math.random() * 1000) / 1000);
  return doc;
}

/**
 * Run `writers` writers until `stopAt` (or until `signal.stopped`): a mix of
 * PUT / DELETE on k, vector batch inserts, edges, and two-key transactions.
 * A write answered with a 4xx refusal (unique 409, ...) changes nothing; a
 * write without an answer (connection reset by the kill) stays pending.
 */
export async function runWriters(
  s: StartedServer,
  state: WorkloadState,
  o: { writers: number; keysPerWriter: number; stopAt: number; signal: { stopped: boolean } },
): Promise<void> {
  const version = () => crypto.randomBytes(4).toString('hex');
  await Promise.all(
    Array.from({ length: o.writers }, async (_, w) => {
      const own = (i: number) => w + o.writers * i;
      while (!o.signal.stopped && Date.now() < o.stopAt) {
        const r = Math.random();
        const id = own(rnd(o.keysPerWriter));
        try {
          if (r < 0.12) {
            await single(s, state, `k:${id}`, null, () => call(s, 'DELETE', `/entities/k:${id}`));
          } else if (r < 0.55) {
            const text = JSON.stringify(kDoc(id, version()));
            await single(s, state, `k:${id}`, text, () => call(s, 'PUT', `/entities/k:${id}`, { blob: text }));
          } else if (r < 0.7) {
            await vectorBatch(s, state, [id, own(rnd(o.keysPerWriter)), own(rnd(o.keysPerWriter))], version());
          } else if (r < 0.82) {
            const eid = own(rnd(o.keysPerWriter));
            const text = JSON.stringify({ _from: `k:${own(rnd(o.keysPerWriter))}`, _to: `k:${rnd(o.keysPerWriter * o.writers)}` });
            await single(s, state, `e:${eid}`, text, () => call(s, 'PUT', `/entities/e:${eid}`, { blob: text }));
          } else {
            await pairTxn(s, state, own(rnd(o.keysPerWriter)));
          }
        } catch {
          return; // the server is gone (killed): this writer's in-flight write stays pending
        }
      }
    }),
  );
}

function keyState(state: WorkloadState, key: string): KeyState {
  let k = state.keys.get(key);
  if (!k) state.keys.set(key, (k = { acked: null }));
  return k;
}

async function single(
  s: StartedServer,
  state: WorkloadState,
  key: string,
  value: string | null,
  send: () => Promise<{ status: number; body: Body }>,
): Promise<void> {
  const k = keyState(state, key);
  k.pending = { value };
  const r = await send(); // throws when the connection dies: pending stays
  delete k.pending;
  state.writes++;
  if (r.status < 300) k.acked = value;
  else if (r.status >= 500) throw new Error(`${key}: ${r.status} ${JSON.stringify(r.body)}`);
  else state.refused++;
}

async function vectorBatch(s: StartedServer, state: WorkloadState, ids: number[], version: string): Promise<void> {
  const uniq = [...new Set(ids)];
  // batch_insert writes {…fields, emb: vector} as the whole document of k:<pk>.
  const items = uniq.map((id) => ({
    pk: String(id),
    vector: Array.from({ length: DIM }, () => Math.round(Math.random() * 1000) / 1000),
    fields: { grp: rnd(GROUPS), score: rnd(1000) / 10, text: `tok${id}x${version} common vec` },
  }));
  const texts = items.map((it) => JSON.stringify({ ...it.fields, emb: it.vector }));
  const states = uniq.map((id) => keyState(state, `k:${id}`));
  states.forEach((k, i) => {
    k.pending = { value: texts[i]! };
  });
  const r = await call(s, 'POST', '/vector/batch_insert', { index: 'kv', items });
  state.writes++;
  if (r.status >= 500) throw new Error(`batch_insert: ${r.status} ${JSON.stringify(r.body)}`);
  // All or nothing: the batch is one commit.
  const applied = r.status < 300 && (r.body.inserted as number) === items.length;
  states.forEach((k, i) => {
    delete k.pending;
    if (applied) k.acked = texts[i]!;
  });
  if (!applied) state.refused++;
}

async function pairTxn(s: StartedServer, state: WorkloadState, i: number): Promise<void> {
  const p = state.pairs.get(i) ?? { acked: 0 };
  state.pairs.set(i, p);
  const v = p.acked + 1 + rnd(3);
  p.pending = v;
  const blob = JSON.stringify({ v });
  const r = await call(s, 'POST', '/transaction', {
    operations: [
      { op: 'put', key: `p:${i}a`, blob },
      { op: 'put', key: `p:${i}b`, blob },
    ],
  });
  delete p.pending;
  state.writes++;
  if (r.status >= 300) throw new Error(`pair ${i}: ${r.status} ${JSON.stringify(r.body)}`);
  p.acked = v;
}

/**
 * After a restart: settle every pending write by what the server holds (it
 * must be the acked or the pending value), then check every structure.
 * Returns a summary for the log.
 */
export async function checkAll(s: StartedServer, state: WorkloadState): Promise<{ keys: number; docs: number; feed: number }> {
  const docs = new Map<string, Record<string, unknown>>();
  const bad: string[] = [];
  for (const [key, k] of state.keys) {
    const r = await call(s, 'GET', `/entities/${key}`);
    const now = r.status === 200 ? (r.body.blob as string) : r.status === 404 ? null : undefined;
    if (now === undefined) throw new Error(`GET ${key}: ${r.status} ${JSON.stringify(r.body)}`);
    if (now !== k.acked && !(k.pending && now === k.pending.value))
      bad.push(
        `${key}: holds ${now?.slice(0, 60)}, acked ${k.acked?.slice(0, 60)}, pending ${k.pending ? k.pending.value?.slice(0, 60) : '-'}`,
      );
    // The outcome of the write in flight is now known: it is the state from here on.
    k.acked = now;
    delete k.pending;
    if (now !== null && key.startsWith('k:')) docs.set(key, JSON.parse(now) as Record<string, unknown>);
  }
  expect(bad, `acknowledged writes lost or changed (${bad.length})`).toEqual([]);

  // Torn transactions: both keys of a pair always hold the same version, at least the acked one.
  for (const [i, p] of state.pairs) {
    const a = await call(s, 'GET', `/entities/p:${i}a`);
    const b = await call(s, 'GET', `/entities/p:${i}b`);
    const va = a.status === 200 ? (JSON.parse(a.body.blob as string) as { v: number }).v : 0;
    const vb = b.status === 200 ? (JSON.parse(b.body.blob as string) as { v: number }).v : 0;
    expect(va, `pair ${i} torn: a=${va} b=${vb}`).toBe(vb);
    expect([p.acked, p.pending].includes(va), `pair ${i}: v=${va}, acked ${p.acked}, pending ${p.pending}`).toBe(true);
    p.acked = va;
    delete p.pending;
  }

  await checkIndexes(s, docs);
  await checkFulltext(s, docs);
  await checkVectors(s, docs);
  await checkGraph(s, state);
  await checkTableCounts(s);
  const feed = await checkFeed(s, state);
  return { keys: state.keys.size, docs: docs.size, feed };
}

const keyOf = (k: string) => (k.includes(':') ? k : `k:${k}`);

/** The table catalogue's exact counts (kept in every commit's batch) against the documents themselves. */
async function checkTableCounts(s: StartedServer): Promise<void> {
  for (const t of ['k', 'e', 'p']) {
    const scan = await call(s, 'POST', '/query/aql', { query: `FOR d IN ${t} RETURN d` });
    const info = await call(s, 'GET', `/tables/${t}`);
    if (scan.status === 404) {
      // No document yet, nor anything else naming the table.
      expect(info.status, JSON.stringify(info.body)).toBe(404);
      continue;
    }
    expect(scan.status, JSON.stringify(scan.body)).toBe(200);
    expect(info.status, JSON.stringify(info.body)).toBe(200);
    const texts = scan.body.entities as string[];
    expect(info.body.documents, `documents of table ${t}`).toBe(texts.length);
    expect(info.body.bytes, `bytes of table ${t}`).toBe(texts.reduce((n, x) => n + Buffer.byteLength(x, 'utf8'), 0));
  }
}

async function queryKeys(s: StartedServer, body: Record<string, unknown>): Promise<string[]> {
  const r = await call(s, 'POST', '/query', { table: 'k', return: 'keys', allow_full_scan: false, ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body.keys as string[]).map(keyOf).sort();
}

async function checkIndexes(s: StartedServer, docs: Map<string, Record<string, unknown>>): Promise<void> {
  const all = [...docs];
  for (let g = 0; g < GROUPS; g++) {
    const want = all
      .filter(([, d]) => d.grp === g)
      .map(([k]) => k)
      .sort();
    expect(await queryKeys(s, { predicates: [{ column: 'grp', value: g }] }), `equality index k.grp = ${g}`).toEqual(want);
  }
  for (const [lo, hi] of [
    [0, 25],
    [25.5, 60],
    [60, 100],
  ] as const) {
    const want = all
      .filter(([, d]) => typeof d.score === 'number' && d.score >= lo && d.score <= hi)
      .map(([k]) => k)
      .sort();
    expect(await queryKeys(s, { range: [{ column: 'score', gte: lo, lte: hi }] }), `range index k.score in [${lo}, ${hi}]`).toEqual(want);
  }
  // Unique: no two documents share an email, and each email finds exactly its document.
  const owners = new Map<string, string[]>();
  for (const [k, d] of all) if (typeof d.email === 'string') owners.set(d.email, [...(owners.get(d.email) ?? []), k]);
  for (const [email, ks] of owners) expect(ks, `unique index: ${email} held by several documents`).toHaveLength(1);
  for (const [email, ks] of [...owners].slice(0, 60))
    expect(await queryKeys(s, { predicates: [{ column: 'email', value: email }] })).toEqual(ks);
}

async function checkFulltext(s: StartedServer, docs: Map<string, Record<string, unknown>>): Promise<void> {
  const withText = [...docs].filter(([, d]) => typeof d.text === 'string');
  const r = await call(s, 'POST', '/search/fulltext', { table: 'k', column: 'text', query: 'common', limit: 1 });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.total, 'fulltext: documents with "common"').toBe(withText.length);
  // Every document is findable by its own token (the version makes it unique to this write).
  for (const [key, d] of withText) {
    const tok = (d.text as string).split(' ')[0]!;
    const h = await call(s, 'POST', '/search/fulltext', { table: 'k', column: 'text', query: tok, limit: 5, snippets: false });
    expect(
      (h.body.hits as { key: string }[]).map((x) => x.key),
      `fulltext token ${tok}`,
    ).toEqual([key]);
  }
}

async function checkVectors(s: StartedServer, docs: Map<string, Record<string, unknown>>): Promise<void> {
  const withEmb = [...docs].filter(([, d]) => Array.isArray(d.emb));
  const st = await call(s, 'GET', '/vector/index/stats?index=kv');
  expect(st.body.vectorCount, 'vector index size').toBe(withEmb.length);
  for (const [key, d] of withEmb) {
    // HNSW is approximate: a wide beam (all of a few hundred points) makes the exact match certain to be visited.
    const r = await call(s, 'POST', '/vector/search', { index: 'kv', vector: d.emb, k: 3, ef_search: 1000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const hits = r.body.results as { pk: string; distance: number }[];
    // Another document may hold the very same vector; then both are at distance 0.
    expect(hits.some((h) => `k:${h.pk}` === key) || hits[0]!.distance < 1e-9, `vector of ${key} not found: ${JSON.stringify(hits)}`).toBe(
      true,
    );
    expect(hits[0]!.distance, `nearest to ${key}'s own vector is not at distance 0: ${JSON.stringify(hits)}`).toBeLessThan(1e-9);
  }
}

async function checkGraph(s: StartedServer, state: WorkloadState): Promise<void> {
  const out = new Map<string, Set<string>>();
  for (const [key, k] of state.keys) {
    if (!key.startsWith('e:') || k.acked === null) continue;
    const e = JSON.parse(k.acked) as { _from: string; _to: string };
    if (!out.has(e._from)) out.set(e._from, new Set());
    out.get(e._from)!.add(e._to);
  }
  for (const [from, tos] of [...out].slice(0, 40)) {
    const r = await call(s, 'POST', '/graph/traverse', { start_vertex: from, max_depth: 1 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((r.body.visited as string[]).filter((v) => v !== from).sort(), `graph neighbours of ${from}`).toEqual(
      [...tos].filter((t) => t !== from).sort(),
    );
  }
}

/**
 * The feed is 1..last_seq without gaps, and replaying it gives every key's
 * stored value. Incremental: each check reads what was appended since the
 * last one (the log is append-only), so a long soak does not re-read it all.
 */
async function checkFeed(s: StartedServer, state: WorkloadState): Promise<number> {
  const last = state.feed.last;
  let from = state.feed.seq;
  let lastSeq = 0;
  for (;;) {
    const r = await call(s, 'GET', `/changefeed?from_seq=${from}&limit=1000`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const entries = r.body.entries as { seq: number; key: string; value: unknown }[];
    for (const e of entries) {
      expect(e.seq, `change feed gap after ${from}`).toBe(from + 1);
      from = e.seq;
      last.set(e.key, e.value === null ? null : JSON.stringify(e.value));
    }
    lastSeq = r.body.last_seq as number;
    if (entries.length === 0 || from >= lastSeq) break;
  }
  expect(from).toBe(lastSeq);
  state.feed.seq = from;
  for (const [key, k] of state.keys) {
    const fromFeed = last.get(key);
    const stored = k.acked === null ? null : JSON.stringify(JSON.parse(k.acked));
    if (fromFeed === undefined) expect(stored, `${key} is stored but absent from the change feed`).toBeNull();
    else expect(fromFeed, `change feed disagrees with ${key}`).toBe(stored);
  }
  return lastSeq;
}
