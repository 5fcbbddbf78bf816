import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import {
  GRAPH_INDEX_VERSION_KEY,
  edgeEnds,
  shortestPath,
  traverse,
  type Adjacent,
  type Direction,
  type NeighborSource,
} from '../../src/graph/index.js';
import { createLogger } from '../../src/log.js';
import { codeOf as codeOfWith } from '../helpers/errors.js';
import { WriteBatch, keyspace, orderedCodec } from '../../src/storage/index.js';
import { openStack } from '../helpers/stack.js';
import { Entities } from '../../src/entities/index.js';
import { Graph } from '../../src/graph/index.js';
import { Transactions } from '../../src/transactions/index.js';

const log = createLogger('silent');

const codeOf = (p: Promise<unknown>) => codeOfWith(p, true);

/** An in-memory neighbour source: edges as [edgeKey, from, to], kept in edge-key order like the index. */
function memoryGraph(edges: [string, string, string][]): NeighborSource {
  const sorted = [...edges].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return async (v: string, d: Direction, table?: string): Promise<Adjacent[]> => {
    const ok = (e: string) => table === undefined || e.startsWith(`${table}:`);
    const out = d === 'inbound' ? [] : sorted.filter(([e, f]) => f === v && ok(e)).map(([edge, , to]) => ({ edge, vertex: to }));
    const inn = d === 'outbound' ? [] : sorted.filter(([e, , t]) => t === v && ok(e)).map(([edge, from]) => ({ edge, vertex: from }));
    return [...out, ...inn];
  };
}

describe('edgeEnds', () => {
  it('recognises documents with string _from and _to holding entity keys, and nothing else', () => {
    expect(edgeEnds('{"_from":"v:a","_to":"v:b","w":1}')).toEqual({ from: 'v:a', to: 'v:b' });
    expect(edgeEnds('{"\\u005ffrom":"v:a","_to":"v:b"}')).toEqual({ from: 'v:a', to: 'v:b' });
    expect(edgeEnds('{"name":"x"}')).toBeUndefined();
    expect(edgeEnds('{"_from":"v:a"}')).toBeUndefined();
    expect(edgeEnds('{"_from":"v:a","_to":7}')).toBeUndefined();
    expect(edgeEnds('{"_from":"nocolon","_to":"v:b"}')).toBeUndefined();
    expect(edgeEnds(null)).toBeUndefined();
  });
});

describe('traversal algorithms (in-memory graph)', () => {
  // a -> b -> d, a -> c -> d, d -> a (cycle), e -> a; x:* edges in another table
  const g = memoryGraph([
    ['e:1', 'v:a', 'v:b'],
    ['e:2', 'v:a', 'v:c'],
    ['e:3', 'v:b', 'v:d'],
    ['e:4', 'v:c', 'v:d'],
    ['e:5', 'v:d', 'v:a'],
    ['e:6', 'v:e', 'v:a'],
    ['x:1', 'v:a', 'v:z'],
  ]);
  const t = (start: string, maxDepth: number, direction: Direction = 'outbound', edgeTable?: string) =>
    traverse(g, { start, maxDepth, direction, ...(edgeTable ? { edgeTable } : {}) });

  it('visits in BFS order, each vertex once despite cycles, starting with the start vertex', async () => {
    expect(await t('v:a', 10)).toEqual(['v:a', 'v:b', 'v:c', 'v:z', 'v:d']);
  });
  it('stops at max_depth (0 = only the start vertex)', async () => {
    expect(await t('v:a', 0)).toEqual(['v:a']);
    expect(await t('v:a', 1)).toEqual(['v:a', 'v:b', 'v:c', 'v:z']);
  });
  it('follows inbound and any', async () => {
    expect(await t('v:a', 1, 'inbound')).toEqual(['v:a', 'v:d', 'v:e']);
    expect(await t('v:d', 1, 'any')).toEqual(['v:d', 'v:a', 'v:b', 'v:c']);
  });
  it('filters by edge table', async () => {
    expect(await t('v:a', 10, 'outbound', 'x')).toEqual(['v:a', 'v:z']);
    expect(await t('v:a', 10, 'outbound', 'e')).toEqual(['v:a', 'v:b', 'v:c', 'v:d']);
  });
  it('an unknown start vertex visits only itself', async () => {
    expect(await t('v:nobody', 3)).toEqual(['v:nobody']);
  });
  it('refuses traversals beyond the visited bound with 400', async () => {
    expect(await codeOf(traverse(g, { start: 'v:a', maxDepth: 10, direction: 'outbound', maxVisited: 3 }))).toBe('400 BAD_REQUEST');
  });
  it('shortest path: fewest hops with its edges, honouring direction and depth', async () => {
    expect(await shortestPath(g, { from: 'v:a', to: 'v:d', maxDepth: 10, direction: 'outbound' })).toEqual({
      path: ['v:a', 'v:b', 'v:d'],
      edges: ['e:1', 'e:3'],
    });
    expect(await shortestPath(g, { from: 'v:a', to: 'v:a', maxDepth: 0, direction: 'outbound' })).toEqual({ path: ['v:a'], edges: [] });
    expect(await shortestPath(g, { from: 'v:a', to: 'v:d', maxDepth: 1, direction: 'outbound' })).toBeUndefined();
    expect(await shortestPath(g, { from: 'v:a', to: 'v:e', maxDepth: 10, direction: 'outbound' })).toBeUndefined();
    expect(await shortestPath(g, { from: 'v:a', to: 'v:e', maxDepth: 10, direction: 'inbound' })).toEqual({
      path: ['v:a', 'v:e'],
      edges: ['e:6'],
    });
    expect(await shortestPath(g, { from: 'v:d', to: 'v:e', maxDepth: 10, direction: 'any' })).toEqual({
      path: ['v:d', 'v:a', 'v:e'],
      edges: ['e:5', 'e:6'],
    });
  });
});

