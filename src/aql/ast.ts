/**
 * The AQL abstract syntax tree: what the parser (chevrotain CST → this, see
 * parse.ts) produces and the planner and executor consume. Plain data.
 *
 * Identifiers are not resolved here: a bare name in `FOR x IN name` is a
 * `name` node (a collection unless a variable of that name is in scope);
 * everywhere else a bare identifier is a `var` node.
 */

/** A position in the query text (1-based line and column, 0-based offset). */
export interface Pos {
  line: number;
  column: number;
  offset: number;
}

/** AQL values are JSON values. */
export type AqlValue = null | boolean | number | string | AqlValue[] | { [k: string]: AqlValue };

export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'IN'
  | 'NOT IN'
  | 'LIKE'
  | 'NOT LIKE'
  | '=~'
  | '!~'
  | 'AND'
  | 'OR';

export type Expr =
  | { type: 'literal'; value: AqlValue; pos: Pos }
  /** `@name`: a value from bind_vars. */
  | { type: 'bind'; name: string; pos: Pos }
  /** `@@name`: a collection name from bind_vars (only where a collection is expected). */
  | { type: 'bindCollection'; name: string; pos: Pos }
  | { type: 'var'; name: string; pos: Pos }
  /** A bare identifier in a collection position (FOR ... IN name): a collection, unless a variable of that name is in scope. */
  | { type: 'name'; name: string; pos: Pos }
  /** `object.name` (also `object["name"]` with a string literal is an `index`). */
  | { type: 'attr'; object: Expr; name: string; pos: Pos }
  /** `object[index]`: array position (negative from the end) or attribute name. */
  | { type: 'index'; object: Expr; index: Expr; pos: Pos }
  /**
   * Array expansion `array[*]...`: `map` is evaluated for each element with
   * the element bound to `var` (a name the parser generates, e.g. `$CURRENT1`);
   * absent = the elements themselves. `flatten` is the number of extra `*`
   * (`[**]` = 1). `filter`/`limit`/`ret` come from the inline form
   * `[* FILTER cond LIMIT n RETURN expr]` (CURRENT refers to the element there).
   */
  | {
      type: 'expand';
      array: Expr;
      var: string;
      map?: Expr;
      flatten: number;
      filter?: Expr;
      limit?: { offset: Expr; count: Expr };
      /**
       * The question-mark form `array[? quantifier FILTER cond]`: the result is
       * a boolean, whether the number of elements passing `filter` fits the
       * quantifier (no `map`, `limit` or `flatten` beyond `[??]` then).
       */
      quantifier?: ArrayQuantifier;
      pos: Pos;
    }
  | { type: 'unary'; op: '-' | '+' | 'NOT'; arg: Expr; pos: Pos }
  /**
   * An array comparison `left ALL|ANY|NONE|AT LEAST (n) op right`: `op`
   * compares each element of `left` (an array, else the result is false)
   * with `right`; the quantifier says how many comparisons must hold.
   */
  | {
      type: 'arrayCompare';
      quantifier: { kind: 'any' | 'all' | 'none' } | { kind: 'atLeast'; count: Expr };
      op: ArrayCompareOp;
      left: Expr;
      right: Expr;
      pos: Pos;
    }
  | { type: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: Pos }
  /** `cond ? then : else`; `cond ?: else` has no `then` (the condition's value when truthy). */
  | { type: 'ternary'; cond: Expr; then?: Expr; else: Expr; pos: Pos }
  | { type: 'array'; items: Expr[]; pos: Pos }
  /** Object literal; shorthand `{city}` is `{key: 'city', value: var city}`; `[expr]: value` has a computed key. */
  | { type: 'object'; props: { key: string | Expr; value: Expr }[]; pos: Pos }
  /** Function call; `name` upper-cased (AQL function names are case-insensitive). */
  | { type: 'call'; name: string; args: Expr[]; pos: Pos }
  /** `( FOR ... RETURN ... )` used as an expression: an array of the subquery's results. */
  | { type: 'subquery'; query: Query; pos: Pos }
  /** `from..to`: the integers from..to inclusive. */
  | { type: 'range'; from: Expr; to: Expr; pos: Pos };

