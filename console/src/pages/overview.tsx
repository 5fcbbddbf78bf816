import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { request } from '../api';
import type { PageProps } from '../app';
import { ErrorBox, formatBytes, formatDuration, useInterval } from '../ui';
import { type Line, TimeChart } from './overview-chart';
import { formatRate, type Point, parseMetrics, pointBetween, type Scrape } from './overview-metrics';
import './overview.css';

/**
 * Overview: health, version, uptime, storage, documents and the live rates (requests, latency,
 * commits, change feed). Polls every 2 s while shown: GET /health (public), GET /metrics (public;
 * the rates are counter deltas between two scrapes), GET /stats (stats:read) and GET /tables
 * (data:read). The charts keep the last 5 minutes.
 */

const POLL_MS = 2000;
const KEEP_SECONDS = 300;

interface Health {
  status: string;
  writes: string;
  version: string;
  database: string;
  uptime_seconds: number;
}

interface Stats {
  server: { uptime_seconds: number; total_requests: number; total_errors: number; queries_per_second: number; version?: string };
  storage: {
    leveldb: { durability?: string; approximate_size_bytes?: number; bytes_written?: number; group_commit?: { commits?: number } };
  };
  changefeed?: { first_seq: number; last_seq: number; entries: number; subscribers: number; waiters?: number; retention?: string };
}

interface TableInfo {
  name: string;
  system: boolean;
  documents: number;
  bytes: number;
  disk_bytes: number;
}

/** `604800s` -> `7 days`; other forms (`forever`, `<n> entries`) as they are. */
function retention(r: string): string {
  const m = /^(\d+)s$/.exec(r);
  if (!m) return r;
  const secs = Number(m[1]);
  return secs % 86400 === 0 ? `${secs / 86400} day${secs === 86400 ? '' : 's'}` : formatDuration(secs);
}

function Tile({
  label,
  value,
  children,
  tone,
}: {
  label: string;
  value: ComponentChildren;
  children?: ComponentChildren;
  tone?: 'ok' | 'warn' | 'bad';
}) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: a group of a label and its figures; fieldset would imply a form
    <div class={`stat ov-tile${tone ? ` ov-${tone}` : ''}`} role="group" aria-label={label}>
      <div class="label">{label}</div>
      <div class="value">{value}</div>
      {children && <div class="muted small ov-sub">{children}</div>}
    </div>
  );
}

const REQ_LINES: Line[] = [
  { label: 'Requests', color: '#2f6fb0', unit: 'req/s' },
  { label: 'Errors (≥ 400)', color: '#a3262a', unit: 'req/s', dash: [4, 3] },
];
const LAT_LINES: Line[] = [
  { label: 'p95', color: '#b56a00', unit: 'ms' },
  { label: 'Mean', color: '#2a7a3b', unit: 'ms', dash: [4, 3] },
];
const COMMIT_LINES: Line[] = [
  { label: 'Commits', color: '#6a3fb0', unit: '/s' },
  { label: 'Change-feed entries', color: '#2f8f9d', unit: '/s', dash: [4, 3] },
];

