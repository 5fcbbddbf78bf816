import { ALL_TABLES, assertRead, assertWrite, type Caller, INTERNAL, type TableAccess } from '../../access.js';
import crypto from 'node:crypto';
import { parseEntityKey } from '../../documents/index.js';
import type { EntityOp, EntityStore } from '../../entities/entity-store.js';
import { ThemisError } from '../../errors.js';
import type { components } from '../../api/types.js';
import { valueAt } from '../extract.js';
import { MAX_K, checkVector } from './hnsw-index.js';
import {
  DEFAULT_VECTOR_INDEX,
  describeVectorIndex,
  parseFieldPath,
  parseIndexName,
  parseVectorIndexSpec,
  type VectorIndexCreateRequest,
  type VectorIndexDef,
} from './vector-def.js';
import type { VectorIndex } from './vector-index.js';
import type { VectorManager } from './vector-manager.js';

export const MAX_BATCH_ITEMS = 10_000;
/** Deletes by filter commit in transactions of this many entities. */
export const DELETE_CHUNK = 5_000;

/**
 * Request bodies as openapi.yaml describes them (types generated from it).
 * The server validates each body against its schema before it gets here, so
 * types, ranges and unknown fields are not checked again below; what is
 * checked here is what the schema cannot say (the index must exist, the
 * vector must have its dimension, a cursor must belong to its search, ...).
 */
type Schemas = components['schemas'];
export type VectorSearchRequest = Schemas['VectorSearchRequest'];
export type VectorBatchInsertRequest = Schemas['VectorBatchInsertRequest'];
export type VectorDeleteByFilterRequest = Schemas['VectorDeleteByFilterRequest'];
export type VectorIndexConfigUpdate = Schemas['VectorIndexConfigUpdate'];

/** The fields a batch_insert item may have (items are checked one by one: a bad item is reported, not a 400). */
const ITEM_FIELDS = new Set(['pk', 'vector', 'fields']);

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

