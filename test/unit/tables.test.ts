/**
 * The table catalogue in-process (src/tables/): the ledger's counts against
 * the documents themselves after every kind of write, after a reopen, after
 * a database opened without the module, and a drop interrupted by a close
 * that resumes at the next open.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { DocumentStore } from '../../src/documents/index.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { keyspace, WriteBatch } from '../../src/storage/index.js';
import { Tables } from '../../src/tables/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { openDb, runOp, tempDir, type Write, type WriteOp } from '../helpers/inproc.js';
import { prng } from '../helpers/random.js';
import { openStack } from '../helpers/stack.js';

const dirs: string[] = [];
const dbs: Database[] = [];

function dir(): string {
  const d = tempDir('themis-tables-');
  dirs.push(d);
  return d;
}

async function open(d: string): Promise<Database> {
  const db = await openDb(d);
  dbs.push(db);
  return db;
}

afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Documents and UTF-8 bytes per table, counted from the stored documents. */
async function scanned(db: Database): Promise<Map<string, { documents: number; bytes: number }>> {
  const out = new Map<string, { documents: number; bytes: number }>();
  for await (const rows of new DocumentStore(db.engine).scan()) {
    for (const [key, text] of rows) {
      const t = key.slice(0, key.indexOf(':'));
      const c = out.get(t) ?? { documents: 0, bytes: 0 };
      c.documents++;
      c.bytes += Buffer.byteLength(text, 'utf8');
      out.set(t, c);
    }
  }
  return out;
}

/** The ledger agrees with a scan of the documents, table by table (tables without documents count 0). */
async function expectCountsExact(db: Database, tables: readonly string[]): Promise<void> {
  const want = await scanned(db);
  const svc = db.get(Tables);
  for (const t of tables) {
    const w = want.get(t) ?? { documents: 0, bytes: 0 };
    expect(svc.count(t), `documents of ${t}`).toBe(w.documents);
    if (w.documents > 0) expect((await svc.info(t)).bytes, `bytes of ${t}`).toBe(w.bytes);
  }
}

const TABLES = ['ta', 'tb', 'tc'];

/** A random write: a put of a document of random size (sometimes with non-ASCII text), or a delete. */
function randomWrite(rnd: () => number): Write {
  const key = `${TABLES[Math.floor(rnd() * TABLES.length)]!}:${Math.floor(rnd() * 40)}`;
  if (rnd() < 0.3) return { key, doc: null };
  return { key, doc: { v: Math.floor(rnd() * 1000), s: 'ü€'.repeat(Math.floor(rnd() * 20)), pad: 'x'.repeat(Math.floor(rnd() * 200)) } };
}

function randomOp(rnd: () => number): WriteOp {
  const ws = (n: number) => Array.from({ length: 1 + Math.floor(rnd() * n) }, () => randomWrite(rnd));
  const r = rnd();
  if (r < 0.4) return { t: 'put', w: randomWrite(rnd) };
  if (r < 0.55) return { t: 'batch', ws: ws(6) };
  if (r < 0.8) return { t: 'txn', ws: ws(5), commit: rnd() < 0.6, interleave: rnd() < 0.3 ? randomWrite(rnd) : undefined };
  return {
    t: 'burst',
    items: Array.from({ length: 2 + Math.floor(rnd() * 4) }, () =>
      rnd() < 0.5 ? { t: 'put' as const, w: randomWrite(rnd) } : { t: 'batch' as const, ws: ws(4) },
    ),
  };
}

