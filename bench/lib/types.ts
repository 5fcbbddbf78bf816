import type { LoadResult } from './load.js';
import type { MachineInfo } from './machine.js';
import type { ServerDelta } from './server.js';

/** Settings shared by every area (from the environment). */
export interface BenchSettings {
  /** Measured seconds per scenario (BENCH_DURATION_S, default 10). */
  durationS: number;
  /** Unmeasured warm-up seconds before each scenario (BENCH_WARMUP_S, default 3; 0 disables). */
  warmupS: number;
  /** Concurrent connections (BENCH_CONNECTIONS, default 64). */
  connections: number;
  /** CPU pinning in effect (see lib/cpu.ts). */
  pinning: string;
}

export interface Target {
  /** `ratio`: result/baseline >= min; `rps`: req/s >= min. */
  kind: 'ratio' | 'rps';
  min: number;
  /** Human-readable, e.g. ">= 60% of bare uWS". */
  label: string;
}

export interface ScenarioResult {
  name: string;
  description: string;
  /** What was under load, e.g. "bare uWS", "themis (sync)". */
  server: string;
  method: string;
  path: string;
  load: LoadResult;
  /** Server-side view of the measured window (themis only), from /metrics. */
  serverSide?: ServerDelta;
  /** CPU cores used by processes outside the bench during the measured window (Linux). */
  otherCpuCores?: number;
  /** MB/s written to storage by processes outside the bench during the measured window (Linux). */
  otherWriteMBps?: number;
  /** CPU cores used by the server under test (all its threads) during the measured window (Linux). */
  serverCpuCores?: number;
  /** CPU used by the server's main thread (its event loop) during the measured window: near 1.0 = the event loop is the bottleneck (Linux). */
  serverMainThreadCores?: number;
  /** CPU cores used by the load generator (wrk, or the bench process's own JS driver) during the measured window (Linux). */
  loadGenCpuCores?: number;
  /** Name of the scenario this one is compared against (the ratio column). */
  baseline?: string;
  ratio?: number;
  /** Further scenarios this one is compared against (besides `baseline`). */
  extraBaselines?: string[];
  /** extra baseline name -> req/s ratio (filled in by applyBaselines). */
  extraRatios?: Record<string, number>;
  target?: Target;
  /** Target met (undefined when there is no target or the result is invalid). */
  pass?: boolean;
  valid: boolean;
  /** Why the result is invalid (non-2xx, no requests, ...). */
  problems: string[];
  /** Noteworthy but not invalidating (socket errors at shutdown, ...). */
  warnings: string[];
  /** Area-specific measurements (abort rate, delivery latency percentiles, ...), machine-readable. */
  metrics?: Record<string, number>;
}

/** An area-specific table, rendered after the generic results table. */
export interface ReportTable {
  title: string;
  columns: string[];
  rows: string[][];
  /** Explanation printed under the table. */
  notes?: string[];
}

export interface AreaReport {
  area: string;
  title: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  tool: string;
  settings: BenchSettings;
  scenarios: ScenarioResult[];
  notes: string[];
  /** Header of the throughput column in the results table (default "req/s"). */
  rateLabel?: string;
  /** Area-specific tables (optional). */
  tables?: ReportTable[];
}

export interface AreaContext {
  settings: BenchSettings;
}

export interface Area {
  name: string;
  description: string;
  run(ctx: AreaContext): Promise<Omit<AreaReport, 'machine' | 'startedAt' | 'finishedAt' | 'settings' | 'area'>>;
}
