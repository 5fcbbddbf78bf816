/**
 * Path searches as ArangoDB 3.12 documents them, in-process: the examples of
 * "k Shortest Paths", "k Paths" and "All Shortest Paths"
 * (site/content/arangodb/3.12/aql/graph-queries/*.md in arangodb/docs-hugo)
 * on the kShortestPathsGraph train network, with the outputs of the
 * documentation's own run (site/data/3.12/cache.json) in their exact order;
 * the named graph (GRAPH 'kShortestPathsGraph') becomes its edge collection.
 * Then the path objects, weights, edge cases, LIMIT on a graph with
 * exponentially many paths, the budget, multiple edge collections with their
 * own directions (traversal, SHORTEST_PATH, the path searches), explain and
 * the refusals.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql } from '../../src/aql/index.js';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { ThemisError } from '../../src/errors.js';
import { refusal } from '../helpers/errors.js';
import { createLogger } from '../../src/log.js';
import { Transactions } from '../../src/transactions/index.js';
import { CONNECTIONS, PLACES } from '../helpers/arango-train-network.js';
import { openDb, tempDir } from '../helpers/inproc.js';

const KSP_RETURN =
  'RETURN { places: p.vertices[*].label, travelTimes: p.edges[*].travelTime, travelTimeTotal: SUM(p.edges[*].travelTime) }';

const DOC_EXAMPLES: [string, string, unknown[]][] = [
  [
    'GRAPHKSP_01_Aberdeen_to_London',
    "FOR v, e IN OUTBOUND SHORTEST_PATH 'places/Aberdeen' TO 'places/London' connections RETURN { place: v.label, travelTime: e.travelTime }",
    [
      { place: 'Aberdeen', travelTime: null },
      { place: 'Leuchars', travelTime: 1.5 },
      { place: 'Edinburgh', travelTime: 1.5 },
      { place: 'York', travelTime: 3.5 },
      { place: 'London', travelTime: 1.8 },
    ],
  ],
  [
    'GRAPHKSP_02_Aberdeen_to_London',
    "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Aberdeen' TO 'places/London' connections LIMIT 1 RETURN { places: p.vertices[*].label, travelTimes: p.edges[*].travelTime }",
    [{ places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'York', 'London'], travelTimes: [1.5, 1.5, 3.5, 1.8] }],
  ],
  [
    'GRAPHKSP_03_Aberdeen_to_London',
    `FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Aberdeen' TO 'places/London' connections LIMIT 3 ${KSP_RETURN}`,
    [
      { places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'York', 'London'], travelTimes: [1.5, 1.5, 3.5, 1.8], travelTimeTotal: 8.3 },
      {
        places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'York', 'Carlisle', 'Birmingham', 'London'],
        travelTimes: [1.5, 1.5, 3.5, 3.5, 2, 1.5],
        travelTimeTotal: 13.5,
      },
      {
        places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'Glasgow', 'Carlisle', 'Birmingham', 'London'],
        travelTimes: [1.5, 1.5, 1, 1, 2, 1.5],
        travelTimeTotal: 8.5,
      },
    ],
  ],
  [
    'GRAPHKSP_04_Aberdeen_to_Toronto',
    `FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Aberdeen' TO 'places/Toronto' connections LIMIT 3 ${KSP_RETURN}`,
    [],
  ],
  [
    'GRAPHKSP_05_StAndrews_to_Cologne',
    `FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/StAndrews' TO 'places/Cologne' connections OPTIONS { weightAttribute: 'travelTime', defaultWeight: 15 } LIMIT 3 ${KSP_RETURN}`,
    [
      {
        places: ['StAndrews', 'Leuchars', 'Edinburgh', 'York', 'London', 'Brussels', 'Cologne'],
        travelTimes: [0.2, 1.5, 3.5, 1.8, 2.5, 2],
        travelTimeTotal: 11.5,
      },
      {
        places: ['StAndrews', 'Leuchars', 'Edinburgh', 'Glasgow', 'Carlisle', 'Birmingham', 'London', 'Brussels', 'Cologne'],
        travelTimes: [0.2, 1.5, 1, 1, 2, 1.5, 2.5, 2],
        travelTimeTotal: 11.7,
      },
      {
        places: ['StAndrews', 'Leuchars', 'Edinburgh', 'Glasgow', 'Carlisle', 'York', 'London', 'Brussels', 'Cologne'],
        travelTimes: [0.2, 1.5, 1, 1, 2.5, 1.8, 2.5, 2],
        travelTimeTotal: 12.5,
      },
    ],
  ],
  [
    'GRAPHKP_01_Aberdeen_to_London',
    "FOR p IN 1..10 OUTBOUND K_PATHS 'places/Aberdeen' TO 'places/London' connections RETURN { places: p.vertices[*].label, travelTimes: p.edges[*].travelTime }",
    [
      { places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'York', 'London'], travelTimes: [1.5, 1.5, 3.5, 1.8] },
      {
        places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'Glasgow', 'Carlisle', 'Birmingham', 'London'],
        travelTimes: [1.5, 1.5, 1, 1, 2, 1.5],
      },
      { places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'Glasgow', 'Carlisle', 'York', 'London'], travelTimes: [1.5, 1.5, 1, 1, 2.5, 1.8] },
      {
        places: ['Aberdeen', 'Leuchars', 'Edinburgh', 'York', 'Carlisle', 'Birmingham', 'London'],
        travelTimes: [1.5, 1.5, 3.5, 3.5, 2, 1.5],
      },
    ],
  ],
  [
    'GRAPHKP_02_Aberdeen_to_Toronto',
    "FOR p IN 1..10 OUTBOUND K_PATHS 'places/Aberdeen' TO 'places/Toronto' connections RETURN { places: p.vertices[*].label, travelTimes: p.edges[*].travelTime }",
    [],
  ],
  [
    'GRAPHASP_01_Carlisle_to_London',
    "FOR v, e IN OUTBOUND SHORTEST_PATH 'places/Carlisle' TO 'places/London' connections RETURN { place: v.label }",
    [{ place: 'Carlisle' }, { place: 'York' }, { place: 'London' }],
  ],
  [
    'GRAPHASP_02_Carlisle_to_London',
    "FOR p IN OUTBOUND ALL_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections RETURN { places: p.vertices[*].label }",
    [{ places: ['Carlisle', 'York', 'London'] }, { places: ['Carlisle', 'Birmingham', 'London'] }],
  ],
  [
    'GRAPHASP_03_Carlisle_to_London',
    "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections RETURN { places: p.vertices[*].label }",
    [
      { places: ['Carlisle', 'York', 'London'] },
      { places: ['Carlisle', 'Birmingham', 'London'] },
      { places: ['Carlisle', 'Glasgow', 'Edinburgh', 'York', 'London'] },
    ],
  ],
  [
    'GRAPHASP_04_Carlisle_to_Toronto',
    "FOR p IN OUTBOUND ALL_SHORTEST_PATHS 'places/Carlisle' TO 'places/Toronto' connections RETURN { places: p.vertices[*].label }",
    [],
  ],
];

/** A layered graph: LAYERS layers of WIDTH vertices, every vertex linked to every vertex of the next layer (WIDTH^(LAYERS-1) paths end to end). */
const LAYERS = 30;
const WIDTH = 3;

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-paths-');
  db = await openDb(dir);
  const layered: { op: 'put'; key: string; blob: Record<string, unknown> }[] = [];
  let n = 0;
  for (let l = 0; l < LAYERS; l++)
    for (let i = 0; i < WIDTH; i++) {
      layered.push({ op: 'put', key: `lv:${l}_${i}`, blob: { l, i } });
      if (l + 1 < LAYERS)
        for (let j = 0; j < WIDTH; j++)
          layered.push({ op: 'put', key: `le:${String(n++).padStart(6, '0')}`, blob: { _from: `lv:${l}_${i}`, _to: `lv:${l + 1}_${j}` } });
    }
  await db.get(Entities).applyBatch([
    ...PLACES.map((k) => ({ op: 'put' as const, key: `places:${k}`, blob: { label: k } })),
    ...CONNECTIONS.map(([k, f, t, travelTime]) => ({
      op: 'put' as const,
      key: `connections:${k}`,
      blob: { _from: `places:${f}`, _to: `places:${t}`, travelTime },
    })),
    ...layered,
    // weights: s->a (1), a->t (not a number), s->b (none), b->t (0.5), s->t (20)
    ...['s', 'a', 'b', 't'].map((k) => ({ op: 'put' as const, key: `wv:${k}`, blob: {} })),
    { op: 'put', key: 'we:1', blob: { _from: 'wv:s', _to: 'wv:a', w: 1 } },
    { op: 'put', key: 'we:2', blob: { _from: 'wv:a', _to: 'wv:t', w: 'heavy' } },
    { op: 'put', key: 'we:3', blob: { _from: 'wv:s', _to: 'wv:b' } },
    { op: 'put', key: 'we:4', blob: { _from: 'wv:b', _to: 'wv:t', w: 0.5 } },
    { op: 'put', key: 'we:5', blob: { _from: 'wv:s', _to: 'wv:t', w: 20 } },
    { op: 'put', key: 'neg:1', blob: { _from: 'wv:s', _to: 'wv:t', w: -1 } },
    // a star: hub -> 300 leaves -> t
    { op: 'put', key: 'sv:hub', blob: {} },
    { op: 'put', key: 'sv:t', blob: {} },
    ...Array.from({ length: 300 }, (_, i) => [
      { op: 'put' as const, key: `sv:l${String(i).padStart(3, '0')}`, blob: {} },
      { op: 'put' as const, key: `se:a${String(i).padStart(3, '0')}`, blob: { _from: 'sv:hub', _to: `sv:l${String(i).padStart(3, '0')}` } },
      { op: 'put' as const, key: `se:b${String(i).padStart(3, '0')}`, blob: { _from: `sv:l${String(i).padStart(3, '0')}`, _to: 'sv:t' } },
    ]).flat(),
    // two edge collections: road a->b, c->d; rail c->b (so b reaches c only INBOUND over rail)
    ...['a', 'b', 'c', 'd'].map((k) => ({ op: 'put' as const, key: `m:${k}`, blob: { name: k } })),
    { op: 'put', key: 'road:1', blob: { _from: 'm:a', _to: 'm:b' } },
    { op: 'put', key: 'road:2', blob: { _from: 'm:c', _to: 'm:d' } },
    { op: 'put', key: 'rail:1', blob: { _from: 'm:c', _to: 'm:b' } },
  ]);
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rows = async (query: string, bind_vars: Record<string, unknown> = {}, on: Database = db): Promise<AqlValue[]> => {
  const r = await on.get(Aql).run({ query, bind_vars });
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
};

