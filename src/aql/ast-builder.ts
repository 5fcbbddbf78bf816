/**
 * CST (parser.ts) → AST (ast.ts). A chevrotain CST visitor: one method per
 * grammar rule, each taking the rule node's `children`. Hot paths call the
 * methods directly instead of going through `visit` (same result, less
 * dispatch). Also here: binary-operator precedence (the parser hands over a
 * flat operand/operator list), array-expansion rewriting (`CURRENT` → a
 * generated `$CURRENT<n>`), literal decoding and the structural checks a
 * grammar cannot express cheaply (RETURN last, aggregate functions, OPTIONS
 * keys, traversal depth, variable counts). Failures throw AqlBuildError.
 */
import type { CstChildrenDictionary, CstNode, IToken, TokenType } from 'chevrotain';
import type { AggregateFn, ArrayCompareOp, BinaryOp, Direction, EdgeCollectionRef, Expr, Op, OptionEntry, Pos, Query } from './ast.js';
import * as T from './lexer.js';
import { aqlParser } from './parser.js';

type Ch = CstChildrenDictionary;
type ExpandExpr = Extract<Expr, { type: 'expand' }>;
type CollectOp = Extract<Op, { type: 'collect' }>;
type WindowOp = Extract<Op, { type: 'window' }>;
type UpdateOp = Extract<Op, { type: 'update' | 'replace' }>;
type TraversalOp = Extract<Op, { type: 'traversal' }>;
type ShortestPathOp = Extract<Op, { type: 'shortestPath' }>;
type PathsOp = Extract<Op, { type: 'paths' }>;
type CompareQuantifier = Extract<Expr, { type: 'arrayCompare' }>['quantifier'];

/** A positioned error found while building (parse.ts formats it). */
export class AqlBuildError extends Error {
  constructor(
    /** What went wrong, without the position prefix. */
    readonly detail: string,
    readonly pos: Pos,
    /** The offending token's text ('' at the end of the query). */
    readonly token: string,
    /** The error is at the end of the query ("unexpected end of query: ..."). */
    readonly atEnd = false,
  ) {
    super(detail);
    this.name = 'AqlBuildError';
  }
}

export const AGGREGATE_FUNCTIONS: readonly AggregateFn[] = [
  'COUNT',
  'SUM',
  'AVG',
  'MIN',
  'MAX',
  'LENGTH',
  'UNIQUE',
  'COUNT_DISTINCT',
  'COUNT_UNIQUE',
  'AVERAGE',
  'SORTED_UNIQUE',
  'VARIANCE_POPULATION',
  'VARIANCE',
  'VARIANCE_SAMPLE',
  'STDDEV_POPULATION',
  'STDDEV',
  'STDDEV_SAMPLE',
  'BIT_AND',
  'BIT_OR',
  'BIT_XOR',
  'PUSH',
];
const AGGREGATE_SET = new Set<string>(AGGREGATE_FUNCTIONS);
const AGGREGATE_LIST = `${AGGREGATE_FUNCTIONS.slice(0, -1).join(', ')} or ${AGGREGATE_FUNCTIONS[AGGREGATE_FUNCTIONS.length - 1]}`;

/** OPTIONS keys accepted (and ignored: they are hints or durability knobs) per operation; anything else is rejected. */
export const ALLOWED_OPTIONS = {
  FOR: ['indexHint', 'forceIndexHint', 'disableIndex', 'maxProjections', 'useCache', 'lookahead'],
  /** ArangoDB's traversal options: order/bfs/uniqueVertices/uniqueEdges/weights/collection restrictions are applied, the rest are hints. */
  traversal: [
    'order',
    'bfs',
    'uniqueVertices',
    'uniqueEdges',
    'weightAttribute',
    'defaultWeight',
    'vertexCollections',
    'edgeCollections',
    'parallelism',
    'maxProjections',
    'indexHint',
    'useCache',
  ],
  shortestPath: ['weightAttribute', 'defaultWeight', 'useCache'],
  /** ArangoDB's path search options (weights for K_SHORTEST_PATHS only; useCache is a hint). */
  kShortestPaths: ['weightAttribute', 'defaultWeight', 'useCache'],
  kPaths: ['useCache'],
  allShortestPaths: ['useCache'],
  COLLECT: ['method'],
  modification: ['waitForSync', 'exclusive', 'refillIndexCaches'],
} as const satisfies Record<string, readonly string[]>;

/** An AST deeper than this (e.g. a chain of thousands of operators) is rejected, so recursive consumers cannot overflow the stack. */
export const MAX_AST_DEPTH = 1000;

const PREC: Record<string, number> = {
  OR: 1,
  AND: 2,
  '==': 3,
  '!=': 3,
  LIKE: 3,
  'NOT LIKE': 3,
  '=~': 3,
  '!~': 3,
  IN: 4,
  'NOT IN': 4,
  '<': 5,
  '<=': 5,
  '>': 5,
  '>=': 5,
  '..': 6,
  '+': 7,
  '-': 7,
  '*': 8,
  '/': 8,
  '%': 8,
};

const OP_NAMES = new Map<TokenType, string>([
  [T.Or, 'OR'],
  [T.OrOr, 'OR'],
  [T.And, 'AND'],
  [T.AndAnd, 'AND'],
  [T.Eq, '=='],
  [T.Ne, '!='],
  [T.Like, 'LIKE'],
  [T.RegexMatch, '=~'],
  [T.RegexNonMatch, '!~'],
  [T.In, 'IN'],
  [T.Lt, '<'],
  [T.Le, '<='],
  [T.Gt, '>'],
  [T.Ge, '>='],
  [T.Range, '..'],
  [T.Plus, '+'],
  [T.Minus, '-'],
  [T.Star, '*'],
  [T.Slash, '/'],
  [T.Percent, '%'],
]);

const RESERVED = new Set<TokenType>(T.reservedKeywords);
const NO_TOKENS: IToken[] = [];
const NO_NODES: CstNode[] = [];

