import { performance } from 'node:perf_hooks';
import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { postOk, runBatches, type LoadStats } from '../lib/batches.js';
import { detectTool } from '../lib/load.js';
import { rssOf, waitIdle } from '../lib/process-info.js';
import { applyBaselines, runScenario } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3 } from '../lib/stats.js';
import type { Area, ReportTable, ScenarioResult, Target } from '../lib/types.js';
import { envNumber, log, prng, shortPhases } from '../lib/util.js';

/**
 * Data set (generated in the bench from a fixed seed, so every expected
 * answer is known exactly):
 *   users:<n>  (n < USERS)  {"name":"user <n>","city":"c<n % CITIES>","age":18..89,"age_group":10·⌊age/10⌋,"country":"C00".."C49"}
 *   orders:<m> (m < ORDERS) {"user":"<m % USERS>","amount":1..500,"status":…}
 * CITIES = USERS / 10 (~10 users per city), ORDERS = 2 × USERS (2 orders per user).
 */
const USERS_PER_CITY = 10;
const ORDERS_PER_USER = 2;
const AGE_MIN = 18;
const AGE_SPAN = 72; // ages 18..89
const COUNTRIES = 50;
const STATUSES = ['new', 'paid', 'shipped', 'cancelled'];
const DATA_SEED = 0x5eed_0a91;
/** Range window (ages lo..lo + RANGE_WIDTH − 1). */
const RANGE_WIDTH = 10;
const LIMIT = 10;
/** POST /transaction operations per load batch, and batches in flight. */
const BATCH = 1_000;
const LOAD_CONCURRENCY = 4;
/** Distinct bind values each wrk run rotates through. */
const ROTATION = 1_000;
/** Bind values checked over HTTP (against the generated data) per scenario before timing. */
const CHECKS = 20;
/** The reference implementation's claim for indexed queries. */
const REFERENCE_QPS = 8_500;

const ROUTE = '/query/aql';

const Q = {
  eq: 'FOR u IN users FILTER u.city == @city RETURN u',
  key: 'FOR u IN users FILTER u._key == @k RETURN u',
  range: `FOR u IN users FILTER u.age >= @lo AND u.age <= @hi SORT u.age DESC LIMIT ${LIMIT} RETURN u`,
  top: `FOR u IN users SORT u.age DESC LIMIT ${LIMIT} RETURN u`,
  join: 'FOR o IN orders FILTER o.user == @u FOR u IN users FILTER u._key == o.user RETURN {o, name: u.name}',
  joinCity:
    'FOR u IN users FILTER u.city == @city FOR o IN orders FILTER o.user == u._key RETURN {user: u.name, order: o._key, amount: o.amount}',
  aggCity: 'FOR u IN users FILTER u.city == @city COLLECT g = u.age_group AGGREGATE n = COUNT(1), avg = AVG(u.age) RETURN {g, n, avg}',
  aggAll: 'FOR u IN users COLLECT c = u.country WITH COUNT INTO n RETURN {c, n}',
} as const;

type Bind = Record<string, string | number>;

interface Data {
  users: number;
  cities: number;
  orders: number;
  age: Uint8Array;
  country: Uint8Array;
  amount: Uint16Array;
  /** Users per age (index = age). */
  ageHist: Uint32Array;
}

const countryName = (i: number) => `C${String(i).padStart(2, '0')}`;
const ageGroup = (age: number) => Math.floor(age / 10) * 10;

function generate(users: number): Data {
  const rnd = prng(DATA_SEED);
  const orders = users * ORDERS_PER_USER;
  const age = new Uint8Array(users);
  const country = new Uint8Array(users);
  const amount = new Uint16Array(orders);
  const ageHist = new Uint32Array(256);
  for (let n = 0; n < users; n++) {
    age[n] = AGE_MIN + Math.floor(rnd() * AGE_SPAN);
    country[n] = Math.floor(rnd() * COUNTRIES);
    ageHist[age[n]!]!++;
  }
  for (let m = 0; m < orders; m++) amount[m] = 1 + Math.floor(rnd() * 500);
  return { users, cities: Math.max(1, Math.round(users / USERS_PER_CITY)), orders, age, country, amount, ageHist };
}

const userBlob = (d: Data, n: number) =>
  `{"name":"user ${n}","city":"c${n % d.cities}","age":${d.age[n]},"age_group":${ageGroup(d.age[n]!)},"country":"${countryName(d.country[n]!)}"}`;
const orderBlob = (d: Data, m: number) => `{"user":"${m % d.users}","amount":${d.amount[m]},"status":"${STATUSES[m % STATUSES.length]}"}`;

