import { ThemisError } from '../errors.js';
import { TABLE_NAME } from '../entities/index.js';
import { attributePath, attributeUse, children, collectionBindKey, conjuncts, freeVars, quantifierExprs, subqueriesOf } from './analyze.js';
import type { AqlValue, Expr, Op, Pos, Query } from './ast.js';
import { ENGINE_FUNCTIONS, checkFunction } from './functions/index.js';

/**
 * The AQL planner: AST + index catalogue (+ bind values) → plan. Pure: no
 * I/O, unit-tested by plan shape. It resolves names (collections vs
 * variables), checks variables, bind parameters and functions, moves FILTER
 * conditions to the earliest FOR that binds their variables, chooses each
 * collection FOR's access path (primary key, equality/IN or range index,
 * fulltext, vector, hash join or full scan), and lets a range index deliver
 * SORT order (with the LIMIT stopping the scan early).
 */

export interface PlannerIndex {
  id: number;
  columns: string[];
  type: 'equality' | 'range';
  unique: boolean;
  sparse: boolean;
}

export interface TableCatalogue {
  indexes: PlannerIndex[];
  /** Columns with a fulltext index, ready or still being built (a query on one being built answers 503 UNAVAILABLE when it runs, as REST does). */
  fulltext: string[];
  /** Ready vector indexes (name, field path, metric). */
  vector: { name: string; field: string; metric: string }[];
  /** Approximate number of documents (for estimates and the join strategy). */
  rows: number;
  /** `false`: the collection does not exist, and reading it is COLLECTION_NOT_FOUND (absent: it exists). */
  exists?: boolean;
}

export type Catalogue = (table: string) => TableCatalogue;

export interface PlanOptions {
  allowFullScan: boolean;
  bindVars: Readonly<Record<string, AqlValue>>;
  /** Largest in-memory hash-join build side before the planner prefers nested loops (rows). */
  hashJoinMaxRows?: number;
  /** Never let an index deliver SORT order (the executor re-plans with this when the index could not). */
  noIndexOrder?: boolean;
  /**
   * Index order only for the query's top level, not in subqueries (cursors: a subquery runs per
   * row, so its index order may prove unusable after a page was returned, too late to re-plan).
   */
  topIndexOrderOnly?: boolean;
  /**
   * The reference plan for differential tests: operations exactly as
   * written (no filter movement, no index, nested loops, in-memory sorts).
   */
  naive?: boolean;
}

export type Bound = { expr: Expr; inclusive: boolean };

/** An ISO 8601 duration (`P1Y2M3W4DT5H6M7.008S`), by component. */
export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  milliseconds: number;
}

/**
 * A WINDOW's frame, checked at plan time as ArangoDB does (WindowBounds):
 * rows before / after the current one (Infinity: "unbounded"), a numeric
 * value range, or a duration range over millisecond timestamps.
 */
export type WindowBounds =
  | { type: 'row'; preceding: number; following: number }
  | { type: 'range'; preceding: number; following: number }
  | { type: 'duration'; preceding: IsoDuration; following: IsoDuration };

/** ArangoDB's parseIsoDuration: weeks combine freely with other components, fractions only for seconds (at most 3 decimals). */
const ISO_DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,3}))?S)?)?$/;

export function parseIsoDuration(s: string): IsoDuration | undefined {
  const m = ISO_DURATION.exec(s);
  if (!m || s === 'P' || s.endsWith('T')) return undefined;
  const n = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  return {
    years: n(1),
    months: n(2),
    weeks: n(3),
    days: n(4),
    hours: n(5),
    minutes: n(6),
    seconds: n(7),
    milliseconds: m[8] === undefined ? 0 : Number(m[8].padEnd(3, '0')),
  };
}

const EMPTY_DURATION: IsoDuration = { years: 0, months: 0, weeks: 0, days: 0, hours: 0, minutes: 0, seconds: 0, milliseconds: 0 };

/** A value known at plan time: literals, bind values and arrays, objects and arithmetic of them; undefined otherwise. */
function constantValue(e: Expr, bind: Readonly<Record<string, AqlValue>>): { value: AqlValue } | undefined {
  switch (e.type) {
    case 'literal':
      return { value: e.value };
    case 'bind':
      return e.name in bind ? { value: bind[e.name]! } : undefined;
    case 'unary': {
      const a = constantValue(e.arg, bind);
      if (!a) return undefined;
      if (e.op === 'NOT') return undefined;
      if (typeof a.value !== 'number') return undefined;
      return { value: e.op === '-' ? -a.value : a.value };
    }
    case 'binary': {
      if (!['+', '-', '*', '/'].includes(e.op)) return undefined;
      const l = constantValue(e.left, bind);
      const r = constantValue(e.right, bind);
      if (!l || !r || typeof l.value !== 'number' || typeof r.value !== 'number') return undefined;
      const v = e.op === '+' ? l.value + r.value : e.op === '-' ? l.value - r.value : e.op === '*' ? l.value * r.value : l.value / r.value;
      return Number.isFinite(v) ? { value: v } : undefined;
    }
    case 'array': {
      const out: AqlValue[] = [];
      for (const x of e.items) {
        const c = constantValue(x, bind);
        if (!c) return undefined;
        out.push(c.value);
      }
      return { value: out };
    }
    case 'object': {
      const out: Record<string, AqlValue> = {};
      for (const p of e.props) {
        if (typeof p.key !== 'string') return undefined;
        const c = constantValue(p.value, bind);
        if (!c) return undefined;
        out[p.key] = c.value;
      }
      return { value: out };
    }
    default:
      return undefined;
  }
}

/** A WINDOW's bounds from its spec object (ArangoDB's checks and messages; errors are 400 VALIDATION_FAILED). */
function windowBounds(op: Extract<Op, { type: 'window' }>, bind: Readonly<Record<string, AqlValue>>): WindowBounds {
  let preceding: AqlValue | undefined;
  let following: AqlValue | undefined;
  for (const b of op.bounds) {
    const c = constantValue(b.value, bind);
    if (!c) throw bad('WINDOW bounds must be determined at compile time', b.pos);
    if (b.key === 'preceding') preceding = c.value;
    else if (b.key === 'following') following = c.value;
  }
  if (!op.range) {
    const rows = (v: AqlValue | undefined): number => {
      if (v === undefined) return 0;
      if (typeof v === 'number' && Math.trunc(v) >= 0) return Math.trunc(v);
      if (v === 'unbounded' || v === 'inf') return Number.POSITIVE_INFINITY;
      throw bad('WINDOW row spec is invalid; bounds must be positive integers or "unbounded"', op.pos);
    };
    return { type: 'row', preceding: rows(preceding), following: rows(following) };
  }
  for (const v of [preceding, following])
    if (v !== undefined && typeof v !== 'string' && typeof v !== 'number') throw bad('WINDOW range spec is invalid', op.pos);
  if (preceding !== undefined && following !== undefined && typeof preceding !== typeof following)
    throw bad(
      'WINDOW range spec is invalid; bounds must be of the same type - either both are numeric values, or both are ISO 8601 duration strings',
      op.pos,
    );
  if (typeof preceding === 'string' || typeof following === 'string') {
    const duration = (v: AqlValue | undefined, what: string): IsoDuration => {
      if (v === undefined) return EMPTY_DURATION;
      const d = parseIsoDuration(v as string);
      if (!d) throw bad(`WINDOW range spec is invalid; '${what}' is not a valid ISO 8601 duration string`, op.pos);
      return d;
    };
    return { type: 'duration', preceding: duration(preceding, 'preceding'), following: duration(following, 'following') };
  }
  return { type: 'range', preceding: (preceding as number | undefined) ?? 0, following: (following as number | undefined) ?? 0 };
}

export type Source =
  | { kind: 'full_scan'; table: string }
  | { kind: 'primary'; table: string; keys: Expr; many: boolean }
  | { kind: 'index_eq'; table: string; indexId: number; column: string; values: Expr; many: boolean; unique: boolean; sparse: boolean }
  /** `ordered`: a SORT relies on this scan's order (set by useIndexOrder). */
  | {
      kind: 'index_range';
      table: string;
      indexId: number;
      column: string;
      lower?: Bound;
      upper?: Bound;
      reverse: boolean;
      ordered?: boolean;
      /** The LIMIT right after this FOR (or after the SORT this scan's order answers): how many entries the first read fetches. */
      hint?: { offset: Expr; count: Expr };
    }
  | { kind: 'hash_join'; table: string; innerKey: Expr; outerKey: Expr }
  | { kind: 'fulltext'; table: string; column: string; query: Expr }
  | { kind: 'vector'; table: string; index: string; field: string; vector: Expr; k: Expr }
  | { kind: 'expr'; expr: Expr };

