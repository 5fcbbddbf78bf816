import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { pinPlan, pinThread, pinnedCommand } from './cpu.js';
import { summarize } from './stats.js';
import { runCommand } from './run-command.js';
import { tempDir } from './util.js';

/** `node`: a JavaScript driver in the bench process (lib/http-client.ts), for multi-request flows wrk cannot script. */
export type LoadTool = 'wrk' | 'autocannon' | 'node';

export interface LoadSpec {
  /** Origin, e.g. http://127.0.0.1:8765 */
  base: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Request path; with `distinctPathPrefix` it is only used for display. */
  path: string;
  /** When set, every request goes to `<prefix><unique suffix>` (distinct keys per request). */
  distinctPathPrefix?: string;
  headers: Record<string, string>;
  body?: string;
  /**
   * When set, every request gets its own body: `bodyTemplate` with each
   * occurrence of {@link BODY_ID} replaced by a per-request id (unique per
   * run, the same id as the distinct path suffix when both are used). Takes
   * precedence over `body`.
   */
  bodyTemplate?: string;
  /**
   * When set, requests rotate through these bodies (request i gets
   * `bodies[i % n]`, per wrk thread / autocannon run; e.g. query bodies with
   * varying values). Takes precedence over `bodyTemplate` and `body`.
   */
  bodies?: string[];
  connections: number;
  durationS: number;
}

export interface LoadResult {
  tool: LoadTool;
  toolVersion: string;
  /** Load-generator threads (wrk -t; 1 for autocannon, which runs in this process). */
  threads: number;
  /** Completed responses (any status). */
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Socket-level errors and timeouts. */
  errors: number;
  /** Responses with a status outside 2xx (wrk: status >= 400, which is all it counts; autocannon: non-2xx). */
  non2xx: number;
  /** Breakdown of `errors` by kind. */
  errorDetail: Record<string, number>;
  /** Tool's own text output (wrk) for the record. */
  raw?: string;
}

/** Placeholder in `LoadSpec.bodyTemplate` replaced by a per-request id (`t<thread>-<n>` with wrk, `a-<n>` with autocannon). */
export const BODY_ID = '{{id}}';

let detected: { tool: LoadTool; version: string } | undefined;

/**
 * The load generator: `wrk` (C, cheap on a 2-core box) when `which wrk` finds
 * it, otherwise autocannon in-process. BENCH_TOOL=wrk|autocannon forces one.
 */
