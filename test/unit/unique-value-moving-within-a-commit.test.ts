/**
 * Regression (found by the participant suite): a commit in which one
 * document takes a unique value that another document of the same commit
 * gives up wrote the new owner's entry and then deleted it, when the taker
 * came first in the commit (entries were written change by change, a
 * removal after an addition of the same unique key). The value was then
 * free for anyone: a third document could take it too.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { codeOf } from '../helpers/errors.js';
import { openDb, tempDir } from '../helpers/inproc.js';

describe('a unique value moving from one document to another within one commit', () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = tempDir('themis-uniq-move-');
    db = await openDb(dir);
    await db.get(Indexes).create({ table: 'u', column: 'email', unique: true, sparse: true });
    await db.get(Entities).putEntity('u:old', { email: 'a@x' });
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const owner = async () => {
    const id = (await db.get(Indexes).stats()).indexes.find((i) => i.table === 'u' && i.columns[0] === 'email')!.id;
    const keys: string[] = [];
    for await (const k of db.get(Indexes).scanKeys(id, { eq: 'a@x' })) keys.push(k);
    return keys;
  };

  for (const order of ['taker first', 'giver first'] as const) {
    it(`batch, ${order}: the taker owns the value, and nobody else can take it`, async () => {
      const take = { op: 'put' as const, key: 'u:new', blob: { email: 'a@x' } };
      const give = { op: 'delete' as const, key: 'u:old' };
      await db.get(Entities).applyBatch(order === 'taker first' ? [take, give] : [give, take]);
      expect(await owner()).toEqual(['u:new']);
      expect(await codeOf(db.get(Entities).putEntity('u:third', { email: 'a@x' }))).toBe('CONFLICT');
    });

    it(`explicit transaction, ${order}: the same`, async () => {
      const txn = db.get(Transactions).begin('read_committed').transaction_id;
      const steps = [
        () => db.get(Entities).putEntity('u:new', { email: 'a@x' }, txn),
        () => db.get(Entities).putEntity('u:old', { email: 'b@x' }, txn),
      ];
      for (const s of order === 'taker first' ? steps : steps.reverse()) await s();
      await db.get(Transactions).commit(txn);
      expect(await owner()).toEqual(['u:new']);
      expect(await codeOf(db.get(Entities).putEntity('u:third', { email: 'a@x' }))).toBe('CONFLICT');
    });
  }
});
