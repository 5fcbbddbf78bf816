import type { components } from '@themis-ts/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { request, type Session } from '../api';
import type { PageProps } from '../app';
import { Card, CopyButton, ErrorBox, Notice, useAsync } from '../ui';
import { formatTime } from './security-util';

/** API keys (admin): list, create (the secret shown once), revoke with an in-page confirm step. */

// The contract's types (generated from openapi.yaml into @themis-ts/client).
type ApiKey = components['schemas']['ApiKey'];
type ApiKeyList = components['schemas']['ApiKeyList'];
type ApiKeyCreated = components['schemas']['ApiKeyCreated'];

/** openapi.yaml's `Permission` enum, with what each allows (docs/api.md). */
export const PERMISSIONS: { name: string; hint: string }[] = [
  { name: 'data:read', hint: 'read documents, every table' },
  { name: 'data:write', hint: 'write and delete documents' },
  { name: 'query:execute', hint: 'run AQL queries' },
  { name: 'stats:read', hint: 'server statistics' },
  { name: 'audit:read', hint: 'read and export the audit log' },
  { name: 'reports:read', hint: 'audit, compliance, retention reports' },
  { name: 'classify:read', hint: 'PII classification' },
  { name: 'pii:reveal', hint: 'read original PII values' },
  { name: 'pii:delete', hint: 'delete PII values from the vault' },
  { name: 'admin', hint: 'everything, including key management' },
  { name: '*', hint: 'everything' },
];

const PAGE_SIZE = 50;

function KeyState({ k }: { k: ApiKey }) {
  if (k.revoked)
    return (
      <span class="badge bad" title={k.revoked_at ? `revoked ${formatTime(k.revoked_at)}` : undefined}>
        revoked
      </span>
    );
  if (k.expired) return <span class="badge warn">expired</span>;
  return <span class="badge ok">active</span>;
}

function CreateKey({ session, onCreated }: { session: Session; onCreated: (k: ApiKeyCreated) => void }) {
  const [name, setName] = useState('');
  const [perms, setPerms] = useState<Set<string>>(new Set());
  const [scoped, setScoped] = useState('');
  const [days, setDays] = useState('');
  const [rate, setRate] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const toggle = (p: string, on: boolean) => {
    const next = new Set(perms);
    if (on) next.add(p);
    else next.delete(p);
    setPerms(next);
  };
  const scopedList = scoped
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
  const all = [...perms, ...scopedList.filter((p) => !perms.has(p))];
  return (
    <Card title="Create a key">
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const body: Record<string, unknown> = { name: name.trim(), permissions: all };
            if (days.trim() !== '') body.expires_in_days = Number(days);
            if (rate.trim() !== '') body.rate_limit = rate.trim();
            const created = await request<ApiKeyCreated>(session, 'POST', '/api/keys', body);
            setName('');
            setPerms(new Set());
            setScoped('');
            setDays('');
            setRate('');
            onCreated(created);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="field">
          <label for="key-name">Key name</label>
          <input
            id="key-name"
            value={name}
            maxLength={200}
            placeholder="e.g. reporting-dashboard"
            onInput={(e) => setName(e.currentTarget.value)}
            required
          />
        </div>
        <fieldset class="sec-perms">
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => (
            <div class="sec-perm" key={p.name}>
              <input
                id={`perm-${p.name}`}
                type="checkbox"
                checked={perms.has(p.name)}
                onChange={(e) => toggle(p.name, e.currentTarget.checked)}
              />
              <label for={`perm-${p.name}`}>
                <code>{p.name}</code> <span class="muted">{p.hint}</span>
              </label>
            </div>
          ))}
        </fieldset>
        <div class="field">
          <label for="key-scoped">Table-scoped grants (space or comma separated)</label>
          <input
            id="key-scoped"
            class="mono"
            value={scoped}
            placeholder="data:read:users data:write:orders data:read:logs_*"
            onInput={(e) => setScoped(e.currentTarget.value)}
            spellcheck={false}
          />
        </div>
        <div class="row">
          <div class="field">
            <label for="key-days">Expires in days (optional)</label>
            <input
              id="key-days"
              type="number"
              min="0"
              step="any"
              value={days}
              placeholder="never"
              onInput={(e) => setDays(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="key-rate">Rate limit (optional)</label>
            <input id="key-rate" value={rate} placeholder="100/s, 60000/min" onInput={(e) => setRate(e.currentTarget.value)} />
          </div>
        </div>
        <ErrorBox error={error} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy || name.trim() === '' || all.length === 0}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
          {all.length > 0 && <span class="muted small">Grants: {all.join(', ')}</span>}
        </div>
      </form>
    </Card>
  );
}

