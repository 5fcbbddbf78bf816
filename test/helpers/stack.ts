import path from 'node:path';
import { ChangeLog } from '../../src/cdc/index.js';
import type { Retention } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { Engine } from '../../src/storage/index.js';
import { TransactionManager, type CommitHook } from '../../src/txn/index.js';

/** Engine + change log + transaction manager, wired as src/db.ts wires them. */
export interface Stack {
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
  /** Commit hooks run after the change log's (e.g. one that refuses some commits, as a unique index does). */
  hooks?: CommitHook[];
}

export async function openStack(dir: string, o: StackOptions = {}): Promise<Stack> {
  const log = createLogger('silent');
  const engine = await Engine.open(path.join(dir, 'db'), { sync: false });
  const changeLog = new ChangeLog(engine, o.retention ?? { kind: 'forever' }, log);
  await changeLog.open(o.pruneEveryMs ?? 3_600_000);
  const txm = new TransactionManager(engine, {
    lastSeq: changeLog.lastSeq,
    idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
    maxOps: o.maxOps ?? 100_000,
    maxBytes: o.maxBytes ?? 64 * 1024 * 1024,
    hooks: [changeLog.hook, ...(o.hooks ?? [])],
    listeners: [changeLog.onApplied],
    log,
  });
  let closed = false;
  return {
    engine,
    changeLog,
    txm,
    close: async () => {
      if (closed) return;
      closed = true;
      txm.close();
      await changeLog.close();
      await engine.close();
    },
  };
}
