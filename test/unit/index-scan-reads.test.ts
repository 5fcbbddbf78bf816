/**
 * What an index range scan reads from LevelDB: a LIMIT right after the scan
 * (or after the SORT its order answers) sizes the first read, non-unique
 * entries are read without their (empty) values — and neither changes a
 * result, also when filters drop most rows and the scan has to read on.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';
import { keyspace } from '../../src/storage/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let db: Database;
let dir: string;
const N = 300;
// age = i % 60, odd = i % 7 === 0
const docs = Array.from({ length: N }, (_, i) => ({ key: `t:${String(i).padStart(3, '0')}`, age: i % 60, odd: i % 7 === 0 }));

beforeAll(async () => {
  dir = tempDir('themis-scan-reads-');
  // No document cache: every document read is a LevelDB read, counted like an index entry. No resident index
  // copies (resident.ts; their scans read no LevelDB): these tests measure what the LevelDB path reads.
  db = await openDb(dir, 'relaxed', { documentCacheMb: 0, residentIndexEntries: 0 });
  await db.get(Entities).applyBatch(docs.map((d) => ({ op: 'put' as const, key: d.key, blob: { age: d.age, odd: d.odd } })));
  await db.get(Indexes).create({ table: 't', column: 'age', type: 'range' });
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(query: string, bind_vars: Record<string, unknown> = {}): Promise<{ result: unknown[]; reads: number }> {
  const before = db.engine.stats().reads;
  const out = await db.get(Aql).run({ query, bind_vars });
  if (!('entities' in out)) throw new Error('no entities');
  return { result: out.entities as unknown[], reads: db.engine.stats().reads - before };
}

describe('index range scans read what the LIMIT needs', () => {
  it('FOR … FILTER range LIMIT n: about n index entries and n documents', async () => {
    const { result, reads } = await run('FOR u IN t FILTER u.age >= 10 LIMIT 3 RETURN u._key');
    // index order: (age, key) ascending from 10
    const expected = docs
      .filter((d) => d.age >= 10)
      .sort((a, b) => a.age - b.age || a.key.localeCompare(b.key))
      .slice(0, 3)
      .map((d) => d.key.slice(2));
    expect(result).toEqual(expected);
    expect(reads).toBeLessThanOrEqual(6); // without the hint: the default first read of 32 entries + 3 documents
  });

  it('LIMIT from bind values, and SORT … DESC LIMIT offset, count answered by the index order', async () => {
    const a = await run('FOR u IN t FILTER u.age >= @lo LIMIT @o, @n RETURN u.age', { lo: 50, o: 1, n: 2 });
    expect(a.result).toEqual([50, 50]);
    expect(a.reads).toBeLessThanOrEqual(6);
    const b = await run('FOR u IN t FILTER u.age < 40 SORT u.age DESC LIMIT 2, 3 RETURN u.age');
    expect(b.result).toEqual([39, 39, 39]);
    expect(b.reads).toBeLessThanOrEqual(10);
  });

  it('filters that drop most rows: the scan reads on past its first read and the result is complete', async () => {
    const { result, reads } = await run('FOR u IN t FILTER u.age >= 5 AND u.odd == true LIMIT 4 RETURN [u.age, u._key]');
    const expected = docs
      .filter((d) => d.age >= 5 && d.odd)
      .sort((a, b) => a.age - b.age || a.key.localeCompare(b.key))
      .slice(0, 4)
      .map((d) => [d.age, d.key.slice(2)]);
    expect(result).toEqual(expected);
    expect(reads).toBeGreaterThan(8); // more than the first read's 4 entries and 4 documents
  });

  it('LIMIT 0, an expression LIMIT and no LIMIT keep the default reads and the same results', async () => {
    expect((await run('FOR u IN t FILTER u.age >= 10 LIMIT 0 RETURN u')).result).toEqual([]);
    const expr = await run('FOR u IN t FILTER u.age >= 58 LIMIT 1 + 1 RETURN u.age');
    expect(expr.result).toEqual([58, 58]);
    const all = await run('FOR u IN t FILTER u.age >= 58 RETURN u.age');
    expect(all.result).toEqual(
      docs
        .filter((d) => d.age >= 58)
        .map((d) => d.age)
        .sort((a, b) => a - b),
    );
  });

  it('a non-unique index is scanned for keys only (its values are empty); the engine then gives no values', async () => {
    const spy = vi.spyOn(db.engine, 'scanChunks');
    try {
      const { result } = await run('FOR u IN t FILTER u.age >= 57 LIMIT 2 RETURN u.age');
      expect(result).toEqual([57, 57]);
      const idx = spy.mock.calls.find(([ks]) => ks.name === 'index');
      expect(idx?.[1]).toMatchObject({ keysOnly: true, reverse: false });
    } finally {
      spy.mockRestore();
    }
    // The engine's keys-only scan: every value empty (documents have non-empty ones).
    const entries: [Buffer, Buffer][] = [];
    for await (const chunk of db.engine.scanChunks(keyspace('entity'), { keysOnly: true, limit: 5 })) entries.push(...chunk);
    expect(entries).toHaveLength(5);
    expect(entries.every(([k, v]) => k.length > 0 && v.length === 0)).toBe(true);
  });
});
