import type { ServiceHost } from '../../kernel/index.js';
import { Entities } from '../../entities/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import type { RouteArea } from '../route-area.js';

/** Joining a transaction: X-Transaction-Id names it; without the header each request is its own transaction. */
const TXN_HEADER = ['x-transaction-id'] as const;

/** Entities CRUD (contract section "Entities (CRUD)"). */
export function entityRoutes(db: ServiceHost): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/entities/:key',
      permission: 'data:read',
      headers: TXN_HEADER,
      handler: (req) => {
        const e = db.get(Entities).getEntity(req.params.key!, req.header('x-transaction-id'));
        // Hand-built: the blob is already JSON text, so only the two strings need escaping.
        return { text: `{"key":${JSON.stringify(e.key)},"blob":${JSON.stringify(e.blob)}}`, contentType: 'application/json' };
      },
    },
    withBody({
      method: 'PUT',
      path: '/entities/:key',
      permission: 'data:write',
      body: 'EntityPutRequest',
      headers: TXN_HEADER,
      handler: async (req) => {
        const r = await db.get(Entities).putEntity(req.params.key!, req.body.blob, req.header('x-transaction-id'));
        return { status: 201, json: { success: true, ...r } };
      },
    }),
    {
      method: 'DELETE',
      path: '/entities/:key',
      permission: 'data:write',
      headers: TXN_HEADER,
      handler: async (req) => ({
        json: { success: true, ...(await db.get(Entities).deleteEntity(req.params.key!, req.header('x-transaction-id'))) },
      }),
    },
    withBody({
      method: 'POST',
      path: '/entities',
      permission: 'data:write',
      body: 'EntityPostRequest',
      headers: TXN_HEADER,
      handler: async (req) => {
        const b = req.body;
        const r = await db.get(Entities).createEntity(b.key, b.table, b.blob, req.header('x-transaction-id'));
        return { status: 201, json: { success: true, ...r } };
      },
    }),
  ];
}

export const entitiesArea: RouteArea = { name: 'entities', routes: (ctx) => entityRoutes(ctx.db) };
