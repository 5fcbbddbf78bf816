import type { ServiceHost } from '../../kernel/index.js';
import { Search } from '../../search/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import { tablesOf } from '../types.js';
import type { RouteArea } from '../route-area.js';

/** Fulltext search (BM25) over fulltext indexes and hybrid (BM25 + vector) search; see docs/fulltext.md and docs/vector.md. */
export function searchRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/search/fulltext',
      body: 'FulltextSearchRequest',
      handler: async (req) => ({ json: db.get(Search).fulltext(req.body, tablesOf(req)) }),
    }),
    withBody({
      method: 'POST',
      path: '/search/hybrid',
      body: 'HybridSearchRequest',
      handler: async (req) => ({ json: db.get(Search).hybrid(req.body, tablesOf(req)) }),
    }),
  ];
}

export const searchArea: RouteArea = { name: 'search', routes: (ctx) => searchRoutes(ctx.db) };
