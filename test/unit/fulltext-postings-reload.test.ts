/**
 * The fulltext index's posting storage beyond what the participant suite's
 * small random runs reach: posting lists under heavy churn (pool growth and
 * compaction), and an index larger than the bulk-load chunk size reloading
 * from its postings and its checkpoint to the same state. Both check the
 * suite's claim (test/helpers/participants.ts: fulltextSubject).
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { openDb, runOp, tempDir } from '../helpers/inproc.js';
import { SOAK, expectDerived } from '../helpers/participant-suite.js';
import { fulltextSubject, sentence } from '../helpers/participants.js';

const TABLE = 'docs';
const subject = fulltextSubject({ table: TABLE });

/** Close and reopen: the index still equals the recomputation and answers the same. */
async function reopened(db: Database, dir: string): Promise<Database> {
  const before = subject.answers!(db);
  await db.close();
  const again = await openDb(dir);
  await expectDerived(again, subject, 'after a reopen');
  expect(subject.answers!(again)).toEqual(before);
  return again;
}

describe('fulltext postings', () => {
  it('posting lists under heavy churn (long repeated terms, many updates and deletes: pool growth and compaction)', async () => {
    const dir = tempDir('themis-ftp-');
    let db = await openDb(dir);
    const keys = Array.from({ length: 40 }, (_, i) => `${TABLE}:c${i}`);
    try {
      await db.get(Indexes).create({ table: TABLE, column: 'body', type: 'fulltext' });
      const churn = fc.record({
        key: fc.constantFrom(...keys),
        doc: fc.option(
          fc
            .array(fc.record({ w: fc.constantFrom('fox', 'dog', 'cat', 'emu'), n: fc.integer({ min: 1, max: 40 }) }), {
              minLength: 1,
              maxLength: 3,
            })
            .map((parts) => ({ body: parts.map((p) => `${p.w} `.repeat(p.n)).join('and ') })),
          { nil: null, freq: 5 },
        ),
      });
      const writes = fc.sample(churn, { numRuns: SOAK ? 5000 : 1200, seed: 42 });
      for (let i = 0; i < writes.length; i += 60) {
        await runOp(db, { t: 'burst', items: writes.slice(i, i + 60).map((w) => ({ t: 'put' as const, w })) });
        if (i % 300 === 0) await expectDerived(db, subject, `after ${i + 60} writes`);
      }
      await expectDerived(db, subject);
      db = await reopened(db, dir);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a larger index (postings beyond the bulk-load chunk size) reloads to the same state', async () => {
    const dir = tempDir('themis-ftp-');
    let db = await openDb(dir);
    const keys = Array.from({ length: 6000 }, (_, i) => `${TABLE}:L${String(i).padStart(5, '0')}`);
    try {
      await db.get(Indexes).create({
        table: TABLE,
        column: 'body',
        type: 'fulltext',
        config: { language: 'en', stemming_enabled: true, stopwords_enabled: true },
      });
      const bodies = fc.sample(sentence, { numRuns: keys.length, seed: 7 });
      for (let i = 0; i < keys.length; i += 2000) {
        await db
          .get(Entities)
          .applyBatch(keys.slice(i, i + 2000).map((key, j) => ({ op: 'put' as const, key, blob: { body: `${bodies[i + j]} fox` } })));
      }
      await db.get(Entities).applyBatch(keys.filter((_, i) => i % 7 === 3).map((key) => ({ op: 'delete' as const, key })));
      await expectDerived(db, subject);
      db = await reopened(db, dir);
      // and from the postings alone
      await db.close();
      fs.rmSync(`${dir}/fulltext`, { recursive: true, force: true });
      db = await openDb(dir);
      expect(db.get(Indexes).fulltext(TABLE, 'body').loadedFrom).toBe('postings');
      await expectDerived(db, subject, 'loaded from the postings');
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
