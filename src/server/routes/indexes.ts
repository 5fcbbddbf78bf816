import type { ServiceHost } from '../../kernel/index.js';
import { Indexes } from '../../index/index.js';
import type { IndexDef } from '../../index/index.js';
import { indexName } from '../../index/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import type { RouteArea } from '../route-area.js';

/** The contract's answer (`success`, `table`, `column`) plus what identifies the index. */
function indexReply(d: IndexDef): Record<string, unknown> {
  return { success: true, name: indexName(d), table: d.table, column: d.columns[0], columns: d.columns, type: d.type };
}

/** Index Management (contract section): create (with backfill), drop, stats. */
export function indexRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/index/create',
      body: 'IndexCreateRequest',
      handler: async (req) => {
        const d = await db.get(Indexes).create(req.body);
        return {
          json: { ...indexReply(d), unique: d.unique, sparse: d.sparse, state: d.state, ...(d.config ? { config: d.config } : {}) },
        };
      },
    }),
    withBody({
      method: 'POST',
      path: '/index/drop',
      body: 'IndexDropRequest',
      handler: async (req) => {
        const d = await db.get(Indexes).drop(req.body);
        return { json: indexReply(d) };
      },
    }),
    {
      method: 'GET',
      path: '/index/stats',
      handler: async () => ({ json: await db.get(Indexes).stats() }),
    },
  ];
}

export const indexesArea: RouteArea = { name: 'indexes', routes: (ctx) => indexRoutes(ctx.db) };