/** Members of residue class r mod k below n, ascending. */
function residues(r: number, k: number, n: number): number[] {
  const out: number[] = [];
  for (let i = r; i < n; i += k) out.push(i);
  return out;
}

/** k distinct-ish values spread over 0..n−1 (a stride coprime to most n). */
const spread = (k: number, n: number) => (k * 7_919 + 17) % n;

/** Ages (descending) of the first `limit` users with lo ≤ age ≤ hi in age-descending order. */
function topAges(d: Data, lo: number, hi: number, limit: number): number[] {
  const out: number[] = [];
  for (let a = hi; a >= lo && out.length < limit; a--) for (let c = 0; c < d.ageHist[a]! && out.length < limit; c++) out.push(a);
  return out;
}

// ------------------------------------------------------------------ replies and checks

interface AqlReply {
  table?: string | null;
  count?: number;
  entities?: unknown[];
  plan?: Record<string, unknown>;
}

type Doc = Record<string, unknown>;

/** A returned document comes back as its stored JSON text; other values as JSON values. */
function asDoc(e: unknown): Doc {
  const v = typeof e === 'string' ? (JSON.parse(e) as unknown) : e;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`not an object: ${JSON.stringify(e).slice(0, 200)}`);
  return v as Doc;
}

const sameSet = (a: readonly (string | number)[], b: readonly (string | number)[]) => {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return s.size === a.length && b.every((x) => s.has(x));
};

/** One query scenario: AQL text, rotating bind values, exact expectations from the generated data. */
interface QuerySpec {
  name: string;
  query: string;
  /** Bind values wrk rotates through (one body each). */
  binds: Bind[];
  /** How the binds rotate, for the report. */
  bindNote: string;
  /** Rows the reply must have for these binds. */
  rows: (b: Bind) => number;
  /** Problems with a reply's rows for these binds (empty = correct). */
  check: (b: Bind, rows: unknown[]) => string[];
  /** FOR accesses the plan should use, in order (a mismatch is reported, not fatal). */
  access: string[];
  connections: number;
  target?: Target;
  what: string;
}

/** "FOR u index_eq users.city → SORT by index, top-k → …; mode …; join …" from an explain plan. */
function planSummary(plan: Record<string, unknown> | undefined): { text: string; access: string[] } {
  if (!plan) return { text: '?', access: [] };
  const steps = (plan.steps as Record<string, unknown>[] | undefined) ?? [];
  const access: string[] = [];
  const parts = steps.map((s) => {
    switch (s.type) {
      case 'for': {
        access.push(String(s.access));
        const attr = s.attribute !== undefined ? `.${String(s.attribute)}` : '';
        const idx = s.index !== undefined ? ` #${String(s.index)}` : '';
        return `FOR ${String(s.variable)} ${String(s.access)} ${String(s.collection ?? '')}${attr}${idx}${s.reverse === true ? ' reverse' : ''}${s.filters !== undefined ? ` (${String(s.filters)} filter${s.filters === 1 ? '' : 's'})` : ''}`;
      }
      case 'sort':
        return `SORT${s.by_index === true ? ' by index' : ' in memory'}${s.top_k === true ? ', top-k' : ''}`;
      case 'collect':
        return `COLLECT ${JSON.stringify(s.groups)}${Array.isArray(s.aggregates) && s.aggregates.length > 0 ? ` AGGREGATE ${(s.aggregates as string[]).join(', ')}` : ''}${s.count !== undefined ? ` WITH COUNT INTO ${String(s.count)}` : ''}`;
      default:
        return String(s.type).toUpperCase();
    }
  });
  const tail = [
    `mode ${String(plan.mode)}`,
    ...(plan.join_strategy !== undefined ? [`join ${String(plan.join_strategy)}`] : []),
    `estimated_rows ${String(plan.estimated_rows)}`,
  ];
  return { text: `${parts.join(' → ')}; ${tail.join(', ')}`, access };
}

const bodyOf = (query: string, b: Bind) => JSON.stringify({ query, bind_vars: b });

// ------------------------------------------------------------------ area

interface IndexStep {
  spec: string;
  seconds: number;
  perS: number;
  state: string;
}

interface PlanRow {
  name: string;
  query: string;
  bindNote: string;
  plan: string;
  expectedAccess: string;
  planOk: boolean;
  rows: number;
  replyBytes: number;
  checked: string;
}

/**
 * AQL over HTTP (issue: "100k documents; indexed equality query, range +
 * sort + limit, a join, a COLLECT aggregation — req/s and p99 over HTTP";
 * the reference implementation claims 8,500 indexed queries/s): POST
 * /query/aql with rotating bind values, against GET /entities/{key} and the
 * bare uWS POST round trip measured in the same run.
 */