const tokenOf = (c: Ch, k: string): IToken | undefined => c[k]?.[0] as IToken | undefined;
const tokensOf = (c: Ch, k: string): IToken[] => (c[k] as IToken[] | undefined) ?? NO_TOKENS;
const nodeOf = (c: Ch, k: string): CstNode | undefined => c[k]?.[0] as CstNode | undefined;
const nodesOf = (c: Ch, k: string): CstNode[] => (c[k] as CstNode[] | undefined) ?? NO_NODES;

export const posOf = (t: IToken): Pos => ({ line: t.startLine ?? 1, column: t.startColumn ?? 1, offset: t.startOffset });

/** The first token (smallest offset) under a CST node. */
export function firstToken(n: CstNode): IToken | undefined {
  let best: IToken | undefined;
  for (const k in n.children) {
    const el = n.children[k]?.[0];
    if (!el) continue;
    const t = 'image' in el ? el : firstToken(el);
    if (t && (!best || t.startOffset < best.startOffset)) best = t;
  }
  return best;
}

/** A token's text for messages: its first line, at most `n` characters ("…" marks a cut). */
export function clip(s: string, n = 40): string {
  const line = s.split(/\r\n?|\n/, 1)[0]!;
  return line.length > n ? `${line.slice(0, n)}…` : line.length < s.length ? `${line}…` : line;
}

function errAt(t: IToken | undefined, detail: string, fallback?: Pos): AqlBuildError {
  if (!t) return new AqlBuildError(detail, fallback ?? { line: 1, column: 1, offset: 0 }, '');
  return new AqlBuildError(detail, posOf(t), clip(t.image));
}

const errAtNode = (n: CstNode, detail: string): AqlBuildError => errAt(firstToken(n), detail);

/** Decodes backslash escapes (\n \r \t \b \f \/ \\ \" \' \` \uXXXX; any other escaped character stands for itself). */
export function unescapeAql(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const n = s[++i];
    switch (n) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = s.slice(i + 1, i + 5);
        if (/^[0-9a-fA-F]{4}$/.test(hex)) {
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
        } else out += 'u';
        break;
      }
      case undefined:
        break;
      default:
        out += n;
    }
  }
  return out;
}

/** The name a Name/AnyName token stands for (quoted names unquoted and unescaped). */
export function nameOf(t: IToken): string {
  return t.tokenType === T.QuotedName ? unescapeAql(t.image.slice(1, -1)) : t.image;
}

function numberOf(t: IToken): number {
  const s = t.image;
  const c = s.charCodeAt(1);
  const v = c === 120 || c === 88 ? parseInt(s.slice(2), 16) : c === 98 || c === 66 ? parseInt(s.slice(2), 2) : Number(s);
  if (!Number.isFinite(v)) throw errAt(t, `number ${clip(s)} is out of range`);
  return v;
}

const isModification = (op: Op | undefined): boolean =>
  op !== undefined &&
  (op.type === 'insert' || op.type === 'update' || op.type === 'replace' || op.type === 'remove' || op.type === 'upsert');

/** Operation rule name → the key of its keyword token (for ordering and positions). */
const OP_KEYWORD: Record<string, string> = {
  forOp: 'For',
  filterOp: 'Filter',
  letOp: 'Let',
  sortOp: 'Sort',
  limitOp: 'Limit',
  collectOp: 'Collect',
  windowOp: 'Window',
  returnOp: 'Return',
  insertOp: 'Insert',
  updateOp: 'kind',
  removeOp: 'Remove',
  upsertOp: 'Upsert',
};
const OP_RULES = Object.keys(OP_KEYWORD);
const opOffset = (n: CstNode): number => (n.children[OP_KEYWORD[n.name]!]![0] as IToken).startOffset;

/** The operation nodes among `c` (siblings keyed by rule name), in query order. */
function operationNodes(c: Ch): CstNode[] {
  let out: CstNode[] | undefined;
  let mixed = false;
  for (const k of OP_RULES) {
    const list = c[k] as CstNode[] | undefined;
    if (!list) continue;
    if (!out) out = list;
    else {
      if (!mixed) out = out.slice();
      mixed = true;
      for (const n of list) out.push(n);
    }
  }
  if (!out) return NO_NODES;
  if (mixed) out.sort((a, b) => opOffset(a) - opOffset(b));
  return out;
}

const BaseVisitor = aqlParser.getBaseCstVisitorConstructor();

export class AstBuilder extends BaseVisitor {
  /** Counter for generated expansion variables ($CURRENT1, $CURRENT2, ...). */
  private gen = 0;
  /** The generated variables `CURRENT` stands for, innermost last. */
  private current: string[] = [];
  /** Start position of the last operand/expression built (its first token, including prefix operators and parentheses). */
  private lastStart: Pos = { line: 1, column: 1, offset: 0 };

  constructor() {
    super();
    this.validateVisitor();
  }

  /** The AST of a `query` CST node. */
  build(cst: CstNode): Query {
    this.gen = 0;
    this.current.length = 0;
    return this.query(cst.children);
  }

  // ---- operations -------------------------------------------------------------

  query(c: Ch): Query {
    const q = this.operations(operationNodes(c), undefined);
    const declared = nodesOf(c, 'collection');
    return declared.length > 0 ? { with: declared.map((n) => this.collection(n.children)), ...q } : q;
  }

