import { useEffect, useRef, useState } from 'preact/hooks';
import { request, type Session } from '../api';
import type { PageProps } from '../app';
import { ErrorBox, RoutedTabs } from '../ui';
import { Highlighted, LazyDocument, loadDocument, useTables } from './search-shared';
import { buildSnippet, fieldAt, POST, PRE, type Segment, splitHighlighted } from './search-util';
import { VectorTab } from './search-vector';
import './search.css';

/**
 * Search: BM25 fulltext search (`POST /search/fulltext`, with the server's highlighted snippets)
 * and k-nearest-neighbour vector search (`POST /vector/search`). The indexes to pick from come from
 * `GET /tables` (TableInfo.fulltext and .vector_indexes). The tab is the route's first argument
 * (`#/search/vector`).
 */

interface FulltextHit {
  key: string;
  score: number;
  snippet?: string;
}

interface FulltextAnswer {
  table: string;
  column: string;
  query: string;
  count: number;
  total: number;
  took_ms?: number;
  hits: FulltextHit[];
}

/** A hit's snippet: the server's, else one built from the document's text (fetched). */
function Snippet({ session, hit, column, query }: { session: Session; hit: FulltextHit; column: string; query: string }) {
  const [built, setBuilt] = useState<Segment[] | undefined>();
  useEffect(() => {
    if (hit.snippet !== undefined) return;
    let live = true;
    loadDocument(session, hit.key).then(
      (doc) => {
        const text = fieldAt(doc, column);
        if (live) setBuilt(buildSnippet(typeof text === 'string' ? text : JSON.stringify(text ?? ''), query));
      },
      () => live && setBuilt([]),
    );
    return () => {
      live = false;
    };
  }, [session, hit, column, query]);
  const parts = hit.snippet !== undefined ? splitHighlighted(hit.snippet) : built;
  if (parts === undefined) return <p class="sr-snippet muted">…</p>;
  if (parts.length === 0) return <p class="sr-snippet muted">(document deleted since)</p>;
  return (
    <p class="sr-snippet">
      <Highlighted parts={parts} />
    </p>
  );
}

function FulltextTab({ session }: { session: Session }) {
  const tables = useTables(session);
  const withIndex = (tables.data ?? []).filter((t) => t.fulltext.length > 0);
  const [table, setTable] = useState('');
  const [column, setColumn] = useState('');
  const [query, setQuery] = useState('');
  const [limit, setLimit] = useState('10');
  const [answer, setAnswer] = useState<FulltextAnswer | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const queryInput = useRef<HTMLInputElement>(null);

  const current = withIndex.find((t) => t.name === table) ?? withIndex[0];
  const columns = current?.fulltext ?? [];
  const col = columns.find((c) => c.column === column) ?? columns[0];

  if (tables.error) return <ErrorBox error={tables.error} />;
  if (tables.loading && !tables.data) return <p class="muted">Loading tables…</p>;
  if (withIndex.length === 0)
    return (
      <p class="muted">
        No table has a fulltext index yet. Create one on the Indexes page, or with <code>POST /index/create</code>{' '}
        <code>{'{"table":"articles","column":"body","type":"fulltext"}'}</code>.
      </p>
    );

  const search = async (e: Event) => {
    e.preventDefault();
    if (!current || !col) return;
    setError(undefined);
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 10000) {
      setError(new Error(`Limit must be a whole number from 1 to 10000, got "${limit}".`));
      return;
    }
    setBusy(true);
    try {
      const r = await request<FulltextAnswer>(session, 'POST', '/search/fulltext', {
        table: current.name,
        column: col.column,
        query,
        limit: n,
        highlight: { pre_tag: PRE, post_tag: POST, fragment_size: 160 },
      });
      setAnswer(r);
    } catch (err) {
      setError(err);
      setAnswer(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="stack">
      <section class="card" aria-label="Fulltext search">
        <form class="row" onSubmit={search}>
          <div class="field">
            <label for="ft-table">Table</label>
            <select
              id="ft-table"
              value={current?.name}
              onChange={(e) => {
                setTable(e.currentTarget.value);
                setColumn('');
              }}
            >
              {withIndex.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="ft-column">Column</label>
            <select id="ft-column" value={col?.column} onChange={(e) => setColumn(e.currentTarget.value)}>
              {columns.map((c) => (
                <option key={c.column} value={c.column}>
                  {c.column}
                  {c.state !== 'ready' ? ` (${c.state})` : ''}
                </option>
              ))}
            </select>
          </div>
          <div class="field sr-query">
            <label for="ft-query">Query</label>
            <input
              id="ft-query"
              ref={queryInput}
              type="search"
              placeholder='e.g. mvcc, "write ahead log", index*'
              spellcheck={false}
              value={query}
              onInput={(e) => setQuery(e.currentTarget.value)}
              required
            />
          </div>
          <div class="field sr-limit">
            <label for="ft-limit">Limit</label>
            <input id="ft-limit" type="number" min={1} max={10000} value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
          </div>
          <button type="submit" class="primary" disabled={busy || query.trim() === ''}>
            {busy ? 'Searching…' : 'Search'}
          </button>
        </form>
        <p class="muted small sr-help">
          Terms are AND-ed; <code>a OR b</code>, <code>"exact phrase"</code>, <code>-exclude</code>, <code>prefix*</code> and parentheses
          work. Ranked by BM25{col ? ` over ${col.documents} indexed documents` : ''}.
        </p>
      </section>
      <ErrorBox error={error} />
      {answer && (
        <section class="card" aria-label="Fulltext results">
          <header class="card-head">
            <h2>Results</h2>
            <span class="muted small" role="status">
              {answer.count === 0
                ? `No document of ${answer.table}.${answer.column} matches “${answer.query}”.`
                : `${answer.count} of ${answer.total} matching document${answer.total === 1 ? '' : 's'}${answer.took_ms !== undefined ? ` · ${answer.took_ms.toFixed(1)} ms` : ''}`}
            </span>
          </header>
          {answer.hits.length > 0 && (
            <ol class="sr-hits" aria-label="Hits">
              {answer.hits.map((h, i) => (
                <li key={h.key} class="sr-hit">
                  <div class="sr-hit-head">
                    <span class="sr-rank">{i + 1}</span>
                    <code class="sr-key">{h.key}</code>
                    <span class="badge" title="BM25 score">
                      score {h.score.toFixed(3)}
                    </span>
                  </div>
                  <Snippet session={session} hit={h} column={answer.column} query={answer.query} />
                  <LazyDocument session={session} docKey={h.key} summary="Document" />
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
    </div>
  );
}

const TABS = [
  { id: 'fulltext', title: 'Fulltext' },
  { id: 'vector', title: 'Vector search' },
] as const;

export function SearchPage({ session, args }: PageProps) {
  const current = TABS.find((t) => t.id === args[0]) ?? TABS[0];
  return (
    <div class="search">
      <RoutedTabs page="search" tabs={TABS} current={current.id} label="Search kinds">
        {current.id === 'fulltext' ? <FulltextTab session={session} /> : <VectorTab session={session} />}
      </RoutedTabs>
    </div>
  );
}