export type Step =
  | {
      kind: 'for';
      var: string;
      source: Source;
      filters: Expr[];
      pos: Pos;
      bm25?: boolean;
      similarity?: boolean;
      /** The documents' top-level attributes the query reads, when it reads no more (a full scan builds only these; analyze.ts attributeUse). */
      docAttrs?: readonly string[];
    }
  /** Graph steps: `edgeTable` is the first of `edges` (each edge collection with the direction it is followed in). */
  | {
      kind: 'traversal';
      op: Extract<Op, { type: 'traversal' }>;
      edgeTable: string;
      edges: EdgeSpec[];
      filters: Expr[];
      config: TraversalConfig;
    }
  | {
      kind: 'shortestPath';
      op: Extract<Op, { type: 'shortestPath' }>;
      edgeTable: string;
      edges: EdgeSpec[];
      filters: Expr[];
      /** OPTIONS: with a weightAttribute, the lightest path (paths.ts) instead of the fewest edges. */
      config: PathConfig;
    }
  /** K_SHORTEST_PATHS, K_PATHS, ALL_SHORTEST_PATHS (op.algorithm). */
  | { kind: 'paths'; op: Extract<Op, { type: 'paths' }>; edgeTable: string; edges: EdgeSpec[]; filters: Expr[]; config: PathConfig }
  | { kind: 'filter'; cond: Expr }
  | { kind: 'let'; var: string; expr: Expr }
  /** `limit`: only the first `limit` rows in order are needed (top-k sort). `byIndex`: the FOR's source already yields this order. */
  | { kind: 'sort'; keys: { expr: Expr; dir: 'ASC' | 'DESC' }[]; byIndex: boolean; limit?: { offset: Expr; count: Expr } }
  | { kind: 'limit'; offset: Expr; count: Expr }
  /**
   * `indexOnly`: the FOR before it (the level's first step) and this COLLECT run from index keys alone (indexOnlyCollect);
   * `columnar`: from the attribute values of the FOR's documents alone (columnCollect).
   */
  | {
      kind: 'collect';
      op: Extract<Op, { type: 'collect' }>;
      keep: string[];
      indexOnly?: { indexId: number; path: string[] };
      columnar?: ColumnPlan;
    }
  /** WINDOW: `rangeVar` (range-based) holds the range value, computed by a LET and sorted on by a SORT the planner puts before it. */
  | { kind: 'window'; op: Extract<Op, { type: 'window' }>; bounds: WindowBounds; rangeVar?: string }
  | { kind: 'modify'; op: Extract<Op, { type: 'insert' | 'update' | 'replace' | 'remove' | 'upsert' }>; table: string };

/**
 * A traversal's OPTIONS as ArangoDB 3.12 reads them (Aql/ExecutionPlan.cpp
 * createTraversalOptions): depth-first, uniqueVertices "none", uniqueEdges
 * "path" unless the query says otherwise.
 */
export interface TraversalConfig {
  order: 'dfs' | 'bfs' | 'weighted';
  uniqueVertices: 'none' | 'path' | 'global';
  uniqueEdges: 'none' | 'path';
  /** `order: "weighted"`: the edge attribute holding the weight (a top-level name) and the weight without one. */
  weightAttribute?: string;
  defaultWeight: number;
  /** Only vertices of these collections are visited (the start vertex always is); absent: all. */
  vertexCollections?: string[];
  /** Only edges of these collections are followed; absent: all. */
  edgeCollections?: string[];
}

export const DEFAULT_TRAVERSAL: Readonly<TraversalConfig> = { order: 'dfs', uniqueVertices: 'none', uniqueEdges: 'path', defaultWeight: 1 };

/** An edge collection a graph step follows and the direction it follows it in (the query's, or the collection's own). */
export interface EdgeSpec {
  table: string;
  direction: 'outbound' | 'inbound' | 'any';
}

/** A path search's OPTIONS (K_SHORTEST_PATHS: weights; the others have none that change results). */
export interface PathConfig {
  /** The edge attribute holding the weight (a top-level name); absent: every edge weighs defaultWeight... */
  weightAttribute?: string;
  /** ...as does an edge whose attribute is not a number (1 unless set). */
  defaultWeight: number;
}

/** Reads a path search's OPTIONS (keys were checked when parsing); a bad value is 400 VALIDATION_FAILED naming the option. */
export function pathConfig(op: Extract<Op, { type: 'paths' | 'shortestPath' }>, bind: Readonly<Record<string, AqlValue>>): PathConfig {
  const cfg: PathConfig = { defaultWeight: 1 };
  const what =
    op.type === 'shortestPath'
      ? 'SHORTEST_PATH'
      : op.algorithm === 'kShortestPaths'
        ? 'K_SHORTEST_PATHS'
        : op.algorithm === 'kPaths'
          ? 'K_PATHS'
          : 'ALL_SHORTEST_PATHS';
  const refuse = (key: string, value: AqlValue | undefined, expected: string, pos: Pos): never => {
    throw new ThemisError(
      'VALIDATION_FAILED',
      `invalid ${what} option ${key}${value === undefined ? '' : `: ${JSON.stringify(value)}`} (${expected}) (line ${pos.line}, column ${pos.column})`,
      { details: { field: 'options', option: key, line: pos.line, column: pos.column } },
    );
  };
  for (const { key, value, pos } of op.options ?? []) {
    if (key === 'useCache') continue; // a hint
    const c = optionValue(value, bind);
    if (!c) refuse(key, undefined, 'the value must be a constant or a bind parameter', pos);
    const v = c!.value;
    if (key === 'weightAttribute') {
      if (typeof v !== 'string') refuse(key, v, 'expected an attribute name', pos);
      if (v !== '') cfg.weightAttribute = v as string;
    } else if (key === 'defaultWeight') {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        refuse(key, v, `expected a number >= 0: ${what} does not support negative weights`, pos);
      cfg.defaultWeight = v as number;
    } else refuse(key, v, 'unknown option', pos);
  }
  return cfg;
}

/** A constant option value (literals, bind values, arrays and objects of them, negated numbers); undefined when it is not one. */
function optionValue(e: Expr, bind: Readonly<Record<string, AqlValue>>): { value: AqlValue } | undefined {
  const c = constant(e, bind);
  if (c) return c;
  if (e.type === 'unary' && e.op === '-') {
    const x = optionValue(e.arg, bind);
    return x && typeof x.value === 'number' ? { value: -x.value } : undefined;
  }
  if (e.type === 'array') {
    const out: AqlValue[] = [];
    for (const item of e.items) {
      const x = optionValue(item, bind);
      if (!x) return undefined;
      out.push(x.value);
    }
    return { value: out };
  }
  if (e.type === 'object') {
    const out: Record<string, AqlValue> = {};
    for (const p of e.props) {
      const k = typeof p.key === 'string' ? { value: p.key } : optionValue(p.key, bind);
      const x = optionValue(p.value, bind);
      if (!k || typeof k.value !== 'string' || !x) return undefined;
      out[k.value] = x.value;
    }
    return { value: out };
  }
  return undefined;
}

