/**
 * Consistency of vector indexes, in-process: after random sequences of
 * writes (vectors put, replaced, removed by deleting the entity or the
 * field, other fields updated, invalid vectors refused, explicit
 * transactions committed or rolled back, batches, commits racing each other
 * and the index's backfill, commits refused by a unique index), the graph
 * holds exactly the vectors of the stored entities, the durable count
 * agrees, and so after a reopen from the checkpoint, after a reopen from an
 * older checkpoint (change-log replay) and after a rebuild (no checkpoint).
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { openDb, runOp, tempDir as helperTempDir, tolerated as toleratedCodes, write, type Blob, type Write, type WriteOp } from '../helpers/inproc.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes, Vectors } from '../../src/index/index.js';

const SLOW = process.env.THEMIS_SLOW !== undefined && process.env.THEMIS_SLOW !== '';
const TABLE = 'docs';
const INDEX = 'docs_vec';
const DIM = 4;
const KEYS = Array.from({ length: 8 }, (_, i) => `${TABLE}:${i}`);

type Op = WriteOp;

const vectorArb = fc.array(fc.integer({ min: -4, max: 4 }), { minLength: DIM, maxLength: DIM }).map((v) => (v.every((x) => x === 0) ? [1, ...v.slice(1)] : v));
/** The field: usually a vector; sometimes absent, null, or invalid (wrong dimension, not numbers): those commits are refused. */
const embArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: vectorArb, weight: 8 },
  { arbitrary: fc.constantFrom(undefined, null), weight: 2 },
  { arbitrary: fc.constantFrom([1, 2], 'text', [1, 'x', 3, 4], [0, 0, 0, 0]), weight: 1 },
);
const docArb: fc.Arbitrary<Blob> = fc
  .record({ emb: embArb, tag: fc.constantFrom('a', 'b'), email: fc.constantFrom(undefined, undefined, 'u@x') })
  .map(({ emb, tag, email }) => ({ tag, ...(emb !== undefined ? { emb } : {}), ...(email !== undefined ? { email } : {}) }));
const writeArb: fc.Arbitrary<Write> = fc.record({ key: fc.constantFrom(...KEYS), doc: fc.option(docArb, { nil: null, freq: 4 }) });
const writesArb = fc.array(writeArb, { minLength: 1, maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: writeArb.map((w): Op => ({ t: 'put', w })), weight: 5 },
  { arbitrary: writesArb.map((ws): Op => ({ t: 'batch', ws })), weight: 2 },
  { arbitrary: fc.record({ ws: writesArb, commit: fc.boolean() }).map((r): Op => ({ t: 'txn', ...r })), weight: 2 },
  {
    arbitrary: fc
      .array(fc.oneof(writeArb.map((w) => ({ t: 'put' as const, w })), writesArb.map((ws) => ({ t: 'batch' as const, ws }))), { minLength: 2, maxLength: 8 })
      .map((items): Op => ({ t: 'burst', items })),
    weight: 2,
  },
);

/** Refusals the operations may meet: invalid vectors (400) and unique violations (409). */
const tolerated = (p: Promise<unknown>) => toleratedCodes(p, ['CONFLICT', 'VALIDATION_FAILED']);

const run = (db: Database, op: Op) => runOp(db, op, ['CONFLICT', 'VALIDATION_FAILED']);

function storedVectors(db: Database): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const key of KEYS) {
    try {
      const doc = JSON.parse(db.get(Entities).getEntity(key).blob) as Blob;
      if (Array.isArray(doc.emb)) out.set(key, doc.emb as number[]);
    } catch (e) {
      if (!(e instanceof ThemisError && e.code === 'NOT_FOUND')) throw e;
    }
  }
  return out;
}

/** The graph holds exactly the stored vectors (L2: stored as given, in float32), the durable count agrees, and search finds all of them. */
function expectConsistent(db: Database): void {
  const ix = db.get(Vectors).manager.get(INDEX);
  const stored = storedVectors(db);
  expect(ix.size, 'vectors in the graph').toBe(stored.size);
  expect(ix.storedCount(), 'durable count').toBe(stored.size);
  expect([...ix.keys()].sort()).toEqual([...stored.keys()].sort());
  for (const [key, v] of stored) expect(ix.vectorOf(key), `vector of ${key}`).toEqual(v.map(Math.fround));
  if (stored.size > 0) {
    const hits = ix.search(new Array<number>(ix.def.dimension!).fill(0.5), KEYS.length);
    expect(hits.map((h) => h.key).sort()).toEqual([...stored.keys()].sort());
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.distance).toBeGreaterThanOrEqual(hits[i - 1]!.distance);
  }
}

const tempDir = () => helperTempDir('themis-vec-');

function checkpointFile(dir: string, db: Database): string {
  return path.join(dir, 'vector', `index-${db.get(Vectors).manager.get(INDEX).def.id}.ckpt`);
}

