import { useMemo, useState } from 'preact/hooks';
import { download, request, type Session } from '../api';
import type { PageProps } from '../app';
import { Card, DataTable, ErrorBox, useAsync } from '../ui';
import { fileStamp, formatTime, isoToLocal, localToIso } from './security-util';

/** Reports (`reports:read`): audit (summary inline), compliance and retention, as JSON or PDF downloads. */

interface Period {
  start: string;
  end: string;
}

interface AuditReport {
  period: Period;
  summary: {
    total_events: number;
    successful_events: number;
    failed_events: number;
    success_rate: number | null;
    unique_users: number;
    unique_entities: number;
  };
  top_actions: { action: string; count: number; success_rate: number }[];
  top_users: { user: string | null; action_count: number; failed_count: number }[];
  timeline: { timestamp: string; event_count: number }[];
  group_by: string;
  bucket: 'hour' | 'day';
  groups: { key: string | null; count: number; failed: number }[];
  capped: boolean;
}

interface ComplianceReport {
  period: Period;
  compliance_score: number;
  score_deductions: { reason: string; points: number }[];
  security: { failed_auth_attempts: number; unauthorized_access_attempts: number; data_breaches_detected: number; total_events: number };
}

interface RetentionReport {
  policies: {
    collection: string;
    retention_days: number;
    auto_deletion_enabled: boolean;
    records_total: number | null;
    records_expired: number | null;
  }[];
  summary: {
    total_collections: number;
    collections_with_policy: number;
    total_expired_records: number | null;
    auto_deletion_active: boolean;
  };
}

const PERIODS: { id: string; label: string; hours: number }[] = [
  { id: '24h', label: 'Last 24 hours', hours: 24 },
  { id: '7d', label: 'Last 7 days', hours: 24 * 7 },
  { id: '30d', label: 'Last 30 days', hours: 24 * 30 },
  { id: '90d', label: 'Last 90 days', hours: 24 * 90 },
];

function pct(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : `${(n * 100).toFixed(n === 1 ? 0 : 1)} %`;
}

function Stat({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="stat">
      <div class="label">{label}</div>
      <div class="value">{typeof value === 'number' ? value.toLocaleString() : value}</div>
    </div>
  );
}

/** Download buttons of one report: one per format. */
function Downloads({
  session,
  path,
  query,
  name,
  formats,
}: {
  session: Session;
  path: string;
  query: Record<string, string | undefined>;
  name: string;
  formats: ('json' | 'csv' | 'pdf')[];
}) {
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  return (
    <>
      {formats.map((f) => (
        <button
          type="button"
          key={f}
          disabled={busy !== undefined}
          onClick={async () => {
            setBusy(f);
            setError(undefined);
            try {
              await download(session, path, `themis-${name}-report-${fileStamp()}.${f}`, {
                query: { ...query, format: f === 'json' && name === 'retention' ? undefined : f },
              });
            } catch (err) {
              setError(err);
            } finally {
              setBusy(undefined);
            }
          }}
        >
          {busy === f ? 'Preparing…' : `Download ${f.toUpperCase()}`}
        </button>
      ))}
      <ErrorBox error={error} />
    </>
  );
}

function Timeline({ report }: { report: AuditReport }) {
  const max = Math.max(1, ...report.timeline.map((t) => t.event_count));
  const points = report.timeline.slice(-72);
  if (points.length === 0) return null;
  return (
    <figure class="sec-timeline">
      <div class="sec-bars" role="img" aria-label={`Events per ${report.bucket}, at most ${max}`}>
        {points.map((t) => (
          <div
            key={t.timestamp}
            class="sec-bar"
            style={{ height: `${Math.max(t.event_count === 0 ? 0 : 3, (t.event_count / max) * 100)}%` }}
            title={`${formatTime(t.timestamp)}: ${t.event_count} events`}
          />
        ))}
      </div>
      <figcaption class="muted small">
        Events per {report.bucket}, {formatTime(points[0]?.timestamp)} – {formatTime(report.period.end)} (max {max.toLocaleString()})
      </figcaption>
    </figure>
  );
}