/** The comparison operators that take an ALL/ANY/NONE/AT LEAST quantifier. */
export type ArrayCompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'IN' | 'NOT IN';

/**
 * How many elements must match: ANY (at least one), ALL (every one), NONE,
 * AT LEAST (count), exactly `count`, between `min` and `max` (inclusive);
 * `default` (`arr[?]`, `arr[? FILTER ...]`) is at least one.
 */
export type ArrayQuantifier =
  | { kind: 'any' | 'all' | 'none' | 'default' }
  | { kind: 'atLeast' | 'exact'; count: Expr }
  | { kind: 'range'; min: Expr; max: Expr };

export type Direction = 'OUTBOUND' | 'INBOUND' | 'ANY';

/**
 * One entry of a graph operation's edge collection list (`start edges1,
 * INBOUND edges2`): `direction` when the entry names its own (overriding the
 * operation's).
 */
export interface EdgeCollectionRef {
  table: string | Expr;
  direction?: Direction;
}
export type AggregateFn =
  | 'COUNT'
  | 'SUM'
  | 'AVG'
  | 'AVERAGE'
  | 'MIN'
  | 'MAX'
  | 'LENGTH'
  | 'UNIQUE'
  | 'SORTED_UNIQUE'
  | 'COUNT_DISTINCT'
  | 'COUNT_UNIQUE'
  | 'PUSH'
  | 'VARIANCE_POPULATION'
  | 'VARIANCE'
  | 'VARIANCE_SAMPLE'
  | 'STDDEV_POPULATION'
  | 'STDDEV'
  | 'STDDEV_SAMPLE'
  | 'BIT_AND'
  | 'BIT_OR'
  | 'BIT_XOR';

/** An `OPTIONS {...}` entry as written (the planner checks the value, bind parameters included). */
export type OptionEntry = { key: string; value: Expr; pos: Pos };

