import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './api';
import { navigate } from './router';

/** Shared pieces of the console's pages: errors, tables, JSON, async state. */

/** An error in the contract's words; `role="alert"` so screen readers announce it. */
export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <div class="error" role="alert">
      {messageOf(error)}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {children}
    </div>
  );
}

export function Card({ title, children, actions }: { title?: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      {(title || actions) && (
        <header class="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

/** Pretty-printed JSON (read only). */
export function JsonView({ value, label }: { value: unknown; label?: string }) {
  return (
    <section class="json-region" aria-label={label ?? 'JSON'}>
      <pre class="json">{JSON.stringify(value, null, 2)}</pre>
    </section>
  );
}

/** A cell's text: strings as they are, everything else as compact JSON. */
export function cellText(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/**
 * Rows as a table: objects get a column per key (union over the rows, in first-seen order), other
 * values one column named `value`. `onRow` makes rows clickable (and keyboard-activatable).
 */
export function DataTable({
  rows,
  label,
  onRow,
  columns: fixed,
  render,
}: {
  rows: readonly unknown[];
  label: string;
  onRow?: (row: unknown, i: number) => void;
  columns?: string[];
  render?: (col: string, row: unknown) => ComponentChildren;
}) {
  const isObj = (r: unknown): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r);
  let columns = fixed;
  if (!columns) {
    const seen = new Set<string>();
    for (const r of rows) {
      if (isObj(r)) for (const k of Object.keys(r)) seen.add(k);
      else seen.add('value');
    }
    columns = [...seen];
  }
  if (rows.length === 0) return <p class="muted">No rows.</p>;
  return (
    <div class="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr
              key={i}
              class={onRow ? 'clickable' : undefined}
              tabIndex={onRow ? 0 : undefined}
              onClick={onRow ? () => onRow(r, i) : undefined}
              onKeyDown={
                onRow
                  ? (e: KeyboardEvent) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        onRow(r, i);
                      }
                    }
                  : undefined
              }
            >
              {columns!.map((c) => (
                <td key={c}>{render ? render(c, r) : cellText(isObj(r) ? r[c] : c === 'value' ? r : undefined)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** State of an async load: `run` (re)loads; stale answers of earlier runs are dropped. */
export function useAsync<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const gen = useRef(0);
  const reload = useCallback(() => {
    const g = ++gen.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => g === gen.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => g === gen.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, deps);
  useEffect(() => reload(), [reload]);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while the page is shown. */
export function useInterval(fn: () => void, ms: number): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    const t = setInterval(() => saved.current(), ms);
    return () => clearInterval(t);
  }, [ms]);
}

/** A button that copies `text` to the clipboard and says so. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // clipboard refused (not a secure context): select-and-copy by hand still works
        }
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/** Parses JSON typed by the user; the error names where it failed. */
export function parseJsonInput(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/**
 * Tabs addressed by the route (`#/<page>/<tab>`): a WAI-ARIA tab list (arrow keys, Home and End move
 * between tabs and keep the focus on the selected one) and its panel.
 */
export function RoutedTabs({
  page,
  tabs,
  current,
  label,
  children,
}: {
  /** The console page the tabs belong to (`navigate(page, tab)`). */
  page: string;
  tabs: readonly { id: string; title: string }[];
  current: string;
  label: string;
  children: ComponentChildren;
}) {
  const list = useRef<HTMLDivElement>(null);
  const select = (id: string) => {
    navigate(page, id);
    requestAnimationFrame(() => list.current?.querySelector<HTMLButtonElement>(`#${page}-tab-${id}`)?.focus());
  };
  return (
    <>
      <div class="tabs" role="tablist" aria-label={label} ref={list}>
        {tabs.map((t, i) => (
          <button
            type="button"
            role="tab"
            key={t.id}
            id={`${page}-tab-${t.id}`}
            aria-selected={t.id === current}
            aria-controls={`${page}-panel`}
            tabIndex={t.id === current ? 0 : -1}
            onClick={() => select(t.id)}
            onKeyDown={(e: KeyboardEvent) => {
              let next: { id: string } | undefined;
              if (e.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
              else if (e.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
              else if (e.key === 'Home') next = tabs[0];
              else if (e.key === 'End') next = tabs[tabs.length - 1];
              if (next) {
                e.preventDefault();
                select(next.id);
              }
            }}
          >
            {t.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${page}-panel`} aria-labelledby={`${page}-tab-${current}`}>
        {children}
      </div>
    </>
  );
}
