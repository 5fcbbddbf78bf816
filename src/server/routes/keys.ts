import type { ServiceHost } from '../../kernel/index.js';
import { ApiKeys } from '../../security/index.js';
import { boolParam, intParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** API Key Management (contract section): admin only. Only the create answer carries the secret. */
export function keyRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/api/keys',
      body: 'ApiKeyCreateRequest',
      handler: async (req) => ({ status: 201, json: await db.get(ApiKeys).create(req.body) }),
    }),
    {
      method: 'GET',
      path: '/api/keys',
      handler: (req) => {
        const q = req.query;
        const includeRevoked = boolParam(q, 'include_revoked', false);
        const page = intParam(q, 'page', { min: 1, max: 1_000_000, fallback: 1 });
        const pageSize = intParam(q, 'page_size', { min: 1, max: 100, fallback: 50 });
        return { json: db.get(ApiKeys).list({ includeRevoked, page, pageSize }) };
      },
    },
    {
      method: 'GET',
      path: '/api/keys/:keyId',
      handler: (req) => ({ json: db.get(ApiKeys).get(req.params.keyId!) }),
    },
    withBody({
      method: 'PUT',
      path: '/api/keys/:keyId',
      body: 'ApiKeyUpdateRequest',
      handler: async (req) => ({ json: await db.get(ApiKeys).update(req.params.keyId!, req.body) }),
    }),
    {
      method: 'DELETE',
      path: '/api/keys/:keyId',
      handler: async (req) => ({ json: await db.get(ApiKeys).revoke(req.params.keyId!) }),
    },
  ];
}

export const keysArea: RouteArea = { name: 'keys', routes: (ctx) => keyRoutes(ctx.db) };
