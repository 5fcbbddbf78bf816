import { performance } from 'node:perf_hooks';
import { postOk, runBatches } from '../lib/batches.js';
import { detectTool, nodeLoadResult } from '../lib/load.js';
import { applyBaselines, median } from '../lib/scenario.js';
import { startThemis, type ThemisServer } from '../lib/server.js';
import { r3, summarize } from '../lib/stats.js';
import type { Area, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, prng } from '../lib/util.js';

/**
 * Area `llm` (issue 19, "Benchmark"; bench/README.md):
 *
 * 1. Insert rate: durable `POST /llm/interaction` of interactions of 4
 *    messages of ~300 characters, 4 requests in flight, interactions/s;
 *    peer in the same run: `PUT /entities` of a document of the same size
 *    (the same fields plus the joined text) into a table with the same
 *    fulltext index — the module's cost over a plain document write.
 *    Rounds alternate; median of the rounds' ratios.
 * 2. Page reads over N interactions (default 20,000): sequential
 *    `GET /llm/interaction?limit=100` pages walked by cursor, newest first,
 *    pages/s and p50/p99; peer: `POST /query/aql`
 *    `FOR i IN _llm_interactions SORT i.id DESC LIMIT @o, 100 RETURN UNSET(i, "content")`
 *    for the same pages (what a client would write without the endpoint).
 */

const WORDS =
  'the a database transaction snapshot isolation version commit conflict reader writer index query planner latency throughput memory disk page cursor model prompt answer token session agent tool call retrieval context window'.split(
    ' ',
  );
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

function text(rnd: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) s += `${WORDS[Math.floor(rnd() * WORDS.length)]} `;
  return s.trim();
}

function interaction(rnd: () => number, i: number) {
  return {
    model: i % 3 === 0 ? 'gpt-4o' : 'claude-sonnet',
    messages: [
      { role: 'system', content: text(rnd, 300) },
      { role: 'user', content: text(rnd, 300) },
      { role: 'assistant', content: text(rnd, 300) },
      { role: 'user', content: text(rnd, 300) },
    ],
    metadata: { session_id: `s${i % 50}`, user: `u${i % 7}` },
    usage: { prompt_tokens: 300, completion_tokens: 80, total_tokens: 380 },
  };
}

export const llmArea: Area = {
  name: 'llm',
  description: 'LLM interaction insert/s vs PUT /entities of the same document; GET /llm/interaction page reads vs AQL SORT/LIMIT pages',
  async run() {
    const tool = detectTool();
    const results: ScenarioResult[] = [];
    const tables: ReportTable[] = [];
    const server = await startThemis({ durability: 'sync' });
    try {
      await ok(server, 'POST', '/index/create', { table: 'peer_llm', column: 'content', type: 'fulltext' });
      const a = await insertRate(server);
      results.push(...a.results);
      tables.push(a.table);
      const b = await pageReads(server);
      results.push(...b.results);
      tables.push(b.table);
    } finally {
      await server.stop();
    }
    applyBaselines(results);
    return {
      title: 'llm (interaction inserts, page reads)',
      tool: `${tool.version}; node fetch`,
      scenarios: results,
      tables,
      notes: [
        'Inserts: durable (THEMIS_DURABILITY=sync), 4 requests in flight, interactions of 4 messages of ~300 characters; ratio = interactions/s ÷ PUT /entities/s of a document of the same size into a table with the same fulltext index (median of the rounds).',
        'Pages: sequential requests of 100 interactions, newest first; ratio = pages/s of GET /llm/interaction ÷ pages/s of the AQL peer over the same pages.',
      ],
    };
  },
};