/** Reads a traversal's OPTIONS; a value ThemisTS cannot apply is 400 VALIDATION_FAILED naming the option (field "options"). */
export function traversalConfig(op: Extract<Op, { type: 'traversal' }>, bind: Readonly<Record<string, AqlValue>>): TraversalConfig {
  const cfg: TraversalConfig = { ...DEFAULT_TRAVERSAL };
  let bfs: boolean | undefined;
  const refuse = (key: string, value: AqlValue | undefined, expected: string, pos: Pos): never => {
    throw new ThemisError(
      'VALIDATION_FAILED',
      `invalid traversal option ${key}${value === undefined ? '' : `: ${JSON.stringify(value)}`} (${expected}) (line ${pos.line}, column ${pos.column})`,
      { details: { field: 'options', option: key, line: pos.line, column: pos.column } },
    );
  };
  const collections = (key: string, v: AqlValue, pos: Pos): string[] | undefined => {
    const list: AqlValue[] | undefined = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
    if (list === undefined || !list.every((x) => typeof x === 'string'))
      refuse(key, v, 'expected a collection name or an array of them', pos);
    const names = list as string[];
    return names.length === 0 ? undefined : names;
  };
  for (const { key, value, pos } of op.options ?? []) {
    const c = optionValue(value, bind);
    // hints: any value, not used
    if (key === 'parallelism' || key === 'maxProjections' || key === 'indexHint' || key === 'useCache') continue;
    if (!c) refuse(key, undefined, 'the value must be a constant or a bind parameter', pos);
    const v = c!.value;
    switch (key) {
      case 'order': {
        const o = typeof v === 'string' ? v.toLowerCase() : undefined;
        if (o !== 'dfs' && o !== 'bfs' && o !== 'weighted') refuse(key, v, 'expected "dfs", "bfs" or "weighted"', pos);
        cfg.order = o as TraversalConfig['order'];
        break;
      }
      case 'bfs':
        if (typeof v !== 'boolean') refuse(key, v, 'expected true or false', pos);
        bfs = v as boolean;
        break;
      case 'uniqueVertices': {
        const u = typeof v === 'string' ? v.toLowerCase() : undefined;
        if (u !== 'none' && u !== 'path' && u !== 'global') refuse(key, v, 'expected "none", "path" or "global"', pos);
        cfg.uniqueVertices = u as TraversalConfig['uniqueVertices'];
        break;
      }
      case 'uniqueEdges': {
        const u = typeof v === 'string' ? v.toLowerCase() : undefined;
        if (u === 'global')
          refuse(
            key,
            v,
            "uniqueEdges: 'global' is not supported, due to otherwise unpredictable results. Use 'path' or 'none' instead",
            pos,
          );
        if (u !== 'none' && u !== 'path') refuse(key, v, 'expected "none" or "path"', pos);
        cfg.uniqueEdges = u as TraversalConfig['uniqueEdges'];
        break;
      }
      case 'weightAttribute':
        if (typeof v !== 'string') refuse(key, v, 'expected an attribute name', pos);
        if (v !== '') cfg.weightAttribute = v as string;
        break;
      case 'defaultWeight':
        if (typeof v !== 'number' || v < 0)
          refuse(key, v, 'expected a number >= 0: weighted traversals do not support negative weights', pos);
        cfg.defaultWeight = v as number;
        break;
      case 'vertexCollections': {
        const list = collections(key, v, pos);
        if (list) cfg.vertexCollections = list;
        else delete cfg.vertexCollections;
        break;
      }
      case 'edgeCollections': {
        const list = collections(key, v, pos);
        if (list) cfg.edgeCollections = list;
        else delete cfg.edgeCollections;
        break;
      }
    }
  }
  // ArangoDB: `bfs` (deprecated) wins over `order`
  if (bfs !== undefined) cfg.order = bfs ? 'bfs' : 'dfs';
  if (cfg.uniqueVertices === 'global' && cfg.order === 'dfs')
    refuse(
      'uniqueVertices',
      'global',
      "uniqueVertices: 'global' is only supported, with mode: bfs|weighted due to otherwise unpredictable results",
      op.pos,
    );
  return cfg;
}

export interface Plan {
  steps: Step[];
  /** Plans of the subqueries, by their AST node. */
  subPlans: SubPlans;
  ret?: {
    expr: Expr;
    distinct: boolean /** RETURN of an unchanged collection document: its stored text is the output. */;
    documentVar?: string;
  };
  /** Collections read / written. */
  reads: string[];
  writes: string[];
  /** The contract's `table`: the first collection the query reads (or writes). */
  table: string | null;
  mode: 'index_optimized' | 'full_scan' | 'no_collection';
  explain: Record<string, unknown>;
}

function bad(message: string, pos?: Pos, field = 'query'): ThemisError {
  return new ThemisError('VALIDATION_FAILED', pos ? `${message} (line ${pos.line}, column ${pos.column})` : message, {
    details: { field, ...(pos ? { line: pos.line, column: pos.column } : {}) },
  });
}

/** ArangoDB's "collection or view not found" (error 1203, HTTP 404): a typo is an error, not an empty result. */
export function collectionNotFound(name: string, pos?: Pos): ThemisError {
  return new ThemisError(
    'COLLECTION_NOT_FOUND',
    `collection or view not found: ${name}${pos ? ` (line ${pos.line}, column ${pos.column})` : ''}`,
    { details: { collection: name, field: 'query', ...(pos ? { line: pos.line, column: pos.column } : {}) } },
  );
}

/** The argument of LENGTH(coll) / COUNT(coll) when it names a collection (a bare name that is no variable, or @@bind), else undefined. */
export function collectionArgument(
  e: Expr,
  isVariable: (name: string) => boolean,
): Extract<Expr, { type: 'var' | 'name' | 'bindCollection' }> | undefined {
  if ((e.type === 'var' || e.type === 'name') && !isVariable(e.name)) return e;
  return e.type === 'bindCollection' ? e : undefined;
}

/** Resolve `name` nodes: a collection unless a variable of that name is in scope. */
function isCollectionRef(e: Expr, scope: ReadonlySet<string>): e is Extract<Expr, { type: 'name' | 'bindCollection' }> {
  return (e.type === 'name' && !scope.has(e.name)) || e.type === 'bindCollection';
}

/**
 * A graph operation's edge collections, each with the direction it is
 * followed in (its own, else the operation's); each must exist. The same
 * collection twice is followed once; twice with different directions is
 * refused (400) rather than guessed at.
 */
function edgeSpecs(
  op: Extract<Op, { type: 'traversal' | 'shortestPath' | 'paths' }>,
  bind: Readonly<Record<string, AqlValue>>,
  cat: Catalogue,
  reads: string[],
): EdgeSpec[] {
  const out: EdgeSpec[] = [];
  for (const ref of op.edges ?? [{ table: op.edgeTable }]) {
    const table = collectionName(ref.table, bind, op.pos);
    if (cat(table).exists === false) throw collectionNotFound(table, op.pos);
    if (!reads.includes(table)) reads.push(table);
    const direction = (ref.direction ?? op.direction).toLowerCase() as EdgeSpec['direction'];
    const same = out.find((e) => e.table === table);
    if (same) {
      if (same.direction !== direction)
        throw bad(`conflicting directions specified for edge collection "${table}" (${same.direction} and ${direction})`, op.pos);
      continue;
    }
    out.push({ table, direction });
  }
  return out;
}

function collectionName(e: Expr | string, bind: Readonly<Record<string, AqlValue>>, pos?: Pos): string {
  let name: unknown;
  if (typeof e === 'string') name = e;
  else if (e.type === 'name') name = e.name;
  else if (e.type === 'bindCollection') {
    // ArangoDB names collection parameters "@name" in bind_vars; "name" is accepted too.
    const key = collectionBindKey(bind, e.name);
    if (key === undefined)
      throw new ThemisError('VALIDATION_FAILED', `bind parameter @@${e.name} is missing (give it as "@${e.name}" in bind_vars)`, {
        details: { field: 'bind_vars', parameter: `@${e.name}` },
      });
    name = bind[key];
  } else throw bad('expected a collection name', pos);
  if (typeof name !== 'string' || !TABLE_NAME.test(name))
    throw bad(`invalid collection name ${JSON.stringify(name)}: use 1-128 of A-Z a-z 0-9 _ -`, pos);
  return name;
}

/** A literal or bind value known at plan time. */
function constant(e: Expr, bind: Readonly<Record<string, AqlValue>>): { value: AqlValue } | undefined {
  if (e.type === 'literal') return { value: e.value };
  if (e.type === 'bind' && e.name in bind) return { value: bind[e.name]! };
  return undefined;
}

function isScalar(v: AqlValue): v is null | boolean | number | string {
  return v === null || typeof v !== 'object';
}

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==' };

/** `x.path OP other` (either side), with `other` free of x and of variables bound after `bound`. */
function comparisonOn(c: Expr, v: string, allowed: (e: Expr) => boolean): { path: string[]; op: string; other: Expr } | undefined {
  if (c.type !== 'binary') return undefined;
  if (!['==', '<', '<=', '>', '>=', 'IN'].includes(c.op)) return undefined;
  const lp = attributePath(c.left, v);
  if (lp && allowed(c.right)) return { path: lp, op: c.op, other: c.right };
  if (c.op === 'IN') return undefined;
  const rp = attributePath(c.right, v);
  if (rp && allowed(c.left)) return { path: rp, op: FLIP[c.op]!, other: c.left };
  return undefined;
}

