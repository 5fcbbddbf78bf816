import type { Database } from '../../db.js';
import type { RouteSpec } from '../router.js';

interface PutBody {
  blob: unknown;
}
interface PostBody {
  key?: string;
  table?: string;
  blob: unknown;
}

/** Entities CRUD (contract section "Entities (CRUD)"). */
export function entityRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/entities/:key',
      permission: 'data:read',
      handler: (req) => ({ json: db.getEntity(req.params.key!) }),
    },
    {
      method: 'PUT',
      path: '/entities/:key',
      permission: 'data:write',
      body: 'EntityPutRequest',
      handler: async (req) => {
        const r = await db.putEntity(req.params.key!, (req.body as PutBody).blob);
        return { status: 201, json: { success: true, ...r } };
      },
    },
    {
      method: 'DELETE',
      path: '/entities/:key',
      permission: 'data:write',
      handler: async (req) => ({ json: { success: true, ...(await db.deleteEntity(req.params.key!)) } }),
    },
    {
      method: 'POST',
      path: '/entities',
      permission: 'data:write',
      body: 'EntityPostRequest',
      handler: async (req) => {
        const b = req.body as PostBody;
        const r = await db.createEntity(b.key, b.table, b.blob);
        return { status: 201, json: { success: true, ...r } };
      },
    },
  ];
}
