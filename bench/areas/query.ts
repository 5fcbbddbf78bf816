import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { postOk, runBatches, type LoadStats } from '../lib/batches.js';
import { detectTool } from '../lib/load.js';
import { applyBaselines, runScenario } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3 } from '../lib/stats.js';
import type { Area, ScenarioResult } from '../lib/types.js';
import { log } from '../lib/util.js';

/** Data set: users:<n> for n < ROWS; city c<n % CITIES> (~1,000 rows each), zip z<n % ZIPS> (~10 rows each), age n % AGES. */
const ROWS = 100_000;
const CITIES = 100;
const ZIPS = 10_000;
const AGES = 80;
/** POST /transaction operations per load batch, and batches in flight. */
const BATCH = 1_000;
const LOAD_CONCURRENCY = 4;
/** Range window width in age units (gte a, lte a + RANGE_WIDTH). */
const RANGE_WIDTH = 10;
/** Reference implementation's claimed backfill rate, and the aim. */
const BACKFILL_REFERENCE = 12_000;
const BACKFILL_AIM = 100_000;

const ROUTE = '/query';
const JSON_HDR = { 'Content-Type': 'application/json' };

interface QueryReply {
  count?: number;
  keys?: string[];
  entities?: unknown[];
  results?: unknown[];
  items?: unknown[];
  [k: string]: unknown;
}

/** Rows in a /query reply (its array), whatever the return mode. */
function rowsOf(j: QueryReply): unknown[] {
  for (const k of ['keys', 'entities', 'results', 'items', 'rows'] as const) {
    const v = j[k];
    if (Array.isArray(v)) return v;
  }
  throw new Error(`query reply has no keys/entities array: ${JSON.stringify(j).slice(0, 300)}`);
}

/** The age of a returned entity, wherever the reply puts the blob. */
function ageOf(e: unknown): number | undefined {
  if (typeof e === 'string') {
    // Entities come back as their stored blob text.
    try {
      e = JSON.parse(e) as unknown;
    } catch {
      return undefined;
    }
  }
  if (e === null || typeof e !== 'object') return undefined;
  const o = e as Record<string, unknown>;
  if (typeof o.age === 'number') return o.age;
  for (const k of ['blob', 'value', 'entity', 'data']) {
    const inner = o[k];
    if (inner && typeof inner === 'object' && typeof (inner as Record<string, unknown>).age === 'number')
      return (inner as Record<string, number>).age;
  }
  return undefined;
}

const eqBody = (column: string, value: string) =>
  `{"table":"users","predicates":[{"column":"${column}","value":"${value}"}],"return":"keys"}`;
const rangeBody = (lo: number) =>
  `{"table":"users","range":[{"column":"age","gte":"${lo}","lte":"${lo + RANGE_WIDTH}"}],"order_by":{"column":"age","desc":false,"limit":10},"return":"entities"}`;
const ORDER_BODY = '{"table":"users","order_by":{"column":"age","desc":true,"limit":10}}';

/** Load the users with POST /transaction batches. */
function loadUsers(server: ThemisServer): Promise<LoadStats> {
  return runBatches(ROWS, BATCH, LOAD_CONCURRENCY, async (b) => {
    const ops: string[] = [];
    for (let n = b * BATCH; n < Math.min(ROWS, (b + 1) * BATCH); n++) {
      ops.push(
        `{"op":"put","key":"users:${n}","blob":{"city":"c${n % CITIES}","zip":"z${n % ZIPS}","age":${n % AGES},"name":"user number ${n}"}}`,
      );
    }
    await postOk(server, '/transaction', `{"operations":[${ops.join(',')}]}`, `load batch ${b}`);
  });
}

interface Backfill {
  spec: string;
  seconds: number;
  perS: number;
  state: string;
}

/**
 * Secondary-index queries over 100k entities: POST /query equality (via a
 * hash/equality index), range + order_by + limit 10 and order_by-only (via a
 * range index), at 16 and 64 connections, against GET /entities/{key} and the
 * bare uWS POST ceiling; plus the index backfill rate of POST /index/create.
 */
