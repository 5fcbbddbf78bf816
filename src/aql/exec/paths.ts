/**
 * Path searches between two vertices, as ArangoDB 3.12 documents them
 * (aql/graph-queries/k-shortest-paths.md, k-paths.md, all-shortest-paths.md):
 *
 * - `FOR p IN DIRECTION K_SHORTEST_PATHS a TO b edges [OPTIONS {weightAttribute, defaultWeight}]`:
 *   vertex-unique paths in order of increasing weight (the number of edges
 *   without weights), `{vertices, edges, weight}`, found one at a time with
 *   Yen's algorithm (as ArangoDB's KShortestPathsFinder: the spur paths of
 *   the last path found become candidates; a candidate goes before those of
 *   equal weight found earlier), so a LIMIT stops the search.
 * - `FOR p IN min..max DIRECTION K_PATHS a TO b edges`: every vertex-unique
 *   path with min..max edges, `{vertices, edges}`, shortest first.
 * - `FOR p IN DIRECTION ALL_SHORTEST_PATHS a TO b edges`: every path with the
 *   fewest edges, `{vertices, edges}`.
 *
 * Paths of one length are enumerated as a two-sided search meets: the first
 * half of each path from `a` (forwards, in edge order), then the second half
 * into `b` (backwards from `b`, in edge order), both pruned by the breadth-
 * first distances from `a` and to `b`. The unweighted shortest path (of
 * K_SHORTEST_PATHS and its spurs) is the first path of that order; weighted
 * ones come from Dijkstra's algorithm.
 *
 * Adjacency goes through graph.ts (`adjacent`: the query's snapshot, its
 * transaction's edges, what it may read), cached per search; distances,
 * cached adjacency, half-paths and candidates count against
 * THEMIS_QUERY_MAX_INTERMEDIATE; every expansion checks the deadline.
 */
import type { ThemisError } from '../../errors.js';
import type { AqlValue } from '../ast.js';
import { BigMap, BigSet } from '../big-collections.js';
import type { EdgeSpec, PathConfig, Step } from '../planner.js';
import { truthy } from '../values.js';
import { extend, tooMany, type Row } from './context.js';
import {
  adjacent,
  checkEnd,
  pathEnds,
  shortestPathRows,
  startVertex,
  vertexDoc,
  weightOfEdge,
  type Adjacent,
  type GraphContext,
} from './graph.js';

type PathsStep = Extract<Step, { kind: 'paths' }>;

/** A path: vertex keys (start first), edge keys, weight (the number of edges when unweighted). */
interface Path {
  vertices: string[];
  edges: string[];
  weight: number;
}

const NONE: ReadonlySet<string> = new Set();

/** The graph a path search walks: adjacency in both directions (cached), edge weights, the budget. */
class SearchGraph {
  private readonly fwd = new Map<string, Adjacent[]>();
  private readonly bwd = new Map<string, Adjacent[]>();
  private readonly weights = new Map<string, number>();
  private cached = 0;
  readonly max: number;

  constructor(
    private readonly cx: GraphContext,
    private readonly edges: readonly EdgeSpec[],
    private readonly cfg: PathConfig | undefined,
    readonly what: string,
  ) {
    this.max = cx.opts.maxIntermediate;
  }

  /** The edges out of `v` (into it when `reverse`), as the step's edge collections and directions say. */
  async next(v: string, reverse: boolean): Promise<Adjacent[]> {
    this.cx.tick();
    const m = reverse ? this.bwd : this.fwd;
    let a = m.get(v);
    if (a === undefined) {
      a = await adjacent(this.cx, v, this.edges, reverse);
      if (this.cached + a.length + 1 > this.max) {
        // a cache only: start it afresh rather than hold more than the budget
        this.fwd.clear();
        this.bwd.clear();
        this.cached = 0;
      }
      m.set(v, a);
      this.cached += a.length + 1;
    }
    return a;
  }

  /** An edge's weight: its weightAttribute when a number, else defaultWeight; negative is an error (as in ArangoDB). */
  weight(edge: string): number {
    const cfg = this.cfg;
    if (cfg === undefined || cfg.weightAttribute === undefined) return 1;
    let w = this.weights.get(edge);
    if (w !== undefined) return w;
    w = weightOfEdge(vertexDoc(this.cx, edge), edge, cfg.weightAttribute, cfg.defaultWeight, this.what);
    if (this.weights.size >= this.max) this.weights.clear();
    this.weights.set(edge, w);
    return w;
  }

  /** Without a weightAttribute a path weighs its number of edges (defaultWeight does not apply), as in ArangoDB. */
  get weighted(): boolean {
    return this.cfg?.weightAttribute !== undefined;
  }

