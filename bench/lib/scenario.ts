import { foreignCores, snapshot } from './contention.js';
import { runLoad, type LoadSpec } from './load.js';
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
  /** The real server, to cross-check statuses via /metrics; with `route` (template, e.g. /entities/:key). */
  themis?: { server: ThemisServer; route: string };
  baseline?: string;
  target?: Target;
}

/** Other processes using more than this many cores during a window earn a "machine busy" warning. */
const BUSY_CORES = 0.1;

/** Warm up, measure, and validate one scenario. Ratios are filled in by `applyBaselines`. */
export async function runScenario(spec: ScenarioSpec, settings: BenchSettings): Promise<ScenarioResult> {
  const load: LoadSpec = { ...spec.load, connections: settings.connections, durationS: settings.durationS };
  if (settings.warmupS > 0) {
    log(`${spec.name}: warm-up ${settings.warmupS} s`);
    const warm: LoadSpec = { ...load, durationS: settings.warmupS };
    if (spec.warmupPathPrefix !== undefined) warm.distinctPathPrefix = spec.warmupPathPrefix;
    await runLoad(warm);
    await sleep(300);
  }
  const before = spec.themis ? await scrapeMetrics(spec.themis.server, spec.themis.route) : undefined;
  log(`${spec.name}: ${spec.load.method} ${spec.load.distinctPathPrefix ? spec.load.distinctPathPrefix + '<n>' : spec.load.path}, ${settings.connections} connections, ${settings.durationS} s`);
  const cpuBefore = snapshot();
  const result = await runLoad(load);
  const otherCpu = foreignCores(cpuBefore, snapshot());
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
      const status = k.split(' ')[1] ?? '';
      if (status === 'aborted') {
        // Requests in flight when the load generator stopped: at most one per connection is expected.
        if (v > settings.connections * 2) problems.push(`server saw ${v} aborted requests (${k})`);
        else warnings.push(`server saw ${v} requests aborted when the load generator stopped (${k})`);
      } else if (!/^2\d\d$/.test(status)) {
        problems.push(`server answered ${v} × ${k}`);
      }
    }
  }
  if (otherCpu !== undefined && otherCpu > BUSY_CORES) {
    warnings.push(`MACHINE BUSY: other processes used ${otherCpu.toFixed(2)} CPU cores during the measured window; this scenario's numbers are unreliable (rerun on an idle machine)`);
    log(`!!! ${spec.name}: other processes used ${otherCpu.toFixed(2)} CPU cores during the run; numbers are unreliable`);
  }
  const valid = problems.length === 0;
  if (!valid) log(`!!!!!! ${spec.name} is INVALID: ${problems.join('; ')}`);
  log(`${spec.name}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, errors ${result.errors}, non-2xx ${result.non2xx}`);
  return {
    name: spec.name,
    description: spec.description,
    server: spec.server,
    method: spec.load.method,
    path: spec.load.distinctPathPrefix !== undefined ? `${spec.load.distinctPathPrefix}<n>` : spec.load.path,
    load: result,
    ...(serverSide ? { serverSide } : {}),
    ...(otherCpu !== undefined ? { otherCpuCores: Math.round(otherCpu * 1000) / 1000 } : {}),
    ...(spec.baseline !== undefined ? { baseline: spec.baseline } : {}),
    ...(spec.target ? { target: spec.target } : {}),
    valid,
    problems,
    warnings,
  };
}

/** Fill in ratio (vs the baseline scenario's req/s) and pass/fail against targets. */
export function applyBaselines(results: ScenarioResult[]): void {
  const byName = new Map(results.map((s) => [s.name, s]));
  for (const s of results) {
    if (s.baseline !== undefined) {
      const b = byName.get(s.baseline);
      if (b && b.load.rps > 0) s.ratio = s.load.rps / b.load.rps;
      if (b && !b.valid) s.warnings.push(`baseline ${b.name} is invalid, so the ratio is meaningless`);
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
