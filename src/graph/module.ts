import type { components } from '../api/types.js';
import { parseEntityKey } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import type { Module } from '../kernel/index.js';
import { AdjacencyIndex, type Adjacent, type Direction } from './adjacency-index.js';
import { MAX_DEPTH, shortestPath, traverse, type NeighborSource } from './traversal.js';

/** The bodies as openapi.yaml defines them (the schema checked depth, direction and edge table; the keys are parsed here). */
type TraverseRequest = components['schemas']['GraphTraverseRequest'];
type ShortestPathRequest = components['schemas']['GraphShortestPathRequest'];

/** Graph queries over edge entities (`_from`/`_to`) in the latest committed state. */
export class GraphService {
  private readonly source: NeighborSource;

  constructor(readonly adjacency: AdjacencyIndex) {
    this.source = (v, d, t) => adjacency.neighbors(v, d, t);
  }

  neighbors(vertex: string, direction: Direction, edgeTable?: string): Promise<Adjacent[]> {
    return this.adjacency.neighbors(vertex, direction, edgeTable);
  }

  /** POST /graph/traverse: BFS from the start vertex (which need not exist as an entity). */
  async traverse(
    o: TraverseRequest,
  ): Promise<{ start_vertex: string; max_depth: number; direction: Direction; visited_count: number; visited: string[] }> {
    const start = parseEntityKey(o.start_vertex).key;
    const maxDepth = o.max_depth;
    const direction = o.direction ?? 'outbound';
    const edgeTable = o.edge_table;
    const visited = await traverse(this.source, { start, maxDepth, direction, ...(edgeTable !== undefined ? { edgeTable } : {}) });
    return { start_vertex: start, max_depth: maxDepth, direction, visited_count: visited.length, visited };
  }

  /** POST /graph/shortest_path: fewest hops from `from` to `to`; NOT_FOUND when unreachable within max_depth (default 10). */
  async shortestPath(
    o: ShortestPathRequest,
  ): Promise<{ from: string; to: string; direction: Direction; found: true; length: number; path: string[]; edges: string[] }> {
    const from = parseEntityKey(o.from).key;
    const to = parseEntityKey(o.to).key;
    const maxDepth = o.max_depth ?? MAX_DEPTH;
    const direction = o.direction ?? 'outbound';
    const edgeTable = o.edge_table;
    const r = await shortestPath(this.source, { from, to, maxDepth, direction, ...(edgeTable !== undefined ? { edgeTable } : {}) });
    if (!r) throw new ThemisError('NOT_FOUND', `no path from ${from} to ${to} within ${maxDepth} hops (direction ${direction})`);
    return { from, to, direction, found: true, length: r.edges.length, path: r.path, edges: r.edges };
  }
}

/** The adjacency index (maintained in every commit, rebuilt once for data older than it) and graph queries. */
export const Graph: Module<GraphService> = {
  name: 'graph',
  async open(ctx) {
    const adjacency = new AdjacencyIndex(ctx.engine, ctx.documents, ctx.log);
    await adjacency.open();
    return new GraphService(adjacency);
  },
  commit: (g) => g.adjacency.participant,
};