export const queryArea: Area = {
  name: 'query',
  description:
    'POST /query equality / range+order_by+limit / order_by over 100k entities at 16 and 64 connections vs GET entity and bare uWS POST ceilings; index backfill entities/s (durability relaxed)',
  async run({ settings }) {
    const tool = detectTool();
    const results: ScenarioResult[] = [];
    const rowsPerQuery = new Map<string, number>();
    const durationS = Math.min(settings.durationS, 8);
    const warmupS = Math.min(settings.warmupS, 2);
    const s2 = { ...settings, durationS, warmupS };
    let server: ThemisServer | undefined;
    let bare: BareUws | undefined;
    let load: LoadStats | undefined;
    const backfills: Backfill[] = [];
    const checks: string[] = [];
    try {
      server = await startThemis({ durability: 'relaxed' });
      const srv = server;
      log(`query: loading ${ROWS} users in batches of ${BATCH} (${LOAD_CONCURRENCY} in flight)`);
      load = await loadUsers(srv);
      log(`query: loaded in ${load.seconds.toFixed(2)} s = ${Math.round(load.perS)} entities/s`);

      // ------------------------------------------------ index backfill (each create returns when the index is ready)
      for (const [column, type] of [
        ['city', undefined],
        ['zip', undefined],
        ['age', 'range'],
      ] as const) {
        const body = JSON.stringify({ table: 'users', column, ...(type ? { type } : {}) });
        const { text, ms } = await postOk(srv, '/index/create', body, `index create ${column}`);
        const j = JSON.parse(text) as { state?: string; type?: string };
        const b: Backfill = {
          spec: `users.${column} (${j.type ?? type ?? 'equality'})`,
          seconds: ms / 1000,
          perS: ROWS / (ms / 1000),
          state: j.state ?? '?',
        };
        backfills.push(b);
        log(`query: index ${b.spec}: ${ms.toFixed(0)} ms = ${Math.round(b.perS)} entities/s (state ${b.state})`);
      }

      // ------------------------------------------------ correctness, once, before timing
      const cityBodies = Array.from({ length: CITIES }, (_, k) => eqBody('city', `c${k}`));
      const zipBodies = Array.from({ length: 1_000 }, (_, k) => eqBody('zip', `z${(k * 7) % ZIPS}`));
      const rangeBodies = Array.from({ length: AGES - RANGE_WIDTH }, (_, lo) => rangeBody(lo));
      const problems: string[] = [];
      let eqReply = '';
      for (const k of [0, 17, 99]) {
        const { text } = await postOk(srv, ROUTE, cityBodies[k]!, `check city c${k}`);
        const j = JSON.parse(text) as QueryReply;
        const keys = rowsOf(j) as string[];
        const want = Math.floor(ROWS / CITIES) + (k < ROWS % CITIES ? 1 : 0);
        if (keys.length !== want) problems.push(`city c${k}: ${keys.length} keys, loaded ${want}`);
        if (j.count !== undefined && j.count !== keys.length) problems.push(`city c${k}: count ${j.count} != ${keys.length} keys`);
        const bad = keys.find((key) => Number(String(key).replace(/^users:/, '')) % CITIES !== k);
        if (bad !== undefined) problems.push(`city c${k}: returned ${bad}`);
        if (k === 17) eqReply = text;
      }
      rowsPerQuery.set('eq', ROWS / CITIES);
      {
        const { text } = await postOk(srv, ROUTE, eqBody('zip', 'z42'), 'check zip z42');
        const keys = rowsOf(JSON.parse(text) as QueryReply) as string[];
        const want = ROWS / ZIPS;
        if (keys.length !== want) problems.push(`zip z42: ${keys.length} keys, loaded ${want}`);
        rowsPerQuery.set('eq-sel', keys.length);
      }
      {
        const { text } = await postOk(srv, ROUTE, rangeBody(25), 'check range 25..35');
        const rows = rowsOf(JSON.parse(text) as QueryReply);
        const ages = rows.map(ageOf);
        if (rows.length !== 10) problems.push(`range 25..35 limit 10: ${rows.length} rows`);
        if (ages.some((a) => a !== 25)) problems.push(`range 25..35 asc limit 10: ages ${JSON.stringify(ages)} (want ten 25s)`);
        rowsPerQuery.set('range', rows.length);
      }
      {
        const { text } = await postOk(srv, ROUTE, ORDER_BODY, 'check order_by desc');
        const rows = rowsOf(JSON.parse(text) as QueryReply);
        if (rows.length !== 10) problems.push(`order_by desc limit 10: ${rows.length} rows`);
        const ages = rows.map(ageOf);
        if (ages.some((a) => a !== AGES - 1)) problems.push(`order_by age desc: ages ${JSON.stringify(ages)} (want ${AGES - 1})`);
        rowsPerQuery.set('order', rows.length);
      }
      if (problems.length > 0) throw new Error(`query: correctness check failed:\n${problems.join('\n')}`);
      checks.push(
        `city c0/c17/c99 each return exactly the ${ROWS / CITIES} loaded keys of that city; zip z42 returns ${ROWS / ZIPS}; range age 25..35 asc limit 10 returns ten rows of age 25; order_by age desc limit 10 returns ten rows of age ${AGES - 1}.`,
      );
      log(`query: correctness checks passed (equality reply ${eqReply.length} bytes)`);

      const getPath = '/entities/users:4242';
      const getRes = await srv.req('GET', getPath);
      const getBytes = Buffer.from(await getRes.arrayBuffer());
      if (getRes.status !== 200) throw new Error(`GET ${getPath}: ${getRes.status}`);
      bare = await startBareUws({
        getBody: getBytes,
        putBody: Buffer.from('{}'),
        putStatus: '200 OK',
        routes: [{ method: 'POST', path: ROUTE, status: '200 OK', body: Buffer.from(eqReply) }],
      });

      const auth = { Authorization: AUTH_HEADER };
      results.push(
        await runScenario(
          {
            name: 'bare-uws-post',
            description: `Ceiling: wrk POSTing the same rotating equality bodies to a bare uWS app in its own process that reads each body and answers 200 with the exact ${eqReply.length} bytes of a themis equality reply (${ROWS / CITIES} keys). No routing, auth, JSON parsing, index or storage.`,
            server: 'bare uWS',
            load: { base: bare.base, method: 'POST', path: ROUTE, headers: { ...auth, ...JSON_HDR }, bodies: cityBodies },
            serverPid: bare.pid!,
          },
          s2,
        ),
      );
      results.push(
        await runScenario(
          {
            name: 'get-entity',
            description: `Ceiling on the real server: GET ${getPath} (one entity, ${getBytes.length}-byte reply; routing, auth, one LevelDB read) on the same 100k-entity database.`,
            server: 'themis (relaxed)',
            load: { base: srv.base, method: 'GET', path: getPath, headers: auth },
            themis: { server: srv, route: '/entities/:key' },
          },
          s2,
        ),
      );
      const q = async (name: string, connections: number, bodies: string[], rowsKey: string, description: string) => {
        const r = await runScenario(
          {
            name,
            description,
            server: 'themis (relaxed)',
            load: { base: srv.base, method: 'POST', path: ROUTE, headers: { ...auth, ...JSON_HDR }, bodies },
            themis: { server: srv, route: ROUTE },
            baseline: 'get-entity',
            extraBaselines: ['bare-uws-post'],
            connections,
          },
          s2,
        );
        const rows = rowsPerQuery.get(rowsKey)!;
        r.metrics = { ...(r.metrics ?? {}), connections, rows_per_query: rows, rows_per_s: r3(r.load.rps * rows) };
        results.push(r);
      };
      const eqDesc = `POST /query equality on users.city via the equality index, "return":"keys" (${ROWS / CITIES} keys per reply), rotating through ${CITIES} cities`;
      await q('eq-city-c16', 16, cityBodies, 'eq', `${eqDesc}; 16 connections.`);
      await q('eq-city-c64', 64, cityBodies, 'eq', `${eqDesc}; 64 connections.`);
      await q(
        'eq-zip-c64',
        64,
        zipBodies,
        'eq-sel',
        `Selective POST /query equality on users.zip (${ROWS / ZIPS} keys per reply), rotating through ${zipBodies.length} zips; 64 connections.`,
      );
      const rgDesc = `POST /query range age gte "a" lte "a+${RANGE_WIDTH}" + order_by age asc limit 10, "return":"entities", via the range index, rotating a over 0..${AGES - RANGE_WIDTH - 1}`;
      await q('range-limit10-c16', 16, rangeBodies, 'range', `${rgDesc}; 16 connections.`);
      await q('range-limit10-c64', 64, rangeBodies, 'range', `${rgDesc}; 64 connections.`);
      await q(
        'orderby-desc-limit10-c64',
        64,
        [ORDER_BODY],
        'order',
        `POST /query ${ORDER_BODY} (no predicate; top 10 by the range index, default return mode); 64 connections.`,
      );
    } finally {
      await Promise.allSettled([server?.stop(), bare?.stop()]);
    }
    applyBaselines(results);

    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
    const pct = (x: number | undefined) => (x !== undefined ? `${(x * 100).toFixed(1)}%` : '');
    const l = load!;
    const queryRows = results
      .filter((r) => r.metrics?.rows_per_query !== undefined)
      .map((r) => [
        r.valid ? r.name : `${r.name} **INVALID**`,
        String(r.metrics!.connections),
        fmt(r.load.rps),
        ms(r.load.p50Ms),
        ms(r.load.p99Ms),
        String(r.metrics!.rows_per_query),
        fmt(r.metrics!.rows_per_s!),
        pct(r.ratio),
        pct(r.extraRatios?.['bare-uws-post']),
        r.serverMainThreadCores !== undefined ? r.serverMainThreadCores.toFixed(2) : '',
      ]);
    return {
      title: `query (POST /query over ${ROWS / 1000}k entities; durability relaxed)`,
      tool: tool.version,
      scenarios: results,
      tables: [
        {
          title: 'Load and index backfill',
          columns: ['step', 'seconds', 'entities/s', 'notes'],
          rows: [
            [
              `load ${fmt(ROWS)} users (POST /transaction, ${BATCH}/batch, ${LOAD_CONCURRENCY} in flight)`,
              l.seconds.toFixed(2),
              fmt(l.perS),
              `batch p50 ${ms(l.batchP50Ms)} ms, p99 ${ms(l.batchP99Ms)} ms`,
            ],
            ...backfills.map((b) => [
              `POST /index/create ${b.spec}`,
              b.seconds.toFixed(2),
              fmt(b.perS),
              `state ${b.state}; ${b.perS >= BACKFILL_AIM ? 'meets' : 'below'} the ${fmt(BACKFILL_AIM)}/s aim (reference claims ${fmt(BACKFILL_REFERENCE)}/s)`,
            ]),
          ],
          notes: [
            'Backfill rate = 100,000 entities ÷ wall time of the POST /index/create request (it returns when the index is ready), one index at a time on an otherwise idle server.',
          ],
        },
        {
          title: 'Queries',
          columns: [
            'Scenario',
            'conns',
            'req/s',
            'p50 ms',
            'p99 ms',
            'rows/query',
            'rows/s',
            'vs GET entity',
            'vs bare uWS POST',
            'server main-thread cores',
          ],
          rows: queryRows,
          notes: [
            'vs GET entity = query req/s ÷ GET /entities/{key} req/s on the same server and database (64 connections); vs bare uWS POST = ÷ the bare uWS app answering the equality reply bytes (64 connections).',
            ...checks.map((c) => `Checked before timing: ${c}`),
          ],
        },
      ],
      notes: [
        `Data: users:<n> for n < ${fmt(ROWS)}, blob {"city":"c<n%${CITIES}>","zip":"z<n%${ZIPS}>","age":<n%${AGES}>,"name":"user number <n>"}; indexes users.city and users.zip (equality) and users.age (range).`,
        `wrk rotates through a fixed list of POST bodies (each thread from its own offset). ${durationS} s measured + ${warmupS} s warm-up per scenario.`,
        'Server, bare uWS and wrk share this machine; on 2 cores wrk competes with the server for CPU (ratios are more stable than absolute numbers).',
      ],
    };
  },
};
