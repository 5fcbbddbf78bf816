import type { EditorView } from '@codemirror/view';
import { useEffect, useRef, useState } from 'preact/hooks';
import { request, ThemisError } from '../api';
import type { PageProps } from '../app';
import { Card, DataTable, ErrorBox, JsonView, parseJsonInput } from '../ui';
import { createAqlEditor, type ErrorPos, setEditorText, showError } from './aql-editor';
import { type IndexNames, PlanTree } from './aql-plan';
import './aql.css';

/**
 * AQL (POST /query/aql, docs/aql.md): a CodeMirror editor with AQL highlighting, bind variables as
 * JSON, results as a table or JSON read through a cursor ("Load more"), the plan as a tree
 * (Explain), syntax errors marked in the editor, and the recent queries kept in localStorage.
 */

const HISTORY_KEY = 'themis.console.aqlHistory';
const HISTORY_MAX = 20;
const EXAMPLE = 'FOR u IN users\n  LIMIT 20\n  RETURN u';

interface HistoryEntry {
  query: string;
  bindVars: string;
  at: string;
}

function loadHistory(): HistoryEntry[] {
  try {
    const v = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as HistoryEntry[]).filter((h) => typeof h?.query === 'string') : [];
  } catch {
    return [];
  }
}

function saveHistory(list: HistoryEntry[]): void {
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(list));
  } catch {
    // storage full or refused: the history is a convenience
  }
}

/** Newest first, without repeats of the same query and bind variables, at most 20. */
function addHistory(list: HistoryEntry[], query: string, bindVars: string): HistoryEntry[] {
  const norm = bindVars.trim();
  const rest = list.filter((h) => !(h.query === query && h.bindVars.trim() === norm));
  return [{ query, bindVars: norm, at: new Date().toISOString() }, ...rest].slice(0, HISTORY_MAX);
}

