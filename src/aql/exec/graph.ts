/**
 * Graph steps: `FOR v, e, p IN min..max DIRECTION start edges [PRUNE ...]
 * [OPTIONS {...}]` (ArangoDB's traversal: depth-first by default, see
 * traversalStep) and `FOR v, e IN DIRECTION SHORTEST_PATH from TO to
 * edges` (each over one or more edge collections, each in the query's
 * direction or its own: `adjacent`; the path searches K_SHORTEST_PATHS,
 * K_PATHS and ALL_SHORTEST_PATHS are in paths.ts and walk the graph through
 * the same function). Adjacency comes from `deps.neighbors` as of the query's snapshot,
 * with the query's transaction's buffered edge writes over it (edgeOverlay),
 * so edges and the documents they lead to are read as the query sees them.
 */
import { assertRead, canReadKey, tableOf } from '../../access.js';
import { ThemisError } from '../../errors.js';
import { parseEntityKey } from '../../entities/index.js';
import { edgeEnds, type Direction as GraphDirection } from '../../graph/index.js';
import type { Transaction } from '../../txn/index.js';
import type { AqlValue, Expr } from '../ast.js';
import { BigMap, BigSet } from '../big-collections.js';
import type { EdgeSpec, Step, TraversalConfig } from '../planner.js';
import { truthy } from '../values.js';
import { WarningCodes } from '../warnings.js';
import { extend, tooMany, type ExecContext, type Row } from './context.js';
import { readDocument, type EntityReader } from './sources.js';

/** What the graph steps need: document reads, adjacency (`deps.neighbors`), evaluation, the deadline, the row cap. */
export type GraphContext = EntityReader & Pick<ExecContext, 'eval' | 'evalSync' | 'tick'>;

/** A vertex or edge document by its key (null when absent). */
export function vertexDoc(cx: EntityReader, key: string): AqlValue {
  return readDocument(cx, key, key.slice(0, key.indexOf(':'))) ?? null;
}

export type Adjacent = { edge: string; vertex: string };

/** A transaction's buffered writes to one edge table, as adjacency: the edge keys it wrote, the edges it put by vertex. */
interface EdgeOverlay {
  /** The transaction's version when built (any later change to its writes builds it again). */
  readonly version: number;
  readonly written: Set<string>;
  readonly out: Map<string, Adjacent[]>;
  readonly in: Map<string, Adjacent[]>;
}

const overlays = new WeakMap<Transaction, Map<string, EdgeOverlay>>();

function edgeOverlay(txn: Transaction | undefined, edgeTable: string): EdgeOverlay | undefined {
  if (!txn || txn.writes.size === 0) return undefined;
  let byTable = overlays.get(txn);
  const have = byTable?.get(edgeTable);
  if (have && have.version === txn.version) return have.written.size === 0 ? undefined : have;
  const o: EdgeOverlay = { version: txn.version, written: new Set(), out: new Map(), in: new Map() };
  const add = (m: Map<string, Adjacent[]>, at: string, a: Adjacent) => {
    const list = m.get(at);
    if (list) list.push(a);
    else m.set(at, [a]);
  };
  for (const w of txn.writes.values()) {
    if (w.k.table !== edgeTable) continue;
    o.written.add(w.k.key);
    const ends = w.op === 'put' ? edgeEnds(w.value) : undefined;
    if (!ends) continue;
    add(o.out, ends.from, { edge: w.k.key, vertex: ends.to });
    add(o.in, ends.to, { edge: w.k.key, vertex: ends.from });
  }
  if (!byTable) overlays.set(txn, (byTable = new Map()));
  byTable.set(edgeTable, o);
  return o.written.size === 0 ? undefined : o;
}

/** `stored` (one direction's edges, in edge-key order) without the edges the transaction wrote, with those it put at `vertex`. */
function overlaid(stored: Adjacent[], o: EdgeOverlay, mine: Adjacent[] | undefined): Adjacent[] {
  const kept = stored.filter((a) => !o.written.has(a.edge));
  if (!mine) return kept;
  return [...kept, ...mine].sort((x, y) => (x.edge < y.edge ? -1 : x.edge > y.edge ? 1 : 0));
}

/**
 * Adjacent edges and vertices as the query sees them (its snapshot, its
 * transaction's buffered edges) that it may cross: with table-scoped
 * access, only those in tables it may read.
 */
