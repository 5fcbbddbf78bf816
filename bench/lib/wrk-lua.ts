import fs from 'node:fs';
import path from 'node:path';
import type { LoadResult } from './load.js';
import { detectTool } from './load.js';
import { runCommand, tempDir } from './util.js';

/**
 * wrk with a caller-written Lua `request()` body and an explicit CPU list
 * (or none), for areas that need per-request random values (`math.random`)
 * or that must switch pinning within one run (lib/load.ts pins wrk per the
 * process-wide BENCH_PIN plan). One wrk thread by default; every thread seeds
 * math.random from its id. The Lua snippet sees `tid` (thread number, 1-based)
 * and `counter` (requests of this thread so far, incremented before the call)
 * and must `return wrk.format(method, path, headers, body)`.
 */
export interface WrkLuaSpec {
  url: string;
  connections: number;
  durationS: number;
  /** Lua statements run once per thread after seeding (locals for `request`). */
  luaInit?: string;
  /** Body of `function request()`. */
  luaRequest: string;
  /** Run wrk under `taskset -c <cpus>` (null: unpinned). */
  cpus: string | null;
  threads?: number;
}

export async function runWrkLua(spec: WrkLuaSpec): Promise<LoadResult> {
  const dir = tempDir('themis-bench-wrklua-');
  const script = path.join(dir, 'bench.lua');
  const threads = spec.threads ?? 1;
  fs.writeFileSync(
    script,
    [
      'local nthreads = 0',
      'function setup(thread)',
      '  nthreads = nthreads + 1',
      '  thread:set("tid", nthreads)',
      'end',
      'counter = 0',
      'function init(args)',
      '  math.randomseed(os.time() * 1000 + (tid or 1) * 7919)',
      '  for i = 1, 10 do math.random() end',
      spec.luaInit ?? '',
      'end',
      'function request()',
      '  counter = counter + 1',
      spec.luaRequest,
      'end',
      'function done(summary, latency, requests)',
      '  local e = summary.errors',
      `  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.3f}\\n',`,
      '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
      '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))',
      'end',
      '',
    ].join('\n'),
  );
  const args = [
    '-t',
    String(threads),
    '-c',
    String(spec.connections),
    '-d',
    `${Math.max(1, Math.round(spec.durationS))}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    spec.url,
  ];
  try {
    const [cmd, argv] = spec.cpus !== null ? ['taskset', ['-c', spec.cpus, 'wrk', ...args]] : ['wrk', args];
    const { code, stdout, stderr } = await runCommand(cmd, argv);
    const m = /^BENCH_JSON (\{.*\})$/m.exec(stdout);
    if (code !== 0 || !m) throw new Error(`wrk failed (exit ${code}): ${stderr}\n${stdout}`);
    const j = JSON.parse(m[1]!) as Record<string, number>;
    const durationS = j.duration_us! / 1e6;
    const textNon2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? '0');
    return {
      tool: 'wrk',
      toolVersion: detectTool().version,
      threads,
      requests: j.requests!,
      durationS,
      rps: j.requests! / durationS,
      p50Ms: j.p50_us! / 1000,
      p90Ms: j.p90_us! / 1000,
      p99Ms: j.p99_us! / 1000,
      maxMs: j.max_us! / 1000,
      meanMs: j.mean_us! / 1000,
      errors: j.connect! + j.read! + j.write! + j.timeout!,
      non2xx: Math.max(j.status!, textNon2xx),
      errorDetail: { connect: j.connect!, read: j.read!, write: j.write!, timeout: j.timeout! },
      raw: stdout.replace(/^BENCH_JSON .*\n?/m, ''),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
