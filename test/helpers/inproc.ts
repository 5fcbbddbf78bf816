/**
 * In-process database helpers for property tests of derived state
 * (fulltext, vector): open a Database on a temp dir, apply writes the way
 * the HTTP layer would, and tolerate the refusals a random sequence meets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../../src/config.js';
import { Database, type DatabaseConfig } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Transactions } from '../../src/transactions/index.js';

const log = createLogger('silent');

export type Blob = Record<string, unknown>;
/** A write: a document (put) or null (delete). */
export interface Write {
  key: string;
  doc: Blob | null;
}

export async function openDb(
  dir: string,
  durability: 'relaxed' | 'sync' = 'relaxed',
  config: Partial<DatabaseConfig> = {},
): Promise<Database> {
  const db = new Database({ ...DEFAULTS, dataDir: dir, durability, ...config }, log);
  await db.open();
  return db;
}

/**
 * A database in a temp dir with 40 documents `u:<i>` of city `c<i % 4>` and an
 * equality index on `u.city` (the index-cache tests' common ground); `close`
 * closes it and removes the dir.
 */
export async function openCitiesDb(prefix: string): Promise<{ db: Database; close: () => Promise<void> }> {
  const dir = tempDir(prefix);
  const db = await openDb(dir);
  await db
    .get(Entities)
    .applyBatch(Array.from({ length: 40 }, (_, i) => ({ op: 'put' as const, key: `u:${i}`, blob: { city: `c${i % 4}` } })));
  await db.get(Indexes).create({ table: 'u', column: 'city' });
  return {
    db,
    close: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Await `p`, swallowing ThemisErrors with one of `codes` (refusals a random write sequence may meet). */
export async function tolerated(p: Promise<unknown>, codes: readonly string[] = ['CONFLICT']): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ThemisError && codes.includes(e.code)) return;
    throw e;
  }
}

export const write = (db: Database, w: Write, txn?: string): Promise<unknown> =>
  w.doc === null ? db.get(Entities).deleteEntity(w.key, txn) : db.get(Entities).putEntity(w.key, w.doc, txn);

/** The writes as one POST /transaction batch. */
export const batch = (db: Database, ws: Write[]) =>
  db
    .get(Entities)
    .applyBatch(ws.map((w) => (w.doc === null ? { op: 'delete' as const, key: w.key } : { op: 'put' as const, key: w.key, blob: w.doc })));

/** One step of a random write sequence. */
export type WriteOp =
  | { t: 'put'; w: Write }
  | { t: 'batch'; ws: Write[] }
  /** An explicit transaction, committed or rolled back; `interleave` is an implicit write committed while it is open. */
  | { t: 'txn'; ws: Write[]; commit: boolean; isolation?: 'read_committed' | 'snapshot'; interleave?: Write }
  /** Operations committed concurrently. */
  | { t: 'burst'; items: ({ t: 'put'; w: Write } | { t: 'batch'; ws: Write[] } | { t: 'txn'; ws: Write[] })[] };

/** Begin an explicit transaction and buffer `ws` in it; returns its id. */
async function buffered(db: Database, ws: Write[], isolation: 'read_committed' | 'snapshot' = 'read_committed'): Promise<string> {
  const id = db.get(Transactions).begin(isolation).transaction_id;
  for (const w of ws) await write(db, w, id);
  return id;
}

/** Run one operation, swallowing refusals with one of `codes`. */
export async function runOp(db: Database, op: WriteOp, codes: readonly string[] = ['CONFLICT']): Promise<void> {
  const ok = (p: Promise<unknown>) => tolerated(p, codes);
  switch (op.t) {
    case 'put':
      return ok(write(db, op.w));
    case 'batch':
      return ok(batch(db, op.ws));
    case 'txn': {
      const id = await buffered(db, op.ws, op.isolation);
      if (op.interleave) await ok(write(db, op.interleave));
      if (op.commit) return ok(db.get(Transactions).commit(id));
      db.get(Transactions).rollback(id);
      return;
    }
    case 'burst': {
      // explicit transactions are begun and buffered first, then everything commits at once
      const ids = await Promise.all(op.items.map((it) => (it.t === 'txn' ? buffered(db, it.ws) : undefined)));
      await Promise.all(
        op.items.map((it, i) =>
          ok(it.t === 'put' ? write(db, it.w) : it.t === 'batch' ? batch(db, it.ws) : db.get(Transactions).commit(ids[i])),
        ),
      );
    }
  }
}
