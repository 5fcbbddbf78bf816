import { describe, expect, it } from 'vitest';
import { coalesceReplay, type NetChange, type ReplayEntry } from '../../src/index/replay.js';

async function* from(entries: ReplayEntry[]): AsyncGenerator<ReplayEntry> {
  yield* entries;
}

async function collect(entries: ReplayEntry[], maxKeys?: number): Promise<{ windows: NetChange[][]; read: number }> {
  const counter = { entries: 0 };
  const windows: NetChange[][] = [];
  for await (const w of coalesceReplay(from(entries), counter, maxKeys)) windows.push(w);
  return { windows, read: counter.entries };
}

const e = (key: string, prev: unknown, value: unknown): ReplayEntry => ({
  key,
  prev: prev === null ? null : JSON.stringify(prev),
  value: value === null ? null : JSON.stringify(value),
});

describe('coalesceReplay', () => {
  it('applies each key once, from its state at the checkpoint to its last value; counts every entry read', async () => {
    const r = await collect([
      e('t:1', null, { v: 1 }),
      e('t:2', { v: 0 }, { v: 5 }),
      e('t:1', { v: 1 }, { v: 2 }),
      e('t:1', { v: 2 }, { v: 3 }),
      e('t:2', { v: 5 }, null),
    ]);
    expect(r.read).toBe(5);
    expect(r.windows).toEqual([
      [
        { key: 't:1', prev: undefined, next: { v: 3 } },
        { key: 't:2', prev: { v: 0 }, next: undefined },
      ],
    ]);
  });

  it('drops keys whose net change is none (created then deleted, changed and changed back)', async () => {
    const r = await collect([
      e('t:1', null, { v: 1 }),
      e('t:1', { v: 1 }, null),
      e('t:2', { v: 0 }, { v: 9 }),
      e('t:2', { v: 9 }, { v: 0 }),
      e('t:3', null, { v: 1 }),
    ]);
    expect(r.windows).toEqual([[{ key: 't:3', prev: undefined, next: { v: 1 } }]]);
  });

  it('windows of at most maxKeys distinct keys, in log order (a key in two windows is applied twice, in order)', async () => {
    const r = await collect([e('a', null, 1), e('b', null, 1), e('a', 1, 2), e('c', null, 1), e('a', 2, 3)], 2);
    expect(r.windows).toEqual([
      [
        { key: 'a', prev: undefined, next: 2 },
        { key: 'b', prev: undefined, next: 1 },
      ],
      [
        { key: 'c', prev: undefined, next: 1 },
        { key: 'a', prev: 2, next: 3 },
      ],
    ]);
    expect(r.read).toBe(5);
  });
});