const refused = (query: string, message: RegExp, code = 'VALIDATION_FAILED', on: Database = db): Promise<ThemisError> =>
  refusal(on.get(Aql).run({ query, bind_vars: {} }), code, message, query);

describe('the documentation examples (k-shortest-paths.md, k-paths.md, all-shortest-paths.md), exact order', () => {
  it.each(DOC_EXAMPLES)('%s', async (_name, query, expected) => {
    expect(await rows(query)).toEqual(expected);
  });
});

describe('path objects', () => {
  it('K_SHORTEST_PATHS: {edges, vertices, weight}, the weight being the number of edges without a weightAttribute', async () => {
    const [p] = (await rows(
      "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections LIMIT 1 RETURN p",
    )) as Record<string, AqlValue>[];
    expect(Object.keys(p!).sort()).toEqual(['edges', 'vertices', 'weight']);
    expect(p!.weight).toBe(2);
    expect((p!.vertices as Record<string, AqlValue>[]).map((v) => v._id)).toEqual(['places:Carlisle', 'places:York', 'places:London']);
    expect((p!.edges as Record<string, AqlValue>[]).map((e) => e._key)).toEqual(['76850', '76866']);
    expect(
      await rows("FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Aberdeen' TO 'places/London' connections LIMIT 4 RETURN p.weight"),
    ).toEqual([4, 6, 6, 6]);
    // defaultWeight alone does not weigh anything
    expect(
      await rows(
        "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections OPTIONS {defaultWeight: 7} RETURN p.weight",
      ),
    ).toEqual([2, 2, 4]);
  });

  it('K_PATHS and ALL_SHORTEST_PATHS: {edges, vertices}', async () => {
    for (const q of [
      "FOR p IN 2 OUTBOUND K_PATHS 'places/Carlisle' TO 'places/London' connections RETURN p",
      "FOR p IN OUTBOUND ALL_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections RETURN p",
    ]) {
      const ps = (await rows(q)) as Record<string, AqlValue>[];
      expect(ps.length, q).toBe(2);
      for (const p of ps) expect(Object.keys(p).sort(), q).toEqual(['edges', 'vertices']);
    }
  });

  it('the weighted path weight is the sum of its edge weights', async () => {
    expect(
      await rows(
        "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/StAndrews' TO 'places/Cologne' connections OPTIONS {weightAttribute: 'travelTime'} LIMIT 3 RETURN ROUND(p.weight * 10) / 10",
      ),
    ).toEqual([11.5, 11.7, 12.5]);
    expect(
      await rows(
        "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Aberdeen' TO 'places/London' connections OPTIONS {weightAttribute: 'travelTime'} LIMIT 3 RETURN [p.vertices[3]._key, ROUND(p.weight * 10) / 10]",
      ),
    ).toEqual([
      ['York', 8.3],
      ['Glasgow', 8.5],
      ['Glasgow', 9.3],
    ]);
  });

  it('K_PATHS lengths: min..max, a single number, default 1; paths never visit a vertex twice', async () => {
    const q = (depth: string) =>
      `FOR p IN ${depth} OUTBOUND K_PATHS 'places/Aberdeen' TO 'places/London' connections RETURN LENGTH(p.edges)`;
    expect(await rows(q('1..10'))).toEqual([4, 6, 6, 6]);
    expect(await rows(q('5..6'))).toEqual([6, 6, 6]);
    expect(await rows(q('4'))).toEqual([4]);
    expect(await rows(q('1..3'))).toEqual([]);
    expect(await rows("FOR p IN OUTBOUND K_PATHS 'places/York' TO 'places/London' connections RETURN p.vertices[*]._key")).toEqual([
      ['York', 'London'],
    ]);
    // INBOUND: the paths into the start from the target, ANY: both ways
    expect(await rows("FOR p IN 2 INBOUND K_PATHS 'places/London' TO 'places/Carlisle' connections RETURN p.vertices[*]._key")).toEqual([
      ['London', 'Birmingham', 'Carlisle'],
      ['London', 'York', 'Carlisle'],
    ]);
    expect(await rows("FOR p IN 1..2 ANY K_PATHS 'places/Brussels' TO 'places/Cologne' connections RETURN p.edges[*]._key")).toEqual([
      ['76874'],
      ['76876'],
    ]);
  });
});