describe('adjacency index (Database)', () => {
  let dir: string;
  let db: Database;
  const open = async () => {
    db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed' }, log);
    await db.open();
  };
  const adj = (v: string, d: Direction = 'outbound') => db.get(Graph).neighbors(v, d);
  const graphEntries = async () => {
    let n = 0;
    for await (const _ of db.engine.scan(keyspace('graph'))) n++;
    return n;
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-graph-'));
    await open();
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('create adds out and in entries; non-edges add none', async () => {
    await db.get(Entities).putEntity('v:a', { name: 'a' });
    await db.get(Entities).putEntity('e:1', { _from: 'v:a', _to: 'v:b' });
    expect(await adj('v:a')).toEqual([{ edge: 'e:1', vertex: 'v:b' }]);
    expect(await adj('v:b', 'inbound')).toEqual([{ edge: 'e:1', vertex: 'v:a' }]);
    expect(await adj('v:b')).toEqual([]);
    expect(await graphEntries()).toBe(2);
  });

  it('an update that moves an edge moves its entries; one that drops _to removes them', async () => {
    await db.get(Entities).putEntity('e:1', { _from: 'v:a', _to: 'v:b' });
    await db.get(Entities).putEntity('e:1', { _from: 'v:c', _to: 'v:b', w: 2 });
    expect(await adj('v:a')).toEqual([]);
    expect(await adj('v:c')).toEqual([{ edge: 'e:1', vertex: 'v:b' }]);
    expect(await adj('v:b', 'inbound')).toEqual([{ edge: 'e:1', vertex: 'v:c' }]);
    await db.get(Entities).putEntity('e:1', { _from: 'v:c' });
    expect(await graphEntries()).toBe(0);
  });

  it('delete removes the entries; a rolled-back transaction writes none', async () => {
    await db.get(Entities).putEntity('e:1', { _from: 'v:a', _to: 'v:b' });
    await db.get(Entities).deleteEntity('e:1');
    expect(await graphEntries()).toBe(0);
    const t = db.get(Transactions).begin();
    await db.get(Entities).putEntity('e:2', { _from: 'v:a', _to: 'v:b' }, t.transaction_id);
    db.get(Transactions).rollback(t.transaction_id);
    expect(await graphEntries()).toBe(0);
    expect((await db.get(Graph).traverse({ start_vertex: 'v:a', max_depth: 3 })).visited).toEqual(['v:a']);
  });

  it('vertex keys with 0x00 and prefixes of each other do not mix', async () => {
    await db.get(Entities).putEntity('e:1', { _from: 'v:a\u0000b', _to: 'v:x' });
    await db.get(Entities).putEntity('e:2', { _from: 'v:a', _to: 'v:y' });
    await db.get(Entities).putEntity('e:3', { _from: 'v:ab', _to: 'v:z' });
    expect(await adj('v:a')).toEqual([{ edge: 'e:2', vertex: 'v:y' }]);
    expect(await adj('v:a\u0000b')).toEqual([{ edge: 'e:1', vertex: 'v:x' }]);
  });

  it('traverseGraph and shortestGraphPath over committed edges', async () => {
    await db.get(Entities).applyBatch([
      { op: 'put', key: 'e:1', blob: { _from: 'v:a', _to: 'v:b' } },
      { op: 'put', key: 'e:2', blob: { _from: 'v:b', _to: 'v:c' } },
      { op: 'put', key: 'e:3', blob: { _from: 'v:c', _to: 'v:a' } },
    ]);
    expect(await db.get(Graph).traverse({ start_vertex: 'v:a', max_depth: 5 })).toEqual({
      start_vertex: 'v:a',
      max_depth: 5,
      direction: 'outbound',
      visited_count: 3,
      visited: ['v:a', 'v:b', 'v:c'],
    });
    expect(await db.get(Graph).shortestPath({ from: 'v:a', to: 'v:c', direction: 'inbound' })).toEqual({
      from: 'v:a',
      to: 'v:c',
      direction: 'inbound',
      found: true,
      length: 1,
      path: ['v:a', 'v:c'],
      edges: ['e:3'],
    });
    expect(await codeOf(db.get(Graph).shortestPath({ from: 'v:a', to: 'v:q' }))).toBe('404 NOT_FOUND');
    expect(await codeOf(db.get(Graph).traverse({ start_vertex: 'nocolon', max_depth: 1 }))).toBe('400 INVALID_KEY');
  });

  it('is rebuilt on open when the meta key is missing (stale entries dropped, existing edges indexed)', async () => {
    await db.get(Entities).putEntity('e:1', { _from: 'v:a', _to: 'v:b' });
    await db.get(Entities).putEntity('e:2', { _from: 'v:b', _to: 'v:c' });
    // Simulate an index that went wrong: a stray entry, one entry missing, meta key gone.
    const b = new WriteBatch();
    b.del(keyspace('meta'), GRAPH_INDEX_VERSION_KEY);
    b.put(keyspace('graph'), Buffer.concat([Buffer.of(1), orderedCodec.encode(['v:ghost', 'e:ghost'])]), Buffer.from('v:a'));
    b.del(keyspace('graph'), Buffer.concat([Buffer.of(1), orderedCodec.encode(['v:b', 'e:2'])]));
    await db.engine.commit(b);
    await db.close();
    await open();
    expect(await adj('v:ghost')).toEqual([]);
    expect(db.engine.getSync(keyspace('meta'), GRAPH_INDEX_VERSION_KEY)?.toString()).toBe('1');
    expect((await db.get(Graph).traverse({ start_vertex: 'v:a', max_depth: 5 })).visited).toEqual(['v:a', 'v:b', 'v:c']);
    expect(await graphEntries()).toBe(4);
  });

  it('indexes data written before the feature existed (no graph hook, no meta key)', async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    const s = await openStack(dir); // wired without the graph hook, like an older version
    const t = s.txm.begin('read_committed', true);
    for (let i = 0; i < 50; i++)
      s.txm.put(t, { key: `e:${i}`, table: 'e', pk: String(i) }, JSON.stringify({ _from: `v:${i}`, _to: `v:${i + 1}` }));
    s.txm.put(t, { key: 'v:0', table: 'v', pk: '0' }, '{"name":"zero"}');
    await s.txm.commit(t);
    await s.close();
    await open();
    const r = await db.get(Graph).traverse({ start_vertex: 'v:0', max_depth: 10 });
    expect(r.visited).toEqual(Array.from({ length: 11 }, (_, i) => `v:${i}`));
    expect(await graphEntries()).toBe(100);
  });
});