export function detectTool(): { tool: LoadTool; version: string } {
  if (detected) return detected;
  const forced = process.env.BENCH_TOOL;
  if (forced !== undefined && forced !== '' && forced !== 'wrk' && forced !== 'autocannon') {
    throw new Error(`BENCH_TOOL must be wrk or autocannon, got "${forced}"`);
  }
  let wrkPath = '';
  if (forced !== 'autocannon') {
    try {
      wrkPath = execFileSync('which', ['wrk'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      wrkPath = '';
    }
    if (forced === 'wrk' && wrkPath === '') throw new Error('BENCH_TOOL=wrk but `which wrk` finds nothing (apt-get install -y wrk)');
  }
  if (wrkPath !== '') {
    let version = 'wrk';
    try {
      // `wrk --version` prints its banner and exits non-zero.
      execFileSync(wrkPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const out = String((e as { stdout?: string }).stdout ?? '');
      version =
        out
          .split('\n')[0]
          ?.replace(/\s+Copyright.*$/, '')
          .trim() || 'wrk';
    }
    detected = { tool: 'wrk', version };
  } else {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../node_modules/autocannon/package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    detected = { tool: 'autocannon', version: `autocannon ${pkg.version}` };
  }
  return detected;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { tool } = detectTool();
  return tool === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

// ------------------------------------------------------------------ wrk

/** wrk threads: BENCH_WRK_THREADS, default 1 (on 2 cores the server needs the other one). */
function wrkThreads(connections: number): number {
  const raw = process.env.BENCH_WRK_THREADS;
  const n = raw ? Number(raw) : 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_WRK_THREADS must be a positive integer, got "${raw}"`);
  return Math.min(n, connections, os.cpus().length);
}

/** A Lua long-bracket string literal that cannot be closed by its content. */
function luaString(s: string): string {
  let eq = '=';
  while (s.includes(`]${eq}]`)) eq += '=';
  // A newline right after the opening bracket is dropped by Lua; prefix one so content starting with \n survives.
  return `[${eq}[\n${s}]${eq}]`;
}

function wrkScript(spec: LoadSpec): string {
  const headers = Object.entries(spec.headers)
    .map(([k, v]) => `  [ ${luaString(k)} ] = ${luaString(v)},`)
    .join('\n');
  const lines = [
    `local method = ${luaString(spec.method)}`,
    `local body = ${spec.body !== undefined ? luaString(spec.body) : 'nil'}`,
    `local headers = {\n${headers}\n}`,
    `wrk.method = method`,
    `wrk.path = ${luaString(spec.path)}`,
    `wrk.body = body`,
    `for k, v in pairs(headers) do wrk.headers[k] = v end`,
    // Per-thread id (set from the main state in setup) so distinct-key paths never collide across threads.
    `local nthreads = 0`,
    `function setup(thread)`,
    `  nthreads = nthreads + 1`,
    `  thread:set("tid", nthreads)`,
    `end`,
  ];
  if (spec.bodies !== undefined && spec.bodies.length > 0) {
    // Rotate through a fixed list of bodies; each thread starts at its own offset.
    lines.push(
      `local bodies = { ${spec.bodies.map(luaString).join(', ')} }`,
      `local nbodies = #bodies`,
      `local counter = 0`,
      `function request()`,
      `  if counter == 0 then counter = ((tid or 1) - 1) * 7919 end`,
      `  counter = counter + 1`,
      `  return wrk.format(method, wrk.path, headers, bodies[(counter % nbodies) + 1])`,
      `end`,
    );
  } else if (spec.distinctPathPrefix !== undefined || spec.bodyTemplate !== undefined) {
    // One id per request (per-thread counter), used for the path suffix and/or the body template.
    lines.push(`local counter = 0`);
    lines.push(spec.distinctPathPrefix !== undefined ? `local prefix = ${luaString(spec.distinctPathPrefix)}` : `local prefix = nil`);
    if (spec.bodyTemplate !== undefined) {
      const parts = spec.bodyTemplate.split(BODY_ID);
      lines.push(`local parts = { ${parts.map(luaString).join(', ')} }`, `local nparts = #parts`);
    }
    lines.push(
      `function request()`,
      `  counter = counter + 1`,
      `  local id = "t" .. tid .. "-" .. counter`,
      `  local p = prefix and (prefix .. id) or wrk.path`,
    );
    if (spec.bodyTemplate !== undefined) {
      lines.push(
        `  local b = {}`,
        `  for i = 1, nparts do`,
        `    b[#b + 1] = parts[i]`,
        `    if i < nparts then b[#b + 1] = id end`,
        `  end`,
        `  return wrk.format(method, p, headers, table.concat(b))`,
      );
    } else {
      lines.push(`  return wrk.format(method, p, headers, body)`);
    }
    lines.push(`end`);
  }
  lines.push(...WRK_DONE_LUA);
  return `${lines.join('\n')}\n`;
}

/** wrk's done(): one machine-readable summary line (latencies in microseconds) that execWrk reads. */
export const WRK_DONE_LUA: readonly string[] = [
  `function done(summary, latency, requests)`,
  `  local e = summary.errors`,
  `  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.3f}\\n',`,
  `    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,`,
  `    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))`,
  `end`,
];

