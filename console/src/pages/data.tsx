import { useState } from 'preact/hooks';
import type { Session } from '../api';
import type { PageProps } from '../app';
import { href, navigate } from '../router';
import { Card, cellText, DataTable, ErrorBox, formatBytes, useAsync } from '../ui';
import { getTable, indexCount, listTables, PAGE_SIZE, pageOf, type Row, type TableInfo } from './data-api';
import { CreateDocument, DocumentEditor } from './data-document';
import './data.css';

/**
 * Data: the tables (GET /tables) -> one table's documents a page at a time (AQL, key order) ->
 * one document in a JSON editor (PUT / DELETE /entities/{table:key}); new documents with
 * POST /entities. Routes: `#/data`, `#/data/<table>`, `#/data/<table>/<key>`.
 */
export function DataPage({ session, args }: PageProps) {
  const table = args[0];
  if (!table) return <TablesView session={session} />;
  return <TableView key={table} session={session} table={table} docKey={args[1]} />;
}

function TablesView({ session }: { session: Session }) {
  const [showSystem, setShowSystem] = useState(false);
  const tables = useAsync(() => listTables(session), [session]);
  const all = tables.data ?? [];
  const shown = all.filter((t) => showSystem || !t.system);
  const hidden = all.length - shown.length;
  return (
    <div class="split data-split-tables">
      <Card
        title="Tables"
        actions={
          <>
            <label class="data-check" for="show-system">
              <input id="show-system" type="checkbox" checked={showSystem} onChange={(e) => setShowSystem(e.currentTarget.checked)} />{' '}
              System tables
            </label>
            <button type="button" onClick={tables.reload} disabled={tables.loading}>
              Refresh
            </button>
          </>
        }
      >
        <ErrorBox error={tables.error} />
        {tables.data === undefined && !tables.error && <p class="muted">Loading…</p>}
        {tables.data && (
          <>
            <DataTable
              label="Tables"
              rows={shown}
              columns={['Table', 'Documents', 'Size', 'Indexes', 'State']}
              onRow={(r) => navigate('data', (r as TableInfo).name)}
              render={(col, r) => {
                const t = r as TableInfo;
                switch (col) {
                  case 'Table':
                    return (
                      <>
                        <a href={href('data', t.name)} tabIndex={-1}>
                          {t.name}
                        </a>
                        {t.system && <span class="badge data-badge">system</span>}
                      </>
                    );
                  case 'Documents':
                    return <span class="data-num">{t.documents.toLocaleString('en-US')}</span>;
                  case 'Size':
                    return <span class="data-num">{formatBytes(t.bytes)}</span>;
                  case 'Indexes':
                    return <span class="data-num">{indexCount(t)}</span>;
                  default:
                    return <span class={`badge ${t.state === 'ready' ? 'ok' : 'warn'}`}>{t.state}</span>;
                }
              }}
            />
            <p class="muted small">
              {shown.length} table{shown.length === 1 ? '' : 's'}
              {hidden > 0 && ` (${hidden} system table${hidden === 1 ? '' : 's'} hidden)`}. Size: the documents' JSON text. A table exists
              while it holds a document or an index names it: create one by creating its first document.
            </p>
          </>
        )}
      </Card>
      {session.can('data:write') ? (
        <div>
          <datalist id="data-table-names">
            {all.map((t) => (
              <option key={t.name} value={t.name} />
            ))}
          </datalist>
          <CreateDocument session={session} onCreated={(t, k) => navigate('data', t, k)} />
        </div>
      ) : (
        <p class="muted">This key does not hold data:write: documents can be read, not created.</p>
      )}
    </div>
  );
}

/** The columns of a page: the key, then the documents' fields in first-seen order (at most 8). */
function columnsOf(rows: Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows)
    if (typeof r.doc === 'object' && r.doc !== null && !Array.isArray(r.doc)) for (const k of Object.keys(r.doc)) seen.add(k);
  return ['_key', ...[...seen].slice(0, 8)];
}

