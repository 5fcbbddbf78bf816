import fs from 'node:fs';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INTERNAL } from '../../src/access.js';
import type { Database } from '../../src/db.js';
import { DocumentStore } from '../../src/documents/index.js';
import { ThemisError } from '../../src/errors.js';
import { idTimeMs, interactionKey, Llm, LLM_TABLE, timeBound } from '../../src/llm/index.js';
import { openDb, tempDir, write } from '../helpers/inproc.js';

/**
 * The LLM interaction store against its storage (issue 19): the reverse and
 * bounded scans of DocumentStore it pages with, the time bounds of UUID v7
 * ids it filters and expires by, retention's deletes of the oldest
 * interactions before a cutoff (no clock needed: the cutoff is an argument),
 * and immutability against other writers.
 */

const msg = (text: string) => ({ model: 'm', messages: [{ role: 'user' as const, content: text }] });

describe('LLM interaction storage', () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = tempDir('themis-llm-');
    db = await openDb(dir);
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('DocumentStore.scan: reverse order, after/before bounds, any chunk size, one table only', async () => {
    for (const k of ['a', 'b', 'c', 'd', 'e']) await write(db, { key: `t:${k}`, doc: { k } });
    await write(db, { key: 's:z', doc: {} });
    await write(db, { key: 'u:a', doc: {} });
    const docs = new DocumentStore(db.engine);
    const keys = async (r: Parameters<DocumentStore['scan']>[0]) => {
      const out: string[] = [];
      for await (const rows of docs.scan(r)) out.push(...rows.map(([k]) => k));
      return out;
    };
    const k = (pk: string) => ({ key: `t:${pk}`, table: 't', pk });
    for (const size of [1, 2, 1024]) {
      expect(await keys({ table: 't', reverse: true, size })).toEqual(['t:e', 't:d', 't:c', 't:b', 't:a']);
      expect(await keys({ table: 't', after: k('b'), before: k('e'), reverse: true, size })).toEqual(['t:d', 't:c']);
      expect(await keys({ table: 't', after: k('b'), before: k('e'), size })).toEqual(['t:c', 't:d']);
      expect(await keys({ table: 't', before: k('c'), reverse: true, size })).toEqual(['t:b', 't:a']);
      expect(await keys({ table: 't', after: k('c'), reverse: true, size })).toEqual(['t:e', 't:d']);
      expect(await keys({ table: 't', after: k('d'), before: k('b'), size })).toEqual([]);
    }
  });

  it('time bounds: an id of ms t sorts at or after timeBound(t) and before timeBound(t + 1)', () => {
    for (const ms of [0, 1, 1_700_000_000_123, Date.now(), 2 ** 48 - 2]) {
      const id = uuidv7({ msecs: ms });
      expect(idTimeMs(id)).toBe(ms);
      const key = interactionKey(id).key;
      expect(key >= timeBound(ms).key).toBe(true);
      expect(key < timeBound(ms + 1).key).toBe(true);
      if (ms > 0) expect(key >= timeBound(ms - 1).key && key > timeBound(ms).key).toBe(true);
    }
    expect(timeBound(-5).key).toBe(timeBound(0).key);
  });

  it("retention's target: counts, oldest time and deletes of the interactions before a cutoff, oldest first, at most max per call", async () => {
    const llm = db.get(Llm);
    const created: { id: string; created_at: string }[] = [];
    for (let i = 0; i < 6; i++) {
      created.push(await llm.create(msg(`n${i}`), INTERNAL));
      await new Promise((r) => setTimeout(r, 3));
    }
    const t = llm.retentionTarget();
    const cut = Date.parse(created[4]!.created_at); // interactions 0..3 are older
    expect(await t.count()).toBe(6);
    expect(await t.expiredCount(cut)).toBe(4);
    expect(await t.oldestMs()).toBe(Date.parse(created[0]!.created_at));
    expect(await t.deleteExpired!(cut, 3)).toBe(3);
    expect(await t.deleteExpired!(cut, 3)).toBe(1);
    expect(await t.deleteExpired!(cut, 3)).toBe(0);
    const left = await llm.list({ limit: 10, order: 'asc' }, INTERNAL.access);
    expect(left.items.map((x) => x.id)).toEqual([created[4]!.id, created[5]!.id]);
    expect(await t.oldestMs()).toBe(cut);
  });

  it('derives the indexed content from the messages, and refuses puts from other writers while allowing their deletes', async () => {
    const llm = db.get(Llm);
    const r = await llm.create(
      {
        model: 'm',
        messages: [
          { role: 'user', content: 'one' },
          { role: 'assistant', content: 'two' },
        ],
      },
      INTERNAL,
    );
    const stored = JSON.parse(new DocumentStore(db.engine).read(interactionKey(r.id))!) as Record<string, unknown>;
    expect(stored.content).toBe('one\ntwo');
    expect(llm.read(r.id, INTERNAL.access)).not.toHaveProperty('content');
    const key = `${LLM_TABLE}:${r.id}`;
    const refused = await write(db, { key, doc: { model: 'forged' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ThemisError);
    expect((refused as ThemisError).code).toBe('FORBIDDEN');
    const fresh = await write(db, { key: `${LLM_TABLE}:${uuidv7()}`, doc: { model: 'forged' } }).catch((e: unknown) => e);
    expect((fresh as ThemisError).code).toBe('FORBIDDEN');
    expect(llm.read(r.id, INTERNAL.access).model).toBe('m');
    await write(db, { key, doc: null });
    expect(() => llm.read(r.id, INTERNAL.access)).toThrow(/does not exist/);
  });
});