export function OverviewPage({ session }: PageProps) {
  const canStats = session.can('stats:read');
  const canTables = session.can('data:read');
  const [health, setHealth] = useState<Health | undefined>();
  const [healthError, setHealthError] = useState<unknown>();
  const [stats, setStats] = useState<Stats | undefined>();
  const [tables, setTables] = useState<TableInfo[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [points, setPoints] = useState<Point[]>([]);
  const [latest, setLatest] = useState<Scrape | undefined>();
  const last = useRef<Scrape | undefined>(undefined);
  const busy = useRef(false);
  const abort = useRef<AbortController | null>(null);

  const poll = async () => {
    // Not while the browser tab is hidden (the next poll after it shows again spans the gap).
    if (busy.current || document.hidden) return;
    busy.current = true;
    const ctl = new AbortController();
    abort.current = ctl;
    const signal = ctl.signal;
    try {
      const [h, m, st, tb] = await Promise.allSettled([
        request<Health>(session, 'GET', '/health', undefined, { signal }),
        request<string>(session, 'GET', '/metrics', undefined, { signal, as: 'text' }),
        canStats ? request<Stats>(session, 'GET', '/stats', undefined, { signal }) : Promise.resolve(undefined),
        canTables ? request<{ tables: TableInfo[] }>(session, 'GET', '/tables', undefined, { signal }) : Promise.resolve(undefined),
      ]);
      if (signal.aborted) return;
      if (h.status === 'fulfilled') {
        setHealth(h.value);
        setHealthError(undefined);
      } else setHealthError(h.reason);
      let err: unknown;
      if (m.status === 'fulfilled') {
        const cur = parseMetrics(m.value, Date.now());
        const prev = last.current;
        last.current = cur;
        setLatest(cur);
        // A restart resets the counters: start the deltas over.
        if (prev && cur.requests >= prev.requests) {
          const p = pointBetween(prev, cur);
          setPoints((ps) => [...ps.filter((x) => x.t > p.t - KEEP_SECONDS), p]);
        }
      } else err = m.reason;
      if (st.status === 'fulfilled') setStats(st.value);
      else err ??= st.reason;
      if (tb.status === 'fulfilled') setTables(tb.value?.tables);
      else err ??= tb.reason;
      setError(err);
    } finally {
      busy.current = false;
    }
  };

  useEffect(() => {
    void poll();
    return () => abort.current?.abort();
  }, []);
  useInterval(() => void poll(), POLL_MS);

  const series = useMemo(() => {
    const xs = points.map((p) => p.t);
    return {
      xs,
      req: [points.map((p) => p.reqRate), points.map((p) => p.errRate)],
      lat: [points.map((p) => p.p95Ms), points.map((p) => p.meanMs)],
      commits: [points.map((p) => p.commitRate), points.map((p) => p.changeRate)],
    };
  }, [points]);

  const now = points[points.length - 1];
  const userTables = tables?.filter((t) => !t.system);
  const documents = userTables?.reduce((n, t) => n + t.documents, 0);
  const docBytes = tables?.reduce((n, t) => n + t.bytes, 0);
  const cf = stats?.changefeed;
  const healthy = health?.status === 'healthy';

  return (
    <div class="ov">
      <div class="ov-tiles">
        <Tile
          label="Health"
          value={healthError ? 'unavailable' : (health?.status ?? '…')}
          tone={healthError ? 'bad' : health ? (healthy ? 'ok' : 'warn') : undefined}
        >
          {health && `writes ${health.writes} · ${health.database}`}
        </Tile>
        <Tile label="Version" value={health?.version ?? '…'}>
          ThemisTS server
        </Tile>
        <Tile label="Uptime" value={health ? formatDuration(health.uptime_seconds) : '…'}>
          {health && `started ${new Date(Date.now() - health.uptime_seconds * 1000).toLocaleTimeString()}`}
        </Tile>
        {(canStats || canTables) && (
          <Tile
            label="Storage size"
            value={docBytes !== undefined ? formatBytes(docBytes) : stats ? formatBytes(stats.storage.leveldb.approximate_size_bytes) : '…'}
          >
            {docBytes !== undefined && 'documents’ JSON'}
            {stats && (
              <>
                {docBytes !== undefined && ' · '}
                {formatBytes(stats.storage.leveldb.approximate_size_bytes ?? 0)} on disk (LevelDB estimate)
              </>
            )}
          </Tile>
        )}
        {canTables && (
          <Tile label="Documents" value={documents === undefined ? '…' : documents.toLocaleString('en-US')}>
            {userTables && `in ${userTables.length} table${userTables.length === 1 ? '' : 's'} (system tables aside)`}
          </Tile>
        )}
      </div>
      <div class="ov-tiles">
        <Tile label="Request rate" value={formatRate(now?.reqRate, 'req/s')}>
          {now
            ? `${formatRate(now.errRate, 'errors/s')} · ${latest?.requests.toLocaleString('en-US')} requests in all`
            : 'measured between two polls'}
        </Tile>
        <Tile label="Latency p95" value={now?.p95Ms != null ? formatRate(now.p95Ms, 'ms') : '–'}>
          {now?.meanMs != null ? `mean ${formatRate(now.meanMs, 'ms')} over the last 2 s` : 'no requests in the last 2 s'}
        </Tile>
        <Tile label="Commit rate" value={formatRate(now?.commitRate, 'commits/s')}>
          {latest ? `${latest.commits.toLocaleString('en-US')} commits since start` : 'measured between two polls'}
        </Tile>
        {canStats && (
          <Tile label="Change-feed lag" value={cf ? `${(cf.last_seq - cf.first_seq + 1).toLocaleString('en-US')} changes` : '…'}>
            {cf && (
              <>
                head seq {cf.last_seq} − oldest retained seq {cf.first_seq}: what a reader from the oldest entry replays · {cf.subscribers}{' '}
                live stream{cf.subscribers === 1 ? '' : 's'}
                {cf.retention && ` · kept ${retention(cf.retention)}`}
              </>
            )}
          </Tile>
        )}
      </div>
      <ErrorBox error={healthError} />
      <ErrorBox error={error} />
      {!canStats && (
        <p class="notice" role="note">
          This key does not hold <code>stats:read</code>: storage size and the change feed are not shown. Health (<code>GET /health</code>)
          and the request and commit rates (<code>GET /metrics</code>) are public.
        </p>
      )}
      <div class="ov-charts">
        <div class="card">
          <TimeChart title="Request rate (req/s)" lines={REQ_LINES} xs={series.xs} ys={series.req} />
        </div>
        <div class="card">
          <TimeChart title="Request latency (ms)" lines={LAT_LINES} xs={series.xs} ys={series.lat} />
        </div>
        <div class="card">
          <TimeChart title="Commit rate (per s)" lines={COMMIT_LINES} xs={series.xs} ys={series.commits} />
        </div>
      </div>
      <p class="muted small">
        Polled every {POLL_MS / 1000} s from <code>GET /metrics</code> (rates are counter deltas between two polls; latency from the{' '}
        <code>themis_http_request_duration_seconds</code> buckets), <code>GET /health</code>
        {canStats && (
          <>
            , <code>GET /stats</code>
          </>
        )}
        {canTables && (
          <>
            , <code>GET /tables</code>
          </>
        )}
        ; the last 5 minutes are kept. The console's own polls count as requests.
      </p>
    </div>
  );
}