async function neighbors(cx: GraphContext, vertex: string, dir: GraphDirection, edgeTable: string): Promise<Adjacent[]> {
  const o = edgeOverlay(cx.opts.txn, edgeTable);
  let all: Adjacent[];
  if (!o) all = await cx.deps.neighbors(vertex, dir, edgeTable, cx.snapshot);
  else {
    // outbound edges before inbound ones (for `any`), each in edge-key order
    all = [];
    if (dir !== 'inbound') all.push(...overlaid(await cx.deps.neighbors(vertex, 'outbound', edgeTable, cx.snapshot), o, o.out.get(vertex)));
    if (dir !== 'outbound') all.push(...overlaid(await cx.deps.neighbors(vertex, 'inbound', edgeTable, cx.snapshot), o, o.in.get(vertex)));
  }
  const a = cx.opts.access;
  return a === undefined || a.readsAll ? all : all.filter((x) => canReadKey(a, x.edge) && canReadKey(a, x.vertex));
}

/** A step's edge collections: the adjacent edges and vertices over each (in list order), backwards when `reverse` (a search from the target). */
export async function adjacent(cx: GraphContext, vertex: string, edges: readonly EdgeSpec[], reverse = false): Promise<Adjacent[]> {
  const flip = (d: GraphDirection): GraphDirection => (!reverse || d === 'any' ? d : d === 'outbound' ? 'inbound' : 'outbound');
  if (edges.length === 1) return neighbors(cx, vertex, flip(edges[0]!.direction), edges[0]!.table);
  const out: Adjacent[] = [];
  for (const e of edges) for (const a of await neighbors(cx, vertex, flip(e.direction), e.table)) out.push(a);
  return out;
}

/** A traversal or path named by the query starts (or ends) only at a vertex of a table it may read (403). */
export function checkEnd(cx: GraphContext, vertex: string): void {
  const a = cx.opts.access;
  if (a !== undefined && !a.readsAll) assertRead(a, tableOf(vertex));
}

/**
 * The entity key a start/target expression names (a key string, ArangoDB's
 * "collection/key", or a document with `_id`); undefined when none, with a
 * warning as in ArangoDB ("Only id strings or objects with _id are allowed").
 */
export async function startVertex(cx: Pick<ExecContext, 'eval' | 'opts'>, e: Expr, row: Row, what: string): Promise<string | undefined> {
  const v = await cx.eval(e, row);
  const key =
    typeof v === 'string'
      ? v
      : v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { _id?: unknown })._id === 'string'
        ? ((v as { _id: string })._id as string)
        : undefined;
  try {
    if (key === undefined) throw new TypeError('no id');
    const slash = key.indexOf('/');
    if (slash > 0 && !key.includes(':')) return parseEntityKey(`${key.slice(0, slash)}:${key.slice(slash + 1)}`).key;
    return parseEntityKey(key).key;
  } catch {
    cx.opts.warnings?.add(`invalid input for ${what}: only id strings or objects with _id are allowed`, WarningCodes.BAD_PARAMETER);
    return undefined;
  }
}

/** One step of a traversal: a vertex reached over `edge` from `parent` (documents read once, when first needed). */
interface TNode {
  vertex: string;
  edge: string | null;
  parent: TNode | null;
  depth: number;
  /** Sum of the edge weights from the start (`order: "weighted"`; else the depth). */
  weight: number;
  vdoc?: AqlValue;
  edoc?: AqlValue;
}

const vdocOf = (cx: GraphContext, n: TNode): AqlValue => {
  if (n.vdoc === undefined) n.vdoc = vertexDoc(cx, n.vertex);
  return n.vdoc;
};
const edocOf = (cx: GraphContext, n: TNode): AqlValue => {
  if (n.edoc === undefined) n.edoc = n.edge === null ? null : vertexDoc(cx, n.edge);
  return n.edoc;
};

/** The steps waiting to be visited: a stack (dfs), a FIFO queue (bfs) or a min-heap on the path weight, FIFO among equals (weighted). */
class Frontier {
  private items: TNode[] = [];
  private head = 0;
  private seqs: number[] = [];
  private seq = 0;
  constructor(private readonly order: TraversalConfig['order']) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(n: TNode): void {
    if (this.order !== 'weighted') {
      this.items.push(n);
      return;
    }
    // binary heap ordered by (weight, insertion sequence)
    const a = this.items;
    const q = this.seqs;
    let i = a.length;
    a.push(n);
    q.push(this.seq++);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): TNode {
    if (this.order === 'dfs') return this.items.pop()!;
    if (this.order === 'bfs') {
      const n = this.items[this.head]!;
      this.items[this.head++] = undefined as unknown as TNode;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return n;
    }
    const a = this.items;
    const top = a[0]!;
    const last = a.length - 1;
    this.swap(0, last);
    a.pop();
    this.seqs.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(l, m)) m = l;
      if (r < a.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const a = this.items[i]!;
    const b = this.items[j]!;
    return a.weight < b.weight || (a.weight === b.weight && this.seqs[i]! < this.seqs[j]!);
  }