const ENGINE_CALLS = new Set(['FULLTEXT', 'BM25', 'SIMILARITY', 'NEAR']);

export function planQuery(q: Query, cat: Catalogue, opts: PlanOptions): Plan {
  const reads: string[] = [];
  const writes: string[] = [];
  const subPlans: SubPlans = new Map();
  planning = subPlans;
  windowVars = 0;
  let steps: Step[];
  // WITH c1, c2: declared collections must exist, as any other collection the query names.
  for (const c of q.with ?? []) {
    const table = collectionName(c, opts.bindVars, typeof c === 'string' ? undefined : c.pos);
    if (cat(table).exists === false) throw collectionNotFound(table, typeof c === 'string' ? undefined : c.pos);
  }
  try {
    steps = buildSteps(q, cat, opts, new Set(), reads, writes, true);
  } finally {
    planning = undefined;
  }
  const ret = q.ret ? { expr: q.ret.expr, distinct: q.ret.distinct, ...documentVarOf(q.ret.expr, steps, writes) } : undefined;
  const fors = steps.filter((s): s is Extract<Step, { kind: 'for' }> => s.kind === 'for' && s.source.kind !== 'expr');
  const mode: Plan['mode'] =
    fors.length === 0
      ? 'no_collection'
      : fors.some((s) => s.source.kind === 'full_scan' || s.source.kind === 'hash_join')
        ? 'full_scan'
        : 'index_optimized';
  const table = reads[0] ?? writes[0] ?? null;
  return { steps, ...(ret ? { ret } : {}), subPlans, reads, writes, table, mode, explain: explainOf(steps, mode, cat) };
}

function documentVarOf(e: Expr, steps: Step[], writes: string[]): { documentVar?: string } {
  if (e.type !== 'var') return {};
  const s = steps.find((x) => x.kind === 'for' && x.var === e.name && x.source.kind !== 'expr');
  if (!s || s.kind !== 'for') return {};
  const collectAfter = steps.slice(steps.indexOf(s)).some((x) => x.kind === 'collect');
  return collectAfter || writes.length > 0 ? {} : { documentVar: e.name };
}

/**
 * Steps of one query level. `outer` holds the variables visible from
 * enclosing levels (subqueries see their parents' variables).
 */
function buildSteps(
  q: Query,
  cat: Catalogue,
  opts: PlanOptions,
  outer: ReadonlySet<string>,
  reads: string[],
  writes: string[],
  top: boolean,
): Step[] {
  const scope = new Set(outer);
  const steps: Step[] = [];
  const checkExpr = (e: Expr) => {
    checkNames(e, scope, cat, opts, reads, writes);
  };
  for (const op of q.ops) {
    switch (op.type) {
      case 'for': {
        if (isCollectionRef(op.in, scope)) {
          const table = collectionName(op.in, opts.bindVars, op.pos);
          if (cat(table).exists === false) {
            // UPSERT into a collection its INSERT creates: nothing to find
            if (!op.lookup) throw collectionNotFound(table, op.pos);
            steps.push({
              kind: 'for',
              var: op.var,
              source: { kind: 'expr', expr: { type: 'array', items: [], pos: op.pos } },
              filters: [],
              pos: op.pos,
            });
            scope.add(op.var);
            break;
          }
          if (!reads.includes(table)) reads.push(table);
          const docAttrs = attributeUse(q, op.var);
          steps.push({
            kind: 'for',
            var: op.var,
            source: { kind: 'full_scan', table },
            filters: [],
            pos: op.pos,
            ...(docAttrs ? { docAttrs } : {}),
          });
        } else {
          checkExpr(op.in);
          steps.push({ kind: 'for', var: op.var, source: { kind: 'expr', expr: op.in }, filters: [], pos: op.pos });
        }
        scope.add(op.var);
        break;
      }
      case 'paths': {
        const edges = edgeSpecs(op, opts.bindVars, cat, reads);
        checkExpr(op.from);
        checkExpr(op.to);
        if (
          op.algorithm === 'kPaths' &&
          (!Number.isInteger(op.min) || !Number.isInteger(op.max) || op.min < 0 || op.max < op.min || op.max > 100)
        )
          throw bad(`K_PATHS depth ${op.min}..${op.max} must be integers with 0 <= min <= max <= 100`, op.pos);
        steps.push({ kind: 'paths', op, edgeTable: edges[0]!.table, edges, filters: [], config: pathConfig(op, opts.bindVars) });
        scope.add(op.pathVar);
        break;
      }
      case 'traversal':
      case 'shortestPath': {
        const edges = edgeSpecs(op, opts.bindVars, cat, reads);
        const edgeTable = edges[0]!.table;
        if (op.type === 'traversal') {
          checkExpr(op.start);
          if (!Number.isInteger(op.min) || !Number.isInteger(op.max) || op.min < 0 || op.max < op.min || op.max > 100)
            throw bad(`traversal depth ${op.min}..${op.max} must be integers with 0 <= min <= max <= 100`, op.pos);
          steps.push({ kind: 'traversal', op, edgeTable, edges, filters: [], config: traversalConfig(op, opts.bindVars) });
        } else {
          checkExpr(op.from);
          checkExpr(op.to);
          steps.push({ kind: 'shortestPath', op, edgeTable, edges, filters: [], config: pathConfig(op, opts.bindVars) });
        }
        scope.add(op.vertexVar);
        if (op.edgeVar) scope.add(op.edgeVar);
        if (op.type === 'traversal' && op.pathVar) scope.add(op.pathVar);
        // PRUNE sees the traversal's variables (and those before it); `PRUNE x = ...` binds x after it
        if (op.type === 'traversal' && op.prune) {
          checkExpr(op.prune);
          if (op.pruneVar) scope.add(op.pruneVar);
        }
        break;
      }
      case 'filter':
        checkExpr(op.cond);
        steps.push({ kind: 'filter', cond: op.cond });
        break;
      case 'let':
        checkExpr(op.expr);
        steps.push({ kind: 'let', var: op.var, expr: op.expr });
        scope.add(op.var);
        break;
      case 'sort':
        for (const k of op.keys) checkExpr(k.expr);
        steps.push({ kind: 'sort', keys: op.keys, byIndex: false });
        break;
      case 'limit':
        checkExpr(op.offset);
        checkExpr(op.count);
        for (const [e, what] of [
          [op.offset, 'offset'],
          [op.count, 'count'],
        ] as const) {
          const c = constant(e, opts.bindVars);
          if (c && (typeof c.value !== 'number' || !Number.isInteger(c.value) || c.value < 0))
            throw bad(`LIMIT ${what} must be a non-negative integer, got ${JSON.stringify(c.value)}`, op.pos);
        }
        steps.push({ kind: 'limit', offset: op.offset, count: op.count });
        break;
      case 'collect': {
        for (const g of op.groups) checkExpr(g.expr);
        for (const a of op.aggregates) if (a.arg) checkExpr(a.arg);
        if (op.into?.expr) checkExpr(op.into.expr);
        for (const k of op.into?.keep ?? [])
          if (!scope.has(k)) throw bad(`use of unknown variable '${k}' for KEEP: KEEP names variables declared before the COLLECT`, op.pos);
        // After COLLECT only its own variables (and those from enclosing levels) remain visible.
        const keep = [...outer];
        scope.clear();
        for (const v of keep) scope.add(v);
        for (const g of op.groups) scope.add(g.var);
        for (const a of op.aggregates) scope.add(a.var);
        if (op.into) scope.add(op.into.var);
        if (op.count) scope.add(op.count);
        steps.push({ kind: 'collect', op, keep });
        break;
      }
      case 'window': {
        const bounds = windowBounds(op, opts.bindVars);
        for (const a of op.aggregates) if (a.arg) checkExpr(a.arg);
        let rangeVar: string | undefined;
        if (op.range) {
          checkExpr(op.range);
          // As ArangoDB: the range value is computed once, and a SORT on it goes in front of the WINDOW.
          rangeVar = `$window#${++windowVars}`;
          steps.push({ kind: 'let', var: rangeVar, expr: op.range });
          const ref: Expr = { type: 'var', name: rangeVar, pos: op.range.pos };
          steps.push({ kind: 'sort', keys: [{ expr: ref, dir: 'ASC' }], byIndex: false });
        }
        steps.push({ kind: 'window', op, bounds, ...(rangeVar ? { rangeVar } : {}) });
        for (const a of op.aggregates) scope.add(a.var);
        break;
      }
      case 'insert':
      case 'update':
      case 'replace':
      case 'remove': {
        const table = collectionName(op.table, opts.bindVars, op.pos);
        if (op.type === 'insert') checkExpr(op.doc);
        else {
          checkExpr(op.key);
          if ((op.type === 'update' || op.type === 'replace') && op.with) checkExpr(op.with);
        }
        if (!writes.includes(table)) writes.push(table);
        steps.push({ kind: 'modify', op, table });
        scope.add('NEW');
        scope.add('OLD');
        break;
      }
      case 'upsert': {
        const table = collectionName(op.table, opts.bindVars, op.pos);
        checkExpr(op.insert);
        // the UPDATE / REPLACE expression sees OLD: the document found
        const hadOld = scope.has('OLD');
        scope.add('OLD');
        checkExpr(op.update);
        if (!hadOld) scope.delete('OLD');
        if (!writes.includes(table)) writes.push(table);
        steps.push({ kind: 'modify', op, table });
        scope.add('NEW');
        scope.add('OLD');
        break;
      }
    }
  }
  if (q.ret) checkExpr(q.ret.expr);
  if (opts.naive) return steps;
  pushDownFilters(steps);
  for (const s of steps) if (s.kind === 'for' && s.source.kind === 'full_scan') chooseAccess(s, steps, cat, opts, outer);
  if (!opts.noIndexOrder && (top || !opts.topIndexOrderOnly)) useIndexOrder(steps, cat);
  else for (const s of steps) if (s.kind === 'sort' && !s.byIndex) topK(s, steps);
  limitHints(steps);
  indexOnlyCollect(steps, cat);
  columnCollect(steps);
  if (!opts.allowFullScan) {
    for (const s of steps) {
      if (s.kind === 'for' && (s.source.kind === 'full_scan' || s.source.kind === 'hash_join')) {
        const attr = s.filters.map((f) => firstAttribute(f, s.var)).find((x) => x !== undefined);
        throw new ThemisError(
          'BAD_REQUEST',
          `FOR ${s.var} IN ${s.source.table} needs a full scan of ${s.source.table}${attr ? ` (no usable index on ${s.source.table}.${attr})` : ' (no indexed FILTER condition)'}; create an index with POST /index/create or set allow_full_scan`,
          { details: { field: 'allow_full_scan', collection: s.source.table, ...(attr ? { attribute: attr } : {}) } },
        );
      }
    }
  }
  return steps;
}

