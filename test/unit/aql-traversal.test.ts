/**
 * Graph traversals as ArangoDB 3.12 runs them, in-process: the examples of
 * "Graph traversals in AQL" (site/content/arangodb/3.12/aql/graph-queries/
 * traversals.md in arangodb/docs-hugo) on its two example graphs, with the
 * outputs of the documentation's own run (site/data/3.12/cache.json) in
 * their exact order; named graphs (GRAPH "...") become their edge
 * collection. Then PRUNE, each OPTIONS setting and the refusals.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import { ThemisError } from '../../src/errors.js';
import { CONNECTIONS, PLACES } from '../helpers/arango-train-network.js';
import { openDb, tempDir } from '../helpers/inproc.js';

const CIRCLES: [string, string][] = [
  ['A', '1'],
  ['B', '2'],
  ['C', '3'],
  ['D', '4'],
  ['E', '5'],
  ['F', '6'],
  ['G', '7'],
  ['H', '8'],
  ['I', '9'],
  ['J', '10'],
  ['K', '11'],
];
/** [key, from, to, label] in creation order (keys as in the documentation run, so edge-key order is creation order). */
const CIRCLE_EDGES: [string, string, string, string][] = [
  ['76733', 'A', 'B', 'left_bar'],
  ['76735', 'B', 'C', 'left_blarg'],
  ['76737', 'C', 'D', 'left_blorg'],
  ['76739', 'B', 'E', 'left_blub'],
  ['76741', 'E', 'F', 'left_schubi'],
  ['76743', 'A', 'G', 'right_foo'],
  ['76745', 'G', 'H', 'right_blob'],
  ['76747', 'H', 'I', 'right_blub'],
  ['76749', 'G', 'J', 'right_zip'],
  ['76751', 'J', 'K', 'right_zup'],
];
const DOC_EXAMPLES: [string, string, unknown[]][] = [
  [
    'GRAPHTRAV_02_traverse_all_a',
    "FOR v IN 1..3 OUTBOUND 'circles/A' edges RETURN v._key",
    ['G', 'J', 'K', 'H', 'I', 'B', 'E', 'F', 'C', 'D'],
  ],
  [
    'GRAPHTRAV_02_traverse_all_b',
    "FOR v IN 1..3 OUTBOUND 'circles/A' edges RETURN v._key",
    ['G', 'J', 'K', 'H', 'I', 'B', 'E', 'F', 'C', 'D'],
  ],
  ['GRAPHTRAV_03_traverse_3a', "FOR v IN 2..2 OUTBOUND 'circles/A' edges RETURN v._key", ['J', 'H', 'E', 'C']],
  ['GRAPHTRAV_03_traverse_3b', "FOR v IN 2 OUTBOUND 'circles/A' edges RETURN v._key", ['J', 'H', 'E', 'C']],
  [
    'GRAPHTRAV_04_traverse_4a',
    "FOR v, e, p IN 1..3 OUTBOUND 'circles/A' edges FILTER p.vertices[1]._key != 'G' RETURN v._key",
    ['B', 'E', 'F', 'C', 'D'],
  ],
  [
    'GRAPHTRAV_04_traverse_4b',
    "FOR v, e, p IN 1..3 OUTBOUND 'circles/A' edges FILTER p.edges[0].label != 'right_foo' RETURN v._key",
    ['B', 'E', 'F', 'C', 'D'],
  ],
  [
    'GRAPHTRAV_05_traverse_5a',
    "FOR v,e,p IN 1..3 OUTBOUND 'circles/A' edges FILTER p.vertices[1]._key != 'G' FILTER p.edges[1].label != 'left_blub' RETURN v._key",
    ['B', 'C', 'D'],
  ],
  [
    'GRAPHTRAV_05_traverse_5b',
    "FOR v,e,p IN 1..3 OUTBOUND 'circles/A' edges FILTER p.vertices[1]._key != 'G' AND p.edges[1].label != 'left_blub' RETURN v._key",
    ['B', 'C', 'D'],
  ],
  ['GRAPHTRAV_06_traverse_6a', "FOR v IN 1..3 OUTBOUND 'circles/E' edges RETURN v._key", ['F']],
  ['GRAPHTRAV_06_traverse_6b', "FOR v IN 1..3 INBOUND 'circles/E' edges RETURN v._key", ['B', 'A']],
  ['GRAPHTRAV_06_traverse_6c', "FOR v IN 1..3 ANY 'circles/E' edges RETURN v._key", ['B', 'A', 'G', 'C', 'D', 'F']],
  [
    'GRAPHTRAV_graphFilterCombine',
    'FOR v, e, p IN 1..5 OUTBOUND \'circles/A\' edges FILTER p.edges[0].theTruth == true AND p.edges[1].theFalse == false FILTER p.vertices[1]._key == "G" RETURN { vertices: p.vertices[*]._key, edges: p.edges[*].label }',
    [
      {
        vertices: ['A', 'G', 'J'],
        edges: ['right_foo', 'right_zip'],
      },
      {
        vertices: ['A', 'G', 'J', 'K'],
        edges: ['right_foo', 'right_zip', 'right_zup'],
      },
      {
        vertices: ['A', 'G', 'H'],
        edges: ['right_foo', 'right_blob'],
      },
      {
        vertices: ['A', 'G', 'H', 'I'],
        edges: ['right_foo', 'right_blob', 'right_blub'],
      },
    ],
  ],
  [
    'GRAPHTRAV_graphFilterEdges',
    "FOR v, e, p IN 1..5 OUTBOUND 'circles/A' edges FILTER p.edges[0].theTruth == true RETURN { vertices: p.vertices[*]._key, edges: p.edges[*].label }",
    [
      {
        vertices: ['A', 'G'],
        edges: ['right_foo'],
      },
      {
        vertices: ['A', 'G', 'J'],
        edges: ['right_foo', 'right_zip'],
      },
      {
        vertices: ['A', 'G', 'J', 'K'],
        edges: ['right_foo', 'right_zip', 'right_zup'],
      },
      {
        vertices: ['A', 'G', 'H'],
        edges: ['right_foo', 'right_blob'],
      },
      {
        vertices: ['A', 'G', 'H', 'I'],
        edges: ['right_foo', 'right_blob', 'right_blub'],
      },
      {
        vertices: ['A', 'B'],
        edges: ['left_bar'],
      },
      {
        vertices: ['A', 'B', 'E'],
        edges: ['left_bar', 'left_blub'],
      },
      {
        vertices: ['A', 'B', 'E', 'F'],
        edges: ['left_bar', 'left_blub', 'left_schubi'],
      },
      {
        vertices: ['A', 'B', 'C'],
        edges: ['left_bar', 'left_blarg'],
      },
      {
        vertices: ['A', 'B', 'C', 'D'],
        edges: ['left_bar', 'left_blarg', 'left_blorg'],
      },
    ],
  ],
  [
    'GRAPHTRAV_graphFilterEntirePath',
    "FOR v, e, p IN 1..5 OUTBOUND 'circles/A' edges FILTER p.edges[*].theTruth ALL == true RETURN { vertices: p.vertices[*]._key, edges: p.edges[*].label }",
    [
      {
        vertices: ['A', 'G'],
        edges: ['right_foo'],
      },
      {
        vertices: ['A', 'G', 'J'],
        edges: ['right_foo', 'right_zip'],
      },
      {
        vertices: ['A', 'G', 'J', 'K'],
        edges: ['right_foo', 'right_zip', 'right_zup'],
      },
      {
        vertices: ['A', 'G', 'H'],
        edges: ['right_foo', 'right_blob'],
      },
      {
        vertices: ['A', 'G', 'H', 'I'],
        edges: ['right_foo', 'right_blob', 'right_blub'],
      },
      {
        vertices: ['A', 'B'],
        edges: ['left_bar'],
      },
      {
        vertices: ['A', 'B', 'E'],
        edges: ['left_bar', 'left_blub'],
      },
      {
        vertices: ['A', 'B', 'E', 'F'],
        edges: ['left_bar', 'left_blub', 'left_schubi'],
      },
      {
        vertices: ['A', 'B', 'C'],
        edges: ['left_bar', 'left_blarg'],
      },
      {
        vertices: ['A', 'B', 'C', 'D'],
        edges: ['left_bar', 'left_blarg', 'left_blorg'],
      },
    ],
  ],
  [
    'GRAPHTRAV_graphFilterPathAnyEdge',
    "FOR v, e, p IN 1..5 OUTBOUND 'circles/A' edges FILTER p.edges[*].theTruth ANY == true RETURN { vertices: p.vertices[*]._key, edges: p.edges[*].label }",
    [
      {
        vertices: ['A', 'G'],
        edges: ['right_foo'],
      },
      {
        vertices: ['A', 'G', 'J'],
        edges: ['right_foo', 'right_zip'],
      },
      {
        vertices: ['A', 'G', 'J', 'K'],
        edges: ['right_foo', 'right_zip', 'right_zup'],
      },
      {
        vertices: ['A', 'G', 'H'],
        edges: ['right_foo', 'right_blob'],
      },
      {
        vertices: ['A', 'G', 'H', 'I'],
        edges: ['right_foo', 'right_blob', 'right_blub'],
      },
      {
        vertices: ['A', 'B'],
        edges: ['left_bar'],
      },
      {
        vertices: ['A', 'B', 'E'],
        edges: ['left_bar', 'left_blub'],
      },
      {
        vertices: ['A', 'B', 'E', 'F'],
        edges: ['left_bar', 'left_blub', 'left_schubi'],
      },
      {
        vertices: ['A', 'B', 'C'],
        edges: ['left_bar', 'left_blarg'],
      },
      {
        vertices: ['A', 'B', 'C', 'D'],
        edges: ['left_bar', 'left_blarg', 'left_blorg'],
      },
    ],
  ],
  [
    'GRAPHTRAV_graphFilterPathEdges',
    "FOR v, e, p IN 1..5 OUTBOUND 'circles/A' edges FILTER p.edges[*].theTruth NONE == true RETURN { vertices: p.vertices[*]._key, edges: p.edges[*].label }",
    [],
  ],
  [
    'GRAPHTRAV_graphFilterVertices',
    'FOR v, e, p IN 1..5 OUTBOUND \'circles/A\' edges FILTER p.vertices[1]._key == "G" RETURN { vertices: p.vertices[*]._key, edges: p.edges[*].label }',
    [
      {
        vertices: ['A', 'G'],
        edges: ['right_foo'],
      },
      {
        vertices: ['A', 'G', 'J'],
        edges: ['right_foo', 'right_zip'],
      },
      {
        vertices: ['A', 'G', 'J', 'K'],
        edges: ['right_foo', 'right_zip', 'right_zup'],
      },
      {
        vertices: ['A', 'G', 'H'],
        edges: ['right_foo', 'right_blob'],
      },
      {
        vertices: ['A', 'G', 'H', 'I'],
        edges: ['right_foo', 'right_blob', 'right_blub'],
      },
    ],
  ],
  [
    'GRAPHTRAV_graphPruneExample1',
    'FOR v, e, p IN 0..10 OUTBOUND "places/Toronto" connections PRUNE v.label == "Edmonton" OPTIONS { uniqueVertices: "path" } RETURN CONCAT_SEPARATOR(" -- ", p.vertices[*].label)',
    ['Toronto', 'Toronto -- Winnipeg', 'Toronto -- Winnipeg -- Saskatoon', 'Toronto -- Winnipeg -- Saskatoon -- Edmonton'],
  ],
  [
    'GRAPHTRAV_graphPruneExample2',
    'FOR v, e, p IN 2..3 OUTBOUND "places/London" connections OPTIONS { uniqueVertices: "path" } RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    [
      'London -- 2.5 -- Brussels -- 2 -- Cologne',
      'London -- 2 -- York -- 3.5 -- Carlisle',
      'London -- 2 -- York -- 3.5 -- Carlisle -- 2 -- Birmingham',
      'London -- 2 -- York -- 3.5 -- Carlisle -- 1 -- Glasgow',
      'London -- 2 -- York -- 4 -- Edinburgh',
      'London -- 2 -- York -- 4 -- Edinburgh -- 1 -- Glasgow',
      'London -- 2 -- York -- 4 -- Edinburgh -- 3 -- Leuchars',
      'London -- 2.5 -- Birmingham -- 1 -- Carlisle',
      'London -- 2.5 -- Birmingham -- 1 -- Carlisle -- 2.5 -- York',
      'London -- 2.5 -- Birmingham -- 1 -- Carlisle -- 1 -- Glasgow',
    ],
  ],
  [
    'GRAPHTRAV_graphPruneExample3',
    'FOR v, e, p IN 2..3 OUTBOUND "places/London" connections PRUNE v.label == "Carlisle" OR e.travelTime > 3 OPTIONS { uniqueVertices: "path" } RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    [
      'London -- 2.5 -- Brussels -- 2 -- Cologne',
      'London -- 2 -- York -- 3.5 -- Carlisle',
      'London -- 2 -- York -- 4 -- Edinburgh',
      'London -- 2.5 -- Birmingham -- 1 -- Carlisle',
    ],
  ],
  [
    'GRAPHTRAV_graphPruneExample4',
    'FOR v, e, p IN 2..3 OUTBOUND "places/London" connections PRUNE cond = v.label == "Carlisle" OR e.travelTime > 3 OPTIONS { uniqueVertices: "path" } FILTER cond RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    ['London -- 2 -- York -- 3.5 -- Carlisle', 'London -- 2 -- York -- 4 -- Edinburgh', 'London -- 2.5 -- Birmingham -- 1 -- Carlisle'],
  ],
  [
    'GRAPHTRAV_graphPruneExample5',
    'FOR v, e, p IN 2..3 OUTBOUND "places/London" connections PRUNE cond = v.label == "Carlisle" OR e.travelTime > 3 OPTIONS { uniqueVertices: "path" } FILTER NOT cond RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    ['London -- 2.5 -- Brussels -- 2 -- Cologne'],
  ],
  [
    'GRAPHTRAV_graphPruneExample6',
    'FOR v, e, p IN 2..5 OUTBOUND "places/London" connections PRUNE cond = v.label == "Carlisle" OR e.travelTime > 3 OPTIONS { uniqueVertices: "path" } FILTER cond AND p.edges[-1].travelTime >= p.edges[-2].travelTime RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    ['London -- 2 -- York -- 3.5 -- Carlisle', 'London -- 2 -- York -- 4 -- Edinburgh'],
  ],
  [
    'GRAPHTRAV_graphPruneExample7',
    'FOR v, e, p IN 2..3 OUTBOUND "places/London" connections OPTIONS { uniqueVertices: "path" } RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    [
      'London -- 2.5 -- Brussels -- 2 -- Cologne',
      'London -- 2 -- York -- 3.5 -- Carlisle',
      'London -- 2 -- York -- 3.5 -- Carlisle -- 2 -- Birmingham',
      'London -- 2 -- York -- 3.5 -- Carlisle -- 1 -- Glasgow',
      'London -- 2 -- York -- 4 -- Edinburgh',
      'London -- 2 -- York -- 4 -- Edinburgh -- 1 -- Glasgow',
      'London -- 2 -- York -- 4 -- Edinburgh -- 3 -- Leuchars',
      'London -- 2.5 -- Birmingham -- 1 -- Carlisle',
      'London -- 2.5 -- Birmingham -- 1 -- Carlisle -- 2.5 -- York',
      'London -- 2.5 -- Birmingham -- 1 -- Carlisle -- 1 -- Glasgow',
    ],
  ],
  [
    'GRAPHTRAV_graphPruneExample8',
    'FOR v,e,p IN 2..3 OUTBOUND "places/London" connections PRUNE v.label == "Glasgow" OR e.travelTime < 2.5 OPTIONS { uniqueVertices: "path" } RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    [],
  ],
  [
    'GRAPHTRAV_graphPruneExample9',
    'FOR v,e,p IN 2..3 OUTBOUND "places/London" connections PRUNE v.label == "Glasgow" OR (e != null AND e.travelTime < 2.5) OPTIONS { uniqueVertices: "path" } RETURN CONCAT_SEPARATOR(" -- ", INTERLEAVE(p.vertices[*].label, p.edges[*].travelTime))',
    ['London -- 2.5 -- Brussels -- 2 -- Cologne', 'London -- 2.5 -- Birmingham -- 1 -- Carlisle'],
  ],
];

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-traversal-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch([
    ...CIRCLES.map(([k, label]) => ({ op: 'put' as const, key: `circles:${k}`, blob: { label } })),
    ...CIRCLE_EDGES.map(([k, f, t, label]) => ({
      op: 'put' as const,
      key: `edges:${k}`,
      blob: { _from: `circles:${f}`, _to: `circles:${t}`, theFalse: false, theTruth: true, label },
    })),
    ...PLACES.map((k) => ({ op: 'put' as const, key: `places:${k}`, blob: { label: k } })),
    ...CONNECTIONS.map(([k, f, t, travelTime]) => ({
      op: 'put' as const,
      key: `connections:${k}`,
      blob: { _from: `places:${f}`, _to: `places:${t}`, travelTime },
    })),
    // a two-vertex cycle x <-> y, and a vertex of another collection reached from x
    { op: 'put', key: 'g:x', blob: {} },
    { op: 'put', key: 'g:y', blob: {} },
    { op: 'put', key: 'h:z', blob: {} },
    { op: 'put', key: 'ge:1', blob: { _from: 'g:x', _to: 'g:y' } },
    { op: 'put', key: 'ge:2', blob: { _from: 'g:y', _to: 'g:x' } },
    { op: 'put', key: 'ge:3', blob: { _from: 'g:x', _to: 'h:z' } },
  ]);
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rows = async (query: string, bind_vars: Record<string, unknown> = {}): Promise<AqlValue[]> => {
  const r = await db.get(Aql).run({ query, bind_vars });
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
};

