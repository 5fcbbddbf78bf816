import fs from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import type { BatchOp } from './write-batch.js';

type DB = ClassicLevel<Buffer, Buffer>;

/**
 * Writes a new LevelDB from key/value pairs given in key order (a restore:
 * `themis restore` and `--restore-from`). The database must be new: a
 * directory that already holds a LevelDB is refused, so a restore never
 * merges into live data. Batches are written without fsync (LevelDB's log
 * takes them in order); `finish()` writes a last batch with `sync`, which
 * fsyncs the log and with it everything before, then closes the database
 * (LevelDB fsyncs its table files and MANIFEST itself).
 */
export class BulkLoader {
  private entries = 0;
  private lastKey: Buffer | undefined;

  private constructor(
    private readonly db: DB,
    readonly location: string,
  ) {}

  static async create(location: string): Promise<BulkLoader> {
    await fs.mkdir(location, { recursive: true });
    const db: DB = new ClassicLevel<Buffer, Buffer>(location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing: true,
      errorIfExists: true,
      // Large memtables: fewer level-0 files while loading.
      writeBufferSize: 64 * 1024 * 1024,
    });
    await db.open();
    return new BulkLoader(db, location);
  }

  /** Whether a LevelDB at `location` is held open by another process (its lock is taken). */
  static async inUse(location: string): Promise<boolean> {
    const db: DB = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause;
      return /lock/i.test(cause?.message ?? (e as Error).message);
    }
    await db.close();
    return false;
  }

  /** Write `pairs` (strictly ascending keys, continuing the previous call's order) as one batch. */
  async put(pairs: readonly (readonly [Buffer, Buffer])[]): Promise<void> {
    if (pairs.length === 0) return;
    const ops: BatchOp[] = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const [key, value] = pairs[i]!;
      if (this.lastKey !== undefined && Buffer.compare(this.lastKey, key) >= 0)
        throw new TypeError('bulk load: keys must be strictly ascending');
      this.lastKey = key;
      ops[i] = { type: 'put', key, value };
    }
    await this.db.batch(ops as never, { sync: false });
    this.entries += pairs.length;
  }

  get count(): number {
    return this.entries;
  }

  /** Make everything durable (a synced write fsyncs LevelDB's log) and close. */
  async finish(): Promise<void> {
    // A synced write of the last key again (an empty batch may skip the log): the fsync covers the whole log.
    if (this.lastKey !== undefined) {
      const v = await this.db.get(this.lastKey);
      if (v !== undefined) await this.db.put(this.lastKey, v, { sync: true });
    }
    await this.db.close();
  }

  /** Close without the final sync (a failed restore; the directory is removed by the caller). */
  async abort(): Promise<void> {
    await this.db.close().catch(() => undefined);
  }
}
