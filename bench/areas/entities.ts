import { SignJWT } from 'jose';
import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { detectTool } from '../lib/load.js';
import { applyBaselines, median, mergeRounds, runScenario, roundRatioMetrics } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import type { Area, BenchSettings, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log } from '../lib/util.js';

const ROUTE = '/entities/:key';
const GET_PATH = '/entities/bench:1';

/** ~100-byte JSON request body for PUT /entities/{key}. */
export const PUT_BODY = JSON.stringify({
  blob: { name: 'bench entity', kind: 'benchmark', n: 12345, tags: ['alpha', 'beta', 'gamma'], note: 'x' },
});

/** HMAC secret of the server's JWT verifier (THEMIS_JWT_SECRET, >= 32 bytes); the bench signs its token with it. */
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';

async function expectStatus(r: Response, status: number, what: string): Promise<Buffer> {
  const body = Buffer.from(await r.arrayBuffer());
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status}: ${body.toString()}`);
  return body;
}

/**
 * Entities CRUD throughput: GET and PUT of one entity against the real
 * server, each next to a bare-uWS ceiling answering the same bytes.
 */
export const entitiesArea: Area = {
  name: 'entities',
  description: 'GET/PUT /entities/{key} vs a bare uWS ceiling; PUT with durability sync and relaxed',
  async run({ settings }) {
    const tool = detectTool();
    log(`entities: load generator ${tool.version}; PUT body ${Buffer.byteLength(PUT_BODY)} bytes`);
    const results: ScenarioResult[] = [];
    const json = { 'Content-Type': 'application/json' };
    let sync: ThemisServer | undefined;
    let relaxed: ThemisServer | undefined;
    let bare: BareUws | undefined;
    let authTable: ReportTable | undefined;
    try {
      // JWTs on (as a deployment with an identity provider would run): every variant of the auth comparison shares this process.
      sync = await startThemis({ durability: 'sync', env: { THEMIS_JWT_SECRET: JWT_SECRET } });
      // Seed the GET entity and capture the exact bytes the server answers with.
      await expectStatus(await sync.req('PUT', GET_PATH, PUT_BODY), 201, `seed PUT ${GET_PATH}`);
      const getBytes = await expectStatus(await sync.req('GET', GET_PATH), 200, `GET ${GET_PATH}`);
      // A PUT reply for a key as long as the measured ones, for the bare PUT ceiling.
      const putBytes = await expectStatus(await sync.req('PUT', '/entities/bench:put-probe-t1-100000', PUT_BODY), 201, 'probe PUT');
      log(`entities: GET reply ${getBytes.length} bytes, PUT reply ${putBytes.length} bytes`);
      bare = await startBareUws({ getBody: getBytes, putBody: putBytes, putStatus: '201 Created' });

      results.push(
        await runScenario(
          {
            name: 'bare-uws-get',
            description: `Ceiling: a bare uWS app in its own process answering every GET with the exact ${getBytes.length} body bytes themis returns for ${GET_PATH} (200, Content-Type only; no routing, auth, or storage).`,
            server: 'bare uWS',
            load: { base: bare.base, method: 'GET', path: GET_PATH, headers: { Authorization: AUTH_HEADER } },
          },
          settings,
        ),
      );
      results.push(
        await runScenario(
          {
            name: 'get',
            description: `GET ${GET_PATH} with the admin bearer token against the real server (pre-seeded entity; read path: routing, auth, LevelDB read, JSON reply, metrics).`,
            server: 'themis (sync)',
            load: { base: sync.base, method: 'GET', path: GET_PATH, headers: { Authorization: AUTH_HEADER } },
            themis: { server: sync, route: ROUTE },
            baseline: 'bare-uws-get',
            target: { kind: 'ratio', min: 0.6, label: '>= 60% of bare-uws-get' },
          },
          settings,
        ),
      );
      const auth = await authVariants(sync, settings);
      results.push(...auth.results);
      authTable = auth.table;
      results.push(
        await runScenario(
          {
            name: 'bare-uws-put',
            description: `Ceiling: a bare uWS app reading each PUT body and answering 201 with the same ${putBytes.length} JSON bytes themis returns.`,
            server: 'bare uWS',
            load: {
              base: bare.base,
              method: 'PUT',
              path: '/entities/bench:bare-',
              distinctPathPrefix: '/entities/bench:bare-',
              headers: { Authorization: AUTH_HEADER, ...json },
              body: PUT_BODY,
            },
          },
          settings,
        ),
      );
      const putScenario = (name: string, server: ThemisServer, durability: string) =>
        runScenario(
          {
            name,
            description: `PUT /entities/bench:${name}-<n> (a distinct key per request) with a ${Buffer.byteLength(PUT_BODY)}-byte JSON body, server with THEMIS_DURABILITY=${durability}${durability === 'sync' ? ' (every 201 is fsynced; group commit)' : ' (OS-buffered writes)'}.`,
            server: `themis (${durability})`,
            load: {
              base: server.base,
              method: 'PUT',
              path: `/entities/bench:${name}-`,
              distinctPathPrefix: `/entities/bench:${name}-`,
              headers: { Authorization: AUTH_HEADER, ...json },
              body: PUT_BODY,
            },
            warmupPathPrefix: `/entities/bench:warm-${name}-`,
            themis: { server, route: ROUTE },
            baseline: 'bare-uws-put',
            ...(durability === 'sync' ? { target: { kind: 'rps' as const, min: 15_000, label: '>= 15,000 req/s' } } : {}),
          },
          settings,
        );
      const checkWritten = async (server: ThemisServer, name: string, r: ScenarioResult) => {
        // A key from the middle of the measured run must be readable (the writes really landed).
        // (wrk's first request() call per thread may be a probe, so don't rely on counter 1.)
        const mid = Math.max(2, Math.floor(r.load.requests / r.load.threads / 2));
        const key = r.load.tool === 'wrk' ? `bench:${name}-t1-${mid}` : `bench:${name}-a-${mid}`;
        const res = await server.req('GET', `/entities/${key}`);
        await res.arrayBuffer();
        if (res.status !== 200) {
          r.valid = false;
          r.problems.push(`read-back of ${key} after the run answered ${res.status}`);
        }
      };
      const putSync = await putScenario('put-sync', sync, 'sync');
      await checkWritten(sync, 'put-sync', putSync);
      results.push(putSync);
      await sync.stop();
      sync = undefined;

      relaxed = await startThemis({ durability: 'relaxed' });
      const putRelaxed = await putScenario('put-relaxed', relaxed, 'relaxed');
      await checkWritten(relaxed, 'put-relaxed', putRelaxed);
      results.push(putRelaxed);
    } finally {
      await Promise.allSettled([sync?.stop(), relaxed?.stop(), bare?.stop()]);
    }
    // The credential variants' ratio is the median of their per-round (bracketed) ratios.
    applyBaselines(results);
    return {
      title: 'entities (GET/PUT /entities/{key})',
      tool: `${tool.version}`,
      scenarios: results,
      ...(authTable ? { tables: [authTable] } : {}),
      notes: [
        'ratio = scenario req/s ÷ baseline req/s, both measured in this run on this machine. The bare uWS servers do no routing, auth, validation, storage or metrics, so they are the ceiling for this HTTP stack.',
        'Servers, the bare uWS ceiling and the load generator share the same machine: on few cores the load generator competes with the server for CPU, which lowers every absolute number (ratios are more stable).',
        'non-2xx is counted by the load generator (wrk counts status >= 400) and cross-checked on the server via /metrics (status counts per route in the measured window); any non-2xx makes the scenario INVALID.',
        'PUT scenarios write a new key per request (distinct keys per wrk thread / autocannon counter); after the run a key from the middle of the run is read back.',
        "get-admin, get-apikey, get-jwt and get-ratelimited run interleaved on one server (see the Credentials table); their req/s is total requests ÷ total measured seconds over their slots, p50/p99 the median of the slots'; their ratio is the median of the per-round ratios to the get-admin slots around each round.",
      ],
    };
  },
};

/**
 * GET /entities/{key} with each kind of credential (issue 15, "Benchmark"),
 * as a ratio of the admin key, on one server process:
 *
 * - `get-admin`: the admin key (THEMIS_ADMIN_KEY), the reference;
 * - `get-apikey`: an API key created with POST /api/keys, permissions ["data:read"];
 * - `get-jwt`: an HS256 JWT (sub, exp, permissions ["data:read"]) signed with THEMIS_JWT_SECRET;
 * - `get-ratelimited`: a second data:read API key with its own `rate_limit`,
 *   10× the admin req/s of the first slot (at least 100,000/s): every request
 *   takes a token from its bucket, none is refused.
 *
 * The VM is noisy, so the variants run in BENCH_AUTH_ROUNDS rounds
 * (default 6), BENCH_AUTH_ROUND_S seconds per slot (default 2): A, B C D, A,
 * C D B, A, D B C, A... Every round is bracketed by two get-admin slots, the
 * others' order rotates; a variant's ratio is the median over the rounds of
 * its req/s ÷ the mean of the two bracketing get-admin slots. Each
 * variant gets the usual warm-up before its first round only.
 */
const fmtCores = (s: ScenarioResult): string => (s.serverMainThreadCores !== undefined ? s.serverMainThreadCores.toFixed(2) : '');

async function authVariants(server: ThemisServer, settings: BenchSettings): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const rounds = Math.round(envNumber('BENCH_AUTH_ROUNDS', 6));
  const roundS = envNumber('BENCH_AUTH_ROUND_S', 2);
  const createKey = async (name: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const body = await expectStatus(
      await server.req('POST', '/api/keys', JSON.stringify({ name, permissions: ['data:read'], ...extra })),
      201,
      `POST /api/keys (${name})`,
    );
    return (JSON.parse(body.toString()) as { secret: string }).secret;
  };
  const apiKey = await createKey('bench-reader');
  const jwt = await new SignJWT({ permissions: ['data:read'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('bench-jwt-user')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(JWT_SECRET));
  let limitedKey: string | undefined;
  let limit = 0;

  const check = async (what: string, authorization: string) => {
    const r = await fetch(server.base + GET_PATH, { headers: { authorization } });
    await expectStatus(r, 200, `GET ${GET_PATH} with ${what}`);
    return r;
  };
  await check('the API key', `Bearer ${apiKey}`);
  await check('the JWT', `Bearer ${jwt}`);

  interface Variant {
    name: string;
    description: string;
    header: () => string;
  }
  const variants: Variant[] = [
    { name: 'get-admin', description: 'the admin key (THEMIS_ADMIN_KEY): the reference', header: () => AUTH_HEADER },
    {
      name: 'get-apikey',
      description: 'an API key (POST /api/keys, permissions ["data:read"]), not the admin key',
      header: () => `Bearer ${apiKey}`,
    },
    {
      name: 'get-jwt',
      description: `an HS256 JWT (${jwt.length} characters; claims sub, iat, exp, permissions ["data:read"]) signed with the server's THEMIS_JWT_SECRET`,
      header: () => `Bearer ${jwt}`,
    },
    {
      name: 'get-ratelimited',
      description:
        'a second data:read API key with its own rate_limit, 10× the admin req/s of the first get-admin slot (at least 100,000/s): every request takes a token from its bucket, none is refused',
      header: () => `Bearer ${limitedKey!}`,
    },
  ];
  const admin = variants[0]!;
  const others = variants.slice(1);
  const byVariant = new Map<string, ScenarioResult[]>(variants.map((v) => [v.name, []]));
  const roundSettings: BenchSettings = { ...settings, durationS: roundS };
  const measure = async (v: Variant, label: string) => {
    if (v.name === 'get-ratelimited' && limitedKey === undefined) {
      // The first slot is get-admin, so its req/s is known here.
      const adminRps = byVariant.get(admin.name)![0]!.load.rps;
      limit = Math.max(100_000, Math.ceil((adminRps * 10) / 10_000) * 10_000);
      limitedKey = await createKey('bench-limited', { rate_limit: `${limit}/s` });
      const r = await check('the rate-limited API key', `Bearer ${limitedKey}`);
      if (r.headers.get('x-ratelimit-limit') !== String(limit))
        throw new Error(`rate-limited key: expected X-RateLimit-Limit ${limit}, got ${r.headers.get('x-ratelimit-limit')}`);
      log(`entities: get-ratelimited key has rate_limit ${limit}/s (first get-admin slot: ${Math.round(adminRps)} req/s)`);
    }
    log(`entities: auth ${label}: ${v.name}`);
    const first = byVariant.get(v.name)!.length === 0;
    byVariant.get(v.name)!.push(
      await runScenario(
        {
          name: v.name,
          description: `GET ${GET_PATH} with ${v.description}. Same server as get; ${rounds} rounds of ${roundS} s interleaved with the other credentials.`,
          server: 'themis (sync, JWT on)',
          load: { base: server.base, method: 'GET', path: GET_PATH, headers: { Authorization: v.header() } },
          themis: { server, route: ROUTE },
          warmupS: first ? settings.warmupS : 0,
          ...(v === admin ? {} : { baseline: admin.name, target: { kind: 'ratio' as const, min: 0.9, label: '>= 90% of get-admin' } }),
        },
        roundSettings,
      ),
    );
  };
  // A, (B C D), A, (C D B), A, (D B C), A ...: every round is bracketed by two get-admin slots.
  await measure(admin, `round 1/${rounds}`);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < others.length; i++) await measure(others[(i + round) % others.length]!, `round ${round + 1}/${rounds}`);
    await measure(admin, round + 1 < rounds ? `end of round ${round + 1}, start of round ${round + 2}` : `end of round ${round + 1}`);
  }
  // The limiter runs on this key's requests: its answers carry the key's limit, and this request took a token.
  // (With a limit 10x the load the bucket refills faster than it drains, so it stays near full.)
  const after = await check('the rate-limited API key', `Bearer ${limitedKey!}`);
  const remaining = Number(after.headers.get('x-ratelimit-remaining'));
  const results = variants.map((v) => mergeRounds(byVariant.get(v.name)!));
  const limited = results.find((r) => r.name === 'get-ratelimited')!;
  if (after.headers.get('x-ratelimit-limit') !== String(limit) || !(remaining < limit)) {
    limited.valid = false;
    limited.problems.push(
      `after the run X-RateLimit-Limit/Remaining were ${after.headers.get('x-ratelimit-limit')}/${remaining}, expected ${limit}/< ${limit}`,
    );
  }
  limited.metrics = { ...limited.metrics, rate_limit_per_s: limit };

  // Round r's reference: the mean of the two get-admin slots around it.
  const adminRps = byVariant.get(admin.name)!.map((r) => r.load.rps);
  const refs = Array.from({ length: rounds }, (_, r) => (adminRps[r]! + adminRps[r + 1]!) / 2);
  const rows: string[][] = [[admin.name, ...refs.map((x) => `${Math.round(x).toLocaleString('en-US')} (ref.)`), '', fmtCores(results[0]!)]];
  for (const v of others) {
    const rs = byVariant.get(v.name)!;
    const ratios = rs.map((r, i) => r.load.rps / refs[i]!);
    const med = median(ratios);
    const res = results.find((r) => r.name === v.name)!;
    res.metrics = { ...res.metrics, ...roundRatioMetrics(ratios) };
    rows.push([
      v.name,
      ...rs.map((r, i) => `${Math.round(r.load.rps).toLocaleString('en-US')} (${(ratios[i]! * 100).toFixed(1)}%)`),
      `**${(med * 100).toFixed(1)}%**`,
      fmtCores(res),
    ]);
  }
  return {
    results,
    table: {
      title: 'Credentials: GET per round (req/s and ratio to the get-admin slots around the round)',
      columns: ['variant', ...Array.from({ length: rounds }, (_, i) => `round ${i + 1}`), 'median ratio', 'server event loop (cores)'],
      rows,
      notes: [
        `Order: get-admin, then each round's three variants (rotated every round), then get-admin again, ${roundS} s per slot. A variant's ratio in a round is its req/s ÷ the mean of the two get-admin slots around that round; the results table's ratio for get-apikey, get-jwt and get-ratelimited is the median of these per-round ratios (robust against bursts from other processes). The ratio of total req/s is in the JSON (metrics.aggregate_ratio).`,
        `get-ratelimited: the key's rate_limit was ${limit}/s; a request after the run was answered with X-RateLimit-Limit ${limit} and X-RateLimit-Remaining ${remaining} (the limiter ran; a limit 10× the load keeps the bucket near full), and no 429 was answered (any non-2xx makes the scenario INVALID).`,
      ],
    },
  };
}
