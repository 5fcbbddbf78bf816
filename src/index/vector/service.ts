import crypto from 'node:crypto';
import { parseEntityKey, type EntityKey } from '../../entities/index.js';
import { ThemisError } from '../../errors.js';
import type { TransactionManager } from '../../txn/index.js';
import { valueAt } from '../extract.js';
import { MAX_K, checkVector } from './hnsw-index.js';
import { DEFAULT_VECTOR_INDEX, MAX_EF, describeVectorIndex, intField, parseFieldPath, parseIndexName } from './vector-def.js';
import type { VectorIndex } from './vector-index.js';
import type { VectorManager } from './vector-manager.js';

export const MAX_BATCH_ITEMS = 10_000;
export const MAX_FILTER_PKS = 10_000;
/** Deletes by filter commit in transactions of this many entities. */
export const DELETE_CHUNK = 5_000;

function bad(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface VectorResult {
  pk: string;
  distance: number;
}

export interface BatchInsertResponse {
  inserted: number;
  errors: number;
  objectName: string;
  dimension: number | null;
  table: string;
  error_details: { index: number; pk: string | null; message: string }[];
}

export type VectorSearchResponse =
  | { results: VectorResult[]; k: number; count: number }
  | { items: VectorResult[]; batch_size: number; has_more: boolean; next_cursor: string | null; k: number; count: number };

type Scalar = string | number | boolean | null;

/** A parsed search filter, applied to entity keys inside the graph walk. */
export interface VectorFilter {
  prefix?: string;
  pks?: Set<string>;
  /** Field path -> accepted values (equality; an array lists alternatives). */
  fields?: [string[], Scalar[]][];
}

function scalarList(v: unknown, field: string): Scalar[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || list.length > 1000) throw bad(field, `field "${field}" must be a value or a list of 1 to 1000 values`);
  for (const x of list) {
    if (!(x === null || typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)))) {
      throw bad(field, `field "${field}" must be a string, number, boolean or null (or a list of them)`);
    }
  }
  return list as Scalar[];
}

export function parseVectorFilter(raw: unknown): VectorFilter | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw bad('filter', 'field "filter" must be an object with "prefix", "pks" and/or "fields"');
  const f: VectorFilter = {};
  for (const k of Object.keys(raw)) if (k !== 'prefix' && k !== 'pks' && k !== 'fields') throw bad(`filter.${k}`, `unknown filter "${k}": use "prefix", "pks" or "fields"`);
  if (raw.prefix !== undefined) {
    if (typeof raw.prefix !== 'string' || raw.prefix.length > 4096) throw bad('filter.prefix', 'field "filter.prefix" must be a string');
    f.prefix = raw.prefix;
  }
  if (raw.pks !== undefined) f.pks = new Set(pkList(raw.pks, 'filter.pks'));
  if (raw.fields !== undefined) {
    if (!isObject(raw.fields) || Object.keys(raw.fields).length === 0 || Object.keys(raw.fields).length > 32) {
      throw bad('filter.fields', 'field "filter.fields" must be an object of 1 to 32 field paths and the values they must equal');
    }
    f.fields = Object.entries(raw.fields).map(([p, v]) => [parseFieldPath(p, `filter.fields.${p}`).split('.'), scalarList(v, `filter.fields.${p}`)]);
  }
  return f;
}

function pkList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length > MAX_FILTER_PKS || !v.every((x) => typeof x === 'string' && x.length > 0)) {
    throw bad(field, `field "${field}" must be a list of at most ${MAX_FILTER_PKS} non-empty strings`);
  }
  return v as string[];
}

function sameScalar(a: unknown, b: Scalar): boolean {
  return a === b;
}

/**
 * The vector endpoints over the vector indexes (see docs/vector.md): batch
 * insert through one implicit transaction, k-NN search with filters and
 * cursors, delete by filter, index configuration and statistics.
 */
export class VectorService {
  constructor(
    private readonly vectors: () => VectorManager,
    private readonly txm: () => TransactionManager,
  ) {}

  /**
   * The index a request addresses: `index` by name; otherwise the index on
   * `table` (and `vector_field`) when they are given and differ from the
   * default's; otherwise the default index. A given table or field must match
   * the index (400).
   */
  resolve(o: { index?: unknown; table?: unknown; vector_field?: unknown }): VectorIndex {
    const m = this.vectors();
    const field = o.vector_field === undefined ? undefined : parseFieldPath(o.vector_field, 'vector_field');
    if (o.table !== undefined && typeof o.table !== 'string') throw bad('table', 'field "table" must be a string');
    const table = o.table as string | undefined;
    let ix: VectorIndex;
    if (o.index !== undefined) ix = m.get(parseIndexName(o.index, 'index'));
    else if ((table !== undefined && table !== DEFAULT_VECTOR_INDEX.table) || (field !== undefined && field !== DEFAULT_VECTOR_INDEX.field)) {
      const t = table ?? DEFAULT_VECTOR_INDEX.table;
      const candidates = m.onTable(t).filter((x) => field === undefined || x.def.field === field);
      if (candidates.length === 0) {
        throw new ThemisError('INDEX_NOT_FOUND', `no vector index on ${t}${field ? `.${field}` : ''}; create one with POST /vector/index/create {"name": "...", "table": "${t}", "field": "${field ?? 'embedding'}"}`, { details: { field: 'index' } });
      }
      if (candidates.length > 1) throw bad('index', `${t}${field ? `.${field}` : ''} has ${candidates.length} vector indexes (${candidates.map((x) => x.def.name).join(', ')}); say which with "index"`);
      ix = m.get(candidates[0]!.def.name);
    } else ix = m.get(DEFAULT_VECTOR_INDEX.name);
    if (table !== undefined && table !== ix.def.table) throw bad('table', `vector index ${ix.def.name} covers table ${ix.def.table}, not ${table}`);
    if (field !== undefined && field !== ix.def.field) throw bad('vector_field', `vector index ${ix.def.name} indexes field "${ix.def.field}", not "${field}"`);
    return ix;
  }

