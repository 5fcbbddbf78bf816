import { performance } from 'node:perf_hooks';
import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { postOk, runBatches, type LoadStats } from '../lib/batches.js';
import { cpuSeconds, foreignCores, snapshot, threadCpuSeconds } from '../lib/contention.js';
import { pinDriver } from '../lib/flows.js';
import { gcFunction, pkgVersion, rssOf, waitIdle } from '../lib/process-info.js';
import { HttpConnection } from '../lib/http-client.js';
import { detectTool, sequentialLoad } from '../lib/load.js';
import { applyBaselines, runScenario } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3, summarize, type Summary } from '../lib/stats.js';
import type { Area, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, prng, shortPhases, sleep } from '../lib/util.js';
import { HierarchicalNSW } from '../lib/hnsw.js';

/** The server's default index (GET /vector/index/config must report these; the in-process ceiling uses the same). */
const INDEX = 'vector_index';
const TABLE = 'vectors';
/** The server's HnswIndex seeds hnswlib's level generator with 100. */
const HNSW_SEED = 100;
/** Gaussian clusters of the data set; centres ~ N(0, 1)^d, points = centre + SPREAD · N(0, 1)^d. */
const CLUSTERS = 100;
const SPREAD = 1.0;
const DATA_SEED = 0x5eed_0006;
/** Coordinates are rounded to this many decimals: compact JSON, and the server and hnswlib get the identical numbers. */
const DECIMALS = 4;
/** Filter groups: pk `g<n % GROUPS>-<n>`; the filtered searches accept one group (1 / GROUPS of the points). */
const GROUPS = 10;
/** efSearch values tried for recall@10; the smallest reaching TARGET_RECALL over HTTP is used for the throughput runs. */
const EF_SWEEP = [16, 32, 64, 128, 256];
const TARGET_RECALL = 0.95;
/** Goal of the issue: HTTP queries/s ≥ 70 % of hnswlib in process. */
const TARGET_RATIO = 0.7;
/** The reference implementation's claim for k = 10. */
const REFERENCE_QPS = 1_800;
const K = 10;
const K_LARGE = 100;
/** POST /vector/batch_insert and POST /transaction requests in flight while loading. */
const LOAD_CONCURRENCY = 4;
const DURABILITY = 'sync' as const;

const JSON_LINE = 'Content-Type: application/json\r\n';
const AUTH_LINE = `Authorization: ${AUTH_HEADER}\r\n`;

const pkOf = (n: number) => `g${n % GROUPS}-${n}`;
const labelOfPk = (pk: string) => Number(pk.slice(pk.indexOf('-') + 1));
const groupOfQuery = (q: number) => q % GROUPS;

// ------------------------------------------------------------------ data

interface DataSet {
  dim: number;
  /** The vectors exactly as sent (rounded to DECIMALS); index n = hnswlib label n = pk `g<n%10>-<n>`. */
  data: number[][];
  queries: number[][];
  /** Unit-length copies of `data` (row-major, float32) for the exact search. */
  unit: Float32Array;
}

