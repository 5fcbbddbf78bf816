import type { Database } from '../../db.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';

/** Graph Operations (contract section): BFS traversal and shortest path over edge entities. */
export function graphRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/graph/traverse',
      permission: 'data:read',
      body: 'GraphTraverseRequest',
      handler: async (req) => ({ json: await db.traverseGraph(req.body as Parameters<Database['traverseGraph']>[0]) }),
    },
    {
      method: 'POST',
      path: '/graph/shortest_path',
      permission: 'data:read',
      body: 'GraphShortestPathRequest',
      handler: async (req) => ({ json: await db.shortestGraphPath(req.body as Parameters<Database['shortestGraphPath']>[0]) }),
    },
  ];
}

export const graphArea: RouteArea = { name: 'graph', routes: (ctx) => graphRoutes(ctx.db) };
