import type { ChangeLog } from '../cdc/change-log.js';
import type { Config } from '../config.js';
import type { DocumentStore } from '../documents/index.js';
import type { Logger } from '../log.js';
import type { Engine } from '../storage/index.js';
import type { CommitParticipant, TransactionManager, WriteTransform } from '../txn/index.js';
import type { BackupTarget } from './backup-target.js';

/** What the database needs of the configuration (tests pass DEFAULTS plus a data directory). */
export type DatabaseConfig = Pick<
  Config,
  'dataDir' | 'durability' | 'txnIdleTimeoutMs' | 'txnMaxOps' | 'txnMaxBytes' | 'cdcRetention' | 'cdcStreamMaxBlockedMs'
> &
  Partial<
    Pick<
      Config,
      | 'queryTimeoutMs'
      | 'queryMaxResults'
      | 'queryMaxIntermediate'
      | 'cursorTtlMs'
      | 'checkpointIntervalMs'
      | 'checkpointEveryChanges'
      | 'maxJsonDepth'
      | 'queryMaxMemory'
      | 'queryFailOnWarning'
      | 'audit'
      | 'auditFlushMs'
      | 'retentionIntervalMs'
      | 'retentionBatchSize'
      | 'piiKey'
      | 'piiKeyFile'
      | 'classifyMaxBytes'
      | 'maxBlobBytes'
      | 'contentExtractTimeoutMs'
      | 'contentExtractMaxMemoryMb'
      | 'documentCacheMb'
      | 'residentIndexEntries'
      | 'fulltextWorkers'
      | 'fulltextWorkerMinDocs'
      | 'residentColumnValues'
      | 'cacheThreshold'
      | 'cacheDefaultTtlSec'
      | 'cacheMaxEntries'
      | 'cacheMaxBytes'
      | 'backupDir'
      | 'backupKey'
      | 'backupKeyFile'
    >
  > & {
    /** After a full disk: free space (bytes) the data directory needs before writes resume (default 32 MiB: a memtable flush plus room to compact). */
    resumeFreeBytes?: number;
    /** How often a full disk is looked at again (default 2 s). */
    resumeCheckMs?: number;
    /** How often change-log retention runs (default 5 s). */
    cdcPruneEveryMs?: number;
  };

/** What a module's `open` gets: the kernel (storage, documents, transactions, change log) and the services it opened after. */
export interface ModuleContext {
  readonly engine: Engine;
  readonly documents: DocumentStore;
  readonly transactions: TransactionManager;
  readonly changeLog: ChangeLog;
  readonly config: DatabaseConfig;
  readonly log: Logger;
  /** The service of a module named in this one's `after` (opened already). */
  get<S>(module: Module<S>): S;
  /**
   * Every module opened so far, with its service, in open order (read when
   * needed, not at open: later, it lists every module). For a module that
   * works across all the others through their hooks (the online backup).
   */
  opened(): readonly (readonly [Module<unknown>, unknown])[];
}

/**
 * A subsystem. The host opens modules in dependency order (`after`) and
 * closes them in reverse; `open` does the module's recovery (checkpoint +
 * change-log replay, or a rebuild) and returns its service, which routes
 * and other modules reach with `db.get(Module)`. A module that derives
 * state from the documents takes part in every commit (`commit`), and one
 * that must see or rewrite documents before they are buffered adds a write
 * transform (`transform`). A failing `open` fails start-up with the
 * module's name in the message.
 */
export interface Module<S> {
  readonly name: string;
  /** Modules whose services this one uses (they open first and close after it). */
  readonly after?: readonly Module<unknown>[];
  open(ctx: ModuleContext): Promise<S> | S;
  /** The module's commit participant(s) (see CommitParticipant: prepare, write, applied, aborted), run in this order. */
  commit?(service: S): CommitParticipant | readonly CommitParticipant[];
  /** A stage every put passes before it is buffered. */
  transform?(service: S): WriteTransform;
  /** Write the module's checkpoint now (also done periodically and at close). */
  checkpoint?(service: S): Promise<void>;
  /**
   * Online backup (src/backup/): add the files the module keeps in the data
   * directory beside LevelDB (checkpoints, key files) to `target`, as of
   * `target.seq` at the latest. Runs while the module serves.
   */
  backup?(service: S, target: BackupTarget): Promise<void>;
  close?(service: S): Promise<void> | void;
  /** Figures for /metrics, read from the current service at scrape time (absent while storage is not open). */
  readonly gauges?: readonly Gauge<S>[];
}

/** One Prometheus series (or a family with one label, or a histogram) a module reports. */
export type Gauge<S> =
  | { readonly name: string; readonly help: string; readonly type?: 'gauge' | 'counter'; read(service: S): number }
  | {
      readonly name: string;
      readonly help: string;
      readonly label: string;
      readonly type?: 'gauge' | 'counter';
      read(service: S): [string, number][];
    }
  | { readonly name: string; readonly help: string; readonly buckets: readonly number[]; read(service: S): HistogramValue };

/** A histogram as a module counts it: observations per bucket (not cumulative, one per upper bound of `buckets`), their sum and count. */
export interface HistogramValue {
  readonly counts: ArrayLike<number>;
  readonly sum: number;
  readonly count: number;
}

/** Where services come from (the database): routes resolve theirs per request, since storage may be reopened. */
export interface ServiceHost {
  get<S>(module: Module<S>): S;
}

/** `modules` in an order where every module comes after those it names in `after`; TypeError on a cycle or a missing dependency. */
export function openOrder(modules: readonly Module<unknown>[]): Module<unknown>[] {
  const listed = new Set(modules);
  const out: Module<unknown>[] = [];
  const state = new Map<Module<unknown>, 'visiting' | 'done'>();
  const visit = (m: Module<unknown>, path: string[]): void => {
    const s = state.get(m);
    if (s === 'done') return;
    if (s === 'visiting') throw new TypeError(`module dependency cycle: ${[...path, m.name].join(' -> ')}`);
    state.set(m, 'visiting');
    for (const d of m.after ?? []) {
      if (!listed.has(d)) throw new TypeError(`module ${m.name} needs module ${d.name}, which is not in the module list`);
      visit(d, [...path, m.name]);
    }
    state.set(m, 'done');
    out.push(m);
  };
  for (const m of modules) visit(m, []);
  return out;
}