  private swap(i: number, j: number): void {
    const a = this.items;
    const q = this.seqs;
    [a[i], a[j]] = [a[j]!, a[i]!];
    [q[i], q[j]] = [q[j]!, q[i]!];
  }
}

/** The weight of the edge that led to `n` (`order: "weighted"`): its weightAttribute when a number, else defaultWeight; negative is an error. */
function edgeWeight(cx: GraphContext, n: TNode, cfg: TraversalConfig): number {
  const what = 'a weighted traversal';
  if (cfg.weightAttribute === undefined) return checkedWeight(cfg.defaultWeight, n.edge!, what);
  return weightOfEdge(edocOf(cx, n), n.edge!, cfg.weightAttribute, cfg.defaultWeight, what);
}

/** An edge document's weight: its `attribute` when a number, else `defaultWeight`; negative fails the query (`what` names the search). */
export function weightOfEdge(doc: AqlValue, edge: string, attribute: string, defaultWeight: number, what: string): number {
  const x = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, AqlValue>)[attribute] : undefined;
  return checkedWeight(typeof x === 'number' ? x : defaultWeight, edge, what);
}

function checkedWeight(w: number, edge: string, what: string): number {
  if (w < 0)
    throw new ThemisError('VALIDATION_FAILED', `negative edge weight ${w} found in ${what} (edge ${edge}): weights must not be negative`, {
      details: { field: 'options', option: 'weightAttribute' },
    });
  return w;
}

/**
 * `FOR v, e, p IN min..max DIRECTION start edges [PRUNE cond] [OPTIONS {...}]`
 * as ArangoDB 3.12 runs it (Graph/Enumerators/OneSidedEnumerator.cpp): take
 * the next step (dfs: the last one added, bfs: the oldest, weighted: the
 * lightest path); drop it when it breaks the uniqueness rules; return it when
 * its depth is at least min (and the traversal's filters hold); add its
 * neighbours, in edge order, when its depth is below max and PRUNE is not
 * true for it. Depth-first therefore visits a vertex's neighbours in reverse
 * edge order, as ArangoDB does.
 */