async function refused(query: string, message: RegExp, bind_vars: Record<string, unknown> = {}): Promise<ThemisError> {
  try {
    await db.get(Aql).run({ query, bind_vars });
  } catch (e) {
    expect(e).toBeInstanceOf(ThemisError);
    expect((e as ThemisError).code, query).toBe('VALIDATION_FAILED');
    expect((e as ThemisError).status, query).toBe(400);
    expect((e as ThemisError).message, query).toMatch(message);
    return e as ThemisError;
  }
  throw new Error(`expected 400 VALIDATION_FAILED: ${query}`);
}

describe('the documentation examples (traversals.md), exact order', () => {
  it.each(DOC_EXAMPLES)('%s', async (_name, query, expected) => {
    expect(await rows(query)).toEqual(expected);
  });
});

describe('order', () => {
  const all = "FOR v IN 1..3 OUTBOUND 'circles/A' edges";
  it("dfs is the default: a vertex's neighbours in reverse edge order, each subtree before the next", async () => {
    const dfs = ['G', 'J', 'K', 'H', 'I', 'B', 'E', 'F', 'C', 'D'];
    expect(await rows(`${all} RETURN v._key`)).toEqual(dfs);
    expect(await rows(`${all} OPTIONS {order: "dfs"} RETURN v._key`)).toEqual(dfs);
    expect(await rows(`${all} OPTIONS {bfs: false} RETURN v._key`)).toEqual(dfs);
  });

  it('bfs: depth by depth, neighbours in edge order; bfs: true (deprecated) is the same and wins over order', async () => {
    const bfs = ['B', 'G', 'C', 'E', 'H', 'J', 'D', 'F', 'I', 'K'];
    expect(await rows(`${all} OPTIONS {order: "bfs"} RETURN v._key`)).toEqual(bfs);
    expect(await rows(`${all} OPTIONS {order: "BFS"} RETURN v._key`)).toEqual(bfs);
    expect(await rows(`${all} OPTIONS {bfs: true} RETURN v._key`)).toEqual(bfs);
    expect(await rows(`${all} OPTIONS {order: "dfs", bfs: true} RETURN v._key`)).toEqual(bfs);
    expect(await rows(`${all} OPTIONS {order: @o} RETURN v._key`, { o: 'bfs' })).toEqual(bfs);
  });

  it('weighted: paths by increasing weight sum (FIFO among equal sums); p.weights holds the sums per depth', async () => {
    const q = `FOR v, e, p IN 1..2 OUTBOUND "places/London" connections
      OPTIONS {order: "weighted", weightAttribute: "travelTime", uniqueVertices: "path"}
      RETURN [v.label, p.weights]`;
    expect(await rows(q)).toEqual([
      ['York', [0, 2]],
      ['Birmingham', [0, 2.5]],
      ['Brussels', [0, 2.5]],
      ['Carlisle', [0, 2.5, 3.5]],
      ['Cologne', [0, 2.5, 4.5]],
      ['Carlisle', [0, 2, 5.5]],
      ['Edinburgh', [0, 2, 6]],
    ]);
    // with global vertex uniqueness each vertex comes once, over its lightest path
    const g = `FOR v, e, p IN 1..2 OUTBOUND "places/London" connections
      OPTIONS {order: "weighted", weightAttribute: "travelTime", uniqueVertices: "global"}
      RETURN [v.label, p.weights[-1]]`;
    expect(await rows(g)).toEqual([
      ['York', 2],
      ['Birmingham', 2.5],
      ['Brussels', 2.5],
      ['Carlisle', 3.5],
      ['Cologne', 4.5],
      ['Edinburgh', 6],
    ]);
    // no weightAttribute: every edge weighs defaultWeight (1 unless given)
    expect(
      await rows(`FOR v, e, p IN 2 OUTBOUND "circles/A" edges OPTIONS {order: "weighted", defaultWeight: 3} RETURN p.weights`),
    ).toEqual(Array(4).fill([0, 3, 6]));
    // outside "weighted" the weights are the depths
    expect(await rows("FOR v, e, p IN 2 OUTBOUND 'circles/A' edges LIMIT 1 RETURN p.weights")).toEqual([[0, 1, 2]]);
  });
});

