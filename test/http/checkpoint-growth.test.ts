/**
 * Issue 13, finding 6: the replay after a crash grew with the change log,
 * because fulltext and vector checkpoints were written only every 5 minutes
 * or at shutdown. Checkpoints are now also written when the change log has
 * grown THEMIS_CHECKPOINT_EVERY_CHANGES entries past an index's checkpoint,
 * and the start-up log reports the replay length.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { call, sleep, startServer, type StartedServer } from '../helpers/server.js';

const servers: StartedServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill();
});

async function ok(p: Promise<{ status: number; body: Record<string, unknown> }>, status = 200): Promise<Record<string, unknown>> {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

interface LoadLine {
  msg: string;
  index: string;
  source: string;
  replayed?: number;
  replay_from_seq?: number;
  replay_entries?: number;
}

function loadLines(stderr: string): LoadLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('index loaded'))
    .map((l) => JSON.parse(l) as LoadLine);
}

describe('checkpoints by change-log growth', () => {
  it('after 3,000 commits and a kill -9, every fulltext and vector index replays at most ~one interval of the log (THEMIS_CHECKPOINT_EVERY_CHANGES=300)', async () => {
    const env = { THEMIS_CHECKPOINT_EVERY_CHANGES: '300', THEMIS_LOG_LEVEL: 'info' };
    const s = await startServer({ env });
    servers.push(s);
    await ok(call(s, 'POST', '/index/create', { table: 'docs', column: 'text', type: 'fulltext' }));
    await ok(call(s, 'POST', '/vector/index/create', { name: 'docs_emb', table: 'docs', field: 'emb', metric: 'L2', dimension: 4 }), 201);
    // 2,000 writes to the indexed table, then 1,000 to another one (the indexes don't change, the log grows).
    for (let b = 0; b < 40; b++) {
      const operations = Array.from({ length: 50 }, (_, i) => {
        const n = b * 50 + i;
        return {
          op: 'put',
          key: `docs:${n % 700}`,
          blob: JSON.stringify({ text: `word${n % 13} common text ${n}`, emb: [n % 7, n % 11, n % 5, 1] }),
        };
      });
      await ok(call(s, 'POST', '/transaction', { operations }));
    }
    for (let b = 0; b < 20; b++) {
      await ok(
        call(s, 'POST', '/transaction', {
          operations: Array.from({ length: 50 }, (_, i) => ({ op: 'put', key: `other:${b * 50 + i}`, blob: '{"x":1}' })),
        }),
      );
    }
    const before = await ok(call(s, 'POST', '/search/fulltext', { table: 'docs', column: 'text', query: 'word3', limit: 1000 }));
    await sleep(300); // a checkpoint triggered by the last commits finishes
    await s.kill();

    const s2 = await startServer({ dataDir: s.dataDir, env });
    servers.push(s2);
    const lines = loadLines(s2.stderr());
    const names = lines.map((l) => l.index).sort();
    expect(names).toEqual(['docs.text', 'docs_emb', 'vector_index']);
    for (const l of lines) {
      expect(l.source, JSON.stringify(l)).toBe('checkpoint');
      // 3,000 log entries were written; without growth checkpoints the replay would read all of them.
      expect(l.replay_entries, JSON.stringify(l)).toBeLessThan(450);
      expect(l.replay_from_seq, JSON.stringify(l)).toBeGreaterThan(2500);
    }
    const ready = s2
      .stderr()
      .split('\n')
      .find((l) => l.includes('"storage ready"'));
    expect(JSON.parse(ready!)).toMatchObject({ last_seq: 3000, recovery_ms: expect.any(Number) });
    // The recovered indexes answer as before the crash.
    const after = await ok(call(s2, 'POST', '/search/fulltext', { table: 'docs', column: 'text', query: 'word3', limit: 1000 }));
    expect(after.hits).toEqual(before.hits);
    const st = await ok(call(s2, 'GET', '/vector/index/stats?index=docs_emb'));
    expect(st.vectorCount).toBe(700);
    expect(fs.existsSync(`${s.dataDir}/vector`)).toBe(true);
  });

  it('a replay that would cost more than a rebuild (every vector replaced since the checkpoint) rebuilds the vector index instead, with the same answers', {
    timeout: 90_000,
  }, async () => {
    const env = { THEMIS_LOG_LEVEL: 'info' };
    const s = await startServer({ env });
    servers.push(s);
    await ok(call(s, 'POST', '/vector/index/create', { name: 'big', table: 'big', field: 'emb', metric: 'L2', dimension: 4 }), 201);
    const N = 4000;
    const vec = (i: number, round: number) => [i % 97, (i * 7) % 89, round, (i * 13) % 83];
    const write = async (round: number) => {
      for (let b = 0; b < N / 500; b++) {
        const operations = Array.from({ length: 500 }, (_, j) => ({
          op: 'put',
          key: `big:${b * 500 + j}`,
          blob: JSON.stringify({ emb: vec(b * 500 + j, round) }),
        }));
        await ok(call(s, 'POST', '/transaction', { operations }));
      }
    };
    await write(0);
    expect(await s.stop()).toBe(0); // checkpoint of all 4,000 vectors
    const s2 = await startServer({ dataDir: s.dataDir, env });
    servers.push(s2);
    // Every vector replaced in place: 4,000 replacements cost hnswlib ~24,000 inserts' worth, a rebuild 4,000.
    for (let b = 0; b < N / 500; b++) {
      const operations = Array.from({ length: 500 }, (_, j) => ({
        op: 'put',
        key: `big:${b * 500 + j}`,
        blob: JSON.stringify({ emb: vec(b * 500 + j, 1) }),
      }));
      await ok(call(s2, 'POST', '/transaction', { operations }));
    }
    await s2.kill();
    const s3 = await startServer({ dataDir: s.dataDir, env });
    servers.push(s3);
    const line = loadLines(s3.stderr()).find((l) => l.index === 'big')!;
    expect(line.source, JSON.stringify(line)).toBe('rebuild');
    expect(JSON.stringify(line)).toMatch(/would cost more than a rebuild/);
    expect((await ok(call(s3, 'GET', '/vector/index/stats?index=big'))).vectorCount).toBe(N);
    for (const i of [0, 1234, 3999]) {
      const r = await ok(call(s3, 'POST', '/vector/search', { index: 'big', vector: vec(i, 1), k: 1 }));
      expect(r.results).toEqual([{ pk: String(i), distance: 0 }]);
    }
  });
});