function firstAttribute(e: Expr, v: string): string | undefined {
  for (const c of conjuncts(e)) {
    if (c.type === 'binary') {
      const p = attributePath(c.left, v) ?? attributePath(c.right, v);
      if (p) return p.join('.');
    }
  }
  return undefined;
}

/** Validate variable references, bind parameters and function names in `e` (subqueries planned for their own checks). */
function checkNames(e: Expr, scope: ReadonlySet<string>, cat: Catalogue, opts: PlanOptions, reads: string[], writes: string[]): void {
  const walk = (x: Expr, local: ReadonlySet<string>): void => {
    switch (x.type) {
      case 'var':
        if (!local.has(x.name)) throw bad(`variable "${x.name}" is not declared`, x.pos);
        return;
      case 'name':
        if (!local.has(x.name)) throw bad(`variable "${x.name}" is not declared (a collection can only be named after FOR ... IN)`, x.pos);
        return;
      case 'bind':
        if (!(x.name in opts.bindVars))
          throw new ThemisError('VALIDATION_FAILED', `bind parameter @${x.name} is missing (line ${x.pos.line}, column ${x.pos.column})`, {
            details: { field: 'bind_vars', parameter: x.name },
          });
        return;
      case 'bindCollection':
        throw bad(`@@${x.name} names a collection and can only be used after FOR ... IN or INTO`, x.pos);
      case 'call': {
        if (!ENGINE_CALLS.has(x.name)) checkFunction(x.name, x.args.length);
        // LENGTH(coll) / COUNT(coll): the documents of a collection (COLLECTION_COUNT; checked when it runs).
        const coll =
          (x.name === 'LENGTH' || x.name === 'COUNT') && x.args.length === 1
            ? collectionArgument(x.args[0]!, (n) => local.has(n))
            : undefined;
        if (coll !== undefined) {
          if (coll.type === 'bindCollection') collectionName(coll, opts.bindVars, coll.pos);
          return;
        }
        for (const a of x.args) {
          // Engine functions (DOCUMENT(users, key), ...) take a bare collection name as an argument.
          if (
            ENGINE_FUNCTIONS.has(x.name) &&
            (((a.type === 'var' || a.type === 'name') && !local.has(a.name)) || a.type === 'bindCollection')
          ) {
            if (a.type === 'bindCollection') collectionName(a, opts.bindVars, a.pos);
            continue;
          }
          walk(a, local);
        }
        return;
      }
      case 'subquery': {
        // Planned (and checked) on its own, with the enclosing variables visible.
        const sub = buildSteps(x.query, cat, opts, local, reads, writes, false);
        planning!.set(x, { steps: sub, ...(x.query.ret ? { ret: { expr: x.query.ret.expr, distinct: x.query.ret.distinct } } : {}) });
        return;
      }
      case 'expand': {
        walk(x.array, local);
        if (x.quantifier) for (const q of quantifierExprs(x.quantifier)) walk(q, local);
        const inner = new Set(local).add(x.var);
        if (x.map) walk(x.map, inner);
        if (x.filter) walk(x.filter, inner);
        if (x.limit) {
          walk(x.limit.offset, inner);
          walk(x.limit.count, inner);
        }
        return;
      }
      default: {
        const kids: Expr[] = [];
        switch (x.type) {
          case 'attr':
            kids.push(x.object);
            break;
          case 'index':
            kids.push(x.object, x.index);
            break;
          case 'unary':
            kids.push(x.arg);
            break;
          case 'binary':
            kids.push(x.left, x.right);
            break;
          case 'arrayCompare':
            kids.push(x.left, x.right, ...quantifierExprs(x.quantifier));
            break;
          case 'ternary':
            kids.push(x.cond, ...(x.then ? [x.then] : []), x.else);
            break;
          case 'array':
            kids.push(...x.items);
            break;
          case 'object':
            for (const p of x.props) {
              if (typeof p.key !== 'string') kids.push(p.key);
              kids.push(p.value);
            }
            break;
          case 'range':
            kids.push(x.from, x.to);
            break;
          default:
            break;
        }
        for (const k of kids) walk(k, local);
      }
    }
  };
  walk(e, scope);
}

export type SubPlans = Map<Expr, { steps: Step[]; ret?: { expr: Expr; distinct: boolean } }>;
/** The subquery plans of the plan being built (planning is synchronous; each plan gets its own map, as bind values shape it). */
let planning: SubPlans | undefined;
/** Range variables of the WINDOWs of the plan being built (`$window#n`: no AQL name can be one). */
let windowVars = 0;

/** Variables bound by a step. */
function boundBy(s: Step): string[] {
  switch (s.kind) {
    case 'for':
      return [s.var];
    case 'traversal':
      return [
        s.op.vertexVar,
        ...(s.op.edgeVar ? [s.op.edgeVar] : []),
        ...(s.op.pathVar ? [s.op.pathVar] : []),
        ...(s.op.pruneVar ? [s.op.pruneVar] : []),
      ];
    case 'shortestPath':
      return [s.op.vertexVar, ...(s.op.edgeVar ? [s.op.edgeVar] : [])];
    case 'paths':
      return [s.op.pathVar];
    case 'let':
      return [s.var];
    case 'collect':
      return [];
    case 'window':
      return s.op.aggregates.map((a) => a.var);
    case 'modify':
      return ['NEW', 'OLD'];
    default:
      return [];
  }
}

/**
 * Move each FILTER conjunct to the earliest FOR (or traversal) after which
 * all its variables are bound, never across SORT, LIMIT, COLLECT or a data
 * modification (they change which rows exist). A conjunct with a subquery
 * stays where it is.
 */
