import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { postOk, runBatches } from '../lib/batches.js';
import { HttpConnection } from '../lib/http-client.js';
import { nodeLoadResult, type LoadResult } from '../lib/load.js';
import { applyBaselines } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3 } from '../lib/stats.js';
import type { Area, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, prng, tempDir } from '../lib/util.js';
import { HierarchicalNSW } from '../lib/hnsw.js';

// hnswlib-node in process: the ceiling the HTTP semantic lookup is compared with (the server's HnswIndex loads it the same way).

/**
 * Area `cache` (issue 19, "Benchmark"; bench/README.md):
 *
 * 1. Put rate: N entries (BENCH_CACHE_N, default 100,000) with DIM-d
 *    embeddings (BENCH_CACHE_DIM, 384), durable `POST /cache/put`,
 *    BENCH_CACHE_PUT_CONNECTIONS (16) in flight.
 * 2. Semantic lookup: `POST /cache/query {embedding}` (top_k 1) of noisy
 *    copies of stored embeddings over BENCH_CONNECTIONS (capped at 32)
 *    keep-alive connections, q/s and p99, vs the same search (hnswlib-node,
 *    same M / efConstruction / ef, k 1) in process, sequentially (ratio).
 *    With a metadata filter of 1/10 (tenant) and of 1/200 (user) of the
 *    entries, vs hnswlib-node searching with a filter callback of the same
 *    selectivity. Every entry carries a TTL (a day), as in a real cache.
 * 3. Exact lookup: `POST /cache/query {key}` vs `GET /entities/{key}` of
 *    the same number of documents (ratio), same connections.
 */

const M = 16;
const EF_CONSTRUCTION = 200;
const EF = 64;

function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => Math.round((x / n) * 1e4) / 1e4);
}

