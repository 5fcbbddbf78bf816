import type { Database } from '../../db.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** Fulltext search (BM25) over fulltext indexes and hybrid (BM25 + vector) search; see docs/fulltext.md and docs/vector.md. */
export function searchRoutes(db: Database): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/search/fulltext',
      permission: 'query:execute',
      body: 'FulltextSearchRequest',
      handler: async (req) => ({ json: db.searchFulltext(req.body) }),
    }),
    withBody({
      method: 'POST',
      path: '/search/hybrid',
      permission: 'query:execute',
      body: 'HybridSearchRequest',
      handler: async (req) => ({ json: db.searchHybrid(req.body) }),
    }),
  ];
}
