/**
 * The fulltext index's durable layout: one record per document (length,
 * terms, positions; forward.ts), and the one-time migration of an index an
 * older version wrote as one entry per posting and per document frequency
 * (layout 1), also when a crash interrupted that migration.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { idPrefix } from '../../src/index/id-prefix.js';
import { Indexes } from '../../src/index/index.js';
import { ForwardWriter, decodeAnalysis } from '../../src/index/fulltext/forward.js';
import { MAX_TERM_LENGTH, encodePositions, type AnalyzedText } from '../../src/index/fulltext/index.js';
import { WriteBatch, keyspace, prefixUpperBound } from '../../src/storage/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';
import { expectDerived } from '../helpers/participant-suite.js';
import { fulltextSubject, sentence } from '../helpers/participants.js';

const TABLE = 'docs';
const COLUMN = 'body';
const ftKs = keyspace('fulltext');
const subject = fulltextSubject({ table: TABLE, column: COLUMN });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

// Terms as the analyzer makes them: ASCII, accented, other scripts, astral characters, up to MAX_TERM_LENGTH (over 127 UTF-8 bytes).
const termArb = fc.oneof(
  fc.stringMatching(/^[a-z0-9]{1,12}$/),
  fc.constantFrom('über', 'straße', 'naïve', '東京', 'κόσμος', '𝔘𝔫𝔦', 'ü'.repeat(MAX_TERM_LENGTH), 'x'.repeat(MAX_TERM_LENGTH)),
);
const analysisArb: fc.Arbitrary<AnalyzedText> = fc
  .uniqueArray(fc.tuple(termArb, fc.uniqueArray(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 6 })), {
    selector: ([t]) => t,
    maxLength: 25,
  })
  .map((entries) => {
    const terms = new Map(entries.map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
    return { length: [...terms.values()].reduce((n, ps) => n + ps.length, 0), terms };
  });

describe('fulltext document records', () => {
  it('round-trip every analysis (non-ASCII and 128-character terms, large positions), also many from one writer', () => {
    fc.assert(
      fc.property(fc.array(analysisArb, { minLength: 1, maxLength: 40 }), (as) => {
        const w = new ForwardWriter();
        const records = as.map((a) => w.encode(a));
        // Views of earlier records stay valid when the writer moves on to a new buffer.
        as.forEach((a, i) => {
          const back = decodeAnalysis(records[i]!);
          expect(back).toEqual(a);
          expect(new ForwardWriter().encode(back).equals(records[i]!)).toBe(true);
        });
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('records are equal exactly when the analyses are (a commit compares them to skip unchanged fields): a moved position, another term, another length differ', () => {
    // an analysis from [length, [term, positions]...]
    const rec = (length: number, ...terms: [string, number[]][]) => new ForwardWriter().encode({ length, terms: new Map(terms) });
    const a = rec(3, ['fox', [0, 2]], ['dog', [1]]);
    expect(a.equals(rec(3, ['fox', [0, 2]], ['dog', [1]]))).toBe(true);
    expect(a.equals(rec(3, ['fox', [0, 3]], ['dog', [1]]))).toBe(false);
    expect(a.equals(rec(3, ['fox', [0, 2]], ['cat', [1]]))).toBe(false);
    expect(a.equals(rec(4, ['fox', [0, 2]], ['dog', [1]]))).toBe(false);
  });

  it('a commit writes one entry per changed document and the statistics, none for an update that leaves the field as it was', async () => {
    const dir = tempDir('themis-ftlayout-');
    dirs.push(dir);
    const db = await openDb(dir);
    try {
      await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext' });
      const batches: number[] = [];
      const commit = db.engine.commit.bind(db.engine);
      db.engine.commit = (b: WriteBatch) => {
        batches.push(countIn(b, idPrefix(db.get(Indexes).fulltext(TABLE, COLUMN).id)));
        return commit(b);
      };
      await db.get(Entities).applyBatch(
        Array.from({ length: 20 }, (_, i) => ({
          op: 'put' as const,
          key: `${TABLE}:${i}`,
          blob: { body: `quick brown fox number ${i} jumps` },
        })),
      );
      await db.get(Entities).putEntity(`${TABLE}:3`, { body: 'quick brown fox number 3 jumps', other: 'changed' });
      await db.get(Entities).deleteEntity(`${TABLE}:4`);
      // 20 records + stats; nothing for an unchanged field; a delete + stats
      expect(batches).toEqual([21, 0, 2]);
      await expectDerived(db, subject);
    } finally {
      await db.close();
    }
  });
});

/** Entries of `batch` under the index prefix. */
function countIn(batch: WriteBatch, prefix: Buffer): number {
  let n = 0;
  const start = Buffer.concat([ftKs.prefix, prefix]);
  for (const op of batch.ops) if (op.key.subarray(0, start.length).equals(start)) n++;
  return n;
}

