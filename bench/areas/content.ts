import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { postOk, runBatches } from '../lib/batches.js';
import { detectTool, nodeLoadResult } from '../lib/load.js';
import { applyBaselines, median } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3, summarize } from '../lib/stats.js';
import type { Area, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, prng, tempDir } from '../lib/util.js';

/**
 * Area `content` (issue 18, "Benchmark"; bench/README.md):
 *
 * 1. Import throughput: durable `POST /content/import` of contents with
 *    CHUNKS_PER_CONTENT chunks of ~600 characters and 384-d embeddings (and
 *    the text as blob), chunks/s; peer in the same run: the same documents
 *    written yourself with `POST /transaction` (content document + chunk
 *    documents) into a table with the same fulltext and vector indexes — the
 *    module's cost over plain documents. Rounds alternate; median of rounds.
 * 2. Blob download: `GET /content/{id}/blob` of a BLOB_MB MiB blob, MB/s,
 *    against reading the same bytes from a file in this process (the
 *    ceiling); median of 5 each.
 * 3. Retrieval latency at N chunks (default 100,000, 384-d): sequential
 *    `POST /content/retrieve` by BM25, by vector, fused, and fused with a
 *    metadata filter (p50/p99), against `/search/hybrid` over the same index
 *    and table (the same lists without the content join) as the peer.
 */

const DIM = 384;
const CHUNKS_PER_CONTENT = 20;
const WORDS = [
  'lighthouse',
  'keeper',
  'storm',
  'harbour',
  'ship',
  'lamp',
  'rock',
  'tide',
  'signal',
  'night',
  'fog',
  'coast',
  'wave',
  'rope',
  'anchor',
  'sail',
  'chart',
  'compass',
  'gull',
  'cliff',
  'beacon',
  'engine',
  'cargo',
  'crew',
  'deck',
  'mast',
  'Leuchtturm',
  'Wärter',
  'Sturm',
  'Hafen',
  'Schiff',
  'Lampe',
  'Felsen',
  'Flut',
  'Nebel',
  'Küste',
  'Welle',
  'Anker',
  'report',
  'manual',
  'maintenance',
  'inspection',
  'repair',
  'safety',
  'procedure',
  'schedule',
  'winter',
  'summer',
];

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const r1 = (x: number) => Math.round(x * 10) / 10;

function sentence(rnd: () => number, n: number): string {
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(rnd() * WORDS.length)]!);
  const s = w.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

function embedding(rnd: () => number): number[] {
  const v = new Array<number>(DIM);
  for (let i = 0; i < DIM; i++) v[i] = Math.round((rnd() * 2 - 1) * 1e4) / 1e4;
  return v;
}

interface Doc {
  id: string;
  team: string;
  chunks: { seq_num: number; text: string; embedding: number[] }[];
}

function makeDoc(rnd: () => number, id: string, chunks = CHUNKS_PER_CONTENT): Doc {
  return {
    id,
    team: `t${Math.floor(rnd() * 10)}`,
    chunks: Array.from({ length: chunks }, (_, i) => {
      let text = '';
      while (text.length < 600) text += `${sentence(rnd, 8 + Math.floor(rnd() * 8))} `;
      return { seq_num: i, text: text.trim(), embedding: embedding(rnd) };
    }),
  };
}

const importBody = (d: Doc) =>
  JSON.stringify({
    content: { id: d.id, mime_type: 'text/plain', team: d.team },
    chunks: d.chunks,
    blob: Buffer.from(d.chunks.map((c) => c.text).join('\n\n')).toString('base64'),
  });

/** The peer: the same documents written yourself in one POST /transaction (content document + chunk documents). */
const transactionBody = (d: Doc) =>
  JSON.stringify({
    operations: [
      { op: 'put', key: `peer_content:${d.id}`, blob: JSON.stringify({ id: d.id, mime_type: 'text/plain', team: d.team }) },
      ...d.chunks.map((c) => ({
        op: 'put',
        key: `peer_chunks:${d.id}:${String(c.seq_num).padStart(10, '0')}`,
        blob: JSON.stringify({ content_id: d.id, ...c }),
      })),
    ],
  });

