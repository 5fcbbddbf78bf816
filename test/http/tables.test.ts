/**
 * The table catalogue over HTTP (issue 20; docs/operations.md, "Table
 * management"): GET /tables and /tables/{name} with exact counts after
 * inserts, updates, deletes, rollbacks, drops, truncates, a restart and a
 * kill -9; drop and truncate with every derived structure consistent
 * afterwards and reads served meanwhile; permissions (admin, data:write,
 * table-scoped keys); the AQL side: COLLECTIONS(), COLLECTION_COUNT(),
 * LENGTH(collection) and 404 COLLECTION_NOT_FOUND for an unknown collection.
 */
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  type Body,
  call,
  expectError,
  ok,
  sleep,
  startServer,
  type StartedServer,
  tempDir,
  waitUntil,
} from '../helpers/server.js';

const bytes = (docs: unknown[]) => docs.reduce<number>((n, d) => n + Buffer.byteLength(JSON.stringify(d), 'utf8'), 0);
const aql = async (s: StartedServer, query: string, bind_vars?: Record<string, unknown>, headers?: Record<string, string>) =>
  call(s, 'POST', '/query/aql', { query, ...(bind_vars ? { bind_vars } : {}) }, headers);
const rows = async (s: StartedServer, query: string, bind_vars?: Record<string, unknown>, headers?: Record<string, string>) =>
  (await ok(aql(s, query, bind_vars, headers))).entities as unknown[];
const table = (s: StartedServer, name: string, headers?: Record<string, string>) => call(s, 'GET', `/tables/${name}`, undefined, headers);
/** Insert `n` documents `{i}` into `t` in batches of 1,000 (POST /transaction). */
async function fill(s: StartedServer, t: string, n: number, doc: (i: number) => Record<string, unknown> = (i) => ({ i })): Promise<void> {
  for (let from = 0; from < n; from += 1000) {
    const operations = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) operations.push({ op: 'put', key: `${t}:${i}`, blob: doc(i) });
    await ok(call(s, 'POST', '/transaction', { operations }));
  }
}
const as = (secret: string) => ({ authorization: `Bearer ${secret}` });
async function key(s: StartedServer, permissions: string[]): Promise<string> {
  return (await ok(call(s, 'POST', '/api/keys', { name: permissions.join(' '), permissions }), 201)).secret as string;
}

let s: StartedServer;

beforeAll(async () => {
  s = await startServer({ env: { THEMIS_DURABILITY: 'relaxed' } });
});

