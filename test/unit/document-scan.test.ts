/**
 * DocumentStore.scan reads documents as text from the binding (keys and
 * values as strings, not Buffers): the rows must be exactly the stored keys
 * and texts, in UTF-8 byte order, for one table or all, with `after` /
 * `before` / reverse, whatever characters the keys hold.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { parseEntityKey } from '../../src/documents/index.js';
import { Entities } from '../../src/entities/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let db: Database;
let dir: string;
const pks = ['a', 'Z', '\u00fc', 'x\u0000y', '\u{1F600}', 'k-1', '\u4e2d\u6587', 'a b'];
const docs = [...pks.map((pk, i) => ({ key: `t:${pk}`, blob: { i, s: `text ${pk} \u00e9` } })), { key: 'u:one', blob: { i: 99 } }];
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

beforeAll(async () => {
  dir = tempDir('themis-doc-scan-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch(docs.map((d) => ({ op: 'put' as const, key: d.key, blob: d.blob })));
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function scan(r: Parameters<Database['documents']['scan']>[0]): Promise<(readonly [string, string])[]> {
  const out: (readonly [string, string])[] = [];
  for await (const chunk of db.documents.scan({ size: 3, ...r })) out.push(...chunk);
  return out;
}

describe('DocumentStore.scan (text from the binding)', () => {
  it('one table: every key and stored text, in UTF-8 byte order; the same texts a point read gives', async () => {
    const rows = await scan({ table: 't' });
    const expected = docs.filter((d) => d.key.startsWith('t:')).map((d) => d.key);
    expect(rows.map(([k]) => k)).toEqual(expected.sort((a, b) => byBytes(a.slice(2), b.slice(2))));
    for (const [key, text] of rows) {
      expect(JSON.parse(text)).toEqual(docs.find((d) => d.key === key)!.blob);
      expect(text).toBe(db.documents.read(parseEntityKey(key)));
    }
  });

  it('every table (the table name parsed from each key), reverse, and after / before bounds', async () => {
    const all = await scan({});
    expect(all.map(([k]) => k)).toEqual([...(await scan({ table: 't' })).map(([k]) => k), 'u:one']);
    const rev = await scan({ table: 't', reverse: true });
    expect(rev.map(([k]) => k)).toEqual((await scan({ table: 't' })).map(([k]) => k).reverse());
    const sorted = (await scan({ table: 't' })).map(([k]) => k);
    const after = parseEntityKey(sorted[2]!);
    const before = parseEntityKey(sorted[6]!);
    expect((await scan({ table: 't', after, before })).map(([k]) => k)).toEqual(sorted.slice(3, 6));
  });

  it('a chunk the binding ends at its byte limit is not taken for the end of the table (multi-byte text: fewer characters than bytes)', async () => {
    // ~2 KB of UTF-8 but ~1,000 characters each: LevelDB stops a read at 256 KiB after ~130 documents.
    const text = '\u00fc'.repeat(1000);
    await db.get(Entities).applyBatch(Array.from({ length: 300 }, (_, i) => ({ op: 'put' as const, key: `wide:${i}`, blob: { text } })));
    const rows: (readonly [string, string])[] = [];
    for await (const chunk of db.documents.scan({ table: 'wide' })) rows.push(...chunk);
    expect(rows).toHaveLength(300);
    expect(rows.every(([, t]) => JSON.parse(t).text === text)).toBe(true);
  });
});
