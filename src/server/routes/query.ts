import type { ServiceHost } from '../../kernel/index.js';
import { Aql } from '../../aql/index.js';
import { Query } from '../../query/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import { callerOf } from '../types.js';
import type { RouteArea } from '../route-area.js';

/** POST /query (contract section "POST /query"): equality and range predicates over secondary indexes; POST /query/aql: AQL. */
export function queryRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/query',
      body: 'QueryRequest',
      headers: ['x-transaction-id'],
      handler: async (req) => ({ json: await db.get(Query).run(req.body, req.header('x-transaction-id'), callerOf(req)) }),
    }),
    // AQL (docs/aql.md); /api/aql is an alias.
    ...['/query/aql', '/api/aql'].map(
      (path): RouteSpec =>
        withBody({
          method: 'POST',
          path,
          body: 'AqlRequest',
          headers: ['x-transaction-id'],
          // The collections the query reads and writes are checked against the principal's table access once planned.
          handler: async (req) => ({
            json: await db.get(Aql).run(req.body, req.header('x-transaction-id'), {}, callerOf(req)),
          }),
        }),
    ),
  ];
}

export const queryArea: RouteArea = { name: 'query', routes: (ctx) => queryRoutes(ctx.db) };
