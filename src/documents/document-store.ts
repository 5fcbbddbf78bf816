import { keyspace, type Engine, type ScanOptions, type Snapshot, type WriteBatch } from '../storage/index.js';
import { decodeEntityValue, encodeEntityValue, entityKeyCodec } from './codec.js';
import type { EntityKey } from './entity-key.js';

const entityKs = keyspace('entity');

/** One stored document: its `table:pk` key and JSON text. */
export type StoredRow = readonly [key: string, text: string];

export interface ScanRange {
  /** Only this table (default: every table). */
  table?: string;
  /** Resume after this key (exclusive); it must belong to `table` when one is given. */
  after?: EntityKey;
  /** Stop before this key (exclusive); it must belong to `table` when one is given. */
  before?: EntityKey;
  /** Descending key order (newest first for time-ordered keys such as UUID v7); `after`/`before` still bound the range, not the direction. */
  reverse?: boolean;
  snapshot?: Snapshot;
  /** Rows per chunk (one LevelDB nextv each). */
  size?: number;
}

/**
 * The documents as LevelDB holds them: the only code that reads and writes
 * entity values (the codec says how they are laid out). Reads come from the
 * latest state or a snapshot; writes are added to a commit's batch by the
 * transaction manager, never written on their own. Everything above — the
 * transaction manager's buffered view, indexes, AQL, backfills — reads
 * documents through here.
 */
export class DocumentStore {
  constructor(private readonly engine: Engine) {}

  /** The document's JSON text (latest durable state, or as of `snapshot`). */
  read(k: EntityKey, snapshot?: Snapshot): string | undefined {
    const v = this.engine.getSync(entityKs, entityKeyCodec.encode(k), snapshot);
    return v === undefined ? undefined : decodeEntityValue(v);
  }

  put(batch: WriteBatch, k: EntityKey, text: string): void {
    batch.put(entityKs, entityKeyCodec.encode(k), encodeEntityValue(text));
  }

  delete(batch: WriteBatch, k: EntityKey): void {
    batch.del(entityKs, entityKeyCodec.encode(k));
  }

  /** Documents in key order (or reverse key order), in chunks: one table's, or all of them. */
  async *scan(r: ScanRange = {}): AsyncGenerator<StoredRow[]> {
    const opts: ScanOptions = {};
    if (r.table !== undefined) {
      const range = entityKeyCodec.tableRange(r.table);
      opts.gte = range.gte;
      opts.lt = range.lt;
    }
    if (r.after) {
      delete opts.gte;
      opts.gt = entityKeyCodec.encode(r.after);
    }
    if (r.before) opts.lt = entityKeyCodec.encode(r.before);
    if (r.reverse) opts.reverse = true;
    if (r.snapshot) opts.snapshot = r.snapshot;
    // With a table, every key has the same table prefix: the pk starts at a fixed offset.
    const pkStart = r.table === undefined ? -1 : r.table.length + 1;
    for await (const chunk of this.engine.scanChunks(entityKs, opts, r.size ?? 1024, Math.min(r.size ?? 1024, 256))) {
      const rows: StoredRow[] = new Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const [k, v] = chunk[i]!;
        const key = pkStart >= 0 ? `${r.table}:${k.toString('utf8', pkStart)}` : keyOf(k);
        rows[i] = [key, decodeEntityValue(v)];
      }
      yield rows;
    }
  }

  /**
   * The names of the tables holding at least one document, in key order: one
   * one-entry seek per table (skips over each table's range), not a scan of the documents.
   */
  async tables(): Promise<string[]> {
    const out: string[] = [];
    let from: Buffer | undefined;
    for (;;) {
      let next: string | undefined;
      for await (const chunk of this.engine.scanChunks(entityKs, from ? { gte: from, limit: 1 } : { limit: 1 }, 1, 1)) {
        if (chunk.length > 0) next = entityKeyCodec.decode(chunk[0]![0]).table;
        break;
      }
      if (next === undefined) return out;
      out.push(next);
      from = entityKeyCodec.tableRange(next).lt;
    }
  }

  /** LevelDB's approximate size of a table in bytes (plan estimates). */
  tableBytes(table: string): Promise<number> {
    return this.engine.approximateRange(entityKs, entityKeyCodec.tableRange(table).gte);
  }
}

function keyOf(k: Buffer): string {
  const { table, pk } = entityKeyCodec.decode(k);
  return `${table}:${pk}`;
}
