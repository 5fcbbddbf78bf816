import { Entities } from '../entities/index.js';
import { Indexes } from '../index/index.js';
import type { Module } from '../kernel/index.js';
import { Pii } from '../pii/index.js';
import { Retention } from '../retention/index.js';
import { LlmService } from './service.js';

/** What closing the module undoes: the table's registration with retention. */
const unregister = new WeakMap<LlmService, () => void>();

/**
 * The LLM interaction store (docs/llm.md): interactions are documents of the
 * table `_llm_interactions`, keyed by UUID v7, written through the ordinary
 * commit path (fulltext index, change feed, audit log, PII policies see
 * them) and immutable (the commit participant refuses puts from other
 * writers; deletes are allowed). A write transform derives the indexed
 * `content` field from the messages; it opens after the PII module, so its
 * transform runs after the PII policy's rewrite. Registered with retention
 * as the built-in collection `_llm_interactions` (no default policy).
 * Nothing to recover: all state is in the documents.
 */
export const Llm: Module<LlmService> = {
  name: 'llm',
  after: [Entities, Indexes, Retention, Pii],
  open(ctx) {
    const s = new LlmService({ documents: ctx.documents, transactions: ctx.transactions, indexes: ctx.get(Indexes) });
    unregister.set(s, ctx.get(Retention).registerTarget(s.retentionTarget()));
    return s;
  },
  commit: (s) => s.participant,
  transform: (s) => s.transform,
  close: (s) => {
    unregister.get(s)?.();
  },
  gauges: [
    {
      name: 'themis_llm_interactions_created_total',
      help: 'LLM interactions stored since start',
      type: 'counter',
      read: (s) => s.stats().inserted,
    },
  ],
};
