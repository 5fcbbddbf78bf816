/**
 * What the steps of a running query share: `ExecContext` (the Executor in
 * executor.ts is one; each step file picks the members it uses with a
 * `Pick<ExecContext, ...>`), the executor's dependencies and options, and
 * the row helpers every step uses.
 */
import type { TableAccess } from '../../access.js';
import type { ResidentColumns } from '../../columns/index.js';
import { ThemisError } from '../../errors.js';
import type { Direction as GraphDirection } from '../../graph/index.js';
import type { EntryRange } from '../../index/index.js';
import type { DocumentStore } from '../../documents/index.js';
import type { EntityStore } from '../../entities/entity-store.js';
import type { Engine, ScalarValue, Snapshot } from '../../storage/index.js';
import type { Transaction, TransactionManager } from '../../txn/index.js';
import type { AqlValue, Expr } from '../ast.js';
import type { StoredTexts } from '../stored-texts.js';
import type { EvalContext, Scope } from '../evaluator.js';
import type { Governor } from '../governor.js';
import type { QueryWarnings } from '../warnings.js';

/** What the executor needs from the database (all reads go through `snapshot` where storage allows). */
export interface ExecDeps {
  /** Snapshots (one per query). */
  engine: Engine;
  transactions: TransactionManager;
  /** Stored documents (reads as of the query's snapshot). */
  documents: DocumentStore;
  /** Where modifications are buffered (in the query's transaction). */
  entities: EntityStore;
  /** Entity keys of an equality/range index scan, in index order, as of the snapshot, in chunks. */
  scanKeys(indexId: number, r: Omit<EntryRange, 'limit'>, snapshot: Snapshot): AsyncGenerator<string[]>;
  /**
   * Index-only COLLECT over a single-column, non-unique index: its distinct scalar values in range with how many
   * entries hold each, in index order, as of the snapshot (entries of the documents in `skip` left out).
   */
  valueRuns(
    indexId: number,
    r: Pick<EntryRange, 'eq' | 'lower' | 'upper' | 'includeLower' | 'includeUpper'>,
    snapshot: Snapshot,
    skip: ReadonlySet<string>,
  ): AsyncGenerator<[ScalarValue, number][]>;
  /** Documents whose indexed attribute is an array or an object (a single-column index's compound markers), as of the snapshot. */
  compoundKeys(indexId: number, snapshot: Snapshot): Promise<string[]>;
  /** In-memory attribute values of tables, for full-scan COLLECT (column-collect.ts); absent: every such COLLECT scans. */
  columns?: ResidentColumns;
  /** BM25 hits (best first) of a fulltext index; latest committed state. */
  fulltext(table: string, column: string, query: string, limit: number): { key: string; score: number }[];
  /** k nearest keys of a vector index (COSINE similarity = 1 - distance); filter runs inside the graph walk. */
  vector(index: string, vector: AqlValue, k: number, filter?: (key: string) => boolean): { key: string; distance: number }[];
  /** Edges at a vertex as of the snapshot, in edge-key order (outbound before inbound for `any`). */
  neighbors(vertex: string, direction: GraphDirection, edgeTable: string, snapshot: Snapshot): Promise<{ edge: string; vertex: string }[]>;
  /** The table catalogue (src/tables/), latest committed state: COLLECTIONS(), COLLECTION_COUNT(), LENGTH(collection). */
  tables: {
    /** Whether the table exists (a document, an index, a vector index or a policy names it). */
    exists(table: string): boolean;
    /** Its documents (exact). */
    count(table: string): number;
    /** Every existing table, sorted. */
    names(): string[];
  };
}