describe('uniqueness', () => {
  const cycle = "FOR v IN 1..4 OUTBOUND 'g:x' ge";
  it('default: uniqueVertices "none", uniqueEdges "path" (a cycle is walked until an edge would repeat)', async () => {
    expect(await rows(`${cycle} RETURN v._id`)).toEqual(['h:z', 'g:y', 'g:x', 'h:z']);
    expect(await rows(`${cycle} OPTIONS {uniqueEdges: "path", uniqueVertices: "none"} RETURN v._id`)).toEqual(['h:z', 'g:y', 'g:x', 'h:z']);
  });

  it('uniqueEdges "none" follows edges again; uniqueVertices "path" never repeats a vertex on a path', async () => {
    expect(await rows(`${cycle} OPTIONS {uniqueEdges: "none"} RETURN v._id`)).toEqual(['h:z', 'g:y', 'g:x', 'h:z', 'g:y', 'g:x']);
    expect(await rows(`${cycle} OPTIONS {uniqueVertices: "path"} RETURN v._id`)).toEqual(['h:z', 'g:y']);
  });

  it('uniqueVertices "global" (with bfs or weighted): each vertex once, at its first (shortest) depth', async () => {
    expect(
      await rows('FOR v IN 1..2 OUTBOUND "places/London" connections OPTIONS {bfs: true, uniqueVertices: "global"} RETURN v.label'),
    ).toEqual(['Birmingham', 'York', 'Brussels', 'Carlisle', 'Edinburgh', 'Cologne']);
    // a vertex first seen below min is not returned later
    expect(await rows(`${cycle} OPTIONS {order: "bfs", uniqueVertices: "global"} RETURN v._id`)).toEqual(['g:y', 'h:z']);
    expect(await rows(`FOR v IN 2..4 OUTBOUND 'g:x' ge OPTIONS {order: "bfs", uniqueVertices: "global"} RETURN v._id`)).toEqual([]);
  });
});

