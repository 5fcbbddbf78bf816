/**
 * The kernel's extension points as a module sees them: commit participants
 * (prepare → write → applied | aborted, every prepare before any write),
 * write transforms, documents parsed once per commit, and the module
 * lifecycle (dependency order, a failing open named, reverse close).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { ThemisError } from '../../src/errors.js';
import { Indexes } from '../../src/index/index.js';
import { openOrder, type Module } from '../../src/kernel/index.js';
import { createLogger } from '../../src/log.js';
import { MODULES } from '../../src/modules.js';
import { Query } from '../../src/query/index.js';
import type { CommitInfo, CommitParticipant, WriteTransform } from '../../src/txn/index.js';
import { codeOf } from '../helpers/errors.js';

const log = createLogger('silent');

/** A participant that records the phases it saw and the documents it prepared; with `refuses`, it refuses commits touching table `refuse`. */
function recorder(name: string, seen: string[], docs?: unknown[], refuses = false): CommitParticipant<string> {
  return {
    name,
    prepare: (c: CommitInfo) => {
      for (const ch of c.changes) docs?.push(ch.doc);
      if (refuses && c.changes.some((ch) => ch.table === 'refuse')) {
        seen.push(`${name}:refuse`);
        throw new ThemisError('CONFLICT', `${name} refuses`);
      }
      seen.push(`${name}:prepare`);
      return `plan-${name}-${c.changes[0]!.seq}`;
    },
    write: (c, plan) => seen.push(`${name}:write:${plan}`),
    applied: (c, plan) => seen.push(`${name}:applied:${plan}`),
    aborted: (c, plan) => seen.push(`${name}:aborted:${plan}`),
  };
}

const participantModule = (p: CommitParticipant): Module<CommitParticipant> => ({
  name: `test:${p.name}`,
  open: () => p,
  commit: (x) => x,
});

