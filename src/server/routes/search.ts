import type { ServiceHost } from '../../kernel/index.js';
import { Search } from '../../search/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import type { RouteArea } from '../route-area.js';

/** Fulltext search (BM25) over fulltext indexes and hybrid (BM25 + vector) search; see docs/fulltext.md and docs/vector.md. */
export function searchRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/search/fulltext',
      permission: 'query:execute',
      body: 'FulltextSearchRequest',
      handler: async (req) => ({ json: db.get(Search).fulltext(req.body) }),
    }),
    withBody({
      method: 'POST',
      path: '/search/hybrid',
      permission: 'query:execute',
      body: 'HybridSearchRequest',
      handler: async (req) => ({ json: db.get(Search).hybrid(req.body) }),
    }),
  ];
}

export const searchArea: RouteArea = { name: 'search', routes: (ctx) => searchRoutes(ctx.db) };
