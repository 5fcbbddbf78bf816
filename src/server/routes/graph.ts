import type { ServiceHost } from '../../kernel/index.js';
import { Graph } from '../../graph/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import { tablesOf } from '../types.js';
import type { RouteArea } from '../route-area.js';

/** Graph Operations (contract section): BFS traversal and shortest path over edge entities. */
export function graphRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/graph/traverse',
      body: 'GraphTraverseRequest',
      handler: async (req) => ({ json: await db.get(Graph).traverse(req.body, tablesOf(req)) }),
    }),
    withBody({
      method: 'POST',
      path: '/graph/shortest_path',
      body: 'GraphShortestPathRequest',
      handler: async (req) => ({ json: await db.get(Graph).shortestPath(req.body, tablesOf(req)) }),
    }),
  ];
}

export const graphArea: RouteArea = { name: 'graph', routes: (ctx) => graphRoutes(ctx.db) };
