import { DEFAULTS, type Retention } from '../../src/config.js';
import { Database } from '../../src/db.js';
import type { ChangeLog } from '../../src/cdc/index.js';
import type { Module } from '../../src/kernel/index.js';
import { createLogger } from '../../src/log.js';
import type { Engine } from '../../src/storage/index.js';
import type { CommitParticipant, TransactionManager } from '../../src/txn/index.js';

/** The kernel (engine, change log, transaction manager) of a Database opened with only the modules a test names. */
export interface Stack {
  db: Database;
  engine: Engine;
  changeLog: ChangeLog;
  txm: TransactionManager;
  close(): Promise<void>;
}

export interface StackOptions {
  idleTimeoutMs?: number;
  maxOps?: number;
  maxBytes?: number;
  retention?: Retention;
  /** Retention timer period (tests call prune() themselves; default: effectively never). */
  pruneEveryMs?: number;
  /** Extra commit participants (e.g. one that refuses some commits, as a unique index does), each as a module of its own. */
  participants?: CommitParticipant[];
  /** Modules to open (default none: the kernel only). */
  modules?: readonly Module<unknown>[];
}

/** Open a Database on `dir` the way the server does, with only the given modules. */
export async function openStack(dir: string, o: StackOptions = {}): Promise<Stack> {
  const extra = (o.participants ?? []).map((p): Module<CommitParticipant> => ({ name: `test:${p.name}`, open: () => p, commit: (x) => x }));
  const db = new Database(
    {
      ...DEFAULTS,
      dataDir: dir,
      durability: 'relaxed',
      txnIdleTimeoutMs: o.idleTimeoutMs ?? 60_000,
      txnMaxOps: o.maxOps ?? 100_000,
      txnMaxBytes: o.maxBytes ?? 64 * 1024 * 1024,
      cdcRetention: o.retention ?? { kind: 'forever' },
      cdcPruneEveryMs: o.pruneEveryMs ?? 3_600_000,
    },
    createLogger('silent'),
    {},
    [...(o.modules ?? []), ...extra],
  );
  await db.open();
  return { db, engine: db.engine, changeLog: db.changeLog, txm: db.transactions, close: () => db.close() };
}