// ---------------------------------------------------------------- migration from layout 1

/** The index's durable state rewritten as layout 1: 'd' key -> dl, 'p' term 0 key -> positions, 't' term -> df ('s' unchanged); records and the layout mark removed. */
async function toLayout1(db: Database, keepRecords = false): Promise<void> {
  const ft = db.get(Indexes).fulltext(TABLE, COLUMN);
  const p = idPrefix(ft.id);
  const ds = await ft.durableStats();
  const b = new WriteBatch();
  const key = (tag: string, ...parts: Buffer[]) => Buffer.concat([p, Buffer.from(tag), ...parts]);
  if (!keepRecords) for (const tag of ['f', 'v']) for await (const [k] of db.engine.scan(ftKs, range(key(tag)))) b.del(ftKs, k);
  for (const [k, dl] of ds.dl) b.put(ftKs, key('d', Buffer.from(k)), u32(dl));
  for (const [term, docs] of ds.postings) {
    b.put(ftKs, key('t', Buffer.from(term)), u32(docs.size));
    for (const [k, ps] of docs) b.put(ftKs, key('p', Buffer.from(term), Buffer.of(0), Buffer.from(k)), encodePositions(ps));
  }
  await db.engine.commit(b);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const range = (gte: Buffer) => ({ gte, lt: prefixUpperBound(gte) });

/** Entries of the index per tag ('d', 'f', 'p', 's', 't', 'v'). */
async function tags(db: Database): Promise<Record<string, number>> {
  const p = idPrefix(db.get(Indexes).fulltext(TABLE, COLUMN).id);
  const out: Record<string, number> = {};
  for await (const [k] of db.engine.scan(ftKs, range(p))) {
    const t = String.fromCharCode(k[p.length]!);
    out[t] = (out[t] ?? 0) + 1;
  }
  return out;
}

/** A database with the index and 300 documents (puts, updates, deletes; non-ASCII words), closed; returns its search answers. */
async function populated(dir: string): Promise<unknown> {
  const db = await openDb(dir);
  try {
    await db.get(Indexes).create({ table: TABLE, column: COLUMN, type: 'fulltext' });
    const bodies = fc.sample(sentence, { numRuns: 300, seed: 5 });
    await db
      .get(Entities)
      .applyBatch(bodies.map((body, i) => ({ op: 'put' as const, key: `${TABLE}:k${i}`, blob: { body: `${body} über fox` } })));
    await db
      .get(Entities)
      .applyBatch(
        Array.from({ length: 60 }, (_, j) =>
          j % 2 === 0
            ? { op: 'delete' as const, key: `${TABLE}:k${j * 5}` }
            : { op: 'put' as const, key: `${TABLE}:k${j * 5}`, blob: { body: `river night ${j}` } },
        ),
      );
    await expectDerived(db, subject);
    return subject.answers!(db);
  } finally {
    await db.close();
  }
}

async function reopenMigrated(dir: string, source: 'checkpoint' | 'postings', answers: unknown): Promise<void> {
  const db = await openDb(dir);
  try {
    const ft = db.get(Indexes).fulltext(TABLE, COLUMN);
    expect(ft.loadedFrom).toBe(source);
    const t = await tags(db);
    expect([t.d, t.p, t.t]).toEqual([undefined, undefined, undefined]);
    expect([t.v, t.s]).toEqual([1, 1]);
    expect(t.f).toBe(ft.mem.n);
    await expectDerived(db, subject, 'after the migration');
    expect(subject.answers!(db)).toEqual(answers);
    // and it keeps working: a write after the migration
    await db.get(Entities).putEntity(`${TABLE}:late`, { body: 'late fox über' });
    await expectDerived(db, subject, 'after a write following the migration');
  } finally {
    await db.close();
  }
}

const checkpointOf = (dir: string) => path.join(dir, 'fulltext');

describe('fulltext layout 1 (one entry per posting) is migrated at start', () => {
  for (const source of ['postings', 'checkpoint'] as const) {
    it(`loaded from its ${source === 'postings' ? 'postings (no checkpoint)' : 'checkpoint'}, rewritten as records, the old entries gone`, async () => {
      const dir = tempDir('themis-ftmig-');
      dirs.push(dir);
      const answers = await populated(dir);
      const db = await openDb(dir);
      await toLayout1(db);
      const before = await tags(db);
      expect(before.f).toBeUndefined();
      expect(before.p).toBeGreaterThan(before.d!);
      await db.close();
      if (source === 'postings') fs.rmSync(checkpointOf(dir), { recursive: true, force: true });
      await reopenMigrated(dir, source, answers);
    });
  }

  it('a crash after the records and the mark, while the old entries were being deleted: the next start reads the records and finishes', async () => {
    const dir = tempDir('themis-ftmig-');
    dirs.push(dir);
    const answers = await populated(dir);
    const db = await openDb(dir);
    await toLayout1(db, true);
    const ft = db.get(Indexes).fulltext(TABLE, COLUMN);
    const p = idPrefix(ft.id);
    const b = new WriteBatch();
    b.put(ftKs, Buffer.concat([p, Buffer.from('v')]), u32(2));
    // half of the postings already deleted: layout 1 is no longer complete, so the records must be what is read
    let i = 0;
    for await (const [k] of db.engine.scan(ftKs, range(Buffer.concat([p, Buffer.from('p')])))) if (i++ % 2 === 0) b.del(ftKs, k);
    await db.engine.commit(b);
    await db.close();
    fs.rmSync(checkpointOf(dir), { recursive: true, force: true });
    await reopenMigrated(dir, 'postings', answers);
  });

  it('a crash while the records were being written (no mark; some records, one of them stale): layout 1 is read and the records rewritten', async () => {
    const dir = tempDir('themis-ftmig-');
    dirs.push(dir);
    const answers = await populated(dir);
    const db = await openDb(dir);
    await toLayout1(db, true);
    const p = idPrefix(db.get(Indexes).fulltext(TABLE, COLUMN).id);
    const b = new WriteBatch();
    // a record of a document layout 1 does not hold, and one with wrong content
    b.put(
      ftKs,
      Buffer.concat([p, Buffer.from('f'), Buffer.from(`${TABLE}:ghost`)]),
      new ForwardWriter().encode({ length: 1, terms: new Map([['ghost', [0]]]) }),
    );
    b.put(
      ftKs,
      Buffer.concat([p, Buffer.from('f'), Buffer.from(`${TABLE}:k1`)]),
      new ForwardWriter().encode({ length: 1, terms: new Map([['wrong', [0]]]) }),
    );
    await db.engine.commit(b);
    await db.close();
    fs.rmSync(checkpointOf(dir), { recursive: true, force: true });
    await reopenMigrated(dir, 'postings', answers);
  });
});
