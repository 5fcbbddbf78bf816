import path from 'node:path';
import { ChangeLog } from '../cdc/change-log.js';
import { DocumentStore } from '../documents/index.js';
import type { Logger } from '../log.js';
import { Engine, publicFailure, type PublicStorageFailure, type StorageFailure } from '../storage/index.js';
import { TransactionManager } from '../txn/index.js';
import type { DatabaseConfig } from './module.js';

/** What every module builds on: LevelDB, the documents in it, the change log that numbers commits, and the transactions that write them. */
export interface Kernel {
  readonly engine: Engine;
  readonly documents: DocumentStore;
  readonly changeLog: ChangeLog;
  readonly transactions: TransactionManager;
}

/** What /health reports: `degraded` is a full disk (reads work, writes resume by themselves), `unhealthy` needs a restart. */
export interface StorageHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  writes: 'enabled' | 'disabled';
  storage_failure?: PublicStorageFailure;
}

/** Open LevelDB and the change log (recovering the last sequence number), then the transaction manager with the change log as its first commit participant. */
export async function openKernel(
  config: DatabaseConfig,
  log: Logger,
  opts: { onGroupCommit?: (commits: number, ops: number, seconds: number) => void; onFailure: (f: StorageFailure) => void },
): Promise<Kernel> {
  const engine = await Engine.open(path.join(config.dataDir, 'db'), {
    sync: config.durability === 'sync',
    ...(opts.onGroupCommit ? { onGroupCommit: opts.onGroupCommit } : {}),
    onFailure: opts.onFailure,
  });
  const changeLog = new ChangeLog(engine, config.cdcRetention, log);
  try {
    await changeLog.open(config.cdcPruneEveryMs);
  } catch (e) {
    await engine.close();
    throw e;
  }
  const documents = new DocumentStore(engine, (config.documentCacheMb ?? 0) * 1024 * 1024);
  const transactions = new TransactionManager(engine, documents, {
    lastSeq: changeLog.lastSeq,
    idleTimeoutMs: config.txnIdleTimeoutMs,
    maxOps: config.txnMaxOps,
    maxBytes: config.txnMaxBytes,
    log,
  });
  transactions.addParticipant(changeLog.participant);
  return { engine, documents, changeLog, transactions };
}

/** Liveness of storage: open, answering reads, and writes not disabled by an I/O failure (a full disk is `degraded`). */
export function storageHealth(k: Kernel | undefined): StorageHealth {
  if (k === undefined || !k.engine.healthy()) return { status: 'unhealthy', writes: 'disabled' };
  const f = k.engine.failure;
  if (f) return { status: f.kind === 'disk_full' ? 'degraded' : 'unhealthy', writes: 'disabled', storage_failure: publicFailure(f) };
  if (!k.transactions.healthy) return { status: 'unhealthy', writes: 'disabled' };
  return { status: 'healthy', writes: 'enabled' };
}