/** A result as the table shows it: a document's stored JSON text becomes the object it holds. */
function rowOf(v: unknown): unknown {
  if (typeof v === 'string' && v.startsWith('{') && v.endsWith('}')) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

interface Warning {
  code: number;
  message: string;
}

interface Result {
  kind: 'rows';
  rows: unknown[];
  plan: unknown;
  ms: number;
  cursor: string | null;
  table?: string | null;
  /** The query's warnings listed so far (every page's), and how many were raised in all. */
  warnings: Warning[];
  warningsTotal: number;
}
interface Explained {
  kind: 'explain';
  plan: unknown;
  ms: number;
  table?: string | null;
}

interface AqlAnswer {
  table?: string | null;
  count?: number;
  entities?: unknown[];
  items?: unknown[];
  has_more?: boolean;
  next_cursor?: string | null;
  plan?: unknown;
  extra?: { warnings?: Warning[]; warnings_total?: number };
}

/** The warnings of a run (docs/aql.md "Warnings"): ArangoDB's code and the message of each. */
function Warnings({ list, total }: { list: Warning[]; total: number }) {
  if (total === 0) return null;
  return (
    <div class="aql-warnings" role="status" aria-label="Query warnings">
      <strong>
        {total} {total === 1 ? 'warning' : 'warnings'}
      </strong>
      {total > list.length ? <span class="muted small"> (the first {list.length} listed)</span> : null}
      <ul>
        {list.map((w, i) => (
          <li key={`${i}-${w.code}`}>
            <code class="aql-warning-code">{w.code}</code> {w.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The syntax error's position, when the server's error names one. */
function errorPos(e: unknown): ErrorPos | null {
  if (!(e instanceof ThemisError) || typeof e.body !== 'object' || e.body === undefined) return null;
  const b = e.body as unknown as Record<string, unknown>;
  if (typeof b.line !== 'number' || typeof b.column !== 'number') return null;
  return { line: b.line, column: b.column, length: typeof b.token === 'string' ? b.token.length : 1 };
}

function errorField(e: unknown): string | undefined {
  if (!(e instanceof ThemisError) || typeof e.body !== 'object' || e.body === undefined) return undefined;
  const f = (e.body as unknown as Record<string, unknown>).field;
  return typeof f === 'string' ? f : undefined;
}

export function AqlPage({ session }: PageProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const queryText = useRef(EXAMPLE);
  const [bindVars, setBindVars] = useState('{}');
  const [batch, setBatch] = useState('100');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [pos, setPos] = useState<ErrorPos | null>(null);
  const [result, setResult] = useState<Result | Explained>();
  const [tab, setTab] = useState<'table' | 'json' | 'plan'>('table');
  const [history, setHistory] = useState<HistoryEntry[]>(loadHistory);
  const [names, setNames] = useState<IndexNames>(new Map());
  const runRef = useRef<(explain: boolean) => void>(() => {});

  /** Names of the secondary indexes by id, for the plan (best effort: needs stats:read). */
  async function refreshNames(plan: unknown) {
    const ixs = (plan as { indexes?: { id?: number }[] } | undefined)?.indexes ?? [];
    if (!ixs.some((i) => typeof i.id === 'number')) return;
    try {
      const r = await request<{ indexes: { id: number; name: string; columns: string[] }[] }>(session, 'GET', '/index/stats');
      setNames(new Map(r.indexes.map((i) => [i.id, { name: i.name, columns: i.columns }])));
    } catch {
      // without stats:read the plan names indexes by collection and attribute
    }
  }

  async function run(explain: boolean) {
    const query = view.current?.state.doc.toString() ?? queryText.current;
    setError(undefined);
    setPos(null);
    if (view.current) showError(view.current, null);
    let vars: unknown;
    try {
      vars = bindVars.trim() === '' ? {} : parseJsonInput(bindVars, 'Bind variables');
      if (typeof vars !== 'object' || vars === null || Array.isArray(vars))
        throw new Error('Bind variables must be a JSON object, like {"city": "Berlin"}');
    } catch (e) {
      setError(e);
      return;
    }
    const batchSize = Number(batch);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10000) {
      setError(new Error('Page size must be a whole number from 1 to 10000.'));
      return;
    }
    if (query.trim() === '') {
      setError(new Error('Write a query first.'));
      return;
    }
    setBusy(true);
    const t0 = performance.now();
    try {
      if (explain) {
        const r = await request<AqlAnswer>(session, 'POST', '/query/aql', { query, bind_vars: vars, explain: true });
        await refreshNames(r.plan);
        setResult({ kind: 'explain', plan: r.plan, ms: performance.now() - t0, table: r.table });
      } else {
        let r: AqlAnswer;
        try {
          r = await request<AqlAnswer>(session, 'POST', '/query/aql', { query, bind_vars: vars, use_cursor: true, batch_size: batchSize });
        } catch (e) {
          // a query that writes cannot use a cursor: run it whole
          if (errorField(e) !== 'use_cursor') throw e;
          r = await request<AqlAnswer>(session, 'POST', '/query/aql', { query, bind_vars: vars });
        }
        await refreshNames(r.plan);
        const rows = r.items ?? r.entities ?? [];
        setResult({
          kind: 'rows',
          rows,
          plan: r.plan,
          ms: performance.now() - t0,
          cursor: r.has_more ? (r.next_cursor ?? null) : null,
          table: r.table,
          warnings: r.extra?.warnings ?? [],
          warningsTotal: r.extra?.warnings_total ?? r.extra?.warnings?.length ?? 0,
        });
        if (tab === 'plan' && !r.plan) setTab('table');
      }
      const next = addHistory(history, query, bindVars);
      setHistory(next);
      saveHistory(next);
    } catch (e) {
      setError(e);
      const p = errorPos(e);
      setPos(p);
      if (p && view.current) {
        showError(view.current, p);
        view.current.focus();
      }
    } finally {
      setBusy(false);
    }
  }
  runRef.current = (explain) => void run(explain);

  async function loadMore() {
    if (result?.kind !== 'rows' || !result.cursor) return;
    setBusy(true);
    setError(undefined);
    const t0 = performance.now();
    try {
      const r = await request<AqlAnswer>(session, 'POST', '/query/aql', { cursor: result.cursor });
      setResult({
        ...result,
        rows: [...result.rows, ...(r.items ?? [])],
        ms: result.ms + (performance.now() - t0),
        cursor: r.has_more ? (r.next_cursor ?? null) : null,
        warnings: [...result.warnings, ...(r.extra?.warnings ?? [])],
        warningsTotal: r.extra?.warnings_total ?? result.warningsTotal,
      });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    if (!host.current) return;
    const initial = loadHistory()[0]?.query ?? EXAMPLE;
    queryText.current = initial;
    const v = createAqlEditor({
      parent: host.current,
      doc: initial,
      onRun: () => runRef.current(false),
      onChange: (t) => {
        queryText.current = t;
      },
    });
    view.current = v;
    return () => v.destroy();
  }, []);

  function restore(h: HistoryEntry) {
    if (view.current) {
      setEditorText(view.current, h.query);
      view.current.focus();
    }
    setBindVars(h.bindVars || '{}');
    setError(undefined);
    setPos(null);
  }

  const rows = result?.kind === 'rows' ? result.rows.map(rowOf) : [];
  return (
    <div class="aql-page">
      <div class="split">
        <Card
          title="Query"
          actions={
            <>
              <span class="muted small">Ctrl/⌘-Enter runs</span>
              <button type="button" onClick={() => run(true)} disabled={busy}>
                Explain
              </button>
              <button type="button" class="primary" onClick={() => run(false)} disabled={busy}>
                {busy ? 'Running…' : 'Run'}
              </button>
            </>
          }
        >
          <div class="stack">
            <div class="editor" ref={host} />
            <div class="row aql-opts">
              <div class="field aql-bind-field">
                <label for="aql-bind-vars">Bind variables</label>
                <textarea
                  id="aql-bind-vars"
                  class="aql-bind"
                  spellcheck={false}
                  value={bindVars}
                  onInput={(e) => setBindVars(e.currentTarget.value)}
                  placeholder='{"city": "Berlin"}'
                />
                <span class="muted small">
                  A JSON object: <code>@name</code> takes <code>"name"</code>, <code>@@coll</code> takes <code>"@coll"</code>.
                </span>
              </div>
              <div class="field aql-batch">
                <label for="aql-batch">Page size</label>
                <input id="aql-batch" type="number" min={1} max={10000} value={batch} onInput={(e) => setBatch(e.currentTarget.value)} />
                <span class="muted small">rows per page (cursor)</span>
              </div>
            </div>
            <ErrorBox error={error} />
            {pos && (
              <button
                type="button"
                class="aql-goto"
                onClick={() => {
                  if (view.current) {
                    showError(view.current, pos);
                    view.current.focus();
                  }
                }}
              >
                Go to line {pos.line}, column {pos.column}
              </button>
            )}
          </div>
        </Card>
        <Card
          title="Recent queries"
          actions={
            history.length > 0 && (
              <button
                type="button"
                onClick={() => {
                  setHistory([]);
                  saveHistory([]);
                }}
              >
                Clear
              </button>
            )
          }
        >
          {history.length === 0 ? (
            <p class="muted">Queries you run are listed here (kept in this browser).</p>
          ) : (
            <ul class="aql-history" aria-label="Query history">
              {history.map((h) => (
                <li key={`${h.at}${h.query}`}>
                  <button type="button" onClick={() => restore(h)} title={h.query}>
                    <code>{h.query.replace(/\s+/g, ' ').trim()}</code>
                    {h.bindVars && h.bindVars !== '{}' && (
                      <span class="muted small aql-history-vars">{h.bindVars.replace(/\s+/g, ' ')}</span>
                    )}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      {result?.kind === 'explain' && (
        <Card title="Query plan" actions={<span class="muted small">explained in {result.ms.toFixed(0)} ms (not run)</span>}>
          <PlanTree plan={result.plan} names={names} />
        </Card>
      )}
      {result?.kind === 'rows' && (
        <Card
          title="Results"
          actions={
            <span class="muted small aql-summary" role="status">
              <strong>{result.rows.length}</strong> {result.rows.length === 1 ? 'row' : 'rows'}
              {result.cursor ? ' so far (more available)' : ''} · {result.ms.toFixed(0)} ms
            </span>
          }
        >
          <Warnings list={result.warnings} total={result.warningsTotal} />
          <div class="tabs" role="tablist" aria-label="Result views">
            {(['table', 'json', 'plan'] as const).map((t) => (
              <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
                {t === 'table' ? 'Table' : t === 'json' ? 'JSON' : 'Plan'}
              </button>
            ))}
          </div>
          <div role="tabpanel">
            {tab === 'table' && <DataTable rows={rows} label="Query results" />}
            {tab === 'json' && <JsonView value={rows} label="Query results as JSON" />}
            {tab === 'plan' && <PlanTree plan={result.plan} names={names} />}
          </div>
          {result.cursor && (
            <div class="row aql-more">
              <button type="button" onClick={loadMore} disabled={busy}>
                Load more
              </button>
            </div>
          )}
        </Card>
      )}
    </div>
  );
}
