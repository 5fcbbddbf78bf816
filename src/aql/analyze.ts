import type { ArrayQuantifier, Expr, Op, Query } from './ast.js';

/**
 * Syntax-tree helpers for the planner and executor (pure): free variables,
 * the subqueries an expression evaluates, and a generic child walk.
 */

/** The direct child expressions of `e` (subquery bodies excluded: see subqueriesOf). */
export function children(e: Expr): Expr[] {
  switch (e.type) {
    case 'literal':
    case 'bind':
    case 'bindCollection':
    case 'var':
    case 'name':
    case 'subquery':
      return [];
    case 'attr':
      return [e.object];
    case 'index':
      return [e.object, e.index];
    case 'expand': {
      const out = [e.array];
      if (e.map) out.push(e.map);
      if (e.filter) out.push(e.filter);
      if (e.limit) out.push(e.limit.offset, e.limit.count);
      if (e.quantifier) out.push(...quantifierExprs(e.quantifier));
      return out;
    }
    case 'unary':
      return [e.arg];
    case 'arrayCompare':
      return [e.left, e.right, ...quantifierExprs(e.quantifier)];
    case 'binary':
      return [e.left, e.right];
    case 'ternary':
      return e.then ? [e.cond, e.then, e.else] : [e.cond, e.else];
    case 'array':
      return e.items;
    case 'object':
      return e.props.flatMap((p) => (typeof p.key === 'string' ? [p.value] : [p.key, p.value]));
    case 'call':
      return e.args;
    case 'range':
      return [e.from, e.to];
  }
}

/** The expressions of a quantifier (AT LEAST / exact counts, range bounds). */
export function quantifierExprs(q: ArrayQuantifier): Expr[] {
  if (q.kind === 'atLeast' || q.kind === 'exact') return [q.count];
  if (q.kind === 'range') return [q.min, q.max];
  return [];
}

/** The edge collections a graph operation names (names, or `@@c`/`@c` expressions), in order. */
export function edgeTablesOf(op: Extract<Op, { type: 'traversal' | 'shortestPath' | 'paths' }>): (string | Expr)[] {
  return op.edges ? op.edges.map((e) => e.table) : [op.edgeTable];
}

/** Every expression of a query's operations and RETURN, in order. */
export function queryExprs(q: Query): Expr[] {
  const out: Expr[] = [];
  for (const op of q.ops) {
    switch (op.type) {
      case 'for':
        out.push(op.in);
        break;
      case 'traversal':
        out.push(op.start);
        for (const t of edgeTablesOf(op)) if (typeof t !== 'string') out.push(t);
        if (op.prune) out.push(op.prune);
        break;
      case 'shortestPath':
      case 'paths':
        out.push(op.from, op.to);
        for (const t of edgeTablesOf(op)) if (typeof t !== 'string') out.push(t);
        break;
      case 'filter':
        out.push(op.cond);
        break;
      case 'let':
        out.push(op.expr);
        break;
      case 'sort':
        out.push(...op.keys.map((k) => k.expr));
        break;
      case 'limit':
        out.push(op.offset, op.count);
        break;
      case 'collect':
        out.push(...op.groups.map((g) => g.expr), ...op.aggregates.flatMap((a) => (a.arg ? [a.arg] : [])));
        if (op.into?.expr) out.push(op.into.expr);
        break;
      case 'window':
        if (op.range) out.push(op.range);
        out.push(...op.bounds.map((b) => b.value), ...op.aggregates.flatMap((a) => (a.arg ? [a.arg] : [])));
        break;
      case 'insert':
        out.push(op.doc);
        if (typeof op.table !== 'string') out.push(op.table);
        break;
      case 'update':
      case 'replace':
        out.push(op.key);
        if (op.with) out.push(op.with);
        if (typeof op.table !== 'string') out.push(op.table);
        break;
      case 'remove':
        out.push(op.key);
        if (typeof op.table !== 'string') out.push(op.table);
        break;
      case 'upsert':
        out.push(op.insert, op.update, ...(op.match ?? []).map((m) => m.value));
        if (typeof op.table !== 'string') out.push(op.table);
        break;
    }
  }
  if (q.ret) out.push(q.ret.expr);
  return out;
}