describe('PRUNE', () => {
  it('the pruned vertex is returned (depth permitting), its neighbours are not visited', async () => {
    expect(await rows("FOR v IN 1..3 OUTBOUND 'circles/A' edges PRUNE v._key == 'G' RETURN v._key")).toEqual([
      'G',
      'B',
      'E',
      'F',
      'C',
      'D',
    ]);
    expect(await rows("FOR v IN 2..3 OUTBOUND 'circles/A' edges PRUNE v._key == 'G' RETURN v._key")).toEqual(['E', 'F', 'C', 'D']);
    // evaluated at depth 0 too: pruning the start vertex stops everything
    expect(await rows("FOR v IN 0..3 OUTBOUND 'circles/A' edges PRUNE v._key == 'A' RETURN v._key")).toEqual(['A']);
    expect(await rows("FOR v, e IN 1..3 OUTBOUND 'circles/A' edges PRUNE e.label < 'm' RETURN v._key")).toEqual([]);
    // with bfs, and on the edge and path variables
    expect(
      await rows(
        "FOR v, e, p IN 1..3 OUTBOUND 'circles/A' edges PRUNE e.label == 'left_bar' OR LENGTH(p.edges) == 2 OPTIONS {order: 'bfs'} RETURN v._key",
      ),
    ).toEqual(['B', 'G', 'H', 'J']);
  });

  it('sees the variables declared before the traversal; PRUNE var = cond binds the condition', async () => {
    expect(await rows("LET stop = 'B' FOR v IN 1..3 OUTBOUND 'circles/A' edges PRUNE v._key == stop RETURN v._key")).toEqual([
      'G',
      'J',
      'K',
      'H',
      'I',
      'B',
    ]);
    expect(await rows("FOR v IN 1..3 OUTBOUND 'circles/A' edges PRUNE hit = v._key IN ['G', 'C'] RETURN [v._key, hit]")).toEqual([
      ['G', true],
      ['B', false],
      ['E', false],
      ['F', false],
      ['C', true],
    ]);
    // "prune" stays usable as a name
    expect(await rows("FOR v IN 1 OUTBOUND 'circles/A' edges PRUNE prune = v._key == 'B' FILTER prune RETURN v._key")).toEqual(['B']);
    expect(await rows('LET prune = 1 RETURN prune')).toEqual([1]);
  });

  it('belongs to traversals only; its variables must exist', async () => {
    await refused('FOR x IN [1, 2] PRUNE x == 1 RETURN x', /PRUNE belongs to a graph traversal/);
    await refused(
      "FOR v IN OUTBOUND SHORTEST_PATH 'circles/A' TO 'circles/D' edges PRUNE true RETURN v",
      /PRUNE belongs to a graph traversal/,
    );
    await refused("FOR v IN 1..3 OUTBOUND 'circles/A' edges PRUNE v.x == nope RETURN v", /nope/);
    // OPTIONS come after PRUNE, as in ArangoDB
    await refused("FOR v IN 1..3 OUTBOUND 'circles/A' edges OPTIONS {} PRUNE true RETURN v", /PRUNE|syntax/i);
  });
});

