import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { postOk, runBatches, type LoadStats } from '../lib/batches.js';
import { cpuSeconds, foreignCores, foreignWriteMBps, ownPids, snapshot } from '../lib/contention.js';
import { HttpConnection } from '../lib/http-client.js';
import { detectTool, nodeLoadResult, type LoadResult } from '../lib/load.js';
import { runPgbench, startPostgres, type PgServer } from '../lib/postgres.js';
import { waitIdle } from '../lib/process-info.js';
import { median, mergeRounds } from '../lib/scenario.js';
import { ADMIN_KEY, AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { summarize } from '../lib/stats.js';
import type { Area, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, prng, sleep } from '../lib/util.js';
import { hasTaskset } from '../lib/cpu.js';
import { runWrkLua } from '../lib/wrk-lua.js';

/**
 * ThemisTS side by side with a throwaway PostgreSQL 15 on the same machine:
 * the same users documents (the aql area's generator and seed), PostgreSQL
 * with jsonb + btree expression indexes, fsync and synchronous_commit on,
 * ThemisTS with THEMIS_DURABILITY=sync. Every scenario alternates ThemisTS,
 * PostgreSQL, ThemisTS, … for BENCH_PEER_ROUNDS rounds; medians and the ratio
 * of the medians are reported, once with both servers (all their threads /
 * processes) pinned to CPU 0 and the load generator to CPU 1, once unpinned.
 */

// ------------------------------------------------------------------ data (as in areas/aql.ts)

const USERS_PER_CITY = 10;
const AGE_MIN = 18;
const AGE_SPAN = 72; // ages 18..89
const AGE_MAX = AGE_MIN + AGE_SPAN - 1;
const COUNTRIES = 50;
const DATA_SEED = 0x5eed_0a91;
const RANGE_WIDTH = 10;
const LIMIT = 10;
const BATCH = 1_000;
const LOAD_CONCURRENCY = 4;
const CHECKS = 20;
/** Pace of the /health and GET probes in the health scenario (one request per probe connection every PROBE_MS). */
const PROBE_MS = 10;
const HEALTH_COLLECT_CONNECTIONS = 2;
const HEALTH_GOAL_MS = 50;
const AQL = '/query/aql';

const PG_SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '256MB',
  max_connections: '100',
  huge_pages: 'off',
  log_min_messages: 'warning',
};

const Q = {
  eq: `FOR u IN users FILTER u.city == @c LIMIT ${LIMIT} RETURN u`,
  range: `FOR u IN users FILTER u.age >= @lo AND u.age <= @hi SORT u.age DESC LIMIT ${LIMIT} RETURN u`,
  collect: 'FOR u IN users COLLECT city = u.city WITH COUNT INTO n RETURN {city, n}',
  /** An aggregate no index answers: every document is read (and the /health probe's background load). */
  sum: 'FOR u IN users COLLECT city = u.city AGGREGATE total = SUM(u.age) RETURN {city, total}',
} as const;
const SQL = {
  eq: `SELECT doc FROM users WHERE doc->>'city' = $1 LIMIT ${LIMIT}`,
  range: `SELECT doc FROM users WHERE (doc->>'age')::int >= $1 AND (doc->>'age')::int <= $2 ORDER BY (doc->>'age')::int DESC LIMIT ${LIMIT}`,
  collect: `SELECT doc->>'city' AS city, count(*) AS n FROM users GROUP BY 1`,
  sum: `SELECT doc->>'city' AS city, sum((doc->>'age')::int) AS total FROM users GROUP BY 1`,
  get: 'SELECT doc FROM users WHERE key = $1',
} as const;

interface Data {
  users: number;
  cities: number;
  age: Uint8Array;
  country: Uint8Array;
  ageHist: Uint32Array;
}

const countryName = (i: number) => `C${String(i).padStart(2, '0')}`;
const ageGroup = (age: number) => Math.floor(age / 10) * 10;

function generate(users: number): Data {
  const rnd = prng(DATA_SEED);
  const age = new Uint8Array(users);
  const country = new Uint8Array(users);
  const ageHist = new Uint32Array(256);
  for (let n = 0; n < users; n++) {
    age[n] = AGE_MIN + Math.floor(rnd() * AGE_SPAN);
    country[n] = Math.floor(rnd() * COUNTRIES);
    ageHist[age[n]!]!++;
  }
  return { users, cities: Math.max(1, Math.round(users / USERS_PER_CITY)), age, country, ageHist };
}

const userBlob = (d: Data, n: number) =>
  `{"name":"user ${n}","city":"c${n % d.cities}","age":${d.age[n]},"age_group":${ageGroup(d.age[n]!)},"country":"${countryName(d.country[n]!)}"}`;

function topAges(d: Data, lo: number, hi: number, limit: number): number[] {
  const out: number[] = [];
  for (let a = hi; a >= lo && out.length < limit; a--) for (let c = 0; c < d.ageHist[a]! && out.length < limit; c++) out.push(a);
  return out;
}

const spread = (k: number, n: number) => (k * 7_919 + 17) % n;

type Doc = Record<string, unknown>;
function asDoc(e: unknown): Doc {
  const v = typeof e === 'string' ? (JSON.parse(e) as unknown) : e;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`not an object: ${JSON.stringify(e).slice(0, 200)}`);
  return v as Doc;
}
/** JSON with sorted keys (documents from jsonb come back with reordered keys). */
const canon = (x: Doc) =>
  JSON.stringify(
    Object.keys(x)
      .sort()
      .map((k) => [k, x[k]]),
  );
const sameMultiset = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

// ------------------------------------------------------------------ pinning

type Mode = 'pinned' | 'unpinned';

