import { assertRead, type Caller, INTERNAL } from '../access.js';
import { Entities } from '../entities/module.js';
import { Indexes } from '../index/module.js';
import type { Module } from '../kernel/index.js';
import { executeQuery, type QueryResult } from './executor.js';
import { normalizeQuery, type QueryRequest } from './planner.js';

/**
 * POST /query: equality and range predicates over secondary indexes (see
 * docs/query.md). With X-Transaction-Id the query reads the transaction's
 * view: its snapshot (snapshot isolation) and its own buffered writes.
 * The caller must be allowed to read the table (403) and own the transaction.
 */
export const Query: Module<{ run(body: QueryRequest, txnId?: string, caller?: Caller): Promise<QueryResult> }> = {
  name: 'query',
  after: [Indexes, Entities],
  open(ctx) {
    const indexes = ctx.get(Indexes);
    const entities = ctx.get(Entities);
    return {
      run: (body, txnId, caller = INTERNAL) => {
        const q = normalizeQuery(body);
        assertRead(caller.access, q.table);
        return executeQuery(ctx.engine, ctx.documents, indexes, q, entities.joined(txnId, caller));
      },
    };
  },
};