describe('edge cases', () => {
  it('start == target: one path of no edges (K_PATHS only with min 0)', async () => {
    const s = "'places/York' TO 'places/York' connections";
    expect(await rows(`FOR p IN OUTBOUND K_SHORTEST_PATHS ${s} RETURN p`)).toMatchObject([{ edges: [], weight: 0 }]);
    expect(await rows(`FOR p IN OUTBOUND K_SHORTEST_PATHS ${s} RETURN p.vertices[*]._key`)).toEqual([['York']]);
    expect(await rows(`FOR p IN ANY ALL_SHORTEST_PATHS ${s} RETURN p.vertices[*]._key`)).toEqual([['York']]);
    expect(await rows(`FOR p IN 0..3 OUTBOUND K_PATHS ${s} RETURN p.vertices[*]._key`)).toEqual([['York']]);
    expect(await rows(`FOR p IN 1..5 OUTBOUND K_PATHS ${s} RETURN p`)).toEqual([]);
  });

  it('unreachable targets, missing vertices and wrong directions give no rows', async () => {
    for (const search of ['K_SHORTEST_PATHS', 'ALL_SHORTEST_PATHS', '1..10 K_PATHS'])
      for (const [a, b] of [
        ['places/Aberdeen', 'places/Vancouver'],
        ['places/Aberdeen', 'places/Nowhere'],
        ['places/Nowhere', 'places/London'],
      ]) {
        const q = search.includes('..')
          ? `FOR p IN 1..10 OUTBOUND K_PATHS '${a}' TO '${b}' connections RETURN p`
          : `FOR p IN OUTBOUND ${search} '${a}' TO '${b}' connections RETURN p`;
        expect(await rows(q), q).toEqual([]);
      }
    // INBOUND follows the edges into each vertex: London -> York, York -> Edinburgh, ... read backwards
    expect(
      await rows("FOR p IN INBOUND K_SHORTEST_PATHS 'places/Aberdeen' TO 'places/London' connections LIMIT 1 RETURN p.edges[*]._key"),
    ).toEqual([['76832', '76836', '76844', '76868']]);
    expect(await rows("FOR p IN INBOUND K_SHORTEST_PATHS 'places/Toronto' TO 'places/London' connections RETURN p")).toEqual([]);
    expect(
      await rows("FOR p IN INBOUND K_SHORTEST_PATHS 'places/London' TO 'places/Aberdeen' connections LIMIT 1 RETURN p.vertices[*]._key"),
    ).toEqual([['London', 'York', 'Edinburgh', 'Leuchars', 'Aberdeen']]);
  });

  it('a start that is not an id: no rows and a warning', async () => {
    const r = (await db.get(Aql).run({
      query: "FOR p IN OUTBOUND K_SHORTEST_PATHS 42 TO 'places/London' connections RETURN p",
      bind_vars: {},
    })) as unknown as { entities: unknown[]; extra: { warnings: { code: number; message: string }[] } };
    expect(r.entities).toEqual([]);
    expect(r.extra.warnings).toEqual([
      { code: 10, message: 'invalid input for K_SHORTEST_PATHS: only id strings or objects with _id are allowed' },
    ]);
  });

  it('starts and targets from a FOR, documents with _id, bind parameters; FILTERs on the path', async () => {
    expect(
      await rows(
        "FOR s IN places FILTER s._key IN ['Carlisle', 'York'] SORT s._key FOR p IN OUTBOUND K_SHORTEST_PATHS s TO @t connections LIMIT 1 RETURN p.vertices[*]._key",
        { t: 'places/London' },
      ),
    ).toEqual([['Carlisle', 'York', 'London']]);
    expect(
      await rows(
        "FOR p IN 1..10 OUTBOUND K_PATHS 'places/Aberdeen' TO 'places/London' connections FILTER 'Glasgow' IN p.vertices[*]._key RETURN p.vertices[-2]._key",
      ),
    ).toEqual(['Birmingham', 'York']);
  });
});

