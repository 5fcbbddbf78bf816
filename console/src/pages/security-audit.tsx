import type { components } from '@themis-ts/client';
import { useState } from 'preact/hooks';
import { download, request } from '../api';
import type { PageProps } from '../app';
import { Card, ErrorBox, JsonView, Notice, useAsync } from '../ui';
import { fileStamp, formatTime, localToIso } from './security-util';

/** The audit log (`audit:read`): filters, a page of entries, CSV export with the same filters, chain verification. */

// The contract's types (generated from openapi.yaml into @themis-ts/client).
type AuditEntry = components['schemas']['AuditEntry'];
type AuditPage = components['schemas']['AuditPage'];
type VerifyResult = components['schemas']['AuditVerifyResult'];

interface Filters {
  user: string;
  action: string;
  entity_type: string;
  entity_id: string;
  success: '' | 'true' | 'false';
  start: string;
  end: string;
}

const EMPTY: Filters = { user: '', action: '', entity_type: '', entity_id: '', success: '', start: '', end: '' };

/** Verbs of docs/audit.md, offered as suggestions for the action filter. */
const ACTIONS = [
  'CREATE_KEY',
  'LIST_KEYS',
  'GET_KEY',
  'UPDATE_KEY',
  'REVOKE_KEY',
  'LOGIN_FAILED',
  'REQUEST_REFUSED',
  'UNKNOWN_ROUTE',
  'WHOAMI',
  'GET_ENTITY',
  'PUT_ENTITY',
  'CREATE_ENTITY',
  'DELETE_ENTITY',
  'BATCH_WRITE',
  'QUERY',
  'AQL',
  'FULLTEXT_SEARCH',
  'CREATE_INDEX',
  'DROP_TABLE',
  'TRUNCATE_TABLE',
  'READ_AUDIT',
  'EXPORT_AUDIT',
  'VERIFY_AUDIT',
  'REPORT_AUDIT',
  'REPORT_COMPLIANCE',
  'REPORT_RETENTION',
  'CLASSIFY',
  'PII_REVEAL',
  'PII_DELETE',
];

const PAGE_SIZES = [25, 50, 100, 250];

/** The filters as query parameters of GET /api/audit and its CSV export. */
function toQuery(f: Filters): Record<string, string | undefined> {
  return {
    user: f.user.trim() || undefined,
    action: f.action.trim().toUpperCase() || undefined,
    entity_type: f.entity_type.trim() || undefined,
    entity_id: f.entity_id.trim() || undefined,
    success: f.success || undefined,
    start: localToIso(f.start),
    end: localToIso(f.end),
  };
}

function Status({ e }: { e: AuditEntry }) {
  const cls = e.success ? 'ok' : e.statusCode === 401 || e.statusCode === 403 ? 'bad' : 'warn';
  return (
    <span class={`badge ${cls}`} title={e.errorMessage ?? undefined}>
      {e.statusCode === 0 ? 'gone' : e.statusCode}
    </span>
  );
}

/** The result of GET /api/audit/verify, in words. */
function VerifyResultView({ result }: { result: VerifyResult }) {
  if (result.ok)
    return (
      <Notice>
        Hash chain intact: {result.checked.toLocaleString()} entries checked
        {result.first_id !== null && ` (ids ${result.first_id}–${result.last_id})`}.
      </Notice>
    );
  return (
    <div class="error" role="alert">
      Hash chain BROKEN at entry {result.first_broken_id ?? '?'}: {result.reason ?? 'no reason given'} ({result.checked.toLocaleString()}{' '}
      entries checked).
    </div>
  );
}

