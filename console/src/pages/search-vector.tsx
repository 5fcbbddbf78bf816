import { useState } from 'preact/hooks';
import { request, type Session } from '../api';
import { ErrorBox } from '../ui';
import { loadDocument, useTables } from './search-shared';
import { parseVector, withoutField } from './search-util';

/**
 * The Search page's vector tab: k nearest neighbours of a pasted vector in a vector (HNSW) index
 * (`POST /vector/search`). The vector is checked here first (a JSON array of numbers of the index's
 * dimension); a wrong one is explained without sending anything. Hits come as `{pk, distance}`;
 * their documents are read with `GET /entities/{table}:{pk}`.
 */

/** Documents read for the hits shown (the rest show their key and distance only). */
const DOCS_READ = 100;

interface VectorIndexRef {
  table: string;
  name: string;
  field: string;
  dimension: number | null;
  metric: string;
  state: string;
  vectors: number;
}

interface VectorHit {
  pk: string;
  distance: number;
}

interface Result {
  index: VectorIndexRef;
  hits: VectorHit[];
  docs: Map<string, { doc?: unknown; error?: unknown }>;
}

const METRIC_NOTE: Record<string, string> = {
  COSINE: 'distance = 1 − cos',
  L2: 'distance = squared Euclidean',
  IP: 'distance = 1 − dot product',
};

function DocPreview({ doc, field }: { doc: unknown; field: string }) {
  const shown = withoutField(doc, field);
  const text = JSON.stringify(shown);
  return (
    <details class="vr-doc">
      <summary>
        <code>{text}</code>
      </summary>
      <pre class="json">{JSON.stringify(shown, null, 2)}</pre>
    </details>
  );
}

export function VectorTab({ session }: { session: Session }) {
  const tables = useTables(session);
  const indexes: VectorIndexRef[] = (tables.data ?? []).flatMap((t) => t.vector_indexes.map((v) => ({ table: t.name, ...v })));
  const [picked, setPicked] = useState('');
  const [text, setText] = useState('');
  const [k, setK] = useState('5');
  const [result, setResult] = useState<Result | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  if (tables.error) return <ErrorBox error={tables.error} />;
  if (tables.loading && !tables.data) return <p class="muted">Loading tables…</p>;
  if (indexes.length === 0)
    return (
      <p class="muted">
        No vector index yet. Create one with <code>POST /vector/index/create</code>{' '}
        <code>{'{"name":"items_vec","table":"items","field":"embedding"}'}</code> (docs/vector.md).
      </p>
    );
  const index = indexes.find((i) => i.name === picked) ?? indexes[0]!;

  const search = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let vector: number[];
    try {
      vector = parseVector(text, index.dimension, index.name);
      const n = Number(k);
      if (!Number.isInteger(n) || n < 1 || n > 10000) throw new Error(`k must be a whole number from 1 to 10000, got "${k}".`);
    } catch (err) {
      setError(err);
      setResult(undefined);
      return;
    }
    setBusy(true);
    try {
      const r = await request<{ results?: VectorHit[] }>(session, 'POST', '/vector/search', { index: index.name, vector, k: Number(k) });
      const hits = r.results ?? [];
      const docs = new Map<string, { doc?: unknown; error?: unknown }>();
      await Promise.all(
        hits.slice(0, DOCS_READ).map(async (h) => {
          try {
            docs.set(h.pk, { doc: await loadDocument(session, `${index.table}:${h.pk}`) });
          } catch (err) {
            docs.set(h.pk, { error: err });
          }
        }),
      );
      setResult({ index, hits, docs });
    } catch (err) {
      setError(err);
      setResult(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="stack">
      <section class="card" aria-label="Vector search settings">
        <form class="stack" onSubmit={search}>
          <div class="row">
            <div class="field vr-index">
              <label for="vr-index">Vector index</label>
              <select id="vr-index" value={index.name} onChange={(e) => setPicked(e.currentTarget.value)}>
                {indexes.map((i) => (
                  <option key={i.name} value={i.name}>
                    {i.table} · {i.name} ({i.field}, {i.dimension === null ? 'no dimension yet' : `dim ${i.dimension}`}, {i.metric})
                  </option>
                ))}
              </select>
            </div>
            <div class="field vr-k">
              <label for="vr-k">k (neighbours)</label>
              <input id="vr-k" type="number" min={1} max={10000} value={k} onInput={(e) => setK(e.currentTarget.value)} />
            </div>
            <p class="muted small vr-meta">
              {index.vectors} vectors · {index.metric}: {METRIC_NOTE[index.metric] ?? 'distance'} · state {index.state}
            </p>
          </div>
          <div class="field">
            <label for="vr-vector">Query vector</label>
            <textarea
              id="vr-vector"
              spellcheck={false}
              rows={3}
              placeholder={`A JSON array of ${index.dimension ?? 'n'} numbers, e.g. [${Array.from({ length: Math.min(index.dimension ?? 4, 8) }, (_, i) => (0.1 * (i + 1)).toFixed(1)).join(', ')}${(index.dimension ?? 4) > 8 ? ', …' : ''}]`}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          </div>
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Searching…' : 'Search'}
            </button>
          </div>
        </form>
      </section>
      <ErrorBox error={error} />
      {result && (
        <section class="card" aria-label="Vector results">
          <header class="card-head">
            <h2>Nearest neighbours</h2>
            <span class="muted small" role="status">
              {result.hits.length} hit{result.hits.length === 1 ? '' : 's'} in {result.index.table} · {result.index.name} · nearest first
            </span>
          </header>
          {result.hits.length === 0 ? (
            <p class="muted">The index holds no vector.</p>
          ) : (
            <div class="table-wrap">
              <table aria-label="Vector hits" class="vr-table">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Key</th>
                    <th scope="col">Distance</th>
                    <th scope="col">Document (without {result.index.field})</th>
                  </tr>
                </thead>
                <tbody>
                  {result.hits.map((h, i) => {
                    const d = result.docs.get(h.pk);
                    return (
                      <tr key={h.pk}>
                        <td class="muted">{i + 1}</td>
                        <td class="mono vr-key">
                          {result.index.table}:{h.pk}
                        </td>
                        <td class="mono">{h.distance.toFixed(4)}</td>
                        <td class="vr-doc-cell">
                          {d?.error !== undefined ? (
                            <ErrorBox error={d.error} />
                          ) : d ? (
                            <DocPreview doc={d.doc} field={result.index.field} />
                          ) : (
                            <span class="muted">–</span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
    </div>
  );
}