  /** A (sub)query from its operation nodes; `close` is the token after a subquery (undefined: the top-level query). */
  private operations(nodes: CstNode[], close: IToken | undefined): Query {
    const ops: Op[] = [];
    let ret: Query['ret'];
    let loop = false;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (n.name === 'returnOp') {
        if (i < nodes.length - 1) {
          const next = firstToken(nodes[i + 1]!);
          throw errAt(
            next,
            `RETURN must be the last operation of a ${close ? 'subquery' : 'query'} (found ${next?.image.toUpperCase() ?? 'more'} after it)`,
          );
        }
        // ArangoDB: DISTINCT only inside a FOR loop of its (sub)query (a COLLECT without a FOR is not one).
        const distinct = tokenOf(n.children, 'Distinct');
        if (distinct && !loop)
          throw errAt(
            distinct,
            `cannot use DISTINCT modifier on top-level query element: RETURN DISTINCT needs a FOR loop before it in its ${close ? 'subquery' : 'query'}`,
          );
        ret = this.returnOp(n.children);
      } else if (n.name === 'letOp') {
        for (const op of this.letOp(n.children)) ops.push(op);
      } else if (n.name === 'upsertOp') {
        for (const op of this.upsertOp(n.children)) ops.push(op);
      } else {
        const op = this.operation(n);
        if (op.type === 'for' || op.type === 'traversal' || op.type === 'shortestPath' || op.type === 'paths') loop = true;
        ops.push(op);
      }
    }
    if (!ret && !isModification(ops[ops.length - 1])) {
      const detail = `a ${close ? 'subquery' : 'query'} must end with RETURN or a data-modification operation (INSERT/UPDATE/REPLACE/REMOVE)`;
      if (close) throw errAt(close, detail);
      throw new AqlBuildError(detail, { line: 1, column: 1, offset: 0 }, '', true); // parse.ts fills in the end position
    }
    return ret ? { ops, ret } : { ops };
  }

  /** An operation other than RETURN. */
  private operation(n: CstNode): Op {
    const ch = n.children;
    switch (n.name) {
      case 'forOp':
        return this.forOp(ch);
      case 'filterOp':
        return this.filterOp(ch);
      case 'sortOp':
        return this.sortOp(ch);
      case 'limitOp':
        return this.limitOp(ch);
      case 'collectOp':
        return this.collectOp(ch);
      case 'windowOp':
        return this.windowOp(ch);
      case 'insertOp':
        return this.insertOp(ch);
      case 'updateOp':
        return this.updateOp(ch);
      case 'removeOp':
        return this.removeOp(ch);
    }
    throw new TypeError(`unknown operation ${n.name}`);
  }

  returnOp(c: Ch): NonNullable<Query['ret']> {
    return { expr: this.expr(nodeOf(c, 'expr')!.children), distinct: c.Distinct !== undefined, pos: posOf(tokenOf(c, 'Return')!) };
  }

  forOp(c: Ch): Op {
    const pos = posOf(tokenOf(c, 'For')!);
    const names = tokensOf(c, 'Name');
    const graph = nodeOf(c, 'graphSpec');
    const source = nodeOf(c, 'expr');
    const options = nodeOf(c, 'optionsClause');
    const prune = nodeOf(c, 'prune');
    const search = graph ? tokenOf(graph.children, 'search') : undefined;
    if (prune && !(graph && !search))
      throw errAt(
        tokenOf(c, 'Prune'),
        'PRUNE belongs to a graph traversal (FOR v, e, p IN min..max OUTBOUND|INBOUND|ANY start edges PRUNE condition)',
      );
    if (graph) {
      if (search?.tokenType === T.ShortestPath) {
        const entries = options ? this.optionEntries(options.children, ALLOWED_OPTIONS.shortestPath, 'SHORTEST_PATH') : undefined;
        const op = this.graphSpec(graph.children, names, source, pos) as ShortestPathOp;
        if (entries) op.options = entries;
        return op;
      }
      if (search) {
        const op = this.graphSpec(graph.children, names, source, pos) as PathsOp;
        if (options) op.options = this.optionEntries(options.children, ALLOWED_OPTIONS[op.algorithm], String(search.tokenType.LABEL));
        return op;
      }
      const entries = options ? this.optionEntries(options.children, ALLOWED_OPTIONS.traversal, 'graph traversal') : undefined;
      const op = this.graphSpec(graph.children, names, source, pos) as TraversalOp;
      if (entries) op.options = entries;
      if (prune) {
        op.prune = this.expr(prune.children);
        const pv = tokenOf(c, 'pruneVar');
        if (pv) op.pruneVar = nameOf(pv);
      }
      return op;
    }
    if (names.length > 1)
      throw errAt(names[1], 'FOR over a collection or an array declares one variable (v, e, p are for graph traversals)');
    let src = this.expr(source!.children);
    if (src.type === 'var' && !src.name.startsWith('$CURRENT')) src = { type: 'name', name: src.name, pos: src.pos };
    if (options) this.optionsClause(options.children, ALLOWED_OPTIONS.FOR, 'FOR');
    return { type: 'for', var: nameOf(names[0]!), in: src, pos };
  }

  graphSpec(c: Ch, names: IToken[], depth: CstNode | undefined, pos: Pos): Op {
    const direction = tokenOf(c, 'dir')!.tokenType.LABEL as Direction;
    const exprs = nodesOf(c, 'expr');
    const edges = nodesOf(c, 'edgeColl').map((n) => this.edgeColl(n.children));
    const edgeTable = edges[0]!.table;
    const list = edges.length > 1 || edges[0]!.direction !== undefined ? { edges } : {};
    const vertexVar = nameOf(names[0]!);
    const search = tokenOf(c, 'search');
    if (search?.tokenType === T.ShortestPath) {
      if (depth) throw errAtNode(depth, 'SHORTEST_PATH takes no depth: remove the number or range before the direction');
      if (names.length > 2) throw errAt(names[2], 'SHORTEST_PATH declares at most two variables (vertex, edge)');
      const from = this.expr(exprs[0]!.children);
      const to = this.expr(exprs[1]!.children);
      const op: ShortestPathOp = { type: 'shortestPath', vertexVar, direction, from, to, edgeTable, ...list, pos };
      if (names[1]) op.edgeVar = nameOf(names[1]);
      return op;
    }
    if (search) {
      const word = String(search.tokenType.LABEL);
      const algorithm: PathsOp['algorithm'] =
        search.tokenType === T.KPaths ? 'kPaths' : search.tokenType === T.KShortestPaths ? 'kShortestPaths' : 'allShortestPaths';
      if (depth && algorithm !== 'kPaths')
        throw errAtNode(depth, `${word} takes no depth: remove the number or range before the direction`);
      if (names.length > 1) throw errAt(names[1], `${word} declares one variable (the path)`);
      let min = 1;
      let max = 1;
      if (depth) [min, max] = this.depthRange(depth);
      const from = this.expr(exprs[0]!.children);
      const to = this.expr(exprs[1]!.children);
      return { type: 'paths', algorithm, pathVar: vertexVar, min, max, direction, from, to, edgeTable, ...list, pos };
    }
    if (names.length > 3) throw errAt(names[3], 'a graph traversal declares at most three variables (vertex, edge, path)');
    let min = 1;
    let max = 1;
    if (depth) [min, max] = this.depthRange(depth);
    const op: TraversalOp = {
      type: 'traversal',
      vertexVar,
      min,
      max,
      direction,
      start: this.expr(exprs[0]!.children),
      edgeTable,
      ...list,
      pos,
    };
    if (names[1]) op.edgeVar = nameOf(names[1]);
    if (names[2]) op.pathVar = nameOf(names[2]);
    return op;
  }

  private depthRange(n: CstNode): [number, number] {
    const d = this.expr(n.children);
    const int = (x: Expr): number | undefined =>
      x.type === 'literal' && typeof x.value === 'number' && Number.isInteger(x.value) && x.value >= 0 ? x.value : undefined;
    const single = int(d);
    if (single !== undefined) return [single, single];
    if (d.type === 'range') {
      const a = int(d.from);
      const b = int(d.to);
      if (a !== undefined && b !== undefined) {
        if (a > b) throw errAtNode(n, `traversal depth ${a}..${b} is empty: the minimum must not exceed the maximum`);
        return [a, b];
      }
    }
    throw errAtNode(n, 'a traversal depth must be a non-negative integer or a range of them, such as 1..3');
  }

  /** An entry of a graph operation's edge collection list: the collection, and its own direction if it names one. */
  edgeColl(c: Ch): EdgeCollectionRef {
    const ref: EdgeCollectionRef = { table: this.collection(nodeOf(c, 'collection')!.children) };
    const d = tokenOf(c, 'dir');
    if (d) ref.direction = d.tokenType.LABEL as Direction;
    return ref;
  }

  /** A collection reference: a name or string (→ string), `@@c` (bindCollection) or `@c` (bind). */
  collection(c: Ch): string | Expr {
    let t = tokenOf(c, 'Name');
    if (t) return nameOf(t);
    if ((t = tokenOf(c, 'StringLiteral'))) return unescapeAql(t.image.slice(1, -1));
    if ((t = tokenOf(c, 'BindCollection'))) return { type: 'bindCollection', name: t.image.slice(2), pos: posOf(t) };
    t = tokenOf(c, 'BindParam')!;
    return { type: 'bind', name: t.image.slice(1), pos: posOf(t) };
  }

  /** OPTIONS whose values a step uses: the keys checked against `allowed`, the entries as written (the planner checks the values). */
  optionEntries(c: Ch, allowed: readonly string[], what: string): OptionEntry[] {
    this.optionsClause(c, allowed, what);
    return nodesOf(c, 'objectEntry').map((n) => {
      const { key, value } = this.objectEntry(n.children);
      return { key: key as string, value, pos: posOf(firstToken(n)!) };
    });
  }

  /** Checks OPTIONS keys against `allowed` (the values are not used). */
  optionsClause(c: Ch, allowed: readonly string[], what: string): void {
    for (const entry of nodesOf(c, 'objectEntry')) {
      const ec = entry.children;
      const nameTok = tokenOf(ec, 'AnyName');
      const strTok = tokenOf(ec, 'StringLiteral');
      if (!nameTok && !strTok) throw errAtNode(entry, 'OPTIONS keys must be plain attribute names');
      const key = nameTok ? nameOf(nameTok) : unescapeAql(strTok!.image.slice(1, -1));
      if (!allowed.includes(key)) {
        throw errAt(
          nameTok ?? strTok,
          allowed.length
            ? `unsupported ${what} option "${clip(key)}" (supported: ${allowed.join(', ')})`
            : `${what} OPTIONS are not supported`,
        );
      }
    }
  }

  filterOp(c: Ch): Op {
    return { type: 'filter', cond: this.expr(nodeOf(c, 'expr')!.children), pos: posOf(tokenOf(c, 'Filter')!) };
  }

  /** `LET a = x, b = y`: one LET per assignment, in order (b sees a). */
  letOp(c: Ch): Op[] {
    const pos = posOf(tokenOf(c, 'Let')!);
    const exprs = nodesOf(c, 'expr');
    return tokensOf(c, 'Name').map((t, i) => ({ type: 'let', var: nameOf(t), expr: this.expr(exprs[i]!.children), pos }));
  }

  sortOp(c: Ch): Op {
    return { type: 'sort', keys: nodesOf(c, 'sortKey').map((k) => this.sortKey(k.children)), pos: posOf(tokenOf(c, 'Sort')!) };
  }

  sortKey(c: Ch): { expr: Expr; dir: 'ASC' | 'DESC' } {
    return { expr: this.expr(nodeOf(c, 'expr')!.children), dir: c.Desc ? 'DESC' : 'ASC' };
  }

  limitOp(c: Ch): Op {
    const t = tokenOf(c, 'Limit')!;
    const pos = posOf(t);
    const e = nodesOf(c, 'expr');
    if (e.length === 1) return { type: 'limit', offset: { type: 'literal', value: 0, pos }, count: this.expr(e[0]!.children), pos };
    return { type: 'limit', offset: this.expr(e[0]!.children), count: this.expr(e[1]!.children), pos };
  }

  collectOp(c: Ch): Op {
    const pos = posOf(tokenOf(c, 'Collect')!);
    const groupsNode = nodeOf(c, 'assignments');
    const aggNode = nodeOf(c, 'collectAggregate');
    const intoNode = nodeOf(c, 'collectInto');
    const countNode = nodeOf(c, 'collectCount');
    const op: CollectOp = {
      type: 'collect',
      groups: groupsNode ? this.assignments(groupsNode.children).map(([v, n]) => ({ var: v, expr: this.expr(n.children) })) : [],
      aggregates: aggNode ? this.collectAggregate(aggNode.children) : [],
      pos,
    };
    if (intoNode) op.into = this.collectInto(intoNode.children);
    if (countNode) op.count = this.collectCount(countNode.children);
    const options = nodeOf(c, 'optionsClause');
    if (options) this.optionsClause(options.children, ALLOWED_OPTIONS.COLLECT, 'COLLECT');
    return op;
  }

  /**
   * `WINDOW spec AGGREGATE ...` / `WINDOW range WITH spec AGGREGATE ...`: the
   * spec must be an object literal (ArangoDB's grammar); its values are
   * evaluated and checked by the planner (they must be known at compile time).
   */
  windowOp(c: Ch): Op {
    const pos = posOf(tokenOf(c, 'Window')!);
    const exprs = nodesOf(c, 'expr');
    const specNode = exprs[exprs.length - 1]!;
    const spec = this.expr(specNode.children);
    const ranged = exprs.length > 1;
    if (spec.type !== 'object')
      throw errAtNode(
        specNode,
        ranged
          ? 'WINDOW ... WITH expects an object { preceding: ..., following: ... }'
          : 'WINDOW expects an object { preceding: ..., following: ... } (or a range value followed by WITH { ... })',
      );
    const bounds: WindowOp['bounds'] = [];
    // (ArangoDB skips entries with a computed name; it reads only "preceding" and "following")
    for (const p of spec.props) if (typeof p.key === 'string') bounds.push({ key: p.key, value: p.value, pos: p.value.pos });
    const op: WindowOp = {
      type: 'window',
      bounds,
      aggregates: this.collectAggregate(nodeOf(c, 'collectAggregate')!.children),
      pos,
    };
    if (ranged) op.range = this.expr(exprs[0]!.children);
    return op;
  }

  /** [variable, expression CST] pairs of `name = expr, ...`. */
  assignments(c: Ch): [string, CstNode][] {
    const names = tokensOf(c, 'Name');
    const exprs = nodesOf(c, 'expr');
    return names.map((t, i) => [nameOf(t), exprs[i]!]);
  }

  collectAggregate(c: Ch): CollectOp['aggregates'] {
    return this.assignments(nodeOf(c, 'assignments')!.children).map(([v, n]) => {
      const e = this.expr(n.children);
      if (e.type !== 'call')
        throw errAtNode(n, `AGGREGATE expects a call of an aggregate function (${AGGREGATE_LIST}), e.g. total = SUM(doc.amount)`);
      if (!AGGREGATE_SET.has(e.name)) throw errAtNode(n, `unknown aggregate function ${clip(e.name)}: use one of ${AGGREGATE_LIST}`);
      if (e.args.length > 1) throw errAtNode(n, `aggregate function ${e.name} takes one argument`);
      if (e.args.length === 0 && e.name !== 'COUNT' && e.name !== 'LENGTH')
        throw errAtNode(n, `aggregate function ${e.name} needs an argument`);
      const a: CollectOp['aggregates'][number] = { var: v, fn: e.name as AggregateFn };
      if (e.args[0]) a.arg = e.args[0];
      return a;
    });
  }

  collectInto(c: Ch): NonNullable<CollectOp['into']> {
    const e = nodeOf(c, 'expr');
    const into: NonNullable<CollectOp['into']> = { var: nameOf(tokenOf(c, 'Name')!) };
    if (e) into.expr = this.expr(e.children);
    const keep = tokensOf(c, 'keep');
    if (keep.length > 0) {
      if (e) throw errAt(tokenOf(c, 'Keep'), 'KEEP cannot be combined with INTO g = expression (the expression already says what g holds)');
      into.keep = keep.map(nameOf);
    }
    return into;
  }

  /** ALL | ANY | NONE | AT LEAST (n). */
  quantifier(c: Ch): CompareQuantifier {
    const t = tokenOf(c, 'kind')!;
    if (t.tokenType === T.AtLeast) return { kind: 'atLeast', count: this.expr(nodeOf(c, 'expr')!.children) };
    return { kind: t.tokenType === T.All ? 'all' : t.tokenType === T.Any ? 'any' : 'none' };
  }

  collectCount(c: Ch): string {
    return nameOf(tokenOf(c, 'Name')!);
  }

  docExpr(c: Ch): Expr {
    return this.expr(nodeOf(c, 'expr')!.children);
  }

  /** The target collection of a data-modification operation (OPTIONS checked). */
  inOrInto(c: Ch, what: string): string | Expr {
    const options = nodeOf(c, 'optionsClause');
    if (options) this.optionsClause(options.children, ALLOWED_OPTIONS.modification, what);
    return this.collection(nodeOf(c, 'collection')!.children);
  }

  insertOp(c: Ch): Op {
    const doc = this.docExpr(nodeOf(c, 'docExpr')!.children);
    return { type: 'insert', doc, table: this.inOrInto(nodeOf(c, 'inOrInto')!.children, 'INSERT'), pos: posOf(tokenOf(c, 'Insert')!) };
  }

  updateOp(c: Ch): Op {
    const kindTok = tokenOf(c, 'kind')!;
    const type = kindTok.tokenType === T.Replace ? 'replace' : 'update';
    const docs = nodesOf(c, 'docExpr');
    const key = this.docExpr(docs[0]!.children);
    const op: UpdateOp = { type, key, table: '', pos: posOf(kindTok) };
    if (docs[1]) op.with = this.docExpr(docs[1].children);
    op.table = this.inOrInto(nodeOf(c, 'inOrInto')!.children, type.toUpperCase());
    return op;
  }

  /**
   * UPSERT as ArangoDB builds it: the lookup is a subquery
   * `(FOR c IN table FILTER <search> LIMIT 1 RETURN c)[0]` bound by a LET
   * (an object literal search becomes one `c.path == value` condition per
   * attribute, nested objects as paths, so an index can serve it; a bind
   * parameter is compared with MATCHES()); the upsert operation follows.
   */
  upsertOp(c: Ch): Op[] {
    const pos = posOf(tokenOf(c, 'Upsert')!);
    const n = ++this.gen;
    const found = `$upsert#${n}`;
    const docVar = `$CURRENT${n}`;
    const table = this.inOrInto(nodeOf(c, 'inOrInto')!.children, 'UPSERT');
    const v: Expr = { type: 'var', name: docVar, pos };
    let cond: Expr | undefined;
    let match: { path: string[]; value: Expr }[] | undefined;
    const filterNode = nodeOf(c, 'filter');
    if (filterNode) {
      this.current.push(docVar);
      try {
        cond = this.docExpr(filterNode.children);
      } finally {
        this.current.pop();
      }
    } else {
      const search = this.docExpr(nodeOf(c, 'search')!.children);
      const conds: Expr[] = [];
      const pairs: NonNullable<typeof match> = [];
      match = pairs;
      const flatten = (obj: Extract<Expr, { type: 'object' }>, base: Expr, names: string[]): boolean => {
        for (const p of obj.props) {
          if (typeof p.key !== 'string') return false;
          const path: Expr = { type: 'attr', object: base, name: p.key, pos: p.value.pos };
          // a nested object literal with plain names matches attribute paths (with computed names: as a whole)
          if (p.value.type === 'object' && p.value.props.every((q) => typeof q.key === 'string')) {
            flatten(p.value, path, [...names, p.key]);
          } else {
            conds.push({ type: 'binary', op: '==', left: path, right: p.value, pos: p.value.pos });
            pairs.push({ path: [...names, p.key], value: p.value });
          }
        }
        return true;
      };
      if (search.type === 'object') {
        if (!flatten(search, v, []))
          throw errAtNode(nodeOf(c, 'search')!, 'the search object of UPSERT cannot have computed attribute names (use UPSERT FILTER ...)');
        cond = conds.length === 0 ? undefined : conds.reduce((a, b) => ({ type: 'binary', op: 'AND', left: a, right: b, pos }));
      } else if (search.type === 'bind') {
        cond = { type: 'call', name: 'MATCHES', args: [v, search], pos: search.pos };
        match = undefined;
      } else
        throw errAtNode(
          nodeOf(c, 'search')!,
          'the search of UPSERT must be an object literal or a bind parameter (or use UPSERT FILTER condition, with CURRENT)',
        );
    }
    const lookup: Query = {
      ops: [
        { type: 'for', var: docVar, in: typeof table === 'string' ? { type: 'name', name: table, pos } : table, pos, lookup: true },
        ...(cond ? [{ type: 'filter' as const, cond, pos }] : []),
        { type: 'limit', offset: { type: 'literal', value: 0, pos }, count: { type: 'literal', value: 1, pos }, pos },
      ],
      ret: { expr: v, distinct: false, pos },
    };
    const kind = tokenOf(c, 'kind')!;
    const upsert: Extract<Op, { type: 'upsert' }> = {
      type: 'upsert',
      found,
      insert: this.docExpr(nodeOf(c, 'insert')!.children),
      update: this.docExpr(nodeOf(c, 'update')!.children),
      replace: kind.tokenType === T.Replace,
      table,
      pos,
    };
    if (match) upsert.match = match;
    return [
      {
        type: 'let',
        var: found,
        expr: { type: 'index', object: { type: 'subquery', query: lookup, pos }, index: { type: 'literal', value: 0, pos }, pos },
        pos,
      },
      upsert,
    ];
  }

  removeOp(c: Ch): Op {
    const key = this.docExpr(nodeOf(c, 'docExpr')!.children);
    return { type: 'remove', key, table: this.inOrInto(nodeOf(c, 'inOrInto')!.children, 'REMOVE'), pos: posOf(tokenOf(c, 'Remove')!) };
  }

  // ---- expressions ------------------------------------------------------------

  expr(c: Ch): Expr {
    const operands = c.operand as CstNode[];
    let e = this.operand(operands[0]!.children);
    const start = this.lastStart;
    if (operands.length > 1) e = this.binaryChain(e, start, operands, tokensOf(c, 'op'), nodesOf(c, 'quant'));
    if (c.Question) {
      const then = nodeOf(c, 'then');
      const thenExpr = then ? this.expr(then.children) : undefined;
      const elseExpr = this.expr(nodeOf(c, 'else')!.children);
      e = thenExpr
        ? { type: 'ternary', cond: e, then: thenExpr, else: elseExpr, pos: start }
        : { type: 'ternary', cond: e, else: elseExpr, pos: start };
    }
    this.lastStart = start;
    return e;
  }

  /** Folds `first op operand op operand ...` by precedence (all binary operators are left-associative). */
  private binaryChain(first: Expr, firstStart: Pos, operands: CstNode[], opTokens: IToken[], quantNodes: CstNode[]): Expr {
    const vals: Expr[] = [first];
    const starts: Pos[] = [firstStart];
    const ops: string[] = [];
    /** The quantifier of each pending operator (array comparisons: `ALL ==`, ...). */
    const quants: (CompareQuantifier | undefined)[] = [];
    const reduce = (): void => {
      const op = ops.pop()!;
      const q = quants.pop();
      const right = vals.pop()!;
      const left = vals.pop()!;
      starts.pop();
      const pos = starts[starts.length - 1]!;
      if (q) vals.push({ type: 'arrayCompare', quantifier: q, op: op as ArrayCompareOp, left, right, pos });
      else
        vals.push(op === '..' ? { type: 'range', from: left, to: right, pos } : { type: 'binary', op: op as BinaryOp, left, right, pos });
    };
    let p = 0;
    let qi = 0;
    for (let i = 1; i < operands.length; i++) {
      const t = opTokens[p++]!;
      // a quantifier not yet used that comes before this operator is its own (it stands right before it)
      const qn = quantNodes[qi];
      let q: CompareQuantifier | undefined;
      if (qn && firstToken(qn)!.startOffset < t.startOffset) {
        q = this.quantifier(qn.children);
        qi++;
      }
      let op: string;
      if (t.tokenType === T.Not) op = opTokens[p++]!.tokenType === T.In ? 'NOT IN' : 'NOT LIKE';
      else op = OP_NAMES.get(t.tokenType)!;
      const prec = PREC[op]!;
      while (ops.length > 0 && PREC[ops[ops.length - 1]!]! >= prec) reduce();
      ops.push(op);
      quants.push(q);
      vals.push(this.operand(operands[i]!.children));
      starts.push(this.lastStart);
    }
    while (ops.length > 0) reduce();
    return vals[0]!;
  }

  operand(c: Ch): Expr {
    let e: Expr;
    let start: Pos;
    let t: IToken | undefined;
    if ((t = tokenOf(c, 'Name') ?? tokenOf(c, 'Like'))) {
      start = posOf(t);
      const scoped = tokensOf(c, 'AnyName');
      if (c.call) {
        let name = t.tokenType === T.Like ? 'LIKE' : nameOf(t);
        for (const s of scoped) name += `::${nameOf(s)}`;
        e = { type: 'call', name: name.toUpperCase(), args: this.callArguments(c), pos: start };
      } else if (t.tokenType === T.Like) {
        throw errAt(t, 'LIKE is an operator (text LIKE pattern) or a function call LIKE(text, pattern)');
      } else if (scoped.length > 0) {
        throw errAt(tokenOf(c, 'Scope'), 'a namespaced name must be a function call, e.g. MY::FUNC(x)');
      } else {
        let name = nameOf(t);
        if (name === 'CURRENT' && this.current.length > 0) name = this.current[this.current.length - 1]!;
        e = { type: 'var', name, pos: start };
      }
    } else if ((t = tokenOf(c, 'NumberLiteral'))) {
      start = posOf(t);
      e = { type: 'literal', value: numberOf(t), pos: start };
    } else if ((t = tokenOf(c, 'StringLiteral'))) {
      start = posOf(t);
      e = { type: 'literal', value: unescapeAql(t.image.slice(1, -1)), pos: start };
    } else if ((t = tokenOf(c, 'LParen'))) {
      start = posOf(t);
      const inner = nodeOf(c, 'inner');
      e = inner
        ? this.expr(inner.children)
        : { type: 'subquery', query: this.operations(operationNodes(c), tokenOf(c, 'RParen')), pos: start };
    } else if ((t = tokenOf(c, 'LBracket'))) {
      start = posOf(t);
      e = { type: 'array', items: nodesOf(c, 'item').map((n) => this.expr(n.children)), pos: start };
    } else if ((t = tokenOf(c, 'LBrace'))) {
      start = posOf(t);
      e = { type: 'object', props: nodesOf(c, 'objectEntry').map((n) => this.objectEntry(n.children)), pos: start };
    } else if ((t = tokenOf(c, 'BindParam'))) {
      start = posOf(t);
      e = { type: 'bind', name: t.image.slice(1), pos: start };
    } else if ((t = tokenOf(c, 'BindCollection'))) {
      start = posOf(t);
      e = { type: 'bindCollection', name: t.image.slice(2), pos: start };
    } else if ((t = tokenOf(c, 'True') ?? tokenOf(c, 'False'))) {
      start = posOf(t);
      e = { type: 'literal', value: t.tokenType === T.True, pos: start };
    } else {
      t = tokenOf(c, 'Null')!;
      start = posOf(t);
      e = { type: 'literal', value: null, pos: start };
    }
    const postfix = c.postfix as CstNode[] | undefined;
    if (postfix) e = this.postfixChain(e, start, postfix);
    const prefix = c.prefix as IToken[] | undefined;
    if (prefix) {
      for (let i = prefix.length - 1; i >= 0; i--) {
        const p = prefix[i]!;
        const pos = posOf(p);
        const op = p.tokenType === T.Minus ? '-' : p.tokenType === T.Plus ? '+' : 'NOT';
        if (op !== 'NOT' && e.type === 'literal' && typeof e.value === 'number') {
          const v = op === '-' ? -e.value : e.value;
          e = { type: 'literal', value: v === 0 ? 0 : v, pos };
        } else e = { type: 'unary', op, arg: e, pos };
      }
      start = posOf(prefix[0]!);
    }
    this.lastStart = start;
    return e;
  }

  /** The arguments of a call (operand children with a `call` parenthesis). */
  private callArguments(c: Ch): Expr[] {
    const args = nodesOf(c, 'argument');
    if (args.length === 0) return [];
    const commas = tokensOf(c, 'Comma');
    const close = tokenOf(c, 'RParen')!;
    return args.map((a, i) => this.argument(a.children, commas[i] ?? close));
  }

  /** A call argument; `close` is the token after it (for a subquery that does not end properly). */
  argument(c: Ch, close: IToken): Expr {
    const e = nodeOf(c, 'expr');
    if (e) return this.expr(e.children);
    const ops = operationNodes(c);
    return { type: 'subquery', query: this.operations(ops, close), pos: posOf(tokenOf(ops[0]!.children, OP_KEYWORD[ops[0]!.name]!)!) };
  }

  objectEntry(c: Ch): { key: string | Expr; value: Expr } {
    const valueNode = nodeOf(c, 'value');
    let t: IToken | undefined;
    if ((t = tokenOf(c, 'AnyName'))) {
      const key = nameOf(t);
      if (valueNode) return { key, value: this.expr(valueNode.children) };
      if (RESERVED.has(t.tokenType))
        throw errAt(t, `expected ":" after the attribute name ${t.image} (a shorthand {name} needs a variable name)`);
      const name = key === 'CURRENT' && this.current.length > 0 ? this.current[this.current.length - 1]! : key;
      return { key, value: { type: 'var', name, pos: posOf(t) } };
    }
    const value = this.expr(valueNode!.children);
    if ((t = tokenOf(c, 'StringLiteral'))) return { key: unescapeAql(t.image.slice(1, -1)), value };
    if ((t = tokenOf(c, 'BindParam'))) return { key: { type: 'bind', name: t.image.slice(1), pos: posOf(t) }, value };
    return { key: this.expr(nodeOf(c, 'key')!.children), value };
  }

  postfix(): never {
    throw new TypeError('postfix nodes are built by postfixChain');
  }

  /**
   * Applies `.name`, `.@bind`, `[index]` and `[*...]` in order. After an
   * expansion, further accesses (and nested `[*]`) apply to each element,
   * i.e. they extend the innermost expansion's `map` (as in ArangoDB);
   * `[**]` after an expansion first evaluates the expansion so far.
   */
  private postfixChain(base: Expr, baseStart: Pos, nodes: CstNode[]): Expr {
    let node = base;
    let outer: ExpandExpr | undefined;
    let inner: ExpandExpr | undefined;
    let target: Expr = base; // the innermost expansion's current map expression
    for (const pf of nodes) {
      const c = pf.children;
      if (c.Dot) {
        const nameTok = tokenOf(c, 'AnyName');
        const obj = inner ? target : node;
        const pos = inner ? target.pos : baseStart;
        let e: Expr;
        if (nameTok) e = { type: 'attr', object: obj, name: nameOf(nameTok), pos };
        else {
          const b = tokenOf(c, 'BindParam')!;
          e = { type: 'index', object: obj, index: { type: 'bind', name: b.image.slice(1), pos: posOf(b) }, pos };
        }
        if (inner) inner.map = target = e;
        else node = e;
      } else if (c.Star) {
        const lb = posOf(tokenOf(c, 'LBracket')!);
        const flatten = c.Star.length - 1;
        if (inner && flatten > 0) {
          node = outer!;
          outer = inner = undefined;
        }
        const v = `$CURRENT${++this.gen}`;
        const array = inner ? target : node;
        const exp: ExpandExpr = { type: 'expand', array, var: v, flatten, pos: inner ? target.pos : baseStart };
        this.current.push(v);
        try {
          const f = nodeOf(c, 'filter');
          if (f) exp.filter = this.expr(f.children);
          const lim = nodesOf(c, 'limit');
          if (lim.length === 1)
            exp.limit = { offset: { type: 'literal', value: 0, pos: posOf(tokenOf(c, 'Limit')!) }, count: this.expr(lim[0]!.children) };
          else if (lim.length === 2) exp.limit = { offset: this.expr(lim[0]!.children), count: this.expr(lim[1]!.children) };
          const r = nodeOf(c, 'ret');
          if (r) exp.map = this.expr(r.children);
        } finally {
          this.current.pop();
        }
        if (inner) inner.map = exp;
        else outer = exp;
        inner = exp;
        target = exp.map ?? { type: 'var', name: v, pos: lb };
      } else if (c.Question) {
        // [? quantifier FILTER cond]: a boolean (nested in an expansion: per element)
        const flatten = c.Question.length - 1;
        if (inner && flatten > 0) {
          node = outer!;
          outer = inner = undefined;
        }
        const qn = nodeOf(c, 'quant');
        const cn = nodeOf(c, 'count');
        let quantifier: NonNullable<ExpandExpr['quantifier']> = { kind: 'default' };
        if (qn) quantifier = this.quantifier(qn.children);
        else if (cn) {
          const n = this.expr(cn.children);
          quantifier = n.type === 'range' ? { kind: 'range', min: n.from, max: n.to } : { kind: 'exact', count: n };
        }
        const v = `$CURRENT${++this.gen}`;
        const array = inner ? target : node;
        const exp: ExpandExpr = { type: 'expand', array, var: v, flatten, quantifier, pos: inner ? target.pos : baseStart };
        this.current.push(v);
        try {
          const f = nodeOf(c, 'filter');
          if (f) exp.filter = this.expr(f.children);
        } finally {
          this.current.pop();
        }
        if (inner) inner.map = target = exp;
        else node = exp;
      } else {
        const index = this.expr(nodeOf(c, 'index')!.children);
        if (inner) inner.map = target = { type: 'index', object: target, index, pos: target.pos };
        else node = { type: 'index', object: node, index, pos: baseStart };
      }
    }
    return outer ?? node;
  }
}

/** Throws AqlBuildError if the AST nests deeper than MAX_AST_DEPTH nodes (iterative walk). */
export function checkAstDepth(q: Query): void {
  const stack: unknown[] = [q];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const v = stack.pop();
    let d = depths.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const x of v) {
        if (typeof x === 'object' && x !== null) {
          stack.push(x);
          depths.push(d);
        }
      }
      continue;
    }
    const o = v as Record<string, unknown>;
    if (typeof o.type === 'string') {
      d++;
      if (d > MAX_AST_DEPTH) {
        const p = o.pos as Pos;
        throw new AqlBuildError(
          `the query nests more than ${MAX_AST_DEPTH} levels deep (e.g. a very long chain of operators: use x IN [...] instead of many ORs)`,
          p,
          '',
        );
      }
    }
    for (const k in o) {
      if (k === 'pos') continue;
      const x = o[k];
      if (typeof x === 'object' && x !== null) {
        stack.push(x);
        depths.push(d);
      }
    }
  }
}

export const astBuilder = new AstBuilder();