afterAll(async () => {
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

describe('GET /tables', () => {
  it('exact documents and bytes after inserts, updates, deletes, batches, AQL writes and a rolled-back transaction', async () => {
    const a = { name: 'Alice', city: 'Berlin' };
    const b = { name: 'Bob' };
    const c = { name: 'Carol', note: 'Größe ✓' };
    for (const [k, d] of [
      ['people:a', a],
      ['people:b', b],
      ['people:c', c],
    ] as const)
      await ok(call(s, 'PUT', `/entities/${k}`, { blob: d }), 201);
    expect(await ok(table(s, 'people'))).toMatchObject({
      name: 'people',
      system: false,
      state: 'ready',
      documents: 3,
      bytes: bytes([a, b, c]),
      progress: null,
    });
    // An update that grows a document, a delete, a delete of nothing.
    const b2 = { name: 'Bob', tags: ['x', 'y', 'z'] };
    await ok(call(s, 'PUT', '/entities/people:b', { blob: b2 }), 201);
    await ok(call(s, 'DELETE', '/entities/people:c'));
    await ok(call(s, 'DELETE', '/entities/people:nothing'));
    expect(await ok(table(s, 'people'))).toMatchObject({ documents: 2, bytes: bytes([a, b2]) });
    // A rolled-back transaction leaves nothing; a committed one counts.
    const t1 = (await ok(call(s, 'POST', '/transaction/begin', {}))).transaction_id as number;
    await ok(call(s, 'PUT', '/entities/people:d', { blob: { name: 'Dave' } }, { 'x-transaction-id': String(t1) }), 201);
    await ok(call(s, 'DELETE', '/entities/people:a', undefined, { 'x-transaction-id': String(t1) }));
    await ok(call(s, 'POST', '/transaction/rollback', { transaction_id: t1 }));
    expect(await ok(table(s, 'people'))).toMatchObject({ documents: 2, bytes: bytes([a, b2]) });
    // A batch, and AQL INSERT / REMOVE.
    await ok(
      call(s, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'people:e', blob: { name: 'Erin' } },
          { op: 'delete', key: 'people:a' },
        ],
      }),
    );
    await ok(aql(s, 'FOR i IN 1..3 INSERT {_key: CONCAT("q", i), n: i} INTO people'));
    await ok(aql(s, 'REMOVE "q2" IN people'));
    const want = [b2, { name: 'Erin' }, { n: 1 }, { n: 3 }];
    expect(await ok(table(s, 'people'))).toMatchObject({ documents: 4, bytes: bytes(want) });
    // The figures agree with the documents themselves.
    expect(await rows(s, 'FOR p IN people COLLECT WITH COUNT INTO n RETURN n')).toEqual([4]);
    expect(await rows(s, 'RETURN [LENGTH(people), COUNT(people), COLLECTION_COUNT("people"), COLLECTION_COUNT(people)]')).toEqual([
      [4, 4, 4, 4],
    ]);
  });

  it('a table exists from its first document, index, vector index or policy; lists name, flags and definitions; unknown is 404', async () => {
    await ok(call(s, 'POST', '/index/create', { table: 'only_index', column: 'x', type: 'range', unique: true }));
    await ok(call(s, 'POST', '/index/create', { table: 'only_index', column: 'body', type: 'fulltext' }));
    await ok(
      call(s, 'POST', '/vector/index/create', { name: 'only_vec_ix', table: 'only_vector', field: 'emb', metric: 'L2', dimension: 2 }),
      201,
    );
    await ok(call(s, 'PUT', '/pii/policy/only_pii', { fields: ['email'], action: 'pseudonymize' }));
    await ok(call(s, 'PUT', '/api/retention/only_retention', { retention_days: 30, timestamp_field: 'ts', auto_deletion: false }));
    const list = (await ok(call(s, 'GET', '/tables'))).tables as Body[];
    const names = list.map((t) => t.name as string);
    expect(names).toEqual([...names].sort());
    for (const n of ['only_index', 'only_vector', 'only_pii', 'only_retention', 'people', 'vectors']) expect(names, n).toContain(n);
    for (const t of list) expect(t.system, t.name as string).toBe((t.name as string).startsWith('_'));
    const ix = list.find((t) => t.name === 'only_index')!;
    expect(ix).toMatchObject({
      documents: 0,
      bytes: 0,
      indexes: [{ name: 'only_index.x', columns: ['x'], type: 'range', unique: true, sparse: false, state: 'ready', entries: 0 }],
      fulltext: [{ name: 'only_index.body', column: 'body', state: 'ready', documents: 0 }],
      vector_indexes: [],
      policies: { pii: false, retention: false },
    });
    expect(list.find((t) => t.name === 'only_vector')).toMatchObject({
      vector_indexes: [{ name: 'only_vec_ix', field: 'emb', dimension: 2, metric: 'L2', state: 'ready', vectors: 0 }],
    });
    expect(list.find((t) => t.name === 'only_pii')).toMatchObject({ policies: { pii: true, retention: false } });
    expect(list.find((t) => t.name === 'only_retention')).toMatchObject({ policies: { pii: false, retention: true } });
    // The same rows one by one.
    expect((await ok(table(s, 'only_pii'))).policies).toEqual({ pii: true, retention: false });
    expectError(await table(s, 'nope'), 404, 'TABLE_NOT_FOUND');
    expect((await table(s, 'nope')).body.table).toBe('nope');
    expectError(await table(s, 'bad%20name'), 400, 'VALIDATION_FAILED', 'name');
    // Tables that exist without documents are collections for AQL: an empty result, not a 404.
    for (const t of ['only_index', 'only_vector', 'only_pii', 'only_retention'])
      expect(await rows(s, `FOR x IN ${t} RETURN x`), t).toEqual([]);
  });

  it('counts survive a restart and a kill -9 during concurrent writes, exactly (durability sync)', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'sync' } });
    await fill(a, 'steady', 250, (i) => ({ i, pad: 'p'.repeat(i % 17) }));
    await ok(call(a, 'DELETE', '/entities/steady:7'));
    const steady = await ok(table(a, 'steady'));
    expect(steady.documents).toBe(249);
    expect(await a.stop()).toBe(0);
    const b = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'sync' } });
    expect({ ...(await ok(table(b, 'steady'))), disk_bytes: 0 }).toEqual({ ...steady, disk_bytes: 0 });
    // Concurrent puts and deletes, then kill -9 in the middle of them.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const send = (method: string, path: string, body?: string) =>
      new Promise<number>((resolve) => {
        const r = http.request(
          {
            host: '127.0.0.1',
            port: b.port,
            method,
            path,
            agent,
            headers: {
              authorization: `Bearer ${ADMIN_KEY}`,
              'content-type': 'application/json',
              ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', () => resolve(0));
          },
        );
        r.on('error', () => resolve(0));
        r.end(body);
      });
    let stop = false;
    let acked = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const st =
          i % 5 === 4
            ? await send('DELETE', `/entities/crash:${w}-${i - 2}`)
            : await send('PUT', `/entities/crash:${w}-${i}`, JSON.stringify({ blob: { w, i, pad: 'x'.repeat((w * 7 + i) % 60) } }));
        if (st === 0) return;
        if (st < 300) acked++;
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    await waitUntil(
      () => acked,
      (n) => n > 400,
    );
    await b.kill();
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    const c = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'sync' } });
    try {
      const crash = await ok(table(c, 'crash'));
      const texts = (await rows(c, 'FOR d IN crash RETURN d')) as string[];
      expect(crash.documents).toBe(texts.length);
      expect(crash.bytes).toBe(texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0));
      expect(crash.documents).toBeGreaterThan(100);
      expect({ ...(await ok(table(c, 'steady'))), disk_bytes: 0 }).toEqual({ ...steady, disk_bytes: 0 });
      // Nothing was counted again at start: the counts came from the commits' batches.
      expect(c.stderr()).not.toContain('table counts rebuilt');
    } finally {
      await c.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('DELETE /tables/{name}', () => {
  it('drops documents, indexes, fulltext and vector indexes, graph edges and policies; the change feed has one delete per document', async () => {
    await ok(call(s, 'POST', '/index/create', { table: 'dropme', column: 'email', unique: true }));
    await ok(call(s, 'POST', '/index/create', { table: 'dropme', column: 'text', type: 'fulltext' }));
    await ok(
      call(s, 'POST', '/vector/index/create', { name: 'dropme_vec', table: 'dropme', field: 'emb', metric: 'L2', dimension: 2 }),
      201,
    );
    await ok(call(s, 'PUT', '/api/retention/dropme', { retention_days: 30, timestamp_field: 'ts', auto_deletion: false }));
    await ok(call(s, 'PUT', '/pii/policy/dropme', { fields: ['secret'], action: 'detect' }));
    await fill(s, 'dropme', 120, (i) => ({ email: `u${i}@x`, text: `quick fox number ${i}`, emb: [i, i + 1] }));
    // Edges stored in the table: the graph adjacency must lose them.
    await ok(call(s, 'PUT', '/entities/dropme:e1', { blob: { _from: 'people:b', _to: 'people:e' } }), 201);
    const visited = async () =>
      (await ok(call(s, 'POST', '/graph/traverse', { start_vertex: 'people:b', max_depth: 1, edge_table: 'dropme' }))).visited;
    expect(await visited()).toEqual(['people:b', 'people:e']);
    const before = (await ok(call(s, 'GET', '/changefeed/stats'))).last_seq as number;
    const r = await ok(call(s, 'DELETE', '/tables/dropme?wait=true'));
    expect(r).toMatchObject({ table: 'dropme', operation: 'drop', state: 'done', deleted: 121, remaining: 0 });
    expect(typeof r.finished_at).toBe('string');
    expectError(await table(s, 'dropme'), 404, 'TABLE_NOT_FOUND');
    expect(((await ok(call(s, 'GET', '/tables'))).tables as Body[]).map((t) => t.name)).not.toContain('dropme');
    // Every derived structure and definition is gone.
    expect(((await ok(call(s, 'GET', '/index/stats'))).indexes as Body[]).filter((x) => x.table === 'dropme')).toEqual([]);
    expect(((await ok(call(s, 'GET', '/vector/indexes'))).indexes as Body[]).map((x) => x.objectName)).not.toContain('dropme_vec');
    expectError(await call(s, 'GET', '/pii/policy/dropme'), 404, 'NOT_FOUND');
    expect(((await ok(call(s, 'GET', '/api/retention'))).policies as Body[]).map((p) => p.collection)).not.toContain('dropme');
    expect(await visited()).toEqual(['people:b']);
    expectError(await call(s, 'POST', '/search/fulltext', { table: 'dropme', column: 'text', query: 'fox' }), 400, 'INDEX_NOT_FOUND');
    expectError(await aql(s, 'FOR d IN dropme RETURN d'), 404, 'COLLECTION_NOT_FOUND');
    // The change feed: one delete entry per document, with the document as `prev`.
    const feed = await ok(call(s, 'GET', `/changefeed?from_seq=${before}&limit=1000&key_prefix=dropme:`));
    const entries = feed.entries as Body[];
    expect(entries).toHaveLength(121);
    expect(entries.every((e) => e.op === 'delete' && e.value === null && e.prev !== null)).toBe(true);
    // The audit trail: one entry for the request, naming the table.
    const audit = await ok(call(s, 'GET', '/api/audit?action=DROP_TABLE&entity_id=dropme'));
    expect(audit.entries as Body[]).toEqual([
      expect.objectContaining({ action: 'DROP_TABLE', entityType: 'table', entityId: 'dropme', success: true, statusCode: 200 }),
    ]);
    // A new table of that name starts from nothing: no unique index any more.
    await ok(call(s, 'PUT', '/entities/dropme:1', { blob: { email: 'same@x' } }), 201);
    await ok(call(s, 'PUT', '/entities/dropme:2', { blob: { email: 'same@x' } }), 201);
    expect(await ok(table(s, 'dropme'))).toMatchObject({ documents: 2, indexes: [], fulltext: [], vector_indexes: [] });
    expect((await ok(call(s, 'DELETE', '/tables/dropme?wait=true'))).deleted).toBe(2);
  });

  it('runs in the background in bounded batches: 202 at once, progress in GET /tables/{name}, reads served meanwhile, writes into the table refused', async () => {
    const n = 20_000;
    await ok(call(s, 'POST', '/index/create', { table: 'bulk', column: 'i', type: 'range' }));
    await fill(s, 'bulk', n);
    await ok(call(s, 'PUT', '/entities/bystander:1', { blob: { still: 'here' } }), 201);
    const started = await ok(call(s, 'DELETE', '/tables/bulk'), 202);
    expect(started).toMatchObject({ table: 'bulk', operation: 'drop', state: 'running', finished_at: null });
    // Concurrent reads while the drop runs: every one answered, none fails; the table's own documents
    // dwindle (never more than before), and once it is gone a query on it is 404.
    let reads = 0;
    const failures: string[] = [];
    const counts: number[] = [];
    let running = true;
    const reader = (async () => {
      while (running) {
        const [e, h, c, scan] = await Promise.all([
          call(s, 'GET', '/entities/bystander:1'),
          call(s, 'GET', '/health'),
          aql(s, 'RETURN LENGTH(bulk)'),
          aql(s, 'FOR b IN bulk FILTER b.i >= 0 LIMIT 3 RETURN b.i'),
        ]);
        if (e.status === 200 && h.status === 200) reads++;
        else failures.push(`${e.status} ${h.status}`);
        for (const r of [c, scan]) {
          if (r.status === 200) continue;
          if (r.status !== 404 || r.body.code !== 'COLLECTION_NOT_FOUND') failures.push(JSON.stringify(r.body));
        }
        if (c.status === 200) counts.push((c.body.entities as number[])[0]!);
      }
    })();
    const seen: Body[] = [];
    let refusal: { status: number; body: Body } | undefined;
    for (;;) {
      const r = await table(s, 'bulk');
      if (r.status === 404) break;
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      seen.push(r.body);
      if (refusal === undefined && r.body.state === 'dropping') refusal = await call(s, 'PUT', '/entities/bulk:new', { blob: { i: -1 } });
      await sleep(5);
    }
    running = false;
    await reader;
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(counts.length).toBeGreaterThan(0);
    for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeLessThanOrEqual(counts[i - 1]!);
    expect(counts[0]!).toBeLessThanOrEqual(n);
    const dropping = seen.filter((b) => b.state === 'dropping');
    expect(dropping.length).toBeGreaterThan(0);
    for (const b of dropping) {
      const p = b.progress as Body;
      expect(p.operation).toBe('drop');
      // Exact throughout: what is deleted plus what remains is what there was.
      expect((p.deleted as number) + (p.remaining as number)).toBe(n);
      expect(b.documents).toBe(p.remaining);
    }
    expect(refusal, 'a write during the drop').toBeDefined();
    expectError(refusal!, 409, 'CONFLICT');
    expect(refusal!.body.table).toBe('bulk');
    expect((await ok(call(s, 'GET', '/entities/bystander:1'))).blob).toBe('{"still":"here"}');
    expectError(await call(s, 'GET', '/entities/bulk:0'), 404, 'NOT_FOUND');
  });

  it('a drop interrupted by kill -9 resumes at the next start and finishes', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'relaxed' } });
    await fill(a, 'killed', 20_000);
    await fill(a, 'other', 10);
    await ok(call(a, 'DELETE', '/tables/killed'), 202);
    await waitUntil(
      async () => ((await ok(table(a, 'killed'))).progress as Body | null)?.deleted as number | undefined,
      (d) => d !== undefined && d > 0,
      10_000,
      2,
    );
    await a.kill();
    const b = await startServer({ dataDir, env: { THEMIS_DURABILITY: 'relaxed', THEMIS_LOG_LEVEL: 'info' } });
    try {
      const mid = await table(b, 'killed');
      if (mid.status === 200) {
        expect(mid.body.state).toBe('dropping');
        expect(mid.body.documents).toBe((mid.body.progress as Body).remaining);
      }
      const last = await waitUntil(
        () => table(b, 'killed'),
        (r) => r.status === 404,
        20_000,
      );
      expectError(last, 404, 'TABLE_NOT_FOUND');
      expect((await ok(table(b, 'other'))).documents).toBe(10);
      expect(await rows(b, 'FOR o IN other COLLECT WITH COUNT INTO n RETURN n')).toEqual([10]);
      expect(b.stderr()).not.toContain('"level":"error"');
      expect(b.stderr()).toContain('resuming an interrupted table operation');
      expect(b.stderr()).toContain('table drop finished');
    } finally {
      await b.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('unknown tables are 404, system tables and invalid names 400', async () => {
    expectError(await call(s, 'DELETE', '/tables/never_was'), 404, 'TABLE_NOT_FOUND');
    expectError(await call(s, 'POST', '/tables/never_was/truncate'), 404, 'TABLE_NOT_FOUND');
    expectError(await call(s, 'DELETE', '/tables/a.b'), 400, 'VALIDATION_FAILED', 'name');
    // An imported content makes the system tables `_content` and `_chunks`; they are written only through the content API.
    await ok(call(s, 'POST', '/content/import', { content: { id: 'sys1' }, chunks: [{ seq_num: 0, text: 'hello' }] }));
    for (const t of ['_content', '_chunks']) {
      expect(await ok(table(s, t))).toMatchObject({ name: t, system: true, documents: 1 });
      expectError(await call(s, 'DELETE', `/tables/${t}`), 400, 'BAD_REQUEST');
      expectError(await call(s, 'POST', `/tables/${t}/truncate`), 400, 'BAD_REQUEST');
      expect((await ok(table(s, t))).documents).toBe(1);
    }
  });
});

