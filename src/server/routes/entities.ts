import type { ServiceHost } from '../../kernel/index.js';
import { Entities } from '../../entities/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import { callerOf } from '../types.js';
import type { RouteArea } from '../route-area.js';

/** Joining a transaction: X-Transaction-Id names it; without the header each request is its own transaction. */
const TXN_HEADER = ['x-transaction-id'] as const;

/** Entities CRUD (contract section "Entities (CRUD)"). */
export function entityRoutes(db: ServiceHost): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/entities/:key',
      headers: TXN_HEADER,
      handler: (req) => {
        const e = db.get(Entities).getEntity(req.params.key!, req.header('x-transaction-id'), callerOf(req));
        // Hand-built: the blob is already JSON text, so only the two strings need escaping.
        return { text: `{"key":${JSON.stringify(e.key)},"blob":${JSON.stringify(e.blob)}}`, contentType: 'application/json' };
      },
    },
    withBody({
      method: 'PUT',
      path: '/entities/:key',
      body: 'EntityPutRequest',
      headers: TXN_HEADER,
      handler: async (req) => {
        const r = await db.get(Entities).putEntity(req.params.key!, req.body.blob, req.header('x-transaction-id'), callerOf(req));
        return { status: 201, json: { success: true, ...r } };
      },
    }),
    {
      method: 'DELETE',
      path: '/entities/:key',
      headers: TXN_HEADER,
      handler: async (req) => ({
        json: { success: true, ...(await db.get(Entities).deleteEntity(req.params.key!, req.header('x-transaction-id'), callerOf(req))) },
      }),
    },
    withBody({
      method: 'POST',
      path: '/entities',
      body: 'EntityPostRequest',
      headers: TXN_HEADER,
      handler: async (req) => {
        const b = req.body;
        const r = await db.get(Entities).createEntity(b.key, b.table, b.blob, req.header('x-transaction-id'), callerOf(req));
        return { status: 201, json: { success: true, ...r } };
      },
    }),
  ];
}

export const entitiesArea: RouteArea = { name: 'entities', routes: (ctx) => entityRoutes(ctx.db) };
