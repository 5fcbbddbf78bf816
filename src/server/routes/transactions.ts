import type { BatchOperation, Database } from '../../db.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';

/** Transaction ids are integers (contract); they travel as JSON numbers. */
const asNumber = (id: string) => Number(id);

/** Transaction Management (contract section), plus POST /transaction (atomic batch). */
export function transactionRoutes(db: Database): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/transaction/begin',
      permission: 'data:write',
      body: 'TransactionBeginRequest',
      bodyOptional: true,
      handler: (req) => {
        const r = db.beginTransaction((req.body as { isolation?: unknown } | undefined)?.isolation ?? 'read_committed');
        return { json: { ...r, transaction_id: asNumber(r.transaction_id) } };
      },
    },
    {
      method: 'POST',
      path: '/transaction/commit',
      permission: 'data:write',
      body: 'TransactionIdRequest',
      handler: async (req) => {
        const r = await db.commitTransaction((req.body as { transaction_id: unknown }).transaction_id);
        return { json: { ...r, transaction_id: asNumber(r.transaction_id), message: 'Transaction committed successfully' } };
      },
    },
    {
      method: 'POST',
      path: '/transaction/rollback',
      permission: 'data:write',
      body: 'TransactionIdRequest',
      handler: (req) => {
        const r = db.rollbackTransaction((req.body as { transaction_id: unknown }).transaction_id);
        return { json: { ...r, transaction_id: asNumber(r.transaction_id), message: 'Transaction rolled back successfully' } };
      },
    },
    {
      method: 'GET',
      path: '/transaction/stats',
      permission: 'stats:read',
      handler: () => ({ json: db.transactionStats() }),
    },
    {
      method: 'POST',
      path: '/transaction',
      permission: 'data:write',
      body: 'TransactionBatchRequest',
      handler: async (req) => {
        const r = await db.applyBatch((req.body as { operations: BatchOperation[] }).operations);
        return { json: { success: true, ...r, transaction_id: asNumber(r.transaction_id) } };
      },
    },
  ];
}

export const transactionsArea: RouteArea = { name: 'transactions', routes: (ctx) => transactionRoutes(ctx.db) };