describe('vector index consistency (in-process)', () => {
  it(
    'random write sequences: the graph equals the stored vectors, after reopen (checkpoint), replay from an older checkpoint, and rebuild',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('before' as const, 'after' as const, 'racing' as const),
          fc.array(writeArb, { maxLength: 8 }),
          fc.array(opArb, { minLength: 1, maxLength: 16 }),
          fc.array(writeArb, { minLength: 1, maxLength: 6 }),
          fc.array(opArb, { minLength: 1, maxLength: 8 }),
          async (when, initial, ops, racing, later) => {
            const dir = tempDir();
            let db = await openDb(dir);
            try {
              await db.get(Indexes).create({ table: TABLE, column: 'email', unique: true, sparse: true });
              // Backfill refuses invalid vectors already stored: that create fails (400) and leaves no index behind.
              const create = async () => {
                try {
                  await db.get(Vectors).createIndex({ name: INDEX, table: TABLE, field: 'emb', metric: 'L2' });
                } catch (e) {
                  if (!(e instanceof ThemisError && e.code === 'VALIDATION_FAILED')) throw e;
                  expect(db.get(Vectors).listIndexes().some((x) => x.objectName === INDEX)).toBe(false);
                  // remove the invalid documents and create again
                  for (const key of KEYS) {
                    const doc = (() => {
                      try {
                        return JSON.parse(db.get(Entities).getEntity(key).blob) as Blob;
                      } catch {
                        return undefined;
                      }
                    })();
                    if (doc && doc.emb !== undefined && doc.emb !== null && !(Array.isArray(doc.emb) && doc.emb.length === DIM && doc.emb.every((x) => typeof x === 'number') && doc.emb.some((x) => x !== 0))) {
                      await db.get(Entities).deleteEntity(key);
                    }
                  }
                  await db.get(Vectors).createIndex({ name: INDEX, table: TABLE, field: 'emb', metric: 'L2', dimension: DIM });
                }
              };
              // The first vectors fix the dimension; entities written before the index may have other shapes.
              if (when === 'before') await create();
              for (const w of initial) await run(db, { t: 'put', w });
              if (when === 'after') await create();
              if (when === 'racing') await Promise.all([create(), ...racing.map((w) => tolerated(write(db, w)))]);
              for (const op of ops) await run(db, op);
              expectConsistent(db);

              // reopen: the final checkpoint
              const ckpt = checkpointFile(dir, db);
              await db.get(Vectors).manager.checkpointAll(true);
              const older = fs.readFileSync(ckpt);
              for (const op of later) await run(db, op);
              expectConsistent(db);
              await db.close();
              db = await openDb(dir);
              expect(db.get(Vectors).manager.get(INDEX).loadedFrom).toBe('checkpoint');
              expectConsistent(db);

              // an older checkpoint: the change log replays the later commits
              await db.close();
              fs.writeFileSync(ckpt, older);
              db = await openDb(dir);
              expect(db.get(Vectors).manager.get(INDEX).loadedFrom).toBe('checkpoint');
              expectConsistent(db);

              // no checkpoint: rebuilt from the entities
              await db.close();
              fs.rmSync(ckpt);
              db = await openDb(dir);
              expect(db.get(Vectors).manager.get(INDEX).loadedFrom).toBe('rebuild');
              expectConsistent(db);

              // a corrupt checkpoint: rebuilt
              await db.close();
              const bytes = fs.readFileSync(ckpt);
              const at = Math.floor(bytes.length / 2);
              bytes[at] = bytes[at]! ^ 0xff;
              fs.writeFileSync(ckpt, bytes);
              db = await openDb(dir);
              expect(db.get(Vectors).manager.get(INDEX).loadedFrom).toBe('rebuild');
              expectConsistent(db);
            } finally {
              await db.close();
              fs.rmSync(dir, { recursive: true, force: true });
            }
          },
        ),
        { numRuns: SLOW ? 300 : 30 },
      );
    },
    SLOW ? 600_000 : 120_000,
  );
});

describe('vector checkpoints', () => {
  it('a deleted checkpoint directory is recreated by the next checkpoint', async () => {
    const dir = tempDir();
    let db = await openDb(dir);
    try {
      await db.get(Vectors).batchInsert({ items: [{ pk: 'a', vector: [1, 2, 3] }, { pk: 'b', vector: [3, 2, 1] }] });
      await db.get(Vectors).manager.checkpointAll(true);
      fs.rmSync(path.join(dir, 'vector'), { recursive: true });
      await db.get(Vectors).batchInsert({ items: [{ pk: 'c', vector: [1, 1, 1] }] });
      await db.get(Vectors).manager.checkpointAll(true);
      expect(fs.readdirSync(path.join(dir, 'vector'))).toEqual([`index-${db.get(Vectors).manager.get('vector_index').def.id}.ckpt`]);
      await db.close();
      db = await openDb(dir);
      expect(db.get(Vectors).manager.get('vector_index').loadedFrom).toBe('checkpoint');
      expect(db.get(Vectors).search({ vector: [1, 1, 1], k: 3 })).toMatchObject({ count: 3, results: [{ pk: 'c' }, {}, {}] });
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
