import { ALL_TABLES, assertRead, canReadKey, type TableAccess } from '../access.js';
import type { components } from '../api/types.js';
import { parseEntityKey } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import type { Module } from '../kernel/index.js';
import type { Snapshot } from '../storage/index.js';
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

  /** Edges at `vertex`, latest committed state or as of `snapshot` (AQL reads its query's). */
  neighbors(vertex: string, direction: Direction, edgeTable?: string, snapshot?: Snapshot): Promise<Adjacent[]> {
    return this.adjacency.neighbors(vertex, direction, edgeTable, snapshot);
  }

  /**
   * The neighbour source `access` sees: a table-scoped caller walks only
   * edges stored in tables it may read, into vertices of tables it may read
   * (the rest of the graph does not exist for it: neither listed nor
   * crossed). Unscoped callers get the plain source.
   */
  sourceFor(access: TableAccess): NeighborSource {
    if (access.readsAll) return this.source;
    return async (v, d, t) =>
      (await this.adjacency.neighbors(v, d, t)).filter((a) => canReadKey(access, a.edge) && canReadKey(access, a.vertex));
  }

  /** POST /graph/traverse: BFS from the start vertex (which need not exist as an entity). */
  async traverse(
    o: TraverseRequest,
    access: TableAccess = ALL_TABLES,
  ): Promise<{ start_vertex: string; max_depth: number; direction: Direction; visited_count: number; visited: string[] }> {
    const start = parseEntityKey(o.start_vertex);
    const maxDepth = o.max_depth;
    const direction = o.direction ?? 'outbound';
    const edgeTable = o.edge_table;
    assertRead(access, start.table);
    if (edgeTable !== undefined) assertRead(access, edgeTable);
    const visited = await traverse(this.sourceFor(access), {
      start: start.key,
      maxDepth,
      direction,
      ...(edgeTable !== undefined ? { edgeTable } : {}),
    });
    return { start_vertex: start.key, max_depth: maxDepth, direction, visited_count: visited.length, visited };
  }

  /** POST /graph/shortest_path: fewest hops from `from` to `to`; NOT_FOUND when unreachable within max_depth (default 10). */
  async shortestPath(
    o: ShortestPathRequest,
    access: TableAccess = ALL_TABLES,
  ): Promise<{ from: string; to: string; direction: Direction; found: true; length: number; path: string[]; edges: string[] }> {
    const fromKey = parseEntityKey(o.from);
    const toKey = parseEntityKey(o.to);
    const from = fromKey.key;
    const to = toKey.key;
    const maxDepth = o.max_depth ?? MAX_DEPTH;
    const direction = o.direction ?? 'outbound';
    const edgeTable = o.edge_table;
    assertRead(access, fromKey.table);
    assertRead(access, toKey.table);
    if (edgeTable !== undefined) assertRead(access, edgeTable);
    const r = await shortestPath(this.sourceFor(access), {
      from,
      to,
      maxDepth,
      direction,
      ...(edgeTable !== undefined ? { edgeTable } : {}),
    });
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
