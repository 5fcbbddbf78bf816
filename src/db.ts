import { ThemisError } from './errors.js';
import {
  DiskWatch,
  ModuleSet,
  openKernel,
  storageHealth,
  type DatabaseConfig,
  type Kernel,
  type Module,
  type ServiceHost,
  type StorageHealth,
} from './kernel/index.js';
import type { Logger } from './log.js';
import { MODULES } from './modules.js';
import type { ChangeLog } from './cdc/change-log.js';
import type { DocumentStore } from './documents/index.js';
import type { Engine, StorageFailure } from './storage/index.js';
import type { TransactionManager } from './txn/index.js';

export type { DatabaseConfig } from './kernel/index.js';
export type DatabaseState = 'created' | 'opening' | 'recovering' | 'ready' | 'closing' | 'closed' | 'failed';
export type DatabaseHealth = StorageHealth;

export interface DatabaseHooks {
  onGroupCommit?: (commits: number, ops: number, seconds: number) => void;
}

/** One opening of storage: the kernel and the open modules (a reopen after a full disk builds a new one). */
interface Opened extends Kernel {
  modules: ModuleSet;
}

/**
 * The host: opens the kernel (LevelDB, documents, change log, transaction
 * manager), then the modules in dependency order, each recovering its own
 * state and registering its commit participant and write transform; closes
 * them in reverse. Everything else is a module's service, reached with
 * `db.get(Module)`. Nothing here knows about HTTP.
 */
export class Database implements ServiceHost {
  private stateRef: DatabaseState = 'created';
  private opened: Opened | undefined;
  private readonly diskWatch: DiskWatch;

  constructor(
    private readonly config: DatabaseConfig,
    private readonly log: Logger,
    private readonly hooks: DatabaseHooks = {},
    readonly modules: readonly Module<unknown>[] = MODULES,
  ) {
    this.diskWatch = new DiskWatch(config.dataDir, config.resumeFreeBytes ?? 32 * 1024 * 1024, config.resumeCheckMs ?? 2_000, log, (free) =>
      this.resume(free),
    );
  }

  get state(): DatabaseState {
    return this.stateRef;
  }

  /** Storage open and recovery finished: data requests are served. */
  get ready(): boolean {
    return this.stateRef === 'ready';
  }

  /** The service of a module (UNAVAILABLE while starting, reopening or shutting down). */
  get<S>(module: Module<S>): S {
    return this.serving().modules.service(module);
  }

  get engine(): Engine {
    if (!this.opened) throw new ThemisError('UNAVAILABLE', 'storage is not open yet');
    return this.opened.engine;
  }

  get transactions(): TransactionManager {
    return this.serving().transactions;
  }

  /** The document store (its point reads and document cache). */
  get documents(): DocumentStore {
    return this.serving().documents;
  }

  get changeLog(): ChangeLog {
    return this.serving().changeLog;
  }

  /** Open storage and recover every module; `ready` afterwards. */
  async open(): Promise<void> {
    if (this.stateRef !== 'created') throw new TypeError(`cannot open a database in state ${this.stateRef}`);
    this.stateRef = 'opening';
    try {
      await this.openStorage();
    } catch (e) {
      this.stateRef = 'failed';
      throw e;
    }
  }

  private async openStorage(): Promise<void> {
    const started = Date.now();
    const kernel = await openKernel(this.config, this.log, { ...this.hooks, onFailure: (f) => this.onStorageFailure(f) });
    const o: Opened = (this.opened = { ...kernel, modules: new ModuleSet() });
    this.stateRef = 'recovering';
    await o.modules.open(this.modules, kernel, this.config, this.log);
    this.stateRef = 'ready';
    this.log.info('storage ready', {
      data_dir: this.config.dataDir,
      durability: this.config.durability,
      last_seq: o.changeLog.lastSeq,
      modules: o.modules.opened.map((m) => m.name),
      recovery_ms: Date.now() - started,
    });
  }

  /** Shutdown begins: long-polls answer now instead of holding the drain up to their timeout. */
  prepareShutdown(): void {
    this.opened?.changeLog.releaseWaiters();
  }

  async close(): Promise<void> {
    if (this.stateRef === 'closed' || this.stateRef === 'closing') return;
    this.stateRef = 'closing';
    this.diskWatch.stop();
    await this.closeStorage();
    this.stateRef = 'closed';
  }

  /** Roll back open transactions, close the modules in reverse open order (checkpoints are written on the way), then the kernel. */
  private async closeStorage(): Promise<void> {
    const o = this.opened;
    if (!o) return;
    o.transactions.close();
    await o.modules.close(this.log);
    await o.changeLog.close();
    await o.engine.close();
  }

  /** Write every module's checkpoint now (also done periodically and at shutdown). */
  checkpoint(): Promise<void> {
    return this.serving().modules.checkpoint();
  }

  health(): DatabaseHealth {
    return storageHealth(this.opened);
  }

  private serving(): Opened {
    if (this.stateRef !== 'ready')
      throw new ThemisError(
        'UNAVAILABLE',
        this.stateRef === 'closing' || this.stateRef === 'closed' ? 'server is shutting down' : 'database is starting, retry shortly',
      );
    return this.opened!;
  }

  /** The first failed write. A full disk is watched until it has room, then storage reopens (see resume); other I/O errors wait for a restart. */
  private onStorageFailure(f: StorageFailure): void {
    this.log.error('storage write failed; writes are refused', {
      kind: f.kind,
      error: f.message,
      resumes: f.kind === 'disk_full' ? 'when space is freed' : 'after a restart',
    });
    if (f.kind === 'disk_full') this.diskWatch.start();
  }

  /**
   * The disk has room again: reopen storage (LevelDB refuses writes after a failed background write until it is reopened),
   * every module recovering as after a restart. Requests meanwhile get 503; open transactions, cursors and streams end.
   */
  private async resume(free: number): Promise<boolean> {
    if (this.stateRef !== 'ready' && this.stateRef !== 'failed') return false;
    const started = Date.now();
    try {
      this.log.warn('disk has room again; reopening storage to resume writes', { free_bytes: free });
      this.stateRef = 'recovering';
      this.opened?.changeLog.releaseWaiters();
      await this.closeStorage();
      await this.openStorage();
      this.log.info('writes resumed', { ms: Date.now() - started });
      return true;
    } catch (e) {
      // Still no room (or another failure while reopening): nothing is served until the next attempt succeeds.
      this.stateRef = 'failed';
      this.log.error('reopening storage failed; trying again', { error: e });
      return false;
    }
  }
}