function AuditReportCard({ session, query }: { session: Session; query: Record<string, string | undefined> }) {
  const [groupBy, setGroupBy] = useState('action');
  const q = { ...query, group_by: groupBy };
  const rep = useAsync(() => request<AuditReport>(session, 'GET', '/api/reports/audit', undefined, { query: q }), [JSON.stringify(q)]);
  const r = rep.data;
  return (
    <Card
      title="Audit report"
      actions={<Downloads session={session} path="/api/reports/audit" query={q} name="audit" formats={['json', 'csv', 'pdf']} />}
    >
      <div class="row">
        <div class="field">
          <label for="report-group-by">Group by (CSV, groups)</label>
          <select id="report-group-by" value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value)}>
            {['action', 'user', 'entity_type', 'hour', 'day'].map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </div>
        {r && (
          <p class="muted small">
            Period {formatTime(r.period.start)} – {formatTime(r.period.end)}
            {r.capped && ' · counters capped'}
          </p>
        )}
      </div>
      <ErrorBox error={rep.error} />
      {!r && !rep.error && <p class="muted">Loading…</p>}
      {r && (
        <div class="stack">
          <div class="grid sec-stats">
            <Stat label="Events" value={r.summary.total_events} />
            <Stat label="Succeeded" value={r.summary.successful_events} />
            <Stat label="Failed" value={r.summary.failed_events} />
            <Stat label="Success rate" value={pct(r.summary.success_rate)} />
            <Stat label="Users" value={r.summary.unique_users} />
            <Stat label="Entities" value={r.summary.unique_entities} />
          </div>
          <Timeline report={r} />
          <div class="sec-two">
            <div>
              <h3>Top actions</h3>
              <DataTable
                label="Top actions"
                rows={r.top_actions}
                columns={['Action', 'Events', 'Success']}
                render={(col, row) => {
                  const a = row as (typeof r.top_actions)[number];
                  if (col === 'Action') return <span class="mono">{a.action}</span>;
                  return col === 'Events' ? a.count.toLocaleString() : pct(a.success_rate);
                }}
              />
            </div>
            <div>
              <h3>Top users</h3>
              <DataTable
                label="Top users"
                rows={r.top_users}
                columns={['User', 'Events', 'Failed']}
                render={(col, row) => {
                  const u = row as (typeof r.top_users)[number];
                  if (col === 'User') return u.user ?? <span class="muted">anonymous</span>;
                  return (col === 'Events' ? u.action_count : u.failed_count).toLocaleString();
                }}
              />
            </div>
          </div>
        </div>
      )}
    </Card>
  );
}

function ComplianceCard({ session, query }: { session: Session; query: Record<string, string | undefined> }) {
  const rep = useAsync(
    () => request<ComplianceReport>(session, 'GET', '/api/reports/compliance', undefined, { query }),
    [JSON.stringify(query)],
  );
  const r = rep.data;
  return (
    <Card
      title="Compliance report (GDPR)"
      actions={<Downloads session={session} path="/api/reports/compliance" query={query} name="compliance" formats={['json', 'pdf']} />}
    >
      <ErrorBox error={rep.error} />
      {r && (
        <div class="row sec-compliance">
          <div class={`sec-score ${r.compliance_score >= 80 ? 'ok' : r.compliance_score >= 50 ? 'warn' : 'bad'}`} title="Compliance score">
            {r.compliance_score}
            <span class="small"> / 100</span>
          </div>
          <div class="small">
            <div>
              Failed sign-ins {r.security.failed_auth_attempts} · forbidden attempts {r.security.unauthorized_access_attempts} · breaches
              detected {r.security.data_breaches_detected}
            </div>
            {r.score_deductions.length > 0 ? (
              <div class="muted">
                Deductions: {r.score_deductions.map((d) => `${d.reason.replace(/_/g, ' ')} (−${d.points})`).join(', ')}
              </div>
            ) : (
              <div class="muted">No deductions.</div>
            )}
          </div>
        </div>
      )}
    </Card>
  );
}

function RetentionCard({ session }: { session: Session }) {
  const rep = useAsync(() => request<RetentionReport>(session, 'GET', '/api/reports/retention'), []);
  const r = rep.data;
  return (
    <Card
      title="Retention report"
      actions={<Downloads session={session} path="/api/reports/retention" query={{}} name="retention" formats={['json']} />}
    >
      <ErrorBox error={rep.error} />
      {r && (
        <p class="small">
          {r.summary.collections_with_policy} of {r.summary.total_collections} collections have a policy · expired records{' '}
          {r.summary.total_expired_records ?? '–'} · auto-deletion {r.summary.auto_deletion_active ? 'active' : 'inactive'}
          <span class="muted"> (the retention report has no period: it counts the data now)</span>
        </p>
      )}
    </Card>
  );
}

export function ReportsTab({ session }: PageProps) {
  const [period, setPeriod] = useState('24h');
  const [now, setNow] = useState(() => Date.now());
  const [from, setFrom] = useState(() => isoToLocal(new Date(Date.now() - 7 * 86400_000)));
  const [to, setTo] = useState(() => isoToLocal(new Date()));
  const query = useMemo<Record<string, string | undefined>>(() => {
    const p = PERIODS.find((x) => x.id === period);
    if (p) return { start: new Date(now - p.hours * 3600_000).toISOString(), end: new Date(now).toISOString() };
    return { start: localToIso(from), end: localToIso(to) };
  }, [period, now, from, to]);
  return (
    <div class="stack">
      <Card title="Period">
        <div class="row">
          <div class="field">
            <label for="report-period">Report period</label>
            <select
              id="report-period"
              value={period}
              onChange={(e) => {
                setPeriod(e.currentTarget.value);
                setNow(Date.now());
              }}
            >
              {PERIODS.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
              <option value="custom">Custom range</option>
            </select>
          </div>
          {period === 'custom' && (
            <>
              <div class="field">
                <label for="report-from">From</label>
                <input id="report-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
              </div>
              <div class="field">
                <label for="report-to">To</label>
                <input id="report-to" type="datetime-local" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
              </div>
            </>
          )}
          <button type="button" onClick={() => setNow(Date.now())}>
            Refresh
          </button>
        </div>
      </Card>
      <AuditReportCard session={session} query={query} />
      <ComplianceCard session={session} query={query} />
      <RetentionCard session={session} />
    </div>
  );
}
