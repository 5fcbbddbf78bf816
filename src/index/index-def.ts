import { ThemisError } from '../errors.js';
import { TABLE_NAME } from '../entities/index.js';

export type IndexType = 'equality' | 'range';
export const INDEX_TYPES: readonly IndexType[] = ['equality', 'range'];

/** A secondary index as stored (keyspace indexMeta) and listed. */
export interface IndexDef {
  id: number;
  table: string;
  /** Dotted paths; more than one = composite (tuple order). */
  columns: string[];
  type: IndexType;
  unique: boolean;
  /** Documents without the column(s) get no entry (otherwise they are indexed as null). */
  sparse: boolean;
  /** `building` while the backfill runs; only `ready` indexes serve queries and enforce uniqueness. */
  state: 'building' | 'ready';
  created_at: string;
}

const PATH = /^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/;

export interface IndexSpec {
  table: unknown;
  column?: unknown;
  columns?: unknown;
  type?: unknown;
  unique?: unknown;
  sparse?: unknown;
}

/** Validate a create/drop request; `fulltext` belongs to its own index kind (not built yet). */
export function parseIndexSpec(b: IndexSpec): { table: string; columns: string[]; type: IndexType; unique: boolean; sparse: boolean } {
  const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });
  if (typeof b.table !== 'string' || !TABLE_NAME.test(b.table)) throw bad('table', 'field "table" must be a table name (1-128 of A-Z a-z 0-9 _ -)');
  let columns: string[];
  if (b.columns !== undefined) {
    if (!Array.isArray(b.columns) || b.columns.length === 0 || b.columns.length > 8 || !b.columns.every((c) => typeof c === 'string')) {
      throw bad('columns', 'field "columns" must be a list of 1-8 column paths');
    }
    columns = b.columns as string[];
    if (b.column !== undefined && (b.column !== columns[0] || typeof b.column !== 'string')) throw bad('column', 'field "column" must equal the first of "columns" when both are given');
  } else if (typeof b.column === 'string') {
    columns = [b.column];
  } else {
    throw bad('column', 'missing required field "column" (or "columns" for a composite index)');
  }
  for (const c of columns) if (!PATH.test(c) || c.length > 256) throw bad('column', `invalid column path "${c.slice(0, 80)}": use field names joined by "." (e.g. address.city)`);
  if (new Set(columns).size !== columns.length) throw bad('columns', 'a column appears twice');
  const type = b.type ?? 'equality';
  if (type === 'fulltext') throw new ThemisError('NOT_IMPLEMENTED', 'fulltext indexes are not available yet');
  if (typeof type !== 'string' || !(INDEX_TYPES as readonly string[]).includes(type)) throw bad('type', `field "type" must be one of ${INDEX_TYPES.join(', ')} (fulltext comes later)`);
  for (const f of ['unique', 'sparse'] as const) if (b[f] !== undefined && typeof b[f] !== 'boolean') throw bad(f, `field "${f}" must be a boolean`);
  return { table: b.table, columns, type: type as IndexType, unique: b.unique === true, sparse: b.sparse === true };
}

export function indexName(d: Pick<IndexDef, 'table' | 'columns'>): string {
  return `${d.table}.${d.columns.join(',')}`;
}
