import { request, type Session, type TableInfo } from '../api';
import { parseJsonInput } from '../ui';

/** The Data page's calls: tables (GET /tables), a page of documents (AQL), entities (GET/PUT/POST/DELETE). */

export type { TableInfo };

export const PAGE_SIZE = 25;
export const TABLE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

export function indexCount(t: TableInfo): number {
  return t.indexes.length + t.fulltext.length + t.vector_indexes.length;
}

export async function listTables(s: Session, signal?: AbortSignal): Promise<TableInfo[]> {
  return (await request<{ tables: TableInfo[] }>(s, 'GET', '/tables', undefined, { signal })).tables;
}

export function getTable(s: Session, name: string): Promise<TableInfo> {
  return request<TableInfo>(s, 'GET', `/tables/${encodeURIComponent(name)}`);
}

/** A document of a page: its key (the part after `table:`) and its JSON. */
export interface Row {
  key: string;
  doc: unknown;
}

/** One page of a table's documents in key order (AQL with bind parameters). */
export async function pageOf(s: Session, table: string, offset: number, n = PAGE_SIZE): Promise<Row[]> {
  const r = await request<{ entities: unknown[] }>(s, 'POST', '/query/aql', {
    query: 'FOR d IN @@t SORT d._key LIMIT @off, @n RETURN {key: d._key, doc: d}',
    bind_vars: { '@t': table, off: offset, n },
  });
  return r.entities.map((e) => {
    const v = (typeof e === 'string' ? JSON.parse(e) : e) as { key?: unknown; doc?: unknown };
    return { key: String(v.key ?? ''), doc: typeof v.doc === 'string' ? JSON.parse(v.doc) : v.doc };
  });
}

/** `/entities/<table:key>` with the key as one encoded path segment. */
export function entityPath(table: string, key: string): string {
  return `/entities/${encodeURIComponent(`${table}:${key}`)}`;
}

/** The stored JSON text of a document. */
export async function getDocument(s: Session, table: string, key: string): Promise<string> {
  return (await request<{ key: string; blob: string }>(s, 'GET', entityPath(table, key))).blob;
}

/**
 * The document typed in an editor, checked before anything is sent: valid JSON and an object
 * (the server stores JSON objects). Returns its compact text.
 */
export function documentText(text: string): string {
  const v = parseJsonInput(text, 'Document JSON');
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error('Document JSON must be a JSON object ({ … }), not an array or a single value.');
  return JSON.stringify(v);
}

/** Replaces (or creates) a document: PUT /entities/{table:key} with the JSON text as `blob`. */
export function putDocument(s: Session, table: string, key: string, blob: string): Promise<unknown> {
  return request(s, 'PUT', entityPath(table, key), { blob });
}

/** Creates a document: POST /entities (409 when the key exists; a generated key when none is given). Returns its key (after `table:`). */
export async function createDocument(s: Session, table: string, key: string, blob: string): Promise<string> {
  const body = key === '' ? { table, blob } : { key: `${table}:${key}`, blob };
  const r = await request<{ key: string }>(s, 'POST', '/entities', body);
  return r.key.slice(r.key.indexOf(':') + 1);
}

export function deleteDocument(s: Session, table: string, key: string): Promise<unknown> {
  return request(s, 'DELETE', entityPath(table, key));
}

/** Pretty-prints a stored JSON text for editing (as it is when it does not parse). */
export function pretty(blob: string): string {
  try {
    return JSON.stringify(JSON.parse(blob), null, 2);
  } catch {
    return blob;
  }
}