/** The schema-valid filter of a search as the graph walk applies it (pks as a set, field paths split). */
export function parseVectorFilter(raw: Schemas['VectorFilter'] | undefined): VectorFilter | undefined {
  if (raw === undefined) return undefined;
  const f: VectorFilter = {};
  if (raw.prefix !== undefined) f.prefix = raw.prefix;
  if (raw.pks !== undefined) f.pks = new Set(raw.pks);
  if (raw.fields !== undefined) f.fields = Object.entries(raw.fields).map(([p, v]) => [p.split('.'), Array.isArray(v) ? v : [v]]);
  return f;
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
    /** The indexes themselves (create, drop, checkpoints; the engine API AQL and hybrid search use). */
    readonly manager: VectorManager,
    private readonly entities: EntityStore,
  ) {}

  /** POST /vector/index/create. */
  createIndex(body: VectorIndexCreateRequest): Promise<VectorIndexDef> {
    return this.manager.create(parseVectorIndexSpec(body));
  }

  dropIndex(name: string): Promise<VectorIndexDef> {
    return this.manager.drop(name);
  }

  listIndexes(): ReturnType<VectorManager['list']> {
    return this.manager.list();
  }

  /**
   * The index a request addresses: `index` by name; otherwise the index on
   * `table` (and `vector_field`) when they are given and differ from the
   * default's; otherwise the default index. A given table or field must match
   * the index (400).
   */
  resolve(o: { index?: unknown; table?: unknown; vector_field?: unknown }): VectorIndex {
    const m = this.manager;
    const field = o.vector_field === undefined ? undefined : parseFieldPath(o.vector_field, 'vector_field');
    if (o.table !== undefined && typeof o.table !== 'string') throw bad('table', 'field "table" must be a string');
    const table = o.table as string | undefined;
    let ix: VectorIndex;
    if (o.index !== undefined) ix = m.get(parseIndexName(o.index, 'index'));
    else if (
      (table !== undefined && table !== DEFAULT_VECTOR_INDEX.table) ||
      (field !== undefined && field !== DEFAULT_VECTOR_INDEX.field)
    ) {
      const t = table ?? DEFAULT_VECTOR_INDEX.table;
      const candidates = m.onTable(t).filter((x) => field === undefined || x.def.field === field);
      if (candidates.length === 0) {
        throw new ThemisError(
          'INDEX_NOT_FOUND',
          `no vector index on ${t}${field ? `.${field}` : ''}; create one with POST /vector/index/create {"name": "...", "table": "${t}", "field": "${field ?? 'embedding'}"}`,
          { details: { field: 'index' } },
        );
      }
      if (candidates.length > 1)
        throw bad(
          'index',
          `${t}${field ? `.${field}` : ''} has ${candidates.length} vector indexes (${candidates.map((x) => x.def.name).join(', ')}); say which with "index"`,
        );
      ix = m.get(candidates[0]!.def.name);
    } else ix = m.get(DEFAULT_VECTOR_INDEX.name);
    if (table !== undefined && table !== ix.def.table)
      throw bad('table', `vector index ${ix.def.name} covers table ${ix.def.table}, not ${table}`);
    if (field !== undefined && field !== ix.def.field)
      throw bad('vector_field', `vector index ${ix.def.name} indexes field "${ix.def.field}", not "${field}"`);
    return ix;
  }

  /**
   * POST /vector/batch_insert: each valid item becomes the entity
   * `table:pk` = fields + the vector under the index's field, all in one
   * commit; invalid items are counted and described, the rest is written.
   * Nothing valid at all → 400.
   */
  async batchInsert(o: VectorBatchInsertRequest, caller: Caller = INTERNAL): Promise<BatchInsertResponse> {
    const ix = this.resolve(o);
    const def = ix.def;
    assertWrite(caller.access, def.table);
    let dimension = def.dimension;
    const errors: BatchInsertResponse['error_details'] = [];
    const valid: EntityOp[] = [];
    const seen = new Set<string>();
    o.items.forEach((item: unknown, i) => {
      const pk = isObject(item) && typeof item.pk === 'string' ? item.pk : null;
      try {
        if (!isObject(item)) throw bad(`items.${i}`, 'item must be an object {pk, vector, fields}');
        for (const f of Object.keys(item))
          if (!ITEM_FIELDS.has(f)) throw bad(`items.${i}.${f}`, `unknown field "${f}" (an item has pk, vector and fields)`);
        if (pk === null || pk.length === 0) throw bad(`items.${i}.pk`, 'field "pk" must be a non-empty string');
        const k = parseEntityKey(`${def.table}:${pk}`);
        if (seen.has(k.key)) throw bad(`items.${i}.pk`, `pk "${pk}" appears earlier in this batch`);
        if (item.fields !== undefined && !isObject(item.fields)) throw bad(`items.${i}.fields`, 'field "fields" must be an object');
        const vector =
          dimension === null ? ix.checkDocVector(k.key, item.vector, null) : checkVector(item.vector, dimension, def.metric, 'vector');
        dimension ??= vector.length;
        const doc: Record<string, unknown> = { ...((item.fields as Record<string, unknown> | undefined) ?? {}) };
        setPath(doc, def.field.split('.'), vector);
        seen.add(k.key);
        valid.push({ op: 'put', k, value: { text: JSON.stringify(doc), doc } });
      } catch (e) {
        if (!(e instanceof ThemisError)) throw e;
        errors.push({ index: i, pk, message: e.message });
      }
    });
    if (valid.length === 0) {
      throw new ThemisError('VALIDATION_FAILED', `no valid item: items[${errors[0]!.index}]: ${errors[0]!.message}`, {
        details: { field: 'items', errors: errors.length, error_details: errors.slice(0, 100) },
      });
    }
    await this.entities.commitOps(valid, false, caller.origin);
    return {
      inserted: valid.length,
      errors: errors.length,
      objectName: def.name,
      dimension: def.dimension,
      table: def.table,
      error_details: errors,
    };
  }

  /** POST /vector/search (legacy list, or a page with a cursor). */
  search(o: VectorSearchRequest, access: TableAccess = ALL_TABLES): VectorSearchResponse {
    // table and vector_field pick (or must match) the index, as for batch_insert.
    const ix = this.resolve({ index: o.index, table: o.table, vector_field: o.vector_field });
    assertRead(access, ix.def.table);
    const k = o.k ?? 10;
    const filter = parseVectorFilter(o.filter);
    const paged = o.use_cursor === true || (o.cursor !== undefined && o.cursor !== null);
    const batchSize = paged ? (o.batch_size ?? Math.min(k, 100)) : 0;
    // The cursor names the request it continues: same index, vector, k and filter.
    const fingerprint = paged
      ? crypto
          .createHash('sha256')
          .update(JSON.stringify([ix.def.name, ix.def.id, o.vector, k, o.filter ?? null]))
          .digest('base64url')
          .slice(0, 16)
      : '';
    const offset = paged ? decodeCursor(o.cursor, fingerprint) : 0;
    const hits = ix.search(o.vector, k, filter && this.keyFilter(ix, filter), o.ef_search);
    const prefixLen = ix.def.table.length + 1;
    const all = hits.map((h) => ({ pk: h.key.slice(prefixLen), distance: h.distance }));
    if (!paged) return { results: all, k, count: all.length };
    const items = all.slice(offset, offset + batchSize);
    const next = offset + items.length;
    const hasMore = next < all.length;
    return {
      items,
      batch_size: batchSize,
      has_more: hasMore,
      next_cursor: hasMore ? encodeCursor(next, fingerprint) : null,
      k,
      count: items.length,
    };
  }

  /** Key predicate for a filter: prefix and pks on the key; field equalities on the latest committed document (read once per key). */
  keyFilter(ix: VectorIndex, f: VectorFilter): (key: string) => boolean {
    const table = ix.def.table;
    const prefixLen = table.length + 1;
    const entities = this.entities;
    const memo = new Map<string, boolean>();
    return (key) => {
      if (f.prefix !== undefined && !key.startsWith(f.prefix, prefixLen)) return false;
      if (f.pks && !f.pks.has(key.slice(prefixLen))) return false;
      if (!f.fields) return true;
      let ok = memo.get(key);
      if (ok === undefined) {
        const text = entities.read({ key, table, pk: key.slice(prefixLen) });
        const doc = text === undefined ? undefined : (JSON.parse(text) as unknown);
        ok =
          doc !== undefined &&
          f.fields.every(([path, values]) => {
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
  async deleteByFilter(
    o: VectorDeleteByFilterRequest,
    caller: Caller = INTERNAL,
  ): Promise<{ deleted: number; method: 'pks' | 'prefix'; prefix: string | null; objectName: string }> {
    const ix = this.resolve({ index: o.index });
    assertWrite(caller.access, ix.def.table);
    if (o.pks !== undefined && o.prefix !== undefined) throw bad('pks', 'give either "pks" or "prefix", not both');
    if (o.pks === undefined && o.prefix === undefined) throw bad('pks', 'missing filter: give "pks" (a list of primary keys) or "prefix"');
    const table = ix.def.table;
    let keys: string[];
    if (o.pks !== undefined) {
      keys = [...new Set(o.pks)].map((pk) => `${table}:${pk}`).filter((key) => ix.has(key));
    } else {
      const full = `${table}:${o.prefix}`;
      keys = [...ix.keys()].filter((key) => key.startsWith(full));
    }
    let deleted = 0;
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
      const ops = keys.slice(i, i + DELETE_CHUNK).map((key): EntityOp => ({ op: 'delete', k: parseEntityKey(key) }));
      deleted += (await this.entities.commitOps(ops, false, caller.origin)).result.changes.length;
    }
    return o.pks !== undefined
      ? { deleted, method: 'pks', prefix: null, objectName: ix.def.name }
      : { deleted, method: 'prefix', prefix: o.prefix!, objectName: ix.def.name };
  }

  config(index?: string): Record<string, unknown> {
    return describeVectorIndex(this.resolve({ index }).def);
  }

  /** PUT /vector/index/config: only efSearch is changeable (the graph's build parameters are fixed; the schema has no other field). */
  async updateConfig(o: VectorIndexConfigUpdate): Promise<{ message: string; updated_fields: { efSearch: number }; objectName: string }> {
    const ix = this.resolve({ index: o.index });
    await this.manager.setEfSearch(ix, o.efSearch);
    return { message: 'Configuration updated', updated_fields: { efSearch: o.efSearch }, objectName: ix.def.name };
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
  const invalid = () =>
    bad('cursor', 'field "cursor" is not a cursor of this search (send the same vector, k and filter with the next_cursor you got)');
  if (typeof raw !== 'string' || raw.length > 256) throw invalid();
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    !isObject(c) ||
    typeof c.offset !== 'number' ||
    !Number.isInteger(c.offset) ||
    c.offset < 0 ||
    c.offset > MAX_K ||
    c.q !== fingerprint
  )
    throw invalid();
  return c.offset;
}
