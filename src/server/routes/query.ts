import type { Database } from '../../db.js';
import type { RouteSpec } from '../router.js';

/** POST /query (contract section "POST /query"): equality and range predicates over secondary indexes. */
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
  ];
}
