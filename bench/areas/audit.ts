import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditLog, type AuditRecord, Segment, segmentKeyId } from '../../src/audit/index.js';
import { createLogger } from '../../src/log.js';
import { Engine, keyspace } from '../../src/storage/index.js';
import { detectTool, nodeLoadResult } from '../lib/load.js';
import { rssOf, waitIdle } from '../lib/process-info.js';
import { applyBaselines, median, mergeRounds, runScenario, rotation, roundRatioMetrics } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Area, BenchSettings, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, prng, sleep, tempDir } from '../lib/util.js';
import { PUT_BODY } from './entities.js';

/**
 * Area `audit` (issue 16, "Benchmark"; bench/README.md):
 *
 * 1. GET /entities/{key} and durable PUT throughput with THEMIS_AUDIT=all
 *    (and =writes) vs =off: one server per level, same data, slots
 *    alternating in rounds; per-round ratio level ÷ off, median over rounds.
 * 2. Filtered GET /api/audit latency over BENCH_AUDIT_ENTRIES (1,000,000)
 *    entries, built in process with AuditLog.record(); the peer is the same
 *    count and page by a full scan of the stored entries in process.
 * 3. CSV export (GET /api/audit/export/csv?all=true) rows/s and server RSS;
 *    skipped when the route is missing (404).
 */

const ROUTE = '/entities/:key';
const GET_PATH = '/entities/bench:1';
const LEVELS = ['off', 'all', 'writes'] as const;
type Level = (typeof LEVELS)[number];
const DAY = 86_400_000;

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

// ------------------------------------------------------------------ the data set

const USERS = Array.from({ length: 40 }, (_, i) => (i === 0 ? 'admin' : `user${String(i).padStart(2, '0')}`));
/** Actions with weights (roughly a read-heavy API's mix). */
const ACTIONS: [string, number, string][] = [
  ['GET_ENTITY', 55, 'GET'],
  ['PUT_ENTITY', 14, 'PUT'],
  ['QUERY', 8, 'POST'],
  ['AQL', 5, 'POST'],
  ['DELETE_ENTITY', 3, 'DELETE'],
  ['VECTOR_SEARCH', 3, 'POST'],
  ['FULLTEXT_SEARCH', 3, 'POST'],
  ['GRAPH_TRAVERSE', 2, 'POST'],
  ['COMMIT_TRANSACTION', 2, 'POST'],
  ['LOGIN_FAILED', 2, 'GET'],
  ['READ_METRICS', 1.5, 'GET'],
  ['LIST_KEYS', 0.5, 'GET'],
  ['CREATE_KEY', 0.4, 'POST'],
  ['REVOKE_KEY', 0.1, 'DELETE'],
  ['READ_AUDIT', 0.5, 'GET'],
];
const TABLES = Array.from({ length: 20 }, (_, i) => `table${String(i).padStart(2, '0')}`);
/** Distinct entity keys per table: 20 × 50,000 = 1M keys, so one key is rare (~1 entry per 1M / 1M keys, skewed). */
const KEYS_PER_TABLE = 50_000;

