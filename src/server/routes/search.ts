import type { Database, FulltextSearchRequest, HybridSearchRequest } from '../../db.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';

/** Fulltext search (BM25) over fulltext indexes and hybrid (BM25 + vector) search; see docs/fulltext.md and docs/vector.md. */
export function searchRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/search/fulltext',
      permission: 'query:execute',
      body: 'FulltextSearchRequest',
      handler: async (req) => ({ json: db.searchFulltext(req.body as FulltextSearchRequest) }),
    },
    {
      method: 'POST',
      path: '/search/hybrid',
      permission: 'query:execute',
      body: 'HybridSearchRequest',
      handler: async (req) => ({ json: db.searchHybrid(req.body as HybridSearchRequest) }),
    },
  ];
}

export const searchArea: RouteArea = { name: 'search', routes: (ctx) => searchRoutes(ctx.db) };