describe('transactions', () => {
  it("inside a transaction, path searches see its buffered edges (added, deleted) and others don't", async () => {
    const txns = db.get(Transactions);
    const txn = txns.begin('snapshot').transaction_id;
    const inTxn = async (query: string): Promise<AqlValue[]> => {
      const r = await db.get(Aql).run({ query }, txn);
      if (!('entities' in r)) throw new Error('no entities');
      return r.entities;
    };
    const ksp = "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections RETURN p.vertices[*]._key";
    try {
      await db.get(Entities).putEntity('connections:99999', { _from: 'places:Carlisle', _to: 'places:London', travelTime: 9 }, txn);
      await db.get(Entities).deleteEntity('connections:76854', txn); // Carlisle -> Birmingham
      expect(await inTxn(ksp)).toEqual([
        ['Carlisle', 'London'],
        ['Carlisle', 'York', 'London'],
        ['Carlisle', 'Glasgow', 'Edinburgh', 'York', 'London'],
      ]);
      expect(
        await inTxn("FOR p IN OUTBOUND ALL_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections RETURN p.edges[*]._key"),
      ).toEqual([['99999']]);
      expect(await inTxn("FOR p IN 2 OUTBOUND K_PATHS 'places/Carlisle' TO 'places/London' connections RETURN p.vertices[*]._key")).toEqual(
        [['Carlisle', 'York', 'London']],
      );
      // outside the transaction nothing changed
      expect(await rows(ksp)).toEqual([
        ['Carlisle', 'York', 'London'],
        ['Carlisle', 'Birmingham', 'London'],
        ['Carlisle', 'Glasgow', 'Edinburgh', 'York', 'London'],
      ]);
    } finally {
      txns.rollback(txn);
    }
  });
});

