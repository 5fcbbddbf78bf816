import { useState } from 'preact/hooks';
import { request, type TableInfo } from '../api';
import type { PageProps } from '../app';
import { Card, ErrorBox, formatBytes, Notice, useAsync, useInterval } from '../ui';
import './indexes.css';

/**
 * Indexes (docs/indexes.md, docs/fulltext.md, docs/vector.md): every secondary, fulltext and vector
 * index from GET /tables, with sizes from GET /index/stats and GET /vector/indexes when the key may
 * read them; create (POST /index/create, POST /vector/index/create) and drop (POST /index/drop,
 * POST /vector/index/drop) with an in-page confirmation. The list polls while an index builds.
 */

interface IndexStat {
  id: number;
  name: string;
  table: string;
  type: string;
  approximate_size_bytes?: number;
  config?: { language?: string; stemming_enabled?: boolean; stopwords_enabled?: boolean };
}

interface VectorStat {
  objectName: string;
  capacity?: number;
  deletedSlots?: number;
  M?: number;
  efSearch?: number;
  efConstruction?: number;
}

type Kind = 'equality' | 'range' | 'unique' | 'composite' | 'fulltext' | 'vector';

interface Row {
  kind: Kind;
  name: string;
  table: string;
  fields: string[];
  entries: number;
  /** What `entries` counts. */
  entriesOf: string;
  bytes?: number;
  state: string;
  details: string[];
  drop: { path: string; body: unknown };
}

async function loadIndexes(session: PageProps['session']): Promise<Row[]> {
  const [tables, stats, vstats] = await Promise.all([
    request<{ tables: TableInfo[] }>(session, 'GET', '/tables'),
    request<{ indexes: IndexStat[] }>(session, 'GET', '/index/stats').catch(() => ({ indexes: [] as IndexStat[] })),
    request<{ indexes: VectorStat[] }>(session, 'GET', '/vector/indexes').catch(() => ({ indexes: [] as VectorStat[] })),
  ]);
  const byName = new Map(stats.indexes.map((i) => [`${i.table}/${i.name}/${i.type}`, i]));
  const vByName = new Map(vstats.indexes.map((v) => [v.objectName, v]));
  const rows: Row[] = [];
  for (const t of tables.tables) {
    for (const ix of t.indexes) {
      const st = byName.get(`${t.name}/${ix.name}/${ix.type}`);
      const kind: Kind = ix.unique ? 'unique' : ix.columns.length > 1 ? 'composite' : ix.type;
      rows.push({
        kind,
        name: ix.name,
        table: t.name,
        fields: ix.columns,
        entries: ix.entries,
        entriesOf: 'entries',
        bytes: st?.approximate_size_bytes,
        state: ix.state,
        details: [ix.type, ...(ix.unique ? ['unique'] : []), ...(ix.sparse ? ['sparse'] : []), ...(st ? [`id ${st.id}`] : [])],
        drop: { path: '/index/drop', body: { table: t.name, columns: ix.columns, type: ix.type } },
      });
    }
    for (const ft of t.fulltext) {
      const st = byName.get(`${t.name}/${ft.name}/fulltext`);
      const cfg = st?.config;
      rows.push({
        kind: 'fulltext',
        name: ft.name,
        table: t.name,
        fields: [ft.column],
        entries: ft.documents,
        entriesOf: 'documents',
        bytes: st?.approximate_size_bytes,
        state: ft.state,
        details: [
          `${ft.terms} terms`,
          `${ft.postings} postings`,
          ...(cfg?.language ? [`language ${cfg.language}`] : []),
          ...(cfg?.stemming_enabled ? ['stemming'] : []),
          ...(cfg?.stopwords_enabled ? ['stopwords'] : []),
        ],
        drop: { path: '/index/drop', body: { table: t.name, column: ft.column, type: 'fulltext' } },
      });
    }
    for (const v of t.vector_indexes) {
      const st = vByName.get(v.name);
      rows.push({
        kind: 'vector',
        name: v.name,
        table: t.name,
        fields: [v.field],
        entries: v.vectors,
        entriesOf: 'vectors',
        state: v.state,
        details: [
          v.metric,
          v.dimension === null ? 'dimension not fixed yet' : `dimension ${v.dimension}`,
          ...(st?.M ? [`M ${st.M}`] : []),
          ...(st?.efSearch ? [`efSearch ${st.efSearch}`] : []),
          ...(st?.capacity ? [`capacity ${st.capacity}`] : []),
        ],
        drop: { path: '/vector/index/drop', body: { name: v.name } },
      });
    }
  }
  return rows;
}

const KIND_LABEL: Record<Kind, string> = {
  equality: 'equality',
  range: 'range',
  unique: 'unique',
  composite: 'composite',
  fulltext: 'fulltext',
  vector: 'vector',
};

