import type { Keyspace } from './keyspace.js';

export interface BatchOp {
  type: 'put' | 'del';
  key: Buffer;
  value?: Buffer;
}

/**
 * A set of writes that becomes durable atomically: all of it or none of it.
 * Every subsystem (entities, indexes, change log, audit) adds its operations
 * to the same batch, so one commit carries a record together with its index
 * entries and change-log entry.
 */
export class WriteBatch {
  readonly ops: BatchOp[] = [];
  private bytes = 0;
  /** Group hooks this batch asks for (Engine.onGroup): each named hook runs for the group that carries the batch. */
  tags: string[] | undefined;

  put(ks: Keyspace, innerKey: Uint8Array, value: Uint8Array): this {
    const key = ks.key(innerKey);
    const v = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
    this.ops.push({ type: 'put', key, value: v });
    this.bytes += key.length + v.length;
    return this;
  }

  del(ks: Keyspace, innerKey: Uint8Array): this {
    const key = ks.key(innerKey);
    this.ops.push({ type: 'del', key });
    this.bytes += key.length;
    return this;
  }

  /**
   * Ask for the group hook `name` (Engine.onGroup) to run when the LevelDB
   * batch that carries this one is formed; what it adds is written in that
   * same batch.
   */
  tag(name: string): this {
    (this.tags ??= []).push(name);
    return this;
  }

  /** Append another batch's operations (later operations on the same key win). */
  append(other: WriteBatch): this {
    for (const op of other.ops) this.ops.push(op);
    this.bytes += other.bytes;
    return this;
  }

  get length(): number {
    return this.ops.length;
  }

  /** Approximate payload size (keys + values), for size limits and stats. */
  get byteLength(): number {
    return this.bytes;
  }
}
