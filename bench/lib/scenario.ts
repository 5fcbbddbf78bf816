import { cpuSeconds, foreignCores, foreignWriteMBps, snapshot, threadCpuSeconds } from './contention.js';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import { metricsDelta, scrapeMetrics, type ThemisServer } from './server.js';
import type { BenchSettings, ScenarioResult, Target } from './types.js';
import { log, sleep } from './util.js';

export interface ScenarioSpec {
  name: string;
  description: string;
  server: string;
  /** Load spec without connections/duration (taken from settings). */
  load: Omit<LoadSpec, 'connections' | 'durationS'>;
  /** Distinct-key prefix for the warm-up run (so warm-up writes don't reuse measured keys). */
  warmupPathPrefix?: string;
  /** The real server, to cross-check statuses via /metrics; with `route` (template, e.g. /entities/:key, or several). */
  themis?: { server: ThemisServer; route: string | readonly string[] };
  baseline?: string;
  /** Further scenarios to compare against (ratios shown next to the baseline's). */
  extraBaselines?: string[];
  target?: Target;
  /**
   * A custom driver instead of wrk/autocannon (e.g. a multi-request
   * transaction flow in JavaScript). `load` is then only used for display
   * (method, path). Called once for the warm-up and once for the measured run.
   */
  run?: (durationS: number, phase: 'warmup' | 'measure') => Promise<LoadResult>;
  /** Warm-up seconds for this scenario (default: settings.warmupS; 0 disables). */
  warmupS?: number;
  /** Server statuses that are part of the workload (e.g. 409 on commit under contention), not a problem. */
  allowStatus?: number[];
  /** Process whose CPU use is reported as the server's (default: the themis server's); e.g. the bare uWS child. */
  serverPid?: number;
  /** Concurrent connections/clients for this scenario (default: settings.connections). */
  connections?: number;
}

/** Other processes using more than this many cores during a window earn a "machine busy" warning. */
const BUSY_CORES = 0.1;
/** Other processes writing more than this many MB/s to storage earn a "disk busy" warning. */
const BUSY_WRITE_MBPS = 1;

