/**
 * Graph steps: `FOR v, e, p IN min..max DIRECTION start edges` (breadth
 * first, each vertex once) and `FOR v, e IN DIRECTION SHORTEST_PATH from
 * TO to edges`. Adjacency comes from `deps.neighbors` (latest committed
 * state); vertex and edge documents are read as the query sees them.
 */
import { assertRead, canReadKey, tableOf } from '../../access.js';
import { parseEntityKey } from '../../entities/index.js';
import type { Direction as GraphDirection } from '../../graph/index.js';
import type { AqlValue, Expr } from '../ast.js';
import { BigMap, BigSet } from '../big-collections.js';
import type { Step } from '../planner.js';
import { truthy } from '../values.js';
import { extend, tooMany, type ExecContext, type Row } from './context.js';
import { readEntity, toDoc, type EntityReader } from './sources.js';

/** What the graph steps need: document reads, adjacency (`deps.neighbors`), evaluation, the deadline, the row cap. */
export type GraphContext = EntityReader & Pick<ExecContext, 'eval' | 'evalSync' | 'tick'>;

/** A vertex or edge document by its key (null when absent). */
function vertexDoc(cx: EntityReader, key: string): AqlValue {
  const text = readEntity(cx, key);
  if (text === undefined) return null;
  const sep = key.indexOf(':');
  return toDoc(cx, key, key.slice(0, sep), text);
}

/** Adjacent edges and vertices the query may cross: with table-scoped access, only those in tables it may read. */
async function neighbors(
  cx: GraphContext,
  vertex: string,
  dir: GraphDirection,
  edgeTable: string,
): Promise<{ edge: string; vertex: string }[]> {
  const all = await cx.deps.neighbors(vertex, dir, edgeTable);
  const a = cx.opts.access;
  return a === undefined || a.readsAll ? all : all.filter((x) => canReadKey(a, x.edge) && canReadKey(a, x.vertex));
}

/** A traversal or path named by the query starts (or ends) only at a vertex of a table it may read (403). */
function checkEnd(cx: GraphContext, vertex: string): void {
  const a = cx.opts.access;
  if (a !== undefined && !a.readsAll) assertRead(a, tableOf(vertex));
}

/** The entity key a start/target expression names (a key string or a document with `_id`); undefined when none. */
async function startVertex(cx: Pick<ExecContext, 'eval'>, e: Expr, row: Row): Promise<string | undefined> {
  const v = await cx.eval(e, row);
  const key =
    typeof v === 'string'
      ? v
      : v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { _id?: unknown })._id === 'string'
        ? ((v as { _id: string })._id as string)
        : undefined;
  if (key === undefined) return undefined;
  try {
    return parseEntityKey(key).key;
  } catch {
    return undefined;
  }
}

/** BFS with global vertex uniqueness (ArangoDB: bfs, uniqueVertices "global"): each vertex once, at its shortest depth in min..max. */
export async function* traversalStep(
  cx: GraphContext,
  s: Extract<Step, { kind: 'traversal' }>,
  input: AsyncIterable<Row>,
): AsyncGenerator<Row> {
  const op = s.op;
  const dir = op.direction.toLowerCase() as GraphDirection;
  for await (const row of input) {
    const start = await startVertex(cx, op.start, row);
    if (start === undefined) continue;
    checkEnd(cx, start);
    type Node = { vertex: string; edge: string | null; parent: Node | null; depth: number };
    const seen = new BigSet().add(start);
    let frontier: Node[] = [{ vertex: start, edge: null, parent: null, depth: 0 }];
    for (let depth = 0; frontier.length > 0 && depth <= op.max; depth++) {
      const next: Node[] = [];
      for (const n of frontier) {
        cx.tick();
        if (depth >= op.min) {
          const vertices: AqlValue[] = [];
          const edges: AqlValue[] = [];
          for (let p: Node | null = n; p; p = p.parent) {
            vertices.unshift(vertexDoc(cx, p.vertex));
            if (p.edge) edges.unshift(vertexDoc(cx, p.edge));
          }
          let r = extend(row, op.vertexVar, vertices[vertices.length - 1]!);
          if (op.edgeVar) r = extend(r, op.edgeVar, edges.length > 0 ? edges[edges.length - 1]! : null);
          if (op.pathVar) r = extend(r, op.pathVar, { vertices, edges });
          if (s.filters.every((f) => truthy(cx.evalSync(f, r)))) yield r;
        }
        if (depth < op.max) {
          for (const a of await neighbors(cx, n.vertex, dir, s.edgeTable)) {
            if (seen.has(a.vertex)) continue;
            seen.add(a.vertex);
            next.push({ vertex: a.vertex, edge: a.edge, parent: n, depth: depth + 1 });
            if (seen.size > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'the traversal');
          }
        }
      }
      frontier = next;
    }
  }
}

export async function* shortestPathStep(
  cx: GraphContext,
  s: Extract<Step, { kind: 'shortestPath' }>,
  input: AsyncIterable<Row>,
): AsyncGenerator<Row> {
  const op = s.op;
  const dir = op.direction.toLowerCase() as GraphDirection;
  for await (const row of input) {
    const from = await startVertex(cx, op.from, row);
    const to = await startVertex(cx, op.to, row);
    if (from === undefined || to === undefined) continue;
    checkEnd(cx, from);
    checkEnd(cx, to);
    const parent = new BigMap<[string, string] | null>().set(from, null);
    let found = from === to;
    let frontier = [from];
    while (!found && frontier.length > 0) {
      const next: string[] = [];
      for (const v of frontier) {
        cx.tick();
        for (const a of await neighbors(cx, v, dir, s.edgeTable)) {
          if (parent.has(a.vertex)) continue;
          parent.set(a.vertex, [v, a.edge]);
          if (a.vertex === to) {
            found = true;
            break;
          }
          next.push(a.vertex);
          if (parent.size > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'the shortest-path search');
        }
        if (found) break;
      }
      frontier = next;
    }
    if (!found) continue;
    const path: [string, string | null][] = [];
    for (let v: string | undefined = to; v !== undefined; ) {
      const p = parent.get(v);
      path.unshift([v, p ? p[1] : null]);
      v = p ? p[0] : undefined;
    }
    for (const [vertex, edge] of path) {
      let r = extend(row, op.vertexVar, vertexDoc(cx, vertex));
      if (op.edgeVar) r = extend(r, op.edgeVar, edge === null ? null : vertexDoc(cx, edge));
      if (s.filters.every((f) => truthy(cx.evalSync(f, r)))) yield r;
    }
  }
}
