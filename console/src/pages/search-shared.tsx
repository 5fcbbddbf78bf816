import { useState } from 'preact/hooks';
import { request, type Session, type TableInfo } from '../api';
import { ErrorBox, JsonView, useAsync } from '../ui';
import type { Segment } from './search-util';

/** Pieces shared by the Search page's tabs (search.tsx, search-vector.tsx). */

export function useTables(session: Session) {
  return useAsync(() => request<{ tables: TableInfo[] }>(session, 'GET', '/tables').then((r) => r.tables), [session]);
}

/** A document by key (`GET /entities/{key}`), parsed. */
export async function loadDocument(session: Session, key: string): Promise<unknown> {
  const r = await request<{ blob: string }>(session, 'GET', `/entities/${encodeURIComponent(key)}`);
  return JSON.parse(r.blob);
}

export function Highlighted({ parts }: { parts: Segment[] }) {
  return <>{parts.map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}</>;
}

/** A document shown on demand (the first time its <details> opens). */
export function LazyDocument({
  session,
  docKey,
  summary,
  transform,
}: {
  session: Session;
  docKey: string;
  summary: string;
  transform?: (d: unknown) => unknown;
}) {
  const [state, setState] = useState<{ doc?: unknown; error?: unknown; loaded: boolean }>({ loaded: false });
  return (
    <details
      class="sr-doc"
      onToggle={(e) => {
        if (!(e.currentTarget as HTMLDetailsElement).open || state.loaded) return;
        setState({ loaded: true });
        loadDocument(session, docKey).then(
          (doc) => setState({ loaded: true, doc }),
          (error: unknown) => setState({ loaded: true, error }),
        );
      }}
    >
      <summary>{summary}</summary>
      <ErrorBox error={state.error} />
      {state.doc !== undefined ? (
        <JsonView value={transform ? transform(state.doc) : state.doc} label={`Document ${docKey}`} />
      ) : (
        !state.error && <p class="muted small">Loading…</p>
      )}
    </details>
  );
}
