import type { Database } from '../../db.js';
import { describeVectorIndex } from '../../index/index.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';
import { stringParam } from '../query-params.js';

type Body = Record<string, unknown>;

/** The index named by `?index=` (undefined: the default index). */
function indexParam(q: URLSearchParams): string | undefined {
  return stringParam(q, 'index', 128) || undefined;
}

/** Vector Search (contract section) plus named indexes; see docs/vector.md. */
export function vectorRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/vector/search',
      permission: 'query:execute',
      body: 'VectorSearchRequest',
      handler: (req) => ({ json: db.vector.search(req.body as Body) }),
    },
    {
      method: 'POST',
      path: '/vector/batch_insert',
      permission: 'data:write',
      body: 'VectorBatchInsertRequest',
      handler: async (req) => ({ json: await db.vector.batchInsert(req.body as Body) }),
    },
    {
      method: 'DELETE',
      path: '/vector/by-filter',
      permission: 'data:write',
      body: 'VectorDeleteByFilterRequest',
      handler: async (req) => ({ json: await db.vector.deleteByFilter(req.body as Body) }),
    },
    {
      method: 'GET',
      path: '/vector/index/config',
      permission: 'stats:read',
      handler: (req) => ({ json: db.vector.config(indexParam(req.query)) }),
    },
    {
      method: 'PUT',
      path: '/vector/index/config',
      permission: 'admin',
      body: 'VectorIndexConfigUpdate',
      handler: async (req) => ({ json: await db.vector.updateConfig(req.body as Body) }),
    },
    {
      method: 'GET',
      path: '/vector/index/stats',
      permission: 'stats:read',
      handler: (req) => ({ json: db.vector.stats(indexParam(req.query)) }),
    },
    {
      method: 'POST',
      path: '/vector/index/create',
      permission: 'admin',
      body: 'VectorIndexCreateRequest',
      handler: async (req) => ({ status: 201, json: { success: true, ...describeVectorIndex(await db.createVectorIndex(req.body as Body)) } }),
    },
    {
      method: 'POST',
      path: '/vector/index/drop',
      permission: 'admin',
      body: 'VectorIndexDropRequest',
      handler: async (req) => ({ json: { success: true, ...describeVectorIndex(await db.dropVectorIndex((req.body as Body).name as string)), state: 'dropped' } }),
    },
    {
      method: 'GET',
      path: '/vector/indexes',
      permission: 'stats:read',
      handler: () => ({ json: { indexes: db.listVectorIndexes() } }),
    },
  ];
}

export const vectorArea: RouteArea = { name: 'vector', routes: (ctx) => vectorRoutes(ctx.db) };
