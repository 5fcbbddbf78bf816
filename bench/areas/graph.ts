import { traverse, type Adjacent, type NeighborSource } from '../../src/graph/index.js';
import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { postOk, runBatches, type LoadStats } from '../lib/batches.js';
import { expect, runFlows, type Flow } from '../lib/flows.js';
import { sequentialLoad, type LoadResult } from '../lib/load.js';
import { applyBaselines, runScenario } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3 } from '../lib/stats.js';
import type { Area, ScenarioResult } from '../lib/types.js';
import { log, prng } from '../lib/util.js';

/** Graph shape: 100k edges over 22k vertices (mean out-degree ≈ 4.5), fixed seed. */
const VERTICES = 22_000;
const EDGES = 100_000;
const SEED = 0x5eed_0005;
/** POST /transaction operations per load batch, and batches in flight. */
const BATCH = 1_000;
const LOAD_CONCURRENCY = 4;
/** Concurrent HTTP clients for the traversal scenarios. */
const CLIENTS = 16;
/** Start vertices, drawn once (fixed seed) and shared by the HTTP and in-memory runs. */
const STARTS = 20_000;
/** Start vertices whose HTTP result is compared with the in-memory BFS before measuring. */
const CHECKS = 200;
const DEPTHS = [1, 2, 3] as const;

const JSON_HDR = 'Content-Type: application/json\r\n';
const AUTH_LINE = `Authorization: ${AUTH_HEADER}\r\n`;

interface Graph {
  /** edge i: from[i] → to[i] (vertex numbers); key `e:<i>`. */
  from: Uint32Array;
  to: Uint32Array;
  /** Outbound adjacency `v:<n>` → neighbours in edge-key order (as the server's index returns them). */
  out: Map<string, Adjacent[]>;
  starts: string[];
}

function generate(): Graph {
  const rnd = prng(SEED);
  const from = new Uint32Array(EDGES);
  const to = new Uint32Array(EDGES);
  for (let i = 0; i < EDGES; i++) {
    const a = Math.floor(rnd() * VERTICES);
    let b = Math.floor(rnd() * VERTICES);
    if (b === a) b = (b + 1) % VERTICES; // no self-loops
    from[i] = a;
    to[i] = b;
  }
  const out = new Map<string, Adjacent[]>();
  for (let i = 0; i < EDGES; i++) {
    const v = `v:${from[i]}`;
    let l = out.get(v);
    if (!l) out.set(v, (l = []));
    l.push({ edge: `e:${i}`, vertex: `v:${to[i]}` });
  }
  // The server scans the adjacency index in key order: `e:10` < `e:9` (strings).
  for (const l of out.values()) l.sort((x, y) => (x.edge < y.edge ? -1 : x.edge > y.edge ? 1 : 0));
  const starts = Array.from({ length: STARTS }, () => `v:${Math.floor(rnd() * VERTICES)}`);
  return { from, to, out, starts };
}

const EMPTY: Adjacent[] = [];

/** In-memory neighbour source over the generated adjacency (outbound only, as measured). */
function memorySource(g: Graph): NeighborSource {
  return async (v, d) => {
    if (d !== 'outbound') throw new Error('in-memory source: outbound only');
    return g.out.get(v) ?? EMPTY;
  };
}

function traverseBody(start: string, depth: number): string {
  return `{"start_vertex":"${start}","max_depth":${depth},"direction":"outbound"}`;
}

/** Load all edges with POST /transaction batches; `perS` is edges/s. */
function loadEdges(server: ThemisServer, g: Graph): Promise<LoadStats> {
  return runBatches(EDGES, BATCH, LOAD_CONCURRENCY, async (b) => {
    const ops: string[] = [];
    for (let i = b * BATCH; i < Math.min(EDGES, (b + 1) * BATCH); i++) {
      ops.push(`{"op":"put","key":"e:${i}","blob":{"_from":"v:${g.from[i]}","_to":"v:${g.to[i]}"}}`);
    }
    await postOk(server, '/transaction', `{"operations":[${ops.join(',')}]}`, `load batch ${b}`);
  });
}

/** Per-scenario facts for the area table. */
interface Extra {
  depth: number;
  clients: number;
  visitedSum: number;
  traversals: number;
  driver: string;
}

/**
 * Graph traversal: POST /graph/traverse outbound BFS at depth 1/2/3 from
 * random start vertices of a 100k-edge pseudo-random graph, against an
 * in-process BFS over the same adjacency in a JS Map (the pure `traverse`
 * the server uses) and the bare uWS POST ceiling. Also the edge load rate.
 */
