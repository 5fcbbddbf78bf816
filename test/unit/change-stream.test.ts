import { describe, expect, it } from 'vitest';
import type { RawChangeEntry } from '../../src/cdc/index.js';
import { ChangeStream, type ChangeSink } from '../../src/changefeed/index.js';
import { Change, type CommitInfo } from '../../src/txn/index.js';

/** An in-memory change log with the three members ChangeStream uses. */
class FakeLog {
  entries: RawChangeEntry[] = [];
  subs = new Set<(i: CommitInfo) => void>();
  reads = 0;
  get lastSeq() {
    return this.entries.length === 0 ? 0 : this.entries[this.entries.length - 1]!.seq;
  }
  async read(o: { fromSeq: number; limit: number; keyPrefix?: string }) {
    this.reads++;
    await new Promise((r) => setImmediate(r));
    const after = this.entries.filter((e) => e.seq > o.fromSeq);
    const out: RawChangeEntry[] = [];
    let next = o.fromSeq;
    for (const e of after) {
      next = e.seq;
      if (e.key.startsWith(o.keyPrefix ?? '')) out.push(e);
      if (out.length >= o.limit) break;
    }
    return { entries: out, nextSeq: next };
  }
  subscribe(fn: (i: CommitInfo) => void) {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }
  commit(keys: string[]) {
    const changes = keys.map((key, i) => new Change(this.lastSeq + 1 + i, key, key.split(':')[0]!, key.split(':')[1]!, 'put', '{}', null));
    for (const c of changes)
      this.entries.push({ seq: c.seq, ts: 't', op: c.op, key: c.key, table: c.table, value: c.value, prev: c.prev, txn_id: 'x' });
    for (const s of this.subs) s({ txnId: 'x', ts: 't', changes });
  }
}

class FakeSink implements ChangeSink {
  got: number[] = [];
  failed: string | undefined;
  ended = false;
  accept = Infinity; // how many more sends succeed before backpressure
  send(e: RawChangeEntry) {
    this.got.push(e.seq);
    return --this.accept >= 0;
  }
  fail(reason: string) {
    this.failed = reason;
    this.ended = true;
  }
  end() {
    this.ended = true;
  }
  get closed() {
    return this.ended;
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('ChangeStream', () => {
  it('catches up from storage, then delivers live commits without reading storage', async () => {
    const log = new FakeLog();
    log.commit(['a:1', 'a:2', 'a:3']);
    const sink = new FakeSink();
    const s = new ChangeStream(log, sink, { fromSeq: 1, keyPrefix: '', keepAlive: true });
    s.start();
    await settle();
    expect(sink.got).toEqual([2, 3]);
    const readsBefore = log.reads;
    log.commit(['a:4', 'a:5']);
    expect(sink.got).toEqual([2, 3, 4, 5]); // synchronously, in the commit notification
    expect(log.reads).toBe(readsBefore);
    s.stop();
    log.commit(['a:6']);
    expect(sink.got).toEqual([2, 3, 4, 5]);
  });

  it('filters by key prefix and still advances its position', async () => {
    const log = new FakeLog();
    log.commit(['a:1', 'b:1', 'a:2']);
    const sink = new FakeSink();
    const s = new ChangeStream(log, sink, { fromSeq: 0, keyPrefix: 'b:', keepAlive: true });
    s.start();
    await settle();
    log.commit(['a:3', 'b:2']);
    expect(sink.got).toEqual([2, 5]);
    expect(s.position).toBe(5);
  });

  it('keep_alive=false ends once caught up', async () => {
    const log = new FakeLog();
    log.commit(['a:1', 'a:2']);
    const sink = new FakeSink();
    new ChangeStream(log, sink, { fromSeq: 0, keyPrefix: '', keepAlive: false }).start();
    await settle();
    expect(sink.got).toEqual([1, 2]);
    expect(sink.ended).toBe(true);
  });

  it('pauses on backpressure (reads nothing more), resumes where it stopped, loses nothing', async () => {
    const log = new FakeLog();
    log.commit(Array.from({ length: 1000 }, (_, i) => `a:${i}`));
    const sink = new FakeSink();
    sink.accept = 10;
    const s = new ChangeStream(log, sink, { fromSeq: 0, keyPrefix: '', keepAlive: true, batchSize: 50, maxBlockedMs: 60_000 });
    s.start();
    await settle();
    expect(sink.got).toHaveLength(11); // the 11th was buffered by the transport, then it paused
    const reads = log.reads;
    log.commit(['a:x']); // a live commit while blocked is not sent
    await settle();
    expect(sink.got).toHaveLength(11);
    expect(log.reads).toBe(reads);
    sink.accept = Infinity;
    s.resume();
    await settle();
    expect(sink.got).toEqual(Array.from({ length: 1001 }, (_, i) => i + 1));
    s.stop();
  });

  it('closes a client blocked too long with slow_consumer', async () => {
    const log = new FakeLog();
    log.commit(['a:1', 'a:2', 'a:3']);
    const sink = new FakeSink();
    sink.accept = 0;
    new ChangeStream(log, sink, { fromSeq: 0, keyPrefix: '', keepAlive: true, maxBlockedMs: 50 }).start();
    await settle();
    expect(sink.got).toEqual([1]);
    await new Promise((r) => setTimeout(r, 120));
    expect(sink.failed).toBe('slow_consumer');
  });

  it('closes a blocked client that falls too far behind with slow_consumer', async () => {
    const log = new FakeLog();
    const sink = new FakeSink();
    sink.accept = 0;
    const s = new ChangeStream(log, sink, { fromSeq: 0, keyPrefix: '', keepAlive: true, maxLagEntries: 5, maxBlockedMs: 60_000 });
    s.start();
    await settle();
    log.commit(['a:1']); // blocks
    log.commit(['a:2', 'a:3', 'a:4', 'a:5', 'a:6', 'a:7', 'a:8']);
    expect(sink.failed).toBe('slow_consumer');
    s.stop();
  });
});
