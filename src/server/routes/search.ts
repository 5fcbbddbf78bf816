import type { Database, FulltextSearchRequest } from '../../db.js';
import type { RouteSpec } from '../router.js';

/** Fulltext search (BM25) over fulltext indexes; see docs/fulltext.md. */
export function searchRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/search/fulltext',
      permission: 'query:execute',
      body: 'FulltextSearchRequest',
      handler: async (req) => ({ json: db.searchFulltext(req.body as FulltextSearchRequest) }),
    },
  ];
}