export const aqlArea: Area = {
  name: 'aql',
  description:
    'POST /query/aql over 100k users + 200k orders: indexed equality (city, _key), range+SORT+LIMIT, index-ordered SORT+LIMIT, index nested-loop joins, COLLECT (indexed and full scan); req/s and p99 vs GET entity and bare uWS POST ceilings (durability relaxed)',
  async run({ settings }) {
    const USERS = Math.round(envNumber('BENCH_AQL_USERS', 100_000));
    if (USERS < 1_000) throw new Error('BENCH_AQL_USERS must be at least 1000');
    const CONN = Math.round(envNumber('BENCH_AQL_CONNECTIONS', 16));
    const SCAN_CONN = Math.round(envNumber('BENCH_AQL_SCAN_CONNECTIONS', 2));
    const tool = detectTool();
    const { wrkDurationS, wrkWarmupS } = shortPhases(settings);
    const s2 = { ...settings, durationS: wrkDurationS, warmupS: wrkWarmupS };
    const runStart = performance.now();
    const results: ScenarioResult[] = [];

    // ------------------------------------------------ data (in memory) and the scenarios' expectations
    const d = generate(USERS);
    const { cities: CITIES, orders: ORDERS } = d;
    const rot = (n: number) => Math.min(ROTATION, n);
    const cityBinds = Array.from({ length: rot(CITIES) }, (_, k): Bind => ({ city: `c${spread(k, CITIES)}` }));
    const keyBinds = Array.from({ length: rot(USERS) }, (_, k): Bind => ({ k: String(spread(k, USERS)) }));
    const userBinds = Array.from({ length: rot(USERS) }, (_, k): Bind => ({ u: String(spread(k + ROTATION, USERS)) }));
    const AGE_MAX = AGE_MIN + AGE_SPAN - 1;
    const rangeBinds = Array.from(
      { length: AGE_MAX - RANGE_WIDTH + 2 - AGE_MIN },
      (_, i): Bind => ({ lo: AGE_MIN + i, hi: AGE_MIN + i + RANGE_WIDTH - 1 }),
    );
    const cityOf = (b: Bind) => Number(String(b.city).slice(1));
    const usersOfCity = (c: number) => residues(c, CITIES, USERS);
    const ordersOfUser = (u: number) => residues(u, USERS, ORDERS);
    const userDocProblems = (doc: Doc, n: number, what: string): string[] => {
      const want = JSON.parse(userBlob(d, n)) as Doc;
      return Object.keys(want).some((k) => doc[k] !== want[k])
        ? [`${what}: got ${JSON.stringify(doc)}, loaded ${JSON.stringify(want)}`]
        : [];
    };
    const userNo = (doc: Doc) => Number(String(doc.name).replace(/^user /, ''));
    const expectAges = (lo: number, hi: number) => (rows: unknown[]) => {
      const docs = rows.map(asDoc);
      const ages = docs.map((x) => x.age as number);
      const want = topAges(d, lo, hi, LIMIT);
      const p: string[] = [];
      if (JSON.stringify(ages) !== JSON.stringify(want)) p.push(`ages ${JSON.stringify(ages)}, want ${JSON.stringify(want)}`);
      docs.forEach((x, i) => {
        p.push(...userDocProblems(x, userNo(x), `row ${i}`));
      });
      return p;
    };
    const aggOfCity = (c: number) => {
      const g = new Map<number, { n: number; sum: number }>();
      for (const u of usersOfCity(c)) {
        const a = d.age[u]!;
        const e = g.get(ageGroup(a)) ?? { n: 0, sum: 0 };
        e.n++;
        e.sum += a;
        g.set(ageGroup(a), e);
      }
      return g;
    };
    const countryCounts = new Map<string, number>();
    for (let n = 0; n < USERS; n++) countryCounts.set(countryName(d.country[n]!), (countryCounts.get(countryName(d.country[n]!)) ?? 0) + 1);
    const refTarget: Target = {
      kind: 'rps',
      min: REFERENCE_QPS,
      label: `≥ ${REFERENCE_QPS.toLocaleString('en-US')} req/s (reference implementation's indexed queries/s)`,
    };

    const specs: QuerySpec[] = [
      {
        name: 'eq-city',
        query: Q.eq,
        binds: cityBinds,
        bindNote: `@city over ${fmt(cityBinds.length)} of the ${fmt(CITIES)} cities`,
        rows: (b) => usersOfCity(cityOf(b)).length,
        check: (b, rows) => {
          const c = cityOf(b);
          const docs = rows.map(asDoc);
          const p: string[] = [];
          if (!sameSet(docs.map(userNo), usersOfCity(c)))
            p.push(`city c${c}: users ${JSON.stringify(docs.map(userNo))}, loaded ${JSON.stringify(usersOfCity(c))}`);
          docs.forEach((x) => {
            p.push(...userDocProblems(x, userNo(x), `city c${c}`));
          });
          return p;
        },
        access: ['index_eq'],
        connections: CONN,
        target: refTarget,
        what: `Indexed equality: users.city (equality index), ${USERS_PER_CITY} documents per reply (RETURN u: the stored JSON texts).`,
      },
      {
        name: 'eq-key',
        query: Q.key,
        binds: keyBinds,
        bindNote: `@k over ${fmt(keyBinds.length)} user keys`,
        rows: () => 1,
        check: (b, rows) => {
          if (rows.length !== 1) return [`_key ${b.k}: ${rows.length} rows`];
          return userDocProblems(asDoc(rows[0]), Number(b.k), `_key ${b.k}`);
        },
        access: ['primary'],
        connections: CONN,
        target: refTarget,
        what: 'Primary-key lookup through AQL: one document per reply (the closest to the reference\'s "indexed query").',
      },
      {
        name: 'range-sort-limit',
        query: Q.range,
        binds: rangeBinds,
        bindNote: `@lo..@hi = a..a+${RANGE_WIDTH - 1}, a over ${AGE_MIN}..${AGE_MAX - RANGE_WIDTH + 1}`,
        rows: () => LIMIT,
        check: (b, rows) => expectAges(Number(b.lo), Number(b.hi))(rows),
        access: ['index_range'],
        connections: CONN,
        what: `Range + SORT DESC + LIMIT ${LIMIT} on users.age (range index; ~${fmt((USERS * RANGE_WIDTH) / AGE_SPAN)} documents in each window, the index walks it backwards and stops after ${LIMIT}).`,
      },
      {
        name: 'sort-limit',
        query: Q.top,
        binds: [{}],
        bindNote: 'none',
        rows: () => LIMIT,
        check: (_b, rows) => expectAges(0, 255)(rows),
        access: ['index_range'],
        connections: CONN,
        what: `SORT u.age DESC LIMIT ${LIMIT} with no filter: the range index delivers the order and the LIMIT stops the scan after ${LIMIT} documents.`,
      },
      {
        name: 'join-user-orders',
        query: Q.join,
        binds: userBinds,
        bindNote: `@u over ${fmt(userBinds.length)} user keys`,
        rows: (b) => ordersOfUser(Number(b.u)).length,
        check: (b, rows) => {
          const u = Number(b.u);
          const p: string[] = [];
          const objs = rows.map(asDoc);
          const want = ordersOfUser(u).map((m) => JSON.parse(orderBlob(d, m)) as Doc);
          if (objs.length !== want.length) p.push(`user ${u}: ${objs.length} rows, loaded ${want.length} orders`);
          const got = objs.map((x) => JSON.stringify(x.o));
          if (
            !sameSet(
              got,
              want.map((w) => JSON.stringify(w)),
            )
          )
            p.push(`user ${u}: orders ${JSON.stringify(got)}, loaded ${JSON.stringify(want)}`);
          if (objs.some((x) => x.name !== `user ${u}`)) p.push(`user ${u}: names ${JSON.stringify(objs.map((x) => x.name))}`);
          return p;
        },
        access: ['index_eq', 'primary'],
        connections: CONN,
        what: `Join orders → users: orders.user equality index, then the user by primary key (index nested loop); ${ORDERS_PER_USER} rows {o, name} per reply.`,
      },
      {
        name: 'join-city-orders',
        query: Q.joinCity,
        binds: cityBinds,
        bindNote: `@city over ${fmt(cityBinds.length)} cities`,
        rows: (b) => usersOfCity(cityOf(b)).reduce((s, u) => s + ordersOfUser(u).length, 0),
        check: (b, rows) => {
          const c = cityOf(b);
          const objs = rows.map(asDoc);
          const want = usersOfCity(c).flatMap((u) =>
            ordersOfUser(u).map((m) => JSON.stringify({ user: `user ${u}`, order: String(m), amount: d.amount[m] })),
          );
          const got = objs.map((x) => JSON.stringify({ user: x.user, order: x.order, amount: x.amount }));
          return sameSet(got, want)
            ? []
            : [`city c${c}: rows ${JSON.stringify(got).slice(0, 400)}, want ${JSON.stringify(want).slice(0, 400)}`];
        },
        access: ['index_eq', 'index_eq'],
        connections: CONN,
        what: `Join users → orders: users.city equality index, then each user's orders via the orders.user equality index (index nested loop); ${USERS_PER_CITY * ORDERS_PER_USER} rows per reply.`,
      },
      {
        name: 'collect-city',
        query: Q.aggCity,
        binds: cityBinds,
        bindNote: `@city over ${fmt(cityBinds.length)} cities`,
        rows: (b) => aggOfCity(cityOf(b)).size,
        check: (b, rows) => {
          const c = cityOf(b);
          const want = aggOfCity(c);
          const objs = rows.map(asDoc);
          const p: string[] = [];
          if (objs.length !== want.size) p.push(`city c${c}: ${objs.length} groups, want ${want.size}`);
          for (const o of objs) {
            const w = want.get(o.g as number);
            if (!w || o.n !== w.n || Math.abs((o.avg as number) - w.sum / w.n) > 1e-9)
              p.push(`city c${c}: group ${JSON.stringify(o)}, want ${JSON.stringify(w ? { n: w.n, avg: w.sum / w.n } : null)}`);
          }
          return p;
        },
        access: ['index_eq'],
        connections: CONN,
        what: `COLLECT over an index-bounded input: the ${USERS_PER_CITY} users of a city grouped by age_group with COUNT and AVG (a few groups per reply).`,
      },
      {
        name: 'collect-all-scan',
        query: Q.aggAll,
        binds: [{}],
        bindNote: 'none',
        rows: () => countryCounts.size,
        check: (_b, rows) => {
          const objs = rows.map(asDoc);
          const got = objs.map((o) => `${String(o.c)}=${String(o.n)}`);
          const want = [...countryCounts].map(([c, n]) => `${c}=${n}`);
          return sameSet(got, want) ? [] : [`country counts ${JSON.stringify(got)}, want ${JSON.stringify(want)}`];
        },
        access: ['full_scan'],
        connections: SCAN_CONN,
        what: `Full-scan COLLECT: all ${fmt(USERS)} users grouped by country WITH COUNT (${COUNTRIES} groups); heavy, so ${SCAN_CONN} connection(s).`,
      },
    ];
    // BENCH_AQL_SCENARIOS: a comma-separated subset of the query scenarios (e.g. for a profile); the ceilings always run.
    const only = (process.env.BENCH_AQL_SCENARIOS ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const unknown = only.filter((n) => !specs.some((s) => s.name === n));
    if (unknown.length > 0)
      throw new Error(`BENCH_AQL_SCENARIOS: unknown scenario(s) ${unknown.join(', ')}; known: ${specs.map((s) => s.name).join(', ')}`);
    if (only.length > 0) specs.splice(0, specs.length, ...specs.filter((s) => only.includes(s.name)));
    const meanRows = new Map(specs.map((s) => [s.name, s.binds.reduce((a, b) => a + s.rows(b), 0) / s.binds.length]));

    let server: ThemisServer | undefined;
    let bare: BareUws | undefined;
    let usersLoad: LoadStats | undefined;
    let ordersLoad: LoadStats | undefined;
    const indexSteps: IndexStep[] = [];
    const planRows: PlanRow[] = [];
    let idleMs = 0;
    const rss: { loaded?: number; end?: number } = {};
    try {
      server = await startThemis({ durability: 'relaxed' });
      const srv = server;

      // ------------------------------------------------ load (POST /transaction batches), then index backfill
      log(`aql: loading ${fmt(USERS)} users and ${fmt(ORDERS)} orders in batches of ${BATCH} (${LOAD_CONCURRENCY} in flight)`);
      const loadTable = (table: string, count: number, blob: (i: number) => string) =>
        runBatches(count, BATCH, LOAD_CONCURRENCY, async (b) => {
          const ops: string[] = [];
          for (let i = b * BATCH; i < Math.min(count, (b + 1) * BATCH); i++)
            ops.push(`{"op":"put","key":"${table}:${i}","blob":${blob(i)}}`);
          await postOk(srv, '/transaction', `{"operations":[${ops.join(',')}]}`, `${table} batch ${b}`);
        });
      usersLoad = await loadTable('users', USERS, (n) => userBlob(d, n));
      log(`aql: users loaded in ${usersLoad.seconds.toFixed(2)} s = ${fmt(usersLoad.perS)} docs/s`);
      ordersLoad = await loadTable('orders', ORDERS, (m) => orderBlob(d, m));
      log(`aql: orders loaded in ${ordersLoad.seconds.toFixed(2)} s = ${fmt(ordersLoad.perS)} docs/s`);
      for (const [table, column, type, rows] of [
        ['users', 'city', 'equality', USERS],
        ['users', 'age', 'range', USERS],
        ['orders', 'user', 'equality', ORDERS],
      ] as const) {
        const { text, ms } = await postOk(srv, '/index/create', JSON.stringify({ table, column, type }), `index create ${table}.${column}`);
        const j = JSON.parse(text) as { state?: string; type?: string };
        const st: IndexStep = {
          spec: `${table}.${column} (${j.type ?? type})`,
          seconds: ms / 1000,
          perS: rows / (ms / 1000),
          state: j.state ?? '?',
        };
        indexSteps.push(st);
        log(`aql: index ${st.spec}: ${ms.toFixed(0)} ms = ${fmt(st.perS)} docs/s (state ${st.state})`);
      }
      rss.loaded = rssOf(srv.proc.pid);
      idleMs = await waitIdle(srv.proc.pid);

      // ------------------------------------------------ correctness and plans, once per scenario, before timing
      const problems: string[] = [];
      const replies = new Map<string, string>();
      for (const s of specs) {
        const ex = JSON.parse(
          (await postOk(srv, ROUTE, JSON.stringify({ query: s.query, bind_vars: s.binds[0], explain: true }), `explain ${s.name}`)).text,
        ) as AqlReply;
        const ps = planSummary(ex.plan);
        const planOk = JSON.stringify(ps.access) === JSON.stringify(s.access);
        const n = Math.min(CHECKS, s.binds.length);
        let replyBytes = 0;
        for (let i = 0; i < n; i++) {
          const b = s.binds[i]!;
          const { text } = await postOk(srv, ROUTE, bodyOf(s.query, b), `check ${s.name} ${JSON.stringify(b)}`);
          if (i === 0) {
            replies.set(s.name, text);
            replyBytes = Buffer.byteLength(text);
          }
          const j = JSON.parse(text) as AqlReply;
          const rows = j.entities;
          if (!Array.isArray(rows)) {
            problems.push(`${s.name} ${JSON.stringify(b)}: reply has no entities array: ${text.slice(0, 200)}`);
            continue;
          }
          const want = s.rows(b);
          if (rows.length !== want) problems.push(`${s.name} ${JSON.stringify(b)}: ${rows.length} rows, expected ${want}`);
          if (j.count !== rows.length) problems.push(`${s.name} ${JSON.stringify(b)}: count ${String(j.count)} != ${rows.length} rows`);
          try {
            problems.push(...s.check(b, rows).map((p) => `${s.name}: ${p}`));
          } catch (e) {
            problems.push(`${s.name} ${JSON.stringify(b)}: ${(e as Error).message}`);
          }
        }
        planRows.push({
          name: s.name,
          query: s.query,
          bindNote: s.bindNote,
          plan: ps.text,
          expectedAccess: s.access.join(' → '),
          planOk,
          rows: meanRows.get(s.name)!,
          replyBytes,
          checked: `${n} bind value${n === 1 ? '' : 's'}`,
        });
        log(`aql: ${s.name}: plan ${ps.text}${planOk ? '' : ` (!!! expected access ${s.access.join(' → ')})`}`);
      }
      if (problems.length > 0)
        throw new Error(
          `aql: correctness check failed:\n${problems.slice(0, 30).join('\n')}${problems.length > 30 ? `\n… ${problems.length - 30} more` : ''}`,
        );
      log('aql: correctness checks passed');

      // ------------------------------------------------ ceilings
      const getPath = `/entities/users:${Math.min(4242, USERS - 1)}`;
      const getRes = await srv.req('GET', getPath);
      const getBytes = Buffer.from(await getRes.arrayBuffer());
      if (getRes.status !== 200) throw new Error(`GET ${getPath}: ${getRes.status}`);
      const eqReply =
        replies.get('eq-city') ?? (await postOk(srv, ROUTE, bodyOf(Q.eq, cityBinds[0]!), 'eq-city reply for the bare uWS ceiling')).text;
      bare = await startBareUws({
        getBody: getBytes,
        putBody: Buffer.from('{}'),
        putStatus: '200 OK',
        routes: [{ method: 'POST', path: ROUTE, status: '200 OK', body: Buffer.from(eqReply) }],
      });
      const auth = { Authorization: AUTH_HEADER };
      const hdr = { ...auth, 'Content-Type': 'application/json' };
      const eqBodies = cityBinds.map((b) => bodyOf(Q.eq, b));
      results.push(
        await runScenario(
          {
            name: 'bare-uws-post',
            description: `Ceiling: wrk POSTing the same rotating eq-city bodies to a bare uWS app in its own process that reads each body and answers 200 with the exact ${Buffer.byteLength(eqReply)} bytes of a themis eq-city reply. No routing, auth, JSON parsing, AQL or storage. ${CONN} connections.`,
            server: 'bare uWS',
            load: { base: bare.base, method: 'POST', path: ROUTE, headers: hdr, bodies: eqBodies },
            serverPid: bare.pid!,
            connections: CONN,
          },
          s2,
        ),
      );
      results.push(
        await runScenario(
          {
            name: 'get-entity',
            description: `Ceiling on the real server: GET ${getPath} (one document, ${getBytes.length}-byte reply; routing, auth, one LevelDB read) on the same database. ${CONN} connections.`,
            server: 'themis (relaxed)',
            load: { base: srv.base, method: 'GET', path: getPath, headers: auth },
            themis: { server: srv, route: '/entities/:key' },
            connections: CONN,
          },
          s2,
        ),
      );

      // ------------------------------------------------ queries
      for (const s of specs) {
        const r = await runScenario(
          {
            name: s.name,
            description: `POST ${ROUTE} \`${s.query}\` — ${s.what} Bind values: ${s.bindNote}. ${s.connections} connections.`,
            server: 'themis (relaxed)',
            load: { base: srv.base, method: 'POST', path: ROUTE, headers: hdr, bodies: s.binds.map((b) => bodyOf(s.query, b)) },
            themis: { server: srv, route: ROUTE },
            baseline: 'get-entity',
            extraBaselines: ['bare-uws-post'],
            connections: s.connections,
            ...(s.target ? { target: s.target } : {}),
          },
          s2,
        );
        const rows = meanRows.get(s.name)!;
        r.metrics = {
          ...(r.metrics ?? {}),
          connections: s.connections,
          rows_per_response: r3(rows),
          rows_per_s: r3(r.load.rps * rows),
          reply_bytes: planRows.find((p) => p.name === s.name)!.replyBytes,
        };
        results.push(r);
      }
      rss.end = rssOf(srv.proc.pid);
    } finally {
      await Promise.allSettled([server?.stop(), bare?.stop()]);
    }
    applyBaselines(results);

    // ------------------------------------------------ report
    const byName = new Map(results.map((r) => [r.name, r]));
    const pct = (x: number | undefined) => (x !== undefined ? `${(x * 100).toFixed(1)}%` : '');
    const ul = usersLoad!;
    const ol = ordersLoad!;
    const queryRows = specs.map((s) => {
      const r = byName.get(s.name)!;
      return [
        r.valid ? r.name : `${r.name} **INVALID**`,
        String(s.connections),
        fmt(r.load.rps),
        ms(r.load.p50Ms),
        ms(r.load.p99Ms),
        `${r.load.errors} / ${r.load.non2xx}`,
        rowsText(r.metrics!.rows_per_response!),
        fmt(r.metrics!.rows_per_s!),
        pct(r.ratio),
        pct(r.extraRatios?.['bare-uws-post']),
        r.serverMainThreadCores !== undefined ? r.serverMainThreadCores.toFixed(2) : '',
        r.loadGenCpuCores !== undefined ? r.loadGenCpuCores.toFixed(2) : '',
      ];
    });
    const ceilingRows = ['bare-uws-post', 'get-entity'].map((n) => {
      const r = byName.get(n)!;
      return [
        r.valid ? r.name : `${r.name} **INVALID**`,
        String(CONN),
        fmt(r.load.rps),
        ms(r.load.p50Ms),
        ms(r.load.p99Ms),
        `${r.load.errors} / ${r.load.non2xx}`,
        '',
        '',
        n === 'get-entity' ? '100%' : '',
        n === 'bare-uws-post' ? '100%' : '',
        r.serverMainThreadCores?.toFixed(2) ?? '',
        r.loadGenCpuCores?.toFixed(2) ?? '',
      ];
    });
    const vsRef = (n: string) => {
      const r = byName.get(n);
      return r ? `${n} ${fmt(r.load.rps)} req/s = ${(r.load.rps / REFERENCE_QPS).toFixed(2)}× the reference's ${fmt(REFERENCE_QPS)}` : '';
    };
    const badPlans = planRows.filter((p) => !p.planOk);
    const tables: ReportTable[] = [
      {
        title: 'Load and indexes',
        columns: ['step', 'seconds', 'docs/s', 'notes'],
        rows: [
          [
            `load ${fmt(USERS)} users (POST /transaction, ${BATCH}/batch, ${LOAD_CONCURRENCY} in flight)`,
            ul.seconds.toFixed(2),
            fmt(ul.perS),
            `batch p50 ${ms(ul.batchP50Ms)} ms, p99 ${ms(ul.batchP99Ms)} ms`,
          ],
          [
            `load ${fmt(ORDERS)} orders (same)`,
            ol.seconds.toFixed(2),
            fmt(ol.perS),
            `batch p50 ${ms(ol.batchP50Ms)} ms, p99 ${ms(ol.batchP99Ms)} ms`,
          ],
          ...indexSteps.map((b) => [`POST /index/create ${b.spec}`, b.seconds.toFixed(2), fmt(b.perS), `backfill; state ${b.state}`]),
          [
            'total load + indexes',
            (ul.seconds + ol.seconds + indexSteps.reduce((a, b) => a + b.seconds, 0)).toFixed(2),
            fmt((USERS + ORDERS) / (ul.seconds + ol.seconds + indexSteps.reduce((a, b) => a + b.seconds, 0))),
            `then ${(idleMs / 1000).toFixed(1)} s waiting for the server to go idle (LevelDB compaction) before the first scenario; server RSS ${mb(rss.loaded)} MB after loading, ${mb(rss.end)} MB at the end`,
          ],
        ],
        notes: [
          'Indexes are created after the load (backfill: docs of the table ÷ wall time of the POST /index/create request, which returns when the index is ready).',
        ],
      },
      {
        title: 'AQL queries',
        columns: [
          'Scenario',
          'conns',
          'req/s',
          'p50 ms',
          'p99 ms',
          'errors / non-2xx',
          'rows/response',
          'rows/s',
          'vs GET entity',
          'vs bare uWS POST',
          'server event loop (cores)',
          'wrk CPU (cores)',
        ],
        rows: [...ceilingRows, ...queryRows],
        notes: [
          `vs GET entity = req/s ÷ GET /entities/{key} req/s on the same server and database; vs bare uWS POST = ÷ the bare uWS app answering the eq-city reply bytes; both ceilings measured in this run at ${CONN} connections.`,
          `Reference (${fmt(REFERENCE_QPS)} indexed queries/s, another implementation and machine, so indicative only): ${vsRef('eq-key')}; ${vsRef('eq-city')}.`,
          'rows/response is exact (from the generated data, averaged over the rotated bind values); server event loop ≈ 1.0 core means the event loop is the bottleneck.',
        ],
      },
      {
        title: 'Queries and plans',
        columns: ['Scenario', 'AQL', 'bind values', 'plan (explain: true)', 'reply bytes (first bind)', 'checked before timing'],
        rows: planRows.map((p) => [
          p.name,
          `\`${p.query}\``,
          p.bindNote,
          p.planOk ? p.plan : `${p.plan} **(expected ${p.expectedAccess})**`,
          fmt(p.replyBytes),
          p.checked,
        ]),
        notes: [
          `Plans come from POST ${ROUTE} with "explain": true for the first bind value. Each check compares the reply (count and rows: documents field by field, joined rows, COLLECT groups with COUNT and AVG) with the answer computed from the generated data; the run aborts on any difference.`,
          ...(badPlans.length > 0 ? [`**Unexpected plan access** for ${badPlans.map((p) => p.name).join(', ')}.`] : []),
        ],
      },
    ];
    const notes = [
      `Data (mulberry32 seed 0x${DATA_SEED.toString(16)}): users:<n> for n < ${fmt(USERS)}, blob {"name":"user <n>","city":"c<n % ${fmt(CITIES)}>","age":${AGE_MIN}..${AGE_MAX} uniform,"age_group":10·⌊age/10⌋,"country":"C00".."C${COUNTRIES - 1}" uniform}; orders:<m> for m < ${fmt(ORDERS)}, blob {"user":"<m % ${fmt(USERS)}>","amount":1..500,"status":…} (${ORDERS_PER_USER} orders per user). Indexes: users.city (equality), users.age (range), orders.user (equality). THEMIS_DURABILITY=relaxed.`,
      `wrk rotates through one POST body per bind value ({"query", "bind_vars"}; each thread from its own offset). ${wrkDurationS} s measured + ${wrkWarmupS} s warm-up per scenario; ${CONN} connections (BENCH_AQL_CONNECTIONS), the full scan ${SCAN_CONN} (BENCH_AQL_SCAN_CONNECTIONS).`,
      'Server, bare uWS and wrk share this machine; on 2 cores wrk competes with the server for CPU (ratios are more stable than absolute numbers).',
      `Whole area run: ${((performance.now() - runStart) / 1000).toFixed(0)} s.`,
    ];
    return {
      title: `aql (POST /query/aql over ${fmt(USERS)} users + ${fmt(ORDERS)} orders; durability relaxed)`,
      tool: tool.version,
      scenarios: results,
      tables,
      notes,
      ...{
        aql: {
          data: { users: USERS, cities: CITIES, orders: ORDERS, countries: COUNTRIES, seed: DATA_SEED },
          load: { users: usersLoad, orders: ordersLoad, indexes: indexSteps, idleWaitMs: idleMs, serverRssMB: rss },
          plans: planRows,
          reference: { qps: REFERENCE_QPS },
        },
      },
    };
  },
};

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '?');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const mb = (n: number | undefined) => (n === undefined ? '?' : n.toFixed(0));
const rowsText = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