/** Variables a query declares at its top level (FOR/LET/COLLECT/WINDOW/traversal variables, NEW/OLD after modifications). */
export function declaredVars(q: Query): string[] {
  const out: string[] = [];
  for (const op of q.ops) {
    switch (op.type) {
      case 'for':
        out.push(op.var);
        break;
      case 'traversal':
        out.push(
          op.vertexVar,
          ...(op.edgeVar ? [op.edgeVar] : []),
          ...(op.pathVar ? [op.pathVar] : []),
          ...(op.pruneVar ? [op.pruneVar] : []),
        );
        break;
      case 'shortestPath':
        out.push(op.vertexVar, ...(op.edgeVar ? [op.edgeVar] : []));
        break;
      case 'paths':
        out.push(op.pathVar);
        break;
      case 'let':
        out.push(op.var);
        break;
      case 'collect':
        out.push(
          ...op.groups.map((g) => g.var),
          ...op.aggregates.map((a) => a.var),
          ...(op.into ? [op.into.var] : []),
          ...(op.count ? [op.count] : []),
        );
        break;
      case 'window':
        out.push(...op.aggregates.map((a) => a.var));
        break;
      case 'insert':
      case 'update':
      case 'replace':
      case 'remove':
      case 'upsert':
        out.push('NEW', 'OLD');
        break;
      default:
        break;
    }
  }
  return out;
}

/** Free variables of an expression (subqueries included, minus what they declare; expansion variables excluded). */
export function freeVars(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.type) {
    case 'var':
      out.add(e.name);
      return out;
    case 'name':
      // a collection, or a variable of that name: count it (resolution is the planner's)
      out.add(e.name);
      return out;
    case 'subquery': {
      const inner = new Set<string>();
      for (const x of queryExprs(e.query)) freeVars(x, inner);
      const own = new Set(declaredVars(e.query));
      for (const v of inner) if (!own.has(v)) out.add(v);
      return out;
    }
    case 'expand': {
      const inner = new Set<string>();
      for (const c of children(e)) freeVars(c, inner);
      inner.delete(e.var);
      for (const v of inner) out.add(v);
      return out;
    }
    default:
      for (const c of children(e)) freeVars(c, out);
      return out;
  }
}

/** The outermost subquery nodes inside `e` (those the executor must run before evaluating `e`). */
export function subqueriesOf(e: Expr, out: Extract<Expr, { type: 'subquery' }>[] = []): Extract<Expr, { type: 'subquery' }>[] {
  if (e.type === 'subquery') {
    out.push(e);
    return out;
  }
  for (const c of children(e)) subqueriesOf(c, out);
  return out;
}

/** The conjuncts of an AND tree. */
export function conjuncts(e: Expr): Expr[] {
  if (e.type === 'binary' && e.op === 'AND') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e];
}

/** `v.a.b` → ['a', 'b'] when `e` is an attribute path rooted at variable `v`; undefined otherwise. */
export function attributePath(e: Expr, v: string): string[] | undefined {
  const path: string[] = [];
  let cur = e;
  for (;;) {
    if (cur.type === 'attr') {
      path.unshift(cur.name);
      cur = cur.object;
    } else if (cur.type === 'index' && cur.index.type === 'literal' && typeof cur.index.value === 'string') {
      path.unshift(cur.index.value);
      cur = cur.object;
    } else break;
  }
  if ((cur.type === 'var' || cur.type === 'name') && cur.name === v && path.length > 0) return path;
  return undefined;
}

/**
 * The bind_vars key of collection parameter `@@name`: "@name" as ArangoDB
 * sends it, else "name"; undefined when neither is given.
 */
export function collectionBindKey(bind: Readonly<Record<string, unknown>>, name: string): string | undefined {
  if (Object.hasOwn(bind, `@${name}`)) return `@${name}`;
  return Object.hasOwn(bind, name) ? name : undefined;
}

/**
 * The top-level attributes of variable `v` that query `q` reads (its
 * operations, RETURN, and subqueries, at any depth), when every use of `v`
 * is an attribute path with a literal first name (`v.a`, `v.a[0].b`,
 * `v["a"]`); undefined when some use needs the whole value (`RETURN v`,
 * `MERGE(v, …)`, `v[@name]`, `COLLECT … INTO g` without an expression,
 * which keeps every variable). A full scan then builds only what is read.
 */
export function attributeUse(q: Query, v: string): string[] | undefined {
  const names = new Set<string>();
  let whole = false;
  const visit = (x: unknown): void => {
    if (whole || x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) {
      for (const y of x) visit(y);
      return;
    }
    const node = x as { type?: unknown; name?: unknown; into?: { expr?: unknown } };
    if (node.type === 'collect' && node.into !== undefined && node.into.expr === undefined) {
      whole = true;
      return;
    }
    if (node.type === 'attr' || node.type === 'index') {
      const path = attributePath(x as Expr, v);
      if (path !== undefined) {
        names.add(path[0]!);
        return;
      }
    }
    if ((node.type === 'var' || node.type === 'name') && node.name === v) {
      whole = true;
      return;
    }
    for (const k in node) if (k !== 'pos') visit((node as Record<string, unknown>)[k]);
  };
  visit(q.ops);
  visit(q.ret);
  return whole ? undefined : [...names];
}