  pathWeight(edges: readonly string[]): number {
    if (!this.weighted) return edges.length;
    let w = 0;
    for (const e of edges) w += this.weight(e);
    return w;
  }

  tooMany(): ThemisError {
    return tooMany(this.max, this.what);
  }
}

/**
 * Breadth-first distances from `origin` (to it when `reverse`), up to `limit`
 * edges, avoiding the forbidden vertices and edges; whole levels, stopping
 * after the level that reaches `stopAt`.
 */
async function distances(
  g: SearchGraph,
  origin: string,
  reverse: boolean,
  limit: number,
  forbidV: ReadonlySet<string>,
  forbidE: ReadonlySet<string>,
  stopAt?: string,
): Promise<BigMap<number>> {
  const dist = new BigMap<number>().set(origin, 0);
  let frontier = [origin];
  for (let d = 1; d <= limit && frontier.length > 0; d++) {
    if (stopAt !== undefined && dist.has(stopAt)) break;
    const next: string[] = [];
    for (const v of frontier) {
      for (const a of await g.next(v, reverse)) {
        if (dist.has(a.vertex) || forbidV.has(a.vertex) || forbidE.has(a.edge)) continue;
        dist.set(a.vertex, d);
        next.push(a.vertex);
        if (dist.size > g.max) throw g.tooMany();
      }
    }
    frontier = next;
  }
  return dist;
}

interface Bounds {
  /** Breadth-first distances to the target (backwards from it). */
  distB: BigMap<number>;
  forbidV: ReadonlySet<string>;
  forbidE: ReadonlySet<string>;
  /** Only shortest paths: every vertex exactly at a shortest path's distances. */
  exact: boolean;
}

/**
 * The vertex-unique paths of exactly `len` edges from `start` to `target`:
 * the first halves (ceil(len / 2) edges) depth-first from `start` in edge
 * order; for each, the second halves from its end depth-first backwards from
 * `target` in edge order. Both are pruned by distances (to the target; from
 * the meeting vertex, `fromMid`), so only vertices that can still complete a
 * path of this length are entered, and nothing is held but the distances.
 */
async function* pathsOfLength(
  g: SearchGraph,
  start: string,
  target: string,
  len: number,
  bd: Bounds,
  fromMid: (m: string, b: number) => Promise<BigMap<number>>,
): AsyncGenerator<Path> {
  const db = bd.distB.get(start);
  if (db === undefined || db > len || (bd.exact && db !== len)) return;
  const a = Math.ceil(len / 2);
  const b = len - a;
  const vs = [start];
  const es: string[] = [];
  const on = new Set<string>([start]);
  // the second half, walked backwards from the target to m
  const rv = [target];
  const re: string[] = [];
  const onR = new Set<string>([target]);
  const path = (): Path => {
    const edges = [...es, ...[...re].reverse()];
    return { vertices: [...vs, ...[...rv].reverse().slice(1)], edges, weight: g.pathWeight(edges) };
  };
  async function* back(m: string, dm: BigMap<number>, v: string, k: number): AsyncGenerator<Path> {
    if (k === b) {
      if (v === m) yield path();
      return;
    }
    for (const adj of await g.next(v, true)) {
      const u = adj.vertex;
      if (onR.has(u) || (on.has(u) && u !== m) || bd.forbidV.has(u) || bd.forbidE.has(adj.edge)) continue;
      const d = dm.get(u);
      if (d === undefined || (bd.exact ? d + k + 1 !== b : d + k + 1 > b)) continue;
      rv.push(u);
      re.push(adj.edge);
      onR.add(u);
      yield* back(m, dm, u, k + 1);
      onR.delete(u);
      rv.pop();
      re.pop();
    }
  }
  async function* walk(v: string, k: number): AsyncGenerator<Path> {
    if (k === a) {
      if (b === 0) {
        if (v === target) yield path();
        return;
      }
      if (on.has(target)) return;
      const dm = await fromMid(v, b);
      const d = dm.get(target);
      if (d === undefined || d > b) return;
      yield* back(v, dm, target, 0);
      return;
    }
    for (const adj of await g.next(v, false)) {
      if (on.has(adj.vertex) || bd.forbidV.has(adj.vertex) || bd.forbidE.has(adj.edge)) continue;
      const d = bd.distB.get(adj.vertex);
      if (d === undefined || (bd.exact ? d + k + 1 !== len : d + k + 1 > len)) continue;
      vs.push(adj.vertex);
      es.push(adj.edge);
      on.add(adj.vertex);
      yield* walk(adj.vertex, k + 1);
      on.delete(adj.vertex);
      vs.pop();
      es.pop();
    }
  }
  yield* walk(start, 0);
}

