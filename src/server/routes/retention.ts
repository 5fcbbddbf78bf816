import type { ServiceHost } from '../../kernel/index.js';
import { Retention } from '../../retention/index.js';
import { boolParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** Retention policies (admin; the list and the report: reports:read) and GET /api/reports/retention (docs/retention.md). */
export function retentionRoutes(db: ServiceHost): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/api/retention',
      handler: () => ({ json: { policies: db.get(Retention).list() } }),
    },
    withBody({
      method: 'PUT',
      path: '/api/retention/:collection',
      body: 'RetentionPolicyRequest',
      handler: async (req) => ({ json: await db.get(Retention).put(req.params.collection!, req.body) }),
    }),
    {
      method: 'DELETE',
      path: '/api/retention/:collection',
      handler: async (req) => ({ json: await db.get(Retention).remove(req.params.collection!) }),
    },
    {
      method: 'POST',
      path: '/api/retention/:collection/run',
      handler: async (req) => ({ json: await db.get(Retention).run(req.params.collection!) }),
    },
    {
      method: 'GET',
      path: '/api/reports/retention',
      rateLimit: 'audit',
      handler: async (req) => ({ json: await db.get(Retention).report(boolParam(req.query, 'include_stats', true)) }),
    },
  ];
}

export const retentionArea: RouteArea = { name: 'retention', routes: (ctx) => retentionRoutes(ctx.db) };
