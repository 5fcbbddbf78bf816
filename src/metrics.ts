import client from 'prom-client';

/**
 * The one Prometheus registry. Names follow the contract (`vccdb_*`,
 * `process_uptime_seconds`); our own additions use the `themis_` prefix.
 */
export interface Metrics {
  readonly registry: client.Registry;
  readonly requestsTotal: client.Counter;
  readonly errorsTotal: client.Counter;
  readonly requestDuration: client.Histogram<'route' | 'method' | 'status'>;
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
  const requestsTotal = new client.Counter({
    name: 'vccdb_requests_total',
    help: 'Total HTTP requests handled',
    registers: [registry],
  });
  const errorsTotal = new client.Counter({
    name: 'vccdb_errors_total',
    help: 'Total HTTP errors (responses with status >= 400, and aborted requests)',
    registers: [registry],
  });
  const requestDuration = new client.Histogram({
    name: 'vccdb_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
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
  return { registry, requestsTotal, errorsTotal, requestDuration, groupCommitSize, groupCommitSeconds };
}
