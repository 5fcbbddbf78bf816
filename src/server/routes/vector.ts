import type { ServiceHost } from '../../kernel/index.js';
import { Vectors } from '../../index/index.js';
import { describeVectorIndex } from '../../index/index.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';
import { stringParam } from '../query-params.js';
import { withBody } from '../typed-body.js';
import { callerOf, tablesOf } from '../types.js';

/** The index named by `?index=` (undefined: the default index). */
function indexParam(q: URLSearchParams): string | undefined {
  return stringParam(q, 'index', 128) || undefined;
}

/** Vector Search (contract section) plus named indexes; see docs/vector.md. */
export function vectorRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/vector/search',
      body: 'VectorSearchRequest',
      handler: (req) => ({ json: db.get(Vectors).search(req.body, tablesOf(req)) }),
    }),
    withBody({
      method: 'POST',
      path: '/vector/batch_insert',
      body: 'VectorBatchInsertRequest',
      handler: async (req) => ({ json: await db.get(Vectors).batchInsert(req.body, callerOf(req)) }),
    }),
    withBody({
      method: 'DELETE',
      path: '/vector/by-filter',
      body: 'VectorDeleteByFilterRequest',
      handler: async (req) => ({ json: await db.get(Vectors).deleteByFilter(req.body, callerOf(req)) }),
    }),
    {
      method: 'GET',
      path: '/vector/index/config',
      handler: (req) => ({ json: db.get(Vectors).config(indexParam(req.query)) }),
    },
    withBody({
      method: 'PUT',
      path: '/vector/index/config',
      body: 'VectorIndexConfigUpdate',
      handler: async (req) => ({ json: await db.get(Vectors).updateConfig(req.body) }),
    }),
    {
      method: 'GET',
      path: '/vector/index/stats',
      handler: (req) => ({ json: db.get(Vectors).stats(indexParam(req.query)) }),
    },
    withBody({
      method: 'POST',
      path: '/vector/index/create',
      body: 'VectorIndexCreateRequest',
      handler: async (req) => ({
        status: 201,
        json: { success: true, ...describeVectorIndex(await db.get(Vectors).createIndex(req.body)) },
      }),
    }),
    withBody({
      method: 'POST',
      path: '/vector/index/drop',
      body: 'VectorIndexDropRequest',
      handler: async (req) => ({
        json: { success: true, ...describeVectorIndex(await db.get(Vectors).dropIndex(req.body.name)), state: 'dropped' },
      }),
    }),
    {
      method: 'GET',
      path: '/vector/indexes',
      handler: () => ({ json: { indexes: db.get(Vectors).listIndexes() } }),
    },
  ];
}

export const vectorArea: RouteArea = { name: 'vector', routes: (ctx) => vectorRoutes(ctx.db) };