/** Distances from meeting vertices (up to `b` edges), cached per vertex and depth while they fit the budget. */
function midDistances(g: SearchGraph, forbidV: ReadonlySet<string>, forbidE: ReadonlySet<string>) {
  const cache = new Map<string, BigMap<number>>();
  let held = 0;
  return async (m: string, b: number): Promise<BigMap<number>> => {
    const key = `${b}\u0000${m}`;
    let d = cache.get(key);
    if (d === undefined) {
      d = await distances(g, m, false, b, forbidV, forbidE);
      if (held + d.size > g.max) {
        cache.clear();
        held = 0;
      }
      cache.set(key, d);
      held += d.size;
    }
    return d;
  };
}

/** The shortest paths (fewest edges) from `start` to `target` avoiding the forbidden vertices and edges; none when unreachable. */
async function* shortestPaths(
  g: SearchGraph,
  start: string,
  target: string,
  forbidV: ReadonlySet<string>,
  forbidE: ReadonlySet<string>,
): AsyncGenerator<Path> {
  const distB = await distances(g, target, true, Number.POSITIVE_INFINITY, forbidV, forbidE, start);
  const len = distB.get(start);
  if (len === undefined) return;
  yield* pathsOfLength(g, start, target, len, { distB, forbidV, forbidE, exact: true }, midDistances(g, forbidV, forbidE));
}

