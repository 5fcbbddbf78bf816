import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DefinitionRegistry, type Definition, type DefinitionLayout } from '../../src/index/definitions.js';
import { createLogger, type Logger } from '../../src/log.js';
import { Engine, WriteBatch, keyspace, seqCodec } from '../../src/storage/index.js';
import { codeOf } from '../helpers/errors.js';

// The stored layouts the registry must read and write unchanged (existing data directories open without a migration).
const metaKs = keyspace('indexMeta');
const INDEX_LAYOUT: DefinitionLayout = { keyspace: metaKs, key: (id) => seqCodec.encode(id), counterKey: seqCodec.encode(0) };
const vecKs = keyspace('vector');
const vecKey = (id: number) => Buffer.concat([Buffer.of(0x44), Buffer.of(0, 0, 0, id)]);
const VECTOR_LAYOUT: DefinitionLayout = {
  keyspace: vecKs,
  key: vecKey,
  counterKey: Buffer.of(0x4e),
  range: { gte: Buffer.of(0x44), lt: Buffer.of(0x45) },
};

interface Def extends Definition {
  name: string;
}
interface Live {
  readonly def: Def;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
const def = (id: number, state: Def['state'], table = 't'): Def => ({ id, table, state, name: `ix${id}` });

describe('DefinitionRegistry', () => {
  let dir: string;
  let engine: Engine;
  let cleared: number[];
  let errors: { msg: string; fields?: Record<string, unknown> }[];
  let log: Logger;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-defs-'));
    engine = await Engine.open(dir, { sync: false });
    cleared = [];
    errors = [];
    log = { ...createLogger('silent'), error: (msg, fields) => void errors.push({ msg, ...(fields ? { fields } : {}) }) };
  });
  afterEach(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function registry(layout = INDEX_LAYOUT, onClear?: (d: Def, last: WriteBatch) => Promise<void> | void): DefinitionRegistry<Def, Live> {
    return new DefinitionRegistry<Def, Live>(engine, log, layout, {
      noun: 'test index',
      name: (d) => d.name,
      clear: async (d, last) => {
        cleared.push(d.id);
        await onClear?.(d, last);
      },
    });
  }
  const stored = (id: number, layout = INDEX_LAYOUT) => engine.getSync(layout.keyspace, layout.key(id))?.toString('utf8');

  it('reads the secondary layout (indexMeta: id -> JSON, key 0 -> id counter) by state; ids continue past the counter and every id', async () => {
    const b = new WriteBatch().put(metaKs, seqCodec.encode(0), json({ next_id: 4 }));
    for (const d of [def(2, 'ready'), def(3, 'building'), def(5, 'dropping'), def(7, 'ready', 'u')])
      b.put(metaKs, seqCodec.encode(d.id), json(d));
    await engine.commit(b);
    const r = registry();
    const loaded = await r.load();
    expect(loaded.ready.map((d) => d.id)).toEqual([2, 7]);
    expect(loaded.building.map((d) => d.id)).toEqual([3]);
    expect(loaded.dropping.map((d) => d.id)).toEqual([5]);
    expect(r.newId()).toBe(8);

    const other = registry();
    await engine.commit(new WriteBatch().put(metaKs, seqCodec.encode(0), json({ next_id: 20 })));
    await other.load();
    expect(other.newId()).toBe(20);
  });

  it('writes a definition and the counter as the layout has them (same bytes)', async () => {
    const r = registry();
    await r.load();
    const d = { ...def(r.newId(), 'building'), created_at: '2024-01-01T00:00:00.000Z' };
    await r.save(d);
    expect(engine.getSync(metaKs, seqCodec.encode(1))!.equals(json(d))).toBe(true);
    expect(engine.getSync(metaKs, seqCodec.encode(0))!.toString('utf8')).toBe('{"next_id":2}');
    await engine.commit(r.put(new WriteBatch(), { ...d, name: 'renamed' }));
    expect(JSON.parse(stored(1)!)).toMatchObject({ name: 'renamed', state: 'building' });
    expect(engine.getSync(metaKs, seqCodec.encode(0))!.toString('utf8')).toBe('{"next_id":2}');
  });

  it('reads only the definition range of a shared keyspace (vector: D id -> JSON, N -> counter)', async () => {
    await engine.commit(
      new WriteBatch()
        .put(vecKs, Buffer.of(0x4e), json({ next_id: 3 }))
        .put(vecKs, vecKey(1), json(def(1, 'ready')))
        .put(vecKs, Buffer.concat([Buffer.of(0x43), Buffer.of(0, 0, 0, 1)]), Buffer.of(0, 0, 0, 9)),
    );
    const r = registry(VECTOR_LAYOUT);
    const loaded = await r.load();
    expect(loaded).toEqual({ ready: [def(1, 'ready')], building: [], dropping: [] });
    expect(r.newId()).toBe(3);
    await r.save(def(3, 'ready'));
    expect(engine.getSync(vecKs, Buffer.of(0x4e))!.toString('utf8')).toBe('{"next_id":4}');
    expect(JSON.parse(stored(3, VECTOR_LAYOUT)!)).toEqual(def(3, 'ready'));
  });

  it('build: registered before it is stored, ready after the backfill; a drop during the backfill fails it with CONFLICT and removes it', async () => {
    const r = registry();
    await r.load();
    const live: Live = { def: def(r.newId(), 'building') };
    await r.build(live, async () => {
      expect(r.get(live.def.id)).toBe(live);
      expect(r.onTable('t')).toEqual([live]);
      expect(JSON.parse(stored(live.def.id)!).state).toBe('building');
    });
    expect(live.def.state).toBe('ready');
    await r.save(live.def);
    expect(JSON.parse(stored(live.def.id)!).state).toBe('ready');

    const doomed: Live = { def: def(r.newId(), 'building') };
    const code = await codeOf(r.build(doomed, () => r.discard(doomed.def)));
    expect(code).toBe('CONFLICT');
    expect(r.get(doomed.def.id)).toBeUndefined();
    expect(stored(doomed.def.id)).toBeUndefined();
    expect(r.onTable('t')).toEqual([live]);
  });

  it('build: a failing verify (run once ready) discards the index', async () => {
    const r = registry();
    await r.load();
    const live: Live = { def: def(r.newId(), 'building') };
    let stateAtVerify: string | undefined;
    const failure = new Error('duplicate');
    await expect(
      r.build(
        live,
        async () => undefined,
        async () => {
          stateAtVerify = live.def.state;
          throw failure;
        },
      ),
    ).rejects.toBe(failure);
    expect(stateAtVerify).toBe('ready');
    expect(r.get(live.def.id)).toBeUndefined();
    expect(stored(live.def.id)).toBeUndefined();
    expect(cleared).toEqual([live.def.id]);
  });

  it('discard: unregistered at once, stored as dropping while its data is removed, then gone (with what clear added to the last batch)', async () => {
    const extra = Buffer.from('leftover');
    const r = registry(INDEX_LAYOUT, (d, last) => {
      expect(r.get(d.id)).toBeUndefined();
      expect(r.empty).toBe(true);
      expect(JSON.parse(stored(d.id)!).state).toBe('dropping');
      last.del(metaKs, extra);
    });
    await r.load();
    const live = r.register({ def: def(r.newId(), 'ready') });
    await r.save(live.def);
    await engine.commit(new WriteBatch().put(metaKs, extra, json('x')));
    await r.discard(live.def);
    expect(cleared).toEqual([live.def.id]);
    expect(stored(live.def.id)).toBeUndefined();
    expect(engine.getSync(metaKs, extra)).toBeUndefined();
    expect(live.def.state).toBe('ready'); // the live object is left as it was
  });

  it('resume: interrupted drops finish, interrupted builds are discarded and rebuilt; a failing rebuild is logged and the index is gone', async () => {
    const b = new WriteBatch();
    for (const d of [def(1, 'dropping'), def(2, 'building'), def(3, 'building')]) b.put(metaKs, seqCodec.encode(d.id), json(d));
    await engine.commit(b);
    const r = registry();
    const loaded = await r.load();
    const rebuilt: number[] = [];
    await r.resume(loaded, async (d) => {
      rebuilt.push(d.id);
      expect(stored(d.id)).toBeUndefined(); // discarded first
      if (d.id === 3) throw new Error('bad data');
      const live: Live = { def: def(r.newId(), 'building') };
      await r.build(live, async () => undefined);
      await r.save(live.def);
    });
    expect(cleared).toEqual([1, 2, 3]);
    expect(rebuilt).toEqual([2, 3]);
    expect([1, 2, 3].map((id) => stored(id))).toEqual([undefined, undefined, undefined]);
    expect([...r.all()].map((l) => l.def)).toEqual([def(4, 'ready')]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.fields).toMatchObject({ index: 'ix3' });
  });
});
