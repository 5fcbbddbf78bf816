import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INTERNAL } from '../../src/access.js';
import { CHUNK_TABLE, Content, CONTENT_TABLE, PIECE_BYTES } from '../../src/content/index.js';
import type { Database } from '../../src/db.js';
import { Entities, parseEntityKey } from '../../src/entities/index.js';
import { Indexes, Vectors } from '../../src/index/index.js';
import { keyspace } from '../../src/storage/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';

/**
 * The content module against its storage (issue 18): replace and delete
 * leave no chunk document, blob piece, hash record or index entry behind
 * (the keyspaces are read directly), identical blobs are stored once, a
 * blob spanning several pieces reads back exactly in any range, and
 * an import refused by a later participant leaves nothing.
 */

const entityKs = keyspace('entity');
const contentKs = keyspace('content');

async function keysOf(db: Database, ks: ReturnType<typeof keyspace>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const [k] of db.engine.scan(ks)) out.push(k);
  return out;
}

/** Entity keys (as text) of the content tables. */
async function contentDocs(db: Database): Promise<string[]> {
  return (await keysOf(db, entityKs)).map((k) => k.toString('latin1')).filter((k) => k.includes(CHUNK_TABLE) || k.includes(CONTENT_TABLE));
}

const embedding = (i: number) => [1 + i, 2, 3, 4].map((x) => x / 10);

function importBody(id: string, chunks: number, blob: Buffer) {
  return {
    content: { id, mime_type: 'application/octet-stream' },
    chunks: Array.from({ length: chunks }, (_, i) => ({ seq_num: i, text: `word${i} shared text ${id}`, embedding: embedding(i) })),
    blob: blob.toString('base64'),
  };
}

describe('content storage', () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = tempDir('themis-content-');
    db = await openDb(dir);
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const ft = () => db.get(Indexes).fulltext(CHUNK_TABLE, 'text');
  const vec = () => db.get(Vectors).manager.onTable(CHUNK_TABLE)[0]!;

  it('replace and delete leave no chunk, piece, hash record or index entry behind', async () => {
    const c = db.get(Content);
    const big = randomBytes(PIECE_BYTES * 2 + 1234);
    await c.import(importBody('a', 5, big), INTERNAL);
    expect(await contentDocs(db)).toHaveLength(6);
    // 3 pieces + 1 hash record.
    expect(await keysOf(db, contentKs)).toHaveLength(4);
    expect(ft().stats().documents).toBe(5);
    expect(vec().size).toBe(5);

    const small = Buffer.from('small');
    await c.import(importBody('a', 2, small), INTERNAL);
    expect((await contentDocs(db)).filter((k) => k.includes(CHUNK_TABLE))).toHaveLength(2);
    expect(await keysOf(db, contentKs)).toHaveLength(2);
    expect(ft().stats().documents).toBe(2);
    expect(vec().size).toBe(2);

    await c.delete('a', INTERNAL);
    expect(await contentDocs(db)).toEqual([]);
    expect(await keysOf(db, contentKs)).toEqual([]);
    expect(ft().stats().documents).toBe(0);
    expect(vec().size).toBe(0);
  });

  it('stores identical blobs once and reads any range of a multi-piece blob exactly', async () => {
    const c = db.get(Content);
    const blob = randomBytes(PIECE_BYTES * 3 + 17);
    await c.import(importBody('x', 1, blob), INTERNAL);
    await c.import(importBody('y', 1, blob), INTERNAL);
    expect(await keysOf(db, contentKs)).toHaveLength(5); // 4 pieces + 1 hash record
    const b = c.openBlob('y', INTERNAL.access);
    try {
      const read = async (start: number, end: number) => {
        const parts: Buffer[] = [];
        for await (const p of b.read(start, end)) parts.push(p);
        return Buffer.concat(parts);
      };
      expect((await read(0, blob.length)).equals(blob)).toBe(true);
      for (const [s, e] of [
        [0, 1],
        [PIECE_BYTES - 1, PIECE_BYTES + 1],
        [PIECE_BYTES, 2 * PIECE_BYTES],
        [blob.length - 5, blob.length],
        [100, PIECE_BYTES * 3 + 10],
      ] as const) {
        expect((await read(s, e)).equals(blob.subarray(s, e)), `${s}-${e}`).toBe(true);
      }
    } finally {
      b.close();
    }
    await c.delete('x', INTERNAL);
    expect(await keysOf(db, contentKs)).toHaveLength(5);
    await c.delete('y', INTERNAL);
    expect(await keysOf(db, contentKs)).toEqual([]);
  });

  it('a download keeps reading the blob it opened while the content is replaced', async () => {
    const c = db.get(Content);
    const first = randomBytes(PIECE_BYTES + 10);
    await c.import(importBody('v', 1, first), INTERNAL);
    const b = c.openBlob('v', INTERNAL.access);
    await c.import(importBody('v', 1, Buffer.from('replaced')), INTERNAL);
    const parts: Buffer[] = [];
    for await (const p of b.read(0, b.size)) parts.push(p);
    b.close();
    expect(Buffer.concat(parts).equals(first)).toBe(true);
    expect(await keysOf(db, contentKs)).toHaveLength(2);
  });

  it('an import another participant refuses leaves nothing (no blob piece, no chunk, no metadata)', async () => {
    const c = db.get(Content);
    // A unique index on the chunk text: the second import's chunk collides, and the index's participant refuses the commit.
    await db.get(Indexes).create({ table: CHUNK_TABLE, column: 'text', type: 'equality', unique: true });
    await c.import(
      { content: { id: 'u1' }, chunks: [{ seq_num: 0, text: 'same' }], blob: Buffer.from('first').toString('base64') },
      INTERNAL,
    );
    const big = randomBytes(PIECE_BYTES + 5).toString('base64');
    await expect(c.import({ content: { id: 'u2' }, chunks: [{ seq_num: 0, text: 'same' }], blob: big }, INTERNAL)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect((await contentDocs(db)).filter((k) => k.includes('u2'))).toEqual([]);
    expect(await keysOf(db, contentKs)).toHaveLength(2); // u1's one piece and hash record
    // The refused commit reserved nothing: the same blob imports later and is stored once.
    await c.import({ content: { id: 'u3' }, chunks: [{ seq_num: 0, text: 'other' }], blob: big }, INTERNAL);
    expect(await keysOf(db, contentKs)).toHaveLength(5);
  });

  it('refuses writes to the content tables by any other writer, applying nothing', async () => {
    await db.get(Content).import(importBody('own', 1, Buffer.from('mine')), INTERNAL);
    const entities = db.get(Entities);
    await expect(entities.put(parseEntityKey(`${CHUNK_TABLE}:own:0000000000`), { text: '{"text":"forged"}' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(entities.delete(parseEntityKey(`${CONTENT_TABLE}:own`))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const page = await db.get(Content).chunks('own', { offset: 0, limit: 10 }, INTERNAL.access);
    expect(page.chunks.map((c) => c.text)).toEqual(['word0 shared text own']);
  });

  it('blob references and pieces survive a reopen', async () => {
    const blob = randomBytes(PIECE_BYTES + 1);
    await db.get(Content).import(importBody('keep', 2, blob), INTERNAL);
    await db.close();
    db = await openDb(dir);
    const b = db.get(Content).openBlob('keep', INTERNAL.access);
    const parts: Buffer[] = [];
    for await (const p of b.read(0, b.size)) parts.push(p);
    b.close();
    expect(Buffer.concat(parts).equals(blob)).toBe(true);
    await db.get(Content).delete('keep', INTERNAL);
    expect(await keysOf(db, contentKs)).toEqual([]);
  });
});
