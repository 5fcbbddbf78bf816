import { type ChangeEvent, ThemisClient } from '@themis-ts/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { request, type Session } from '../api';
import type { PageProps } from '../app';
import { ErrorBox, useInterval } from '../ui';
import './changefeed.css';

/**
 * Change feed: a live view over `GET /changefeed/stream` (SSE) through the typed client's
 * `changes()` iterator, which sends the Authorization header (EventSource cannot) and reconnects
 * after the last sequence it delivered. Starts at the end of the log by default ("now": `last_seq`
 * of a `GET /changefeed` answer, which needs only data:read), or at sequence 0 / a given sequence.
 * Pausing closes the stream and remembers the last sequence shown; resuming reopens it after that
 * sequence, so nothing committed meanwhile is lost (a long-poll read counts what is waiting).
 */

/** Rows kept on the page (newest first); older ones are dropped. */
export const FEED_CAP = 500;
/** The largest sequence number the API accepts (2^53 - 1): an empty answer that still tells `last_seq`. */
const END_OF_LOG = 9007199254740991;

type StartMode = 'now' | 'beginning' | 'sequence';

interface FeedRow {
  seq: number;
  received: Date;
  op: 'PUT' | 'DELETE';
  key: string;
  /** The new document's JSON text (PUT) or the deleted one's (DELETE), null if unknown. */
  doc: string | null;
  txn?: string;
}

type Status =
  | { state: 'connecting' }
  | { state: 'live' }
  | { state: 'reconnecting'; message: string }
  | { state: 'paused' }
  | { state: 'error'; error: unknown };

/** What the stream is asked to do: one object per (re)start, so an effect runs once per start. */
interface StreamSpec {
  prefix: string;
  /** Exclusive start position, or 'now' (the current end of the log). */
  from: number | 'now';
}

interface FeedPage {
  from_seq: number;
  next_seq: number;
  last_seq: number;
  entries: unknown[];
}

/** The newest durable sequence number, read with data:read only (GET /changefeed past the end answers at once). */
async function endOfLog(session: Session, signal: AbortSignal): Promise<number> {
  const r = await request<FeedPage>(session, 'GET', '/changefeed', undefined, { query: { from_seq: END_OF_LOG, limit: 1 }, signal });
  return r.last_seq;
}

function toRow(e: ChangeEvent): FeedRow {
  return {
    seq: e.sequence,
    received: new Date(),
    op: e.operation,
    key: e.key,
    doc: e.operation === 'DELETE' ? e.old_val : e.new_val,
    txn: e.txn_id,
  };
}

