import type { Database } from '../../db.js';
import type { IndexDef, IndexSpec } from '../../index/index.js';
import { indexName } from '../../index/index.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';

/** The contract's answer (`success`, `table`, `column`) plus what identifies the index. */
function indexReply(d: IndexDef): Record<string, unknown> {
  return { success: true, name: indexName(d), table: d.table, column: d.columns[0], columns: d.columns, type: d.type };
}

/** Index Management (contract section): create (with backfill), drop, stats. */
export function indexRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/index/create',
      permission: 'admin',
      body: 'IndexCreateRequest',
      handler: async (req) => {
        const d = await db.createIndex(req.body as IndexSpec);
        return { json: { ...indexReply(d), unique: d.unique, sparse: d.sparse, state: d.state, ...(d.config ? { config: d.config } : {}) } };
      },
    },
    {
      method: 'POST',
      path: '/index/drop',
      permission: 'admin',
      body: 'IndexDropRequest',
      handler: async (req) => {
        const d = await db.dropIndex(req.body as IndexSpec);
        return { json: indexReply(d) };
      },
    },
    {
      method: 'GET',
      path: '/index/stats',
      permission: 'stats:read',
      handler: async () => ({ json: await db.indexStats() }),
    },
  ];
}

export const indexesArea: RouteArea = { name: 'indexes', routes: (ctx) => indexRoutes(ctx.db) };
