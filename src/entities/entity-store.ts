import { ThemisError } from '../errors.js';
import { Engine, WriteBatch, entityKeyCodec, keyspace } from '../storage/index.js';
import type { EntityKey } from './entity-key.js';
import type { NormalizedBlob } from './blob.js';

/** Value format byte: lets later versions change the stored layout without a migration of old rows. */
const VALUE_V1 = 0x01;
const ks = keyspace('entity');

export function encodeEntityValue(text: string): Buffer {
  const len = Buffer.byteLength(text, 'utf8');
  const b = Buffer.allocUnsafe(1 + len);
  b[0] = VALUE_V1;
  b.write(text, 1, 'utf8');
  return b;
}

export function decodeEntityValue(b: Buffer): string {
  if (b[0] !== VALUE_V1) throw new TypeError(`unknown entity value format ${b[0]}`);
  return b.toString('utf8', 1);
}

export interface PutResult {
  key: string;
  blob_size: number;
  /** false when an existing entity was replaced. */
  created: boolean;
}

/**
 * Entities: documents addressed by `table:pk`, stored in the `entity`
 * keyspace. Writes go through `Engine.commit` (one atomic, durable batch).
 */
export class EntityStore {
  /**
   * Writes in flight per key (between the existence check and the durable
   * commit). Makes POST's "must not exist" check and the `created` flag
   * race-free within the process: a key with a write in flight counts as
   * existing. (The transaction layer will subsume this.)
   */
  private readonly inflight = new Map<string, number>();

  constructor(private readonly engine: Engine) {}

  /** The stored JSON text, or undefined. */
  get(k: EntityKey): string | undefined {
    const v = this.engine.getSync(ks, entityKeyCodec.encode(k));
    return v === undefined ? undefined : decodeEntityValue(v);
  }

  /** Upsert. */
  async put(k: EntityKey, blob: NormalizedBlob): Promise<PutResult> {
    const inner = entityKeyCodec.encode(k);
    const existed = this.existsOrPending(k.key, inner);
    await this.write(k.key, new WriteBatch().put(ks, inner, encodeEntityValue(blob.text)));
    return { key: k.key, blob_size: blob.size, created: !existed };
  }

  /** Create; CONFLICT when the key exists or has a write in flight. */
  async create(k: EntityKey, blob: NormalizedBlob): Promise<PutResult> {
    const inner = entityKeyCodec.encode(k);
    if (this.existsOrPending(k.key, inner)) {
      throw new ThemisError('CONFLICT', `entity ${k.key} already exists; use PUT /entities/{key} to replace it`);
    }
    await this.write(k.key, new WriteBatch().put(ks, inner, encodeEntityValue(blob.text)));
    return { key: k.key, blob_size: blob.size, created: true };
  }

  /** Delete; resolves to whether the entity existed. */
  async delete(k: EntityKey): Promise<boolean> {
    const inner = entityKeyCodec.encode(k);
    const existed = this.existsOrPending(k.key, inner);
    if (existed) await this.write(k.key, new WriteBatch().del(ks, inner));
    return existed;
  }

  private existsOrPending(key: string, inner: Buffer): boolean {
    return this.inflight.has(key) || this.engine.getSync(ks, inner) !== undefined;
  }

  private async write(key: string, batch: WriteBatch): Promise<void> {
    this.inflight.set(key, (this.inflight.get(key) ?? 0) + 1);
    try {
      await this.engine.commit(batch);
    } finally {
      const n = this.inflight.get(key)! - 1;
      if (n === 0) this.inflight.delete(key);
      else this.inflight.set(key, n);
    }
  }
}
