/**
 * Consistency of the fulltext index, in-process: after random sequences of
 * writes (puts, updates, deletes, non-text values, explicit transactions
 * committed or rolled back, POST /transaction-like batches, commits racing
 * each other, commits refused by a unique index), the durable statistics
 * and the in-memory query side both equal a recomputation from the stored
 * documents with the index's own analyzer, and stay so across a reopen
 * (with identical search results).
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { fieldTexts } from '../../src/index/fulltext/index.js';
import type { WriteBatch } from '../../src/storage/index.js';
import { openDb, runOp, tempDir as helperTempDir, tolerated, write, type Blob, type Write, type WriteOp } from '../helpers/inproc.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { Search } from '../../src/search/index.js';

const SLOW = process.env.THEMIS_SLOW !== undefined && process.env.THEMIS_SLOW !== '';
const TABLE = 'docs';
const COLUMN = 'body';
const KEYS = Array.from({ length: 7 }, (_, i) => `${TABLE}:${i}`);
const CONFIGS: Record<string, Record<string, unknown> | undefined> = {
  default: undefined,
  en: { language: 'en', stemming_enabled: true, stopwords_enabled: true },
};
// Overlapping terms, stems (run/runs/running), stopwords, case, non-ASCII, digits.
const WORDS = ['run', 'runs', 'Running', 'the', 'and', 'fox', 'foxes', 'Dog', 'dog', 'lazy', 'quick', 'über', 'Ueber', 'jumped', '42', 'a'];
const QUERIES = ['fox', 'dog', 'running', 'über', '42', 'fox OR dog', 'quick fox', 'dog -lazy', '"lazy dog"', 'ru*', 'fo*', 'the'];

type Op = WriteOp;

// ---------------------------------------------------------------- arbitraries

const sentence = fc.array(fc.constantFrom(...WORDS), { maxLength: 9 }).chain((ws) => fc.constantFrom(ws.join(' '), ws.join(', '), ws.join('-')));
/** The field: usually text; sometimes a number, an array, a non-text value, or absent (undefined). */
const bodyArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: sentence, weight: 8 },
  { arbitrary: fc.integer({ min: -5, max: 100_000 }), weight: 1 },
  { arbitrary: fc.array(fc.oneof(sentence, fc.integer({ min: 0, max: 99 }), fc.constant(null), fc.constant({ x: 'fox' })), { maxLength: 3 }), weight: 2 },
  { arbitrary: fc.constantFrom(undefined, true, null, { nested: 'fox dog' }, ''), weight: 2 },
);
/** A unique (sparse) equality index on `email` refuses some commits. */
const docArb: fc.Arbitrary<Blob> = fc.record({ body: bodyArb, email: fc.constantFrom(undefined, undefined, undefined, 'a@x', 'b@x') }).map(({ body, email }) => ({
  ...(body !== undefined ? { body } : {}),
  ...(email !== undefined ? { email } : {}),
}));
const writeArb: fc.Arbitrary<Write> = fc.record({ key: fc.constantFrom(...KEYS), doc: fc.option(docArb, { nil: null, freq: 4 }) });
const writesArb = fc.array(writeArb, { minLength: 1, maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: writeArb.map((w): Op => ({ t: 'put', w })), weight: 5 },
  { arbitrary: writesArb.map((ws): Op => ({ t: 'batch', ws })), weight: 2 },
  {
    arbitrary: fc
      .record({ ws: writesArb, commit: fc.boolean(), isolation: fc.constantFrom('read_committed' as const, 'snapshot' as const), interleave: fc.option(writeArb, { nil: undefined }) })
      .map((r): Op => ({ t: 'txn', ws: r.ws, commit: r.commit, isolation: r.isolation, ...(r.interleave ? { interleave: r.interleave } : {}) })),
    weight: 2,
  },
  {
    arbitrary: fc
      .array(fc.oneof(writeArb.map((w) => ({ t: 'put' as const, w })), writesArb.map((ws) => ({ t: 'batch' as const, ws })), writesArb.map((ws) => ({ t: 'txn' as const, ws }))), { minLength: 2, maxLength: 10 })
      .map((items): Op => ({ t: 'burst', items })),
    weight: 2,
  },
);

// ---------------------------------------------------------------- running operations


const run = (db: Database, op: Op) => runOp(db, op);

// ---------------------------------------------------------------- checks