/** A deterministic generator of realistic audit records (mulberry32 seed). */
function recordGenerator(seed: number): (i: number) => AuditRecord {
  const rnd = prng(seed);
  const total = ACTIONS.reduce((s, a) => s + a[1], 0);
  const pickAction = () => {
    let x = rnd() * total;
    for (const a of ACTIONS) if ((x -= a[1]) < 0) return a;
    return ACTIONS[0]!;
  };
  // Zipf-like users: user k with weight 1 / (k + 1).
  const uw = USERS.map((_, k) => 1 / (k + 1));
  const utotal = uw.reduce((s, w) => s + w, 0);
  const pickUser = () => {
    let x = rnd() * utotal;
    for (let k = 0; k < USERS.length; k++) if ((x -= uw[k]!) < 0) return k;
    return 0;
  };
  return (i) => {
    const [action, , method] = pickAction();
    const k = pickUser();
    const failedLogin = action === 'LOGIN_FAILED';
    const success = !failedLogin && rnd() >= 0.04;
    const statusCode = failedLogin ? 401 : success ? (method === 'PUT' ? 201 : 200) : [400, 403, 404, 409][Math.floor(rnd() * 4)]!;
    const table = TABLES[Math.floor(rnd() * rnd() * TABLES.length)]!;
    const keyNo = Math.floor(rnd() * KEYS_PER_TABLE);
    const onEntity = ['GET_ENTITY', 'PUT_ENTITY', 'DELETE_ENTITY'].includes(action);
    const onTable = onEntity || ['QUERY', 'AQL', 'VECTOR_SEARCH', 'FULLTEXT_SEARCH', 'GRAPH_TRAVERSE'].includes(action);
    return {
      user: failedLogin ? null : USERS[k]!,
      userId: failedLogin ? null : k === 0 ? 'env-admin' : `key-${k}`,
      action,
      entityType: onTable ? table : action.endsWith('_KEY') || action === 'LIST_KEYS' ? 'api_key' : null,
      entityId: onEntity ? `${table}:${keyNo}` : action === 'COMMIT_TRANSACTION' ? `transaction:${i}` : null,
      oldValue: null,
      newValue: null,
      success,
      statusCode,
      ipAddress: `10.0.${k}.${(k * 7) % 250}`,
      sessionId: `req-${i.toString(36)}`,
      errorMessage: success ? null : failedLogin ? 'invalid credentials' : 'request refused',
      seq: success && (action === 'PUT_ENTITY' || action === 'DELETE_ENTITY') ? i : null,
      method,
      route: onEntity ? '/entities/:key' : '/api/other',
    };
  };
}

interface QuerySpec {
  name: string;
  /** The query string of GET /api/audit. */
  qs: string;
  /** The same filter over a stored entry (the in-process full scan). */
  match: (e: ScanEntry) => boolean;
  /** First entry of the page (0-based, newest first) and page size. */
  skip: number;
  pageSize: number;
  /** Requests of the bench (GET /api/audit, by admin) can add matches: compare counts as >=. */
  growsWithRequests: boolean;
}

interface ScanEntry {
  id: number;
  timestamp: string;
  user: string | null;
  action: string;
  entityId: string | null;
  success: boolean;
}

// ------------------------------------------------------------------ the area

export const auditArea: Area = {
  name: 'audit',
  description:
    'GET/PUT with THEMIS_AUDIT=all|writes vs off (ratios); GET /api/audit latency over 1M entries vs a full scan; CSV export rows/s and RSS',
  async run({ settings }) {
    const tool = detectTool();
    log(`audit: load generator ${tool.version}`);
    const results: ScenarioResult[] = [];
    const tables: ReportTable[] = [];
    const notes: string[] = [];

    const only = process.env.BENCH_AUDIT_ONLY;
    if (only !== undefined && only !== 'throughput' && only !== 'query') throw new Error('BENCH_AUDIT_ONLY must be throughput or query');
    // 1. Throughput with and without the audit log.
    if (only !== 'query') {
      const tp = await throughput(settings);
      results.push(...tp.results);
      tables.push(tp.table);
    }

    // 2. + 3. Query latency and CSV export over a 1M-entry log.
    if (only !== 'throughput') {
      const q = await queryLatency(settings);
      results.push(...q.results);
      tables.push(...q.tables);
      notes.push(...q.notes);
    }

    // Throughput variants: the ratio is the median of the per-round ratios (the aggregate stays in the JSON).
    applyBaselines(results);
    return {
      title: 'audit (THEMIS_AUDIT cost on GET/PUT; GET /api/audit over 1M entries; CSV export)',
      tool: tool.version,
      scenarios: results,
      tables,
      notes: [
        'Throughput rows: ratio = median over rounds of (req/s at the level ÷ req/s of the THEMIS_AUDIT=off server in the same round); goal >= 0.85 for all (issue 16). The three servers run side by side (THEMIS_DURABILITY=sync) with the same data; slots alternate, rotating the order every round, so machine noise hits every level alike.',
        'Query rows (audit-q-*): sequential GET /api/audit requests on one keep-alive connection (round-robin over the queries, so noise hits all); req/s there is 1 ÷ mean latency. Their ratio column is "×": full-scan time in process ÷ HTTP median (how many times faster the indexes make the query, HTTP included).',
        ...notes,
      ],
    };
  },
};

// ------------------------------------------------------------------ 1. throughput