/** Standard normal samples (Box–Muller over mulberry32). */
function gaussian(rnd: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = rnd();
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * rnd();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

function generate(n: number, nQueries: number, dim: number): DataSet {
  const rnd = prng(DATA_SEED);
  const g = gaussian(rnd);
  const centres: Float64Array[] = [];
  for (let c = 0; c < CLUSTERS; c++) centres.push(Float64Array.from({ length: dim }, g));
  const scale = 10 ** DECIMALS;
  const draw = (count: number): number[][] => {
    const out: number[][] = [];
    for (let j = 0; j < count; j++) {
      const c = centres[Math.floor(rnd() * CLUSTERS)]!;
      const v = new Array<number>(dim);
      for (let i = 0; i < dim; i++) v[i] = Math.round((c[i]! + SPREAD * g()) * scale) / scale;
      out.push(v);
    }
    return out;
  };
  const data = draw(n);
  const queries = draw(nQueries); // same distribution, drawn after the data: not in the data set
  const unit = new Float32Array(n * dim);
  for (let j = 0; j < n; j++) {
    const v = data[j]!;
    let s = 0;
    for (let i = 0; i < dim; i++) s += v[i]! * v[i]!;
    s = Math.sqrt(s);
    for (let i = 0; i < dim; i++) unit[j * dim + i] = v[i]! / s;
  }
  return { dim, data, queries, unit };
}

// ------------------------------------------------------------------ exact search (ground truth)

interface Truth {
  /** Exact top K_LARGE labels by cosine (nearest first); the first K are the top K. */
  top: Int32Array[];
  /** Exact top K among the labels of the query's filter group. */
  topFiltered: Int32Array[];
  ms: number;
}

/** Insert (sim, label) into a descending top list of fixed length (sims / labels). */
function offer(sims: Float64Array, labels: Int32Array, sim: number, label: number): void {
  let k = sims.length - 1;
  if (!(sim > sims[k]!)) return;
  while (k > 0 && sims[k - 1]! < sim) {
    sims[k] = sims[k - 1]!;
    labels[k] = labels[k - 1]!;
    k--;
  }
  sims[k] = sim;
  labels[k] = label;
}

/**
 * Brute force: cosine of each query with every data vector (float32 unit
 * vectors, one tight loop), keeping the top K_LARGE overall and the top K of
 * the query's filter group.
 */
function exactSearch(ds: DataSet, count: number): Truth {
  const { dim, unit } = ds;
  const n = unit.length / dim;
  const t0 = performance.now();
  const top: Int32Array[] = [];
  const topFiltered: Int32Array[] = [];
  const q = new Float32Array(dim);
  const dim4 = dim - (dim % 4);
  for (let qi = 0; qi < count; qi++) {
    const v = ds.queries[qi]!;
    let s = 0;
    for (let i = 0; i < dim; i++) s += v[i]! * v[i]!;
    s = Math.sqrt(s);
    for (let i = 0; i < dim; i++) q[i] = v[i]! / s;
    const sims = new Float64Array(K_LARGE).fill(-Infinity);
    const labels = new Int32Array(K_LARGE).fill(-1);
    const fSims = new Float64Array(K).fill(-Infinity);
    const fLabels = new Int32Array(K).fill(-1);
    const group = groupOfQuery(qi);
    for (let j = 0, o = 0; j < n; j++, o += dim) {
      let d = 0;
      let i = 0;
      for (; i < dim4; i += 4)
        d += q[i]! * unit[o + i]! + q[i + 1]! * unit[o + i + 1]! + q[i + 2]! * unit[o + i + 2]! + q[i + 3]! * unit[o + i + 3]!;
      for (; i < dim; i++) d += q[i]! * unit[o + i]!;
      if (d > sims[K_LARGE - 1]!) offer(sims, labels, d, j);
      if (j % GROUPS === group && d > fSims[K - 1]!) offer(fSims, fLabels, d, j);
    }
    top.push(labels);
    topFiltered.push(fLabels);
  }
  return { top, topFiltered, ms: performance.now() - t0 };
}

/** |answer ∩ exact top-k| ÷ k. */
function recallOf(answer: readonly number[], exact: Int32Array, k: number): number {
  const s = new Set<number>();
  for (let i = 0; i < k; i++) s.add(exact[i]!);
  let hit = 0;
  for (const l of answer.slice(0, k)) if (s.has(l)) hit++;
  return hit / k;
}

// ------------------------------------------------------------------ passes

/** One sequential pass over the ground-truth queries: mean recall and per-query latency (ms). */
interface Pass {
  label: string;
  recall: number;
  lat: Summary;
  /** Labels answered per query (for the HTTP/in-process overlap). */
  answers: number[][];
  otherCpuCores?: number;
}

type Search = (qi: number) => number[] | Promise<number[]>;

async function pass(label: string, count: number, k: number, exact: (qi: number) => Int32Array, search: Search): Promise<Pass> {
  const lat: number[] = [];
  const answers: number[][] = [];
  let recall = 0;
  const snap0 = snapshot();
  for (let qi = 0; qi < count; qi++) {
    const s = performance.now();
    const a = await search(qi);
    lat.push(performance.now() - s);
    if (a.length !== k) throw new Error(`vector: ${label}: query ${qi} returned ${a.length} hits, wanted ${k}`);
    answers.push(a);
    recall += recallOf(a, exact(qi), k);
  }
  const p: Pass = { label, recall: recall / count, lat: summarize(lat), answers };
  const oc = foreignCores(snap0, snapshot());
  if (oc !== undefined) p.otherCpuCores = oc;
  log(`vector: ${label}: recall@${k} ${p.recall.toFixed(4)}, p50 ${p.lat.p50.toFixed(3)} ms, p99 ${p.lat.p99.toFixed(3)} ms`);
  return p;
}

/** Mean |a ∩ b| ÷ k over the queries (how alike two engines' answers are). */
function meanOverlap(a: Pass, b: Pass, k: number): number {
  let sum = 0;
  a.answers.forEach((x, i) => {
    const s = new Set(x);
    sum += b.answers[i]!.filter((l) => s.has(l)).length / k;
  });
  return sum / a.answers.length;
}

// ------------------------------------------------------------------ helpers

interface HttpBuild extends LoadStats {
  serverCores?: number;
  mainThreadCores?: number;
}

// ------------------------------------------------------------------ area

/**
 * HNSW vector search (issue: "100,000 × 128-d clustered vectors; build time;
 * search QPS and p99 over HTTP at recall@10 ≥ 0.95, and in the same run the
 * same queries against hnswlib-node in process (the ceiling)"). Build over
 * HTTP (POST /vector/batch_insert) and in process; recall@10 against exact
 * brute force for an efSearch sweep; the smallest ef reaching 0.95 is set on
 * the server and in process; q/s and latency for k = 10, k = 100 and a 10 %
 * prefix filter, HTTP (wrk) vs in process vs the bare uWS round trip.
 */
export const vectorArea: Area = {
  name: 'vector',
  description:
    'HNSW k-NN over 100k × 128-d clustered vectors: build vectors/s (HTTP batch_insert vs hnswlib-node in process), recall@10 vs efSearch against exact search, q/s and p99 for k=10/k=100/filtered over HTTP vs hnswlib-node in process (ratio, goal ≥ 0.7) and bare uWS',
  async run({ settings }) {
    const N = Math.round(envNumber('BENCH_VECTOR_N', 100_000));
    const DIM = Math.round(envNumber('BENCH_VECTOR_DIM', 128));
    const Q = Math.round(envNumber('BENCH_VECTOR_QUERIES', 1_000));
    const G = Math.min(Q, Math.round(envNumber('BENCH_VECTOR_GT_QUERIES', Q)));
    const BATCH = Math.min(10_000, Math.round(envNumber('BENCH_VECTOR_BATCH', 1_000)));
    const CONNECTIONS = Math.round(envNumber('BENCH_VECTOR_CONNECTIONS', 16));
    if (N < K_LARGE * GROUPS) throw new Error(`BENCH_VECTOR_N must be at least ${K_LARGE * GROUPS}`);
    const tool = detectTool();
    const gc = gcFunction();
    pinDriver();
    const { wrkDurationS, wrkWarmupS, memDurationS, memWarmupS } = shortPhases(settings);
    const results: ScenarioResult[] = [];
    const notes: string[] = [];
    const runStart = performance.now();

    // ------------------------------------------------ data and ground truth
    let t0 = performance.now();
    const ds = generate(N, Q, DIM);
    const genMs = performance.now() - t0;
    log(`vector: ${N} × ${DIM}-d vectors in ${CLUSTERS} clusters + ${Q} queries generated in ${(genMs / 1000).toFixed(1)} s`);
    const truth = exactSearch(ds, G);
    log(`vector: exact top-${K_LARGE} (and filtered top-${K}) for ${G} queries by brute force in ${(truth.ms / 1000).toFixed(1)} s`);
    const exact = (qi: number) => truth.top[qi]!;
    const exactFiltered = (qi: number) => truth.topFiltered[qi]!;
    const bodyOf = (qi: number, k: number, o: { ef?: number; filtered?: boolean } = {}) =>
      JSON.stringify({
        vector: ds.queries[qi],
        k,
        ...(o.filtered ? { filter: { prefix: `g${groupOfQuery(qi)}-` } } : {}),
        ...(o.ef !== undefined ? { ef_search: o.ef } : {}),
      });
    const filteredOk = (qi: number, labels: number[]) => labels.every((l) => l % GROUPS === groupOfQuery(qi));

    // ------------------------------------------------ HTTP: build, recall sweep, throughput
    let server: ThemisServer | undefined;
    let bare: BareUws | undefined;
    let conn: HttpConnection | undefined;
    let plainLoad: LoadStats | undefined;
    let httpBuild: HttpBuild | undefined;
    let config: { M: number; efConstruction: number; efSearch: number; metric: string } | undefined;
    let statsAfter: Record<string, unknown> | undefined;
    const serverRss: { start?: number; afterPlain?: number; afterBuild?: number; afterQueries?: number } = {};
    const httpSweep = new Map<number, Pass>();
    const httpSel: { k10?: Pass; k100?: Pass; filtered?: Pass } = {};
    let ef = EF_SWEEP[EF_SWEEP.length - 1]!;
    let efReached = false;
    let bareReplyBytes = 0;
    const idleWaits: number[] = [];
    try {
      server = await startThemis({ durability: DURABILITY });
      const srv = server;
      serverRss.start = rssOf(srv.proc.pid);
      config = JSON.parse(await (await srv.req('GET', `/vector/index/config?index=${INDEX}`)).text()) as typeof config;
      if (!config || typeof config.M !== 'number' || typeof config.efConstruction !== 'number')
        throw new Error(`vector: GET /vector/index/config: ${JSON.stringify(config)}`);
      log(`vector: server index ${INDEX}: ${JSON.stringify(config)}`);

      // The same documents written without a vector index: the write path's share of the build.
      log(
        `vector: loading ${N} documents {"embedding": [...]} into table plain (no vector index), ${BATCH}/POST /transaction, ${LOAD_CONCURRENCY} in flight`,
      );
      plainLoad = await runBatches(N, BATCH, LOAD_CONCURRENCY, async (b) => {
        const ops = [];
        for (let n = b * BATCH; n < Math.min(N, (b + 1) * BATCH); n++)
          ops.push({ op: 'put', key: `plain:${pkOf(n)}`, blob: { embedding: ds.data[n] } });
        await postOk(srv, '/transaction', JSON.stringify({ operations: ops }), `plain batch ${b}`);
      });
      serverRss.afterPlain = rssOf(srv.proc.pid);
      log(`vector: plain load ${plainLoad.seconds.toFixed(2)} s = ${Math.round(plainLoad.perS)} docs/s`);
      idleWaits.push(await waitIdle(srv.proc.pid));

      // Build: batch_insert into the default index (table vectors, field embedding).
      log(`vector: building over HTTP: POST /vector/batch_insert, ${BATCH} items per request, ${LOAD_CONCURRENCY} in flight`);
      const cpu0 = cpuSeconds(srv.proc.pid!);
      const main0 = threadCpuSeconds(srv.proc.pid!);
      const b0 = performance.now();
      const load = await runBatches(N, BATCH, LOAD_CONCURRENCY, async (b) => {
        const items = [];
        for (let n = b * BATCH; n < Math.min(N, (b + 1) * BATCH); n++) items.push({ pk: pkOf(n), vector: ds.data[n] });
        const r = JSON.parse((await postOk(srv, '/vector/batch_insert', JSON.stringify({ items }), `batch_insert ${b}`)).text) as {
          inserted: number;
          errors: number;
          error_details: unknown[];
        };
        if (r.inserted !== items.length || r.errors !== 0)
          throw new Error(
            `vector: batch_insert ${b}: inserted ${r.inserted} of ${items.length}, errors ${r.errors}: ${JSON.stringify(r.error_details).slice(0, 300)}`,
          );
      });
      // The graph is updated before the reply; still, wait until the stats show every vector.
      for (;;) {
        statsAfter = JSON.parse(await (await srv.req('GET', `/vector/index/stats?index=${INDEX}`)).text()) as Record<string, unknown>;
        if (statsAfter.vectorCount === N) break;
        if (performance.now() - b0 > load.seconds * 1000 + 60_000)
          throw new Error(`vector: index holds ${String(statsAfter.vectorCount)} vectors, inserted ${N}`);
        await sleep(20);
      }
      const secs = (performance.now() - b0) / 1000;
      const cpu1 = cpuSeconds(srv.proc.pid!);
      const main1 = threadCpuSeconds(srv.proc.pid!);
      httpBuild = { ...load, seconds: secs, perS: N / secs };
      if (cpu0 !== undefined && cpu1 !== undefined) httpBuild.serverCores = (cpu1 - cpu0) / secs;
      if (main0 !== undefined && main1 !== undefined) httpBuild.mainThreadCores = (main1 - main0) / secs;
      serverRss.afterBuild = rssOf(srv.proc.pid);
      log(
        `vector: HTTP build ${secs.toFixed(2)} s = ${Math.round(httpBuild.perS)} vectors/s (server ${httpBuild.serverCores?.toFixed(2)} cores, event loop ${httpBuild.mainThreadCores?.toFixed(2)}); stats ${JSON.stringify(statsAfter)}`,
      );
      idleWaits.push(await waitIdle(srv.proc.pid));

      // Recall sweep: one keep-alive connection, one search at a time, ef_search per request.
      conn = await HttpConnection.open('127.0.0.1', srv.port);
      const c = conn;
      const httpSearch =
        (k: number, o: { ef?: number; filtered?: boolean } = {}) =>
        async (qi: number) => {
          const body = bodyOf(qi, k, o);
          const r = await c.request('POST', '/vector/search', AUTH_LINE + JSON_LINE, body);
          if (r.status !== 200) throw new Error(`POST /vector/search: HTTP ${r.status}: ${r.body.toString('utf8', 0, 300)}`);
          const j = JSON.parse(r.body.toString('utf8')) as { results: { pk: string; distance: number }[]; count: number };
          const labels = j.results.map((h) => labelOfPk(h.pk));
          if (o.filtered && !filteredOk(qi, labels))
            throw new Error(`vector: filtered search for group ${groupOfQuery(qi)} returned ${j.results.map((h) => h.pk).join(',')}`);
          return labels;
        };
      await pass('themis HTTP warm-up (ef 64)', G, K, exact, httpSearch(K, { ef: 64 }));
      for (const e of EF_SWEEP) httpSweep.set(e, await pass(`themis HTTP ef_search ${e}`, G, K, exact, httpSearch(K, { ef: e })));
      const reach = EF_SWEEP.find((e) => httpSweep.get(e)!.recall >= TARGET_RECALL);
      efReached = reach !== undefined;
      ef = reach ?? EF_SWEEP[EF_SWEEP.length - 1]!;
      log(
        `vector: efSearch ${ef} ${efReached ? `is the smallest reaching recall@${K} ≥ ${TARGET_RECALL}` : `(the largest tried; recall@${K} ≥ ${TARGET_RECALL} NOT reached)`}; PUT /vector/index/config`,
      );
      const put = await srv.req('PUT', '/vector/index/config', JSON.stringify({ index: INDEX, efSearch: ef }));
      const putText = await put.text();
      if (put.status !== 200) throw new Error(`vector: PUT /vector/index/config answered ${put.status}: ${putText}`);
      // With the index's own efSearch (no ef_search in the request) from here on.
      httpSel.k10 = await pass(`themis HTTP k=${K} (index efSearch ${ef})`, G, K, exact, httpSearch(K));
      httpSel.k100 = await pass(`themis HTTP k=${K_LARGE}`, G, K_LARGE, exact, httpSearch(K_LARGE));
      httpSel.filtered = await pass(`themis HTTP k=${K} filtered`, G, K, exactFiltered, httpSearch(K, { filtered: true }));
      conn.close();
      conn = undefined;

      // Throughput: wrk rotating through all Q query bodies, against the bare uWS ceiling.
      const rep = await postOk(srv, '/vector/search', bodyOf(0, K), 'representative reply');
      bareReplyBytes = Buffer.byteLength(rep.text);
      bare = await startBareUws({
        getBody: Buffer.from('{}'),
        putBody: Buffer.from('{}'),
        putStatus: '200 OK',
        routes: [{ method: 'POST', path: '/vector/search', status: '200 OK', body: Buffer.from(rep.text) }],
      });
      const all = (k: number, filtered = false) => Array.from({ length: Q }, (_, qi) => bodyOf(qi, k, { filtered }));
      const s2 = { ...settings, durationS: wrkDurationS, warmupS: wrkWarmupS };
      const hdr = { Authorization: AUTH_HEADER, 'Content-Type': 'application/json' };
      results.push(
        await runScenario(
          {
            name: 'bare-uws-post',
            description: `Ceiling: wrk POSTing the same rotating k=${K} search bodies (~${fmt(Buffer.byteLength(bodyOf(0, K)))} bytes) to a bare uWS app in its own process that reads each body and answers 200 with the exact ${bareReplyBytes} bytes of a themis k=${K} reply. No routing, auth, JSON, index.`,
            server: 'bare uWS',
            load: { base: bare.base, method: 'POST', path: '/vector/search', headers: hdr, bodies: all(K) },
            serverPid: bare.pid!,
            connections: CONNECTIONS,
          },
          s2,
        ),
      );
      const httpScenario = async (name: string, k: number, filtered: boolean, baseline: string, what: string) => {
        results.push(
          await runScenario(
            {
              name,
              description: `POST /vector/search ${what} at the index's efSearch ${ef}, wrk rotating through all ${fmt(Q)} query bodies, ${CONNECTIONS} connections.`,
              server: `themis (${DURABILITY})`,
              load: { base: srv.base, method: 'POST', path: '/vector/search', headers: hdr, bodies: all(k, filtered) },
              themis: { server: srv, route: '/vector/search' },
              baseline,
              extraBaselines: ['bare-uws-post'],
              connections: CONNECTIONS,
              ...(name === 'http-k10'
                ? {
                    target: {
                      kind: 'ratio' as const,
                      min: TARGET_RATIO,
                      label: `≥ ${TARGET_RATIO * 100}% of hnswlib-node in process (queries/s, k=${K}, same ef)`,
                    },
                  }
                : {}),
            },
            s2,
          ),
        );
      };
      await httpScenario('http-k10', K, false, 'inproc-k10', `{"vector", "k": ${K}}`);
      await httpScenario('http-k100', K_LARGE, false, 'inproc-k100', `{"vector", "k": ${K_LARGE}}`);
      await httpScenario(
        'http-filtered',
        K,
        true,
        'inproc-filtered',
        `{"vector", "k": ${K}, "filter": {"prefix": "g<q % ${GROUPS}>-"}} (each filter accepts ${100 / GROUPS}% of the vectors)`,
      );
      serverRss.afterQueries = rssOf(srv.proc.pid);
    } finally {
      conn?.close();
      await Promise.allSettled([server?.stop(), bare?.stop()]);
    }

    if (!config || !httpBuild || !plainLoad) throw new Error('vector: the HTTP part did not complete');
    // ------------------------------------------------ in process: hnswlib-node, same parameters (the ceiling)
    const M = config.M;
    const efConstruction = config.efConstruction;
    const settled = async () => {
      gc();
      gc();
      await sleep(200);
      gc();
      const m = process.memoryUsage();
      return m.rss - m.heapTotal; // resident memory outside V8's heap (hnswlib allocates with malloc)
    };
    const native0 = await settled();
    const h = new HierarchicalNSW('cosine', DIM);
    h.initIndex({ maxElements: N, m: M, efConstruction, randomSeed: HNSW_SEED, allowReplaceDeleted: true });
    log(`vector: building in process: hnswlib-node addPoint × ${N} (M ${M}, efConstruction ${efConstruction}, seed ${HNSW_SEED})`);
    t0 = performance.now();
    for (let n = 0; n < N; n++) h.addPoint(ds.data[n]!, n, false);
    const inBuildS = (performance.now() - t0) / 1000;
    const inBuildMB = ((await settled()) - native0) / 2 ** 20;
    const inBuild = { seconds: inBuildS, perS: N / inBuildS };
    log(
      `vector: in-process build ${inBuildS.toFixed(2)} s = ${Math.round(inBuild.perS)} vectors/s, resident memory outside the JS heap +${inBuildMB.toFixed(0)} MB (layout estimate ${(hnswBytes(N, DIM, M) / 2 ** 20).toFixed(0)} MB)`,
    );
    if (h.getCurrentCount() !== N) throw new Error(`vector: hnswlib holds ${h.getCurrentCount()} points, added ${N}`);

    const inSweep = new Map<number, Pass>();
    const inSearch =
      (k: number, filtered = false) =>
      (qi: number) =>
        h.searchKnn(ds.queries[qi]!, k, filtered ? (l) => l % GROUPS === groupOfQuery(qi) : undefined).neighbors;
    h.setEf(64);
    await pass('hnswlib warm-up (ef 64)', G, K, exact, inSearch(K));
    for (const e of EF_SWEEP) {
      h.setEf(e);
      inSweep.set(e, await pass(`hnswlib ef ${e}`, G, K, exact, inSearch(K)));
    }
    h.setEf(ef);
    const inSel = {
      k10: inSweep.get(ef)!,
      k100: await pass(`hnswlib k=${K_LARGE}`, G, K_LARGE, exact, inSearch(K_LARGE)),
      filtered: await pass(`hnswlib k=${K} filtered`, G, K, exactFiltered, inSearch(K, true)),
      filteredByKey: undefined as Pass | undefined,
    };
    {
      // The server's filter callback maps each visited label to its key (a Map) and tests the key's prefix: the same here.
      const keyOf = new Map<number, string>();
      for (let n = 0; n < N; n++) keyOf.set(n, `${TABLE}:${pkOf(n)}`);
      const from = TABLE.length + 1;
      inSel.filteredByKey = await pass(`hnswlib k=${K} filtered by key`, G, K, exactFiltered, (qi) => {
        const prefix = `g${groupOfQuery(qi)}-`;
        return h.searchKnn(ds.queries[qi]!, K, (l) => {
          const key = keyOf.get(l);
          return key !== undefined && key.startsWith(prefix, from);
        }).neighbors;
      });
    }
    const inProcScenario = async (name: string, k: number, filtered: boolean, what: string) => {
      const one = filtered
        ? (qi: number) => h.searchKnn(ds.queries[qi]!, k, (l) => l % GROUPS === groupOfQuery(qi))
        : (qi: number) => h.searchKnn(ds.queries[qi]!, k);
      results.push(
        await runScenario(
          {
            name,
            description: `Ceiling: hnswlib-node ${pkgVersion('hnswlib-node')} in this process, built with the server's parameters (cosine, M ${M}, efConstruction ${efConstruction}, seed ${HNSW_SEED}), ef ${ef}: ${what}, one search after another on one thread, rotating through all ${fmt(Q)} queries (number[] arrays, as the server passes them). No HTTP, no JSON.`,
            server: 'hnswlib-node in process',
            load: { base: 'in-process', method: 'POST', path: `searchKnn(q, ${k}${filtered ? ', filter' : ''})`, headers: {} },
            warmupS: memWarmupS,
            connections: 1,
            run: sequentialLoad({
              what: `searchKnn(q, ${k}${filtered ? ', filter' : ''})`,
              n: Q,
              toolVersion: `hnswlib-node ${pkgVersion('hnswlib-node')}`,
              one,
            }),
          },
          { ...settings, durationS: memDurationS },
        ),
      );
    };
    await inProcScenario('inproc-k10', K, false, `searchKnn(q, ${K})`);
    await inProcScenario('inproc-k100', K_LARGE, false, `searchKnn(q, ${K_LARGE})`);
    await inProcScenario(
      'inproc-filtered',
      K,
      true,
      `searchKnn(q, ${K}, label => label % ${GROUPS} === group) (the same ${100 / GROUPS}% filter as a JS callback)`,
    );

    // ------------------------------------------------ ratios, tables
    applyBaselines(results);
    const order = ['inproc-k10', 'bare-uws-post', 'http-k10', 'inproc-k100', 'http-k100', 'inproc-filtered', 'http-filtered'];
    results.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    const byName = new Map(results.map((r) => [r.name, r]));
    for (const r of results) {
      const k = r.name.endsWith('k100') ? K_LARGE : K;
      const sel = r.name.startsWith('http-') ? httpSel : r.name.startsWith('inproc-') ? inSel : undefined;
      const p = sel ? (r.name.endsWith('k10') ? sel.k10 : r.name.endsWith('k100') ? sel.k100 : sel.filtered) : undefined;
      r.metrics = { ...(r.metrics ?? {}), k, efSearch: ef, queries: Q, ...(p ? { recall: r3(p.recall) } : {}) };
    }

    const ms3 = (n: number) =>
      !Number.isFinite(n) ? '' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toFixed(3);
    const rec = (p: Pass | undefined) => (p ? p.recall.toFixed(4) : '');
    const lat = (p: Pass | undefined) => (p ? `${ms3(p.lat.p50)} / ${ms3(p.lat.p99)}` : '');
    const x = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '' : `${n.toFixed(2)}×`);
    const rps = (name: string) => byName.get(name)?.load.rps;
    const ratio = (a: string, b: string) => {
      const ra = rps(a);
      const rb = rps(b);
      return ra !== undefined && rb !== undefined && rb > 0 ? ra / rb : undefined;
    };

    const b = httpBuild!;
    const pl = plainLoad!;
    const buildRows: string[][] = [
      [
        `hnswlib-node in process: addPoint × ${fmt(N)} (maxElements ${fmt(N)} up front) — ceiling`,
        inBuild.seconds.toFixed(2),
        fmt(inBuild.perS),
        '100%',
        `memory: resident outside the JS heap +${inBuildMB.toFixed(0)} MB; hnswlib's layout ≈ ${(hnswBytes(N, DIM, M) / 2 ** 20).toFixed(0)} MB (vectors as float32 ${((N * DIM * 4) / 2 ** 20).toFixed(0)} MB + links)`,
      ],
      [
        `themis HTTP: POST /vector/batch_insert, ${fmt(BATCH)} items per request, ${LOAD_CONCURRENCY} in flight`,
        b.seconds.toFixed(2),
        fmt(b.perS),
        pct(b.perS / inBuild.perS),
        `request p50 ${ms3(b.batchP50Ms)} ms, p99 ${ms3(b.batchP99Ms)} ms; server ${b.serverCores?.toFixed(2) ?? '?'} cores, event loop ${b.mainThreadCores?.toFixed(2) ?? '?'} cores; server RSS ${mb(serverRss.afterPlain)} → ${mb(serverRss.afterBuild)} MB`,
      ],
      [
        `themis HTTP: the same documents via POST /transaction into a table without a vector index (write path only)`,
        pl.seconds.toFixed(2),
        fmt(pl.perS),
        pct(pl.perS / inBuild.perS),
        `request p50 ${ms3(pl.batchP50Ms)} ms, p99 ${ms3(pl.batchP99Ms)} ms; ≈ ${pct(pl.seconds / b.seconds)} of the HTTP build's time; server RSS ${mb(serverRss.start)} → ${mb(serverRss.afterPlain)} MB`,
      ],
    ];

    const sweepRows = EF_SWEEP.map((e) => {
      const hp = httpSweep.get(e);
      const ip = inSweep.get(e);
      return [String(e) + (e === ef ? ' ← used' : ''), rec(hp), rec(ip), lat(hp), lat(ip), hp && ip ? pct(meanOverlap(hp, ip, K)) : ''];
    });
    const selRows: string[][] = [
      [`k=${K}`, `recall@${K}`, rec(httpSel.k10), rec(inSel.k10), lat(httpSel.k10), lat(inSel.k10)],
      [`k=${K_LARGE}`, `recall@${K_LARGE}`, rec(httpSel.k100), rec(inSel.k100), lat(httpSel.k100), lat(inSel.k100)],
      [
        `k=${K}, filter (${100 / GROUPS}%)`,
        `recall@${K} among the filter's vectors`,
        rec(httpSel.filtered),
        rec(inSel.filtered),
        lat(httpSel.filtered),
        lat(inSel.filtered),
      ],
      [
        `k=${K}, filter (${100 / GROUPS}%) by key, in process`,
        `recall@${K} among the filter's vectors`,
        '',
        rec(inSel.filteredByKey),
        '',
        lat(inSel.filteredByKey),
      ],
    ];
    const thrRow = (label: string, http: string, inproc: string) => {
      const hr = byName.get(http);
      const ir = byName.get(inproc);
      return [
        label,
        hr ? fmt(hr.load.rps) : '',
        hr ? `${ms3(hr.load.p50Ms)} / ${ms3(hr.load.p99Ms)}` : '',
        ir ? fmt(ir.load.rps) : '',
        ir ? `${ms3(ir.load.p50Ms)} / ${ms3(ir.load.p99Ms)}` : '',
        x(ratio(http, inproc)),
        x(ratio(http, 'bare-uws-post')),
        hr?.serverMainThreadCores?.toFixed(2) ?? '',
      ];
    };
    const goalRatio = ratio('http-k10', 'inproc-k10');
    const tables: ReportTable[] = [
      {
        title: 'Data',
        columns: ['what', 'value'],
        rows: [
          [
            'vectors',
            `${fmt(N)} × ${DIM}-d, ${CLUSTERS} Gaussian clusters (centres ~ N(0, 1)^${DIM}, points = centre + ${SPREAD} · N(0, 1)^${DIM}, cluster picked uniformly), coordinates rounded to ${DECIMALS} decimals; mulberry32 seed 0x${DATA_SEED.toString(16)}; generated in ${(genMs / 1000).toFixed(1)} s`,
          ],
          ['queries', `${fmt(Q)} drawn from the same distribution after the data (not in the data set); recall over the first ${fmt(G)}`],
          [
            'exact answers',
            `brute-force cosine over float32 unit vectors in the bench (top ${K_LARGE}, and top ${K} of the query's filter group): ${fmt(G)} × ${fmt(N)} × ${DIM} in ${(truth.ms / 1000).toFixed(1)} s`,
          ],
          [
            'keys',
            `\`${TABLE}:g<n % ${GROUPS}>-<n>\` (hnswlib label n in process); the filtered searches send {"prefix": "g<q % ${GROUPS}>-"} (in process: label % ${GROUPS} === q % ${GROUPS}), ${100 / GROUPS}% of the vectors`,
          ],
          [
            'index',
            `${INDEX}: metric ${config.metric}, M ${M}, efConstruction ${efConstruction}, default efSearch ${config.efSearch}; efSearch used ${ef} (smallest of ${EF_SWEEP.join('/')} with HTTP recall@${K} ≥ ${TARGET_RECALL}${efReached ? '' : ': **NOT REACHED**, the largest was used'})`,
          ],
        ],
      },
      {
        title: 'Build',
        columns: ['what', 'seconds', 'vectors/s', 'vs in process', 'notes'],
        rows: buildRows,
        notes: [
          `HTTP build time runs from the first request to the last reply, confirmed by GET /vector/index/stats (vectorCount ${fmt(N)}); each reply comes after the batch is committed (THEMIS_DURABILITY=${DURABILITY}: fsynced) and its vectors are in the graph. Each item is {"pk": "g<n % ${GROUPS}>-<n>", "vector": [${DIM} numbers]}; the request bodies (~${((BATCH * Buffer.byteLength(JSON.stringify(ds.data[0]))) / 2 ** 20).toFixed(1)} MiB) are serialized in the bench process inside the timed window.`,
          `The server inserts into hnswlib-node on its event loop (one addPoint per vector, in commit order); its graph starts with room for 1,024 points and doubles (resizeIndex) when full. The in-process ceiling allocates ${fmt(N)} up front and adds the same vectors in label order.`,
          'The write-path row loads the same JSON documents ({"embedding": [...]}) into another table (no vector index) before the build, through POST /transaction (one atomic commit per request): JSON parsing, validation, LevelDB writes, change log — everything but the graph.',
        ],
      },
      {
        title: `Recall@${K} vs efSearch (one query at a time; latency ms p50 / p99)`,
        columns: [
          'efSearch',
          'recall@10 themis HTTP',
          'recall@10 hnswlib in process',
          'themis HTTP latency',
          'hnswlib in-process latency',
          'top-10 overlap HTTP ∩ in process',
        ],
        rows: sweepRows,
        notes: [
          `${fmt(G)} queries per row, after one warm-up pass over them (ef 64). HTTP: POST /vector/search {"vector", "k": ${K}, "ef_search": e} on one keep-alive connection (bench/lib/http-client.ts), request written → complete reply (includes the client's JSON.parse). In process: searchKnn after setEf(e).`,
          'The two graphs are built from the same vectors with the same parameters and seed, but not necessarily identical (the server inserts in commit order with 4 requests in flight and grows its capacity by doubling), so recall can differ slightly; the overlap column is the mean share of top-10 labels the two answers have in common.',
        ],
      },
      {
        title: `At efSearch ${ef}: recall and latency (one query at a time; ms p50 / p99)`,
        columns: ['search', 'measure', 'themis HTTP', 'hnswlib in process', 'themis HTTP latency', 'hnswlib in-process latency'],
        rows: selRows,
        notes: [
          `After PUT /vector/index/config {"efSearch": ${ef}} the HTTP searches carry no ef_search (the index's own setting applies); in process setEf(${ef}). For k=${K_LARGE} the beam is max(ef, k) = ${Math.max(ef, K_LARGE)} in both. Recall for k=${K_LARGE} is against the exact top ${K_LARGE}; for the filtered search against the exact top ${K} among the vectors the filter accepts (every returned key is checked to pass the filter).`,
          `Filter callbacks: hnswlib calls the filter for every point the graph walk visits. In process it is \`label => label % ${GROUPS} === group\`; the server's callback looks the label's entity key up in a Map and tests the key's prefix. The "by key" row runs that same kind of callback in process (Map<label, key> + startsWith) to show what it costs without HTTP.`,
        ],
      },
      {
        title: 'Search throughput',
        columns: [
          'search',
          'themis HTTP q/s',
          'HTTP p50 / p99 ms',
          'hnswlib in-process q/s',
          'in-process p50 / p99 ms',
          'HTTP ÷ in process',
          'HTTP ÷ bare uWS',
          'server event loop (cores)',
        ],
        rows: [
          thrRow(`k=${K}`, 'http-k10', 'inproc-k10'),
          thrRow(`k=${K_LARGE}`, 'http-k100', 'inproc-k100'),
          thrRow(`k=${K}, filter ${100 / GROUPS}%`, 'http-filtered', 'inproc-filtered'),
        ],
        notes: [
          `HTTP: wrk, ${CONNECTIONS} connections (closed loop, BENCH_VECTOR_CONNECTIONS), ${wrkDurationS} s measured + ${wrkWarmupS} s warm-up, bodies rotating through all ${fmt(Q)} queries; latency is wrk's (queueing at ${CONNECTIONS} connections included: p50 ≈ ${CONNECTIONS} ÷ q/s). In process: one thread, one search after another, ${memDurationS} s + ${memWarmupS} s warm-up. Bare uWS k=${K} round trip (same bodies, canned reply): ${fmt(rps('bare-uws-post') ?? NaN)} q/s.`,
          `Goal (issue): HTTP k=${K} ≥ ${TARGET_RATIO} × in process: measured ${goalRatio !== undefined ? goalRatio.toFixed(2) : '?'} → ${goalRatio === undefined ? 'n/a' : goalRatio >= TARGET_RATIO ? 'PASS' : '**FAIL**'}. The reference implementation claims ${fmt(REFERENCE_QPS)} q/s for k=${K}: HTTP k=${K} here is ${x((rps('http-k10') ?? NaN) / REFERENCE_QPS)} that (different machine and data, so only indicative).`,
        ],
      },
    ];
    const busy = [
      ...httpSweep.values(),
      ...inSweep.values(),
      httpSel.k10,
      httpSel.k100,
      httpSel.filtered,
      inSel.k100,
      inSel.filtered,
      inSel.filteredByKey,
    ]
      .filter((p) => p && (p.otherCpuCores ?? 0) > 0.1)
      .map((p) => `${p!.label} (${p!.otherCpuCores!.toFixed(2)} cores)`);
    if (busy.length > 0)
      notes.push(
        `MACHINE BUSY during the sequential passes of ${busy.join(', ')}: other processes used CPU; those latencies are unreliable.`,
      );
    if (!efReached)
      notes.push(
        `**recall@${K} ≥ ${TARGET_RECALL} was not reached over HTTP with any efSearch of ${EF_SWEEP.join('/')}**; the throughput rows use ${ef}.`,
      );
    notes.push(
      `Same run, same machine: data and exact answers first, then the server (THEMIS_DURABILITY=${DURABILITY}; write-path load, build, recall sweep, wrk runs; stopped afterwards), then hnswlib-node in the bench process (build, sweep, throughput). Before the build and before the sweep the bench waits for the server to go idle (LevelDB compaction): ${idleWaits.map((w) => `${(w / 1000).toFixed(1)} s`).join(', ')}.`,
      `Server RSS: ${mb(serverRss.start)} MB at start, ${mb(serverRss.afterPlain)} MB after the write-path load, ${mb(serverRss.afterBuild)} MB after the build, ${mb(serverRss.afterQueries)} MB after the query scenarios. Index stats after the build: ${JSON.stringify(statsAfter)}.`,
      `Whole area run: ${((performance.now() - runStart) / 1000).toFixed(0)} s. Versions: hnswlib-node ${pkgVersion('hnswlib-node')}, node ${process.version}.`,
    );
    return {
      title: `vector (HNSW k-NN over ${fmt(N)} × ${DIM}-d clustered vectors; themis HTTP vs hnswlib-node in process at efSearch ${ef}; durability ${DURABILITY})`,
      tool: `${tool.version} for the HTTP throughput rows (${CONNECTIONS} connections); node raw-socket client (one connection, sequential) for recall and latency; in-process calls for hnswlib-node`,
      rateLabel: 'queries/s',
      scenarios: results,
      tables,
      notes,
      ...{
        vector: {
          data: {
            n: N,
            dim: DIM,
            clusters: CLUSTERS,
            spread: SPREAD,
            seed: DATA_SEED,
            queries: Q,
            groundTruthQueries: G,
            groundTruthMs: Math.round(truth.ms),
          },
          index: { ...config, efSearchUsed: ef, efReached, targetRecall: TARGET_RECALL },
          build: {
            http: httpBuild,
            plainWritePath: plainLoad,
            inProcess: {
              ...inBuild,
              nativeResidentMB: Math.round(inBuildMB),
              layoutEstimateMB: Math.round(hnswBytes(N, DIM, M) / 2 ** 20),
            },
            batch: BATCH,
            concurrency: LOAD_CONCURRENCY,
            serverRssMB: serverRss,
            statsAfter,
          },
          sweep: EF_SWEEP.map((e) => ({ ef: e, http: sweepJson(httpSweep.get(e)), inProcess: sweepJson(inSweep.get(e)) })),
          selected: {
            http: { k10: sweepJson(httpSel.k10), k100: sweepJson(httpSel.k100), filtered: sweepJson(httpSel.filtered) },
            inProcess: {
              k10: sweepJson(inSel.k10),
              k100: sweepJson(inSel.k100),
              filtered: sweepJson(inSel.filtered),
              filteredByKey: sweepJson(inSel.filteredByKey),
            },
          },
          ratios: {
            httpK10VsInProcess: goalRatio,
            httpK10VsReference: (rps('http-k10') ?? NaN) / REFERENCE_QPS,
            buildHttpVsInProcess: b.perS / inBuild.perS,
          },
        },
      },
    };
  },
};

/**
 * Bytes hnswlib allocates for n points (hnswalg.h): level 0 = per point 2M links + count (4 B each), the
 * vector (float32) and the label (8 B); upper levels: (M links + count) × 4 B per level, 1 / (M − 1)
 * levels per point on average (mult = 1 / ln M). Lookup tables and per-point mutexes not included.
 */
function hnswBytes(n: number, dim: number, M: number): number {
  return n * ((2 * M + 1) * 4 + dim * 4 + 8) + (n / (M - 1)) * (M + 1) * 4;
}

function sweepJson(p: Pass | undefined): Record<string, number> | undefined {
  if (!p) return undefined;
  return {
    recall: r3(p.recall),
    count: p.lat.count,
    p50Ms: r3(p.lat.p50),
    p90Ms: r3(p.lat.p90),
    p99Ms: r3(p.lat.p99),
    maxMs: r3(p.lat.max),
    meanMs: r3(p.lat.mean),
  };
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '?');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '');
const mb = (n: number | undefined) => (n === undefined ? '?' : n.toFixed(0));