interface Expected {
  n: number;
  sumDl: number;
  df: Map<string, number>;
  dl: Map<string, number>;
  /** term -> key -> positions */
  postings: Map<string, Map<string, number[]>>;
}

const storedDoc = (db: Database, key: string): Blob | undefined => {
  try {
    return JSON.parse(db.get(Entities).getEntity(key).blob) as Blob;
  } catch (e) {
    if (e instanceof ThemisError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
};

/** What the index must hold, recomputed from the stored documents with the index's own analyzer. */
function recompute(db: Database, keys: readonly string[], table = TABLE, column = COLUMN): Expected {
  const ft = db.get(Indexes).fulltext(table, column);
  const exp: Expected = { n: 0, sumDl: 0, df: new Map(), dl: new Map(), postings: new Map() };
  for (const key of keys) {
    const doc = storedDoc(db, key);
    if (doc === undefined) continue;
    const a = ft.analyzer.analyze(fieldTexts(doc[column]));
    if (a.length === 0) continue;
    exp.n++;
    exp.sumDl += a.length;
    exp.dl.set(key, a.length);
    for (const [term, ps] of a.terms) {
      exp.df.set(term, (exp.df.get(term) ?? 0) + 1);
      const m = exp.postings.get(term) ?? new Map<string, number[]>();
      m.set(key, ps);
      exp.postings.set(term, m);
    }
  }
  return exp;
}

const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** (a) durable statistics and (b) the in-memory side equal the recomputation. */
async function expectConsistent(db: Database, keys: readonly string[] = KEYS, table = TABLE, column = COLUMN): Promise<void> {
  const exp = recompute(db, keys, table, column);
  const ft = db.get(Indexes).fulltext(table, column);
  const ds = await ft.durableStats();
  expect({ n: ds.n, sumDl: ds.sumDl, df: sorted(ds.df), dl: sorted(ds.dl) }, 'durable statistics').toEqual({ n: exp.n, sumDl: exp.sumDl, df: sorted(exp.df), dl: sorted(exp.dl) });

  const mem = ft.mem;
  expect({ n: mem.n, sumDl: mem.sumDl }, 'in-memory N and Σdl').toEqual({ n: exp.n, sumDl: exp.sumDl });
  for (const [term, df] of exp.df) expect(mem.df(term), `df(${term})`).toBe(df);
  const postings = [...exp.df.values()].reduce((a, b) => a + b, 0);
  expect(ft.stats()).toEqual({ documents: exp.n, terms: exp.df.size, postings, avg_doc_length: exp.n > 0 ? exp.sumDl / exp.n : 0 });
  for (const key of keys) {
    const doc = mem.docOf(key);
    expect(doc === undefined ? undefined : mem.docLen[doc], `dl(${key})`).toBe(exp.dl.get(key));
  }
  // every posting with its positions
  const got = new Map<string, Map<string, number[]>>();
  for (const [term, pl] of mem.terms) {
    const m = new Map<string, number[]>();
    for (let i = 0; i < pl.len; i++) m.set(mem.docKeys[pl.docs[i]!]!, [...pl.positions(i)]);
    got.set(term, m);
  }
  expect(sorted(got).map(([t, m]) => [t, sorted(m)]), 'in-memory postings').toEqual(sorted(exp.postings).map(([t, m]) => [t, sorted(m)]));
}

/** Search results (with snippets), without the timing. */
function searches(db: Database, table = TABLE, column = COLUMN): unknown[] {
  return QUERIES.map((query) => {
    const { took_ms: _, ...r } = db.get(Search).fulltext({ table, column, query, limit: 100 });
    return r;
  });
}

/** Close and reopen: the index must still be consistent and answer the same. Returns the reopened database. */
async function reopenConsistent(db: Database, dir: string, keys: readonly string[] = KEYS): Promise<Database> {
  const before = searches(db);
  await db.close();
  const again = await openDb(dir);
  await expectConsistent(again, keys);
  expect(searches(again)).toEqual(before);
  return again;
}

const tempDir = () => helperTempDir('themis-ftc-');

// ---------------------------------------------------------------- tests

describe('fulltext index consistency (in-process)', () => {
  const runs = SLOW ? 500 : 50;

  it(
    'random write sequences: durable stats and memory equal a recomputation from the stored documents, also after a reopen',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(CONFIGS)),
          fc.constantFrom('before' as const, 'after' as const, 'racing' as const),
          fc.array(writeArb, { maxLength: 8 }),
          fc.array(opArb, { minLength: 1, maxLength: 20 }),
          fc.array(writeArb, { minLength: 1, maxLength: 6 }),
          async (cfg, when, initial, ops, racing) => {
            const dir = tempDir();
            let db = await openDb(dir);
            try {
              await db.get(Indexes).create({ table: TABLE, column: 'email', unique: true, sparse: true });
              const create = () => db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext', ...(CONFIGS[cfg] ? { config: CONFIGS[cfg] } : {}) });
              if (when === 'before') await create();
              for (const w of initial) await run(db, { t: 'put', w });
              if (when === 'after') await create();
              if (when === 'racing') {
                // backfill racing commits (updates, deletes and creates of new keys)
                await Promise.all([create(), ...racing.map((w) => tolerated(write(db, w)))]);
              }
              for (const op of ops) await run(db, op);
              await expectConsistent(db);
              db = await reopenConsistent(db, dir);
            } finally {
              await db.close();
              fs.rmSync(dir, { recursive: true, force: true });
            }
          },
        ),
        { numRuns: runs },
      );
    },
    SLOW ? 600_000 : 30_000,
  );

  it('hundreds of concurrent commits over overlapping terms (implicit, batches, explicit transactions, unique refusals)', async () => {
    for (const cfg of Object.keys(CONFIGS)) {
      const dir = tempDir();
      let db = await openDb(dir);
      try {
        await db.get(Indexes).create({ table: TABLE, column: 'email', unique: true, sparse: true });
        await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext', ...(CONFIGS[cfg] ? { config: CONFIGS[cfg] } : {}) });
        const rounds = SLOW ? 20 : 4;
        for (let r = 0; r < rounds; r++) {
          const items = fc.sample(fc.oneof(writeArb.map((w) => ({ t: 'put' as const, w })), writesArb.map((ws) => ({ t: 'batch' as const, ws })), writesArb.map((ws) => ({ t: 'txn' as const, ws }))), { numRuns: 150, seed: r * 31 + cfg.length });
          await run(db, { t: 'burst', items });
          await expectConsistent(db);
        }
        db = await reopenConsistent(db, dir);
      } finally {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('posting lists under heavy churn (long repeated terms, many updates and deletes: pool growth and compaction)', async () => {
    const dir = tempDir();
    let db = await openDb(dir);
    const keys = Array.from({ length: 40 }, (_, i) => `${TABLE}:c${i}`);
    try {
      await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext' });
      const churn = fc.record({
        key: fc.constantFrom(...keys),
        doc: fc.option(
          fc.array(fc.record({ w: fc.constantFrom('fox', 'dog', 'cat', 'emu'), n: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 3 }).map((parts) => ({ body: parts.map((p) => `${p.w} `.repeat(p.n)).join('and ') })),
          { nil: null, freq: 5 },
        ),
      });
      const writes = fc.sample(churn, { numRuns: SLOW ? 5000 : 1200, seed: 42 });
      for (let i = 0; i < writes.length; i += 60) {
        await run(db, { t: 'burst', items: writes.slice(i, i + 60).map((w) => ({ t: 'put' as const, w })) });
        if (i % 300 === 0) await expectConsistent(db, keys);
      }
      await expectConsistent(db, keys);
      db = await reopenConsistent(db, dir, keys);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a larger index (postings beyond the bulk-load chunk size) reloads to the same state', async () => {
    const dir = tempDir();
    let db = await openDb(dir);
    const keys = Array.from({ length: 6000 }, (_, i) => `${TABLE}:L${String(i).padStart(5, '0')}`);
    try {
      await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext', config: CONFIGS.en });
      const bodies = fc.sample(sentence, { numRuns: keys.length, seed: 7 });
      for (let i = 0; i < keys.length; i += 2000) {
        await db.get(Entities).applyBatch(keys.slice(i, i + 2000).map((key, j) => ({ op: 'put' as const, key, blob: { body: `${bodies[i + j]} fox` } })));
      }
      await db.get(Entities).applyBatch(keys.filter((_, i) => i % 7 === 3).map((key) => ({ op: 'delete' as const, key })));
      await expectConsistent(db, keys);
      db = await reopenConsistent(db, dir, keys);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a commit refused by the unique index (hook throws) changes nothing, and later commits still apply in order', async () => {
    const dir = tempDir();
    const db = await openDb(dir);
    try {
      await db.get(Indexes).create({ table: TABLE, column: 'email', unique: true, sparse: true });
      await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext' });
      await db.get(Entities).putEntity(KEYS[0]!, { body: 'fox dog', email: 'a@x' });
      await db.get(Entities).putEntity(KEYS[1]!, { body: 'lazy dog' });
      const ft = db.get(Indexes).fulltext(TABLE, COLUMN);
      const stats = ft.stats();
      const durable = await ft.durableStats();
      // refused while other commits are in flight on both sides of it
      const results = await Promise.allSettled([
        db.get(Entities).putEntity(KEYS[2]!, { body: 'quick quick fox' }),
        db.get(Entities).applyBatch([
          { op: 'put', key: KEYS[1]!, blob: { body: 'jumped' } },
          { op: 'put', key: KEYS[3]!, blob: { body: 'fox fox', email: 'a@x' } },
        ]),
        db.get(Entities).putEntity(KEYS[4]!, { body: 'dog' }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      await expectConsistent(db);
      expect(ft.stats().documents).toBe(stats.documents + 2);
      expect((await ft.durableStats()).dl.get(KEYS[1]!)).toBe(durable.dl.get(KEYS[1]!));
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Regression: IndexManager.create used to save the definition before registering the index with
  // the commit hook; a commit whose hook ran during that await was not indexed, and a document it
  // created was missed by the backfill too (its batch landed after the scan began). Durability sync
  // and a big batch make the commit's write outlast the start of the backfill's scan.
  it('a document created by a commit racing the start of index creation is indexed', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = tempDir();
      const db = await openDb(dir, 'sync');
      try {
        await db.get(Entities).putEntity(`${TABLE}:old`, { body: 'alpha beta' });
        const created = db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext' });
        const keys = [`${TABLE}:old`, `${TABLE}:new`, ...Array.from({ length: 2000 }, (_, i) => `${TABLE}:n${i}`)];
        await db.get(Entities).applyBatch(keys.slice(1).map((key, i) => ({ op: 'put' as const, key, blob: { body: `gamma delta ${i}` } })));
        await created;
        expect(db.get(Indexes).fulltext(TABLE, COLUMN).mem.docOf(`${TABLE}:new`)).toBeDefined();
        await expectConsistent(db, keys);
      } finally {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  // A drop is several commits (definition, entries). The process "dies" after `survive` of them:
  // later commits never reach LevelDB. After the restart nothing of the old index may leak into
  // an index created later (ids reused with leftover entries adopted), and a surviving old index
  // must be intact. (The first version deleted the definition first and derived the next id from
  // the remaining definitions: survive = 1 left the postings to the next index with that id.)
  it('a drop interrupted by a crash at any point leaks nothing into later indexes', async () => {
    for (let survive = 0; survive <= 4; survive++) {
      const dir = tempDir();
      let db = await openDb(dir);
      try {
        await db.get(Indexes).create({ table: 'old', column: COLUMN, type: 'fulltext' });
        await db.get(Entities).putEntity('old:1', { body: 'fox dog' });
        await db.get(Entities).putEntity('old:2', { body: 'lazy fox' });
        const engine = db.engine;
        const commit = engine.commit.bind(engine);
        let left = survive;
        engine.commit = (b: WriteBatch) => (left-- > 0 ? commit(b) : new Promise<void>(() => {}));
        void db.get(Indexes).drop({ table: 'old', column: COLUMN, type: 'fulltext' }).catch(() => {});
        await new Promise((r) => setTimeout(r, 50));
        engine.commit = commit;
        await db.close();

        db = await openDb(dir);
        await db.get(Entities).putEntity(`${TABLE}:1`, { body: 'quick dog' });
        await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext' });
        await expectConsistent(db, [`${TABLE}:1`]);
        await db.close();
        db = await openDb(dir);
        await expectConsistent(db, [`${TABLE}:1`]);
        expect(db.get(Search).fulltext({ table: TABLE, column: COLUMN, query: 'fox OR lazy' }).hits, `survive ${survive}`).toEqual([]);
        const old = (await db.get(Indexes).stats()).indexes.find((i) => i.name === `old.${COLUMN}`);
        if (old) await expectConsistent(db, ['old:1', 'old:2'], 'old', COLUMN);
      } finally {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
