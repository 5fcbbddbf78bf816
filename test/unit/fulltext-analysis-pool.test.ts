/**
 * Fulltext analysis on worker threads: the records a worker makes are the
 * bytes the commit would encode itself; a large implicit commit hands its
 * documents to the worker and indexes the same as without; a worker that
 * cannot do the job leaves the analysis to the commit.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Entities } from '../../src/entities/index.js';
import { AnalysisPool } from '../../src/index/fulltext/analysis-pool.js';
import { ForwardWriter } from '../../src/index/fulltext/forward.js';
import { Analyzer, DEFAULT_FULLTEXT_CONFIG, type FulltextConfig } from '../../src/index/fulltext/index.js';
import { Indexes } from '../../src/index/index.js';
import { createLogger } from '../../src/log.js';
import { openDb, tempDir } from '../helpers/inproc.js';
import { expectDerived } from '../helpers/participant-suite.js';
import { fulltextSubject } from '../helpers/participants.js';

const log = createLogger('silent');
const pool = new AnalysisPool(1, log);
afterAll(() => pool.close());

const CONFIGS: FulltextConfig[] = [
  DEFAULT_FULLTEXT_CONFIG,
  { ...DEFAULT_FULLTEXT_CONFIG, language: 'de', stemming_enabled: true, stopwords_enabled: true, normalize_umlauts: true },
  { ...DEFAULT_FULLTEXT_CONFIG, language: 'en', stemming_enabled: true, stopwords_enabled: true, stopwords: ['fox'] },
];
const word = fc.constantFrom(
  'The',
  'quick',
  'Füchse',
  'laufen',
  'über',
  'running',
  'fox',
  'Straße',
  '42',
  'naïve',
  '東京',
  'x'.repeat(130),
);
const textArb = fc.array(fc.tuple(word, fc.constantFrom(' ', ', ', '-', '\n', '. ')), { maxLength: 12 }).map((ps) => ps.flat().join(''));

describe('AnalysisPool', () => {
  it('makes, for every document, the record the commit would encode (or none when nothing is indexed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CONFIGS),
        fc.array(fc.array(textArb, { maxLength: 3 }), { minLength: 1, maxLength: 30 }),
        async (config, docs) => {
          const got = await pool.analyze(JSON.stringify(config), docs);
          const a = new Analyzer(config);
          const w = new ForwardWriter();
          const want = docs.map((texts) => {
            const r = a.analyze(texts);
            return r.length === 0 ? null : Buffer.from(w.encode(r));
          });
          expect(got?.map((b) => (b ? [...b] : null))).toEqual(want.map((b) => (b ? [...b] : null)));
        },
      ),
      { numRuns: 40, seed: 9 },
    );
    expect(pool.jobs).toBeGreaterThanOrEqual(40);
  });

  it('answers undefined for a job its worker cannot do (a configuration it cannot read), and goes on with the next', async () => {
    expect(await pool.analyze('{not json', [['fox']])).toBeUndefined();
    const ok = await pool.analyze(JSON.stringify(DEFAULT_FULLTEXT_CONFIG), [['fox dog'], []]);
    expect(ok?.map((b) => b?.length ?? null)).toEqual([expect.any(Number), null]);
  });

  it('answers undefined once closed (the commit analyses itself)', async () => {
    const p = new AnalysisPool(1, log);
    await p.close();
    expect(await p.analyze(JSON.stringify(DEFAULT_FULLTEXT_CONFIG), [['fox']])).toBeUndefined();
    expect(await new AnalysisPool(0, log).analyze('{}', [['fox']])).toBeUndefined();
  });
});

describe('commits with the analysis workers', () => {
  const subject = fulltextSubject({ table: 'docs', column: 'body' });

  it('a batch of at least fulltextWorkerMinDocs documents is analysed on the worker; smaller ones, updates and deletes by the commit; the index is the same', async () => {
    const dir = tempDir('themis-ftpool-');
    const db = await openDb(dir, 'relaxed', { fulltextWorkers: 1, fulltextWorkerMinDocs: 10 });
    try {
      await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
      const pool = db.get(Indexes).analysis;
      const batch = (from: number, n: number, text: (i: number) => unknown) =>
        db
          .get(Entities)
          .applyBatch(
            Array.from({ length: n }, (_, i) => ({ op: 'put' as const, key: `docs:${from + i}`, blob: { body: text(from + i) } })),
          );
      await batch(0, 9, (i) => `small batch ${i} fox`);
      expect([pool.jobs, pool.documents]).toEqual([0, 0]);
      await batch(100, 25, (i) => (i % 5 === 0 ? 42 + i : i % 7 === 0 ? { no: 'text' } : `großer Stapel ${i} über den Fuchs`));
      // the documents with a text (a number is one; the 2 objects have none)
      expect([pool.jobs, pool.documents]).toEqual([1, 23]);
      await expectDerived(db, subject, 'after the batches');
      // updates of hinted documents: unchanged fields are no change; changed ones replace the record
      await batch(100, 25, (i) => (i % 2 === 0 ? `großer Stapel ${i} über den Fuchs` : `neu ${i}`));
      expect(pool.jobs).toBe(2);
      await db.get(Entities).applyBatch(Array.from({ length: 12 }, (_, i) => ({ op: 'delete' as const, key: `docs:${100 + i}` })));
      await expectDerived(db, subject, 'after updates and deletes');
      expect(db.get(Indexes).fulltext('docs', 'body').search('fuchs', { limit: 100, offset: 0 }).total).toBe(
        Array.from({ length: 13 }, (_, i) => 112 + i).filter((i) => i % 2 === 0).length,
      );
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