function pushDownFilters(steps: Step[]): void {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.kind !== 'filter') continue;
    const keep: Expr[] = [];
    for (const c of conjuncts(s.cond)) {
      if (subqueriesOf(c).length > 0) {
        keep.push(c);
        continue;
      }
      const vars = freeVars(c);
      let target: number | undefined;
      for (let j = i - 1; j >= 0; j--) {
        const t = steps[j]!;
        // (a WINDOW aggregates over the rows that reach it: a FILTER after it stays after it)
        if (t.kind === 'sort' || t.kind === 'limit' || t.kind === 'collect' || t.kind === 'window' || t.kind === 'modify') break;
        const binds = boundBy(t);
        if (binds.some((b) => vars.has(b))) {
          if (t.kind === 'for' || t.kind === 'traversal' || t.kind === 'shortestPath' || t.kind === 'paths') target = j;
          break;
        }
      }
      if (target === undefined) keep.push(c);
      else (steps[target] as Extract<Step, { kind: 'for' | 'traversal' | 'shortestPath' | 'paths' }>).filters.push(c);
    }
    if (keep.length === 0) {
      steps.splice(i, 1);
      i--;
    } else s.cond = keep.reduce((a, b) => ({ type: 'binary', op: 'AND', left: a, right: b, pos: a.pos }));
  }
}

/** Variables bound before step `i` (and from enclosing levels). */
function boundBefore(steps: Step[], i: number, outer: ReadonlySet<string>): Set<string> {
  const out = new Set(outer);
  for (let j = 0; j < i; j++) {
    const s = steps[j]!;
    if (s.kind === 'collect') {
      out.clear();
      for (const v of s.keep) out.add(v);
      for (const g of s.op.groups) out.add(g.var);
      for (const a of s.op.aggregates) out.add(a.var);
      if (s.op.into) out.add(s.op.into.var);
      if (s.op.count) out.add(s.op.count);
    } else for (const v of boundBy(s)) out.add(v);
  }
  return out;
}

/** Choose the access path of a collection FOR from its filters (and a following SORT ... LIMIT for vectors). */
function chooseAccess(
  s: Extract<Step, { kind: 'for' }>,
  steps: Step[],
  cat: Catalogue,
  opts: PlanOptions,
  outer: ReadonlySet<string>,
): void {
  if (s.source.kind !== 'full_scan') return;
  const table = s.source.table;
  const c = cat(table);
  const i = steps.indexOf(s);
  const before = boundBefore(steps, i, outer);
  const independent = (e: Expr) => subqueriesOf(e).length === 0 && [...freeVars(e)].every((v) => before.has(v) && v !== s.var);
  const cmps = s.filters.map((f) => ({ f, cmp: comparisonOn(f, s.var, independent) }));

  // FULLTEXT(x.col, q) in a filter: the fulltext index drives.
  for (const f of s.filters) {
    if (f.type === 'call' && f.name === 'FULLTEXT' && f.args.length === 2) {
      const p = attributePath(f.args[0]!, s.var);
      if (!p || !independent(f.args[1]!))
        throw bad('FULLTEXT(doc.attribute, query) needs an attribute of the FOR variable and a query that does not depend on it', f.pos);
      const column = p.join('.');
      if (!c.fulltext.includes(column))
        throw new ThemisError(
          'INDEX_NOT_FOUND',
          `FULLTEXT(): no fulltext index on ${table}.${column}; create one with POST /index/create {"table": "${table}", "column": "${column}", "type": "fulltext"}`,
          { details: { field: 'query' } },
        );
      s.source = { kind: 'fulltext', table, column, query: f.args[1]! };
      s.filters = s.filters.filter((x) => x !== f);
      s.bm25 = true;
      return;
    }
    if (f.type === 'call' && f.name === 'NEAR' && f.args.length === 3) {
      const p = attributePath(f.args[0]!, s.var);
      if (!p || !independent(f.args[1]!) || !independent(f.args[2]!))
        throw bad(
          'NEAR(doc.attribute, vector, k) needs an attribute of the FOR variable and a vector and k that do not depend on it',
          f.pos,
        );
      const ix = c.vector.find((v) => v.field === p.join('.'));
      if (!ix)
        throw new ThemisError(
          'INDEX_NOT_FOUND',
          `NEAR(): no vector index on ${table}.${p.join('.')}; create one with POST /vector/index/create`,
          { details: { field: 'query' } },
        );
      s.source = { kind: 'vector', table, index: ix.name, field: ix.field, vector: f.args[1]!, k: f.args[2]! };
      s.filters = s.filters.filter((x) => x !== f);
      s.similarity = true;
      return;
    }
  }

  // SORT SIMILARITY(x.field, v) DESC LIMIT [o,] n right after this FOR's filters: the vector index drives (top o+n).
  const next = steps[i + 1];
  const after = steps[i + 2];
  if (next?.kind === 'sort' && next.keys.length === 1 && next.keys[0]!.dir === 'DESC' && after?.kind === 'limit') {
    const k = next.keys[0]!.expr;
    if (k.type === 'call' && k.name === 'SIMILARITY' && k.args.length === 2) {
      const p = attributePath(k.args[0]!, s.var);
      const ix = p && c.vector.find((v) => v.field === p.join('.') && v.metric === 'COSINE');
      if (p && ix && independent(k.args[1]!) && independent(after.offset) && independent(after.count)) {
        const kExpr: Expr = { type: 'binary', op: '+', left: after.offset, right: after.count, pos: k.pos };
        s.source = { kind: 'vector', table, index: ix.name, field: ix.field, vector: k.args[1]!, k: kExpr };
        s.similarity = true;
        next.byIndex = true;
        return;
      }
    }
  }

  // _key == e / _key IN e: point reads.
  for (const { cmp } of cmps) {
    if (cmp && cmp.path.length === 1 && cmp.path[0] === '_key' && (cmp.op === '==' || cmp.op === 'IN')) {
      s.source = { kind: 'primary', table, keys: cmp.other, many: cmp.op === 'IN' };
      return;
    }
  }

  // Equality / IN on an indexed column (unique first; null only on non-sparse indexes).
  let best: { idx: PlannerIndex; cmp: NonNullable<(typeof cmps)[number]['cmp']> } | undefined;
  for (const { cmp } of cmps) {
    if (!cmp || (cmp.op !== '==' && cmp.op !== 'IN')) continue;
    const col = cmp.path.join('.');
    const k = constant(cmp.other, opts.bindVars);
    if (k) {
      const vals = cmp.op === 'IN' ? (Array.isArray(k.value) ? k.value : []) : [k.value];
      if (!vals.every(isScalar)) continue;
    }
    for (const idx of c.indexes) {
      if (idx.columns.length !== 1 || idx.columns[0] !== col) continue;
      if (idx.sparse && k && (cmp.op === 'IN' ? Array.isArray(k.value) && k.value.includes(null) : k.value === null)) continue;
      if (!best || (idx.unique && !best.idx.unique) || (cmp.op === '==' && best.cmp.op === 'IN')) best = { idx, cmp };
    }
  }
  if (best) {
    s.source = {
      kind: 'index_eq',
      table,
      indexId: best.idx.id,
      column: best.idx.columns[0]!,
      values: best.cmp.other,
      many: best.cmp.op === 'IN',
      unique: best.idx.unique,
      sparse: best.idx.sparse,
    };
    return;
  }

  // Range on a range index: bounds known at plan time, scalar.
  const ranges = new Map<string, { lower?: Bound; upper?: Bound }>();
  for (const { cmp } of cmps) {
    if (!cmp || cmp.op === '==' || cmp.op === 'IN') continue;
    const k = constant(cmp.other, opts.bindVars);
    if (!k || !isScalar(k.value) || k.value === null) continue;
    const col = cmp.path.join('.');
    const r = ranges.get(col) ?? {};
    const b = { expr: cmp.other, inclusive: cmp.op === '<=' || cmp.op === '>=' };
    if (cmp.op === '>' || cmp.op === '>=') r.lower = b;
    else r.upper = b;
    ranges.set(col, r);
  }
  for (const [col, r] of ranges) {
    const idx = c.indexes.find(
      (x) => x.type === 'range' && x.columns.length === 1 && x.columns[0] === col && !(x.sparse && r.lower === undefined),
    );
    if (idx) {
      s.source = {
        kind: 'index_range',
        table,
        indexId: idx.id,
        column: col,
        ...(r.lower ? { lower: r.lower } : {}),
        ...(r.upper ? { upper: r.upper } : {}),
        reverse: false,
      };
      return;
    }
  }

  // An equality join on an outer variable without an index: hash join (build the inner side once).
  for (const { cmp } of cmps) {
    if (cmp && cmp.op === '==' && freeVars(cmp.other).size > 0) {
      const hashMax = opts.hashJoinMaxRows ?? 1_000_000;
      if (c.rows <= hashMax) {
        const innerKey = cmp.path.reduce<Expr>((o, name) => ({ type: 'attr', object: o, name, pos: s.pos }), {
          type: 'var',
          name: s.var,
          pos: s.pos,
        });
        s.source = { kind: 'hash_join', table, innerKey, outerKey: cmp.other };
        return;
      }
    }
  }
}

