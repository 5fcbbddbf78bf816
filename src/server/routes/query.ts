import type { AqlRequest } from '../../aql/service.js';
import type { Database } from '../../db.js';
import { can } from '../../security/index.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';

/** POST /query (contract section "POST /query"): equality and range predicates over secondary indexes; POST /query/aql: AQL. */
export function queryRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/query',
      permission: 'query:execute',
      body: 'QueryRequest',
      headers: ['x-transaction-id'],
      handler: async (req) => ({ json: await db.query(req.body, req.header('x-transaction-id')) }),
    },
    // AQL (docs/aql.md); /api/aql is an alias.
    ...['/query/aql', '/api/aql'].map(
      (path): RouteSpec => ({
        method: 'POST',
        path,
        permission: 'query:execute',
        body: 'AqlRequest',
        headers: ['x-transaction-id'],
        // A query that writes also needs data:write (checked once the plan shows it writes).
        handler: async (req) => ({ json: await db.runAql(req.body as AqlRequest, req.header('x-transaction-id'), {}, req.principal === undefined || can(req.principal, 'data:write')) }),
      }),
    ),
  ];
}

export const queryArea: RouteArea = { name: 'query', routes: (ctx) => queryRoutes(ctx.db) };
