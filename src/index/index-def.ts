import { ThemisError } from '../errors.js';
import type { components } from '../api/types.js';
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
  /**
   * While building: a commit changed its entries. The backfill counts what it
   * writes, exact unless a commit wrote the same entry too (or removed one the
   * backfill had not written yet); then the entries are counted once it is ready.
   */
  touchedWhileBuilding?: boolean;
  /** Fulltext indexes: the BM25 index (its own keyspace and in-memory query side). */
  ft?: FulltextIndex;
}

/** POST /index/create and /index/drop bodies as openapi.yaml defines them (the schema checked types, names, paths and ranges). */
export type IndexSpec = components['schemas']['IndexCreateRequest'] | components['schemas']['IndexDropRequest'];

export type ParsedIndexSpec = {
  table: string;
  columns: string[];
  type: IndexType;
  unique: boolean;
  sparse: boolean;
  config?: FulltextConfig;
};

/**
 * A create/drop request with defaults filled in, and what the schema cannot
 * say checked: a column (or columns) is given, `column` agrees with
 * `columns`, no column twice; a fulltext index covers one column, is never
 * unique and always sparse (documents without text are not indexed), and its
 * `config` (validated here, defaults filled in) applies to fulltext only.
 */
export function parseIndexSpec(b: IndexSpec): ParsedIndexSpec {
  const bad = (field: string, message: string) => new ThemisError('VALIDATION_FAILED', message, { details: { field } });
  const columns = b.columns ?? (b.column === undefined ? undefined : [b.column]);
  if (columns === undefined) throw bad('column', 'missing required field "column" (or "columns" for a composite index)');
  if (b.column !== undefined && b.column !== columns[0])
    throw bad('column', 'field "column" must equal the first of "columns" when both are given');
  if (new Set(columns).size !== columns.length) throw bad('columns', 'a column appears twice');
  const type = b.type ?? 'equality';
  const unique = 'unique' in b && b.unique === true;
  const sparse = 'sparse' in b && b.sparse === true;
  const config = 'config' in b ? b.config : undefined;
  if (type === 'fulltext') {
    if (columns.length !== 1) throw bad('columns', 'a fulltext index covers exactly one column');
    if (unique) throw bad('unique', 'a fulltext index cannot be unique');
    return { table: b.table, columns, type, unique: false, sparse: true, config: parseFulltextConfig(config) };
  }
  if (config !== undefined) throw bad('config', 'field "config" applies to fulltext indexes only');
  return { table: b.table, columns, type, unique, sparse };
}

export function indexName(d: Pick<IndexDef, 'table' | 'columns'>): string {
  return `${d.table}.${d.columns.join(',')}`;
}
