import { ThemisError } from '../errors.js';
import { TABLE_NAME } from '../entities/index.js';
import { parseFulltextConfig, type FulltextConfig, type FulltextIndex } from './fulltext/index.js';

export type IndexType = 'equality' | 'range' | 'fulltext';
export const INDEX_TYPES: readonly IndexType[] = ['equality', 'range', 'fulltext'];

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
  /** `building` while the backfill runs; only `ready` indexes serve queries and enforce uniqueness; `dropping` until a drop has removed the entries. */
  state: 'building' | 'ready' | 'dropping';
  created_at: string;
  /** Fulltext indexes only: analysis and BM25 settings (defaults filled in). */
  config?: FulltextConfig;
}

/** An index commits maintain now (see DefinitionRegistry). */
export interface LiveIndex {
  readonly def: IndexDef;
  /** The columns split at the dots. */
  readonly paths: string[][];
  /** The 4-byte id every entry starts with. */
  readonly prefix: Buffer;
  /** Equality/range indexes: entries (kept up to date by commits). */
  entries: number;
  /** Fulltext indexes: the BM25 index (its own keyspace and in-memory query side). */
  ft?: FulltextIndex;
}

const PATH = /^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/;

export interface IndexSpec {
  table: unknown;
  column?: unknown;
  columns?: unknown;
  type?: unknown;
  unique?: unknown;
  sparse?: unknown;
  config?: unknown;
}

export type ParsedIndexSpec = {
  table: string;
  columns: string[];
  type: IndexType;
  unique: boolean;
  sparse: boolean;
  config?: FulltextConfig;
};

/**
 * Validate a create/drop request. A fulltext index covers one column, is
 * never unique and always sparse (documents without text are not indexed);
 * its `config` is validated here, defaults filled in.
 */
export function parseIndexSpec(b: IndexSpec): ParsedIndexSpec {
  const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });
  if (typeof b.table !== 'string' || !TABLE_NAME.test(b.table))
    throw bad('table', 'field "table" must be a table name (1-128 of A-Z a-z 0-9 _ -)');
  let columns: string[];
  if (b.columns !== undefined) {
    if (!Array.isArray(b.columns) || b.columns.length === 0 || b.columns.length > 8 || !b.columns.every((c) => typeof c === 'string')) {
      throw bad('columns', 'field "columns" must be a list of 1-8 column paths');
    }
    columns = b.columns as string[];
    if (b.column !== undefined && (b.column !== columns[0] || typeof b.column !== 'string'))
      throw bad('column', 'field "column" must equal the first of "columns" when both are given');
  } else if (typeof b.column === 'string') {
    columns = [b.column];
  } else {
    throw bad('column', 'missing required field "column" (or "columns" for a composite index)');
  }
  for (const c of columns)
    if (!PATH.test(c) || c.length > 256)
      throw bad('column', `invalid column path "${c.slice(0, 80)}": use field names joined by "." (e.g. address.city)`);
  if (new Set(columns).size !== columns.length) throw bad('columns', 'a column appears twice');
  const type = b.type ?? 'equality';
  if (typeof type !== 'string' || !(INDEX_TYPES as readonly string[]).includes(type))
    throw bad('type', `field "type" must be one of ${INDEX_TYPES.join(', ')}`);
  for (const f of ['unique', 'sparse'] as const)
    if (b[f] !== undefined && typeof b[f] !== 'boolean') throw bad(f, `field "${f}" must be a boolean`);
  if (type === 'fulltext') {
    if (columns.length !== 1) throw bad('columns', 'a fulltext index covers exactly one column');
    if (b.unique === true) throw bad('unique', 'a fulltext index cannot be unique');
    return { table: b.table, columns, type, unique: false, sparse: true, config: parseFulltextConfig(b.config) };
  }
  if (b.config !== undefined) throw bad('config', 'field "config" applies to fulltext indexes only');
  return { table: b.table, columns, type: type as IndexType, unique: b.unique === true, sparse: b.sparse === true };
}

export function indexName(d: Pick<IndexDef, 'table' | 'columns'>): string {
  return `${d.table}.${d.columns.join(',')}`;
}