export type Op =
  /**
   * `FOR var IN expr` — a collection (`name`/`bindCollection`) or any array expression.
   * `lookup`: the search of an UPSERT, where a collection that does not exist yet is empty.
   */
  | { type: 'for'; var: string; in: Expr; pos: Pos; lookup?: true }
  /**
   * `FOR v[, e[, p]] IN min..max OUTBOUND|INBOUND|ANY start edgeTable`
   * (min/max default 1..1 when the range is omitted).
   */
  | {
      type: 'traversal';
      vertexVar: string;
      edgeVar?: string;
      pathVar?: string;
      min: number;
      max: number;
      direction: Direction;
      start: Expr;
      /** The (first) edge collection. */
      edgeTable: string | Expr;
      /** The whole list, when there is more than one entry or one names its own direction (edgeTable is the first). */
      edges?: EdgeCollectionRef[];
      /** `PRUNE [pruneVar =] prune`: a path for which it is true is returned (depth permitting) but not extended. */
      prune?: Expr;
      /** `PRUNE var = condition`: the condition's value, bound for the rest of the query. */
      pruneVar?: string;
      /** `OPTIONS {...}`: the entries as written (the planner checks them, bind values included). */
      options?: OptionEntry[];
      pos: Pos;
    }
  /** `FOR v[, e] IN OUTBOUND|INBOUND|ANY SHORTEST_PATH from TO to edgeTable` */
  | {
      type: 'shortestPath';
      vertexVar: string;
      edgeVar?: string;
      direction: Direction;
      from: Expr;
      to: Expr;
      edgeTable: string | Expr;
      edges?: EdgeCollectionRef[];
      /** `OPTIONS {weightAttribute, defaultWeight}`: the entries as written (the planner checks the values). */
      options?: OptionEntry[];
      pos: Pos;
    }
  /**
   * `FOR path IN OUTBOUND|INBOUND|ANY K_SHORTEST_PATHS from TO to edges`,
   * `FOR path IN min..max DIRECTION K_PATHS from TO to edges` (min..max only
   * here, default 1..1) and `FOR path IN DIRECTION ALL_SHORTEST_PATHS from TO
   * to edges`: one row per path.
   */
  | {
      type: 'paths';
      algorithm: 'kShortestPaths' | 'kPaths' | 'allShortestPaths';
      pathVar: string;
      min: number;
      max: number;
      direction: Direction;
      from: Expr;
      to: Expr;
      edgeTable: string | Expr;
      edges?: EdgeCollectionRef[];
      /** `OPTIONS {...}`: the entries as written (the planner checks the values). */
      options?: OptionEntry[];
      pos: Pos;
    }
  | { type: 'filter'; cond: Expr; pos: Pos }
  | { type: 'let'; var: string; expr: Expr; pos: Pos }
  | { type: 'sort'; keys: { expr: Expr; dir: 'ASC' | 'DESC' }[]; pos: Pos }
  /** `LIMIT count` (offset literal 0) or `LIMIT offset, count`. */
  | { type: 'limit'; offset: Expr; count: Expr; pos: Pos }
  /**
   * `COLLECT [k = expr, ...] [AGGREGATE a = FN(expr), ...] [INTO g [= expr]] [WITH COUNT INTO n]`.
   * Without `into.expr`, `g` is an array of objects holding every variable in scope per row.
   */
  | {
      type: 'collect';
      groups: { var: string; expr: Expr }[];
      aggregates: { var: string; fn: AggregateFn; arg?: Expr }[];
      /** `keep`: `INTO g KEEP a, b` (g's entries hold only these variables). */
      into?: { var: string; expr?: Expr; keep?: string[] };
      count?: string;
      pos: Pos;
    }
  /**
   * `WINDOW { preceding, following } AGGREGATE a = FN(expr), ...` (row-based) or
   * `WINDOW range WITH { preceding, following } AGGREGATE ...` (range-based).
   * Each row continues with the aggregates over its window frame bound.
   * `bounds`: the spec object's entries as written (the planner evaluates and checks them).
   */
  | {
      type: 'window';
      range?: Expr;
      bounds: { key: string; value: Expr; pos: Pos }[];
      aggregates: { var: string; fn: AggregateFn; arg?: Expr }[];
      pos: Pos;
    }
  /** `INSERT doc INTO table` */
  | { type: 'insert'; doc: Expr; table: string | Expr; pos: Pos }
  /** `UPDATE doc IN table` (key from doc._key) or `UPDATE key WITH patch IN table`; REPLACE likewise. */
  | { type: 'update' | 'replace'; key: Expr; with?: Expr; table: string | Expr; pos: Pos }
  /** `REMOVE key IN table` (key: a string or an object with _key). */
  | { type: 'remove'; key: Expr; table: string | Expr; pos: Pos }
  /**
   * `UPSERT search INSERT doc UPDATE|REPLACE patch IN table`. The parser
   * puts a `LET found = (FOR c IN table FILTER <search> LIMIT 1 RETURN c)[0]`
   * before it: when `found` is a document, it is updated (replaced) with
   * `update`, evaluated with OLD = that document; otherwise `insert` is inserted.
   */
  | {
      type: 'upsert';
      found: string;
      insert: Expr;
      update: Expr;
      replace: boolean;
      table: string | Expr;
      /** The search as attribute paths and values (an object-literal search): documents this UPSERT wrote are found by them too. */
      match?: { path: string[]; value: Expr }[];
      pos: Pos;
    };

export interface Query {
  /** `WITH c1, c2` at the start of the (top-level) query: collections declared to be read. */
  with?: (string | Expr)[];
  /** Operations in order. */
  ops: Op[];
  /** `RETURN [DISTINCT] expr`; absent when the query ends with a data-modification operation. */
  ret?: { expr: Expr; distinct: boolean; pos: Pos };
}

/** A parse (or semantic) error, returned as data. */
export interface AqlSyntaxError {
  message: string;
  line: number;
  column: number;
  offset: number;
  /** The offending token's text ('' at end of input). */
  token: string;
}
