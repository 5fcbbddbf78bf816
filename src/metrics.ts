import client from 'prom-client';

/**
 * Upper bounds (seconds) of `themis_http_request_duration_seconds`: 14 buckets,
 * 1-2.5-5 steps from 0.5 ms to 10 s. Entity reads and relaxed writes finish
 * below 0.5 ms (all one bucket: nothing to alert on there), fsynced commits in
 * 1-10 ms, AQL and searches up to seconds; past 10 s only long-polls and
 * streams, which `+Inf` holds. Every bucket is a series per route, method and
 * status, so the count is kept to what SLOs and `histogram_quantile` need.
 */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The one Prometheus registry. The contract's three names stay as it spells
 * them (`vccdb_requests_total`, `vccdb_errors_total`, `process_uptime_seconds`)
 * beside prom-client's default `process_*` and `nodejs_*` metrics; every other
 * metric of ours is `themis_<subsystem>_<name>[_<unit>]` (docs/operations.md#metrics).
 */
export interface Metrics {
  readonly registry: client.Registry;
  /** A gauge (or counter) whose value is read at scrape time; `undefined` leaves it unset (e.g. storage not open). */
  addGauge(name: string, help: string, read: () => number | undefined, type?: 'gauge' | 'counter'): void;
  /** A gauge with one series per label value, read at scrape time (series that disappear are dropped). */
  addLabeledGauge(name: string, help: string, label: string, read: () => [string, number][] | undefined, type?: 'gauge' | 'counter'): void;
  /** A histogram whose buckets, sum and count are read at scrape time (`undefined`: no series, e.g. storage not open). */
  addHistogram(
    name: string,
    help: string,
    buckets: readonly number[],
    read: () => { counts: ArrayLike<number>; sum: number; count: number } | undefined,
  ): void;
  /** Where vccdb_requests_total / vccdb_errors_total read their values at scrape time. */
  countRequestsFrom(source: () => { totalRequests: number; totalErrors: number }): void;
  readonly requestDuration: FastHistogram;
  readonly groupCommitSize: client.Histogram;
  readonly groupCommitSeconds: client.Histogram;
}

export function createMetrics(startedAt: number = Date.now()): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });

  new client.Gauge({
    name: 'process_uptime_seconds',
    help: 'Process uptime in seconds',
    registers: [registry],
    collect() {
      this.set((Date.now() - startedAt) / 1000);
    },
  });
  // The request path counts in plain integers (RequestStats); the counters
  // copy them at scrape time instead of paying prom-client per request.
  let source: () => { totalRequests: number; totalErrors: number } = () => ({ totalRequests: 0, totalErrors: 0 });
  new client.Counter({
    name: 'vccdb_requests_total',
    help: 'Total HTTP requests handled',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(source().totalRequests);
    },
  });
  new client.Counter({
    name: 'vccdb_errors_total',
    help: 'Total HTTP errors (responses with status >= 400, and aborted requests)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(source().totalErrors);
    },
  });
  const requestDuration = new FastHistogram(
    'themis_http_request_duration_seconds',
    'HTTP request duration in seconds, by route template, method and status',
    REQUEST_DURATION_BUCKETS,
  );
  registry.registerMetric(requestDuration as unknown as client.Metric);
  const groupCommitSize = new client.Histogram({
    name: 'themis_storage_group_commit_commits',
    help: 'Commits coalesced into one LevelDB batch (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  const groupCommitSeconds = new client.Histogram({
    name: 'themis_storage_group_commit_seconds',
    help: 'Time to write (and in sync mode fsync) one group-commit batch',
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  return {
    registry,
    requestDuration,
    groupCommitSize,
    groupCommitSeconds,
    countRequestsFrom: (f) => {
      source = f;
    },
    addGauge: (name, help, read, type = 'gauge') => {
      if (type === 'counter') {
        new client.Counter({
          name,
          help,
          registers: [registry],
          collect() {
            const v = read();
            this.reset();
            if (v !== undefined) this.inc(v);
          },
        });
        return;
      }
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const v = read();
          if (v !== undefined) this.set(v);
        },
      });
    },
    addHistogram: (name, help, buckets, read) => {
      registry.registerMetric(new ScrapedHistogram(name, help, buckets, read) as unknown as client.Metric);
    },
    addLabeledGauge: (name, help, label, read, type = 'gauge') => {
      // A counter's series are re-added (inc) and a gauge's set, both after a reset, at every scrape.
      const config = { name, help, labelNames: [label], registers: [registry] };
      if (type === 'counter')
        new client.Counter({
          ...config,
          collect() {
            this.reset();
            for (const [value, v] of read() ?? []) this.inc({ [label]: value }, v);
          },
        });
      else
        new client.Gauge({
          ...config,
          collect() {
            this.reset();
            for (const [value, v] of read() ?? []) this.set({ [label]: value }, v);
          },
        });
    },
  };
}

/** One label combination of a FastHistogram. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly upper: readonly number[],
  ) {
    this.counts = new Float64Array(upper.length);
  }

  observe(v: number): void {
    const u = this.upper;
    let i = 0;
    while (i < u.length && v > u[i]!) i++;
    if (i < u.length) this.counts[i]! += 1;
    this.sum += v;
    this.count++;
  }
}

/**
 * A histogram for the per-request path. prom-client's Histogram hashes the
 * label object on every observe (even through `labels()` children); here the
 * caller holds a series per label combination and `observe` is a few
 * arithmetic operations. prom-client's registry formats it like its own
 * histograms (the `get()` shape of prom-client metrics).
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  /** The series for these labels, created on first use. Keep label values bounded. */
  seriesFor(labels: Record<string, string>): HistogramSeries {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new HistogramSeries(labels, this.buckets)));
    return s;
  }

  reset(): void {
    this.series.clear();
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: b, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A histogram counted elsewhere (a module's service), formatted like prom-client's from what `read` answers at scrape time. */
class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    private readonly read: () => { counts: ArrayLike<number>; sum: number; count: number } | undefined,
  ) {}

  reset(): void {}

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    const h = this.read();
    if (h !== undefined) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += h.counts[i] ?? 0;
        values.push({ labels: { le: b }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf' }, value: h.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, value: h.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, value: h.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