/** Warm up, measure, and validate one scenario. Ratios are filled in by `applyBaselines`. */
export async function runScenario(spec: ScenarioSpec, settings: BenchSettings): Promise<ScenarioResult> {
  const connections = spec.connections ?? settings.connections;
  const load: LoadSpec = { ...spec.load, connections, durationS: settings.durationS };
  const warmupS = spec.warmupS ?? settings.warmupS;
  if (warmupS > 0) {
    log(`${spec.name}: warm-up ${warmupS} s`);
    if (spec.run) await spec.run(warmupS, 'warmup');
    else {
      const warm: LoadSpec = { ...load, durationS: warmupS };
      if (spec.warmupPathPrefix !== undefined) warm.distinctPathPrefix = spec.warmupPathPrefix;
      await runLoad(warm);
    }
    await sleep(300);
  }
  const before = spec.themis ? await scrapeMetrics(spec.themis.server, spec.themis.route) : undefined;
  log(
    `${spec.name}: ${spec.load.method} ${spec.load.distinctPathPrefix ? `${spec.load.distinctPathPrefix}<n>` : spec.load.path}, ${connections} connections, ${settings.durationS} s`,
  );
  const serverPid = spec.serverPid ?? spec.themis?.server.proc.pid;
  const cpuBefore = snapshot();
  const serverCpu0 = serverPid !== undefined ? cpuSeconds(serverPid) : undefined;
  const serverMain0 = serverPid !== undefined ? threadCpuSeconds(serverPid) : undefined;
  const benchCpu0 = cpuSeconds('self');
  const t0 = Date.now();
  const result = spec.run ? await spec.run(settings.durationS, 'measure') : await runLoad(load);
  const wall = (Date.now() - t0) / 1000;
  const serverCpu1 = serverPid !== undefined ? cpuSeconds(serverPid) : undefined;
  const serverMain1 = serverPid !== undefined ? threadCpuSeconds(serverPid) : undefined;
  const benchCpu1 = cpuSeconds('self');
  const cpuAfter = snapshot();
  const otherCpu = foreignCores(cpuBefore, cpuAfter);
  const otherWrites = foreignWriteMBps(cpuBefore, cpuAfter);
  const cores = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && wall > 0 ? Math.round(((b - a) / wall) * 100) / 100 : undefined;
  const serverCores = cores(serverCpu0, serverCpu1);
  const serverMainCores = cores(serverMain0, serverMain1);
  const loadGenCores = cores(benchCpu0, benchCpu1);
  // Let requests cut off at the end of the run settle before reading the server's counters.
  await sleep(300);
  const serverSide = spec.themis && before ? metricsDelta(before, await scrapeMetrics(spec.themis.server, spec.themis.route)) : undefined;

  const problems: string[] = [];
  const warnings: string[] = [];
  if (result.requests === 0) problems.push('no request completed');
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx responses seen by ${result.tool}`);
  if (result.errors > 0) {
    const detail = Object.entries(result.errorDetail)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    if (result.errors > Math.max(10, result.requests * 0.001)) problems.push(`${result.errors} socket errors/timeouts (${detail})`);
    else warnings.push(`${result.errors} socket errors/timeouts (${detail})`);
  }
  if (serverSide) {
    for (const [k, v] of Object.entries(serverSide.byStatus)) {
      const status = k.split(' ').pop() ?? '';
      if (spec.allowStatus?.includes(Number(status))) continue;
      if (status === 'aborted') {
        // Requests in flight when the load generator stopped: at most one per connection is expected.
        if (v > connections * 2) problems.push(`server saw ${v} aborted requests (${k})`);
        else warnings.push(`server saw ${v} requests aborted when the load generator stopped (${k})`);
      } else if (!/^2\d\d$/.test(status)) {
        problems.push(`server answered ${v} × ${k}`);
      }
    }
  }
  if (otherCpu !== undefined && otherCpu > BUSY_CORES) {
    warnings.push(
      `MACHINE BUSY: other processes used ${otherCpu.toFixed(2)} CPU cores during the measured window; this scenario's numbers are unreliable (rerun on an idle machine)`,
    );
    log(`!!! ${spec.name}: other processes used ${otherCpu.toFixed(2)} CPU cores during the run; numbers are unreliable`);
  }
  if (otherWrites !== undefined && otherWrites > BUSY_WRITE_MBPS) {
    warnings.push(
      `DISK BUSY: other processes wrote ${otherWrites.toFixed(1)} MB/s to storage during the measured window; durable (fsync) numbers are unreliable (rerun when the disk is idle)`,
    );
    log(`!!! ${spec.name}: other processes wrote ${otherWrites.toFixed(1)} MB/s to storage during the run`);
  }
  const valid = problems.length === 0;
  if (!valid) log(`!!!!!! ${spec.name} is INVALID: ${problems.join('; ')}`);
  log(
    `${spec.name}: ${Math.round(result.rps)} ${result.tool === 'node' ? 'flows' : 'req'}/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, errors ${result.errors}, non-2xx ${result.non2xx}`,
  );
  return {
    name: spec.name,
    description: spec.description,
    server: spec.server,
    method: spec.load.method,
    path: spec.load.distinctPathPrefix !== undefined ? `${spec.load.distinctPathPrefix}<n>` : spec.load.path,
    load: result,
    ...(serverSide ? { serverSide } : {}),
    ...(otherCpu !== undefined ? { otherCpuCores: Math.round(otherCpu * 1000) / 1000 } : {}),
    ...(otherWrites !== undefined ? { otherWriteMBps: Math.round(otherWrites * 100) / 100 } : {}),
    ...(serverCores !== undefined ? { serverCpuCores: serverCores } : {}),
    ...(serverMainCores !== undefined ? { serverMainThreadCores: serverMainCores } : {}),
    ...(loadGenCores !== undefined ? { loadGenCpuCores: loadGenCores } : {}),
    ...(spec.baseline !== undefined ? { baseline: spec.baseline } : {}),
    ...(spec.extraBaselines !== undefined && spec.extraBaselines.length > 0 ? { extraBaselines: spec.extraBaselines } : {}),
    ...(spec.target ? { target: spec.target } : {}),
    valid,
    problems,
    warnings,
  };
}

/**
 * Fill in ratio (vs the baseline scenario's req/s) and pass/fail against
 * targets. A scenario measured in rounds against its baseline's rounds
 * (`metrics.median_round_ratio`, see roundRatioMetrics) takes that median as
 * its ratio; the ratio of the totals stays in `metrics.aggregate_ratio`.
 */
