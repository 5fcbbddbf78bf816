/**
 * Graph Operations over HTTP: edges are entities with `_from`/`_to`;
 * POST /graph/traverse and POST /graph/shortest_path follow the adjacency
 * index, which tracks updates, deletes, rollbacks and restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectStatus, startServer, tempDir, type StartedServer } from '../helpers/server.js';

const put = async (s: StartedServer, key: string, blob: unknown, headers?: Record<string, string>) => {
  const r = await call(s, 'PUT', `/entities/${encodeURIComponent(key)}`, { blob }, headers);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
};
const traverse = (s: StartedServer, body: unknown) => call(s, 'POST', '/graph/traverse', body);
const visited = async (s: StartedServer, body: unknown): Promise<string[]> => {
  const r = await traverse(s, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.visited as string[];
};

describe('graph over HTTP', () => {
  let s: StartedServer;
  const dataDir = tempDir();
  beforeAll(async () => {
    s = await startServer({ dataDir });
    for (const v of ['alice', 'bob', 'carol', 'dave']) await put(s, `users:${v}`, { name: v });
    await put(s, 'follows:1', { _from: 'users:alice', _to: 'users:bob' });
    await put(s, 'follows:2', { _from: 'users:bob', _to: 'users:carol' });
    await put(s, 'follows:3', { _from: 'users:carol', _to: 'users:alice' });
    await put(s, 'likes:1', JSON.stringify({ _from: 'users:alice', _to: 'users:dave' }));
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('traverse: BFS order, each vertex once with cycles, the contract response shape', async () => {
    const r = await traverse(s, { start_vertex: 'users:alice', max_depth: 3 });
    await expectStatus(r, 200);
    expect(r.body).toEqual({
      start_vertex: 'users:alice',
      max_depth: 3,
      direction: 'outbound',
      visited_count: 4,
      visited: ['users:alice', 'users:bob', 'users:dave', 'users:carol'],
    });
  });

  it('traverse: depth limits, directions, edge_table, unknown start vertex', async () => {
    expect(await visited(s, { start_vertex: 'users:alice', max_depth: 0 })).toEqual(['users:alice']);
    expect(await visited(s, { start_vertex: 'users:alice', max_depth: 1 })).toEqual(['users:alice', 'users:bob', 'users:dave']);
    expect(await visited(s, { start_vertex: 'users:alice', max_depth: 1, direction: 'inbound' })).toEqual(['users:alice', 'users:carol']);
    expect(await visited(s, { start_vertex: 'users:bob', max_depth: 1, direction: 'any' })).toEqual([
      'users:bob',
      'users:carol',
      'users:alice',
    ]);
    expect(await visited(s, { start_vertex: 'users:alice', max_depth: 10, edge_table: 'likes' })).toEqual(['users:alice', 'users:dave']);
    expect(await visited(s, { start_vertex: 'users:nobody', max_depth: 2 })).toEqual(['users:nobody']);
  });

  it('shortest_path: vertex path and edges; 404 when unreachable', async () => {
    const r = await call(s, 'POST', '/graph/shortest_path', { from: 'users:alice', to: 'users:carol' });
    await expectStatus(r, 200);
    expect(r.body).toEqual({
      from: 'users:alice',
      to: 'users:carol',
      direction: 'outbound',
      found: true,
      length: 2,
      path: ['users:alice', 'users:bob', 'users:carol'],
      edges: ['follows:1', 'follows:2'],
    });
    const inbound = await call(s, 'POST', '/graph/shortest_path', { from: 'users:alice', to: 'users:carol', direction: 'inbound' });
    expect(inbound.body).toMatchObject({ length: 1, edges: ['follows:3'] });
    const none = await call(s, 'POST', '/graph/shortest_path', { from: 'users:dave', to: 'users:alice' });
    await expectStatus(none, 404);
    expect(none.body).toMatchObject({ error: true, status_code: 404, code: 'NOT_FOUND' });
    const tooShort = await call(s, 'POST', '/graph/shortest_path', { from: 'users:alice', to: 'users:carol', max_depth: 1 });
    await expectStatus(tooShort, 404);
  });

  it('400 for missing or invalid parameters, in the contract error format', async () => {
    const cases: [unknown, string][] = [
      [{ max_depth: 1 }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'users:alice' }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'users:alice', max_depth: 11 }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'users:alice', max_depth: -1 }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'users:alice', max_depth: 1.5 }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'users:alice', max_depth: '2' }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'users:alice', max_depth: 1, direction: 'sideways' }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'users:alice', max_depth: 1, edge_table: 'bad table' }, 'VALIDATION_FAILED'],
      [{ start_vertex: 'alice', max_depth: 1 }, 'INVALID_KEY'],
      [{ start_vertex: 7, max_depth: 1 }, 'VALIDATION_FAILED'],
    ];
    for (const [body, code] of cases) {
      const r = await traverse(s, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body, JSON.stringify(body)).toMatchObject({ error: true, status_code: 400, code });
      expect(typeof r.body.message).toBe('string');
    }
    const bad = await call(s, 'POST', '/graph/shortest_path', { from: 'users:alice' });
    expect(bad.body).toMatchObject({ error: true, status_code: 400, code: 'VALIDATION_FAILED', field: 'to' });
    const badKey = await call(s, 'POST', '/graph/shortest_path', { from: 'users:alice', to: ':x' });
    expect(badKey.body).toMatchObject({ status_code: 400, code: 'INVALID_KEY' });
  });

  it('needs authentication', async () => {
    const r = await call(s, 'POST', '/graph/traverse', { start_vertex: 'users:alice', max_depth: 1 }, { authorization: '' });
    await expectStatus(r, 401);
  });

  it('adjacency follows updates and deletes of edges', async () => {
    await put(s, 'knows:1', { _from: 'people:x', _to: 'people:y' });
    expect(await visited(s, { start_vertex: 'people:x', max_depth: 2 })).toEqual(['people:x', 'people:y']);
    await put(s, 'knows:1', { _from: 'people:x', _to: 'people:z' });
    expect(await visited(s, { start_vertex: 'people:x', max_depth: 2 })).toEqual(['people:x', 'people:z']);
    expect(await visited(s, { start_vertex: 'people:y', max_depth: 2, direction: 'inbound' })).toEqual(['people:y']);
    await expectStatus(await call(s, 'DELETE', '/entities/knows:1'), 200);
    expect(await visited(s, { start_vertex: 'people:x', max_depth: 2, direction: 'any' })).toEqual(['people:x']);
  });

  it('edges of a rolled-back transaction are never traversed; committed ones are', async () => {
    const begin = async () => (await call(s, 'POST', '/transaction/begin')).body.transaction_id as number;
    const t1 = await begin();
    await put(s, 'knows:rb', { _from: 'people:r', _to: 'people:s' }, { 'x-transaction-id': String(t1) });
    await expectStatus(await call(s, 'POST', '/transaction/rollback', { transaction_id: t1 }), 200);
    expect(await visited(s, { start_vertex: 'people:r', max_depth: 3 })).toEqual(['people:r']);
    const t2 = await begin();
    await put(s, 'knows:ok', { _from: 'people:r', _to: 'people:t' }, { 'x-transaction-id': String(t2) });
    expect(await visited(s, { start_vertex: 'people:r', max_depth: 3 })).toEqual(['people:r']); // not committed yet
    await expectStatus(await call(s, 'POST', '/transaction/commit', { transaction_id: t2 }), 200);
    expect(await visited(s, { start_vertex: 'people:r', max_depth: 3 })).toEqual(['people:r', 'people:t']);
  });

  it('adjacency persists across a restart', async () => {
    await s.stop();
    s = await startServer({ dataDir });
    expect(await visited(s, { start_vertex: 'users:alice', max_depth: 3 })).toEqual([
      'users:alice',
      'users:bob',
      'users:dave',
      'users:carol',
    ]);
    expect(await visited(s, { start_vertex: 'people:r', max_depth: 3 })).toEqual(['people:r', 'people:t']);
  });
});
