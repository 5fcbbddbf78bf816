import type { Database } from '../../db.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** Transaction ids are integers (contract); they travel as JSON numbers. */
const asNumber = (id: string) => Number(id);

/** Transaction Management (contract section), plus POST /transaction (atomic batch). */
export function transactionRoutes(db: Database): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/transaction/begin',
      permission: 'data:write',
      body: 'TransactionBeginRequest',
      bodyOptional: true,
      handler: (req) => {
        const r = db.beginTransaction(req.body?.isolation ?? 'read_committed');
        return { json: { ...r, transaction_id: asNumber(r.transaction_id) } };
      },
    }),
    withBody({
      method: 'POST',
      path: '/transaction/commit',
      permission: 'data:write',
      body: 'TransactionIdRequest',
      handler: async (req) => {
        const r = await db.commitTransaction(req.body.transaction_id);
        return { json: { ...r, transaction_id: asNumber(r.transaction_id), message: 'Transaction committed successfully' } };
      },
    }),
    withBody({
      method: 'POST',
      path: '/transaction/rollback',
      permission: 'data:write',
      body: 'TransactionIdRequest',
      handler: (req) => {
        const r = db.rollbackTransaction(req.body.transaction_id);
        return { json: { ...r, transaction_id: asNumber(r.transaction_id), message: 'Transaction rolled back successfully' } };
      },
    }),
    {
      method: 'GET',
      path: '/transaction/stats',
      permission: 'stats:read',
      handler: () => ({ json: db.transactionStats() }),
    },
    withBody({
      method: 'POST',
      path: '/transaction',
      permission: 'data:write',
      body: 'TransactionBatchRequest',
      handler: async (req) => {
        const r = await db.applyBatch(req.body.operations);
        return { json: { success: true, ...r, transaction_id: asNumber(r.transaction_id) } };
      },
    }),
  ];
}
