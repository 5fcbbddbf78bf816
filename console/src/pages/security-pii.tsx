import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { request } from '../api';
import type { PageProps } from '../app';
import { Card, ErrorBox } from '../ui';

/**
 * PII classify playground (`classify:read`): POST /api/classify with the text only. The text stays in
 * this component's memory (never in storage or the URL); the server neither stores nor logs it.
 */

interface Match {
  category: string;
  value: string;
  confidence: number;
  start_pos?: number;
  end_pos?: number;
}

interface ClassifyResponse {
  contains_pii: boolean;
  matches: Match[];
  summary: { total_matches: number; categories_found: string[]; risk_level: 'none' | 'low' | 'medium' | 'high' };
}

const RISK: Record<string, string> = { none: 'ok', low: 'ok', medium: 'warn', high: 'bad' };

/** The text with each positioned match in a <mark> (overlaps skipped; the server resolves them already). */
function Highlighted({ text, matches }: { text: string; matches: Match[] }) {
  const spans = matches
    .filter((m): m is Match & { start_pos: number; end_pos: number } => typeof m.start_pos === 'number' && typeof m.end_pos === 'number')
    .sort((a, b) => a.start_pos - b.start_pos);
  const out: ComponentChildren[] = [];
  let at = 0;
  for (const m of spans) {
    if (m.start_pos < at || m.end_pos > text.length) continue;
    if (m.start_pos > at) out.push(text.slice(at, m.start_pos));
    out.push(
      <mark key={`m${m.start_pos}`} title={`${m.category} · ${Math.round(m.confidence * 100)} %`} data-category={m.category}>
        {text.slice(m.start_pos, m.end_pos)}
      </mark>,
      <span key={`t${m.start_pos}`} class="sec-mark-tag" aria-hidden="true">
        {m.category}
      </span>,
    );
    at = m.end_pos;
  }
  if (at < text.length) out.push(text.slice(at));
  return <div class="sec-highlight">{out}</div>;
}

const SAMPLE =
  'Hallo Frau Schmidt,\nbitte überweisen Sie den Betrag auf IBAN DE89370400440532013000.\nRückfragen gerne an anna.schmidt@example.org oder Tel. +49 30 1234567.\nGeboren am 12.03.1985, Kartennummer 4111 1111 1111 1111.';

export function PiiTab({ session }: PageProps) {
  const [text, setText] = useState('');
  const [language, setLanguage] = useState('auto');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<{ text: string; res: ClassifyResponse } | undefined>();
  return (
    <div class="stack">
      <Card title="Classify a text">
        <form
          class="stack"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(undefined);
            try {
              const sent = text;
              const res = await request<ClassifyResponse>(session, 'POST', '/api/classify', {
                text: sent,
                language,
                include_positions: true,
              });
              setResult({ text: sent, res });
            } catch (err) {
              setError(err);
              setResult(undefined);
            } finally {
              setBusy(false);
            }
          }}
        >
          <p class="muted small">
            Sends only this text to <code>POST /api/classify</code>. The server does not store or log it, and its audit entry says{' '}
            <code>CLASSIFY</code> with no entity (docs/pii.md); the console keeps it only in this tab's memory. A JSON document can be
            pasted as it is: it is classified as text.
          </p>
          <div class="field">
            <label for="pii-text">Text to classify</label>
            <textarea id="pii-text" rows={7} value={text} spellcheck={false} onInput={(e) => setText(e.currentTarget.value)} />
          </div>
          <div class="row">
            <div class="field">
              <label for="pii-language">Language</label>
              <select id="pii-language" value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
                <option value="auto">auto (German and English)</option>
                <option value="de">German</option>
                <option value="en">English</option>
              </select>
            </div>
            <button type="submit" class="primary" disabled={busy || text.trim() === ''}>
              {busy ? 'Classifying…' : 'Classify'}
            </button>
            <button type="button" onClick={() => setText(SAMPLE)}>
              Insert sample text
            </button>
            <button
              type="button"
              onClick={() => {
                setText('');
                setResult(undefined);
                setError(undefined);
              }}
            >
              Clear
            </button>
          </div>
          <ErrorBox error={error} />
        </form>
      </Card>
      {result && (
        <Card
          title="Findings"
          actions={
            <span class={`badge ${RISK[result.res.summary.risk_level] ?? ''}`}>
              risk {result.res.summary.risk_level} · {result.res.summary.total_matches}{' '}
              {result.res.summary.total_matches === 1 ? 'match' : 'matches'}
            </span>
          }
        >
          {!result.res.contains_pii ? (
            <p class="muted">No personal data found.</p>
          ) : (
            <div class="stack">
              <Highlighted text={result.text} matches={result.res.matches} />
              <div class="table-wrap">
                <table aria-label="Findings">
                  <thead>
                    <tr>
                      <th scope="col">Type</th>
                      <th scope="col">Value</th>
                      <th scope="col">Confidence</th>
                      <th scope="col">Position</th>
                    </tr>
                  </thead>
                  <tbody>
                    {result.res.matches.map((m, i) => (
                      <tr key={i}>
                        <td>
                          <span class="badge">{m.category}</span>
                        </td>
                        <td class="mono">{m.value}</td>
                        <td>
                          <meter min={0} max={1} value={m.confidence} aria-label={`confidence ${m.category}`} />{' '}
                          {Math.round(m.confidence * 100)} %
                        </td>
                        <td class="muted">{m.start_pos !== undefined ? `${m.start_pos}–${m.end_pos}` : '–'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          )}
        </Card>
      )}
    </div>
  );
}