async function throughput(settings: BenchSettings): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const rounds = Math.round(envNumber('BENCH_AUDIT_ROUNDS', 10));
  const slotS = envNumber('BENCH_AUDIT_SLOT_S', 3);
  const levels: Level[] = process.env.BENCH_AUDIT_WRITES === '0' ? ['off', 'all'] : [...LEVELS];
  // BENCH_AUDIT_KINDS=put measures PUT on servers whose logs did not first take the GET slots' entries.
  const kinds = (process.env.BENCH_AUDIT_KINDS ?? 'get,put').split(',').map((k) => k.trim());
  if (kinds.length === 0 || kinds.some((k) => k !== 'get' && k !== 'put')) throw new Error('BENCH_AUDIT_KINDS must list get and/or put');
  const KINDS = kinds as ('get' | 'put')[];
  const servers = new Map<Level, ThemisServer>();
  const json = { 'Content-Type': 'application/json' };
  try {
    for (const level of levels) {
      const s = await startThemis({ durability: 'sync', env: { THEMIS_AUDIT: level } });
      servers.set(level, s);
      const r = await s.req('PUT', GET_PATH, PUT_BODY);
      await r.arrayBuffer();
      if (r.status !== 201) throw new Error(`seed PUT on the ${level} server: ${r.status}`);
    }
    const slot = new Map<string, ScenarioResult[]>();
    const slotSettings: BenchSettings = { ...settings, durationS: slotS };
    for (const kind of KINDS) {
      for (let round = 0; round < rounds; round++) {
        // Rotate the order every round: off all writes, all writes off, writes off all, ...
        for (const level of rotation(levels, round)) {
          const name = `${kind}-audit-${level}`;
          const server = servers.get(level)!;
          const list = slot.get(name) ?? [];
          slot.set(name, list);
          log(`audit: ${kind} round ${round + 1}/${rounds}: THEMIS_AUDIT=${level}`);
          const prefix = `/entities/bench:${kind}-${level}-r${round}-`;
          list.push(
            await runScenario(
              {
                name,
                description:
                  kind === 'get'
                    ? `GET ${GET_PATH} (admin key), server with THEMIS_AUDIT=${level}, THEMIS_DURABILITY=sync; ${rounds} rounds of ${slotS} s alternating with the other levels.`
                    : `PUT /entities/bench:<n> (a distinct key per request, ${Buffer.byteLength(PUT_BODY)}-byte body), THEMIS_DURABILITY=sync (every 201 fsynced), THEMIS_AUDIT=${level}; ${rounds} rounds of ${slotS} s alternating with the other levels.`,
                server: `themis (sync, audit ${level})`,
                load:
                  kind === 'get'
                    ? { base: server.base, method: 'GET', path: GET_PATH, headers: { Authorization: AUTH_HEADER } }
                    : {
                        base: server.base,
                        method: 'PUT',
                        path: prefix,
                        distinctPathPrefix: prefix,
                        headers: { Authorization: AUTH_HEADER, ...json },
                        body: PUT_BODY,
                      },
                ...(kind === 'put' ? { warmupPathPrefix: `/entities/bench:warm-${level}-` } : {}),
                themis: { server, route: ROUTE },
                warmupS: list.length === 0 ? settings.warmupS : 0,
                ...(level === 'off'
                  ? {}
                  : {
                      baseline: `${kind}-audit-off`,
                      ...(level === 'all' ? { target: { kind: 'ratio' as const, min: 0.85, label: '>= 85% of audit off' } } : {}),
                    }),
              },
              slotSettings,
            ),
          );
        }
      }
    }
    // The audited servers really wrote entries: ask each for its log's size.
    const audited: Record<string, number> = {};
    for (const [level, s] of servers) {
      const r = await s.req('GET', '/api/audit?page_size=1');
      const body = (await r.json()) as { totalCount?: number };
      audited[level] = r.status === 200 ? (body.totalCount ?? -1) : -r.status;
    }
    const results: ScenarioResult[] = [];
    const rows: string[][] = [];
    for (const kind of KINDS) {
      const off = slot.get(`${kind}-audit-off`)!;
      for (const level of levels) {
        const rs = slot.get(`${kind}-audit-${level}`)!;
        const merged = mergeRounds(rs);
        const ratios = rs.map((r, i) => r.load.rps / off[i]!.load.rps);
        if (level !== 'off') {
          merged.metrics = { ...merged.metrics, ...roundRatioMetrics(ratios) };
        }
        const groups = rs.map((r) => r.serverSide?.avgGroupCommit).filter((x): x is number => x !== undefined);
        merged.metrics = {
          ...merged.metrics,
          audit_entries_after_run: audited[level] ?? -1,
          ...(groups.length > 0 ? { avg_commits_per_group: r1(median(groups)) } : {}),
        };
        results.push(merged);
        rows.push([
          merged.name,
          ...rs.map((r, i) => `${fmt(r.load.rps)}${level === 'off' ? '' : ` (${pct(ratios[i]!)})`}`),
          level === 'off' ? '(reference)' : `**${pct(median(ratios))}**`,
          merged.serverMainThreadCores?.toFixed(2) ?? '',
          merged.serverCpuCores?.toFixed(2) ?? '',
          groups.length > 0 ? r1(median(groups)).toString() : '',
        ]);
      }
    }
    return {
      results,
      table: {
        title: 'Throughput per round (req/s and ratio to THEMIS_AUDIT=off in the same round)',
        columns: [
          'scenario',
          ...Array.from({ length: rounds }, (_, i) => `round ${i + 1}`),
          'median ratio',
          'server event loop (cores)',
          'server all threads (cores)',
          'commits per group commit (median)',
        ],
        rows,
        notes: [
          `${slotS} s per slot; in each round every level runs once (the order rotates). Entries in each server's log after the run (GET /api/audit totalCount): ${Object.entries(
            audited,
          )
            .map(([l, n]) => `${l} ${fmt(n)}`)
            .join(', ')} (off: the log stays empty; writes: only writes).`,
        ],
      },
    };
  } finally {
    await Promise.allSettled([...servers.values()].map((s) => s.stop()));
  }
}