  /**
   * POST /vector/batch_insert: each valid item becomes the entity
   * `table:pk` = fields + the vector under the index's field, all in one
   * commit; invalid items are counted and described, the rest is written.
   * Nothing valid at all → 400.
   */
  async batchInsert(o: { index?: unknown; table?: unknown; vector_field?: unknown; items?: unknown }): Promise<BatchInsertResponse> {
    const ix = this.resolve(o);
    if (!Array.isArray(o.items) || o.items.length === 0 || o.items.length > MAX_BATCH_ITEMS) throw bad('items', `field "items" must be a list of 1 to ${MAX_BATCH_ITEMS} items`);
    const def = ix.def;
    let dimension = def.dimension;
    const errors: BatchInsertResponse['error_details'] = [];
    const valid: { k: EntityKey; text: string }[] = [];
    const seen = new Set<string>();
    o.items.forEach((item: unknown, i) => {
      const pk = isObject(item) && typeof item.pk === 'string' ? item.pk : null;
      try {
        if (!isObject(item)) throw bad(`items.${i}`, 'item must be an object {pk, vector, fields}');
        if (pk === null || pk.length === 0) throw bad(`items.${i}.pk`, 'field "pk" must be a non-empty string');
        const k = parseEntityKey(`${def.table}:${pk}`);
        if (seen.has(k.key)) throw bad(`items.${i}.pk`, `pk "${pk}" appears earlier in this batch`);
        if (item.fields !== undefined && !isObject(item.fields)) throw bad(`items.${i}.fields`, 'field "fields" must be an object');
        const vector = dimension === null ? ix.checkDocVector(k.key, item.vector, null) : checkVector(item.vector, dimension, def.metric, 'vector');
        dimension ??= vector.length;
        const doc: Record<string, unknown> = { ...((item.fields as Record<string, unknown> | undefined) ?? {}) };
        setPath(doc, def.field.split('.'), vector);
        seen.add(k.key);
        valid.push({ k, text: JSON.stringify(doc) });
      } catch (e) {
        if (!(e instanceof ThemisError)) throw e;
        errors.push({ index: i, pk, message: e.message });
      }
    });
    if (valid.length === 0) {
      throw new ThemisError('VALIDATION_FAILED', `no valid item: items[${errors[0]!.index}]: ${errors[0]!.message}`, { details: { field: 'items', errors: errors.length, error_details: errors.slice(0, 100) } });
    }
    const txm = this.txm();
    const t = txm.begin('read_committed', true);
    for (const v of valid) txm.put(t, v.k, v.text);
    await txm.commit(t);
    return { inserted: valid.length, errors: errors.length, objectName: def.name, dimension: def.dimension, table: def.table, error_details: errors };
  }

  /** POST /vector/search (legacy list, or a page with a cursor). */
  search(o: { index?: unknown; vector?: unknown; k?: unknown; filter?: unknown; use_cursor?: unknown; cursor?: unknown; batch_size?: unknown; ef_search?: unknown }): VectorSearchResponse {
    const ix = this.resolve({ index: o.index });
    const k = intField(o.k, 'k', 10, 1, MAX_K);
    const ef = o.ef_search === undefined ? undefined : intField(o.ef_search, 'ef_search', 0, 1, MAX_EF);
    const filter = parseVectorFilter(o.filter);
    if (o.use_cursor !== undefined && typeof o.use_cursor !== 'boolean') throw bad('use_cursor', 'field "use_cursor" must be a boolean');
    const paged = o.use_cursor === true || (o.cursor !== undefined && o.cursor !== null);
    const batchSize = paged ? intField(o.batch_size, 'batch_size', Math.min(k, 100), 1, MAX_K) : 0;
    // The cursor names the request it continues: same index, vector, k and filter.
    const fingerprint = paged ? crypto.createHash('sha256').update(JSON.stringify([ix.def.name, ix.def.id, o.vector, k, o.filter ?? null])).digest('base64url').slice(0, 16) : '';
    const offset = paged ? decodeCursor(o.cursor, fingerprint) : 0;
    const hits = ix.search(o.vector, k, filter && this.keyFilter(ix, filter), ef);
    const prefixLen = ix.def.table.length + 1;
    const all = hits.map((h) => ({ pk: h.key.slice(prefixLen), distance: h.distance }));
    if (!paged) return { results: all, k, count: all.length };
    const items = all.slice(offset, offset + batchSize);
    const next = offset + items.length;
    const hasMore = next < all.length;
    return { items, batch_size: batchSize, has_more: hasMore, next_cursor: hasMore ? encodeCursor(next, fingerprint) : null, k, count: items.length };
  }