function timeOf(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function pretty(text: string | null): string {
  if (text === null) return 'null';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function ValueCell({ row }: { row: FeedRow }) {
  if (row.doc === null) return <span class="muted">–</span>;
  return (
    <details class="cf-value">
      <summary title={row.op === 'DELETE' ? 'The deleted document' : 'The new document'}>
        {row.op === 'DELETE' && <span class="muted">was </span>}
        <code>{row.doc}</code>
      </summary>
      <pre class="json">{pretty(row.doc)}</pre>
    </details>
  );
}

function StatusLine({ status, spec, lastSeq }: { status: Status; spec: StreamSpec; lastSeq: number | undefined }) {
  const filter = spec.prefix ? (
    <>
      keys starting with <code>{spec.prefix}</code>
    </>
  ) : (
    'all keys'
  );
  let badge: { cls: string; text: string };
  let detail: ComponentChildren;
  switch (status.state) {
    case 'connecting':
      badge = { cls: 'warn', text: 'Connecting' };
      detail = <>Opening the stream for {filter}…</>;
      break;
    case 'live':
      badge = { cls: 'ok', text: 'Live' };
      detail = (
        <>
          Following {filter}
          {lastSeq !== undefined && <> after sequence {lastSeq}</>}.
        </>
      );
      break;
    case 'reconnecting':
      badge = { cls: 'warn', text: 'Reconnecting' };
      detail = (
        <>
          Connection lost ({status.message}); resuming after sequence {lastSeq ?? 0}…
        </>
      );
      break;
    case 'paused':
      badge = { cls: '', text: 'Paused' };
      detail = (
        <>
          Stream closed at sequence {lastSeq ?? 0} ({filter}). Nothing is lost: Resume continues right after it.
        </>
      );
      break;
    case 'error':
      badge = { cls: 'bad', text: 'Error' };
      detail = <>The stream stopped.</>;
      break;
  }
  return (
    <div class="cf-status" role="status" aria-label="Connection state">
      <span class={`badge ${badge.cls}`}>{badge.text}</span> <span>{detail}</span>
    </div>
  );
}

export function ChangeFeedPage({ session }: PageProps) {
  const [prefixInput, setPrefixInput] = useState('');
  const [mode, setMode] = useState<StartMode>('now');
  const [seqInput, setSeqInput] = useState('0');
  const [spec, setSpec] = useState<StreamSpec>({ prefix: '', from: 'now' });
  const [paused, setPaused] = useState(false);
  const [status, setStatus] = useState<Status>({ state: 'connecting' });
  const [rows, setRows] = useState<FeedRow[]>([]);
  const [lastSeq, setLastSeq] = useState<number | undefined>();
  const [waiting, setWaiting] = useState<{ n: number; more: boolean } | undefined>();
  const [formError, setFormError] = useState<unknown>();
  const last = useRef<number | undefined>(undefined);
  /** Bumped by Apply: rows still buffered by the stream it replaces are dropped, not shown. */
  const generation = useRef(0);

  // One stream per spec; paused means none. Aborted on unmount and on every restart.
  useEffect(() => {
    if (paused) {
      setStatus({ state: 'paused' });
      return;
    }
    const abort = new AbortController();
    const { signal } = abort;
    const gen = generation.current;
    let pending: FeedRow[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    setStatus({ state: 'connecting' });
    // A client of its own (same server, same key) whose fetch reports when the stream's answer
    // arrives, so the page can tell "connecting" from "live".
    const client = new ThemisClient({
      baseUrl: window.location.origin,
      apiKey: session.key,
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        const res = await fetch(input, init);
        if (res.ok && !signal.aborted) setStatus({ state: 'live' });
        return res;
      }) as typeof fetch,
    });
    // Pausing flushes what was received (last.current already counts it); a restart by Apply does not.
    const flush = () => {
      flushTimer = undefined;
      const batch = pending;
      pending = [];
      if (batch.length === 0 || gen !== generation.current) return;
      batch.reverse();
      setRows((old) => [...batch, ...old].slice(0, FEED_CAP));
      setLastSeq(last.current);
    };
    (async () => {
      try {
        let from: number;
        if (spec.from === 'now') from = await endOfLog(session, signal);
        else from = spec.from;
        if (signal.aborted) return;
        last.current = from;
        setLastSeq(from);
        for await (const e of client.changes({
          keyPrefix: spec.prefix || undefined,
          fromSeq: from,
          follow: true,
          maxSeconds: 60,
          signal,
          onReconnect: (info) => {
            if (signal.aborted) return;
            if (info.error !== undefined)
              setStatus({ state: 'reconnecting', message: info.error instanceof Error ? info.error.message : String(info.error) });
          },
        })) {
          if (signal.aborted) break;
          last.current = e.sequence;
          pending.push(toRow(e));
          // Catching up can deliver thousands at once: render in batches.
          flushTimer ??= setTimeout(flush, 40);
        }
      } catch (error) {
        if (!signal.aborted) setStatus({ state: 'error', error });
      }
    })();
    return () => {
      abort.abort();
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      flush();
    };
  }, [spec, paused, session]);

  // While paused, count what waits after the last sequence shown (GET /changefeed, data:read).
  const countWaiting = async () => {
    if (!paused || last.current === undefined) return;
    try {
      const r = await request<FeedPage>(session, 'GET', '/changefeed', undefined, {
        query: { from_seq: last.current, key_prefix: spec.prefix || undefined, limit: 1000 },
      });
      setWaiting({ n: r.entries.length, more: r.entries.length === 1000 || r.next_seq < r.last_seq });
    } catch {
      setWaiting(undefined); // the count is a hint; the stream reports errors on resume
    }
  };
  useInterval(countWaiting, 1500);
  useEffect(() => {
    setWaiting(undefined);
    if (paused) countWaiting();
  }, [paused]);

  const apply = (e: Event) => {
    e.preventDefault();
    setFormError(undefined);
    let from: number | 'now' = 'now';
    if (mode === 'beginning') from = 0;
    else if (mode === 'sequence') {
      const n = Number(seqInput);
      if (seqInput.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
        setFormError(new Error(`"After sequence" must be a whole number ≥ 0, got "${seqInput}".`));
        return;
      }
      from = n;
    }
    generation.current++;
    setRows([]);
    last.current = undefined;
    setLastSeq(undefined);
    setPaused(false);
    // In the same render as the new spec: until the new stream answers, the line must not read
    // "Live, following <new filter>" from the old stream's state (a write made then could fall
    // before the new stream's start and never be shown).
    setStatus({ state: 'connecting' });
    setSpec({ prefix: prefixInput.trim(), from });
  };

  const puts = rows.filter((r) => r.op === 'PUT').length;
  return (
    <div class="changefeed stack">
      <section class="card" aria-label="Stream settings">
        <form class="row" onSubmit={apply}>
          <div class="field cf-prefix">
            <label for="cf-prefix">Key prefix</label>
            <input
              id="cf-prefix"
              type="text"
              placeholder="e.g. users:"
              spellcheck={false}
              autocomplete="off"
              value={prefixInput}
              onInput={(e) => setPrefixInput(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="cf-start">Start at</label>
            <select id="cf-start" value={mode} onChange={(e) => setMode(e.currentTarget.value as StartMode)}>
              <option value="now">Now (new changes only)</option>
              <option value="beginning">Beginning of the retained log</option>
              <option value="sequence">After a sequence number</option>
            </select>
          </div>
          {mode === 'sequence' && (
            <div class="field cf-seq">
              <label for="cf-seq">After sequence</label>
              <input id="cf-seq" type="number" min={0} step={1} value={seqInput} onInput={(e) => setSeqInput(e.currentTarget.value)} />
            </div>
          )}
          <button type="submit" class="primary">
            Apply
          </button>
          <span class="cf-spacer" />
          {paused ? (
            <button
              type="button"
              class="primary"
              onClick={() => {
                setSpec({ prefix: spec.prefix, from: last.current ?? spec.from });
                setPaused(false);
              }}
            >
              Resume
            </button>
          ) : (
            <button type="button" onClick={() => setPaused(true)} disabled={status.state === 'error'}>
              Pause
            </button>
          )}
          <button type="button" onClick={() => setRows([])} disabled={rows.length === 0}>
            Clear
          </button>
        </form>
        <ErrorBox error={formError} />
      </section>

      <StatusLine status={status} spec={spec} lastSeq={lastSeq} />
      {status.state === 'error' && <ErrorBox error={status.error} />}
      {paused && waiting !== undefined && (
        <p class="cf-waiting" role="status" aria-label="Waiting changes">
          <strong>
            {waiting.n}
            {waiting.more ? '+' : ''} new while paused
          </strong>{' '}
          <span class="muted">— shown when you resume.</span>
        </p>
      )}

      <section class="card" aria-label="Changes">
        <header class="card-head">
          <h2>Changes</h2>
          <span class="muted small">
            {rows.length} shown ({puts} put, {rows.length - puts} delete) · newest first · the last {FEED_CAP} are kept
          </span>
        </header>
        {rows.length === 0 ? (
          <p class="muted">
            {paused
              ? 'No changes yet.'
              : 'Waiting for changes… Write a document (Data page, AQL or the API) and it appears here as soon as it commits.'}
          </p>
        ) : (
          <div class="table-wrap feed">
            <table aria-label="Change events" class="cf-table">
              <thead>
                <tr>
                  <th scope="col">Seq</th>
                  <th scope="col" title="When this page received the event (the stream carries no commit time)">
                    Received
                  </th>
                  <th scope="col">Operation</th>
                  <th scope="col">Key</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.seq} data-seq={r.seq}>
                    <td class="mono">{r.seq}</td>
                    <td class="mono muted">{timeOf(r.received)}</td>
                    <td>
                      <span class={`badge ${r.op === 'PUT' ? 'ok' : 'bad'}`}>{r.op === 'PUT' ? 'put' : 'delete'}</span>
                    </td>
                    <td class="mono cf-key">{r.key}</td>
                    <td class="cf-value-cell">
                      <ValueCell row={r} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