// ------------------------------------------------------------------ 2. + 3. a 1M-entry log

async function buildLog(dir: string, n: number, endMs: number, spanMs: number): Promise<{ seconds: number; rare: string }> {
  const engine = await Engine.open(path.join(dir, 'db'), { sync: false });
  let clock = endMs - spanMs;
  const a = new AuditLog(engine, createLogger('silent'), { level: 'all', flushMs: 50, now: () => clock });
  await a.open();
  const gen = recordGenerator(16);
  const t0 = performance.now();
  let rare = '';
  const step = spanMs / n;
  for (let i = 0; i < n; i++) {
    clock = Math.floor(endMs - spanMs + i * step);
    const rec = gen(i);
    // The rare value: the key of the first entity entry from the middle of the log on (keys repeat only by chance).
    if (rare === '' && i >= Math.floor(n / 2) && rec.entityId !== null && !rec.entityId.startsWith('transaction:')) rare = rec.entityId;
    a.record(rec);
    if ((i + 1) % 4_000 === 0) await a.flush();
    if ((i + 1) % 200_000 === 0) log(`audit: built ${fmt(i + 1)} entries (${r1((performance.now() - t0) / 1000)} s)`);
  }
  await a.close();
  const seconds = (performance.now() - t0) / 1000;
  await engine.close();
  return { seconds, rare: rare || `${TABLES[0]}:4242` };
}

/** Full scan of every stored entry in process (newest first), each decoded, the filter in JS: the count and the page's ids. */
async function fullScan(engine: Engine, q: QuerySpec): Promise<{ ms: number; count: number; pageIds: number[] }> {
  const ks = keyspace('audit');
  const t0 = performance.now();
  let count = 0;
  const pageIds: number[] = [];
  // The segments ('S' firstId -> records), newest first.
  for await (const chunk of engine.scanChunks(ks, { gte: Buffer.of(0x53), lt: Buffer.of(0x54), reverse: true }, 64, 64)) {
    for (const [k, v] of chunk) {
      const seg = new Segment(segmentKeyId(k), v);
      const all = seg.entries();
      for (let i = all.length - 1; i >= 0; i--) {
        const e = all[i] as ScanEntry;
        if (!q.match(e)) continue;
        if (count >= q.skip && pageIds.length < q.pageSize) pageIds.push(e.id);
        count++;
      }
    }
  }
  return { ms: performance.now() - t0, count, pageIds };
}

