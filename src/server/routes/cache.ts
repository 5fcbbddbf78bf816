import { Cache } from '../../cache/index.js';
import { ThemisError } from '../../errors.js';
import type { ServiceHost } from '../../kernel/index.js';
import type { RouteArea } from '../route-area.js';
import type { AuditedRequest, RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** The audit subject of a cache request: the entry's key (of the path or the body), when there is one. */
const cacheEntry = (r: AuditedRequest) => {
  const key = r.params.key ?? (r.body as { key?: unknown } | undefined)?.key;
  return { entityType: 'cache', entityId: typeof key === 'string' ? key.slice(0, 256) : null };
};

/** Semantic cache (contract "Cache (Semantic Cache)") and its additions: delete, invalidate, clear (docs/cache.md). */
export function cacheRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/cache/query',
      body: 'CacheQueryRequest',
      handler: async (req) => ({ json: await db.get(Cache).query(req.body) }),
      audit: cacheEntry,
    }),
    withBody({
      method: 'POST',
      path: '/cache/put',
      body: 'CachePutRequest',
      handler: async (req) => ({ json: await db.get(Cache).put(req.body) }),
      audit: cacheEntry,
    }),
    {
      method: 'GET',
      path: '/cache/stats',
      handler: () => ({ json: db.get(Cache).stats() }),
    },
    withBody({
      method: 'POST',
      path: '/cache/invalidate',
      body: 'CacheInvalidateRequest',
      handler: async (req) => ({ json: { success: true, deleted: await db.get(Cache).invalidate(req.body.filter) } }),
    }),
    {
      method: 'POST',
      path: '/cache/clear',
      handler: async () => ({ json: { success: true, deleted: await db.get(Cache).clear() } }),
    },
    {
      method: 'DELETE',
      path: '/cache/:key',
      handler: async (req) => {
        const key = req.params.key!;
        if (!(await db.get(Cache).delete(key))) throw new ThemisError('NOT_FOUND', `no cache entry with key "${key.slice(0, 256)}"`);
        return { json: { success: true, key, deleted: true } };
      },
      audit: cacheEntry,
    },
  ];
}

export const cacheArea: RouteArea = { name: 'cache', routes: (ctx) => cacheRoutes(ctx.db) };
