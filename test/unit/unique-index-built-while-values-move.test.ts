/**
 * Regression (found by the participant suite's soak run): while a unique
 * index is being built, two documents may hold one value for a moment (the
 * check starts when the index is ready; a duplicate that stays fails the
 * build). A document giving such a value up deleted the unique entry
 * whoever owned it: the backfill had written value → old holder, a commit
 * value → new holder, and the old holder's delete then removed the entry,
 * so the index lost the new holder's value for good (and would have let a
 * duplicate in). An entry is now removed only by the document it names.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import type { WriteBatch } from '../../src/storage/index.js';
import { codeOf } from '../helpers/errors.js';
import { openDb, tempDir } from '../helpers/inproc.js';

describe('a unique index built while a value moves between documents', () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = tempDir('themis-uniq-build-');
    db = await openDb(dir);
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the new holder keeps its entry when the old holder is deleted during the backfill', async () => {
    await db.get(Entities).putEntity('u:old', { email: 'a@x' });
    // The index's own commits: its definition, then the backfill batch (value → u:old). As soon as the
    // backfill batch is queued, u:new takes the value and u:old is deleted: both commits land after it.
    const engine = db.engine;
    const commit = engine.commit.bind(engine);
    let calls = 0;
    let racing: Promise<unknown> | undefined;
    engine.commit = (b: WriteBatch) => {
      const p = commit(b);
      if (++calls === 2)
        racing = Promise.all([db.get(Entities).putEntity('u:new', { email: 'a@x' }), db.get(Entities).deleteEntity('u:old')]);
      return p;
    };
    try {
      await db.get(Indexes).create({ table: 'u', column: 'email', unique: true, sparse: true });
    } finally {
      engine.commit = commit;
    }
    await racing;
    const id = (await db.get(Indexes).stats()).indexes.find((i) => i.table === 'u' && i.columns[0] === 'email')!.id;
    const owners: string[] = [];
    for await (const k of db.get(Indexes).scanKeys(id, { eq: 'a@x' })) owners.push(k);
    expect(owners).toEqual(['u:new']);
    expect((await db.get(Indexes).stats()).indexes.find((i) => i.id === id)!.entries).toBe(1);
    expect(await codeOf(db.get(Entities).putEntity('u:third', { email: 'a@x' }))).toBe('CONFLICT');
  });
});