describe('weights (K_SHORTEST_PATHS)', () => {
  it('weightAttribute when a number, else defaultWeight (1 unless set)', async () => {
    const q = (opts: string) => `FOR p IN OUTBOUND K_SHORTEST_PATHS 'wv:s' TO 'wv:t' we ${opts} RETURN [p.vertices[*]._key, p.weight]`;
    expect(await rows(q("OPTIONS {weightAttribute: 'w', defaultWeight: 10}"))).toEqual([
      [['s', 'b', 't'], 10.5],
      [['s', 'a', 't'], 11],
      [['s', 't'], 20],
    ]);
    expect(await rows(q("OPTIONS {weightAttribute: 'w'}"))).toEqual([
      [['s', 'b', 't'], 1.5],
      [['s', 'a', 't'], 2],
      [['s', 't'], 20],
    ]);
    expect(await rows(q(''))).toEqual([
      [['s', 't'], 1],
      [['s', 'a', 't'], 2],
      [['s', 'b', 't'], 2],
    ]);
  });

  it('a negative weight fails the query (as in ArangoDB); unread when no weightAttribute', async () => {
    await refused(
      "FOR p IN OUTBOUND K_SHORTEST_PATHS 'wv:s' TO 'wv:t' neg OPTIONS {weightAttribute: 'w'} RETURN p",
      /negative edge weight -1/,
    );
    expect(await rows("FOR p IN OUTBOUND K_SHORTEST_PATHS 'wv:s' TO 'wv:t' neg RETURN p.weight")).toEqual([1]);
  });
});

