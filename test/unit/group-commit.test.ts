import { describe, expect, it } from 'vitest';
import { GroupCommitter, type BatchOp } from '../../src/storage/index.js';

const op = (k: string): BatchOp => ({ type: 'put', key: Buffer.from(k), value: Buffer.from('v') });

/** A writer whose writes complete only when the test says so. */
function controlledWriter() {
  const calls: { ops: BatchOp[]; sync: boolean; finish: (err?: Error) => void }[] = [];
  const writer = (ops: BatchOp[], sync: boolean) =>
    new Promise<void>((resolve, reject) => calls.push({ ops, sync, finish: (err) => (err ? reject(err) : resolve()) }));
  return { calls, writer };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommitter', () => {
  for (const sync of [true, false]) {
    it(`writes a lone commit at once, with the configured sync flag (${sync}), also for a group`, async () => {
      const { calls, writer } = controlledWriter();
      const gc = new GroupCommitter(writer, { sync });
      const p = gc.commit([op('a')]);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.sync).toBe(sync);
      const q = [gc.commit([op('b')]), gc.commit([op('c')])];
      calls[0]!.finish();
      await p;
      await tick();
      expect(calls).toHaveLength(2);
      expect(calls[1]!.sync).toBe(sync); // durability mode is not a property of the first write only
      calls[1]!.finish();
      await Promise.all(q);
    });
  }

  it('coalesces commits that arrive during a write into one batch, in arrival order', async () => {
    const { calls, writer } = controlledWriter();
    const gc = new GroupCommitter(writer, { sync: true });
    const first = gc.commit([op('a')]);
    const rest = [gc.commit([op('b')]), gc.commit([op('c'), op('d')]), gc.commit([op('e')])];
    expect(calls).toHaveLength(1); // b..e wait for the in-flight write
    calls[0]!.finish();
    await first;
    await tick();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.ops.map((o) => o.key.toString())).toEqual(['b', 'c', 'd', 'e']);
    calls[1]!.finish();
    await Promise.all(rest);
    expect(gc.stats).toMatchObject({ commits: 4, groups: 2, ops: 5, maxGroupCommits: 3 });
  });

  it('acknowledges a commit only after the write carrying it completed', async () => {
    const { calls, writer } = controlledWriter();
    const gc = new GroupCommitter(writer, { sync: true });
    let acked = false;
    void gc.commit([op('a')]).then(() => (acked = true));
    await tick();
    await tick();
    expect(acked).toBe(false);
    calls[0]!.finish();
    await tick();
    expect(acked).toBe(true);
  });

  // Changed in issue 13: the committer used to carry on with the next group after a failed one. Callers hand out
  // sequence numbers in queue order, so a later group landing after a failed one left a gap in the change log (and
  // stalled the in-memory indexes waiting for the failed commit); now a failure fails the queue and every later commit.
  it('rejects every commit of a failed group, every commit queued behind it, and every later commit (no write lands after a failure)', async () => {
    const { calls, writer } = controlledWriter();
    const gc = new GroupCommitter(writer, { sync: false });
    const a = gc.commit([op('a')]);
    const b = gc.commit([op('b')]);
    const c = gc.commit([op('c')]);
    calls[0]!.finish();
    await a;
    await tick();
    const d = gc.commit([op('d')]); // queued while b+c are being written
    calls[1]!.finish(new Error('disk full'));
    await expect(b).rejects.toThrow('disk full');
    await expect(c).rejects.toThrow('disk full');
    await expect(d).rejects.toThrow('disk full');
    await expect(gc.commit([op('e')])).rejects.toThrow('disk full');
    await tick();
    expect(calls).toHaveLength(2); // d and e were never written
    expect(gc.stats.failedGroups).toBe(1);
    expect(gc.queued).toBe(0);
  });

  it('bounds the operations per group but never splits a commit', async () => {
    const { calls, writer } = controlledWriter();
    const gc = new GroupCommitter(writer, { sync: true, maxGroupOps: 3 });
    const first = gc.commit([op('x')]);
    const ps = [gc.commit([op('a'), op('b')]), gc.commit([op('c'), op('d')]), gc.commit([op('e'), op('f'), op('g'), op('h')])];
    calls[0]!.finish();
    await first;
    for (let i = 1; i <= 3; i++) {
      await tick();
      expect(calls).toHaveLength(i + 1);
      calls[i]!.finish();
    }
    await Promise.all(ps);
    expect(calls.slice(1).map((c) => c.ops.length)).toEqual([2, 2, 4]);
  });

  it('idle() waits for queued commits', async () => {
    const { calls, writer } = controlledWriter();
    const gc = new GroupCommitter(writer, { sync: true });
    void gc.commit([op('a')]);
    void gc.commit([op('b')]);
    let idle = false;
    const w = gc.idle().then(() => (idle = true));
    calls[0]!.finish();
    await tick();
    expect(idle).toBe(false);
    calls[1]!.finish();
    await w;
    expect(idle).toBe(true);
  });

  it('calls the group hook once per group with its tag counts, in group order, and writes what it returns in that batch', async () => {
    const { calls, writer } = controlledWriter();
    const seen: [string, number][][] = [];
    let n = 0;
    const gc = new GroupCommitter(writer, {
      sync: true,
      beforeGroup: (tags) => {
        seen.push([...tags]);
        return [op(`hook${++n}`)];
      },
    });
    const first = gc.commit([op('a')], ['audit']);
    const rest = [gc.commit([op('b')]), gc.commit([op('c')], ['audit', 'other']), gc.commit([], ['audit'])];
    expect(calls[0]!.ops.map((o) => o.key.toString())).toEqual(['a', 'hook1']);
    calls[0]!.finish();
    await first;
    await tick();
    expect(calls[1]!.ops.map((o) => o.key.toString())).toEqual(['b', 'c', 'hook2']);
    calls[1]!.finish();
    await Promise.all(rest);
    expect(seen).toEqual([
      [['audit', 1]],
      [
        ['audit', 2],
        ['other', 1],
      ],
    ]);
    // A group without tags does not call the hook.
    const untagged = gc.commit([op('d')]);
    await tick();
    expect(calls[2]!.ops.map((o) => o.key.toString())).toEqual(['d']);
    calls[2]!.finish();
    await untagged;
    expect(seen).toHaveLength(2);
  });

  it('a group hook that throws fails its group like a failed write', async () => {
    const { calls, writer } = controlledWriter();
    const gc = new GroupCommitter(writer, {
      sync: true,
      beforeGroup: () => {
        throw new Error('hook broke');
      },
    });
    await expect(gc.commit([op('a')], ['audit'])).rejects.toThrow('hook broke');
    expect(calls).toHaveLength(0);
    await expect(gc.commit([op('b')])).rejects.toThrow('hook broke');
  });
});