async function ok(server: ThemisServer, method: string, p: string, body: unknown): Promise<string> {
  const r = await server.req(method, p, body === undefined ? undefined : JSON.stringify(body));
  const t = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p} answered ${r.status}: ${t.slice(0, 300)}`);
  return t;
}

function scenario(name: string, description: string, method: string, path: string, latencies: number[], seconds: number, requests: number) {
  return {
    name,
    description,
    server: 'themis (sync)',
    method,
    path,
    load: nodeLoadResult({ latencies, durationS: seconds, requests, toolVersion: 'node fetch', raw: '' }),
    valid: true,
    problems: [],
    warnings: [],
  } as ScenarioResult;
}

// ------------------------------------------------------------------ 1. inserts

async function insertRate(server: ThemisServer): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const rounds = Math.round(envNumber('BENCH_LLM_ROUNDS', 3));
  const perRound = Math.round(envNumber('BENCH_LLM_INSERTS', 1000));
  const rnd = prng(19);
  const bodies = Array.from({ length: 200 }, (_, i) => interaction(rnd, i));
  const llmBodies = bodies.map((b) => JSON.stringify(b));
  // The peer's document: what the module stores (id, created_at, the fields, the joined text).
  const peerBodies = bodies.map((b) =>
    JSON.stringify({
      blob: JSON.stringify({
        id: '01890000-0000-7000-8000-000000000000',
        created_at: new Date().toISOString(),
        ...b,
        content: b.messages.map((m) => m.content).join('\n'),
      }),
    }),
  );
  const llm: number[] = [];
  const peer: number[] = [];
  const lat: Record<'llm' | 'peer', number[]> = { llm: [], peer: [] };
  const rows: string[][] = [];
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 === 0 ? (['llm', 'peer'] as const) : (['peer', 'llm'] as const)) {
      log(`llm: round ${round + 1}/${rounds}: ${kind} ${perRound} inserts`);
      const stats = await runBatches(perRound, 1, 4, async (i) => {
        const t0 = performance.now();
        if (kind === 'llm') await postOk(server, '/llm/interaction', llmBodies[i % llmBodies.length]!, 'insert');
        else {
          const r = await server.req('PUT', `/entities/peer_llm:r${round}-${i}`, peerBodies[i % peerBodies.length]!);
          const t = await r.text();
          if (r.status !== 201) throw new Error(`PUT /entities answered ${r.status}: ${t.slice(0, 200)}`);
        }
        lat[kind].push(performance.now() - t0);
      });
      (kind === 'llm' ? llm : peer).push(stats.perS);
    }
    rows.push([String(round + 1), fmt(llm[round]!), fmt(peer[round]!), `${((llm[round]! / peer[round]!) * 100).toFixed(1)}%`]);
  }
  const ratios = llm.map((x, i) => x / peer[i]!);
  const a = scenario(
    'insert',
    'POST /llm/interaction: 4 messages × ~300 chars, durable, 4 in flight (interactions/s)',
    'POST',
    '/llm/interaction',
    lat.llm,
    (rounds * perRound) / median(llm),
    rounds * perRound,
  );
  a.baseline = 'insert-peer';
  a.metrics = { per_s_median: Math.round(median(llm)), median_round_ratio: r3(median(ratios)) };
  const b = scenario(
    'insert-peer',
    'PUT /entities of the same document into a table with a fulltext index on the text',
    'PUT',
    '/entities/{key}',
    lat.peer,
    (rounds * perRound) / median(peer),
    rounds * perRound,
  );
  b.metrics = { per_s_median: Math.round(median(peer)) };
  return {
    results: [a, b],
    table: {
      title: `Inserts: interactions/s (durable, 4 in flight, ${perRound} per round)`,
      columns: ['round', 'POST /llm/interaction', 'PUT /entities (peer)', 'ratio'],
      rows: [...rows, ['median', fmt(median(llm)), fmt(median(peer)), `**${(median(ratios) * 100).toFixed(1)}%**`]],
    },
  };
}

// ------------------------------------------------------------------ 2. pages

async function pageReads(server: ThemisServer): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const n = Math.round(envNumber('BENCH_LLM_ITEMS', 20_000));
  const pagesMax = Math.round(envNumber('BENCH_LLM_PAGES', 100));
  const rnd = prng(23);
  const bodies = Array.from({ length: 200 }, (_, i) => JSON.stringify(interaction(rnd, i)));
  // Count what the insert rounds left, then load up to n.
  let count = 0;
  let after: string | undefined;
  do {
    const p = JSON.parse(await ok(server, 'GET', `/llm/interaction?limit=1000${after ? `&after=${after}` : ''}`, undefined)) as {
      items: unknown[];
      next?: string;
    };
    count += p.items.length;
    after = p.next;
  } while (after);
  const load = Math.max(0, n - count);
  log(`llm: loading ${load} interactions (${count} exist)`);
  await runBatches(load, 1, 8, async (i) => {
    await postOk(server, '/llm/interaction', bodies[i % bodies.length]!, 'load');
  });
  const total = count + load;
  const pages = Math.min(pagesMax, Math.floor(total / 100));
  const walk = async (kind: 'llm' | 'aql'): Promise<{ lat: number[]; seconds: number; ids: string[] }> => {
    const lat: number[] = [];
    const ids: string[] = [];
    let cursor: string | undefined;
    const t0 = performance.now();
    for (let p = 0; p < pages; p++) {
      const s = performance.now();
      if (kind === 'llm') {
        const r = JSON.parse(await ok(server, 'GET', `/llm/interaction?limit=100${cursor ? `&after=${cursor}` : ''}`, undefined)) as {
          items: { id: string }[];
          next?: string;
        };
        cursor = r.next;
        ids.push(r.items[0]!.id);
      } else {
        const r = JSON.parse(
          await ok(server, 'POST', '/query/aql', {
            query: 'FOR i IN _llm_interactions SORT i.id DESC LIMIT @o, 100 RETURN UNSET(i, "content")',
            bindVars: { o: p * 100 },
          }),
        ) as { entities: (string | { id: string })[] };
        const e = r.entities[0]!;
        ids.push(typeof e === 'string' ? (JSON.parse(e) as { id: string }).id : e.id);
      }
      lat.push(performance.now() - s);
    }
    return { lat, seconds: (performance.now() - t0) / 1000, ids };
  };
  log(`llm: ${pages} pages of 100 over ${total} interactions, GET /llm/interaction then AQL`);
  await walk('llm'); // warm-up
  const a = await walk('llm');
  const b = await walk('aql');
  if (a.ids.join() !== b.ids.join()) log('llm: warning: the AQL pages differ from the endpoint pages (inserts between the walks?)');
  const sa = summarize(a.lat);
  const sb = summarize(b.lat);
  const x = scenario(
    'page',
    `GET /llm/interaction?limit=100 by cursor over ${total} interactions`,
    'GET',
    '/llm/interaction',
    a.lat,
    a.seconds,
    pages,
  );
  x.baseline = 'page-aql-peer';
  x.metrics = { interactions: total, pages };
  const y = scenario(
    'page-aql-peer',
    'POST /query/aql FOR i IN _llm_interactions SORT i.id DESC LIMIT @o, 100',
    'POST',
    '/query/aql',
    b.lat,
    b.seconds,
    pages,
  );
  const r1 = (v: number) => (Math.round(v * 10) / 10).toString();
  return {
    results: [x, y],
    table: {
      title: `Pages of 100, newest first, over ${fmt(total)} interactions (${pages} pages, sequential)`,
      columns: ['', 'pages/s', 'p50 ms', 'p99 ms'],
      rows: [
        ['GET /llm/interaction', fmt(pages / a.seconds), r1(sa.p50), r1(sa.p99)],
        ['AQL SORT … LIMIT @o, 100 (peer)', fmt(pages / b.seconds), r1(sb.p50), r1(sb.p99)],
        ['ratio', `**${(b.seconds / a.seconds).toFixed(2)}×**`, '', ''],
      ],
    },
  };
}
