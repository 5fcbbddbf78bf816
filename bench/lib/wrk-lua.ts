import fs from 'node:fs';
import path from 'node:path';
import { execWrk, type LoadResult, WRK_DONE_LUA } from './load.js';
import { tempDir } from './util.js';

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
      ...WRK_DONE_LUA,
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
    return await execWrk(spec.cpus !== null ? ['taskset', ['-c', spec.cpus, 'wrk', ...args]] : ['wrk', args], threads);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