/** The secret of the key just created: shown here once, held only in this component's memory. */
function SecretBox({ created, onDismiss }: { created: ApiKeyCreated; onDismiss: () => void }) {
  const box = useRef<HTMLElement>(null);
  // Bring the secret into view and announce it: the form that made it is further down.
  useEffect(() => {
    box.current?.scrollIntoView({ block: 'nearest' });
    box.current?.focus();
  }, []);
  return (
    <section class="card sec-secret" aria-label="New key secret" ref={box} tabIndex={-1}>
      <h2>Key “{created.name}” created</h2>
      <p>
        <strong>Copy the secret now: it will not be shown again.</strong> The server stores only its SHA-256 hash; a lost secret cannot be
        recovered, only revoked and replaced. Use it as <code>Authorization: Bearer &lt;secret&gt;</code>.
      </p>
      <div class="row sec-secret-row">
        <code class="secret">{created.secret}</code>
        <CopyButton text={created.secret} label="Copy secret" />
      </div>
      <p class="muted small">
        Key id <code>{created.keyId}</code> · permissions {created.permissions.join(', ')} · expires{' '}
        {created.expires_at ? formatTime(created.expires_at) : 'never'}
      </p>
      <button type="button" onClick={onDismiss}>
        I have stored it: dismiss
      </button>
    </section>
  );
}

function RevokeCell({ session, k, onRevoked }: { session: Session; k: ApiKey; onRevoked: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  if (k.revoked) return <span class="muted small">–</span>;
  if (!confirming)
    return (
      <button type="button" class="danger" onClick={() => setConfirming(true)} aria-label={`Revoke ${k.name}`}>
        Revoke
      </button>
    );
  return (
    <fieldset class="sec-confirm">
      <legend>Revoke “{k.name}”? Its next request gets 401; this cannot be undone.</legend>
      <div class="row">
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await request(session, 'DELETE', `/api/keys/${encodeURIComponent(k.keyId)}`);
              setConfirming(false);
              onRevoked();
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          {busy ? 'Revoking…' : 'Yes, revoke'}
        </button>
        <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
          Cancel
        </button>
      </div>
      <ErrorBox error={error} />
    </fieldset>
  );
}

export function KeysTab({ session }: PageProps) {
  const [includeRevoked, setIncludeRevoked] = useState(true);
  const [page, setPage] = useState(1);
  const [created, setCreated] = useState<ApiKeyCreated | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const list = useAsync(
    () =>
      request<ApiKeyList>(session, 'GET', '/api/keys', undefined, {
        query: { include_revoked: includeRevoked, page, page_size: PAGE_SIZE },
      }),
    [includeRevoked, page],
  );
  const keys = list.data?.keys ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  return (
    <div class="stack">
      <div class="sec-keys">
        <Card
          title={`API keys (${total})`}
          actions={
            <>
              <input
                id="keys-include-revoked"
                type="checkbox"
                checked={includeRevoked}
                onChange={(e) => {
                  setIncludeRevoked(e.currentTarget.checked);
                  setPage(1);
                }}
              />
              <label for="keys-include-revoked" class="inline">
                Include revoked
              </label>
              <button type="button" onClick={list.reload} disabled={list.loading}>
                Refresh
              </button>
            </>
          }
        >
          <ErrorBox error={list.error} />
          {message && <Notice>{message}</Notice>}
          {list.data && keys.length === 0 && <p class="muted">No keys yet. The admin key (THEMIS_ADMIN_KEY or admin.key) is not listed.</p>}
          {keys.length > 0 && (
            <div class="table-wrap">
              <table aria-label="API keys">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Permissions</th>
                    <th scope="col">Created</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Last used</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {keys.map((k) => (
                    <tr key={k.keyId} data-key-id={k.keyId} class={k.revoked ? 'sec-revoked' : undefined}>
                      <td>
                        <strong>{k.name}</strong>
                        <div class="mono small muted">{k.keyId}</div>
                        {k.rate_limit && <div class="muted small">limit {k.rate_limit}</div>}
                      </td>
                      <td class="sec-wrap">
                        {k.permissions.map((p) => (
                          <span class="badge sec-perm-badge" key={p}>
                            {p}
                          </span>
                        ))}
                      </td>
                      <td title={k.created_at}>{formatTime(k.created_at, false)}</td>
                      <td title={k.expires_at ?? undefined}>{k.expires_at ? formatTime(k.expires_at, false) : 'never'}</td>
                      <td title={k.last_used_at ?? undefined}>{k.last_used_at ? formatTime(k.last_used_at, false) : 'never'}</td>
                      <td>
                        <KeyState k={k} />
                      </td>
                      <td class="sec-wrap">
                        <RevokeCell
                          session={session}
                          k={k}
                          onRevoked={() => {
                            setMessage(`Key “${k.name}” (${k.keyId}) revoked.`);
                            list.reload();
                          }}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {pages > 1 && (
            <div class="row sec-pager">
              <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
                Previous
              </button>
              <span class="muted">
                Page {page} of {pages}
              </span>
              <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
                Next
              </button>
            </div>
          )}
        </Card>
        {created && (
          <SecretBox
            created={created}
            onDismiss={() => {
              setCreated(undefined);
              setMessage(undefined);
            }}
          />
        )}
      </div>
      <CreateKey
        session={session}
        onCreated={(k) => {
          setCreated(k);
          setMessage(undefined);
          list.reload();
        }}
      />
    </div>
  );
}