/** A min-heap of (weight, vertex), first in first out among equal weights. */
class Heap {
  private readonly items: { w: number; seq: number; v: string }[] = [];
  private seq = 0;
  get size(): number {
    return this.items.length;
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i]!;
    const b = this.items[j]!;
    return a.w < b.w || (a.w === b.w && a.seq < b.seq);
  }
  private swap(i: number, j: number): void {
    const a = this.items;
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  push(w: number, v: string): void {
    const a = this.items;
    a.push({ w, seq: this.seq++, v });
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): { w: number; v: string } {
    const a = this.items;
    const top = a[0]!;
    this.swap(0, a.length - 1);
    a.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      let m = i;
      if (l < a.length && this.less(l, m)) m = l;
      if (l + 1 < a.length && this.less(l + 1, m)) m = l + 1;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/** The lightest path (Dijkstra) from `start` to `target` avoiding the forbidden vertices and edges. */
async function lightestPath(
  g: SearchGraph,
  start: string,
  target: string,
  forbidV: ReadonlySet<string>,
  forbidE: ReadonlySet<string>,
): Promise<Path | undefined> {
  const dist = new BigMap<number>().set(start, 0);
  const parent = new BigMap<[string, string]>();
  const done = new BigSet();
  const heap = new Heap();
  heap.push(0, start);
  while (heap.size > 0) {
    const { w, v } = heap.pop();
    if (done.has(v)) continue;
    done.add(v);
    if (v === target) {
      const vertices = [v];
      const edges: string[] = [];
      for (let p = parent.get(v); p !== undefined; p = parent.get(p[0])) {
        vertices.push(p[0]);
        edges.push(p[1]);
      }
      vertices.reverse();
      edges.reverse();
      return { vertices, edges, weight: g.pathWeight(edges) };
    }
    for (const a of await g.next(v, false)) {
      if (done.has(a.vertex) || forbidV.has(a.vertex) || forbidE.has(a.edge)) continue;
      const nw = w + g.weight(a.edge);
      const cur = dist.get(a.vertex);
      if (cur === undefined || nw < cur) {
        dist.set(a.vertex, nw);
        parent.set(a.vertex, [v, a.edge]);
        heap.push(nw, a.vertex);
        if (heap.size + dist.size > g.max) throw g.tooMany();
      }
    }
  }
  return undefined;
}

/** One shortest (or lightest) path, or none. */
async function onePath(
  g: SearchGraph,
  start: string,
  target: string,
  forbidV: ReadonlySet<string>,
  forbidE: ReadonlySet<string>,
): Promise<Path | undefined> {
  if (g.weighted) return lightestPath(g, start, target, forbidV, forbidE);
  const it = shortestPaths(g, start, target, forbidV, forbidE);
  try {
    const r = await it.next();
    return r.done ? undefined : r.value;
  } finally {
    await it.return(undefined);
  }
}

/** K_SHORTEST_PATHS: Yen's algorithm, one path per pull. */
async function* kShortestPaths(g: SearchGraph, start: string, target: string): AsyncGenerator<Path> {
  const first = await onePath(g, start, target, NONE, NONE);
  if (first === undefined) return;
  type Found = Path & { branch: number };
  const found: Found[] = [{ ...first, branch: 0 }];
  yield first;
  const candidates: Found[] = [];
  let held = first.vertices.length;
  for (;;) {
    const last = found[found.length - 1]!;
    for (let i = last.branch; i + 1 < last.vertices.length; i++) {
      // the paths found so far with this root: their next edge may not be taken again
      const forbidE = new Set<string>();
      for (const p of found) {
        if (p.edges.length <= i) continue;
        let same = true;
        for (let e = 0; e < i && same; e++) same = p.edges[e] === last.edges[e];
        if (same) forbidE.add(p.edges[i]!);
      }
      const forbidV = new Set(last.vertices.slice(0, i));
      const spur = await onePath(g, last.vertices[i]!, target, forbidV, forbidE);
      if (spur === undefined) continue;
      const edges = [...last.edges.slice(0, i), ...spur.edges];
      const cand: Found = {
        vertices: [...last.vertices.slice(0, i), ...spur.vertices],
        edges,
        weight: g.pathWeight(edges),
        branch: i,
      };
      if (candidates.some((c) => c.edges.length === edges.length && c.edges.every((x, j) => x === edges[j]))) continue;
      const at = candidates.findIndex((c) => c.weight >= cand.weight);
      candidates.splice(at < 0 ? candidates.length : at, 0, cand);
      held += cand.vertices.length;
      if (held > g.max) throw g.tooMany();
    }
    const next = candidates.shift();
    if (next === undefined) return;
    found.push(next);
    yield next;
  }
}

/** K_PATHS: every vertex-unique path of min..max edges, shortest first. */
async function* kPaths(g: SearchGraph, start: string, target: string, min: number, max: number): AsyncGenerator<Path> {
  const distB = await distances(g, target, true, max, NONE, NONE);
  const d = distB.get(start);
  if (d === undefined) return;
  const bd: Bounds = { distB, forbidV: NONE, forbidE: NONE, exact: false };
  const mid = midDistances(g, NONE, NONE);
  for (let len = Math.max(min, d); len <= max; len++) yield* pathsOfLength(g, start, target, len, bd, mid);
}

/** `FOR p IN ... K_SHORTEST_PATHS | K_PATHS | ALL_SHORTEST_PATHS a TO b edges`: one row per path. */
export async function* pathsStep(cx: GraphContext, s: PathsStep, input: AsyncIterable<Row>): AsyncGenerator<Row> {
  const op = s.op;
  const word = op.algorithm === 'kShortestPaths' ? 'K_SHORTEST_PATHS' : op.algorithm === 'kPaths' ? 'K_PATHS' : 'ALL_SHORTEST_PATHS';
  const what = `the ${word} search`;
  for await (const row of input) {
    const from = await startVertex(cx, op.from, row, word);
    const to = await startVertex(cx, op.to, row, word);
    if (from === undefined || to === undefined) continue;
    checkEnd(cx, from);
    checkEnd(cx, to);
    // either end missing: no paths (and no warning), as in ArangoDB
    if (vertexDoc(cx, from) === null || vertexDoc(cx, to) === null) continue;
    const g = new SearchGraph(cx, s.edges, op.algorithm === 'kShortestPaths' ? s.config : undefined, what);
    const paths =
      op.algorithm === 'kShortestPaths'
        ? kShortestPaths(g, from, to)
        : op.algorithm === 'kPaths'
          ? kPaths(g, from, to, op.min, op.max)
          : shortestPaths(g, from, to, NONE, NONE);
    for await (const p of paths) {
      const value: Record<string, AqlValue> = {
        edges: p.edges.map((e) => vertexDoc(cx, e)),
        vertices: p.vertices.map((v) => vertexDoc(cx, v)),
      };
      if (op.algorithm === 'kShortestPaths') value.weight = p.weight;
      const r = extend(row, op.pathVar, value);
      if (s.filters.every((f) => truthy(cx.evalSync(f, r)))) yield r;
    }
  }
}

/**
 * `FOR v, e IN DIRECTION SHORTEST_PATH a TO b edges OPTIONS {weightAttribute,
 * defaultWeight}`: the lightest path (Dijkstra), one row per vertex with the
 * edge that led to it (null at the start), as the unweighted step does.
 */
export async function* weightedShortestPathStep(
  cx: GraphContext,
  s: Extract<Step, { kind: 'shortestPath' }>,
  input: AsyncIterable<Row>,
): AsyncGenerator<Row> {
  for await (const row of input) {
    const ends = await pathEnds(cx, s.op, row);
    if (ends === undefined) continue;
    const g = new SearchGraph(cx, s.edges, s.config, 'the shortest-path search');
    const p = await lightestPath(g, ends[0], ends[1], NONE, NONE);
    if (p !== undefined) yield* shortestPathRows(cx, s, row, p.vertices, p.edges);
  }
}
