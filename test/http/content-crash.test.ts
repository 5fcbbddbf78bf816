import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INTERNAL } from '../../src/access.js';
import { CHUNK_TABLE, Content, CONTENT_TABLE, type ContentMeta } from '../../src/content/index.js';
import { keyspace } from '../../src/storage/index.js';
import { openDb } from '../helpers/inproc.js';
import { call, sleep, startServer } from '../helpers/server.js';

/**
 * An import is atomic under kill -9 (issue 18): imports, re-imports and
 * deletes run concurrently while the server is killed; after the restart
 * every content has exactly its chunks and its blob (bytes matching its
 * sha256), no chunk lacks its content, and the content keyspace holds
 * exactly the pieces of the blobs referred to (read in process).
 */
describe('content import under kill -9', () => {
  it('never leaves a content without its chunks or blob, nor chunks or pieces without a content', async () => {
    const s = await startServer();
    const dataDir = s.dataDir;
    let stop = false;
    let done = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i % 6}`;
        const n = 1 + ((i * 7 + w) % 9);
        const blob = randomBytes(1000 + ((i * 997) % 300_000));
        const body =
          i % 5 === 4
            ? undefined
            : {
                content: { id, mime_type: 'application/octet-stream', round: i },
                chunks: Array.from({ length: n }, (_, j) => ({
                  seq_num: j,
                  text: `chunk ${j} of ${id} round ${i}`,
                  embedding: [j + 1, 1, 2, w + 1],
                })),
                blob: blob.toString('base64'),
              };
        try {
          if (body) await call(s, 'POST', '/content/import', body);
          else await call(s, 'DELETE', `/content/${id}`);
          done++;
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    while (done < 40) await sleep(20);
    await sleep(30 + Math.floor(Math.random() * 50));
    stop = true;
    await s.kill();
    await Promise.all(workers);

    // Restart (recovery), then stop cleanly and inspect the data directory in process.
    const again = await startServer({ dataDir });
    expect((await call(again, 'GET', '/health/ready')).status).toBe(200);
    await again.stop();

    const db = await openDb(dataDir);
    try {
      const metas = new Map<string, ContentMeta>();
      const chunksOf = new Map<string, number>();
      const entity = keyspace('entity');
      for await (const [k, v] of db.engine.scan(entity)) {
        const key = k.toString('utf8');
        const text = v.toString('utf8', 1);
        if (key.startsWith(`${CONTENT_TABLE}\0`)) {
          const m = JSON.parse(text) as ContentMeta;
          metas.set(m.id, m);
        } else if (key.startsWith(`${CHUNK_TABLE}\0`)) {
          const c = JSON.parse(text) as { content_id: string };
          chunksOf.set(c.content_id, (chunksOf.get(c.content_id) ?? 0) + 1);
        }
      }
      expect(metas.size).toBeGreaterThan(0);
      for (const id of chunksOf.keys()) expect(metas.has(id), `chunks of ${id} without its content`).toBe(true);
      const hashes = new Set<string>();
      for (const m of metas.values()) {
        expect(chunksOf.get(m.id) ?? 0, `chunks of ${m.id}`).toBe(m.chunk_count);
        const b = db.get(Content).openBlob(m.id, INTERNAL.access);
        const h = createHash('sha256');
        for await (const p of b.read(0, b.size)) h.update(p);
        b.close();
        expect(h.digest('hex')).toBe(m.hash_sha256);
        hashes.add(m.hash_sha256!);
      }
      // The content keyspace: one hash record per distinct blob referred to, and exactly its pieces.
      let records = 0;
      let pieces = 0;
      for await (const [k] of db.engine.scan(keyspace('content'))) {
        if (k[0] === 0x68) records++;
        else if (k[0] === 0x62) pieces++;
        else throw new Error(`unexpected content key ${k.toString('hex')}`);
      }
      expect(records).toBe(hashes.size);
      let expected = 0;
      for (const m of new Map([...metas.values()].map((x) => [x.hash_sha256, x])).values())
        expected += Math.ceil((m.size_bytes as number) / (256 * 1024));
      expect(pieces).toBe(expected);
    } finally {
      await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
