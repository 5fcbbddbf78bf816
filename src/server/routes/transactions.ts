import type { ServiceHost } from '../../kernel/index.js';
import { Entities } from '../../entities/index.js';
import { Transactions } from '../../transactions/index.js';
import type { RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';
import { callerOf } from '../types.js';
import type { RouteArea } from '../route-area.js';

/** Transaction ids are integers (contract); they travel as JSON numbers. */
const asNumber = (id: string) => Number(id);

/** Transaction Management (contract section), plus POST /transaction (atomic batch). */
export function transactionRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/transaction/begin',
      body: 'TransactionBeginRequest',
      bodyOptional: true,
      handler: (req) => {
        const r = db.get(Transactions).begin(req.body?.isolation ?? 'read_committed', callerOf(req));
        return { json: { ...r, transaction_id: asNumber(r.transaction_id) } };
      },
    }),
    withBody({
      method: 'POST',
      path: '/transaction/commit',
      body: 'TransactionIdRequest',
      handler: async (req) => {
        const r = await db.get(Transactions).commit(req.body.transaction_id, callerOf(req));
        return { json: { ...r, transaction_id: asNumber(r.transaction_id), message: 'Transaction committed successfully' } };
      },
    }),
    withBody({
      method: 'POST',
      path: '/transaction/rollback',
      body: 'TransactionIdRequest',
      handler: (req) => {
        const r = db.get(Transactions).rollback(req.body.transaction_id, callerOf(req));
        return { json: { ...r, transaction_id: asNumber(r.transaction_id), message: 'Transaction rolled back successfully' } };
      },
    }),
    {
      method: 'GET',
      path: '/transaction/stats',
      handler: () => ({ json: db.get(Transactions).stats() }),
    },
    withBody({
      method: 'POST',
      path: '/transaction',
      body: 'TransactionBatchRequest',
      handler: async (req) => {
        const r = await db.get(Entities).applyBatch(req.body.operations, callerOf(req));
        return { json: { success: true, ...r, transaction_id: asNumber(r.transaction_id) } };
      },
    }),
  ];
}

export const transactionsArea: RouteArea = { name: 'transactions', routes: (ctx) => transactionRoutes(ctx.db) };