/**
 * SORT x.col ASC|DESC (one key) right after a FOR over a table with a
 * non-sparse range index on col, with a LIMIT after it: scan the index in
 * that order and stop early; the sort step only checks the order holds.
 */
/**
 * `FOR v IN t [FILTER on v.a] COLLECT g = v.a [WITH COUNT INTO n]` (the
 * level's first two steps) where `a` has a single-column, non-unique,
 * non-sparse index: the groups and their counts come from the index keys
 * alone (exec/index-collect.ts), never from the documents, as a loose index
 * scan does in other databases. Such an index holds every document (a
 * missing attribute as null; an array or object as a compound marker, whose
 * documents are read). The FOR's filters must use `v` only through `v.a`
 * and be plain comparisons (no calls, arithmetic or subqueries): they run
 * once per distinct value instead of once per document. Aggregates may only
 * count (COUNT / LENGTH of a constant or of `v.a`).
 */
function indexOnlyCollect(steps: Step[], cat: Catalogue): void {
  const f = steps[0];
  const c = steps[1];
  if (f?.kind !== 'for' || c?.kind !== 'collect' || c.op.into || c.op.groups.length !== 1) return;
  const src = f.source;
  if (src.kind !== 'full_scan' && src.kind !== 'index_range' && src.kind !== 'index_eq') return;
  const path = attributePath(c.op.groups[0]!.expr, f.var);
  if (!path) return;
  const column = path.join('.');
  const idx = cat(src.table).indexes.find(
    (i) =>
      i.columns.length === 1 &&
      i.columns[0] === column &&
      !i.unique &&
      !i.sparse &&
      (src.kind === 'full_scan' || i.id === (src as { indexId: number }).indexId),
  );
  if (!idx) return;
  const counts = (a: (typeof c.op.aggregates)[number]) =>
    (a.fn === 'COUNT' || a.fn === 'LENGTH') &&
    (a.arg === undefined || a.arg.type === 'literal' || samePath(attributePath(a.arg, f.var), path));
  if (!c.op.aggregates.every(counts)) return;
  if (!f.filters.every((e) => plainComparison(e, f.var, path))) return;
  c.indexOnly = { indexId: idx.id, path };
}

/**
 * A full-scan COLLECT that reads the FOR's documents only through attribute
 * paths (the columns): which paths, and how each group value and aggregate
 * argument is read — one path's value as it is (`>= 0`: its index in
 * `paths`), or an expression evaluated on the row with the projection of
 * the paths (`-1`); `-2`: an aggregate without an argument.
 */
export interface ColumnPlan {
  paths: string[][];
  groups: number[];
  aggregates: number[];
  /** Whether a row with the projection must be built (filters, or a value that is not a path alone). */
  projection: boolean;
}

/**
 * `FOR v IN t [FILTER …] COLLECT … [AGGREGATE …] [WITH COUNT INTO n]` (the
 * level's first two steps, a full scan, no INTO) where the filters, group
 * values and aggregate arguments use `v` only through attribute paths
 * (`v.a`, `v.a.b`; not `_key`/`_id`, no subqueries): the COLLECT runs from
 * those attribute values alone (exec/column-collect.ts) — in-memory columns
 * of the table when they are the query's state, else one scan that parses
 * each document once and may leave the columns behind
 * (columns/resident-columns.ts).
 */
function columnCollect(steps: Step[]): void {
  const f = steps[0];
  const c = steps[1];
  if (f?.kind !== 'for' || c?.kind !== 'collect' || c.indexOnly || c.op.into || f.source.kind !== 'full_scan') return;
  const v = f.var;
  const paths: string[][] = [];
  const index = new Map<string, number>();
  const add = (p: string[]): number => {
    const n = JSON.stringify(p);
    let i = index.get(n);
    if (i === undefined) {
      i = paths.length;
      paths.push(p);
      index.set(n, i);
    }
    return i;
  };
  // An attribute path of `v` by plain `.name` steps only (what a column holds: columns/resident-columns.ts valueAt).
  const pathOf = (e: Expr): string[] | undefined => {
    const p = attributePath(e, v);
    if (p === undefined || p[0] === '_key' || p[0] === '_id') return undefined;
    for (let x = e; x.type !== 'var' && x.type !== 'name'; x = (x as { object: Expr }).object) if (x.type !== 'attr') return undefined;
    return p;
  };
  let ok = true;
  const onlyPaths = (e: Expr): void => {
    if (!ok) return;
    const p = pathOf(e);
    if (p !== undefined) {
      add(p);
      return;
    }
    if (e.type === 'subquery' || ((e.type === 'var' || e.type === 'name') && e.name === v)) {
      ok = false;
      return;
    }
    for (const x of children(e)) onlyPaths(x);
  };
  const read = (e: Expr): number => {
    const p = pathOf(e);
    if (p !== undefined) return add(p);
    onlyPaths(e);
    return -1;
  };
  for (const e of f.filters) onlyPaths(e);
  const groups = c.op.groups.map((g) => read(g.expr));
  // COUNT and LENGTH count rows whatever their argument is: a literal or bind value (COUNT(1)) needs no projection.
  const counted = (a: (typeof c.op.aggregates)[number]) =>
    (a.fn === 'COUNT' || a.fn === 'LENGTH') && (a.arg?.type === 'literal' || a.arg?.type === 'bind');
  const aggregates = c.op.aggregates.map((a) => (a.arg === undefined || counted(a) ? -2 : read(a.arg)));
  if (!ok || paths.length === 0) return;
  // One path inside another would need two values for one attribute in the projection.
  const names = paths.map((p) => p.join('\u0000'));
  if (names.some((a, i) => names.some((b, j) => i !== j && b.startsWith(`${a}\u0000`)))) return;
  const projection = f.filters.length > 0 || groups.includes(-1) || aggregates.includes(-1);
  c.columnar = { paths, groups, aggregates, projection };
}

const samePath = (a: readonly string[] | undefined, b: readonly string[]) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** Comparisons, AND/OR/NOT, literals, bind values, outer variables and `v.<path>…`: no calls, arithmetic or subqueries, no other use of `v`. */
function plainComparison(e: Expr, v: string, path: readonly string[]): boolean {
  const p = attributePath(e, v);
  if (p) return p.length >= path.length && path.every((x, i) => x === p[i]);
  switch (e.type) {
    case 'literal':
    case 'bind':
      return true;
    case 'var':
    case 'name':
      return e.name !== v;
    case 'unary':
      return e.op === 'NOT' && plainComparison(e.arg, v, path);
    case 'binary':
      return (
        ['==', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'AND', 'OR'].includes(e.op) &&
        children(e).every((x) => plainComparison(x, v, path))
      );
    case 'array':
      return e.items.every((x) => plainComparison(x, v, path));
    default:
      return false;
  }
}

function useIndexOrder(steps: Step[], cat: Catalogue): void {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.kind !== 'sort' || s.byIndex) continue;
    topK(s, steps);
    if (s.keys.length !== 1) continue;
    // the FOR directly before (only LETs in between are fine: they don't change rows)
    let j = i - 1;
    while (j >= 0 && steps[j]!.kind === 'let') j--;
    const f = steps[j];
    if (!f || f.kind !== 'for' || !s.limit) continue;
    if (steps.slice(0, j).some((x) => x.kind === 'for' || x.kind === 'traversal' || x.kind === 'shortestPath' || x.kind === 'paths'))
      continue; // only the outermost loop
    const src = f.source;
    if (src.kind !== 'full_scan' && src.kind !== 'index_range') continue;
    const p = attributePath(s.keys[0]!.expr, f.var);
    if (!p) continue;
    const col = p.join('.');
    if (src.kind === 'index_range' && src.column !== col) continue;
    const idx = cat(src.table).indexes.find((x) => x.type === 'range' && x.columns.length === 1 && x.columns[0] === col && !x.sparse);
    if (!idx) continue;
    const reverse = s.keys[0]!.dir === 'DESC';
    f.source =
      src.kind === 'index_range'
        ? { ...src, reverse, ordered: true }
        : { kind: 'index_range', table: src.table, indexId: idx.id, column: col, reverse, ordered: true };
    s.byIndex = true;
  }
}