export const contentArea: Area = {
  name: 'content',
  description:
    'content import chunks/s vs the same documents via POST /transaction; blob download MB/s vs a file; /content/retrieve latency at 100k chunks',
  async run() {
    const tool = detectTool();
    const results: ScenarioResult[] = [];
    const tables: ReportTable[] = [];
    const only = process.env.BENCH_CONTENT_ONLY;
    const server = await startThemis({ durability: 'sync', env: { THEMIS_MAX_BODY_BYTES: String(256 * 1024 * 1024) } });
    try {
      await ok(server, 'POST', '/index/create', { table: 'peer_chunks', column: 'text', type: 'fulltext' });
      await ok(server, 'POST', '/vector/index/create', {
        name: 'peer_chunks_emb',
        table: 'peer_chunks',
        field: 'embedding',
        metric: 'COSINE',
      });
      if (only === undefined || only === 'import') {
        const r = await importThroughput(server);
        results.push(...r.results);
        tables.push(r.table);
      }
      if (only === undefined || only === 'blob') {
        const r = await blobDownload(server);
        results.push(...r.results);
        tables.push(r.table);
      }
      if (only === undefined || only === 'retrieve') {
        const r = await retrieveLatency(server);
        results.push(...r.results);
        tables.push(r.table);
      }
    } finally {
      await server.stop();
    }
    applyBaselines(results);
    return {
      title: 'content (import throughput, blob download, retrieval latency)',
      tool: `${tool.version}; curl for downloads (node fetch without curl); node fetch for imports and retrieval`,
      scenarios: results,
      tables,
      notes: [
        `Import: durable (THEMIS_DURABILITY=sync) imports of ${CHUNKS_PER_CONTENT} chunks of ~600 characters with ${DIM}-d embeddings, 4 requests in flight; ratio = chunks/s ÷ chunks/s of the same documents written with POST /transaction into a table with the same fulltext and vector indexes (median of the rounds' ratios).`,
        'Blob: MB/s of GET /content/{id}/blob downloaded by curl, ratio to reading the same bytes from a file in the bench process (page cache; median of 5 each).',
        'Retrieve: sequential requests, one at a time; ratio = p50 of /search/hybrid over the same index ÷ p50 of the retrieve scenario (1.0 = the content join and metadata cost nothing).',
      ],
    };
  },
};