async function queryLatency(settings: BenchSettings): Promise<{ results: ScenarioResult[]; tables: ReportTable[]; notes: string[] }> {
  const n = Math.round(envNumber('BENCH_AUDIT_ENTRIES', 1_000_000));
  const reps = Math.round(envNumber('BENCH_AUDIT_QUERY_REPEATS', 20));
  const scanReps = Math.round(envNumber('BENCH_AUDIT_SCAN_REPEATS', 3));
  const spanMs = 30 * DAY;
  const endMs = Date.now() - 60_000;
  const dir = tempDir('themis-bench-audit-');
  const results: ScenarioResult[] = [];
  const tables: ReportTable[] = [];
  const notes: string[] = [];
  let server: ThemisServer | undefined;
  try {
    log(`audit: building ${fmt(n)} entries in process (AuditLog.record, ${fmt(spanMs / DAY)} days)`);
    const built = await buildLog(dir, n, endMs, spanMs);
    const bytes = dirBytes(path.join(dir, 'db'));
    log(`audit: built in ${r1(built.seconds)} s (${fmt(n / built.seconds)} entries/s), ${r1(bytes / 1048576)} MiB on disk`);

    const winStart = endMs - spanMs / 2;
    const winEnd = winStart + 3_600_000;
    const queries: QuerySpec[] = [
      { name: 'no-filter', qs: 'page=1&page_size=100', match: () => true, skip: 0, pageSize: 100, growsWithRequests: true },
      {
        name: 'user',
        qs: 'user=user07&page_size=100',
        match: (e) => e.user === 'user07',
        skip: 0,
        pageSize: 100,
        growsWithRequests: false,
      },
      {
        name: 'action-success',
        qs: 'action=PUT_ENTITY&success=false&page_size=100',
        match: (e) => e.action === 'PUT_ENTITY' && e.success === false,
        skip: 0,
        pageSize: 100,
        growsWithRequests: false,
      },
      {
        name: 'entity-id-rare',
        qs: `entity_id=${encodeURIComponent(built.rare)}&page_size=100`,
        match: (e) => e.entityId === built.rare,
        skip: 0,
        pageSize: 100,
        growsWithRequests: false,
      },
      {
        name: 'window-1h-action',
        qs: `start=${winStart}&end=${winEnd}&action=GET_ENTITY&page_size=100`,
        match: (e) => {
          if (e.action !== 'GET_ENTITY') return false;
          const t = Date.parse(e.timestamp);
          return t >= winStart && t <= winEnd;
        },
        skip: 0,
        pageSize: 100,
        growsWithRequests: false,
      },
      { name: 'deep-page', qs: 'page=500&page_size=100', match: () => true, skip: 49_900, pageSize: 100, growsWithRequests: true },
    ];

    // The peer: the same count and page by a full scan in process (before the server owns the directory).
    const scans = new Map<string, { ms: number[]; count: number; pageIds: number[] }>();
    {
      const engine = await Engine.open(path.join(dir, 'db'), { sync: false });
      try {
        for (let r = 0; r < scanReps; r++) {
          for (const q of queries) {
            const s = await fullScan(engine, q);
            const acc = scans.get(q.name) ?? { ms: [], count: s.count, pageIds: s.pageIds };
            acc.ms.push(s.ms);
            scans.set(q.name, acc);
            log(`audit: full scan ${q.name}: ${fmt(s.ms)} ms, ${fmt(s.count)} matches`);
          }
        }
      } finally {
        await engine.close();
      }
    }

    server = await startThemis({
      durability: 'sync',
      dataDir: dir,
      env: { THEMIS_AUDIT: 'all', THEMIS_RATE_LIMIT_AUDIT: 'off', THEMIS_RETENTION_INTERVAL_MS: 'off' },
    });
    log(`audit: server ready on the ${fmt(n)}-entry log in ${fmt(server.readyMs)} ms`);
    await waitIdle(server.proc.pid);

    const lat = new Map<string, number[]>(queries.map((q) => [q.name, []]));
    const seen = new Map<string, { count: number; ids: number[]; status: number }>();
    const one = async (q: QuerySpec): Promise<number> => {
      const t0 = performance.now();
      const r = await fetch(`${server!.base}/api/audit?${q.qs}`, { headers: { authorization: AUTH_HEADER } });
      const body = (await r.json()) as { totalCount: number; entries: { id: number }[] };
      const ms = performance.now() - t0;
      seen.set(q.name, { count: body.totalCount, ids: (body.entries ?? []).map((e) => e.id), status: r.status });
      return ms;
    };
    // Warm-up: two of each; then round-robin.
    for (let i = 0; i < 2; i++) for (const q of queries) await one(q);
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) for (const q of queries) lat.get(q.name)!.push(await one(q));
    log(`audit: ${reps} × ${queries.length} queries in ${r1((performance.now() - t0) / 1000)} s`);

    const rows: string[][] = [];
    for (const q of queries) {
      const l = lat.get(q.name)!;
      const s: Summary = summarize(l);
      const scan = scans.get(q.name)!;
      const scanMs = median(scan.ms);
      const got = seen.get(q.name)!;
      const problems: string[] = [];
      if (got.status !== 200) problems.push(`GET /api/audit?${q.qs} answered ${got.status}`);
      if (q.growsWithRequests ? got.count < scan.count : got.count !== scan.count)
        problems.push(`totalCount ${got.count}, the full scan counted ${scan.count}`);
      // A page of a query the bench's own requests cannot match must be exactly the scan's page.
      if (!q.growsWithRequests && got.ids.join() !== scan.pageIds.join()) problems.push('the page differs from the full scan’s');
      const load = nodeLoadResult({
        latencies: l,
        durationS: l.reduce((a, b) => a + b, 0) / 1000,
        toolVersion: 'node fetch, one request at a time',
        raw: `${l.length} × GET /api/audit?${q.qs}`,
      });
      results.push({
        name: `audit-q-${q.name}`,
        description: `GET /api/audit?${q.qs} over ${fmt(n)} entries (sequential, ${reps} times, round-robin with the other queries). Peer: full scan in process (${scanReps}×, median).`,
        server: 'themis (sync, audit all)',
        method: 'GET',
        path: `/api/audit?${q.qs}`,
        load,
        valid: problems.length === 0,
        problems,
        warnings: [],
        ratio: scanMs / s.p50,
        metrics: {
          p50_ms: r3(s.p50),
          p95_ms: r3(percentile(l, 95)),
          total_count: got.count,
          full_scan_ms: r3(scanMs),
          full_scan_count: scan.count,
          speedup_vs_scan: r1(scanMs / s.p50),
        },
      });
      rows.push([
        q.name,
        `\`${q.qs.length > 60 ? `${q.qs.slice(0, 57)}...` : q.qs}\``,
        fmt(got.count),
        s.p50.toFixed(1),
        percentile(l, 95).toFixed(1),
        fmt(scanMs),
        `${r1(scanMs / s.p50)}×`,
        problems.length === 0 ? 'ok' : problems.join('; '),
      ]);
    }
    tables.push({
      title: `GET /api/audit over ${fmt(n)} entries (ms; ${reps} sequential requests each) vs a full scan in process`,
      columns: ['query', 'query string', 'totalCount', 'p50 ms', 'p95 ms', 'full scan ms (median)', 'scan ÷ p50', 'check'],
      rows,
      notes: [
        `Data: ${fmt(n)} entries built in process with AuditLog.record() in ${r1(built.seconds)} s (${fmt(n / built.seconds)} entries/s; ${r1(bytes / 1048576)} MiB on disk), timestamps spread evenly over ${fmt(spanMs / DAY)} days ending a minute before the run; 40 users (Zipf), 15 actions (GET_ENTITY 55 %, PUT_ENTITY 14 %, ...), 20 tables × 50,000 keys, ~5 % failures. The rare entity id is ${built.rare}.`,
        'Full scan: every stored entry read newest first (engine.scanChunks over the segments), decoded, the filter in JS, counting matches and collecting the page — what GET /api/audit would cost without its indexes. The server was not running then (same machine, same data).',
        'check: totalCount equals the scan’s count and the page holds the same ids (no-filter and deep-page: >=, the bench’s own GET /api/audit requests are audited too).',
      ],
    });

    // 3. CSV export.
    const csv = await csvExport(server, n, median(scans.get('no-filter')!.ms));
    if (csv.result) results.push(csv.result);
    tables.push(csv.table);
  } finally {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { results, tables, notes };
}

