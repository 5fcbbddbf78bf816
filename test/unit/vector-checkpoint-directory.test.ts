/**
 * Regression: hnswlib fails silently when the directory it writes its graph
 * to is missing (deleted by an operator, say); the checkpoint directory is
 * recreated by the next checkpoint, which the next start loads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Vectors } from '../../src/index/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';

describe('vector checkpoints', () => {
  it('a deleted checkpoint directory is recreated by the next checkpoint', async () => {
    const dir = tempDir('themis-vec-');
    let db = await openDb(dir);
    try {
      await db.get(Vectors).batchInsert({
        items: [
          { pk: 'a', vector: [1, 2, 3] },
          { pk: 'b', vector: [3, 2, 1] },
        ],
      });
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
