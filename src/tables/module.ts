import { Audit } from '../audit/index.js';
import { Content } from '../content/index.js';
import { Entities } from '../entities/module.js';
import { Graph } from '../graph/module.js';
import { Indexes } from '../index/module.js';
import { Vectors } from '../index/vector/module.js';
import type { Module } from '../kernel/index.js';
import { Llm } from '../llm/index.js';
import { Pii } from '../pii/index.js';
import { Retention } from '../retention/index.js';
import { TableLedger } from './table-ledger.js';
import { TableService } from './table-service.js';

/** The ledger of each open service (its commit participant). */
const ledgers = new WeakMap<TableService, TableLedger>();

/**
 * The table catalogue (docs/operations.md, "Table management"): exact
 * per-table counts kept by a commit participant, GET /tables, drop and
 * truncate. It opens after every module whose commit participant derives
 * something from documents (graph, indexes, vectors, content, LLM, audit,
 * PII), so that a drop or truncate an earlier run left unfinished resumes
 * only once all of them take part in its commits; its counts stay right
 * whatever commits before it registers: a watermark that disagrees with the
 * change log makes it count again at open.
 */
export const Tables: Module<TableService> = {
  name: 'tables',
  after: [Entities, Graph, Indexes, Vectors, Content, Llm, Pii, Retention, Audit],
  async open(ctx) {
    const ledger = new TableLedger(ctx.engine, ctx.documents, ctx.log);
    await ledger.open(ctx.changeLog.lastSeq);
    const s = new TableService({
      ledger,
      documents: ctx.documents,
      entities: ctx.get(Entities),
      indexes: ctx.get(Indexes),
      vectors: ctx.get(Vectors).manager,
      pii: ctx.get(Pii),
      retention: ctx.get(Retention),
      log: ctx.log,
    });
    ledgers.set(s, ledger);
    // After open returns, the participant is registered (ModuleSet does that synchronously): only then may jobs commit.
    setImmediate(() => s.resume());
    return s;
  },
  commit: (s) => ledgers.get(s)!.participant,
  close: (s) => s.close(),
};