export function applyBaselines(results: ScenarioResult[]): void {
  const byName = new Map(results.map((s) => [s.name, s]));
  for (const s of results) {
    if (s.baseline !== undefined) {
      const b = byName.get(s.baseline);
      if (b && b.load.rps > 0) s.ratio = s.load.rps / b.load.rps;
      if (b && !b.valid) s.warnings.push(`baseline ${b.name} is invalid, so the ratio is meaningless`);
    }
    const med = s.metrics?.median_round_ratio;
    if (med !== undefined && s.ratio !== undefined) {
      s.metrics = { ...s.metrics, aggregate_ratio: round3(s.ratio) };
      s.ratio = med;
      if (s.target?.kind === 'ratio' && s.valid) s.pass = med >= s.target.min;
      continue;
    }
    for (const name of s.extraBaselines ?? []) {
      const b = byName.get(name);
      if (b && b.load.rps > 0) (s.extraRatios ??= {})[name] = s.load.rps / b.load.rps;
      if (b && !b.valid) s.warnings.push(`baseline ${b.name} is invalid, so the ratio against it is meaningless`);
    }
    if (s.target && s.valid) {
      if (s.target.kind === 'rps') s.pass = s.load.rps >= s.target.min;
      else {
        const b = s.baseline !== undefined ? byName.get(s.baseline) : undefined;
        if (s.ratio !== undefined && b?.valid) s.pass = s.ratio >= s.target.min;
      }
    }
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The per-round ratios of a scenario measured in rounds, as metrics: `round<i>_ratio` and their `median_round_ratio` (applyBaselines takes it as the ratio). */
export function roundRatioMetrics(ratios: readonly number[]): Record<string, number> {
  return {
    ...Object.fromEntries(ratios.map((x, i) => [`round${i + 1}_ratio`, round3(x)])),
    median_round_ratio: round3(median([...ratios])),
  };
}

/** `xs` rotated by `round` (round 0: as given): the order of a round, so noise hits every scenario alike. */
export function rotation<T>(xs: readonly T[], round: number): T[] {
  return xs.map((_, i) => xs[(i + round) % xs.length]!);
}

/** Median (the mean of the middle two for an even count; NaN when empty). */
export const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const n = a.length;
  return n === 0 ? NaN : n % 2 === 1 ? a[(n - 1) / 2]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
};

/**
 * One result from several measured rounds of the same scenario (interleaved
 * with other scenarios, so machine noise hits all of them alike): requests
 * and seconds summed (req/s = total requests ÷ total seconds), latency
 * percentiles the median of the rounds' (max: the largest), CPU the mean,
 * server-side status counts summed; invalid when any round is. Each round's
 * req/s is kept in `metrics` as `round<i>_rps`.
 */
export function mergeRounds(rounds: ScenarioResult[]): ScenarioResult {
  const first = rounds[0];
  if (first === undefined) throw new Error('mergeRounds: no rounds');
  const sum = (f: (s: ScenarioResult) => number) => rounds.reduce((acc, s) => acc + f(s), 0);
  const med = (f: (s: ScenarioResult) => number) => median(rounds.map(f));
  const meanOf = (f: (s: ScenarioResult) => number | undefined): number | undefined => {
    const xs = rounds.map(f).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? undefined : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000;
  };
  const requests = sum((s) => s.load.requests);
  const durationS = sum((s) => s.load.durationS);
  const errorDetail: Record<string, number> = {};
  for (const s of rounds) for (const [k, v] of Object.entries(s.load.errorDetail)) errorDetail[k] = (errorDetail[k] ?? 0) + v;
  const byStatus: Record<string, number> = {};
  for (const s of rounds) for (const [k, v] of Object.entries(s.serverSide?.byStatus ?? {})) byStatus[k] = (byStatus[k] ?? 0) + v;
  const tag = (i: number, xs: string[]) => xs.map((x) => `round ${i + 1}: ${x}`);
  const merged: ScenarioResult = {
    ...first,
    load: {
      ...first.load,
      requests,
      durationS,
      rps: durationS > 0 ? requests / durationS : 0,
      p50Ms: med((s) => s.load.p50Ms),
      p90Ms: med((s) => s.load.p90Ms),
      p99Ms: med((s) => s.load.p99Ms),
      maxMs: Math.max(...rounds.map((s) => s.load.maxMs)),
      meanMs: requests > 0 ? sum((s) => s.load.meanMs * s.load.requests) / requests : NaN,
      errors: sum((s) => s.load.errors),
      non2xx: sum((s) => s.load.non2xx),
      errorDetail,
      raw: rounds.map((s, i) => `--- round ${i + 1} ---\n${s.load.raw ?? ''}`).join('\n'),
    },
    ...(first.serverSide
      ? { serverSide: { requests: sum((s) => s.serverSide?.requests ?? 0), errors: sum((s) => s.serverSide?.errors ?? 0), byStatus } }
      : {}),
    valid: rounds.every((s) => s.valid),
    problems: rounds.flatMap((s, i) => tag(i, s.problems)),
    warnings: rounds.flatMap((s, i) => tag(i, s.warnings)),
    metrics: { ...first.metrics, ...Object.fromEntries(rounds.map((s, i) => [`round${i + 1}_rps`, Math.round(s.load.rps)])) },
  };
  const opt = (k: 'otherCpuCores' | 'otherWriteMBps' | 'serverCpuCores' | 'serverMainThreadCores' | 'loadGenCpuCores') => {
    const v = k === 'otherCpuCores' ? Math.max(...rounds.map((s) => s[k] ?? 0)) : meanOf((s) => s[k]);
    if (v === undefined || rounds.every((s) => s[k] === undefined)) delete merged[k];
    else merged[k] = v;
  };
  for (const k of ['otherCpuCores', 'otherWriteMBps', 'serverCpuCores', 'serverMainThreadCores', 'loadGenCpuCores'] as const) opt(k);
  return merged;
}