function setAffinity(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface CpuPlan {
  mode: Mode;
  /** Both servers (every thread / process). */
  server: string;
  /** wrk, pgbench, the bench process. */
  load: string;
  /** taskset list for spawned load generators (null: none). */
  loadTaskset: string | null;
}

const ALL_CPUS = `0-${os.cpus().length - 1}`;

function cpuPlan(mode: Mode): CpuPlan {
  const n = os.cpus().length;
  if (mode === 'unpinned') return { mode, server: ALL_CPUS, load: ALL_CPUS, loadTaskset: null };
  const load = n === 2 ? '1' : `1-${n - 1}`;
  return { mode, server: '0', load, loadTaskset: load };
}

// ------------------------------------------------------------------ measuring

interface Servers {
  themis: ThemisServer;
  pg: PgServer;
}

/** CPU seconds of all PostgreSQL processes: the postmaster (with its reaped backends) plus the live children. */
function pgCpuSeconds(p: PgServer): number {
  let s = 0;
  for (const pid of p.pids()) s += cpuSeconds(pid) ?? 0;
  return s;
}

function registerPg(p: PgServer): void {
  for (const pid of p.pids()) ownPids.add(pid);
}

type Engine = 'themis' | 'pg';
const ENGINE_LABEL: Record<Engine, string> = { themis: 'ThemisTS', pg: 'PostgreSQL' };

interface RunOut {
  result: LoadResult;
  serverCores: number;
  peerIdleCores: number;
  loadGenCores: number;
  otherCores?: number;
  otherWriteMBps?: number;
}

/** Warm up, then measure one run of one engine; CPU of the engine under test, of the idle peer and of the load generator. */
async function measure(
  engine: Engine,
  srv: Servers,
  warmupS: number,
  durationS: number,
  drive: (durationS: number) => Promise<LoadResult>,
  settleAfterWarmup: boolean,
): Promise<RunOut> {
  // Work the server still does after the load generator stopped (a queued full-scan COLLECT, LevelDB compaction,
  // WAL flushes) must not spill into the next measured window, least of all the other engine's.
  const settle = () => (engine === 'themis' ? waitIdle(srv.themis.proc.pid, 10_000) : waitIdlePg(srv.pg, 10_000));
  if (warmupS > 0) {
    await drive(warmupS);
    if (settleAfterWarmup) await settle();
  }
  await sleep(200);
  registerPg(srv.pg);
  const cpu = () => ({ themis: cpuSeconds(srv.themis.proc.pid!) ?? 0, pg: pgCpuSeconds(srv.pg), self: cpuSeconds('self') ?? 0 });
  const snap0 = snapshot();
  const c0 = cpu();
  const t0 = performance.now();
  const result = await drive(durationS);
  const wall = (performance.now() - t0) / 1000;
  // Let the backends of a finished pgbench exit and be reaped into the postmaster's counters.
  await sleep(150);
  const wall2 = (performance.now() - t0) / 1000;
  registerPg(srv.pg);
  const c1 = cpu();
  const snap1 = snapshot();
  const cores = (a: number, b: number, w: number) => Math.round(((b - a) / w) * 100) / 100;
  const other = foreignCores(snap0, snap1);
  const writes = foreignWriteMBps(snap0, snap1);
  await settle();
  return {
    result,
    serverCores: engine === 'themis' ? cores(c0.themis, c1.themis, wall) : cores(c0.pg, c1.pg, wall),
    peerIdleCores: engine === 'themis' ? cores(c0.pg, c1.pg, wall2) : cores(c0.themis, c1.themis, wall2),
    loadGenCores: cores(c0.self, c1.self, wall),
    ...(other !== undefined ? { otherCores: Math.round(other * 1000) / 1000 } : {}),
    ...(writes !== undefined ? { otherWriteMBps: Math.round(writes * 100) / 100 } : {}),
  };
}

function pgLoadResult(r: Awaited<ReturnType<typeof runPgbench>>): LoadResult {
  const lr = nodeLoadResult({
    latencies: r.latenciesMs,
    durationS: r.durationS,
    toolVersion: r.version,
    raw: r.raw,
    requests: r.transactions,
    errors: r.failed,
  });
  return { ...lr, tool: 'node', rps: r.tps, threads: 1, toolVersion: r.version };
}

/** A ScenarioResult for one run (round). */
function runResult(name: string, description: string, engine: Engine, what: string, out: RunOut): ScenarioResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (out.result.requests === 0) problems.push('no request completed');
  if (out.result.non2xx > 0) problems.push(`${out.result.non2xx} non-2xx responses`);
  if (out.result.errors > Math.max(10, out.result.requests * 0.001)) problems.push(`${out.result.errors} errors/failed transactions`);
  else if (out.result.errors > 0) warnings.push(`${out.result.errors} errors/failed transactions`);
  if ((out.otherCores ?? 0) > 0.1)
    warnings.push(`MACHINE BUSY: other processes used ${out.otherCores!.toFixed(2)} cores during the window`);
  if ((out.otherWriteMBps ?? 0) > 1)
    warnings.push(`DISK BUSY: other processes wrote ${out.otherWriteMBps!.toFixed(1)} MB/s during the window`);
  if (out.peerIdleCores > 0.1) warnings.push(`the idle peer server used ${out.peerIdleCores.toFixed(2)} cores during the window`);
  return {
    name,
    description,
    server: engine === 'themis' ? 'ThemisTS (sync)' : 'PostgreSQL 15',
    method: engine === 'themis' ? 'HTTP' : 'SQL',
    path: what,
    load: out.result,
    ...(out.otherCores !== undefined ? { otherCpuCores: out.otherCores } : {}),
    ...(out.otherWriteMBps !== undefined ? { otherWriteMBps: out.otherWriteMBps } : {}),
    serverCpuCores: out.serverCores,
    loadGenCpuCores: out.loadGenCores,
    valid: problems.length === 0,
    problems,
    warnings,
    metrics: { peer_idle_cores: out.peerIdleCores },
  };
}

// ------------------------------------------------------------------ load generators

const luaStr = (s: string) => {
  let eq = '=';
  while (s.includes(`]${eq}]`)) eq += '=';
  return `[${eq}[${s}]${eq}]`;
};
const LUA_HEADERS = `headers = { ["Authorization"] = ${luaStr(AUTH_HEADER)}, ["Content-Type"] = "application/json" }`;

/** Body of a POST /query/aql as a Lua string.format template (`%d` placeholders for bind values). */
function aqlFormat(query: string, bindFormat: string): string {
  return `{"query":${JSON.stringify(query)},"bind_vars":${bindFormat}}`.replace(/%(?!d)/g, '%%');
}

interface PeerScenario {
  name: string;
  title: string;
  clients: number;
  what: string;
  /** Lua `request()` body for wrk. */
  lua: string;
  /** pgbench script. */
  pgbench: string;
  /** Report time per query (ms) besides the rate. */
  perQueryMs?: boolean;
  unit: string;
}

// ------------------------------------------------------------------ area

interface ModeResult {
  mode: Mode;
  rows: SummaryRow[];
  details: string[][];
  loadRounds: string[][];
  scenarios: ScenarioResult[];
  checks: string[];
  plans: string[][];
  health: HealthOut[];
  notes: string[];
}

interface SummaryRow {
  scenario: string;
  themis: string;
  pg: string;
  /** ThemisTS speed ÷ PostgreSQL speed (> 1: ThemisTS faster). */
  ratio: number | undefined;
  ratioNote?: string;
}

interface HealthOut {
  round: number;
  collectQps: number;
  health: { p50: number; p99: number; max: number; n: number; serviceP99: number };
  get: { p50: number; p99: number; max: number; n: number; serviceP99: number };
  idle: boolean;
  bad: number;
}