function TableView({ session, table, docKey }: { session: Session; table: string; docKey: string | undefined }) {
  const [page, setPage] = useState(0);
  const [creating, setCreating] = useState(false);
  const [openKey, setOpenKey] = useState('');
  const canQuery = session.can('query:execute');
  const info = useAsync(() => getTable(session, table), [session, table]);
  const rows = useAsync(() => (canQuery ? pageOf(session, table, page * PAGE_SIZE) : Promise.resolve([] as Row[])), [session, table, page]);
  const total = info.data?.documents;
  const pages = total === undefined ? 1 : Math.max(1, Math.ceil(total / PAGE_SIZE));
  const refresh = () => {
    info.reload();
    rows.reload();
  };
  // A page past the end (after deletes): go back to the last one.
  if (total !== undefined && page > 0 && page >= pages) setPage(pages - 1);

  const list = rows.data ?? [];
  const from = page * PAGE_SIZE + 1;
  const to = page * PAGE_SIZE + list.length;
  const columns = columnsOf(list);
  const side = creating ? (
    <CreateDocument
      session={session}
      table={table}
      onCreated={(t, k) => {
        setCreating(false);
        refresh();
        navigate('data', t, k);
      }}
      onClose={() => setCreating(false)}
    />
  ) : docKey !== undefined ? (
    <DocumentEditor session={session} table={table} docKey={docKey} onChanged={refresh} onClose={() => navigate('data', table)} />
  ) : null;

  return (
    <div class={side ? 'split data-split' : undefined}>
      <Card
        title={`Table ${table}`}
        actions={
          <>
            <a href={href('data')}>All tables</a>
            <button type="button" onClick={refresh} disabled={rows.loading || info.loading}>
              Refresh
            </button>
            {session.can('data:write') && (
              <button type="button" class="primary" onClick={() => setCreating(true)}>
                New document
              </button>
            )}
          </>
        }
      >
        <ErrorBox error={info.error} />
        <div class="data-bar">
          {info.data && (
            <p class="muted small data-meta">
              {info.data.documents.toLocaleString('en-US')} document{info.data.documents === 1 ? '' : 's'} · {formatBytes(info.data.bytes)}{' '}
              of JSON · {indexCount(info.data)} index{indexCount(info.data) === 1 ? '' : 'es'}
              {info.data.state !== 'ready' && ` · ${info.data.state}`}
            </p>
          )}
          <form
            class="data-open"
            onSubmit={(e) => {
              e.preventDefault();
              if (openKey.trim() !== '') navigate('data', table, openKey.trim());
            }}
          >
            <label for="open-key">Open by key</label>
            <input
              id="open-key"
              value={openKey}
              onInput={(e) => setOpenKey(e.currentTarget.value)}
              placeholder="key (after “table:”)"
              autocomplete="off"
            />
            <button type="submit">Open</button>
          </form>
        </div>
        {!canQuery ? (
          <p class="notice">
            Browsing pages of a table runs AQL, which needs query:execute; this key can still open a document by its key.
          </p>
        ) : (
          <>
            <ErrorBox error={rows.error} />
            {rows.data === undefined && !rows.error && <p class="muted">Loading…</p>}
            {rows.data && (
              <DataTable
                label={`Documents of ${table}`}
                rows={list}
                columns={columns}
                onRow={(r) => {
                  setCreating(false);
                  navigate('data', table, (r as Row).key);
                }}
                render={(col, r) => {
                  const row = r as Row;
                  if (col === '_key') return <strong class={row.key === docKey ? 'data-current' : undefined}>{row.key}</strong>;
                  const d = row.doc as Record<string, unknown> | null;
                  return cellText(typeof d === 'object' && d !== null ? d[col] : undefined);
                }}
              />
            )}
            <nav class="row data-pager" aria-label="Pages">
              <button type="button" onClick={() => setPage((p) => Math.max(0, p - 1))} disabled={page === 0 || rows.loading}>
                Previous
              </button>
              <span class="data-range" aria-live="polite">
                {list.length === 0
                  ? `no rows${total ? ` of ${total.toLocaleString('en-US')}` : ''}`
                  : `rows ${from}–${to} of ${(total ?? to).toLocaleString('en-US')}`}
              </span>
              <button type="button" onClick={() => setPage((p) => p + 1)} disabled={page + 1 >= pages || rows.loading}>
                Next
              </button>
              <span class="muted small">
                page {page + 1} of {pages} · sorted by key
              </span>
            </nav>
          </>
        )}
      </Card>
      {side && <div class="data-side">{side}</div>}
    </div>
  );
}