/** Closed-loop load: `conns` connections each sending `next(i)` one after another for `seconds`. */
async function closedLoop(
  srv: ThemisServer,
  conns: number,
  seconds: number,
  next: (i: number) => { method: string; path: string; body?: string },
): Promise<LoadResult> {
  const headers = `Authorization: ${AUTH_HEADER}\r\nContent-Type: application/json\r\n`;
  const connections = await Promise.all(Array.from({ length: conns }, () => HttpConnection.open('127.0.0.1', srv.port)));
  const lat: number[] = [];
  let non2xx = 0;
  let i = 0;
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(
    connections.map(async (c) => {
      while (performance.now() < stopAt) {
        const r = next(i++);
        const s = performance.now();
        const reply = await c.request(r.method, r.path, headers, r.body);
        lat.push(performance.now() - s);
        if (reply.status !== 200) non2xx++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  for (const c of connections) c.close();
  return nodeLoadResult({
    latencies: lat,
    durationS: secs,
    non2xx,
    toolVersion: 'node HttpConnection',
    raw: `${lat.length} requests over ${conns} keep-alive connections in ${secs.toFixed(2)} s`,
  });
}

function inProcess(seconds: number, n: number, one: (i: number) => void): LoadResult {
  const lat: number[] = [];
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  let now = t0;
  for (let i = 0; now < stopAt; i = (i + 1) % n) {
    const s = now;
    one(i);
    now = performance.now();
    lat.push(now - s);
  }
  const secs = (now - t0) / 1000;
  return nodeLoadResult({
    latencies: lat,
    durationS: secs,
    toolVersion: 'hnswlib-node',
    raw: `${lat.length} searches in ${secs.toFixed(2)} s, one thread`,
  });
}

function scenario(
  name: string,
  description: string,
  server: string,
  method: string,
  path: string,
  load: LoadResult,
  baseline?: string,
): ScenarioResult {
  const problems: string[] = [];
  if (load.requests === 0) problems.push('no requests completed');
  if (load.non2xx > 0) problems.push(`${load.non2xx} non-2xx replies`);
  return {
    name,
    description,
    server,
    method,
    path,
    load,
    valid: problems.length === 0,
    problems,
    warnings: [],
    ...(baseline ? { baseline } : {}),
  };
}

export const cacheArea: Area = {
  name: 'cache',
  description:
    'Semantic cache: durable put rate of 100k × 384-d entries, semantic lookup q/s and p99 over HTTP vs hnswlib-node in process, exact-key lookup vs GET /entities',
  async run(ctx) {
    const N = Math.round(envNumber('BENCH_CACHE_N', 100_000));
    const DIM = Math.round(envNumber('BENCH_CACHE_DIM', 384));
    const putConns = Math.round(envNumber('BENCH_CACHE_PUT_CONNECTIONS', 16));
    const conns = Math.min(ctx.settings.connections, 32);
    const seconds = ctx.settings.durationS;
    const rand = prng(0x5eed_0019);
    const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
    log(`cache: generating ${N} × ${DIM}-d embeddings`);
    const data: number[][] = Array.from({ length: N }, () => unit(Array.from({ length: DIM }, gauss)));
    const queries: number[][] = Array.from({ length: 1000 }, (_, q) =>
      unit(data[(q * 7919) % N]!.map((x) => x + (0.05 * gauss()) / Math.sqrt(DIM))),
    );
    const dataDir = tempDir('themis-bench-cache-');
    const env = { THEMIS_CACHE_THRESHOLD: '0.9' };
    const srv = await startThemis({ durability: 'sync', dataDir, env });
    const scenarios: ScenarioResult[] = [];
    const tables: ReportTable[] = [];
    try {
      log(`cache: putting ${N} entries, ${putConns} in flight (durable)`);
      const put = await runBatches(N, 1, putConns, async (b) => {
        await postOk(
          srv,
          '/cache/put',
          JSON.stringify({
            key: `k${b}`,
            value: { answer: `answer ${b}` },
            embedding: data[b],
            ttl_sec: 86_400,
            metadata: { tenant: `t${b % 10}`, user: `u${b % 200}` },
          }),
          `put ${b}`,
        );
      });
      log(`cache: put ${put.perS.toFixed(0)} entries/s (p99 ${put.batchP99Ms.toFixed(1)} ms)`);

      log('cache: building the same graph in process (hnswlib-node)');
      const h = new HierarchicalNSW('cosine', DIM);
      h.initIndex({ maxElements: N, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100, allowReplaceDeleted: true });
      const b0 = performance.now();
      for (let i = 0; i < N; i++) h.addPoint(data[i]!, i);
      const buildS = (performance.now() - b0) / 1000;
      h.setEf(EF);

      const inproc = inProcess(seconds, queries.length, (i) => h.searchKnn(queries[i]!, 1));
      // hnswlib's own filtered search: the filter is a callback inside the walk (labels are the entry numbers).
      const inprocFiltered = inProcess(seconds, queries.length, (i) => h.searchKnn(queries[i]!, 1, (l) => l % 10 === 3));
      const inprocNarrow = inProcess(seconds, queries.length, (i) => h.searchKnn(queries[i]!, 1, (l) => l % 200 === 17));
      scenarios.push(
        scenario(
          'hnswlib-in-process',
          'the same k=1 search on hnswlib-node in this process (the ceiling)',
          'hnswlib-node',
          '-',
          '-',
          inproc,
        ),
        scenario(
          'hnswlib-in-process-filtered',
          'the same search with a filter callback accepting 1/10 of the points (tenant)',
          'hnswlib-node',
          '-',
          '-',
          inprocFiltered,
        ),
        scenario(
          'hnswlib-in-process-narrow',
          'the same search with a filter callback accepting 1/200 of the points (user)',
          'hnswlib-node',
          '-',
          '-',
          inprocNarrow,
        ),
      );
      const semantic = await closedLoop(srv, conns, seconds, (i) => ({
        method: 'POST',
        path: '/cache/query',
        body: JSON.stringify({ embedding: queries[i % queries.length] }),
      }));
      scenarios.push(
        scenario(
          'cache-semantic',
          `POST /cache/query {embedding} top_k 1, ${conns} connections`,
          'themis (sync)',
          'POST',
          '/cache/query',
          semantic,
          'hnswlib-in-process',
        ),
      );
      const filtered = await closedLoop(srv, conns, seconds, (i) => ({
        method: 'POST',
        path: '/cache/query',
        body: JSON.stringify({ embedding: queries[i % queries.length], filter: { tenant: 't3' } }),
      }));
      scenarios.push(
        scenario(
          'cache-semantic-filtered',
          `the same with filter {tenant} (1/10 of entries), ${conns} connections`,
          'themis (sync)',
          'POST',
          '/cache/query',
          filtered,
          'hnswlib-in-process-filtered',
        ),
      );
      const narrow = await closedLoop(srv, conns, seconds, (i) => ({
        method: 'POST',
        path: '/cache/query',
        body: JSON.stringify({ embedding: queries[i % queries.length], filter: { user: 'u17' } }),
      }));
      scenarios.push(
        scenario(
          'cache-semantic-narrow',
          `the same with filter {user} (1/200 of entries), ${conns} connections`,
          'themis (sync)',
          'POST',
          '/cache/query',
          narrow,
          'hnswlib-in-process-narrow',
        ),
      );

      log(`cache: loading ${N} documents for the GET /entities peer`);
      await runBatches(N, 500, 4, async (b) => {
        const ops = [];
        for (let n = b * 500; n < Math.min(N, (b + 1) * 500); n++)
          ops.push({ op: 'put', key: `kv:k${n}`, blob: { answer: `answer ${n}` } });
        await postOk(srv, '/transaction', JSON.stringify({ operations: ops }), `entities ${b}`);
      });
      const entities = await closedLoop(srv, conns, seconds, (i) => ({ method: 'GET', path: `/entities/kv:k${(i * 7919) % N}` }));
      scenarios.push(
        scenario(
          'entities-get',
          `GET /entities/{key}, ${conns} connections (the peer)`,
          'themis (sync)',
          'GET',
          '/entities/:key',
          entities,
        ),
      );
      const exact = await closedLoop(srv, conns, seconds, (i) => ({
        method: 'POST',
        path: '/cache/query',
        body: JSON.stringify({ key: `k${(i * 7919) % N}` }),
      }));
      scenarios.push(
        scenario(
          'cache-exact',
          `POST /cache/query {key}, ${conns} connections`,
          'themis (sync)',
          'POST',
          '/cache/query',
          exact,
          'entities-get',
        ),
      );
      const stats = (await (await srv.req('GET', '/cache/stats')).json()) as Record<string, unknown>;
      tables.push({
        title: 'Semantic cache',
        columns: ['measure', 'value'],
        rows: [
          ['entries', String(stats.entries)],
          ['durable puts/s', String(Math.round(put.perS))],
          ['put p99 (ms)', String(r3(put.batchP99Ms))],
          ['semantic lookup hit ratio (noisy copies, threshold 0.9)', String(r3(Number(stats.hit_ratio_1h)))],
          ['hnswlib build in process (s)', String(r3(buildS))],
          ...Object.entries(stats.searches as Record<string, number>).map(([path, n]) => [`searches answered by ${path}`, String(n)]),
        ],
      });
      // A restart with every entry: the HNSW graphs come from the checkpoints written at shutdown, reconciled with the entries.
      await srv.stop();
      log(`cache: restarting with ${N} entries`);
      const again = await startThemis({ durability: 'sync', dataDir, env, readyTimeoutMs: 900_000 });
      const after = (await (await again.req('GET', '/cache/stats')).json()) as Record<string, unknown>;
      await again.stop();
      tables[tables.length - 1]!.rows.push(
        ['start with an empty data directory (s)', String(r3(srv.readyMs / 1000))],
        [`restart with ${N} entries (graphs from their checkpoints, reconciled) (s)`, String(r3(again.readyMs / 1000))],
        ['entries after the restart', String(after.entries)],
      );
    } finally {
      await srv.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    applyBaselines(scenarios);
    return {
      title: `Semantic cache: ${N} × ${DIM}-d`,
      tool: 'node',
      scenarios,
      notes: [
        `ef ${EF}, M ${M}, efConstruction ${EF_CONSTRUCTION} (the server's defaults); in-process search is sequential on one thread, HTTP over ${conns} connections.`,
        'Every entry is put with ttl_sec 86400 (as a cache would), so every search also checks expiry; metadata {tenant: 1 of 10, user: 1 of 200}.',
        'The unfiltered lookup is compared with hnswlib unfiltered, the filtered ones with hnswlib searching with a filter callback of the same selectivity.',
      ],
      tables,
    };
  },
};
