/**
 * In-process database helpers for property tests of derived state
 * (fulltext, vector): open a Database on a temp dir, apply writes the way
 * the HTTP layer would, and tolerate the refusals a random sequence meets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';

const log = createLogger('silent');

export type Blob = Record<string, unknown>;
/** A write: a document (put) or null (delete). */
export interface Write {
  key: string;
  doc: Blob | null;
}

export async function openDb(dir: string, durability: 'relaxed' | 'sync' = 'relaxed'): Promise<Database> {
  const db = new Database({ ...DEFAULTS, dataDir: dir, durability }, log);
  await db.open();
  return db;
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

export const write = (db: Database, w: Write, txn?: string): Promise<unknown> => (w.doc === null ? db.deleteEntity(w.key, txn) : db.putEntity(w.key, w.doc, txn));

/** The writes as one POST /transaction batch. */
export const batch = (db: Database, ws: Write[]) => db.applyBatch(ws.map((w) => (w.doc === null ? { op: 'delete' as const, key: w.key } : { op: 'put' as const, key: w.key, blob: w.doc })));