interface WrkJson {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = tempDir('themis-bench-wrk-');
  const script = path.join(dir, 'bench.lua');
  fs.writeFileSync(script, wrkScript(spec));
  const threads = wrkThreads(spec.connections);
  const args = [
    '-t',
    String(threads),
    '-c',
    String(spec.connections),
    '-d',
    `${Math.max(1, Math.round(spec.durationS))}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    script,
    spec.base + spec.path,
  ];
  try {
    return await execWrk(pinnedCommand('wrk', args), threads);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Run wrk (`command`: wrk or taskset … wrk) with a script ending in WRK_DONE_LUA; its summary as a LoadResult. */
export async function execWrk(command: [string, string[]], threads: number): Promise<LoadResult> {
  const { code, stdout, stderr } = await runCommand(...command);
  const m = /^BENCH_JSON (\{.*\})$/m.exec(stdout);
  if (code !== 0 || !m) throw new Error(`wrk failed (exit ${code}): ${stderr}\n${stdout}`);
  const j = JSON.parse(m[1]!) as WrkJson;
  const durationS = j.duration_us / 1e6;
  // Cross-check against wrk's own text: "Non-2xx or 3xx responses: N" counts what `status` errors count.
  const textNon2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? '0');
  return {
    tool: 'wrk',
    toolVersion: detectTool().version,
    threads,
    requests: j.requests,
    durationS,
    rps: j.requests / durationS,
    p50Ms: j.p50_us / 1000,
    p90Ms: j.p90_us / 1000,
    p99Ms: j.p99_us / 1000,
    maxMs: j.max_us / 1000,
    meanMs: j.mean_us / 1000,
    errors: j.connect + j.read + j.write + j.timeout,
    non2xx: Math.max(j.status, textNon2xx),
    errorDetail: { connect: j.connect, read: j.read, write: j.write, timeout: j.timeout },
    raw: stdout.replace(/^BENCH_JSON .*\n?/m, ''),
  };
}

// ------------------------------------------------------------------ autocannon

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  // autocannon runs on this process's event loop: keep it off the server's CPU.
  const plan = pinPlan();
  if (plan) pinThread(process.pid, plan.load);
  const prefix = spec.distinctPathPrefix;
  const template = spec.bodyTemplate;
  let counter = 0;
  const r = await autocannon({
    url: spec.base + spec.path,
    connections: spec.connections,
    duration: spec.durationS,
    pipelining: 1,
    timeout: 5,
    method: spec.method,
    headers: spec.headers,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.bodies !== undefined && spec.bodies.length > 0
      ? {
          requests: [
            {
              method: spec.method,
              headers: spec.headers,
              setupRequest: (req) => ({ ...req, body: spec.bodies![counter++ % spec.bodies!.length]! }),
            },
          ],
        }
      : prefix !== undefined || template !== undefined
        ? {
            requests: [
              {
                method: spec.method,
                headers: spec.headers,
                ...(spec.body !== undefined ? { body: spec.body } : {}),
                setupRequest: (req) => {
                  const id = `a-${++counter}`;
                  return {
                    ...req,
                    ...(prefix !== undefined ? { path: `${prefix}${id}` } : {}),
                    ...(template !== undefined ? { body: template.split(BODY_ID).join(id) } : {}),
                  };
                },
              },
            ],
          }
        : {}),
  });
  const requests = r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
  return {
    tool: 'autocannon',
    toolVersion: detectTool().version,
    threads: 1,
    requests,
    durationS: r.duration,
    rps: requests / r.duration,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    meanMs: r.latency.mean,
    errors: r.errors,
    non2xx: r.non2xx,
    errorDetail: { errors: r.errors, timeouts: r.timeouts },
  };
}

/**
 * A LoadResult for load this process drove itself ('node'): latency summary
 * of `latencies` (ms); `requests` defaults to their count.
 */
export function nodeLoadResult(o: {
  latencies: ArrayLike<number>;
  durationS: number;
  toolVersion: string;
  raw: string;
  requests?: number;
  errors?: number;
  non2xx?: number;
  errorDetail?: Record<string, number>;
}): LoadResult {
  const s = summarize(o.latencies);
  const requests = o.requests ?? o.latencies.length;
  return {
    tool: 'node',
    toolVersion: o.toolVersion,
    threads: 1,
    requests,
    durationS: o.durationS,
    rps: requests / o.durationS,
    p50Ms: s.p50,
    p90Ms: s.p90,
    p99Ms: s.p99,
    maxMs: s.max,
    meanMs: s.mean,
    errors: o.errors ?? 0,
    non2xx: o.non2xx ?? 0,
    errorDetail: o.errorDetail ?? {},
    raw: o.raw,
  };
}

/**
 * A sequential in-process throughput run as a LoadResult: `one(i)` (sync or async) for
 * i = 0, 1, … (mod `n`) one after another on this thread for `durationS`,
 * yielding to timers (contention sampling) every 256 calls. `what` names
 * one call in the raw description; `toolVersion` says what ran.
 */
export function sequentialLoad(o: {
  what: string;
  n: number;
  toolVersion: string;
  one: (i: number) => unknown;
}): (durationS: number) => Promise<LoadResult> {
  // `one` may be async (awaited only then: a sync call costs no extra microtask).
  return async (durationS) => {
    const lat: number[] = [];
    const t0 = performance.now();
    const stopAt = t0 + durationS * 1000;
    let i = 0;
    let now = t0;
    while (now < stopAt) {
      const s = now;
      const r = o.one(i);
      if (r instanceof Promise) await r;
      now = performance.now();
      lat.push(now - s);
      i = (i + 1) % o.n;
      if ((i & 255) === 0) await new Promise((r) => setImmediate(r));
    }
    const secs = (now - t0) / 1000;
    return nodeLoadResult({
      latencies: lat,
      durationS: secs,
      toolVersion: `${o.toolVersion}, in process (node ${process.version})`,
      raw: `${lat.length} × ${o.what} in ${secs.toFixed(3)} s, one after another on one thread, rotating through ${o.n} inputs`,
    });
  };
}