describe('POST /tables/{name}/truncate', () => {
  it('removes every document, keeps the index, fulltext and vector definitions (maintained, empty) and policies', async () => {
    await ok(call(s, 'POST', '/index/create', { table: 'trunc', column: 'email', unique: true }));
    await ok(call(s, 'POST', '/index/create', { table: 'trunc', column: 'text', type: 'fulltext' }));
    await ok(call(s, 'POST', '/vector/index/create', { name: 'trunc_vec', table: 'trunc', field: 'emb', metric: 'L2', dimension: 2 }), 201);
    await ok(call(s, 'PUT', '/api/retention/trunc', { retention_days: 30, timestamp_field: 'ts', auto_deletion: false }));
    await fill(s, 'trunc', 1500, (i) => ({ email: `t${i}@x`, text: `brown fox ${i}`, emb: [i, 0] }));
    const r = await ok(call(s, 'POST', '/tables/trunc/truncate?wait=true'));
    expect(r).toMatchObject({ table: 'trunc', operation: 'truncate', state: 'done', deleted: 1500, remaining: 0 });
    expect(await ok(table(s, 'trunc'))).toMatchObject({
      state: 'ready',
      documents: 0,
      bytes: 0,
      indexes: [{ name: 'trunc.email', unique: true, entries: 0 }],
      fulltext: [{ name: 'trunc.text', documents: 0 }],
      vector_indexes: [{ name: 'trunc_vec', vectors: 0 }],
      policies: { pii: false, retention: true },
      progress: null,
    });
    const hits = await ok(call(s, 'POST', '/search/fulltext', { table: 'trunc', column: 'text', query: 'fox' }));
    expect(hits.total).toBe(0);
    expect(await rows(s, 'FOR t IN trunc RETURN t')).toEqual([]);
    // The definitions still work: the unique index refuses a duplicate, the vector index takes new vectors.
    await ok(call(s, 'PUT', '/entities/trunc:1', { blob: { email: 't1@x', text: 'fox', emb: [1, 1] } }), 201);
    expectError(await call(s, 'PUT', '/entities/trunc:2', { blob: { email: 't1@x' } }), 409, 'CONFLICT');
    const near = await ok(call(s, 'POST', '/vector/search', { index: 'trunc_vec', vector: [1, 1], k: 5 }));
    expect((near.results as Body[]).map((x) => x.pk)).toEqual(['1']);
    expect((await ok(call(s, 'POST', '/search/fulltext', { table: 'trunc', column: 'text', query: 'fox' }))).total).toBe(1);
  });
});

