import { type Caller, INTERNAL } from '../access.js';
import type { Module } from '../kernel/index.js';
import type { Isolation, TransactionManager, TransactionStats } from '../txn/index.js';

/** Explicit transactions as the API offers them (POST /transaction/begin, /commit, /rollback; GET /transaction/stats). */
export class TransactionApi {
  constructor(readonly manager: TransactionManager) {}

  /** `isolation` was checked by the request schema (read_committed or snapshot). */
  begin(
    isolation: Isolation = 'read_committed',
    caller: Caller = INTERNAL,
  ): { transaction_id: string; isolation: Isolation; status: 'begun' } {
    const t = this.manager.begin(isolation);
    t.owner = caller.id;
    return { transaction_id: t.id, isolation: t.isolation, status: 'begun' };
  }

  async commit(
    id: unknown,
    caller: Caller = INTERNAL,
  ): Promise<{ transaction_id: string; status: 'committed'; changes: number; last_seq: number }> {
    const t = this.manager.get(id, caller.id);
    t.origin = caller.origin;
    const r = await this.manager.commit(t);
    return { transaction_id: t.id, status: 'committed', changes: r.changes.length, last_seq: r.lastSeq };
  }

  rollback(id: unknown, caller: Caller = INTERNAL): { transaction_id: string; status: 'rolled_back' } {
    const t = this.manager.get(id, caller.id);
    this.manager.rollback(t);
    return { transaction_id: t.id, status: 'rolled_back' };
  }

  stats(): TransactionStats {
    return this.manager.stats();
  }
}

/** The transaction endpoints over the kernel's transaction manager. */
export const Transactions: Module<TransactionApi> = {
  name: 'transactions',
  open: (ctx) => new TransactionApi(ctx.transactions),
  gauges: [
    { name: 'themis_transactions_active', help: 'Explicit transactions currently open', read: (t) => t.stats().active_count },
    {
      name: 'themis_transactions_committed_total',
      help: 'Explicit transactions committed',
      type: 'counter',
      read: (t) => t.stats().total_committed,
    },
    {
      name: 'themis_transactions_aborted_total',
      help: 'Explicit transactions not committed (rolled back, conflicts, timeouts)',
      type: 'counter',
      read: (t) => t.stats().total_aborted,
    },
    {
      name: 'themis_transactions_conflicts_total',
      help: 'Commits refused by first-committer-wins (409)',
      type: 'counter',
      read: (t) => t.stats().conflicts,
    },
    {
      name: 'themis_transactions_implicit_committed_total',
      help: 'Single-request (implicit) transactions committed',
      type: 'counter',
      read: (t) => t.stats().implicit_committed,
    },
    {
      name: 'themis_transactions_conflict_tracking_keys',
      help: 'Keys held for write-conflict detection',
      read: (t) => t.stats().conflict_tracking_keys,
    },
  ],
};