export interface ExecOptions {
  bindVars: Readonly<Record<string, AqlValue>>;
  /** Absolute deadline (Date.now() ms). */
  deadline: number;
  /** Most rows a SORT, COLLECT, DISTINCT or hash-join build may hold. */
  maxIntermediate: number;
  /** Most estimated bytes the query may hold at once (THEMIS_QUERY_MAX_MEMORY); unlimited when absent. */
  maxMemory?: number;
  /** Deepest nesting of a value (bind parameters, JSON_PARSE, documents written); 256 when absent. */
  maxDepth?: number;
  /** The request's transaction (reads see its writes; modifications go into it). */
  txn?: Transaction;
  /** Without a request transaction: the implicit one a modifying query writes into (its snapshot is the query's). */
  writeTxn?: Transaction;
  now?: () => number;
  /**
   * The caller's table access (absent: every table). The planner's reads and
   * writes were checked before the query ran; at run time it also covers the
   * documents a query reaches by key (DOCUMENT(), traversal starts: 403) and
   * the vertices a traversal may cross (others are not crossed).
   */
  access?: TableAccess;
  /** Collects the query's warnings (absent: warnings are dropped). */
  warnings?: QueryWarnings;
  /** The authenticated principal's name (CURRENT_USER()); null or absent without one. */
  user?: string | null;
  /** The database the query runs in (CURRENT_DATABASE()); `_system` when absent. */
  database?: string;
}

/** A row: variable bindings (prototype-chained objects without Object.prototype). */
export type Row = Record<string, AqlValue>;

/**
 * Steps that produce their rows from memory at the end (COLLECT) hand them
 * over this many at a time: one async-generator step per batch rather than
 * per row (~0.1 µs and a promise each) when the consumer reads batches.
 */
export const ROW_BATCH = 256;

/** A synchronous row sequence in batches of ROW_BATCH. */
export function* batchesOf(rows: Iterable<Row>): Generator<Row[]> {
  let b: Row[] = [];
  for (const r of rows) {
    b.push(r);
    if (b.length >= ROW_BATCH) {
      yield b;
      b = [];
    }
  }
  if (b.length > 0) yield b;
}

/** Batches as single rows, for a step that reads its input one row at a time. */
export async function* rowsOf(batches: AsyncIterable<readonly Row[]>): AsyncGenerator<Row> {
  for await (const rows of batches) for (const r of rows) yield r;
}

/** A running query as its steps see it. */
export interface ExecContext {
  readonly deps: ExecDeps;
  /** The query's one snapshot. */
  readonly snapshot: Snapshot;
  readonly opts: ExecOptions;
  /** The query's deadline, memory budget and event-loop turns (shared by every step and built-in). */
  readonly gov: Governor;
  /** Stored texts of documents read (RETURN of a document yields its stored text). */
  readonly texts: StoredTexts;
  /** BM25 scores / similarities of documents produced by fulltext / vector sources. */
  readonly scores: WeakMap<object, number>;
  /** For `evaluateVal`: bind values, the built-ins' context, engine functions and the subquery runner. */
  readonly evalCtx: EvalContext;
  /** Evaluate `e` for `row` (subqueries run when evaluation reaches them). */
  eval(e: Expr, row: Row): AqlValue | Promise<AqlValue>;
  /** Evaluate `e` where awaiting is impossible (governed loops run to the end). */
  evalSync(e: Expr, row: Row): AqlValue;
  /** Per row: the deadline. */
  tick(): void;
  /** Whether this query has held the event loop for a slice (then `await turn()`). */
  readonly turnDue: boolean;
  /** Give the event loop a turn (other requests, timers). */
  turn(): Promise<void>;
  /** Estimated bytes of a row's variables, checking their nesting. */
  rowBytes(row: Row): number;
  /** Estimated bytes of a value, checking its nesting. */
  valueBytes(v: AqlValue): number;
}

/** Thrown when a SORT that relies on index order finds values the index cannot order (objects, arrays) or too few rows: re-plan without it. */
export class IndexOrderUnusable extends Error {}

export function extend(row: Row, name: string, value: AqlValue): Row {
  const r = Object.create(row) as Row;
  r[name] = value;
  return r;
}

/** A Scope over a row (the row stays reachable: a subquery reached from it starts from that row). */
export class RowScope implements Scope {
  constructor(readonly row: Row) {}
  get(name: string): AqlValue | undefined {
    return this.row[name];
  }
}

/** A Scope over a row. */
export function scopeOf(row: Row): RowScope {
  return new RowScope(row);
}

export function limitValue(v: AqlValue, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new ThemisError('VALIDATION_FAILED', `LIMIT ${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

export function tooMany(n: number, what: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', `${what} holds more than ${n} rows (THEMIS_QUERY_MAX_INTERMEDIATE); add FILTERs or a LIMIT`, {
    details: { field: 'query' },
  });
}