describe('permissions', () => {
  it('drop needs admin; truncate needs data:write on the table; a table-scoped key sees only its tables', async () => {
    await fill(s, 'scoped_a', 3);
    await fill(s, 'scoped_b', 2);
    const writerA = await key(s, ['data:read:scoped_a', 'data:write:scoped_a', 'query:execute']);
    const reader = await key(s, ['data:read', 'query:execute']);
    // Drop: admin only.
    expectError(await call(s, 'DELETE', '/tables/scoped_a', undefined, as(writerA)), 403, 'FORBIDDEN');
    expectError(await call(s, 'DELETE', '/tables/scoped_a', undefined, as(reader)), 403, 'FORBIDDEN');
    // Truncate: data:write on that table.
    expectError(await call(s, 'POST', '/tables/scoped_a/truncate', undefined, as(reader)), 403, 'FORBIDDEN');
    const other = await call(s, 'POST', '/tables/scoped_b/truncate', undefined, as(writerA));
    expectError(other, 403, 'FORBIDDEN');
    expect(other.body.table).toBe('scoped_b');
    expect((await ok(table(s, 'scoped_b'))).documents).toBe(2);
    // The list: only readable tables; another table is 403 whether or not it exists (no existence oracle).
    const mine = ((await ok(call(s, 'GET', '/tables', undefined, as(writerA)))).tables as Body[]).map((t) => t.name);
    expect(mine).toEqual(['scoped_a']);
    expectError(await table(s, 'scoped_b', as(writerA)), 403, 'FORBIDDEN');
    expectError(await table(s, 'no_such_table', as(writerA)), 403, 'FORBIDDEN');
    expect((await ok(table(s, 'scoped_a', as(writerA)))).documents).toBe(3);
    // AQL: COLLECTIONS() lists what the key may read; another collection is 403, an unknown one too.
    expect(await rows(s, 'RETURN COLLECTIONS()', undefined, as(writerA))).toEqual([[{ _id: 'scoped_a', name: 'scoped_a' }]]);
    expectError(await aql(s, 'RETURN COLLECTION_COUNT("scoped_b")', undefined, as(writerA)), 403, 'FORBIDDEN');
    expectError(await aql(s, 'FOR x IN no_such_table RETURN x', undefined, as(writerA)), 403, 'FORBIDDEN');
    expect(await rows(s, 'RETURN LENGTH(scoped_a)', undefined, as(writerA))).toEqual([3]);
    const done = await ok(call(s, 'POST', '/tables/scoped_a/truncate?wait=true', undefined, as(writerA)));
    expect(done).toMatchObject({ operation: 'truncate', state: 'done', deleted: 3 });
    // Nothing but documents named it: truncated, it no longer exists.
    expectError(await table(s, 'scoped_a'), 404, 'TABLE_NOT_FOUND');
    expectError(await aql(s, 'RETURN LENGTH(scoped_a)', undefined, as(writerA)), 404, 'COLLECTION_NOT_FOUND');
  });
});