describe('commit participants', () => {
  let dir: string;
  let db: Database | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-protocol-'));
  });
  afterEach(async () => {
    await db?.close();
    db = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const open = async (modules: Module<unknown>[]) => {
    db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed' }, log, {}, modules);
    await db.open();
    return db;
  };

  it('every participant prepares before any writes; applied follows durability, with each plan handed back', async () => {
    const seen: string[] = [];
    const d = await open([Entities, participantModule(recorder('a', seen)), participantModule(recorder('b', seen))]);
    await d.get(Entities).putEntity('t:1', { v: 1 });
    expect(seen).toEqual(['a:prepare', 'b:prepare', 'a:write:plan-a-1', 'b:write:plan-b-1', 'a:applied:plan-a-1', 'b:applied:plan-b-1']);
  });

  it('a refusal by the LAST participant leaves nothing written by the others (no write, no sequence number used)', async () => {
    const seen: string[] = [];
    const d = await open([Entities, participantModule(recorder('a', seen)), participantModule(recorder('b', seen, undefined, true))]);
    expect(await codeOf(d.get(Entities).putEntity('refuse:1', { v: 1 }))).toBe('CONFLICT');
    // a prepared, b refused: nobody wrote, nothing applied or aborted (nothing was reserved)
    expect(seen).toEqual(['a:prepare', 'b:refuse']);
    expect(d.changeLog.lastSeq).toBe(0);
    await d.get(Entities).putEntity('t:1', { v: 1 });
    expect(d.changeLog.lastSeq).toBe(1);
  });

  it('a refusing participant that is not last: the others after it are not asked to write either, and the document is not stored', async () => {
    const seen: string[] = [];
    const refuser: CommitParticipant = {
      name: 'first',
      prepare: (c) => {
        if (c.changes.some((ch) => ch.table === 'refuse')) throw new ThemisError('VALIDATION_FAILED', 'no');
        return undefined;
      },
    };
    const d = await open([Entities, participantModule(refuser), participantModule(recorder('later', seen))]);
    expect(await codeOf(d.get(Entities).putEntity('refuse:1', { v: 1 }))).toBe('VALIDATION_FAILED');
    expect(seen.filter((s) => s.includes('write') || s.includes('applied'))).toEqual([]);
    expect(await codeOf(Promise.resolve().then(() => d.get(Entities).getEntity('refuse:1')))).toBe('NOT_FOUND');
  });

  it('a unique violation (the indexes participant) refuses the commit before any other participant writes', async () => {
    const seen: string[] = [];
    const d = await open([Entities, Indexes, participantModule(recorder('after', seen))]);
    await d.get(Indexes).create({ table: 'u', column: 'email', unique: true });
    await d.get(Entities).putEntity('u:1', { email: 'a@x' });
    seen.length = 0;
    expect(await codeOf(d.get(Entities).putEntity('u:2', { email: 'a@x' }))).toBe('CONFLICT');
    expect(seen).toEqual([]); // the indexes participant (before it) refused: nobody wrote, nothing was applied
    expect(d.changeLog.lastSeq).toBe(1);
  });

  it('a batch that fails in storage after write: every participant that wrote gets aborted with its plan, none gets applied', async () => {
    const seen: string[] = [];
    const d = await open([Entities, participantModule(recorder('a', seen)), participantModule(recorder('b', seen))]);
    const spy = vi
      .spyOn(d.engine as unknown as { _write: () => Promise<void> }, '_write')
      .mockRejectedValueOnce(new Error('IO error: injected'));
    expect(await codeOf(d.get(Entities).putEntity('t:1', { v: 1 }))).toBe('STORAGE_FAILURE');
    spy.mockRestore();
    expect(seen).toEqual(['a:prepare', 'b:prepare', 'a:write:plan-a-1', 'b:write:plan-b-1', 'a:aborted:plan-a-1', 'b:aborted:plan-b-1']);
  });

  it('a participant that throws in write (a bug): those that wrote are aborted, nothing is stored, and writes stop until a restart', async () => {
    const seen: string[] = [];
    const broken: CommitParticipant = {
      name: 'broken',
      write: (c) => {
        if (c.changes.some((ch) => ch.table === 'boom')) throw new Error('bug in write');
      },
    };
    const d = await open([Entities, participantModule(recorder('a', seen)), participantModule(broken)]);
    const t = d.transactions.begin('read_committed');
    d.transactions.put(t, { key: 'boom:1', table: 'boom', pk: '1' }, '{"v":1}');
    expect(await codeOf(d.transactions.commit(t))).toBe('INTERNAL');
    expect(seen).toEqual(['a:prepare', 'a:write:plan-a-1', 'a:aborted:plan-a-1']);
    // the transaction is finished (aborted), not left half-committed
    expect(t.state).toBe('aborted');
    expect(d.transactions.stats()).toMatchObject({ active_count: 0, total_aborted: 1 });
    expect(await codeOf(Promise.resolve().then(() => d.get(Entities).getEntity('boom:1')))).toBe('NOT_FOUND');
    expect(await codeOf(d.get(Entities).putEntity('t:1', { v: 1 }))).toBe('UNAVAILABLE');
    expect(d.health()).toMatchObject({ status: 'unhealthy', writes: 'disabled' });
  });

  it('each document is parsed once per commit: every participant sees the same parsed object (the one the request carried)', async () => {
    const seenA: unknown[] = [];
    const seenB: unknown[] = [];
    const d = await open([Entities, participantModule(recorder('a', [], seenA)), participantModule(recorder('b', [], seenB))]);
    const sent = { name: 'Alice', n: 1 };
    await d.get(Entities).putEntity('t:1', sent);
    expect(seenA).toHaveLength(1);
    expect(seenA[0]).toBe(seenB[0]);
    expect(seenA[0]).toBe(sent);
    // A blob sent as JSON text is parsed once by the entity store and that value is handed on.
    await d.get(Entities).putEntity('t:2', '{"x":2}');
    expect(seenA[1]).toBe(seenB[1]);
    expect(seenA[1]).toEqual({ x: 2 });
  });
});