describe('weights (SHORTEST_PATH with OPTIONS)', () => {
  it('weightAttribute: the lightest path, one row per vertex with the edge leading to it', async () => {
    const q = (opts: string) => `FOR v, e IN OUTBOUND SHORTEST_PATH 'wv:s' TO 'wv:t' we ${opts} RETURN [v._key, e == null ? null : e.w]`;
    expect(await rows(q(''))).toEqual([
      ['s', null],
      ['t', 20],
    ]);
    expect(await rows(q("OPTIONS {weightAttribute: 'w'}"))).toEqual([
      ['s', null],
      ['b', null], // we:3 has no w (counts 1)
      ['t', 0.5],
    ]);
    // missing weights count defaultWeight: 10 + 0.5 < 1 + 10 < 20
    expect((await rows(q("OPTIONS {weightAttribute: 'w', defaultWeight: 10}"))).map((r) => (r as unknown[])[0])).toEqual(['s', 'b', 't']);
    // the same path as the first of K_SHORTEST_PATHS, on the documentation's train network
    const ksp = await rows(
      "FOR p IN ANY K_SHORTEST_PATHS 'places/Aberdeen' TO 'places/London' connections OPTIONS {weightAttribute: 'travelTime'} LIMIT 1 RETURN p.vertices[*]._key",
    );
    const sp = await rows(
      "FOR v IN ANY SHORTEST_PATH 'places/Aberdeen' TO 'places/London' connections OPTIONS {weightAttribute: 'travelTime'} RETURN v._key",
    );
    expect(sp).toEqual(ksp[0]);
    expect(sp).not.toEqual(await rows("FOR v IN ANY SHORTEST_PATH 'places/Aberdeen' TO 'places/London' connections RETURN v._key"));
  });

  it('explain names the weight; bad values and unknown options are 400; negative weights fail the query', async () => {
    const r = await db.get(Aql).run({
      query: "FOR v IN OUTBOUND SHORTEST_PATH 'wv:s' TO 'wv:t' we OPTIONS {weightAttribute: 'w', defaultWeight: 2} RETURN v",
      explain: true,
    });
    expect((r.plan as { steps: unknown[] }).steps[0]).toMatchObject({ type: 'shortest_path', weight_attribute: 'w', default_weight: 2 });
    await refused(
      "FOR v IN OUTBOUND SHORTEST_PATH 'wv:s' TO 'wv:t' we OPTIONS {defaultWeight: -1} RETURN v",
      /invalid SHORTEST_PATH option defaultWeight/,
    );
    await refused(
      "FOR v IN OUTBOUND SHORTEST_PATH 'wv:s' TO 'wv:t' we OPTIONS {weightAttribute: 3} RETURN v",
      /invalid SHORTEST_PATH option weightAttribute/,
    );
    await refused("FOR v IN OUTBOUND SHORTEST_PATH 'wv:s' TO 'wv:t' we OPTIONS {order: 'bfs'} RETURN v", /order/);
    await refused(
      "FOR v IN OUTBOUND SHORTEST_PATH 'wv:s' TO 'wv:t' neg OPTIONS {weightAttribute: 'w'} RETURN v",
      /negative edge weight -1/,
    );
  });
});