export const graphArea: Area = {
  name: 'graph',
  description:
    'BFS depth 1/2/3 traversals/s on a 100k-edge graph (16 clients) vs in-memory BFS and bare uWS ceilings; edge load rate (durability relaxed)',
  async run({ settings }) {
    const results: ScenarioResult[] = [];
    const extras = new Map<string, Extra>();
    const jsWarmupS = Math.min(settings.warmupS, 2);
    const memDurationS = Math.min(settings.durationS, 3);
    let server: ThemisServer | undefined;
    let bare: BareUws | undefined;
    let load: LoadStats | undefined;
    const meanVisitedCheck = new Map<number, number>();
    const g = generate();
    const source = memorySource(g);
    log(
      `graph: ${VERTICES} vertices, ${EDGES} edges (mean out-degree ${(EDGES / VERTICES).toFixed(2)}, ${g.out.size} vertices with out-edges), seed 0x${SEED.toString(16)}`,
    );
    try {
      server = await startThemis({ durability: 'relaxed' });
      const srv = server;
      log(`graph: loading ${EDGES} edges in batches of ${BATCH} (${LOAD_CONCURRENCY} in flight)`);
      load = await loadEdges(srv, g);
      log(
        `graph: loaded in ${load.seconds.toFixed(2)} s = ${Math.round(load.perS)} edges/s (batch p50 ${load.batchP50Ms.toFixed(1)} ms, p99 ${load.batchP99Ms.toFixed(1)} ms)`,
      );

      // Correctness check: HTTP BFS == in-memory BFS for the first CHECKS start vertices, per depth.
      const problems: string[] = [];
      const orderWarnings: string[] = [];
      let repBody: Buffer | undefined;
      for (const depth of DEPTHS) {
        let sum = 0;
        const mems: number[] = [];
        for (let i = 0; i < CHECKS; i++) {
          const start = g.starts[i]!;
          const want = await traverse(source, { start, maxDepth: depth, direction: 'outbound' });
          mems.push(want.length);
          const r = await srv.req('POST', '/graph/traverse', traverseBody(start, depth));
          const body = Buffer.from(await r.arrayBuffer());
          if (r.status !== 200) {
            problems.push(`check ${start} depth ${depth}: HTTP ${r.status}: ${body.toString().slice(0, 200)}`);
            continue;
          }
          const got = JSON.parse(body.toString()) as { visited_count: number; visited: string[] };
          sum += got.visited_count;
          if (got.visited_count !== want.length || got.visited.length !== want.length)
            problems.push(`check ${start} depth ${depth}: visited_count ${got.visited_count}, in-memory BFS ${want.length}`);
          else if (got.visited.join() !== want.join()) {
            if ([...got.visited].sort().join() !== [...want].sort().join())
              problems.push(`check ${start} depth ${depth}: different vertex sets than the in-memory BFS`);
            else orderWarnings.push(`${start}@${depth}`);
          }
        }
        const meanMem = mems.reduce((a, b) => a + b, 0) / mems.length;
        meanVisitedCheck.set(depth, sum / CHECKS);
        if (depth === 3) {
          // Representative reply for the bare ceiling: the check start whose depth-3 count is closest to the mean.
          let bi = 0;
          for (let i = 1; i < mems.length; i++) if (Math.abs(mems[i]! - meanMem) < Math.abs(mems[bi]! - meanMem)) bi = i;
          const r = await srv.req('POST', '/graph/traverse', traverseBody(g.starts[bi]!, 3));
          repBody = Buffer.from(await r.arrayBuffer());
        }
      }
      if (problems.length > 0)
        throw new Error(`graph: HTTP traversal disagrees with the in-memory BFS:\n${problems.slice(0, 10).join('\n')}`);
      log(
        `graph: ${CHECKS} start vertices × depths 1–3 agree with the in-memory BFS${orderWarnings.length > 0 ? ` (${orderWarnings.length} with a different BFS order)` : ' (same BFS order)'}; mean visited ${DEPTHS.map((d) => `d${d} ${meanVisitedCheck.get(d)!.toFixed(1)}`).join(', ')}`,
      );

      bare = await startBareUws({
        getBody: Buffer.from('{}'),
        putBody: Buffer.from('{}'),
        putStatus: '200 OK',
        routes: [{ method: 'POST', path: '/graph/traverse', status: '200 OK', body: repBody! }],
      });
      log(`graph: bare uWS answers POST /graph/traverse with a ${repBody!.length}-byte depth-3 reply`);

      // ------------------------------------------------ HTTP: JS driver, 16 clients
      const httpFlow = (depth: number, acc: { visited: number; n: number }): Flow => {
        const pos: number[] = [];
        return async (conn, ctx) => {
          // Client c walks the shared start list from its own offset.
          const i = (pos[ctx.client] = ((pos[ctx.client] ?? Math.floor((ctx.client * STARTS) / CLIENTS)) + 1) % STARTS);
          const reply = expect(
            await conn.request('POST', '/graph/traverse', ctx.headers + JSON_HDR, traverseBody(g.starts[i]!, depth)),
            200,
            'POST /graph/traverse',
          );
          const m = /"visited_count":(\d+)/.exec(reply.body.toString('latin1'));
          if (m) {
            acc.visited += Number(m[1]);
            acc.n++;
          }
          return { requests: 1, done: true };
        };
      };
      const httpScenario = async (
        name: string,
        depth: number,
        target: 'bare' | 'themis',
        description: string,
        baseline?: string,
        extraBaselines?: string[],
      ) => {
        const base = target === 'bare' ? bare!.base : srv.base;
        let acc = { visited: 0, n: 0 };
        const r = await runScenario(
          {
            name,
            description,
            server: target === 'bare' ? 'bare uWS' : 'themis (relaxed)',
            load: { base, method: 'POST', path: `/graph/traverse (depth ${depth}, outbound)`, headers: {} },
            ...(target === 'themis'
              ? { themis: { server: srv, route: '/graph/traverse' } }
              : bare!.pid !== undefined
                ? { serverPid: bare!.pid }
                : {}),
            ...(baseline !== undefined ? { baseline } : {}),
            ...(extraBaselines !== undefined ? { extraBaselines } : {}),
            warmupS: jsWarmupS,
            connections: CLIENTS,
            run: async (durationS) => {
              acc = { visited: 0, n: 0 };
              return runFlows({ base, clients: CLIENTS, durationS, headers: AUTH_LINE, flow: httpFlow(depth, acc) });
            },
          },
          settings,
        );
        extras.set(name, { depth, clients: CLIENTS, visitedSum: acc.visited, traversals: acc.n, driver: 'JS (raw socket)' });
        results.push(r);
        return r;
      };

      // ------------------------------------------------ in-memory BFS ceiling (this process, one thread)
      const memScenario = async (depth: number) => {
        const name = `inmem-bfs-d${depth}`;
        let acc = { visited: 0, n: 0 };
        const traverseOne = sequentialLoad({
          what: `in-memory traversal (depth ${depth})`,
          n: STARTS,
          toolVersion: 'traverse() from dist/src/graph/index.js over a JS Map',
          one: async (i) => {
            const v = await traverse(source, { start: g.starts[i]!, maxDepth: depth, direction: 'outbound' });
            acc.visited += v.length;
            acc.n++;
          },
        });
        const runMem = (durationS: number): Promise<LoadResult> => {
          acc = { visited: 0, n: 0 };
          return traverseOne(durationS);
        };
        const r = await runScenario(
          {
            name,
            description: `Ceiling: the server's own pure BFS (\`traverse\` from dist/src/graph/index.js) run in the bench process, one traversal after another on one thread, over the same ${EDGES}-edge adjacency held in a JS Map (neighbours in edge-key order, as the index returns them). No HTTP, no JSON, no LevelDB.`,
            server: 'in-process (JS Map)',
            load: { base: 'in-process', method: 'POST', path: `traverse(depth ${depth}, outbound)`, headers: {} },
            warmupS: Math.min(settings.warmupS, 1),
            connections: 1,
            run: runMem,
          },
          { ...settings, durationS: memDurationS },
        );
        extras.set(name, { depth, clients: 1, visitedSum: acc.visited, traversals: acc.n, driver: 'in-process' });
        results.push(r);
      };

      for (const depth of DEPTHS) await memScenario(depth);
      await httpScenario(
        'bare-uws-post',
        3,
        'bare',
        `Ceiling: the same JS driver (${CLIENTS} clients) POSTing /graph/traverse bodies to a bare uWS app in its own process that reads each body and answers 200 with the exact ${repBody!.length} bytes of a representative depth-3 themis reply. No routing, auth, JSON parsing, storage or BFS.`,
      );
      for (const depth of DEPTHS) {
        await httpScenario(
          `http-bfs-d${depth}`,
          depth,
          'themis',
          `POST /graph/traverse {"start_vertex":"v:<random>","max_depth":${depth},"direction":"outbound"} from ${CLIENTS} concurrent clients (JS raw-socket driver, closed loop), start vertices rotating through a fixed list of ${STARTS}; BFS over the adjacency index in LevelDB.`,
          `inmem-bfs-d${depth}`,
          ['bare-uws-post'],
        );
      }
    } finally {
      await Promise.allSettled([server?.stop(), bare?.stop()]);
    }
    applyBaselines(results);

    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const ms = (n: number) =>
      Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 0.1 ? n.toFixed(2) : n.toFixed(3)) : '';
    const rows: string[][] = [];
    for (const r of results) {
      const e = extras.get(r.name);
      if (!e) continue;
      const meanVisited = e.traversals > 0 ? e.visitedSum / e.traversals : NaN;
      const isBare = r.server === 'bare uWS';
      r.metrics = {
        ...(r.metrics ?? {}),
        depth: e.depth,
        clients: e.clients,
        traversals_per_s: r3(r.load.rps),
        ...(isBare ? {} : { mean_visited_count: r3(meanVisited), vertices_visited_per_s: r3(r.load.rps * meanVisited) }),
      };
      rows.push([
        r.valid ? r.name : `${r.name} **INVALID**`,
        r.server,
        e.driver,
        String(e.depth),
        String(e.clients),
        isBare ? `(${fmt(r.load.rps)})` : fmt(r.load.rps),
        ms(r.load.p50Ms),
        ms(r.load.p99Ms),
        isBare ? '' : meanVisited.toFixed(1),
        isBare ? '' : fmt(r.load.rps * meanVisited),
        r.ratio !== undefined ? `${(r.ratio * 100).toFixed(1)}%` : '',
        r.extraRatios?.['bare-uws-post'] !== undefined ? `${(r.extraRatios['bare-uws-post'] * 100).toFixed(1)}%` : '',
      ]);
    }
    const l = load!;
    return {
      title: `graph (BFS traversals/s on a ${EDGES / 1000}k-edge graph; durability relaxed)`,
      tool: `node raw-socket HTTP/1.1 driver (bench/lib/http-client.ts), ${CLIENTS} clients; in-process traverse() for the ceiling`,
      rateLabel: 'traversals/s',
      scenarios: results,
      tables: [
        {
          title: 'Edge load',
          columns: [
            'edges',
            'vertices',
            'mean out-degree',
            'batch (ops)',
            'batches in flight',
            'seconds',
            'edges/s',
            'batch p50 ms',
            'batch p99 ms',
          ],
          rows: [
            [
              fmt(EDGES),
              fmt(VERTICES),
              (EDGES / VERTICES).toFixed(2),
              fmt(BATCH),
              String(LOAD_CONCURRENCY),
              l.seconds.toFixed(2),
              fmt(l.perS),
              ms(l.batchP50Ms),
              ms(l.batchP99Ms),
            ],
          ],
          notes: [
            `Edges \`e:<n>\` = {"_from":"v:<a>","_to":"v:<b>"} written with POST /transaction (${BATCH} put operations per atomic batch, ${LOAD_CONCURRENCY} batches in flight, THEMIS_DURABILITY=relaxed); each write also maintains the out- and in-adjacency indexes and the change log. Vertices are not stored as entities (a traversal's start vertex need not exist).`,
            `Graph: mulberry32 PRNG, seed 0x${SEED.toString(16)}, uniform random endpoints (no self-loops; parallel edges possible).`,
          ],
        },
        {
          title: 'Traversals',
          columns: [
            'Scenario',
            'Server',
            'Driver',
            'depth',
            'clients',
            'traversals/s',
            'p50 ms',
            'p99 ms',
            'mean visited_count',
            'vertices visited/s',
            'vs in-memory',
            'vs bare uWS',
          ],
          rows,
          notes: [
            "vs in-memory = HTTP traversals/s ÷ in-process traversals/s at the same depth (the same BFS function over the same adjacency in a JS Map, one thread): the share of the pure algorithm's speed left after HTTP, JSON, auth and the LevelDB adjacency scans.",
            'vs bare uWS = traversals/s ÷ the bare uWS POST ceiling (same driver, 16 clients, a depth-3-sized reply): how close the endpoint is to what the HTTP stack alone can answer.',
            `Before measuring, ${CHECKS} start vertices per depth were traversed over HTTP and compared with the in-memory BFS (same visited_count and vertex set, else the run aborts).`,
          ],
        },
      ],
      notes: [
        `Graph: ${EDGES} edges over ${VERTICES} vertices (mean out-degree ${(EDGES / VERTICES).toFixed(2)}), deterministic (fixed seed); all traversals outbound from start vertices drawn once from the same seed, shared by HTTP and in-memory runs.`,
        `HTTP scenarios: ${CLIENTS} closed-loop clients of the raw-socket JS driver in the bench process (pinned to the load-generator CPU), ${jsWarmupS} s warm-up. In-memory scenarios: ${memDurationS} s each, one traversal at a time in the bench process.`,
        `Edge load: ${fmt(l.perS)} edges/s (${l.seconds.toFixed(2)} s for ${fmt(EDGES)} edges) via POST /transaction.`,
        'Server, bare uWS and driver share this machine; on 2 cores the driver competes with the server for CPU (ratios are more stable than absolute numbers).',
      ],
    };
  },
};