function percentile(xs: number[], p: number): number {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))]!;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) n += fs.statSync(path.join(dir, f)).size;
  return n;
}

const CSV_PATH = '/api/audit/export/csv';

async function csvExport(server: ThemisServer, n: number, scanMs: number): Promise<{ result?: ScenarioResult; table: ReportTable }> {
  const title = `CSV export: GET ${CSV_PATH}?all=true over ${fmt(n)} entries`;
  const probe = await fetch(`${server.base}${CSV_PATH}?page_size=1`, { headers: { authorization: AUTH_HEADER } });
  await probe.arrayBuffer();
  if (probe.status === 404) {
    log('audit: CSV export skipped: route missing (404)');
    return {
      table: {
        title,
        columns: ['result'],
        rows: [['skipped: route missing (404)']],
        notes: [`GET ${CSV_PATH}?page_size=1 answered 404: this build has no CSV export route.`],
      },
    };
  }
  const pid = server.proc.pid;
  const rssBefore = rssOf(pid) ?? NaN;
  const samples: number[] = [];
  const timer = setInterval(() => {
    const r = rssOf(pid);
    if (r !== undefined) samples.push(r);
  }, 100);
  let bytes = 0;
  let newlines = 0;
  let status = 0;
  let ttfbMs = NaN;
  const t0 = performance.now();
  try {
    const r = await fetch(`${server.base}${CSV_PATH}?all=true`, { headers: { authorization: AUTH_HEADER } });
    status = r.status;
    ttfbMs = performance.now() - t0;
    if (r.body) {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
      }
    }
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - t0;
  await sleep(200);
  const rssAfter = rssOf(pid) ?? NaN;
  // Rows: lines minus the header (the bench's values hold no line breaks; a trailing newline ends the last row).
  const rows = Math.max(0, newlines - 1);
  const rowsPerS = rows / (ms / 1000);
  const scanRate = n / (scanMs / 1000);
  const peak = samples.length > 0 ? Math.max(...samples) : NaN;
  const problems: string[] = [];
  if (status !== 200) problems.push(`answered ${status}`);
  if (rows < n) problems.push(`${fmt(rows)} rows, expected at least ${fmt(n)}`);
  const result: ScenarioResult = {
    name: 'csv-export-all',
    description: `GET ${CSV_PATH}?all=true: every entry (${fmt(n)}+) streamed as CSV; rows/s, server RSS sampled every 100 ms. Ratio: rows/s ÷ entries/s of the in-process full scan (read + JSON.parse).`,
    server: 'themis (sync, audit all)',
    method: 'GET',
    path: `${CSV_PATH}?all=true`,
    load: nodeLoadResult({
      latencies: [ms],
      durationS: ms / 1000,
      toolVersion: 'node fetch, streamed',
      raw: `${rows} rows, ${bytes} bytes`,
    }),
    valid: problems.length === 0,
    problems,
    warnings: [],
    ratio: rowsPerS / scanRate,
    metrics: {
      rows,
      bytes,
      seconds: r3(ms / 1000),
      rows_per_s: Math.round(rowsPerS),
      mb_per_s: r1(bytes / 1048576 / (ms / 1000)),
      ttfb_ms: r1(ttfbMs),
      rss_before_mib: r1(rssBefore),
      rss_peak_mib: r1(peak),
      rss_after_mib: r1(rssAfter),
      rss_growth_mib: r1(peak - rssBefore),
      full_scan_entries_per_s: Math.round(scanRate),
    },
  };
  log(`audit: CSV export ${fmt(rows)} rows in ${r1(ms / 1000)} s (${fmt(rowsPerS)} rows/s), RSS ${r1(rssBefore)} → peak ${r1(peak)} MiB`);
  return {
    result,
    table: {
      title,
      columns: [
        'status',
        'rows',
        'MB',
        'seconds',
        'rows/s',
        '÷ full-scan rate',
        'first byte ms',
        'RSS before MiB',
        'RSS peak MiB',
        'RSS after MiB',
      ],
      rows: [
        [
          String(status),
          fmt(rows),
          r1(bytes / 1e6).toString(),
          r1(ms / 1000).toString(),
          fmt(rowsPerS),
          pct(rowsPerS / scanRate),
          r1(ttfbMs).toString(),
          r1(rssBefore).toString(),
          r1(peak).toString(),
          r1(rssAfter).toString(),
        ],
      ],
      notes: [
        `${samples.length} RSS samples (VmRSS of the server, every 100 ms). A streamed export keeps RSS flat (bounded growth); one built in memory grows with the row count.`,
        `Full-scan rate (the peer): ${fmt(scanRate)} entries/s read and parsed in process.`,
        ...(problems.length > 0 ? [`problems: ${problems.join('; ')}`] : []),
      ],
    },
  };
}