describe('LIMIT stops the search early (a graph with 3^29 paths end to end)', () => {
  const from = "'lv:0_0'";
  const to = `'lv:${LAYERS - 1}_0'`;
  it('K_SHORTEST_PATHS, K_PATHS and ALL_SHORTEST_PATHS with LIMIT 5', { timeout: 20_000 }, async () => {
    const t0 = Date.now();
    const ksp = (await rows(`FOR p IN OUTBOUND K_SHORTEST_PATHS ${from} TO ${to} le LIMIT 5 RETURN p`)) as {
      edges: unknown[];
      weight: number;
    }[];
    expect(ksp.map((p) => [p.edges.length, p.weight])).toEqual(Array(5).fill([LAYERS - 1, LAYERS - 1]));
    const kp = await rows(`FOR p IN 1..${LAYERS + 5} OUTBOUND K_PATHS ${from} TO ${to} le LIMIT 5 RETURN LENGTH(p.edges)`);
    expect(kp).toEqual(Array(5).fill(LAYERS - 1));
    const asp = await rows(`FOR p IN OUTBOUND ALL_SHORTEST_PATHS ${from} TO ${to} le LIMIT 5 RETURN p.vertices[*]._key`);
    expect(asp).toHaveLength(5);
    expect(new Set(asp.map((p) => JSON.stringify(p))).size).toBe(5);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('without a LIMIT the deadline stops it (408 TIMEOUT)', { timeout: 20_000 }, async () => {
    try {
      await db.get(Aql).run({ query: `FOR p IN OUTBOUND K_SHORTEST_PATHS ${from} TO ${to} le RETURN 1`, bind_vars: {}, timeout_ms: 300 });
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(ThemisError);
      expect(['TIMEOUT', 'VALIDATION_FAILED']).toContain((e as ThemisError).code);
    }
  });

  it('memory (distances, candidates) counts against THEMIS_QUERY_MAX_INTERMEDIATE', { timeout: 20_000 }, async () => {
    await db.close();
    const capped = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed', queryMaxIntermediate: 200 }, createLogger('silent'));
    try {
      await capped.open();
      // 300 vertices one edge from the target
      const ends = "'sv:hub' TO 'sv:t' se";
      await refused(
        `FOR p IN 1..3 OUTBOUND K_PATHS ${ends} RETURN 1`,
        /the K_PATHS search holds more than 200 rows/,
        'VALIDATION_FAILED',
        capped,
      );
      await refused(
        `FOR p IN OUTBOUND ALL_SHORTEST_PATHS ${ends} RETURN 1`,
        /the ALL_SHORTEST_PATHS search holds more than 200/,
        'VALIDATION_FAILED',
        capped,
      );
      await refused(
        `FOR p IN OUTBOUND K_SHORTEST_PATHS ${ends} LIMIT 1 RETURN 1`,
        /the K_SHORTEST_PATHS search holds more than 200/,
        'VALIDATION_FAILED',
        capped,
      );
      // small searches still work
      expect(
        await rows(
          "FOR p IN OUTBOUND K_SHORTEST_PATHS 'places/Carlisle' TO 'places/London' connections RETURN LENGTH(p.edges)",
          {},
          capped,
        ),
      ).toEqual([2, 2, 4]);
    } finally {
      await capped.close();
      db = await openDb(dir);
    }
    // under the default budget: all 300
    expect(await rows("FOR p IN OUTBOUND ALL_SHORTEST_PATHS 'sv:hub' TO 'sv:t' se RETURN 1")).toHaveLength(300);
  });
});

describe('multiple edge collections, each with its own direction', () => {
  it('traversal: OUTBOUND road, INBOUND rail', async () => {
    expect(await rows("FOR v IN 1..3 OUTBOUND 'm/a' road, INBOUND rail RETURN v._key")).toEqual(['b', 'c', 'd']);
    expect(await rows("FOR v IN 1..3 OUTBOUND 'm/a' road RETURN v._key")).toEqual(['b']);
    expect(await rows("FOR v IN 1..3 OUTBOUND 'm/a' road, rail RETURN v._key")).toEqual(['b']);
    expect(await rows("FOR v, e, p IN 1..3 INBOUND 'm/d' OUTBOUND rail, road RETURN p.vertices[*]._key")).toEqual([
      ['d', 'c'],
      ['d', 'c', 'b'],
      ['d', 'c', 'b', 'a'],
    ]);
    // OPTIONS edgeCollections restricts the list
    expect(await rows("FOR v IN 1..3 OUTBOUND 'm/a' road, INBOUND rail OPTIONS {edgeCollections: ['road']} RETURN v._key")).toEqual(['b']);
  });

  it('SHORTEST_PATH and the path searches', async () => {
    expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'm/a' TO 'm/d' road, INBOUND rail RETURN v._key")).toEqual(['a', 'b', 'c', 'd']);
    expect(await rows("FOR v IN OUTBOUND SHORTEST_PATH 'm/a' TO 'm/d' road, rail RETURN v._key")).toEqual([]);
    expect(await rows("FOR v IN ANY SHORTEST_PATH 'm/a' TO 'm/d' road, ANY rail RETURN v._key")).toEqual(['a', 'b', 'c', 'd']);
    for (const q of [
      "FOR p IN OUTBOUND K_SHORTEST_PATHS 'm/a' TO 'm/d' road, INBOUND rail RETURN p.vertices[*]._key",
      "FOR p IN 1..5 OUTBOUND K_PATHS 'm/a' TO 'm/d' road, INBOUND rail RETURN p.vertices[*]._key",
      "FOR p IN OUTBOUND ALL_SHORTEST_PATHS 'm/a' TO 'm/d' road, INBOUND rail RETURN p.vertices[*]._key",
      "FOR p IN INBOUND ALL_SHORTEST_PATHS 'm/d' TO 'm/a' INBOUND road, OUTBOUND rail RETURN REVERSE(p.vertices[*]._key)",
    ])
      expect(await rows(q), q).toEqual([['a', 'b', 'c', 'd']]);
    expect(await rows("FOR p IN OUTBOUND K_SHORTEST_PATHS 'm/a' TO 'm/d' road, INBOUND rail RETURN p.edges[*]._id")).toEqual([
      ['road:1', 'rail:1', 'road:2'],
    ]);
  });

  it('each collection must exist; one collection twice in conflicting directions is refused', async () => {
    await refused(
      "FOR v IN 1..3 OUTBOUND 'm/a' road, INBOUND nosuch RETURN v",
      /collection or view not found: nosuch/,
      'COLLECTION_NOT_FOUND',
    );
    await refused("FOR p IN OUTBOUND K_PATHS 'm/a' TO 'm/d' road, nosuch RETURN p", /nosuch/, 'COLLECTION_NOT_FOUND');
    await refused("FOR v IN 1..3 OUTBOUND 'm/a' road, INBOUND road RETURN v", /conflicting directions/);
    expect(await rows("FOR v IN 1..3 OUTBOUND 'm/a' road, road RETURN v._key")).toEqual(['b']);
  });

  it('explain lists the collections with their own directions', async () => {
    const plan = async (query: string) =>
      ((await db.get(Aql).run({ query, bind_vars: {}, explain: true })) as unknown as { plan: { steps: Record<string, unknown>[] } }).plan
        .steps[0];
    expect(await plan("FOR v IN 1..3 OUTBOUND 'm/a' road, INBOUND rail RETURN v")).toMatchObject({
      type: 'traversal',
      edges: ['road', 'INBOUND rail'],
    });
    expect(await plan("FOR v IN OUTBOUND SHORTEST_PATH 'm/a' TO 'm/d' road RETURN v")).toMatchObject({
      type: 'shortest_path',
      edges: 'road',
    });
    expect(await plan("FOR p IN OUTBOUND K_SHORTEST_PATHS 'm/a' TO 'm/d' road OPTIONS {weightAttribute: 'w'} RETURN p")).toMatchObject({
      type: 'k_shortest_paths',
      direction: 'OUTBOUND',
      edges: 'road',
      weight_attribute: 'w',
      default_weight: 1,
    });
    expect(await plan("FOR p IN 2..4 ANY K_PATHS 'm/a' TO 'm/d' road, rail RETURN p")).toMatchObject({
      type: 'k_paths',
      direction: 'ANY',
      min: 2,
      max: 4,
      edges: ['road', 'rail'],
    });
    expect(await plan("FOR p IN INBOUND ALL_SHORTEST_PATHS 'm/a' TO 'm/d' road RETURN p")).toMatchObject({ type: 'all_shortest_paths' });
  });
});

describe('refusals', () => {
  it('syntax: a depth only for K_PATHS, one variable', async () => {
    await refused("FOR p IN 1..3 OUTBOUND K_SHORTEST_PATHS 'm/a' TO 'm/d' road RETURN p", /K_SHORTEST_PATHS takes no depth/);
    await refused("FOR p IN 1..3 OUTBOUND ALL_SHORTEST_PATHS 'm/a' TO 'm/d' road RETURN p", /ALL_SHORTEST_PATHS takes no depth/);
    await refused("FOR p, e IN OUTBOUND K_SHORTEST_PATHS 'm/a' TO 'm/d' road RETURN p", /declares one variable/);
    await refused("FOR p, e IN 1..2 OUTBOUND K_PATHS 'm/a' TO 'm/d' road RETURN p", /declares one variable/);
    await refused("FOR p IN 3..1 OUTBOUND K_PATHS 'm/a' TO 'm/d' road RETURN p", /empty/);
    await refused("FOR p IN OUTBOUND K_PATHS 'm/a' 'm/d' road RETURN p", /syntax error/);
    await refused("FOR p IN OUTBOUND K_SHORTEST_PATHS 'm/a' TO 'm/d' road PRUNE true RETURN p", /PRUNE belongs to a graph traversal/);
  });

  it('options: unknown names, weights outside K_SHORTEST_PATHS, bad values (400 naming the option)', async () => {
    const ksp = "FOR p IN OUTBOUND K_SHORTEST_PATHS 'm/a' TO 'm/d' road";
    await refused(`${ksp} OPTIONS {order: 'bfs'} RETURN p`, /unsupported K_SHORTEST_PATHS option "order"/);
    await refused(
      "FOR p IN OUTBOUND ALL_SHORTEST_PATHS 'm/a' TO 'm/d' road OPTIONS {weightAttribute: 'w'} RETURN p",
      /unsupported ALL_SHORTEST_PATHS option "weightAttribute"/,
    );
    await refused("FOR p IN 1..2 OUTBOUND K_PATHS 'm/a' TO 'm/d' road OPTIONS {defaultWeight: 2} RETURN p", /unsupported K_PATHS option/);
    const e = await refused(`${ksp} OPTIONS {defaultWeight: -1} RETURN p`, /defaultWeight: -1.*negative/);
    expect(e.details).toMatchObject({ field: 'options', option: 'defaultWeight' });
    await refused(`${ksp} OPTIONS {weightAttribute: 3} RETURN p`, /weightAttribute: 3/);
    await refused(`LET w = 'x' ${ksp} OPTIONS {weightAttribute: w} RETURN p`, /weightAttribute.*constant/);
    // hints are accepted
    expect(await rows(`${ksp} OPTIONS {useCache: false} RETURN 1`)).toEqual([]);
  });
});
