import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DocumentStore } from '../../src/documents/index.js';
import { Entities } from '../../src/entities/module.js';
import { createLogger } from '../../src/log.js';
import { DAY_MS, Retention, RetentionService, timestampMs } from '../../src/retention/index.js';
import type { CommitInfo } from '../../src/txn/index.js';
import { tempDir } from '../helpers/server.js';
import { openStack, type Stack } from '../helpers/stack.js';

/**
 * The retention service in process: cleanups delete in commits of at most
 * the batch size, yield to the event loop between them, keep documents
 * without a valid timestamp, and call a registered target until it is done.
 */
describe('retention cleanup', () => {
  let stack: Stack | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stack?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    stack = undefined;
  });

  /** The stack with entities and a counter of the commits that delete, each with its number of deletes. */
  async function open() {
    dir = tempDir('themis-retention-');
    const deletesPerCommit: number[] = [];
    stack = await openStack(dir, {
      modules: [Entities],
      participants: [
        {
          name: 'count-deletes',
          prepare: (c: CommitInfo) => {
            const n = c.changes.filter((x) => x.op === 'delete').length;
            if (n > 0) deletesPerCommit.push(n);
            return undefined;
          },
        },
      ],
    });
    const entities = stack.db.get(Entities);
    const service = (batchSize: number) =>
      RetentionService.open(stack!.engine, new DocumentStore(stack!.engine), entities, createLogger('silent'), {
        intervalMs: undefined,
        batchSize,
      });
    return { entities, deletesPerCommit, service };
  }

  it('deletes exactly the expired documents of a table, in commits of at most the batch size, yielding between them', async () => {
    const { entities, deletesPerCommit, service } = await open();
    const old = Date.now() - 40 * DAY_MS;
    const ops = [];
    for (let i = 0; i < 1234; i++)
      ops.push({ op: 'put' as const, key: `logs:old${i}`, blob: { meta: { at: i % 2 ? new Date(old).toISOString() : old - i } } });
    for (let i = 0; i < 50; i++) ops.push({ op: 'put' as const, key: `logs:new${i}`, blob: { meta: { at: Date.now() } } });
    ops.push({ op: 'put' as const, key: 'logs:none', blob: { other: 1 } });
    ops.push({ op: 'put' as const, key: 'logs:bad', blob: { meta: { at: 'last tuesday' } } });
    ops.push({ op: 'put' as const, key: 'other:old', blob: { meta: { at: old } } });
    await entities.applyBatch(ops);
    const s = await service(500);
    await s.put('logs', { retention_days: 30, timestamp_field: 'meta.at', auto_deletion: false });
    // Other work gets the event loop while the cleanup runs: ticks counted during it.
    let ticks = 0;
    let spinning = true;
    const spin = () => {
      if (!spinning) return;
      ticks++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const r = await s.run('logs');
    spinning = false;
    expect(r).toMatchObject({ collection: 'logs', deleted: 1234, without_timestamp: 2, batches: 3 });
    expect(deletesPerCommit).toEqual([500, 500, 234]);
    expect(ticks).toBeGreaterThanOrEqual(3);
    const left: string[] = [];
    for await (const rows of new DocumentStore(stack!.engine).scan({ table: 'logs' })) for (const [k] of rows) left.push(k);
    expect(left.filter((k) => k.startsWith('logs:old'))).toEqual([]);
    expect(left.length).toBe(52);
    expect(entities.read({ key: 'other:old', table: 'other', pk: 'old' })).toBeDefined();
    // The run is recorded, and persists.
    expect(s.list().find((p) => p.collection === 'logs')).toMatchObject({ records_deleted: 1234, last_cleanup_deleted: 1234 });
    const again = await service(500);
    expect(again.list().find((p) => p.collection === 'logs')).toMatchObject({ records_deleted: 1234, retention_days: 30 });
    expect(await again.deletedBetween(Date.now() - 60_000, Date.now() + 1000)).toBe(1234);
    expect(await again.deletedBetween(0, Date.now() - 60_000)).toBe(0);
  });

  it('a registered target is asked to delete until it returns fewer than the batch, and its default policy is in force', async () => {
    const { service } = await open();
    const s = await service(10);
    let left = 25;
    const calls: [number, number][] = [];
    s.registerTarget({
      name: 'audit_logs',
      defaultDays: 365,
      count: () => left,
      expiredCount: () => left,
      oldestMs: () => undefined,
      async deleteExpired(cutoff, max) {
        calls.push([cutoff, max]);
        const n = Math.min(left, max);
        left -= n;
        return n;
      },
    });
    expect(s.list().find((p) => p.collection === 'audit_logs')).toMatchObject({
      source: 'default',
      retention_days: 365,
      auto_deletion: false,
    });
    const r = await s.run('audit_logs');
    expect(r).toMatchObject({ deleted: 25, batches: 3, without_timestamp: null });
    expect(calls.map((c) => c[1])).toEqual([10, 10, 10]);
    expect(Math.abs(calls[0]![0] - (Date.now() - 365 * DAY_MS))).toBeLessThan(60_000);
    expect(() => s.registerTarget({ name: 'audit_logs', count: () => 0, expiredCount: () => 0, oldestMs: () => undefined })).toThrow(
      TypeError,
    );
  });

  it('close stops a running cleanup after its current batch; what it deleted is committed and recorded', async () => {
    const { entities, deletesPerCommit, service } = await open();
    const ops = [];
    for (let i = 0; i < 2000; i++) ops.push({ op: 'put' as const, key: `big:${i}`, blob: { t: 1 } });
    await entities.applyBatch(ops);
    const s = await service(10);
    await s.put('big', { retention_days: 1, timestamp_field: 't', auto_deletion: true });
    const running = s.run('big');
    while (deletesPerCommit.length < 2) await new Promise((r) => setImmediate(r));
    await s.close();
    const r = await running;
    expect(r.deleted).toBeGreaterThan(0);
    // Closed after the second commit: at most the one in flight follows.
    expect(deletesPerCommit.length).toBeLessThanOrEqual(3);
    expect(r.deleted).toBe(deletesPerCommit.reduce((a, b) => a + b, 0));
    let left = 0;
    for await (const rows of new DocumentStore(stack!.engine).scan({ table: 'big' })) left += rows.length;
    expect(left).toBe(2000 - r.deleted);
    expect((await service(10)).list().find((p) => p.collection === 'big')).toMatchObject({ records_deleted: r.deleted });
  });

  it('the job runs policies with auto-deletion only, and close stops it', async () => {
    dir = tempDir('themis-retention-');
    stack = await openStack(dir, { modules: [Entities, Retention] });
    const entities = stack.db.get(Entities);
    const old = Date.now() - 10 * DAY_MS;
    await entities.applyBatch([
      { op: 'put', key: 'a:1', blob: { t: old } },
      { op: 'put', key: 'b:1', blob: { t: old } },
    ]);
    const s = stack.db.get(Retention);
    await s.put('a', { retention_days: 1, timestamp_field: 't', auto_deletion: true });
    await s.put('b', { retention_days: 1, timestamp_field: 't', auto_deletion: false });
    const done = await s.runDue();
    expect(done.map((r) => [r.collection, r.deleted])).toEqual([['a', 1]]);
    expect(entities.read({ key: 'b:1', table: 'b', pk: '1' })).toBeDefined();
  });
});

describe('timestampMs', () => {
  it('takes ISO 8601 strings and finite epoch milliseconds, nothing else', () => {
    expect(timestampMs('2020-01-02T03:04:05Z')).toBe(Date.UTC(2020, 0, 2, 3, 4, 5));
    expect(timestampMs('2020-01-02')).toBe(Date.UTC(2020, 0, 2));
    expect(timestampMs('2020-01-02T03:04:05.5+02:00')).toBe(Date.UTC(2020, 0, 2, 1, 4, 5, 500));
    expect(timestampMs(1_600_000_000_000)).toBe(1_600_000_000_000);
    for (const bad of ['Jan 2 2020', '2020-13-45', '', 'now', null, true, {}, [], Number.NaN, Number.POSITIVE_INFINITY])
      expect(timestampMs(bad), String(bad)).toBeUndefined();
  });
});
