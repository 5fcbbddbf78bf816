/**
 * The few Prometheus series the Overview page charts (GET /metrics, text exposition format), and
 * the rates computed from the counters' deltas between two polls.
 */

/** One scrape of GET /metrics, reduced to what the page needs. */
export interface Scrape {
  /** When it was taken (ms since the epoch, the browser's clock). */
  at: number;
  requests: number;
  errors: number;
  /** Sum and count of themis_http_request_duration_seconds over every route, method and status. */
  durationSum: number;
  durationCount: number;
  /** Cumulative bucket counts of that histogram, summed over the series, by upper bound (seconds; +Inf last). */
  buckets: Map<number, number>;
  /** Commits written by the storage engine (themis_storage_group_commit_commits_sum). */
  commits: number;
  /** Change-log sequence numbers (themis_cdc_*). */
  cdcLastSeq: number | undefined;
  cdcFirstSeq: number | undefined;
  cdcEntries: number | undefined;
  cdcSubscribers: number | undefined;
  uptime: number | undefined;
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/;

function labelOf(labels: string | undefined, name: string): string | undefined {
  if (!labels) return undefined;
  const m = new RegExp(`(?:^|,)${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(labels);
  return m?.[1];
}

export function parseMetrics(text: string, at: number): Scrape {
  const s: Scrape = {
    at,
    requests: 0,
    errors: 0,
    durationSum: 0,
    durationCount: 0,
    buckets: new Map(),
    commits: 0,
    cdcLastSeq: undefined,
    cdcFirstSeq: undefined,
    cdcEntries: undefined,
    cdcSubscribers: undefined,
    uptime: undefined,
  };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const labels = m[3];
    const v = Number(m[4]);
    if (!Number.isFinite(v) && m[4] !== '+Inf') continue;
    switch (name) {
      case 'vccdb_requests_total':
        s.requests = v;
        break;
      case 'vccdb_errors_total':
        s.errors = v;
        break;
      case 'themis_http_request_duration_seconds_sum':
        s.durationSum += v;
        break;
      case 'themis_http_request_duration_seconds_count':
        s.durationCount += v;
        break;
      case 'themis_http_request_duration_seconds_bucket': {
        const le = labelOf(labels, 'le');
        if (le === undefined) break;
        const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
        s.buckets.set(bound, (s.buckets.get(bound) ?? 0) + v);
        break;
      }
      case 'themis_storage_group_commit_commits_sum':
        s.commits = v;
        break;
      case 'themis_cdc_last_seq':
        s.cdcLastSeq = v;
        break;
      case 'themis_cdc_first_seq':
        s.cdcFirstSeq = v;
        break;
      case 'themis_cdc_entries':
        s.cdcEntries = v;
        break;
      case 'themis_cdc_subscribers':
        s.cdcSubscribers = v;
        break;
      case 'process_uptime_seconds':
        s.uptime = v;
        break;
    }
  }
  return s;
}

/** The figures of one interval between two scrapes. `null`: nothing to say (no request in it). */
export interface Point {
  /** End of the interval, seconds since the epoch (uPlot's x). */
  t: number;
  reqRate: number;
  errRate: number;
  meanMs: number | null;
  p95Ms: number | null;
  commitRate: number;
  changeRate: number;
}

/**
 * The q-quantile of the requests of an interval from the histogram's bucket deltas, interpolated
 * linearly inside the bucket it falls in (as Prometheus' histogram_quantile does).
 */
export function quantileFromDeltas(prev: Map<number, number>, cur: Map<number, number>, q: number): number | null {
  const bounds = [...cur.keys()].sort((a, b) => a - b);
  const deltas = bounds.map((b) => Math.max(0, (cur.get(b) ?? 0) - (prev.get(b) ?? 0)));
  const total = deltas[deltas.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i]!;
    const cum = deltas[i]!;
    if (cum >= rank) {
      // In +Inf: the highest finite bound is all we know.
      if (!Number.isFinite(upper)) return lower;
      const inBucket = cum - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = upper;
    below = cum;
  }
  return lower;
}

export function pointBetween(prev: Scrape, cur: Scrape): Point {
  const dt = Math.max(0.001, (cur.at - prev.at) / 1000);
  const rate = (a: number, b: number) => Math.max(0, b - a) / dt;
  const dCount = cur.durationCount - prev.durationCount;
  const p95 = quantileFromDeltas(prev.buckets, cur.buckets, 0.95);
  return {
    t: cur.at / 1000,
    reqRate: rate(prev.requests, cur.requests),
    errRate: rate(prev.errors, cur.errors),
    meanMs: dCount > 0 ? ((cur.durationSum - prev.durationSum) / dCount) * 1000 : null,
    p95Ms: p95 === null ? null : p95 * 1000,
    commitRate: rate(prev.commits, cur.commits),
    changeRate: cur.cdcLastSeq !== undefined && prev.cdcLastSeq !== undefined ? rate(prev.cdcLastSeq, cur.cdcLastSeq) : 0,
  };
}

/** A rate for a tile: two significant decimals below 10, one below 100. */
export function formatRate(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${unit}`;
}
