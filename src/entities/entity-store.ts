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
  /** Keys with a create in flight: makes POST's "must not exist" check race-free within the process. */
  private readonly creating = new Set<string>();

  constructor(private readonly engine: Engine) {}

  /** The stored JSON text, or undefined. */
  get(k: EntityKey): string | undefined {
    const v = this.engine.getSync(ks, entityKeyCodec.encode(k));
    return v === undefined ? undefined : decodeEntityValue(v);
  }

  /** Upsert. */
  async put(k: EntityKey, blob: NormalizedBlob): Promise<PutResult> {
    const inner = entityKeyCodec.encode(k);
    const existed = this.engine.getSync(ks, inner) !== undefined;
    await this.engine.commit(new WriteBatch().put(ks, inner, encodeEntityValue(blob.text)));
    return { key: k.key, blob_size: blob.size, created: !existed };
  }

  /** Create; CONFLICT when the key exists (or is being created by a concurrent request). */
  async create(k: EntityKey, blob: NormalizedBlob): Promise<PutResult> {
    const inner = entityKeyCodec.encode(k);
    if (this.creating.has(k.key) || this.engine.getSync(ks, inner) !== undefined) {
      throw new ThemisError('CONFLICT', `entity ${k.key} already exists; use PUT /entities/{key} to replace it`);
    }
    this.creating.add(k.key);
    try {
      await this.engine.commit(new WriteBatch().put(ks, inner, encodeEntityValue(blob.text)));
    } finally {
      this.creating.delete(k.key);
    }
    return { key: k.key, blob_size: blob.size, created: true };
  }

  /** Delete; resolves to whether the entity existed. */
  async delete(k: EntityKey): Promise<boolean> {
    const inner = entityKeyCodec.encode(k);
    const existed = this.engine.getSync(ks, inner) !== undefined;
    if (existed) await this.engine.commit(new WriteBatch().del(ks, inner));
    return existed;
  }
}