type FormKind = 'equality' | 'range' | 'fulltext' | 'vector';

function CreateForm({ session, tables, onDone }: { session: PageProps['session']; tables: string[]; onDone: (msg: string) => void }) {
  const [kind, setKind] = useState<FormKind>('equality');
  const [table, setTable] = useState('');
  const [columns, setColumns] = useState('');
  const [unique, setUnique] = useState(false);
  const [sparse, setSparse] = useState(false);
  const [language, setLanguage] = useState('en');
  const [umlauts, setUmlauts] = useState(false);
  const [vname, setVname] = useState('');
  const [dimension, setDimension] = useState('');
  const [metric, setMetric] = useState('COSINE');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    const cols = columns
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    setBusy(true);
    try {
      if (kind === 'vector') {
        const body: Record<string, unknown> = {
          name: vname.trim() || `${table.trim()}_${(cols[0] ?? 'embedding').replace(/\W/g, '_')}`,
          table: table.trim(),
          metric,
        };
        if (cols[0]) body.field = cols[0];
        if (dimension.trim() !== '') body.dimension = Number(dimension);
        const r = await request<{ objectName: string }>(session, 'POST', '/vector/index/create', body);
        onDone(`Created vector index ${r.objectName}.`);
      } else {
        const body: Record<string, unknown> = { table: table.trim(), type: kind };
        if (cols.length === 1) body.column = cols[0];
        else if (cols.length > 1) body.columns = cols;
        if (kind === 'fulltext') body.config = { language, ...(umlauts ? { normalize_umlauts: true } : {}) };
        else {
          if (unique) body.unique = true;
          if (sparse) body.sparse = true;
        }
        const r = await request<{ name?: string }>(session, 'POST', '/index/create', body);
        onDone(`Created ${kind} index ${r.name ?? `${table}.${cols.join(',')}`}.`);
      }
      setColumns('');
      setVname('');
      setDimension('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="ix-form stack" onSubmit={submit}>
      <div class="row">
        <div class="field">
          <label for="ix-kind">Index kind</label>
          <select id="ix-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as FormKind)}>
            <option value="equality">Secondary: equality (hash)</option>
            <option value="range">Secondary: range (sorted)</option>
            <option value="fulltext">Fulltext (BM25)</option>
            <option value="vector">Vector (HNSW)</option>
          </select>
        </div>
        <div class="field">
          <label for="ix-table">Table</label>
          <input
            id="ix-table"
            list="ix-tables"
            value={table}
            onInput={(e) => setTable(e.currentTarget.value)}
            required
            autocomplete="off"
          />
          <datalist id="ix-tables">
            {tables.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="ix-columns">{kind === 'vector' ? 'Vector field' : kind === 'fulltext' ? 'Column' : 'Columns'}</label>
          <input
            id="ix-columns"
            value={columns}
            onInput={(e) => setColumns(e.currentTarget.value)}
            placeholder={kind === 'vector' ? 'embedding' : kind === 'fulltext' ? 'body' : 'city, or last,first (composite)'}
            required={kind !== 'vector'}
            autocomplete="off"
          />
        </div>
        {kind === 'vector' && (
          <>
            <div class="field">
              <label for="ix-vname">Vector index name</label>
              <input
                id="ix-vname"
                value={vname}
                onInput={(e) => setVname(e.currentTarget.value)}
                placeholder="articles_emb"
                autocomplete="off"
              />
            </div>
            <div class="field">
              <label for="ix-dimension">Dimension</label>
              <input
                id="ix-dimension"
                type="number"
                min={1}
                max={65536}
                value={dimension}
                onInput={(e) => setDimension(e.currentTarget.value)}
                placeholder="from the first vector"
              />
            </div>
            <div class="field">
              <label for="ix-metric">Metric</label>
              <select id="ix-metric" value={metric} onChange={(e) => setMetric(e.currentTarget.value)}>
                <option value="COSINE">COSINE</option>
                <option value="L2">L2</option>
                <option value="IP">IP (inner product)</option>
              </select>
            </div>
          </>
        )}
        {kind === 'fulltext' && (
          <>
            <div class="field">
              <label for="ix-language">Language</label>
              <select id="ix-language" value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
                <option value="en">English (stemming, stopwords)</option>
                <option value="de">German (stemming, stopwords)</option>
                <option value="none">none</option>
              </select>
            </div>
            <div class="field check">
              <input id="ix-umlauts" type="checkbox" checked={umlauts} onChange={(e) => setUmlauts(e.currentTarget.checked)} />
              <label for="ix-umlauts">Normalize umlauts</label>
            </div>
          </>
        )}
        {(kind === 'equality' || kind === 'range') && (
          <>
            <div class="field check">
              <input id="ix-unique" type="checkbox" checked={unique} onChange={(e) => setUnique(e.currentTarget.checked)} />
              <label for="ix-unique">Unique</label>
            </div>
            <div class="field check">
              <input id="ix-sparse" type="checkbox" checked={sparse} onChange={(e) => setSparse(e.currentTarget.checked)} />
              <label for="ix-sparse">Sparse</label>
            </div>
          </>
        )}
        <div>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create index'}
          </button>
        </div>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

export function IndexesPage({ session }: PageProps) {
  const list = useAsync(() => loadIndexes(session), [session]);
  const [confirm, setConfirm] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [filter, setFilter] = useState('');
  const admin = session.can('admin');
  const rows = list.data ?? [];
  const building = rows.some((r) => r.state === 'building' || r.state === 'dropping');
  useInterval(() => {
    if (building) list.reload();
  }, 1500);

  async function drop(r: Row) {
    setError(undefined);
    setNotice(undefined);
    try {
      await request(session, 'POST', r.drop.path, r.drop.body);
      setNotice(`Dropped ${r.kind} index ${r.name}.`);
      setConfirm(undefined);
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  const shown = rows.filter(
    (r) => filter === '' || `${r.table} ${r.name} ${r.kind} ${r.fields.join(' ')}`.toLowerCase().includes(filter.toLowerCase()),
  );
  const tables = [...new Set(rows.map((r) => r.table))];
  const counts = { secondary: 0, fulltext: 0, vector: 0 };
  for (const r of rows) {
    if (r.kind === 'fulltext') counts.fulltext++;
    else if (r.kind === 'vector') counts.vector++;
    else counts.secondary++;
  }
  return (
    <div>
      {admin && (
        <Card title="Create an index">
          <CreateForm
            session={session}
            tables={tables}
            onDone={(msg) => {
              setNotice(msg);
              setError(undefined);
              list.reload();
            }}
          />
        </Card>
      )}
      <Card
        title="Indexes"
        actions={
          <>
            <span class="muted small">
              {counts.secondary} secondary · {counts.fulltext} fulltext · {counts.vector} vector
              {building ? ' · building…' : ''}
            </span>
            <label for="ix-filter" class="ix-sr-only">
              Filter indexes
            </label>
            <input
              id="ix-filter"
              type="search"
              placeholder="Filter"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
              style={{ width: '160px' }}
            />
            <button type="button" onClick={() => list.reload()} disabled={list.loading}>
              Refresh
            </button>
          </>
        }
      >
        {notice && <Notice>{notice}</Notice>}
        <ErrorBox error={error ?? list.error} />
        {list.data === undefined && list.loading ? (
          <p class="muted">Loading…</p>
        ) : shown.length === 0 ? (
          <p class="muted">{rows.length === 0 ? 'No indexes yet.' : 'No index matches the filter.'}</p>
        ) : (
          <div class="table-wrap">
            <table class="ix-table" aria-label="Indexes">
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Name</th>
                  <th scope="col">Table</th>
                  <th scope="col">Fields</th>
                  <th scope="col">Size</th>
                  <th scope="col">State</th>
                  <th scope="col">Details</th>
                  {admin && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => {
                  const id = `${r.kind === 'vector' ? 'v' : 's'}:${r.table}/${r.name}/${r.details[0] ?? ''}`;
                  return (
                    <tr key={id} data-index={r.name}>
                      <td>
                        <span class={`badge ix-kind ${r.kind === 'fulltext' ? 'warn' : r.kind === 'vector' ? 'ok' : ''}`}>
                          {KIND_LABEL[r.kind]}
                        </span>
                      </td>
                      <td>
                        <code>{r.name}</code>
                      </td>
                      <td>{r.table}</td>
                      <td>{r.fields.join(', ')}</td>
                      <td>
                        {r.entries} {r.entriesOf}
                        {r.bytes ? <span class="muted"> · {formatBytes(r.bytes)}</span> : null}
                      </td>
                      <td>
                        <span class={`badge ${r.state === 'ready' ? 'ok' : 'warn'}`}>{r.state}</span>
                      </td>
                      <td class="muted small ix-details">{r.details.join(' · ')}</td>
                      {admin && (
                        <td class="actions">
                          {confirm === id ? (
                            <fieldset class="ix-confirm" aria-label={`Confirm dropping ${r.name}`}>
                              Drop {r.name}?
                              <button type="button" class="danger" onClick={() => drop(r)}>
                                Yes, drop
                              </button>
                              <button type="button" onClick={() => setConfirm(undefined)}>
                                Cancel
                              </button>
                            </fieldset>
                          ) : (
                            <button type="button" class="danger" onClick={() => setConfirm(id)} aria-label={`Drop ${r.name} (${r.kind})`}>
                              Drop
                            </button>
                          )}
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