export const peerArea: Area = {
  name: 'peer',
  description:
    'ThemisTS vs a throwaway PostgreSQL 15 (jsonb, expression indexes, fsync on) on the same 100k users: AQL/SQL equality, range+sort+limit, COLLECT/GROUP BY, bulk load, index build, point reads, durable upserts, /health p99 under COLLECT; pinned and unpinned, alternating rounds',
  async run({ settings }) {
    const USERS = Math.round(envNumber('BENCH_PEER_USERS', 100_000));
    if (USERS < 1_000) throw new Error('BENCH_PEER_USERS must be at least 1000');
    const ROUNDS = Math.round(envNumber('BENCH_PEER_ROUNDS', 3));
    const durationS = process.env.BENCH_DURATION_S !== undefined && process.env.BENCH_DURATION_S !== '' ? settings.durationS : 5;
    const warmupS = process.env.BENCH_WARMUP_S !== undefined && process.env.BENCH_WARMUP_S !== '' ? settings.warmupS : 1;
    const pinEnv = (process.env.BENCH_PEER_PIN ?? 'both').trim();
    if (!['both', 'pinned', 'unpinned'].includes(pinEnv))
      throw new Error(`BENCH_PEER_PIN must be both, pinned or unpinned, got "${pinEnv}"`);
    const canPin = os.cpus().length >= 2 && os.platform() === 'linux' && hasTaskset();
    const modes: Mode[] = pinEnv === 'both' ? ['pinned', 'unpinned'] : [pinEnv as Mode];
    const areaNotes: string[] = [];
    if (!canPin && modes.includes('pinned')) {
      areaNotes.push('Pinned mode skipped: needs Linux, ≥ 2 CPUs and taskset.');
      modes.splice(modes.indexOf('pinned'), 1);
    }
    if (modes.length === 0) throw new Error('peer: no mode left to run (pinned mode needs taskset and 2 CPUs)');
    const tool = detectTool();
    if (tool.tool !== 'wrk') throw new Error('peer: needs wrk (apt-get install -y wrk); pgbench is C, so the HTTP side must be too');
    const runStart = performance.now();
    const d = generate(USERS);
    const CITIES = d.cities;
    const RANGE_HI_LO = AGE_MAX - RANGE_WIDTH + 1;

    // Every live server, for cleanup on errors and signals.
    const livePg = new Set<PgServer>();
    const liveThemis = new Set<ThemisServer>();
    const cleanupSync = () => {
      for (const p of livePg) p.killSync();
      for (const t of liveThemis) {
        try {
          t.proc.kill('SIGKILL');
        } catch {
          // gone
        }
        fs.rmSync(t.dataDir, { recursive: true, force: true });
      }
      setAffinity(process.pid, ALL_CPUS);
    };
    const onSignal = (sig: NodeJS.Signals) => {
      log(`peer: ${sig}: stopping PostgreSQL and ThemisTS, removing their directories`);
      cleanupSync();
      process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('exit', cleanupSync);

    const scenarios: PeerScenario[] = [];
    const eqLua = (c: number): PeerScenario => ({
      name: `eq-city-c${c}`,
      title: `AQL equality, ${LIMIT} docs (${c} clients)`,
      clients: c,
      what: `\`${Q.eq}\` vs \`${SQL.eq}\`; @c = "c<r>", r uniform over the ${CITIES} cities (${USERS_PER_CITY} users each)`,
      lua: `return wrk.format("POST", "${AQL}", headers, string.format(${luaStr(aqlFormat(Q.eq, '{"c":"c%d"}'))}, math.random(0, ${CITIES - 1})))`,
      pgbench: `\\set c random(0, ${CITIES - 1})\nSELECT doc FROM users WHERE doc->>'city' = 'c' || :c LIMIT ${LIMIT};`,
      unit: 'q/s',
    });
    const rangeLua = (c: number): PeerScenario => ({
      name: `range-sort-c${c}`,
      title: `range + SORT DESC LIMIT ${LIMIT} (${c} clients)`,
      clients: c,
      what: `\`${Q.range}\` vs \`${SQL.range}\`; @lo uniform over ${AGE_MIN}..${RANGE_HI_LO}, @hi = @lo + ${RANGE_WIDTH - 1}`,
      lua: `local lo = math.random(${AGE_MIN}, ${RANGE_HI_LO})\nreturn wrk.format("POST", "${AQL}", headers, string.format(${luaStr(aqlFormat(Q.range, '{"lo":%d,"hi":%d}'))}, lo, lo + ${RANGE_WIDTH - 1}))`,
      pgbench: `\\set lo random(${AGE_MIN}, ${RANGE_HI_LO})\n\\set hi :lo + ${RANGE_WIDTH - 1}\nSELECT doc FROM users WHERE (doc->>'age')::int >= :lo AND (doc->>'age')::int <= :hi ORDER BY (doc->>'age')::int DESC LIMIT ${LIMIT};`,
      unit: 'q/s',
    });
    const collect = (c: number): PeerScenario => ({
      name: `collect-city-c${c}`,
      title: `COLLECT city WITH COUNT over all docs (${c} client${c === 1 ? '' : 's'})`,
      clients: c,
      what: `\`${Q.collect}\` vs \`${SQL.collect}\` (${CITIES} groups from ${USERS} documents)`,
      lua: `return wrk.format("POST", "${AQL}", headers, ${luaStr(JSON.stringify({ query: Q.collect, bind_vars: {} }))})`,
      pgbench: `${SQL.collect};`,
      perQueryMs: true,
      unit: 'q/s',
    });
    const sumScenario = (c: number): PeerScenario => ({
      name: `sum-city-c${c}`,
      title: `COLLECT city AGGREGATE SUM(age) over all docs (${c} client${c === 1 ? '' : 's'})`,
      clients: c,
      what: `\`${Q.sum}\` vs \`${SQL.sum}\` (${CITIES} groups; every document read: not in the issue's table, measured so the index-only COLLECT is not the only aggregation shown)`,
      lua: `return wrk.format("POST", "${AQL}", headers, ${luaStr(JSON.stringify({ query: Q.sum, bind_vars: {} }))})`,
      pgbench: `${SQL.sum};`,
      perQueryMs: true,
      unit: 'q/s',
    });
    scenarios.push(eqLua(16), eqLua(64), rangeLua(16), rangeLua(64), collect(1), collect(4), sumScenario(1));
    scenarios.push({
      name: 'get-key-c64',
      title: 'point read by key (64 clients)',
      clients: 64,
      what: `GET /entities/users:<r> vs \`${SQL.get}\` (prepared); r uniform over 0..${USERS - 1}`,
      lua: `return wrk.format("GET", "/entities/users:" .. math.random(0, ${USERS - 1}), headers)`,
      pgbench: `\\set k random(0, ${USERS - 1})\nSELECT doc FROM users WHERE key = :k;`,
      unit: 'req/s',
    });
    const upsert: PeerScenario = {
      name: 'upsert-c64',
      title: 'durable single upsert (64 clients)',
      clients: 64,
      what: `PUT /entities/users:<r> {"blob":{…,"rev":<random>}} vs \`INSERT INTO users(key, doc) VALUES ($1, <same JSON text>::jsonb) ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc\` (autocommit, fsync'd); r uniform over 0..${USERS - 1} (always an existing key); the new document is derived from r (city unchanged, age 18 + r % 72)`,
      lua: [
        `local k = math.random(0, ${USERS - 1})`,
        'local age = 18 + k % 72',
        `local body = string.format(${luaStr('{"blob":{"name":"user %d","city":"c%d","age":%d,"age_group":%d,"country":"C%02d","rev":%d}}')}, k, k % ${CITIES}, age, math.floor(age / 10) * 10, k % 50, math.random(1, 1000000000))`,
        'return wrk.format("PUT", "/entities/users:" .. k, headers, body)',
      ].join('\n'),
      pgbench: [
        `\\set k random(0, ${USERS - 1})`,
        '\\set age 18 + :k % 72',
        '\\set ag (:age / 10) * 10',
        `\\set city :k % ${CITIES}`,
        '\\set ctry :k % 50',
        '\\set rev random(1, 1000000000)',
        `INSERT INTO users(key, doc) VALUES (:k, ('{"name":"user ' || :k || '","city":"c' || :city || '","age":' || :age || ',"age_group":' || :ag || ',"country":"C' || lpad(:ctry, 2, '0') || '","rev":' || :rev || '}')::jsonb) ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc;`,
      ].join('\n'),
      unit: 'req/s',
    };
    const upsertDoc = (k: number): Doc => {
      const age = 18 + (k % 72);
      return { name: `user ${k}`, city: `c${k % CITIES}`, age, age_group: ageGroup(age), country: countryName(k % 50) };
    };

    // ------------------------------------------------ one mode
    const runMode = async (mode: Mode): Promise<ModeResult> => {
      const plan = cpuPlan(mode);
      log(`peer: mode ${mode}: servers on CPU ${plan.server}, load generators on CPU ${plan.load}`);
      setAffinity(process.pid, plan.load);
      const pinThemis = (t: ThemisServer) => setAffinity(t.proc.pid!, plan.server);
      const pinPg = (p: PgServer) => {
        for (const pid of p.pids()) setAffinity(pid, plan.server);
      };
      const out: ModeResult = { mode, rows: [], details: [], loadRounds: [], scenarios: [], checks: [], plans: [], health: [], notes: [] };
      let themis: ThemisServer | undefined;
      let pgs: PgServer | undefined;
      let pool: pg.Pool | undefined;
      const stopThemis = async () => {
        if (!themis) return;
        const t = themis;
        themis = undefined;
        await t.stop();
        liveThemis.delete(t);
      };
      const stopPg = async () => {
        if (pool) {
          const p = pool;
          pool = undefined;
          await p.end();
          await sleep(100);
        }
        if (!pgs) return;
        const p = pgs;
        pgs = undefined;
        await p.stop();
        livePg.delete(p);
      };
      try {
        // ------------------------------------------------ scenarios 4 and 5: bulk load and index build, alternating, fresh servers per round
        const tLoad: LoadStats[] = [];
        const pLoad: LoadStats[] = [];
        const pCopyS: number[] = [];
        const tIdx: { city: number; age: number }[] = [];
        const pIdx: { city: number; age: number }[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const last = r === ROUNDS - 1;
          // ThemisTS
          themis = await startThemis({ durability: 'sync' });
          liveThemis.add(themis);
          pinThemis(themis);
          const t = themis;
          await waitIdle(t.proc.pid, 5_000);
          const tl = await runBatches(USERS, BATCH, LOAD_CONCURRENCY, async (b) => {
            const ops: string[] = [];
            for (let i = b * BATCH; i < Math.min(USERS, (b + 1) * BATCH); i++)
              ops.push(`{"op":"put","key":"users:${i}","blob":${userBlob(d, i)}}`);
            await postOk(t, '/transaction', `{"operations":[${ops.join(',')}]}`, `users batch ${b}`);
          });
          tLoad.push(tl);
          const idx = async (column: string, type: string) =>
            (await postOk(t, '/index/create', JSON.stringify({ table: 'users', column, type }), `index ${column}`)).ms / 1000;
          const ti = { city: await idx('city', 'equality'), age: await idx('age', 'range') };
          tIdx.push(ti);
          log(
            `peer[${mode}] round ${r + 1}: ThemisTS load ${fmt(tl.perS)} docs/s, index city ${ti.city.toFixed(2)} s, age ${ti.age.toFixed(2)} s`,
          );
          if (!last) await stopThemis();
          else await waitIdle(t.proc.pid, 30_000);
          // PostgreSQL
          pgs = await startPostgres({ settings: PG_SETTINGS });
          livePg.add(pgs);
          pinPg(pgs);
          const p = pgs;
          pool = new pg.Pool({ host: p.host, port: p.port, user: p.user, database: 'postgres', max: LOAD_CONCURRENCY });
          const pl = pool;
          // pool.end() resolves before idle backends have exited; the shutdown's FATAL on such a connection is expected.
          pl.on('error', (e) => {
            if ((e as { code?: string }).code !== '57P01') log(`peer: PostgreSQL idle client error: ${e.message}`);
          });
          await pl.query('CREATE TABLE users (key text PRIMARY KEY, doc jsonb NOT NULL)');
          await pl.query('CREATE TABLE users_copy (key text PRIMARY KEY, doc jsonb NOT NULL)');
          await pl.query('CHECKPOINT');
          await waitIdlePg(p);
          const ll = await runBatches(USERS, BATCH, LOAD_CONCURRENCY, async (b) => {
            const vals: string[] = [];
            const params: string[] = [];
            for (let i = b * BATCH; i < Math.min(USERS, (b + 1) * BATCH); i++) {
              vals.push(`($${params.length + 1},$${params.length + 2})`);
              params.push(String(i), userBlob(d, i));
            }
            await pl.query(`INSERT INTO users (key, doc) VALUES ${vals.join(',')}`, params);
          });
          pLoad.push(ll);
          // COPY reference: one transaction, the same rows, into a second table with the same primary key.
          const copyText = Array.from({ length: USERS }, (_, i) => `${i}\t${userBlob(d, i)}\n`).join('');
          const c0 = performance.now();
          await psqlCopy(p, 'COPY users_copy (key, doc) FROM STDIN', copyText);
          const copyS = (performance.now() - c0) / 1000;
          pCopyS.push(copyS);
          await pl.query('DROP TABLE users_copy');
          const pidx = async (sql: string) => {
            const s0 = performance.now();
            await pl.query(sql);
            return (performance.now() - s0) / 1000;
          };
          const pi = {
            city: await pidx(`CREATE INDEX users_city ON users ((doc->>'city'))`),
            age: await pidx(`CREATE INDEX users_age ON users (((doc->>'age')::int))`),
          };
          pIdx.push(pi);
          log(
            `peer[${mode}] round ${r + 1}: PostgreSQL load ${fmt(ll.perS)} docs/s, COPY ${fmt(USERS / copyS)} docs/s, index city ${pi.city.toFixed(2)} s, age ${pi.age.toFixed(2)} s`,
          );
          if (!last) await stopPg();
          else {
            await pl.query('VACUUM ANALYZE users');
            await pl.query('CHECKPOINT');
            await waitIdlePg(p);
          }
        }
        const t = themis!;
        const p = pgs!;
        const pl = pool!;
        const srv: Servers = { themis: t, pg: p };
        const loadRow = (label: string, tv: number[], pv: number[], unit: string, higherBetter: boolean, digits = 0) => {
          const tm = median(tv);
          const pm = median(pv);
          const f = (x: number) => (digits === 0 ? fmt(x) : x.toFixed(digits));
          out.rows.push({ scenario: label, themis: `${f(tm)} ${unit}`, pg: `${f(pm)} ${unit}`, ratio: higherBetter ? tm / pm : pm / tm });
          out.loadRounds.push([label, tv.map(f).join(' / '), pv.map(f).join(' / ')]);
        };
        loadRow(
          `bulk load ${fmt(USERS)} docs, ${BATCH}/transaction, ${LOAD_CONCURRENCY} in flight`,
          tLoad.map((x) => x.perS),
          pLoad.map((x) => x.perS),
          'docs/s',
          true,
        );
        out.rows.push({
          scenario: `PostgreSQL COPY (reference: one ${fmt(USERS)}-row transaction)`,
          themis: '—',
          pg: `${fmt(median(pCopyS.map((s) => USERS / s)))} docs/s`,
          ratio: median(tLoad.map((x) => x.perS)) / median(pCopyS.map((s) => USERS / s)),
          ratioNote: 'ThemisTS batched load ÷ PG COPY',
        });
        out.loadRounds.push(['PostgreSQL COPY docs/s', '', pCopyS.map((s) => fmt(USERS / s)).join(' / ')]);
        loadRow(
          'build equality index (city)',
          tIdx.map((x) => x.city),
          pIdx.map((x) => x.city),
          's',
          false,
          2,
        );
        loadRow(
          'build range index (age)',
          tIdx.map((x) => x.age),
          pIdx.map((x) => x.age),
          's',
          false,
          2,
        );
        out.loadRounds.push([
          'load batch p50 / p99 ms (median of rounds)',
          `${median(tLoad.map((x) => x.batchP50Ms)).toFixed(1)} / ${median(tLoad.map((x) => x.batchP99Ms)).toFixed(1)}`,
          `${median(pLoad.map((x) => x.batchP50Ms)).toFixed(1)} / ${median(pLoad.map((x) => x.batchP99Ms)).toFixed(1)}`,
        ]);

        // ------------------------------------------------ answers must agree before timing
        const problems: string[] = [];
        const aql = async (query: string, bind: Record<string, unknown>) => {
          const j = JSON.parse((await postOk(t, AQL, JSON.stringify({ query, bind_vars: bind }), query)).text) as { entities?: unknown[] };
          if (!Array.isArray(j.entities)) throw new Error(`AQL reply without entities: ${query}`);
          return j.entities.map(asDoc);
        };
        const sql = async (text: string, params: unknown[]) => (await pl.query(text, params)).rows as Doc[];
        const wantDoc = (n: number) => canon(JSON.parse(userBlob(d, n)) as Doc);
        const userNo = (x: Doc) => Number(String(x.name).replace(/^user /, ''));
        let eqSame = 0;
        for (let i = 0; i < Math.min(CHECKS, CITIES); i++) {
          const c = spread(i, CITIES);
          const a = (await aql(Q.eq, { c: `c${c}` })).map(canon);
          const b = (await sql(SQL.eq, [`c${c}`])).map((r) => canon(asDoc(r.doc)));
          const want: string[] = [];
          for (let n = c; n < USERS && want.length < LIMIT; n += CITIES) want.push(wantDoc(n));
          if (!sameMultiset(a, b)) problems.push(`eq c${c}: ThemisTS and PostgreSQL return different documents`);
          else if (!sameMultiset(a, want) && USERS / CITIES <= LIMIT) problems.push(`eq c${c}: documents differ from the loaded ones`);
          else eqSame++;
        }
        out.checks.push(
          `equality: ${eqSame} of ${Math.min(CHECKS, CITIES)} cities return identical document sets on both servers (and equal to the loaded documents)`,
        );
        let rangeSameSet = 0;
        let rangeOk = 0;
        for (let i = 0; i < CHECKS; i++) {
          const lo = AGE_MIN + (i % (RANGE_HI_LO - AGE_MIN + 1));
          const hi = lo + RANGE_WIDTH - 1;
          const a = await aql(Q.range, { lo, hi });
          const b = (await sql(SQL.range, [lo, hi])).map((r) => asDoc(r.doc));
          const want = JSON.stringify(topAges(d, lo, hi, LIMIT));
          const agesA = JSON.stringify(a.map((x) => x.age));
          const agesB = JSON.stringify(b.map((x) => x.age));
          const valid = (xs: Doc[]) => xs.every((x) => canon(x) === wantDoc(userNo(x)));
          if (agesA !== want || agesB !== want)
            problems.push(`range ${lo}..${hi}: ages ThemisTS ${agesA}, PostgreSQL ${agesB}, expected ${want}`);
          else if (!valid(a) || !valid(b)) problems.push(`range ${lo}..${hi}: a returned document differs from the loaded one`);
          else {
            rangeOk++;
            if (sameMultiset(a.map(canon), b.map(canon))) rangeSameSet++;
          }
        }
        out.checks.push(
          `range: ${rangeOk} of ${CHECKS} windows return the same age sequence (the expected top ${LIMIT}) and only loaded documents on both servers; ${rangeSameSet} of them the identical document set (ties on age may be broken differently: ~${fmt(USERS / AGE_SPAN)} users share each age, and neither query orders by key)`,
        );
        {
          const a = await aql(Q.collect, {});
          const b = await sql(SQL.collect, []);
          const ma = new Map(a.map((x) => [String(x.city), Number(x.n)]));
          const mb = new Map(b.map((x) => [String(x.city), Number(x.n)]));
          const want = new Map<string, number>();
          for (let n = 0; n < USERS; n++) want.set(`c${n % CITIES}`, (want.get(`c${n % CITIES}`) ?? 0) + 1);
          const eqMap = (x: Map<string, number>, y: Map<string, number>) => x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
          if (!eqMap(ma, mb) || !eqMap(ma, want))
            problems.push(`collect: ThemisTS ${ma.size} groups, PostgreSQL ${mb.size} groups, expected ${want.size}; maps differ`);
          else out.checks.push(`COLLECT: both return the same ${fmt(ma.size)} groups {city → count} as maps (equal to the loaded data)`);
        }
        {
          const a = await aql(Q.sum, {});
          const b = await sql(SQL.sum, []);
          const ma = new Map(a.map((x) => [String(x.city), Number(x.total)]));
          const mb = new Map(b.map((x) => [String(x.city), Number(x.total)]));
          const want = new Map<string, number>();
          for (let n = 0; n < USERS; n++) want.set(`c${n % CITIES}`, (want.get(`c${n % CITIES}`) ?? 0) + d.age[n]!);
          const eqMap = (x: Map<string, number>, y: Map<string, number>) => x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
          if (!eqMap(ma, mb) || !eqMap(ma, want))
            problems.push(`sum: ThemisTS ${ma.size} groups, PostgreSQL ${mb.size} groups, expected ${want.size}; maps differ`);
          else out.checks.push(`SUM: both return the same ${fmt(ma.size)} groups {city → sum of ages} as maps (equal to the loaded data)`);
        }
        let getOk = 0;
        for (let i = 0; i < CHECKS; i++) {
          const k = spread(i + 1000, USERS);
          const r = await t.req('GET', `/entities/users:${k}`);
          const j = (await r.json()) as { blob?: unknown };
          const b = await sql(SQL.get, [String(k)]);
          const a = j.blob !== undefined ? canon(asDoc(j.blob)) : '';
          if (r.status !== 200 || b.length !== 1 || a !== canon(asDoc(b[0]!.doc)) || a !== wantDoc(k))
            problems.push(`get ${k}: documents differ`);
          else getOk++;
        }
        out.checks.push(`point read: ${getOk} of ${CHECKS} keys return the same document from both servers`);
        if (problems.length > 0) throw new Error(`peer: answers differ:\n${problems.slice(0, 20).join('\n')}`);
        log(`peer[${mode}]: answers agree (${out.checks.length} checks)`);

        // Plans (PostgreSQL EXPLAIN of a generic prepared plan is not available here; the custom plan for a sample value).
        for (const [label, text, params] of [
          ['eq', SQL.eq, ['c5']],
          ['range', SQL.range, [40, 49]],
          ['collect', SQL.collect, []],
          ['sum', SQL.sum, []],
          ['get', SQL.get, ['42']],
        ] as const) {
          const e = await pl.query(`EXPLAIN (COSTS OFF) ${text}`, [...params]);
          out.plans.push([
            `PostgreSQL plan: ${label}`,
            (e.rows as { 'QUERY PLAN': string }[]).map((x) => x['QUERY PLAN'].trim()).join(' → '),
          ]);
        }
        for (const [label, query, bind] of [
          ['eq', Q.eq, { c: 'c5' }],
          ['range', Q.range, { lo: 40, hi: 49 }],
          ['collect', Q.collect, {}],
          ['sum', Q.sum, {}],
        ] as const) {
          const j = JSON.parse(
            (await postOk(t, AQL, JSON.stringify({ query, bind_vars: bind, explain: true }), `explain ${label}`)).text,
          ) as {
            plan?: { steps?: Record<string, unknown>[]; mode?: string };
          };
          const steps = (j.plan?.steps ?? []).map((x) =>
            [
              x.type,
              x.access,
              x.collection !== undefined
                ? `${String(x.collection)}${x.attribute !== undefined ? `.${String(x.attribute)}` : ''}`
                : undefined,
              x.by_index === true ? 'by index' : undefined,
              x.top_k === true ? 'top-k' : undefined,
              x.reverse === true ? 'reverse' : undefined,
            ]
              .filter((v) => v !== undefined)
              .join(' '),
          );
          out.plans.push([`ThemisTS plan: ${label}`, `${steps.join(' → ')}; mode ${String(j.plan?.mode)}`]);
        }

        // ------------------------------------------------ timed scenarios, alternating
        const runOne = async (s: PeerScenario, engine: Engine, durS: number) =>
          engine === 'themis'
            ? runWrkLua({
                url: `${t.base}/`,
                connections: s.clients,
                durationS: durS,
                luaInit: LUA_HEADERS,
                luaRequest: s.lua,
                cpus: plan.loadTaskset,
              })
            : pgLoadResult(await runPgbench({ server: p, script: s.pgbench, clients: s.clients, durationS: durS, cpus: plan.loadTaskset }));
        const timed = async (s: PeerScenario) => {
          const rounds: Record<Engine, ScenarioResult[]> = { themis: [], pg: [] };
          for (let r = 0; r < ROUNDS; r++) {
            for (const engine of ['themis', 'pg'] as const) {
              const o = await measure(engine, srv, warmupS, durationS, (sec) => runOne(s, engine, sec), s.perQueryMs === true);
              const res = runResult(`${s.name} ${engine} [${mode}]`, `${s.title}: ${s.what}`, engine, s.title, o);
              rounds[engine].push(res);
              log(
                `peer[${mode}] ${s.name} round ${r + 1} ${ENGINE_LABEL[engine]}: ${fmt(o.result.rps)} ${s.unit}, p50 ${o.result.p50Ms.toFixed(2)} ms, p99 ${o.result.p99Ms.toFixed(2)} ms, server ${o.serverCores} cores`,
              );
            }
          }
          const merged: Record<Engine, ScenarioResult> = { themis: mergeRounds(rounds.themis), pg: mergeRounds(rounds.pg) };
          const med = (e: Engine) => median(rounds[e].map((x) => x.load.rps));
          const medMean = (e: Engine) => median(rounds[e].map((x) => x.load.meanMs));
          for (const e of ['themis', 'pg'] as const) {
            const m = merged[e];
            m.metrics = {
              ...(m.metrics ?? {}),
              aggregate_rps: Math.round(m.load.rps),
              median_rps: Math.round(med(e)),
              median_mean_ms: Math.round(medMean(e) * 1000) / 1000,
              peer_idle_cores: Math.round(median(rounds[e].map((x) => x.metrics?.peer_idle_cores ?? 0)) * 100) / 100,
            };
            m.load = { ...m.load, rps: med(e) };
          }
          const ratio = med('themis') / med('pg');
          merged.themis.baseline = merged.pg.name;
          merged.themis.ratio = ratio;
          out.scenarios.push(merged.themis, merged.pg);
          const cell = (e: Engine) =>
            s.perQueryMs
              ? `${medMean(e).toFixed(1)} ms/query (${med(e) < 100 ? med(e).toFixed(1) : fmt(med(e))} q/s)`
              : `${fmt(med(e))} ${s.unit}`;
          out.rows.push({ scenario: s.title, themis: cell('themis'), pg: cell('pg'), ratio });
          for (const e of ['themis', 'pg'] as const) {
            const rs = rounds[e];
            out.details.push([
              `${s.name}`,
              ENGINE_LABEL[e],
              rs.map((x) => fmt(x.load.rps)).join(' / '),
              fmt(med(e)),
              median(rs.map((x) => x.load.p50Ms)).toFixed(2),
              median(rs.map((x) => x.load.p99Ms)).toFixed(2),
              medMean(e).toFixed(2),
              median(rs.map((x) => x.serverCpuCores ?? 0)).toFixed(2),
              median(rs.map((x) => x.metrics?.peer_idle_cores ?? 0)).toFixed(2),
              median(rs.map((x) => x.loadGenCpuCores ?? 0)).toFixed(2),
              Math.max(...rs.map((x) => x.otherCpuCores ?? 0)).toFixed(2),
              `${rs.reduce((a, x) => a + x.load.errors, 0)} / ${rs.reduce((a, x) => a + x.load.non2xx, 0)}`,
            ]);
          }
        };
        for (const s of scenarios) await timed(s);

        // ------------------------------------------------ scenario 7: /health and GET p99 under continuous COLLECT (ThemisTS only)
        const probe = async (durS: number, withCollect: boolean, round: number): Promise<HealthOut> => {
          const hc = await HttpConnection.open('127.0.0.1', t.port);
          const gc = await HttpConnection.open('127.0.0.1', t.port);
          const hdr = `Authorization: Bearer ${ADMIN_KEY}\r\n`;
          let bad = 0;
          const rnd = prng(0xbeef + round);
          const loop = async (conn: HttpConnection, pathOf: () => string, headers: string) => {
            const sched: number[] = [];
            const service: number[] = [];
            const t0 = performance.now();
            const end = t0 + durS * 1000;
            for (let i = 0; ; i++) {
              const due = t0 + i * PROBE_MS;
              if (due >= end) break;
              const now = performance.now();
              if (now < due) await sleep(due - now);
              const r = await conn.request('GET', pathOf(), headers);
              if (r.status !== 200) bad++;
              // From the scheduled send time (a stalled earlier probe delays this one: no coordinated omission) and from the actual send.
              sched.push(r.doneAt - due);
              service.push(r.doneAt - r.sentAt);
            }
            return { sched, service };
          };
          const collectRun = withCollect
            ? runWrkLua({
                url: `${t.base}/`,
                connections: HEALTH_COLLECT_CONNECTIONS,
                durationS: durS + 2,
                luaInit: LUA_HEADERS,
                luaRequest: sumScenario(HEALTH_COLLECT_CONNECTIONS).lua,
                cpus: plan.loadTaskset,
              })
            : undefined;
          if (collectRun) await sleep(1000);
          const [h, g] = await Promise.all([
            loop(hc, () => '/health', ''),
            loop(gc, () => `/entities/users:${Math.floor(rnd() * USERS)}`, hdr),
          ]);
          const cr = collectRun ? await collectRun : undefined;
          hc.close();
          gc.close();
          await waitIdle(t.proc.pid, 10_000);
          const sum = (x: { sched: number[]; service: number[] }) => {
            const s = summarize(x.sched);
            return { p50: s.p50, p99: s.p99, max: s.max, n: s.count, serviceP99: summarize(x.service).p99 };
          };
          return { round, collectQps: cr ? cr.rps : 0, health: sum(h), get: sum(g), idle: !withCollect, bad };
        };
        out.health.push(await probe(Math.min(3, durationS), false, 0));
        for (let r = 0; r < ROUNDS; r++) {
          const h = await probe(durationS, true, r + 1);
          out.health.push(h);
          log(
            `peer[${mode}] health round ${r + 1}: COLLECT ${h.collectQps.toFixed(1)} q/s; /health p99 ${h.health.p99.toFixed(2)} ms (max ${h.health.max.toFixed(1)}), GET p99 ${h.get.p99.toFixed(2)} ms`,
          );
        }
        const under = out.health.filter((h) => !h.idle);
        // Headline: per request (write → complete reply), as a health checker sees it; from the probe schedule
        // (which also counts the backlog when one connection cannot keep the 10 ms pace) in parentheses.
        const hp99 = median(under.map((h) => h.health.serviceP99));
        const gp99 = median(under.map((h) => h.get.serviceP99));
        const hs99 = median(under.map((h) => h.health.p99));
        const gs99 = median(under.map((h) => h.get.p99));
        out.rows.push({
          scenario: `/health p99 per request under a continuous full-scan COLLECT … SUM (${HEALTH_COLLECT_CONNECTIONS} connections), goal < ${HEALTH_GOAL_MS} ms (from the ${PROBE_MS} ms probe schedule)`,
          themis: `${hp99.toFixed(1)} ms ${hp99 < HEALTH_GOAL_MS ? '(PASS)' : '**(FAIL)**'} (${hs99.toFixed(0)} ms)`,
          pg: '—',
          ratio: undefined,
        });
        out.rows.push({
          scenario: 'GET point-read p99 per request under the same aggregation load (from the probe schedule)',
          themis: `${gp99.toFixed(1)} ms (${gs99.toFixed(0)} ms)`,
          pg: '—',
          ratio: undefined,
        });
        if (under.some((h) => h.bad > 0)) out.notes.push('Some health/GET probes did not answer 200.');

        // ------------------------------------------------ scenario 6b: durable upserts last (they change the documents)
        await timed(upsert);
        {
          let ok = 0;
          let checked = 0;
          for (let i = 0; i < 200 && checked < CHECKS; i++) {
            const k = spread(i + 5000, USERS);
            const j = (await (await t.req('GET', `/entities/users:${k}`)).json()) as { blob?: unknown };
            const b = await sql(SQL.get, [String(k)]);
            const a = asDoc(j.blob);
            const bd = asDoc(b[0]!.doc);
            if (a.rev === undefined && bd.rev === undefined) continue;
            checked++;
            const want = canon(upsertDoc(k));
            const strip = (x: Doc) => {
              const { rev: _r, ...rest } = x;
              return canon(rest);
            };
            if ((a.rev === undefined || strip(a) === want) && (bd.rev === undefined || strip(bd) === want)) ok++;
          }
          out.checks.push(
            `upserts: ${ok} of ${checked} upserted keys read back with the expected new document on the server(s) that wrote them`,
          );
        }
      } finally {
        await Promise.allSettled([stopThemis(), stopPg()]);
        setAffinity(process.pid, ALL_CPUS);
      }
      return out;
    };

    const modeResults: ModeResult[] = [];
    let pgVersion = '?';
    let pgbenchVersion = '?';
    try {
      for (const m of modes) modeResults.push(await runMode(m));
      try {
        pgVersion = execFileSync('/usr/lib/postgresql/15/bin/postgres', ['--version'], { encoding: 'utf8' }).trim();
        pgbenchVersion = execFileSync('/usr/lib/postgresql/15/bin/pgbench', ['--version'], { encoding: 'utf8' }).trim();
      } catch {
        // reported as ?
      }
    } finally {
      cleanupSync();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', cleanupSync);
    }

    // ------------------------------------------------ report
    const ratioText = (r: SummaryRow) =>
      r.ratio === undefined ? '—' : `**${r.ratio.toFixed(2)}×**${r.ratioNote ? ` (${r.ratioNote})` : ''}`;
    const tables: ReportTable[] = [];
    const first = modeResults[0]!;
    if (modeResults.length === 2) {
      const [a, b] = modeResults as [ModeResult, ModeResult];
      tables.push({
        title: 'ThemisTS vs PostgreSQL 15 (medians of rounds; ratio = ThemisTS ÷ PostgreSQL speed, > 1 = ThemisTS faster)',
        columns: [
          'scenario',
          `ThemisTS (${a.mode})`,
          `PostgreSQL (${a.mode})`,
          `ratio (${a.mode})`,
          `ThemisTS (${b.mode})`,
          `PostgreSQL (${b.mode})`,
          `ratio (${b.mode})`,
        ],
        rows: a.rows.map((r, i) => {
          const u = b.rows[i]!;
          return [r.scenario, r.themis, r.pg, ratioText(r), u.themis, u.pg, ratioText(u)];
        }),
        notes: tableNotes(),
      });
    } else {
      tables.push({
        title: `ThemisTS vs PostgreSQL 15, ${first.mode} (medians of rounds; ratio = ThemisTS ÷ PostgreSQL speed)`,
        columns: ['scenario', 'ThemisTS', 'PostgreSQL', 'ratio'],
        rows: first.rows.map((r) => [r.scenario, r.themis, r.pg, ratioText(r)]),
        notes: tableNotes(),
      });
    }
    for (const m of modeResults) {
      tables.push({
        title: `Load and index rounds (${m.mode})`,
        columns: ['step', 'ThemisTS per round', 'PostgreSQL per round'],
        rows: m.loadRounds,
        notes: [
          'Each round starts a fresh ThemisTS server and a fresh PostgreSQL cluster; the last round’s servers serve the query scenarios.',
        ],
      });
      tables.push({
        title: `Scenario rounds (${m.mode})`,
        columns: [
          'scenario',
          'server',
          'per round',
          'median',
          'p50 ms',
          'p99 ms',
          'mean ms',
          'server CPU (cores)',
          'idle peer CPU (cores)',
          'load-gen CPU (cores)',
          'other CPU (max)',
          'errors / non-2xx',
        ],
        rows: m.details,
        notes: [
          'Server CPU: /proc utime+stime of the ThemisTS process (all threads), or summed over the PostgreSQL postmaster (with its reaped backends) and its live children, over the measured window. Idle peer: the same for the server not under load at that moment.',
          'p50/p99/mean: median over rounds; wrk percentiles for ThemisTS, pgbench per-transaction log for PostgreSQL.',
        ],
      });
      tables.push({
        title: `/health and GET latency under a continuous full-scan aggregation (${m.mode}, ThemisTS only)`,
        columns: [
          'run',
          'COLLECT q/s',
          '/health p50 ms (schedule)',
          '/health p99 ms (schedule)',
          '/health max ms (schedule)',
          '/health p99 ms per request',
          'GET p50 ms (schedule)',
          'GET p99 ms (schedule)',
          'GET max ms (schedule)',
          'GET p99 ms per request',
          'probes',
        ],
        rows: m.health.map((h) => [
          h.idle ? 'idle (no COLLECT)' : `round ${h.round}`,
          h.idle ? '—' : h.collectQps.toFixed(1),
          h.health.p50.toFixed(2),
          h.health.p99.toFixed(2),
          h.health.max.toFixed(1),
          h.health.serviceP99.toFixed(2),
          h.get.p50.toFixed(2),
          h.get.p99.toFixed(2),
          h.get.max.toFixed(1),
          h.get.serviceP99.toFixed(2),
          `${h.health.n} + ${h.get.n}`,
        ]),
        notes: [
          `wrk keeps ${HEALTH_COLLECT_CONNECTIONS} connections busy with the full-scan \`${Q.sum}\` (the COUNT-only COLLECT is answered from kept counts and would not load the server); two raw keep-alive connections from the bench process send GET /health and GET /entities/users:<random> every ${PROBE_MS} ms each. "Schedule" latency counts from the probe's scheduled send time, so when one connection cannot keep the ${PROBE_MS} ms pace the growing backlog is included (coordinated-omission free, but it measures the probe connection's throughput as much as a request's latency); "per request" runs from writing the request to the complete reply, as a health checker sees it (the goal is judged on this one).`,
        ],
      });
      tables.push({
        title: `Answer checks and plans (${m.mode})`,
        columns: ['what', 'result'],
        rows: [...m.checks.map((c) => ['check', c]), ...m.plans.map(([l, pl]) => [l!, `\`${pl}\``])],
      });
    }
    const notes = [
      `Data (mulberry32 seed 0x${DATA_SEED.toString(16)}, the aql area's users): ${fmt(USERS)} documents {"name":"user <n>","city":"c<n % ${fmt(CITIES)}>","age":${AGE_MIN}..${AGE_MAX},"age_group","country"}; ThemisTS key users:<n>, PostgreSQL users(key text primary key = '<n>', doc jsonb not null).`,
      `ThemisTS: THEMIS_DURABILITY=sync (every acknowledged write fsynced, group commit), indexes users.city (equality) and users.age (range). PostgreSQL: ${pgVersion}; initdb --auth=trust --locale=C; ${Object.entries(
        PG_SETTINGS,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(
          ', ',
        )}, everything else default (autovacuum on, parallel query on); indexes ((doc->>'city')) and (((doc->>'age')::int)); VACUUM ANALYZE + CHECKPOINT after the load.`,
      `Load generators: wrk (1 thread, random bind values from math.random in Lua) for ThemisTS over HTTP/1.1 keep-alive; ${pgbenchVersion} (-n -M prepared -j 1 -T, \\set random bind values over the same ranges) for PostgreSQL over TCP 127.0.0.1. Bulk load and index builds are driven from the bench process (fetch for ThemisTS, node-postgres for PostgreSQL), 4 batches in flight each; COPY via psql.`,
      `Pinning: pinned = ThemisTS (taskset -a, all threads) and all PostgreSQL processes (postmaster pinned before any client connects, backends inherit) on CPU 0; wrk, pgbench and the bench process on CPU ${cpuPlan('pinned').load}. Unpinned = no affinity for anything. Modes run: ${modes.join(', ')} (BENCH_PEER_PIN).`,
      `Alternation: every scenario runs ThemisTS, PostgreSQL, ThemisTS, … for ${ROUNDS} rounds (BENCH_PEER_ROUNDS), ${warmupS} s warm-up + ${durationS} s measured each (this area's defaults 1 s + 5 s; the Settings line below shows the global defaults, not used here). Both servers stay up during the query scenarios; the idle one's CPU is in the rounds tables.`,
      `PostgreSQL equality scripts send the city number and build 'c' || $1 in SQL (pgbench variables are integers); the range sort is ORDER BY (doc->>'age')::int DESC with no key tie-break in either engine.`,
      `Whole area run: ${((performance.now() - runStart) / 1000).toFixed(0)} s.`,
      ...areaNotes,
      ...modeResults.flatMap((m) => m.notes.map((n) => `${m.mode}: ${n}`)),
    ];
    return {
      title: `peer (ThemisTS vs PostgreSQL 15 on ${fmt(USERS)} JSON users; fsync on both)`,
      tool: `${tool.version} (ThemisTS) + ${pgbenchVersion} (PostgreSQL)`,
      rateLabel: 'ops/s (median)',
      scenarios: modeResults.flatMap((m) => m.scenarios),
      tables,
      notes,
      ...{
        peer: {
          users: USERS,
          rounds: ROUNDS,
          durationS,
          warmupS,
          modes: modeResults.map((m) => ({
            mode: m.mode,
            rows: m.rows,
            loadRounds: m.loadRounds,
            health: m.health,
            checks: m.checks,
            plans: m.plans,
          })),
          postgres: { version: pgVersion, settings: PG_SETTINGS, pgbench: pgbenchVersion },
        },
      },
    };

    function tableNotes(): string[] {
      return [
        'Throughput rows: ThemisTS ops/s ÷ PostgreSQL ops/s (median of rounds each). Time rows (index builds, COLLECT ms/query): PostgreSQL time ÷ ThemisTS time. So > 1 always means ThemisTS is faster.',
        'COLLECT: ms/query is the mean latency a client sees (median over rounds; with 4 clients it includes queueing behind the others); the ratio is of throughput.',
        'Protocols differ: PostgreSQL runs prepared statements (parsed and planned once per connection) over its binary wire protocol; ThemisTS receives the AQL text and JSON bind values in every HTTP request.',
      ];
    }
  },
};

/** Wait until all PostgreSQL processes together use < 0.05 core over 0.5 s (at most 20 s). */
async function waitIdlePg(p: PgServer, maxMs = 20_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const a = pgCpuSeconds(p);
    await sleep(500);
    const b = pgCpuSeconds(p);
    if (b - a < 0.025 || Date.now() - t0 > maxMs) return;
  }
}

/** `psql -c <copy>` with `data` on stdin. */
function psqlCopy(p: PgServer, copy: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      `${p.binDir}/psql`,
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', p.host, '-p', String(p.port), '-U', p.user, '-d', 'postgres', '-c', copy],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql COPY failed (${code}): ${err}`))));
    c.stdin.end(data);
  });
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '?');