async function ok(server: ThemisServer, method: string, p: string, body: unknown): Promise<string> {
  const r = await server.req(method, p, JSON.stringify(body));
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p} answered ${r.status}: ${text.slice(0, 300)}`);
  return text;
}

// ------------------------------------------------------------------ 1. import

async function importThroughput(server: ThemisServer): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const rounds = Math.round(envNumber('BENCH_CONTENT_ROUNDS', 3));
  const perRound = Math.round(envNumber('BENCH_CONTENT_IMPORT_DOCS', 150));
  const rnd = prng(18);
  const docs = Array.from({ length: 40 }, (_, i) => makeDoc(rnd, `tmpl${i}`));
  const rows: string[][] = [];
  const imp: number[] = [];
  const peer: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 === 0 ? (['import', 'transaction'] as const) : (['transaction', 'import'] as const)) {
      log(`content: round ${round + 1}/${rounds}: ${kind} of ${perRound} contents`);
      const stats = await runBatches(perRound, 1, 4, async (b) => {
        const d = { ...docs[b % docs.length]!, id: `r${round}-${b}` };
        if (kind === 'import') await postOk(server, '/content/import', importBody(d), 'import');
        else await postOk(server, '/transaction', transactionBody(d), 'transaction');
      });
      const chunksPerS = stats.perS * CHUNKS_PER_CONTENT;
      (kind === 'import' ? imp : peer).push(chunksPerS);
    }
    rows.push([String(round + 1), fmt(imp[round]!), fmt(peer[round]!), `${((imp[round]! / peer[round]!) * 100).toFixed(1)}%`]);
  }
  const ratios = imp.map((x, i) => x / peer[i]!);
  const scenario = (name: string, what: string, rates: number[]): ScenarioResult => ({
    name,
    description: what,
    server: 'themis (sync)',
    method: 'POST',
    path: name === 'import' ? '/content/import' : '/transaction',
    load: nodeLoadResult({
      latencies: rates.map((r) => 1000 / r),
      durationS: 1,
      requests: Math.round(median(rates)),
      toolVersion: 'node fetch, 4 in flight',
      raw: `chunks/s per round: ${rates.map(fmt).join(', ')}`,
    }),
    valid: true,
    problems: [],
    warnings: [],
    metrics: { chunks_per_s_median: Math.round(median(rates)), dim: DIM, chunks_per_content: CHUNKS_PER_CONTENT },
  });
  const a = scenario(
    'import',
    `POST /content/import: ${CHUNKS_PER_CONTENT} chunks with ${DIM}-d embeddings and a blob per request (chunks/s)`,
    imp,
  );
  a.baseline = 'transaction-peer';
  a.metrics = { ...a.metrics, median_round_ratio: r3(median(ratios)) };
  const b = scenario('transaction-peer', `POST /transaction of the same documents into indexed tables (chunks/s)`, peer);
  return {
    results: [a, b],
    table: {
      title: `Import: chunks/s (${CHUNKS_PER_CONTENT} chunks × ${DIM}-d per request, durable, 4 in flight)`,
      columns: ['round', 'POST /content/import', 'POST /transaction (peer)', 'ratio'],
      rows: [...rows, ['median', fmt(median(imp)), fmt(median(peer)), `**${(median(ratios) * 100).toFixed(1)}%**`]],
    },
  };
}

// ------------------------------------------------------------------ 2. blob download

/** MB/s of one download by curl (a C client: the bench's own JavaScript would be the bottleneck). */
function curlMBps(url: string, expect: number): number {
  const r = spawnSync(
    'curl',
    ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', '-H', `Authorization: ${AUTH_HEADER}`, url],
    {
      encoding: 'utf8',
    },
  );
  const [size, secs] = r.stdout.trim().split(' ').map(Number);
  if (r.status !== 0 || size !== expect) throw new Error(`curl download gave ${size} bytes (exit ${r.status}), expected ${expect}`);
  return size! / 1048576 / secs!;
}

/** MB/s of one download by fetch (when curl is missing). */
async function fetchMBps(url: string, expect: number): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(url, { headers: { authorization: AUTH_HEADER } });
  let n = 0;
  for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) n += c.length;
  if (n !== expect) throw new Error(`download gave ${n} bytes, expected ${expect}`);
  return n / 1048576 / ((performance.now() - t0) / 1000);
}

async function blobDownload(server: ThemisServer): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const mb = envNumber('BENCH_CONTENT_BLOB_MB', 64);
  const bytes = Buffer.alloc(Math.round(mb * 1024 * 1024));
  const rnd = prng(7);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(Math.floor(rnd() * 2 ** 32) >>> 0, i);
  log(`content: importing a ${mb} MiB blob`);
  await ok(server, 'POST', '/content/import', {
    content: { id: 'bigblob', mime_type: 'application/octet-stream' },
    chunks: [],
    blob: bytes.toString('base64'),
  });
  const dir = tempDir('themis-bench-blob-');
  const file = path.join(dir, 'blob.bin');
  fs.writeFileSync(file, bytes);
  const http: number[] = [];
  const disk: number[] = [];
  try {
    const curl = spawnSync('curl', ['--version']).status === 0;
    for (let i = 0; i < 5; i++) {
      http.push(
        curl
          ? curlMBps(`${server.base}/content/bigblob/blob`, bytes.length)
          : await fetchMBps(`${server.base}/content/bigblob/blob`, bytes.length),
      );
      const t0 = performance.now();
      let n = 0;
      for await (const c of fs.createReadStream(file, { highWaterMark: 256 * 1024 })) n += (c as Buffer).length;
      disk.push(n / 1048576 / ((performance.now() - t0) / 1000));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const res = (name: string, what: string, rates: number[]): ScenarioResult => ({
    name,
    description: what,
    server: name === 'blob-download' ? 'themis (sync)' : 'in process',
    method: 'GET',
    path: name === 'blob-download' ? '/content/{id}/blob' : 'fs.createReadStream',
    load: nodeLoadResult({
      latencies: rates.map((r) => (mb / r) * 1000),
      durationS: rates.reduce((a, r) => a + mb / r, 0),
      toolVersion: 'node fetch',
      raw: `MB/s: ${rates.map(r1).join(', ')}`,
    }),
    valid: true,
    problems: [],
    warnings: [],
    metrics: { mb_per_s_median: r1(median(rates)), blob_mib: mb },
  });
  const a = res('blob-download', `GET /content/{id}/blob of ${mb} MiB (MB/s)`, http);
  const b = res('file-read', `the same bytes read from a file (MB/s)`, disk);
  a.ratio = median(http) / median(disk);
  a.metrics = { ...a.metrics, ratio_to_file: r3(a.ratio) };
  return {
    results: [a, b],
    table: {
      title: `Blob download: ${mb} MiB, MB/s (median of 5)`,
      columns: ['GET /content/{id}/blob', 'file read (ceiling)', 'ratio'],
      rows: [[fmt(median(http)), fmt(median(disk)), `${(a.ratio * 100).toFixed(1)}%`]],
    },
  };
}

// ------------------------------------------------------------------ 3. retrieval latency

async function retrieveLatency(server: ThemisServer): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const total = Math.round(envNumber('BENCH_CONTENT_CHUNKS', 100_000));
  const perDoc = 50;
  const docs = Math.ceil(total / perDoc);
  const queries = Math.round(envNumber('BENCH_CONTENT_QUERIES', 200));
  const rnd = prng(1800);
  log(`content: loading ${fmt(docs * perDoc)} chunks (${docs} contents × ${perDoc}, ${DIM}-d)`);
  const load = await runBatches(docs, 1, 4, async (b) => {
    const d = makeDoc(rnd, `ld${b}`, perDoc);
    await postOk(server, '/content/import', importBody(d), 'load');
  });
  log(`content: loaded at ${fmt(load.perS * perDoc)} chunks/s`);
  const qrnd = prng(99);
  const qs = Array.from({ length: queries }, () => ({
    text: sentence(qrnd, 3).replace('.', ''),
    vec: embedding(qrnd),
    team: `t${Math.floor(qrnd() * 10)}`,
  }));
  const kinds: { name: string; path: string; body: (q: (typeof qs)[number]) => unknown; peer?: string }[] = [
    {
      name: 'hybrid-peer',
      path: '/search/hybrid',
      body: (q) => ({
        table: '_chunks',
        text: { column: 'text', query: q.text },
        vector: { index: 'content_chunks', vector: q.vec },
        k: 10,
      }),
    },
    { name: 'retrieve-text', path: '/content/retrieve', body: (q) => ({ query: q.text, k: 10 }), peer: 'hybrid-peer' },
    { name: 'retrieve-vector', path: '/content/retrieve', body: (q) => ({ embedding: q.vec, k: 10 }), peer: 'hybrid-peer' },
    { name: 'retrieve-hybrid', path: '/content/retrieve', body: (q) => ({ query: q.text, embedding: q.vec, k: 10 }), peer: 'hybrid-peer' },
    {
      name: 'retrieve-hybrid-filter',
      path: '/content/retrieve',
      body: (q) => ({ query: q.text, embedding: q.vec, k: 10, filter: { team: q.team } }),
      peer: 'hybrid-peer',
    },
  ];
  const results: ScenarioResult[] = [];
  const rows: string[][] = [];
  const p50 = new Map<string, number>();
  for (const k of kinds) {
    const lat: number[] = [];
    let nonOk = 0;
    let found = 0;
    const texts = qs.map((q) => JSON.stringify(k.body(q)));
    for (let i = 0; i < 20; i++) await server.req('POST', k.path, texts[i % texts.length]!).then((r) => r.text());
    const t0 = performance.now();
    for (const t of texts) {
      const s = performance.now();
      const r = await server.req('POST', k.path, t);
      const body = (await r.json()) as { count?: number };
      lat.push(performance.now() - s);
      if (r.status !== 200) nonOk++;
      found += body.count ?? 0;
    }
    const secs = (performance.now() - t0) / 1000;
    const s = summarize(lat);
    p50.set(k.name, s.p50);
    const res: ScenarioResult = {
      name: k.name,
      description: `${k.path} at ${fmt(docs * perDoc)} chunks (${DIM}-d), k = 10, ${queries} sequential queries`,
      server: 'themis (sync)',
      method: 'POST',
      path: k.path,
      load: nodeLoadResult({
        latencies: lat,
        durationS: secs,
        non2xx: nonOk,
        toolVersion: 'node fetch, sequential',
        raw: `${queries} queries`,
      }),
      valid: nonOk === 0,
      problems: nonOk === 0 ? [] : [`${nonOk} answers were not 200`],
      warnings: [],
      metrics: { chunks: docs * perDoc, results_per_query: r3(found / queries), p50_ms: r3(s.p50), p99_ms: r3(s.p99) },
    };
    if (k.peer) res.ratio = p50.get(k.peer)! / s.p50;
    results.push(res);
    rows.push([
      k.name,
      r3(s.p50).toString(),
      r3(s.p90).toString(),
      r3(s.p99).toString(),
      r1(found / queries).toString(),
      k.peer ? `${((p50.get(k.peer)! / s.p50) * 100).toFixed(1)}%` : '(peer)',
    ]);
  }
  return {
    results,
    table: {
      title: `Retrieval latency at ${fmt(docs * perDoc)} chunks (${DIM}-d, k = 10, sequential; loaded at ${fmt(load.perS * perDoc)} chunks/s)`,
      columns: ['scenario', 'p50 ms', 'p90 ms', 'p99 ms', 'results/query', 'peer p50 ÷ p50'],
      rows,
    },
  };
}