describe('collection restrictions', () => {
  it('vertexCollections: other vertices are neither returned nor crossed (the start always is); edgeCollections: edges of others are not followed', async () => {
    expect(await rows("FOR v IN 1..2 OUTBOUND 'g:x' ge OPTIONS {vertexCollections: 'g'} RETURN v._id")).toEqual(['g:y', 'g:x']);
    expect(await rows("FOR v IN 0..2 OUTBOUND 'g:x' ge OPTIONS {vertexCollections: ['h']} RETURN v._id")).toEqual(['g:x', 'h:z']);
    expect(await rows("FOR v IN 1..2 OUTBOUND 'g:x' ge OPTIONS {vertexCollections: []} RETURN v._id")).toEqual(['h:z', 'g:y', 'g:x']);
    expect(await rows("FOR v IN 0..2 OUTBOUND 'g:x' ge OPTIONS {edgeCollections: ['other']} RETURN v._id")).toEqual(['g:x']);
    expect(await rows("FOR v IN 1 OUTBOUND 'g:x' ge OPTIONS {edgeCollections: 'ge'} RETURN v._id")).toEqual(['h:z', 'g:y']);
  });

  it('hints are accepted and change nothing', async () => {
    expect(
      await rows(
        "FOR v IN 1 OUTBOUND 'g:x' ge OPTIONS {parallelism: 4, maxProjections: 2, useCache: false, indexHint: {ge: {outbound: {base: 'edge'}}}} RETURN v._id",
      ),
    ).toEqual(['h:z', 'g:y']);
  });
});

