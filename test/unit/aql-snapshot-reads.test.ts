/**
 * What a query reads is its snapshot (plus its transaction's buffered
 * writes), also where the data is derived: graph adjacency (a traversal or
 * shortest path on a cursor page read after a commit sees the edges of its
 * snapshot; inside a transaction it sees the transaction's own edges), and
 * range-index scans over documents whose indexed attribute is an array or
 * an object (returned as a full scan would return them, in AQL's order).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { Transactions } from '../../src/transactions/index.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-snapshot-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch([
    ...['a', 'b', 'c', 'd'].map((k) => ({ op: 'put' as const, key: `v:${k}`, blob: { name: k } })),
    { op: 'put', key: 'e:1', blob: { _from: 'v:a', _to: 'v:b' } },
    { op: 'put', key: 'e:2', blob: { _from: 'v:b', _to: 'v:c' } },
  ]);
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Page = { items: AqlValue[]; next_cursor: string | null };

async function page(body: Record<string, unknown>, txn?: string): Promise<Page> {
  return (await db.get(Aql).run(body as never, txn)) as unknown as Page;
}

const rows = async (query: string, txn?: string): Promise<AqlValue[]> => {
  const r = await db.get(Aql).run({ query }, txn);
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
};

describe('graph reads come from the query snapshot', () => {
  it('a traversal on a later cursor page sees the edges of the snapshot, not those committed after it', async () => {
    const query = "FOR i IN 1..3 LET reach = (FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key) RETURN reach";
    const first = await page({ query, use_cursor: true, batch_size: 1 });
    expect(first.items).toEqual([['b', 'c']]);
    // after the snapshot: a new edge c -> d, and b -> c removed
    await db.get(Entities).putEntity('e:3', { _from: 'v:c', _to: 'v:d' });
    await db.get(Entities).deleteEntity('e:2');
    try {
      let next = first.next_cursor;
      const later: AqlValue[] = [];
      while (next !== null) {
        const p = await page({ cursor: next });
        later.push(...p.items);
        next = p.next_cursor;
      }
      expect(later).toEqual([
        ['b', 'c'],
        ['b', 'c'],
      ]);
      // a new query sees the new state
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key")).toEqual(['b']);
      expect(await rows("FOR v IN 1..5 INBOUND 'v:d' e RETURN v._key")).toEqual(['c']);
    } finally {
      await db.get(Entities).deleteEntity('e:3');
      await db.get(Entities).putEntity('e:2', { _from: 'v:b', _to: 'v:c' });
    }
  });

  it('a shortest path on a later cursor page uses the snapshot edges', async () => {
    const query = "FOR i IN 1..2 LET p = (FOR v IN OUTBOUND SHORTEST_PATH 'v:a' TO 'v:c' e RETURN v._key) RETURN p";
    const first = await page({ query, use_cursor: true, batch_size: 1 });
    expect(first.items).toEqual([['a', 'b', 'c']]);
    await db.get(Entities).putEntity('e:0', { _from: 'v:a', _to: 'v:c' });
    try {
      const second = await page({ cursor: first.next_cursor });
      expect(second.items).toEqual([['a', 'b', 'c']]);
      expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'v:a' TO 'v:c' e RETURN v._key")).toEqual(['a', 'c']);
    } finally {
      await db.get(Entities).deleteEntity('e:0');
    }
  });

  it("inside a transaction, traversals see its buffered edges (added, re-pointed, deleted) and others don't", async () => {
    const txns = db.get(Transactions);
    const txn = txns.begin('snapshot').transaction_id;
    try {
      await db.get(Entities).putEntity('e:3', { _from: 'v:c', _to: 'v:d' }, txn); // new
      await db.get(Entities).putEntity('e:1', { _from: 'v:a', _to: 'v:c' }, txn); // re-pointed a->b to a->c
      await db.get(Entities).putEntity('e:4', { _from: 'v:d', note: 'no _to: not an edge' }, txn);
      await db.get(Entities).putEntity('x:1', { _from: 'v:a', _to: 'v:d' }, txn); // another edge table
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key", txn)).toEqual(['c', 'd']);
      // depth-first: the last of c's edges (outbound d by e:3, then inbound a by e:1, b by e:2) comes first, as when committed
      expect(await rows("FOR v, e IN 1..1 ANY 'v:c' e RETURN [v._key, e._key]", txn)).toEqual([
        ['b', '2'],
        ['a', '1'],
        ['d', '3'],
      ]);
      expect(await rows("FOR v IN 1..1 INBOUND 'v:b' e RETURN v._key", txn)).toEqual([]);
      expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'v:a' TO 'v:a' e RETURN v._key", txn)).toEqual(['a']);
      expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'v:b' TO 'v:d' e RETURN v._key", txn)).toEqual(['b', 'c', 'd']);
      await db.get(Entities).deleteEntity('e:2', txn);
      expect(await rows("FOR v IN 1..5 ANY 'v:b' e RETURN v._key", txn)).toEqual([]);
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' x RETURN v._key", txn)).toEqual(['d']);
      // outside the transaction nothing changed
      expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key")).toEqual(['b', 'c']);
    } finally {
      txns.rollback(txn);
    }
    expect(await rows("FOR v IN 1..5 OUTBOUND 'v:a' e RETURN v._key")).toEqual(['b', 'c']);
  });
});