describe('table counts', () => {
  it('equal a scan of the documents after puts, updates, deletes, batches, committed and rolled-back transactions and concurrent commits; and after a reopen', async () => {
    const d = dir();
    const db = await open(d);
    const rnd = prng(20);
    for (let i = 0; i < 300; i++) {
      await runOp(db, randomOp(rnd), ['CONFLICT', 'TRANSACTION_NOT_ACTIVE']);
      if (i % 50 === 49) await expectCountsExact(db, TABLES);
    }
    await expectCountsExact(db, TABLES);
    const before = TABLES.map((t) => db.get(Tables).count(t));
    expect(before.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await db.close();
    const again = await open(d);
    expect(TABLES.map((t) => again.get(Tables).count(t))).toEqual(before);
    await expectCountsExact(again, TABLES);
  });

  it('a rolled-back transaction and a commit refused by a unique index change nothing', async () => {
    const db = await open(dir());
    const e = db.get(Entities);
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    await e.putEntity('u:1', { email: 'a@x' });
    await e.putEntity('u:2', { email: 'b@x' });
    const info = await db.get(Tables).info('u');
    const txns = db.get(Transactions);
    const t = txns.begin('snapshot').transaction_id;
    await e.putEntity('u:3', { email: 'c@x' }, String(t));
    await e.deleteEntity('u:1', String(t));
    txns.rollback(t);
    await expect(e.putEntity('u:4', { email: 'a@x' })).rejects.toMatchObject({ code: 'CONFLICT' });
    // disk_bytes is LevelDB's estimate (it moves with flushes and compactions); everything else is exact.
    expect({ ...(await db.get(Tables).info('u')), disk_bytes: 0 }).toEqual({ ...info, disk_bytes: 0 });
    expect(info).toMatchObject({ documents: 2, bytes: 2 * Buffer.byteLength('{"email":"a@x"}') });
  });

  it('are counted again at open when commits were made without the module (the watermark disagrees with the change log)', async () => {
    const d = dir();
    const db = await open(d);
    await db.get(Entities).putEntity('w:1', { a: 1 });
    await db.close();
    // A database without the tables module (as a test stack opens one): its commits keep no counts.
    const stack = await openStack(d, { modules: [Entities] });
    const e = stack.db.get(Entities);
    for (let i = 2; i <= 5; i++) await e.putEntity(`w:${i}`, { a: i });
    await e.deleteEntity('w:1');
    await stack.close();
    const again = await open(d);
    expect(again.get(Tables).count('w')).toBe(4);
    await expectCountsExact(again, ['w']);
  });

  it('are counted again when their keyspace is damaged (watermark gone)', async () => {
    const d = dir();
    const db = await open(d);
    for (let i = 0; i < 10; i++) await db.get(Entities).putEntity(`r:${i}`, { i });
    await db.engine.commit(new WriteBatch().del(keyspace('tables'), Buffer.of(0x77)));
    await db.close();
    const again = await open(d);
    expect(again.get(Tables).count('r')).toBe(10);
  });
});

describe('drop and truncate', () => {
  it('a drop interrupted by a close resumes at the next open and finishes; writes into the table are refused meanwhile', async () => {
    const d = dir();
    const db = await open(d);
    const e = db.get(Entities);
    await db.get(Indexes).create({ table: 'big', column: 'i', type: 'range' });
    for (let i = 0; i < 5; i++) {
      await e.applyBatch(
        Array.from({ length: 1000 }, (_, j) => ({ op: 'put' as const, key: `big:${i * 1000 + j}`, blob: { i: i * 1000 + j } })),
      );
    }
    await e.putEntity('keep:1', { k: 1 });
    expect(db.get(Tables).count('big')).toBe(5000);
    const started = await db.get(Tables).drop('big');
    expect(started).toMatchObject({ table: 'big', operation: 'drop', state: 'running' });
    await expect(e.putEntity('big:new', { i: -1 })).rejects.toMatchObject({ code: 'CONFLICT', status: 409 });
    await db.close(); // the job stops after its current batch
    const again = await open(d);
    const svc = again.get(Tables);
    // The close stopped it before its deletes (it checks between batches): the open resumes it.
    expect(svc.count('big')).toBeGreaterThan(0);
    const deadline = Date.now() + 20_000;
    while (svc.exists('big') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(svc.exists('big')).toBe(false);
    expect(svc.count('big')).toBe(0);
    expect(
      again
        .get(Indexes)
        .list()
        .filter((x) => x.table === 'big'),
    ).toEqual([]);
    expect(svc.count('keep')).toBe(1);
    await expectCountsExact(again, ['big', 'keep']);
    // A new table of that name starts empty, without the old index.
    await again.get(Entities).putEntity('big:1', { i: 1 });
    expect(svc.count('big')).toBe(1);
  });

  it('truncate keeps the definitions; a drop during a truncate turns it into a drop; a truncate during a drop is 409', async () => {
    const db = await open(dir());
    const e = db.get(Entities);
    const svc = db.get(Tables);
    await db.get(Indexes).create({ table: 't', column: 'v', unique: true });
    await e.applyBatch(Array.from({ length: 3000 }, (_, j) => ({ op: 'put' as const, key: `t:${j}`, blob: { v: j } })));
    const done = await svc.truncate('t', undefined, true);
    expect(done).toMatchObject({ table: 't', operation: 'truncate', state: 'done', deleted: 3000, remaining: 0 });
    expect((await svc.info('t')).indexes).toMatchObject([{ name: 't.v', unique: true, entries: 0 }]);
    await e.putEntity('t:a', { v: 1 });
    await expect(e.putEntity('t:b', { v: 1 })).rejects.toMatchObject({ code: 'CONFLICT' });
    await e.applyBatch(Array.from({ length: 3000 }, (_, j) => ({ op: 'put' as const, key: `t:${j}`, blob: { v: j + 10 } })));
    const truncating = svc.truncate('t', undefined, true);
    const dropped = await svc.drop('t', undefined, true);
    expect(dropped).toMatchObject({ table: 't', operation: 'drop', state: 'done', remaining: 0 });
    expect((await truncating).operation).toBe('drop');
    expect(svc.exists('t')).toBe(false);
    await e.applyBatch(Array.from({ length: 3000 }, (_, j) => ({ op: 'put' as const, key: `t:${j}`, blob: { v: j } })));
    const running = await svc.drop('t');
    expect(running.state).toBe('running');
    await expect(svc.truncate('t')).rejects.toMatchObject({ code: 'CONFLICT' });
    await svc.drop('t', undefined, true);
    expect(svc.exists('t')).toBe(false);
  });
});
