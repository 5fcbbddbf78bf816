import type { ServiceHost } from '../../kernel/index.js';
import { Tables } from '../../tables/index.js';
import { boolParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { AuditedRequest, AuditSubject, RouteSpec } from '../router.js';
import { callerOf, tablesOf } from '../types.js';

/**
 * The table catalogue (docs/operations.md, "Table management"): the list
 * (only the tables the key may read), one table, drop (admin) and truncate
 * (data:write on the table). Drop and truncate answer 202 at once and go on
 * in the background (progress in GET /tables/{name}); `?wait=true` answers
 * 200 once they are done.
 */
export function tableRoutes(db: ServiceHost): RouteSpec[] {
  const answer = (r: { state: 'running' | 'done' }) => ({ status: r.state === 'done' ? 200 : 202, json: r });
  // The audit entry names the table (`entityType: table`, `entityId: <name>`).
  const audit = (r: AuditedRequest): AuditSubject => ({ entityType: 'table', entityId: r.params.name ?? null });
  return [
    {
      method: 'GET',
      path: '/tables',
      handler: async (req) => ({ json: { tables: await db.get(Tables).list(tablesOf(req)) } }),
    },
    {
      method: 'GET',
      path: '/tables/:name',
      audit,
      handler: async (req) => ({ json: await db.get(Tables).info(req.params.name!, callerOf(req)) }),
    },
    {
      method: 'DELETE',
      path: '/tables/:name',
      audit,
      handler: async (req) => answer(await db.get(Tables).drop(req.params.name!, callerOf(req), boolParam(req.query, 'wait', false))),
    },
    {
      method: 'POST',
      path: '/tables/:name/truncate',
      audit,
      handler: async (req) => answer(await db.get(Tables).truncate(req.params.name!, callerOf(req), boolParam(req.query, 'wait', false))),
    },
  ];
}

export const tablesArea: RouteArea = { name: 'tables', routes: (ctx) => tableRoutes(ctx.db) };
