import { ThemisError } from '../errors.js';
import type { Adjacent, Direction } from './adjacency-index.js';

/**
 * Breadth-first traversals over an abstract neighbour source: no storage
 * here, so the algorithms are unit-testable against an in-memory graph.
 */
export type NeighborSource = (vertex: string, direction: Direction, edgeTable?: string) => Promise<Adjacent[]>;

export const MAX_DEPTH = 10;
/** A traversal that reaches more vertices than this is refused (400): lower max_depth or filter by edge_table. */
export const DEFAULT_MAX_VISITED = 100_000;

export interface TraverseOptions {
  start: string;
  maxDepth: number;
  direction: Direction;
  edgeTable?: string;
  maxVisited?: number;
}

/**
 * BFS from `start` up to `maxDepth` hops. Every vertex appears once (cycles
 * are cut), in BFS order starting with `start`; within one vertex,
 * neighbours come in the source's order (edge key order).
 */
export async function traverse(source: NeighborSource, o: TraverseOptions): Promise<string[]> {
  const maxVisited = o.maxVisited ?? DEFAULT_MAX_VISITED;
  const seen = new Set<string>([o.start]);
  const visited = [o.start];
  let frontier = [o.start];
  for (let depth = 0; depth < o.maxDepth && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const v of frontier) {
      for (const a of await source(v, o.direction, o.edgeTable)) {
        if (seen.has(a.vertex)) continue;
        seen.add(a.vertex);
        visited.push(a.vertex);
        next.push(a.vertex);
        if (visited.length > maxVisited) throw tooLarge(maxVisited, depth + 1);
      }
    }
    frontier = next;
  }
  return visited;
}

export interface ShortestPathOptions {
  from: string;
  to: string;
  maxDepth: number;
  direction: Direction;
  edgeTable?: string;
  maxVisited?: number;
}

export interface PathResult {
  /** Vertices from `from` to `to`, both included. */
  path: string[];
  /** The edge keys between consecutive vertices (one fewer than vertices). */
  edges: string[];
}

/** Fewest-hops path within `maxDepth`, or undefined if `to` is unreachable within it. */
export async function shortestPath(source: NeighborSource, o: ShortestPathOptions): Promise<PathResult | undefined> {
  if (o.from === o.to) return { path: [o.from], edges: [] };
  const maxVisited = o.maxVisited ?? DEFAULT_MAX_VISITED;
  /** vertex -> [previous vertex, edge used to reach it] */
  const parent = new Map<string, [string, string] | null>([[o.from, null]]);
  let frontier = [o.from];
  for (let depth = 0; depth < o.maxDepth && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const v of frontier) {
      for (const a of await source(v, o.direction, o.edgeTable)) {
        if (parent.has(a.vertex)) continue;
        parent.set(a.vertex, [v, a.edge]);
        if (a.vertex === o.to) return unwind(parent, o.to);
        next.push(a.vertex);
        if (parent.size > maxVisited) throw tooLarge(maxVisited, depth + 1);
      }
    }
    frontier = next;
  }
  return undefined;
}

function unwind(parent: Map<string, [string, string] | null>, to: string): PathResult {
  const path = [to];
  const edges: string[] = [];
  for (let p = parent.get(to); p; p = parent.get(p[0])) {
    path.push(p[0]);
    edges.push(p[1]);
  }
  return { path: path.reverse(), edges: edges.reverse() };
}

function tooLarge(maxVisited: number, depth: number): ThemisError {
  return new ThemisError(
    'BAD_REQUEST',
    `traversal reached more than ${maxVisited} vertices at depth ${depth}; lower max_depth or restrict it with edge_table`,
    {
      details: { max_visited: maxVisited },
    },
  );
}