/**
 * An index range scan whose rows go straight to a LIMIT (LETs in between, or
 * a SORT that its order answers) gets the LIMIT as a hint: its first read
 * fetches about that many entries instead of the default chunk. Only the
 * read size depends on it; filters that drop rows make the scan read on.
 */
function limitHints(steps: Step[]): void {
  // Literals and bind values only: evaluating them cannot wait or fail.
  const plain = (e: Expr) => e.type === 'literal' || e.type === 'bind';
  for (let i = 0; i < steps.length; i++) {
    const f = steps[i]!;
    if (f.kind !== 'for' || f.source.kind !== 'index_range') continue;
    let j = i + 1;
    while (steps[j]?.kind === 'let') j++;
    const next = steps[j];
    const hint = next?.kind === 'limit' ? next : next?.kind === 'sort' && next.byIndex ? next.limit : undefined;
    if (hint && plain(hint.offset) && plain(hint.count)) f.source.hint = { offset: hint.offset, count: hint.count };
  }
}

/** A SORT directly followed by a LIMIT only needs the first offset + count rows. */
function topK(s: Extract<Step, { kind: 'sort' }>, steps: Step[]): void {
  const next = steps[steps.indexOf(s) + 1];
  if (next?.kind === 'limit') s.limit = { offset: next.offset, count: next.count };
}

function explainOf(steps: Step[], mode: Plan['mode'], cat: Catalogue): Record<string, unknown> {
  const indexes: Record<string, unknown>[] = [];
  let estimated = 1;
  let join: string | undefined;
  let fors = 0;
  for (const s of steps) {
    if (s.kind === 'for') {
      const src = s.source;
      const rows = src.kind === 'expr' ? undefined : cat(src.table).rows;
      switch (src.kind) {
        case 'full_scan':
          estimated *= Math.max(1, rows! / (s.filters.length > 0 ? 10 : 1));
          break;
        case 'primary':
          indexes.push({ variable: s.var, collection: src.table, type: 'primary', attribute: '_key' });
          break;
        case 'index_eq':
          indexes.push({
            variable: s.var,
            collection: src.table,
            type: 'equality',
            id: src.indexId,
            attribute: src.column,
            unique: src.unique,
          });
          estimated *= src.unique ? 1 : Math.max(1, Math.ceil(rows! / 100));
          break;
        case 'index_range':
          indexes.push({
            variable: s.var,
            collection: src.table,
            type: 'range',
            id: src.indexId,
            attribute: src.column,
            reverse: src.reverse,
            ...(src.lower ? { lower: true } : {}),
            ...(src.upper ? { upper: true } : {}),
          });
          estimated *= Math.max(1, Math.ceil(rows! / (src.lower || src.upper ? 4 : 1)));
          break;
        case 'hash_join':
          estimated *= 1;
          break;
        case 'fulltext':
          indexes.push({ variable: s.var, collection: src.table, type: 'fulltext', attribute: src.column });
          estimated *= Math.max(1, Math.ceil(rows! / 10));
          break;
        case 'vector':
          indexes.push({ variable: s.var, collection: src.table, type: 'vector', index: src.index, attribute: src.field });
          break;
        case 'expr':
          break;
      }
      if (src.kind !== 'expr') {
        if (fors > 0) join = src.kind === 'hash_join' ? 'hash_join' : src.kind === 'full_scan' ? 'nested_loop' : 'index_nested_loop';
        fors++;
      }
    }
    if (s.kind === 'limit') {
      // unknown counts stay as estimated
    }
  }
  return {
    mode,
    let_pre_extracted: false,
    indexes,
    estimated_rows: Math.round(estimated),
    ...(join ? { join_strategy: join } : {}),
    steps: steps.map(describeStep),
  };
}

/** `edges`: the edge collection, or (several, or one with its own direction) each as "name" or "DIRECTION name". */
function describeEdges(s: Extract<Step, { kind: 'traversal' | 'shortestPath' | 'paths' }>): Record<string, unknown> {
  if (!s.op.edges) return { edges: s.edgeTable };
  const dir = s.op.direction.toLowerCase();
  return { edges: s.edges.map((e) => (e.direction === dir ? e.table : `${e.direction.toUpperCase()} ${e.table}`)) };
}

function describeStep(s: Step): Record<string, unknown> {
  switch (s.kind) {
    case 'for': {
      const src = s.source;
      const base: Record<string, unknown> = { type: 'for', variable: s.var, access: src.kind };
      if (src.kind !== 'expr') base.collection = src.table;
      if (src.kind === 'index_eq' || src.kind === 'index_range') (base.index = src.indexId), (base.attribute = src.column);
      if (src.kind === 'index_range') base.reverse = src.reverse;
      if (src.kind === 'fulltext') base.attribute = src.column;
      if (src.kind === 'vector') (base.index = src.index), (base.attribute = src.field);
      if (s.filters.length > 0) base.filters = s.filters.length;
      return base;
    }
    case 'traversal':
      return {
        type: 'traversal',
        direction: s.op.direction,
        min: s.op.min,
        max: s.op.max,
        ...describeEdges(s),
        order: s.config.order,
        unique_vertices: s.config.uniqueVertices,
        unique_edges: s.config.uniqueEdges,
        ...(s.op.prune ? { prune: true } : {}),
        ...(s.filters.length ? { filters: s.filters.length } : {}),
      };
    case 'shortestPath':
      return {
        type: 'shortest_path',
        direction: s.op.direction,
        ...describeEdges(s),
        ...(s.config.weightAttribute !== undefined
          ? { weight_attribute: s.config.weightAttribute, default_weight: s.config.defaultWeight }
          : {}),
      };
    case 'paths':
      return {
        type: s.op.algorithm === 'kShortestPaths' ? 'k_shortest_paths' : s.op.algorithm === 'kPaths' ? 'k_paths' : 'all_shortest_paths',
        direction: s.op.direction,
        ...(s.op.algorithm === 'kPaths' ? { min: s.op.min, max: s.op.max } : {}),
        ...describeEdges(s),
        ...(s.config.weightAttribute !== undefined
          ? { weight_attribute: s.config.weightAttribute, default_weight: s.config.defaultWeight }
          : {}),
        ...(s.filters.length ? { filters: s.filters.length } : {}),
      };
    case 'filter':
      return { type: 'filter' };
    case 'let':
      return { type: 'let', variable: s.var };
    case 'sort':
      return { type: 'sort', keys: s.keys.length, by_index: s.byIndex, ...(s.limit ? { top_k: true } : {}) };
    case 'limit':
      return { type: 'limit' };
    case 'collect':
      return {
        type: 'collect',
        groups: s.op.groups.map((g) => g.var),
        aggregates: s.op.aggregates.map((a) => `${a.var} = ${a.fn}`),
        ...(s.op.into ? { into: s.op.into.var } : {}),
        ...(s.op.count ? { count: s.op.count } : {}),
        ...(s.indexOnly ? { index_only: true } : {}),
        ...(s.columnar ? { columnar: true } : {}),
      };
    case 'window': {
      const b = s.bounds;
      const show = (v: number) => (v === Number.POSITIVE_INFINITY ? 'unbounded' : v);
      return {
        type: 'window',
        ...(b.type === 'row'
          ? { preceding: show(b.preceding), following: show(b.following) }
          : b.type === 'range'
            ? { range: true, preceding: b.preceding, following: b.following }
            : { range: true, preceding: durationText(b.preceding), following: durationText(b.following) }),
        aggregates: s.op.aggregates.map((a) => `${a.var} = ${a.fn}`),
      };
    }
    case 'modify':
      return { type: s.op.type, collection: s.table };
  }
}

/** The shortest ISO 8601 text of a duration (ArangoDB's WindowBounds::toVelocyPack). */
function durationText(d: IsoDuration): string {
  let r = 'P';
  const add = (v: number, c: string) => {
    if (v !== 0) r += `${v}${c}`;
  };
  add(d.years, 'Y');
  add(d.months, 'M');
  add(d.weeks, 'W');
  add(d.days, 'D');
  if (d.hours || d.minutes || d.seconds || d.milliseconds) {
    r += 'T';
    add(d.hours, 'H');
    add(d.minutes, 'M');
    if (d.milliseconds === 0) add(d.seconds, 'S');
    else r += `${d.seconds}.${String(d.milliseconds).padStart(3, '0')}S`;
  }
  return r === 'P' ? 'P0D' : r;
}