describe('write transforms', () => {
  let dir: string;
  let db: Database | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-transform-'));
  });
  afterEach(async () => {
    await db?.close();
    db = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Masks `ssn` (as the PII module will pseudonymize) and refuses documents with `forbidden`. */
  const mask: WriteTransform = {
    name: 'mask',
    put: (k, value) => {
      const doc = (value.doc ?? JSON.parse(value.text)) as Record<string, unknown>;
      if ('forbidden' in doc) throw new ThemisError('VALIDATION_FAILED', 'forbidden field', { details: { field: 'forbidden' } });
      if (typeof doc.ssn !== 'string') return value;
      const next = { ...doc, ssn: `tok_${doc.ssn.length}` };
      return { text: JSON.stringify(next), doc: next };
    },
  };
  const Masking: Module<WriteTransform> = { name: 'masking', open: () => mask, transform: (t) => t };

  it('what a transform returns is what is stored, indexed and logged; a refusal stores nothing', async () => {
    db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed' }, log, {}, [...MODULES, Masking]);
    await db.open();
    await db.get(Indexes).create({ table: 'p', column: 'ssn' });
    await db.get(Entities).putEntity('p:1', { name: 'A', ssn: '123-45-6789' });
    expect(JSON.parse(db.get(Entities).getEntity('p:1').blob)).toEqual({ name: 'A', ssn: 'tok_11' });
    // the index holds the rewritten value, not the original
    expect((await db.get(Query).run({ table: 'p', predicates: [{ column: 'ssn', value: 'tok_11' }], return: 'keys' })).keys).toEqual([
      'p:1',
    ]);
    expect((await db.get(Query).run({ table: 'p', predicates: [{ column: 'ssn', value: '123-45-6789' }], return: 'keys' })).keys).toEqual(
      [],
    );
    // and so does the change log
    const entries = (await db.changeLog.read({ fromSeq: 0, limit: 10 })).entries;
    expect(entries.map((e) => e.value)).toEqual(['{"name":"A","ssn":"tok_11"}']);
    expect(JSON.stringify(entries)).not.toContain('123-45-6789');
    // a refusal inside an explicit transaction: the write is not buffered, the transaction goes on
    const t = db.transactions.begin('read_committed');
    expect(() => db!.transactions.put(t, { key: 'p:2', table: 'p', pk: '2' }, { text: '{"forbidden":1}' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    db.transactions.put(t, { key: 'p:3', table: 'p', pk: '3' }, '{"ssn":"x"}');
    await db.transactions.commit(t);
    expect(() => db!.get(Entities).getEntity('p:2')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(JSON.parse(db.get(Entities).getEntity('p:3').blob)).toEqual({ ssn: 'tok_1' });
  });
});

describe('modules', () => {
  const mod = (name: string, after: Module<unknown>[] = [], events: string[] = [], fail = false): Module<string> => ({
    name,
    after,
    open: () => {
      if (fail) throw new Error('cannot');
      events.push(`open ${name}`);
      return name;
    },
    close: () => void events.push(`close ${name}`),
  });

  it('open in dependency order whatever the list order; a cycle or a missing dependency is a TypeError', () => {
    const a = mod('a');
    const b = mod('b', [a]);
    const c = mod('c', [b, a]);
    expect(openOrder([c, b, a]).map((m) => m.name)).toEqual(['a', 'b', 'c']);
    expect(() => openOrder([b])).toThrow(/needs module a/);
    const xAfter: Module<unknown>[] = [];
    const x: Module<string> = { name: 'x', open: () => 'x', after: xAfter };
    const y: Module<string> = { name: 'y', open: () => 'y', after: [x] };
    xAfter.push(y);
    expect(() => openOrder([x, y])).toThrow(/cycle/);
  });

  it('the real module list opens (every dependency listed), and closes in reverse order', async () => {
    expect(openOrder(MODULES)).toHaveLength(MODULES.length);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-modules-'));
    const events: string[] = [];
    const a = mod('a', [], events);
    const b = mod('b', [a], events);
    const db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed' }, log, {}, [b, a]);
    try {
      await db.open();
      expect(db.get(b)).toBe('b');
      expect(() => db.get(Entities)).toThrow(TypeError); // not part of this database
      await db.close();
      expect(events).toEqual(['open a', 'open b', 'close b', 'close a']);
      expect(await codeOf(Promise.resolve().then(() => db.get(a)))).toBe('UNAVAILABLE');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a module that fails to open fails start-up, naming the module', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-modules-'));
    const db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed' }, log, {}, [mod('broken', [], [], true)]);
    try {
      await expect(db.open()).rejects.toThrow('module broken failed to open: cannot');
      expect(db.state).toBe('failed');
    } finally {
      await db.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