describe('refusals: 400 VALIDATION_FAILED naming the option', () => {
  const q = "FOR v IN 1..3 OUTBOUND 'circles/A' edges";
  it('unknown values', async () => {
    const e = await refused(`${q} OPTIONS {order: "sideways"} RETURN v`, /order: "sideways"/);
    expect(e.details).toMatchObject({ field: 'options', option: 'order' });
    await refused(`${q} OPTIONS {uniqueVertices: "everything"} RETURN v`, /uniqueVertices: "everything"/);
    await refused(`${q} OPTIONS {uniqueEdges: "global"} RETURN v`, /uniqueEdges: 'global' is not supported/);
    await refused(`${q} OPTIONS {uniqueEdges: 1} RETURN v`, /uniqueEdges: 1/);
    await refused(`${q} OPTIONS {bfs: "yes"} RETURN v`, /bfs: "yes"/);
    await refused(`${q} OPTIONS {order: @o} RETURN v`, /order: 1/, { o: 1 });
    await refused(`${q} OPTIONS {vertexCollections: [1]} RETURN v`, /vertexCollections/);
    await refused(`${q} OPTIONS {order: "weighted", defaultWeight: -1} RETURN v`, /defaultWeight: -1.*negative/);
    await refused(`LET o = "bfs" ${q} OPTIONS {order: o} RETURN v`, /order.*constant/);
  });

  it('uniqueVertices "global" needs bfs or weighted (ArangoDB refuses it with dfs)', async () => {
    await refused(
      `${q} OPTIONS {uniqueVertices: "global"} RETURN v`,
      /uniqueVertices: 'global' is only supported, with mode: bfs\|weighted/,
    );
    await refused(`${q} OPTIONS {uniqueVertices: "global", order: "dfs"} RETURN v`, /uniqueVertices/);
    await refused(`${q} OPTIONS {uniqueVertices: "global", order: "bfs", bfs: false} RETURN v`, /uniqueVertices/);
  });

  it('unknown option names', async () => {
    await refused(`${q} OPTIONS {depthFirst: true} RETURN v`, /unsupported graph traversal option "depthFirst"/);
    // SHORTEST_PATH takes weightAttribute and defaultWeight (aql-paths.test.ts), nothing else
    await refused(
      "FOR v IN OUTBOUND SHORTEST_PATH 'circles/A' TO 'circles/D' edges OPTIONS {order: 'bfs'} RETURN v",
      /unsupported SHORTEST_PATH option "order"/,
    );
  });

  it('a negative edge weight fails the weighted traversal', async () => {
    await db.get(Entities).applyBatch([
      { op: 'put', key: 'wv:a', blob: {} },
      { op: 'put', key: 'wv:b', blob: {} },
      { op: 'put', key: 'we:1', blob: { _from: 'wv:a', _to: 'wv:b', w: -2 } },
    ]);
    await refused("FOR v IN 1 OUTBOUND 'wv:a' we OPTIONS {order: 'weighted', weightAttribute: 'w'} RETURN v", /negative edge weight -2/);
    // not weighted: the attribute is not read
    expect(await rows("FOR v IN 1 OUTBOUND 'wv:a' we OPTIONS {weightAttribute: 'w'} RETURN v._id")).toEqual(['wv:b']);
  });
});