export function AuditTab({ session }: PageProps) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(50);
  const [selected, setSelected] = useState<AuditEntry | undefined>();
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>();
  const [verifying, setVerifying] = useState(false);
  const [verified, setVerified] = useState<VerifyResult | undefined>();
  const [verifyError, setVerifyError] = useState<unknown>();
  const data = useAsync(
    () => request<AuditPage>(session, 'GET', '/api/audit', undefined, { query: { ...toQuery(filters), page, page_size: pageSize } }),
    [filters, page, pageSize],
  );
  const set = (k: keyof Filters) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
    setDraft({ ...draft, [k]: e.currentTarget.value });
  const entries = data.data?.entries ?? [];
  const total = data.data?.totalCount ?? 0;
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = (page - 1) * pageSize + entries.length;
  return (
    <div class="stack">
      <Card title="Filters">
        <form
          class="sec-filters"
          aria-label="Audit filters"
          onSubmit={(e) => {
            e.preventDefault();
            setPage(1);
            setSelected(undefined);
            setFilters({ ...draft });
          }}
        >
          <div class="field">
            <label for="audit-user">User</label>
            <input id="audit-user" value={draft.user} placeholder="admin, key name" onInput={set('user')} />
          </div>
          <div class="field">
            <label for="audit-action">Action</label>
            <input
              id="audit-action"
              list="audit-actions"
              value={draft.action}
              placeholder="e.g. CREATE_KEY"
              class="mono"
              onInput={set('action')}
            />
            <datalist id="audit-actions">
              {ACTIONS.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </div>
          <div class="field">
            <label for="audit-entity-type">Entity type</label>
            <input id="audit-entity-type" value={draft.entity_type} placeholder="table, api_key" onInput={set('entity_type')} />
          </div>
          <div class="field">
            <label for="audit-entity-id">Entity id</label>
            <input id="audit-entity-id" value={draft.entity_id} onInput={set('entity_id')} />
          </div>
          <div class="field">
            <label for="audit-success">Outcome</label>
            <select id="audit-success" value={draft.success} onChange={set('success')}>
              <option value="">any</option>
              <option value="true">succeeded</option>
              <option value="false">failed</option>
            </select>
          </div>
          <div class="field">
            <label for="audit-start">From</label>
            <input id="audit-start" type="datetime-local" value={draft.start} onInput={set('start')} />
          </div>
          <div class="field">
            <label for="audit-end">To</label>
            <input id="audit-end" type="datetime-local" value={draft.end} onInput={set('end')} />
          </div>
          <div class="sec-filter-actions">
            <button type="submit" class="primary">
              Apply filters
            </button>
            <button
              type="button"
              onClick={() => {
                setDraft(EMPTY);
                setFilters(EMPTY);
                setPage(1);
                setSelected(undefined);
              }}
            >
              Clear
            </button>
          </div>
        </form>
      </Card>
      <Card
        title="Entries"
        actions={
          <>
            <button type="button" onClick={data.reload} disabled={data.loading}>
              Refresh
            </button>
            <button
              type="button"
              disabled={exporting}
              title="Every entry matching the filters, newest first (GET /api/audit/export/csv?all=true)"
              onClick={async () => {
                setExporting(true);
                setExportError(undefined);
                try {
                  await download(session, '/api/audit/export/csv', `audit-${fileStamp()}.csv`, {
                    query: { ...toQuery(filters), all: true },
                  });
                } catch (err) {
                  setExportError(err);
                } finally {
                  setExporting(false);
                }
              }}
            >
              {exporting ? 'Exporting…' : 'Download CSV'}
            </button>
            <button
              type="button"
              disabled={verifying}
              title="Walk the hash chain of the whole log (GET /api/audit/verify)"
              onClick={async () => {
                setVerifying(true);
                setVerifyError(undefined);
                setVerified(undefined);
                try {
                  setVerified(await request<VerifyResult>(session, 'GET', '/api/audit/verify'));
                } catch (err) {
                  setVerifyError(err);
                } finally {
                  setVerifying(false);
                }
              }}
            >
              {verifying ? 'Verifying…' : 'Verify chain'}
            </button>
          </>
        }
      >
        <ErrorBox error={data.error} />
        <ErrorBox error={exportError} />
        <ErrorBox error={verifyError} />
        {verified && <VerifyResultView result={verified} />}
        <p class="muted small" aria-live="polite" data-testid="audit-count">
          {data.data
            ? `${total.toLocaleString()} matching ${total === 1 ? 'entry' : 'entries'}${total > 0 ? `, showing ${first}–${last}` : ''}`
            : 'Loading…'}
          {' · CSV export: every matching entry, same filters.'}
        </p>
        {data.data && entries.length === 0 && <p class="muted">No entries match.</p>}
        {entries.length > 0 && (
          <div class="table-wrap">
            <table aria-label="Audit entries">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Principal</th>
                  <th scope="col">Action</th>
                  <th scope="col">Status</th>
                  <th scope="col">Entity</th>
                  <th scope="col">Request</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr
                    key={e.id}
                    class={`clickable${selected?.id === e.id ? ' sec-selected' : ''}`}
                    tabIndex={0}
                    aria-selected={selected?.id === e.id}
                    onClick={() => setSelected(selected?.id === e.id ? undefined : e)}
                    onKeyDown={(ev: KeyboardEvent) => {
                      if (ev.key === 'Enter' || ev.key === ' ') {
                        ev.preventDefault();
                        setSelected(selected?.id === e.id ? undefined : e);
                      }
                    }}
                  >
                    <td title={`entry ${e.id} · ${e.timestamp}`}>{formatTime(e.timestamp)}</td>
                    <td title={e.userId ?? undefined}>{e.user ?? <span class="muted">anonymous</span>}</td>
                    <td class="mono sec-action">{e.action}</td>
                    <td>
                      <Status e={e} />
                    </td>
                    <td class="sec-entity" title={[e.entityType, e.entityId].filter(Boolean).join(' · ') || undefined}>
                      {e.entityType && <span class="muted">{e.entityType}</span>}
                      {e.entityType && e.entityId && ' · '}
                      {e.entityId}
                    </td>
                    <td class="mono small sec-request" title={e.route ?? undefined}>
                      {e.method ? `${e.method} ${e.route ?? ''}` : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data.data && total > 0 && (
          <div class="row sec-pager">
            <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous
            </button>
            <span class="muted">
              Page {page} of {Math.max(1, Math.ceil(total / pageSize))}
            </span>
            <button type="button" disabled={!data.data.hasMore} onClick={() => setPage(page + 1)}>
              Next
            </button>
            <label for="audit-page-size" class="inline">
              Per page
            </label>
            <select
              id="audit-page-size"
              class="sec-narrow"
              value={String(pageSize)}
              onChange={(e) => {
                setPageSize(Number(e.currentTarget.value));
                setPage(1);
              }}
            >
              {PAGE_SIZES.map((n) => (
                <option key={n} value={String(n)}>
                  {n}
                </option>
              ))}
            </select>
          </div>
        )}
        {selected && (
          <div class="stack sec-detail">
            <h3>Entry {selected.id}</h3>
            <JsonView
              label={`Audit entry ${selected.id}`}
              value={{
                ...selected,
                oldValue: parseMaybe(selected.oldValue),
                newValue: parseMaybe(selected.newValue),
              }}
            />
          </div>
        )}
      </Card>
    </div>
  );
}

function parseMaybe(v: string | null): unknown {
  if (v === null) return null;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