describe('AQL', () => {
  it('FOR over an unknown collection is 404 COLLECTION_NOT_FOUND (also in subqueries, traversals and @@binds); explain too', async () => {
    await ok(call(s, 'PUT', '/entities/known:1', { blob: { x: 1 } }), 201);
    for (const [q, bind] of [
      ['FOR x IN knwon RETURN x', undefined],
      ['FOR k IN known LET n = (FOR y IN missing_b RETURN y) RETURN n', undefined],
      ['FOR v IN 1..2 OUTBOUND "known:1" missing_edges RETURN v', undefined],
      ['FOR x IN @@c RETURN x', { '@c': 'missing_c' }],
    ] as const) {
      const r = await aql(s, q, bind);
      expectError(r, 404, 'COLLECTION_NOT_FOUND');
      expect(r.body.message as string).toMatch(/^collection or view not found: (knwon|missing_b|missing_edges|missing_c)/);
    }
    const ex = await call(s, 'POST', '/query/aql', { query: 'FOR x IN knwon RETURN x', explain: true });
    expectError(ex, 404, 'COLLECTION_NOT_FOUND');
    expect(ex.body.collection).toBe('knwon');
    // Writing a new collection needs no existing one.
    expect(await rows(s, 'INSERT {a: 1} INTO brand_new RETURN NEW.a')).toEqual([1]);
    expect(await rows(s, 'FOR b IN brand_new RETURN b.a')).toEqual([1]);
  });

  it('a collection its transaction has written exists for the transaction before the commit', async () => {
    const t = (await ok(call(s, 'POST', '/transaction/begin', {}))).transaction_id as number;
    const h = { 'x-transaction-id': String(t) };
    await ok(call(s, 'PUT', '/entities/txn_only:1', { blob: { v: 1 } }, h), 201);
    expect(await rows(s, 'FOR x IN txn_only RETURN x.v', undefined, h)).toEqual([1]);
    expect(await rows(s, 'RETURN COLLECTION_COUNT("txn_only")', undefined, h)).toEqual([0]); // the committed count
    expectError(await aql(s, 'FOR x IN txn_only RETURN x'), 404, 'COLLECTION_NOT_FOUND');
    await ok(call(s, 'POST', '/transaction/rollback', { transaction_id: t }));
    expectError(await aql(s, 'FOR x IN txn_only RETURN x'), 404, 'COLLECTION_NOT_FOUND');
  });

  it('COLLECTIONS(), COLLECTION_COUNT() and LENGTH(collection)', async () => {
    await fill(s, 'counted', 7);
    const all = (await rows(s, 'RETURN COLLECTIONS()'))[0] as Body[];
    expect(all).toContainEqual({ _id: 'counted', name: 'counted' });
    expect(all.map((c) => c.name)).toEqual([...all.map((c) => c.name)].sort());
    expect(all.every((c) => c._id === c.name)).toBe(true);
    expect(await rows(s, 'RETURN [COLLECTION_COUNT("counted"), COLLECTION_COUNT(counted), LENGTH(counted), COUNT(counted)]')).toEqual([
      [7, 7, 7, 7],
    ]);
    expect(await rows(s, 'RETURN LENGTH(@@c)', { '@c': 'counted' })).toEqual([7]);
    // A variable of that name is a value, not the collection.
    expect(await rows(s, 'LET counted = [1, 2] RETURN LENGTH(counted)')).toEqual([2]);
    expect(await rows(s, 'FOR c IN COLLECTIONS() FILTER c.name == "counted" RETURN COLLECTION_COUNT(c.name)')).toEqual([7]);
    expectError(await aql(s, 'RETURN COLLECTION_COUNT("nope_count")'), 404, 'COLLECTION_NOT_FOUND');
    expectError(await aql(s, 'RETURN LENGTH(nope_count)'), 404, 'COLLECTION_NOT_FOUND');
    expectError(await aql(s, 'RETURN COLLECTION_COUNT(1)'), 400, 'VALIDATION_FAILED');
    expectError(await aql(s, 'RETURN COLLECTIONS(1)'), 400, 'VALIDATION_FAILED');
    expectError(await aql(s, 'RETURN COLLECTION_COUNT()'), 400, 'VALIDATION_FAILED');
  });
});
