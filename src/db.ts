import path from 'node:path';
import type { Config } from './config.js';
import { ThemisError } from './errors.js';
import type { Logger } from './log.js';
import { EntityStore, normalizeBlob, parseEntityKey, type PutResult } from './entities/index.js';
import { Engine } from './storage/index.js';
import { v4 as uuidv4 } from 'uuid';

export type DatabaseState = 'created' | 'opening' | 'recovering' | 'ready' | 'closing' | 'closed' | 'failed';

export interface DatabaseHooks {
  onGroupCommit?: (commits: number, ops: number, seconds: number) => void;
}

/**
 * The database: owns the storage engine and wires every subsystem on top of
 * it. The server calls plain methods here; nothing below knows about HTTP.
 * Entity methods take the raw key/blob as the client sent them and validate
 * them (public method validates, private implements).
 */
export class Database {
  private engineRef: Engine | undefined;
  private entityStore: EntityStore | undefined;
  private stateRef: DatabaseState = 'created';

  constructor(
    private readonly config: Pick<Config, 'dataDir' | 'durability'>,
    private readonly log: Logger,
    private readonly hooks: DatabaseHooks = {},
  ) {}

  get state(): DatabaseState {
    return this.stateRef;
  }

  /** Storage open and recovery finished: data requests are served. */
  get ready(): boolean {
    return this.stateRef === 'ready';
  }

  get engine(): Engine {
    if (!this.engineRef) throw new ThemisError('UNAVAILABLE', 'storage is not open yet');
    return this.engineRef;
  }

  /** Open LevelDB and run recovery of derived state; `ready` afterwards. */
  async open(): Promise<void> {
    if (this.stateRef !== 'created') throw new TypeError(`cannot open a database in state ${this.stateRef}`);
    this.stateRef = 'opening';
    try {
      const location = path.join(this.config.dataDir, 'db');
      this.engineRef = await Engine.open(location, {
        sync: this.config.durability === 'sync',
        ...(this.hooks.onGroupCommit ? { onGroupCommit: this.hooks.onGroupCommit } : {}),
      });
      this.stateRef = 'recovering';
      // Derived state (indexes, HNSW graphs, caches) is rebuilt or caught up here
      // by the subsystems that own it; the foundation has none yet.
      this.entityStore = new EntityStore(this.engineRef);
      this.stateRef = 'ready';
      this.log.info('storage ready', { location, durability: this.config.durability });
    } catch (e) {
      this.stateRef = 'failed';
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.stateRef === 'closed' || this.stateRef === 'closing') return;
    const engine = this.engineRef;
    this.stateRef = 'closing';
    if (engine) await engine.close();
    this.stateRef = 'closed';
  }

  /** Liveness of storage: open and answering reads. */
  healthy(): boolean {
    return this.engineRef !== undefined && this.engineRef.healthy();
  }

  // ------------------------------------------------------------- entities

  private get entities(): EntityStore {
    if (this.stateRef !== 'ready' || !this.entityStore) {
      throw new ThemisError('UNAVAILABLE', this.stateRef === 'closing' || this.stateRef === 'closed' ? 'server is shutting down' : 'database is starting, retry shortly');
    }
    return this.entityStore;
  }

  /** The entity's JSON text; NOT_FOUND when absent. */
  getEntity(rawKey: string): { key: string; blob: string } {
    const k = parseEntityKey(rawKey);
    const blob = this.entities.get(k);
    if (blob === undefined) throw new ThemisError('NOT_FOUND', `entity ${k.key} not found`);
    return { key: k.key, blob };
  }

  putEntity(rawKey: string, blob: unknown): Promise<PutResult> {
    const k = parseEntityKey(rawKey);
    return this.entities.put(k, normalizeBlob(blob));
  }

  /**
   * Create (CONFLICT if the key exists). Without a key, the key is
   * `<table>:<uuid v4>`, table defaulting to `entities`.
   */
  createEntity(rawKey: string | undefined, table: string | undefined, blob: unknown): Promise<PutResult> {
    const k = parseEntityKey(rawKey ?? `${table ?? DEFAULT_TABLE}:${uuidv4()}`);
    if (rawKey !== undefined && table !== undefined && table !== k.table) {
      throw new ThemisError('VALIDATION_FAILED', `field "table" ("${table}") does not match the table of key "${k.key}"`, { details: { field: 'table' } });
    }
    return this.entities.create(k, normalizeBlob(blob));
  }

  async deleteEntity(rawKey: string): Promise<{ key: string; deleted: boolean }> {
    const k = parseEntityKey(rawKey);
    return { key: k.key, deleted: await this.entities.delete(k) };
  }
}

/** Table for POST /entities without a key. */
export const DEFAULT_TABLE = 'entities';