describe('start vertex', () => {
  it('an id string ("collection/key" as in ArangoDB, or "collection:key") or a document with _id; anything else: no rows and warning 10', async () => {
    expect(await rows("FOR v IN 1 OUTBOUND 'g:x' ge RETURN v._id")).toEqual(['h:z', 'g:y']);
    expect(await rows("FOR v IN 1 OUTBOUND 'g/x' ge RETURN v._id")).toEqual(['h:z', 'g:y']);
    expect(await rows("FOR s IN g FILTER s._key == 'x' FOR v IN 1 OUTBOUND s ge RETURN v._id")).toEqual(['h:z', 'g:y']);
    for (const start of ['42', 'null', '"x"', '{}', '[]']) {
      const r = (await db.get(Aql).run({ query: `FOR v IN 1 OUTBOUND ${start} ge RETURN v`, bind_vars: {} })) as unknown as {
        entities: unknown[];
        extra: { warnings: { code: number; message: string }[] };
      };
      expect(r.entities, start).toEqual([]);
      expect(r.extra.warnings, start).toEqual([
        { code: 10, message: 'invalid input for traversal: only id strings or objects with _id are allowed' },
      ]);
    }
    // a valid id of a vertex without edges (or without a document): no rows, no warning
    const none = (await db.get(Aql).run({ query: "FOR v IN 1 OUTBOUND 'g:nobody' ge RETURN v", bind_vars: {} })) as unknown as {
      entities: unknown[];
      extra: { warnings: unknown[] };
    };
    expect([none.entities, none.extra.warnings]).toEqual([[], []]);
  });

  it('PRUNE may hold a subquery and functions', async () => {
    expect(await rows("FOR v IN 1..3 OUTBOUND 'circles/A' edges PRUNE v._key IN (FOR k IN ['G', 'B'] RETURN k) RETURN v._key")).toEqual([
      'G',
      'B',
    ]);
    expect(await rows("FOR v IN 1..3 OUTBOUND 'circles/A' edges PRUNE LOWER(v._key) == 'b' RETURN v._key")).toEqual([
      'G',
      'J',
      'K',
      'H',
      'I',
      'B',
    ]);
  });
});

describe('explain', () => {
  it('shows the order, the uniqueness and whether there is a PRUNE', async () => {
    const r = (await db.get(Aql).run({
      query: "FOR v IN 1..3 OUTBOUND 'circles/A' edges PRUNE v._key == 'B' OPTIONS {order: 'bfs'} RETURN v",
      bind_vars: {},
      explain: true,
    })) as unknown as { plan: { steps: Record<string, unknown>[] } };
    expect(r.plan.steps[0]).toMatchObject({ type: 'traversal', order: 'bfs', unique_vertices: 'none', unique_edges: 'path', prune: true });
  });
});