  /** Key predicate for a filter: prefix and pks on the key; field equalities on the latest committed document (read once per key). */
  keyFilter(ix: VectorIndex, f: VectorFilter): (key: string) => boolean {
    const table = ix.def.table;
    const prefixLen = table.length + 1;
    const txm = this.txm();
    const memo = new Map<string, boolean>();
    return (key) => {
      if (f.prefix !== undefined && !key.startsWith(f.prefix, prefixLen)) return false;
      if (f.pks && !f.pks.has(key.slice(prefixLen))) return false;
      if (!f.fields) return true;
      let ok = memo.get(key);
      if (ok === undefined) {
        const text = txm.readLatest({ key, table, pk: key.slice(prefixLen) });
        const doc = text === undefined ? undefined : (JSON.parse(text) as unknown);
        ok = doc !== undefined && f.fields.every(([path, values]) => {
          const v = valueAt(doc, path);
          return values.some((x) => sameScalar(v, x));
        });
        memo.set(key, ok);
      }
      return ok;
    };
  }

  /**
   * DELETE /vector/by-filter: delete the entities of the index's table that
   * hold a vector and match `pks` or `prefix`, in transactions of
   * DELETE_CHUNK entities (each atomic).
   */
  async deleteByFilter(o: { index?: unknown; pks?: unknown; prefix?: unknown }): Promise<{ deleted: number; method: 'pks' | 'prefix'; prefix: string | null; objectName: string }> {
    const ix = this.resolve({ index: o.index });
    if (o.pks !== undefined && o.prefix !== undefined) throw bad('pks', 'give either "pks" or "prefix", not both');
    if (o.pks === undefined && o.prefix === undefined) throw bad('pks', 'missing filter: give "pks" (a list of primary keys) or "prefix"');
    const table = ix.def.table;
    let keys: string[];
    if (o.pks !== undefined) {
      keys = [...new Set(pkList(o.pks, 'pks'))].map((pk) => `${table}:${pk}`).filter((key) => ix.has(key));
    } else {
      if (typeof o.prefix !== 'string') throw bad('prefix', 'field "prefix" must be a string');
      const full = `${table}:${o.prefix}`;
      keys = [...ix.keys()].filter((key) => key.startsWith(full));
    }
    const txm = this.txm();
    let deleted = 0;
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
      const t = txm.begin('read_committed', true);
      for (const key of keys.slice(i, i + DELETE_CHUNK)) txm.delete(t, parseEntityKey(key));
      deleted += (await txm.commit(t)).changes.length;
    }
    return o.pks !== undefined ? { deleted, method: 'pks', prefix: null, objectName: ix.def.name } : { deleted, method: 'prefix', prefix: o.prefix as string, objectName: ix.def.name };
  }

  config(index?: string): Record<string, unknown> {
    return describeVectorIndex(this.resolve({ index }).def);
  }

  /** PUT /vector/index/config: only efSearch is changeable (the graph's build parameters are fixed). */
  async updateConfig(o: Record<string, unknown>): Promise<{ message: string; updated_fields: { efSearch: number }; objectName: string }> {
    const ix = this.resolve({ index: o.index });
    for (const f of ['M', 'efConstruction', 'metric', 'dimension', 'field', 'table']) {
      if (o[f] !== undefined) throw bad(f, `"${f}" cannot be changed on an existing index; create a new index with POST /vector/index/create`);
    }
    if (o.efSearch === undefined) throw bad('efSearch', 'missing field "efSearch" (an integer from 1 to 10000)');
    const ef = intField(o.efSearch, 'efSearch', 0, 1, MAX_EF);
    await this.vectors().setEfSearch(ix, ef);
    return { message: 'Configuration updated', updated_fields: { efSearch: ef }, objectName: ix.def.name };
  }

  stats(index?: string): Record<string, unknown> {
    const ix = this.resolve({ index });
    return { ...describeVectorIndex(ix.def), ...ix.stats() };
  }
}

function setPath(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]!];
    if (!isObject(next)) cur[path[i]!] = {};
    cur = cur[path[i]!] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function encodeCursor(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ offset, q: fingerprint })).toString('base64');
}

function decodeCursor(raw: unknown, fingerprint: string): number {
  if (raw === undefined || raw === null) return 0;
  const invalid = () => bad('cursor', 'field "cursor" is not a cursor of this search (send the same vector, k and filter with the next_cursor you got)');
  if (typeof raw !== 'string' || raw.length > 256) throw invalid();
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!isObject(c) || typeof c.offset !== 'number' || !Number.isInteger(c.offset) || c.offset < 0 || c.offset > MAX_K || c.q !== fingerprint) throw invalid();
  return c.offset;
}