export async function* traversalStep(
  cx: GraphContext,
  s: Extract<Step, { kind: 'traversal' }>,
  input: AsyncIterable<Row>,
): AsyncGenerator<Row> {
  const { op, config: cfg } = s;
  const max = cx.opts.maxIntermediate;
  // OPTIONS edgeCollections: only these of the listed collections are followed
  const follow = s.edges.filter((e) => cfg.edgeCollections === undefined || cfg.edgeCollections.includes(e.table));
  const followsEdges = follow.length > 0;
  const vertexOk = (v: string): boolean => cfg.vertexCollections === undefined || cfg.vertexCollections.includes(tableOf(v));
  const rowOf = (row: Row, n: TNode): Row => {
    let r = extend(row, op.vertexVar, vdocOf(cx, n));
    if (op.edgeVar) r = extend(r, op.edgeVar, edocOf(cx, n));
    if (op.pathVar) {
      const vertices: AqlValue[] = [];
      const edges: AqlValue[] = [];
      const weights: AqlValue[] = [];
      for (let p: TNode | null = n; p; p = p.parent) {
        vertices.push(vdocOf(cx, p));
        if (p.edge !== null) edges.push(edocOf(cx, p));
        weights.push(p.weight);
      }
      r = extend(r, op.pathVar, { vertices: vertices.reverse(), edges: edges.reverse(), weights: weights.reverse() });
    }
    return r;
  };
  for await (const row of input) {
    const start = await startVertex(cx, op.start, row, 'traversal');
    if (start === undefined) continue;
    checkEnd(cx, start);
    const frontier = new Frontier(cfg.order);
    // uniqueVertices "global": vertices taken so far (bfs: marked when queued, which takes the same first path)
    const seen = cfg.uniqueVertices === 'global' ? new BigSet().add(start) : undefined;
    const markOnPush = cfg.order === 'bfs';
    frontier.push({ vertex: start, edge: null, parent: null, depth: 0, weight: 0 });
    while (frontier.size > 0) {
      cx.tick();
      const n = frontier.pop();
      if (n.parent !== null) {
        if (cfg.uniqueVertices === 'path') {
          let dup = false;
          for (let p: TNode | null = n.parent; p && !dup; p = p.parent) dup = p.vertex === n.vertex;
          if (dup) continue;
        } else if (seen !== undefined) {
          if (!markOnPush) {
            if (seen.has(n.vertex)) continue;
            seen.add(n.vertex);
          }
        } else if (cfg.uniqueEdges === 'path' && n.depth > 1) {
          let dup = false;
          for (let p: TNode | null = n.parent; p && p.edge !== null && !dup; p = p.parent) dup = p.edge === n.edge;
          if (dup) continue;
        }
      }
      const held = frontier.size + n.depth + 1;
      if (held > max || (seen !== undefined && seen.size > max)) throw tooMany(max, 'the traversal');
      let r: Row | undefined;
      let pruned = false;
      if (op.prune) {
        r = rowOf(row, n);
        const c = await cx.eval(op.prune, r);
        pruned = truthy(c);
        if (op.pruneVar) r = extend(r, op.pruneVar, c);
      }
      if (n.depth >= op.min) {
        r ??= rowOf(row, n);
        if (s.filters.every((f) => truthy(cx.evalSync(f, r!)))) yield r;
      }
      if (n.depth < op.max && !pruned && followsEdges) {
        for (const a of await adjacent(cx, n.vertex, follow)) {
          if (!vertexOk(a.vertex)) continue;
          if (seen?.has(a.vertex)) continue;
          if (markOnPush) seen?.add(a.vertex);
          const child: TNode = { vertex: a.vertex, edge: a.edge, parent: n, depth: n.depth + 1, weight: n.depth + 1 };
          if (cfg.order === 'weighted') child.weight = n.weight + edgeWeight(cx, child, cfg);
          frontier.push(child);
          if (frontier.size + n.depth + 1 > max || (seen !== undefined && seen.size > max)) throw tooMany(max, 'the traversal');
        }
      }
    }
  }
}

export async function* shortestPathStep(
  cx: GraphContext,
  s: Extract<Step, { kind: 'shortestPath' }>,
  input: AsyncIterable<Row>,
): AsyncGenerator<Row> {
  for await (const row of input) {
    const ends = await pathEnds(cx, s.op, row);
    if (ends === undefined) continue;
    const [from, to] = ends;
    const parent = new BigMap<[string, string] | null>().set(from, null);
    let found = from === to;
    let frontier = [from];
    while (!found && frontier.length > 0) {
      const next: string[] = [];
      for (const v of frontier) {
        cx.tick();
        for (const a of await adjacent(cx, v, s.edges)) {
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
    const vertices: string[] = [];
    const edges: string[] = [];
    for (let v: string | undefined = to; v !== undefined; ) {
      const p = parent.get(v);
      vertices.unshift(v);
      if (p) edges.unshift(p[1]);
      v = p ? p[0] : undefined;
    }
    yield* shortestPathRows(cx, s, row, vertices, edges);
  }
}

/** A shortest-path step's two ends for `row` (undefined when either is no vertex id), each readable by the caller. */
export async function pathEnds(
  cx: GraphContext,
  op: Extract<Step, { kind: 'shortestPath' }>['op'],
  row: Row,
): Promise<[string, string] | undefined> {
  const from = await startVertex(cx, op.from, row, 'shortest path');
  const to = await startVertex(cx, op.to, row, 'shortest path');
  if (from === undefined || to === undefined) return undefined;
  checkEnd(cx, from);
  checkEnd(cx, to);
  return [from, to];
}

/** One row per vertex of a path, with the edge that led to it (null at the start), that passes the step's filters. */
export function* shortestPathRows(
  cx: GraphContext,
  s: Extract<Step, { kind: 'shortestPath' }>,
  row: Row,
  vertices: readonly string[],
  edges: readonly string[],
): Generator<Row> {
  const op = s.op;
  for (let i = 0; i < vertices.length; i++) {
    let r = extend(row, op.vertexVar, vertexDoc(cx, vertices[i]!));
    if (op.edgeVar) r = extend(r, op.edgeVar, i === 0 ? null : vertexDoc(cx, edges[i - 1]!));
    if (s.filters.every((f) => truthy(cx.evalSync(f, r)))) yield r;
  }
}
