import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../api';
import { Card, ErrorBox, Notice } from '../ui';
import { JsonEditor } from './data-json-editor';
import { createDocument, deleteDocument, documentText, getDocument, pretty, putDocument, TABLE_NAME } from './data-api';

/** The JSON editor of a document (labelled "Document JSON"). */
function JsonArea({ value, onInput, id }: { value: string; onInput: (v: string) => void; id: string }) {
  return <JsonEditor id={id} label="Document JSON" value={value} onInput={onInput} />;
}

/**
 * One document: GET /entities/{table:key} into an editor; Save is PUT with the edited JSON
 * (checked before sending), Delete asks for a confirmation inside the page, then DELETE.
 */
export function DocumentEditor({
  session,
  table,
  docKey,
  onChanged,
  onClose,
}: {
  session: Session;
  table: string;
  docKey: string;
  onChanged: () => void;
  onClose: () => void;
}) {
  const canWrite = session.can('data:write');
  const [text, setText] = useState('');
  const [stored, setStored] = useState<string | undefined>();
  const [loadError, setLoadError] = useState<unknown>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    let live = true;
    setStored(undefined);
    setLoadError(undefined);
    setError(undefined);
    setSaved(undefined);
    setConfirming(false);
    getDocument(session, table, docKey).then(
      (blob) => {
        if (!live) return;
        setStored(blob);
        setText(pretty(blob));
      },
      (e: unknown) => live && setLoadError(e),
    );
    return () => {
      live = false;
    };
  }, [session, table, docKey]);

  const save = async () => {
    setError(undefined);
    setSaved(undefined);
    let blob: string;
    try {
      blob = documentText(text);
    } catch (e) {
      setError(e);
      return;
    }
    setBusy(true);
    try {
      await putDocument(session, table, docKey, blob);
      setStored(blob);
      setSaved(`Saved ${table}:${docKey} (${new Blob([blob]).size} bytes).`);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setError(undefined);
    setBusy(true);
    try {
      await deleteDocument(session, table, docKey);
      onChanged();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  const id = 'doc-json';
  const dirty = stored !== undefined && text !== pretty(stored);
  return (
    <Card
      title={`Document ${table}:${docKey}`}
      actions={
        <button type="button" onClick={onClose}>
          Close
        </button>
      }
    >
      <ErrorBox error={loadError} />
      {stored === undefined && !loadError && <p class="muted">Loading…</p>}
      {stored !== undefined && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <JsonArea id={id} value={text} onInput={setText} />
          <p class="muted small">
            {new Blob([stored]).size} bytes stored{dirty ? ' · edited, not saved' : ''}. Save replaces the document (
            <code>PUT /entities/{`${table}:${docKey}`}</code>).
          </p>
          <ErrorBox error={error} />
          {saved && <Notice>{saved}</Notice>}
          {canWrite ? (
            confirming ? (
              // biome-ignore lint/a11y/useSemanticElements: an inline confirmation, not a form section
              <div class="data-confirm" role="group" aria-label="Confirm delete">
                <span>
                  Delete <strong>{`${table}:${docKey}`}</strong> for good?
                </span>
                <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
                  Yes, delete
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </div>
            ) : (
              <div class="row">
                <button type="submit" class="primary" disabled={busy}>
                  {busy ? 'Saving…' : 'Save'}
                </button>
                <button type="button" onClick={() => setText(pretty(stored))} disabled={busy || !dirty}>
                  Revert
                </button>
                <button type="button" class="danger" onClick={() => setConfirming(true)} disabled={busy}>
                  Delete
                </button>
              </div>
            )
          ) : (
            <p class="muted small">This key does not hold data:write: read only.</p>
          )}
        </form>
      )}
    </Card>
  );
}

const EXAMPLE = '{\n  "name": "",\n  "city": ""\n}';

/**
 * A new document: table (fixed when given), key (empty: the server makes a UUID) and JSON, created
 * with POST /entities (409 when the key exists already). A new table name creates the table.
 */
export function CreateDocument({
  session,
  table: fixedTable,
  onCreated,
  onClose,
}: {
  session: Session;
  table?: string;
  onCreated: (table: string, key: string) => void;
  onClose?: () => void;
}) {
  const [table, setTable] = useState(fixedTable ?? '');
  const [key, setKey] = useState('');
  const [text, setText] = useState(EXAMPLE);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const create = async () => {
    setError(undefined);
    const t = (fixedTable ?? table).trim();
    let blob: string;
    try {
      if (!TABLE_NAME.test(t)) throw new Error('Table: 1 to 128 of the characters A-Z a-z 0-9 _ -.');
      blob = documentText(text);
    } catch (e) {
      setError(e);
      return;
    }
    setBusy(true);
    try {
      const k = await createDocument(session, t, key.trim(), blob);
      setKey('');
      setText(EXAMPLE);
      onCreated(t, k);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card
      title={fixedTable ? `New document in ${fixedTable}` : 'New document'}
      actions={
        onClose && (
          <button type="button" onClick={onClose}>
            Close
          </button>
        )
      }
    >
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <div class="row">
          {!fixedTable && (
            <div class="field data-grow">
              <label for="new-table">Table</label>
              <input
                id="new-table"
                value={table}
                onInput={(e) => setTable(e.currentTarget.value)}
                placeholder="existing or new table"
                autocomplete="off"
                spellcheck={false}
                list="data-table-names"
              />
            </div>
          )}
          <div class="field data-grow">
            <label for="new-key">Key</label>
            <input
              id="new-key"
              value={key}
              onInput={(e) => setKey(e.currentTarget.value)}
              placeholder="empty: generated"
              autocomplete="off"
              spellcheck={false}
            />
          </div>
        </div>
        <JsonArea id="new-json" value={text} onInput={setText} />
        <ErrorBox error={error} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
          <span class="muted small">
            <code>POST /entities</code>: refused (409) when the key exists.
          </span>
        </div>
      </form>
    </Card>
  );
}
