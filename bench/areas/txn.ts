import { performance } from 'node:perf_hooks';
import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { expect, runFlows, UnexpectedStatus, type Flow, type FlowRunResult } from '../lib/flows.js';
import type { HttpConnection } from '../lib/http-client.js';
import { BODY_ID, detectTool } from '../lib/load.js';
import { applyBaselines, runScenario, type ScenarioSpec } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import { r3 } from '../lib/stats.js';
import type { Area, ScenarioResult } from '../lib/types.js';
import { log } from '../lib/util.js';

/** The ~100-byte document every write stores (same as the entities area's PUT body). */
const BLOB = { name: 'bench entity', kind: 'benchmark', n: 12345, tags: ['alpha', 'beta', 'gamma'], note: 'x' };
const BLOB_JSON = JSON.stringify(BLOB);
const PUT_BODY = JSON.stringify({ blob: BLOB });
const BEGIN_BODY = JSON.stringify({ isolation: 'snapshot' });

/** POST /transaction body with `keys` put operations on distinct keys (`<prefix>{{id}}-<j>`). */
function batchTemplate(prefix: string, keys: number): string {
  const ops = Array.from(
    { length: keys },
    (_, j) => `{"op":"put","key":"${prefix}${BODY_ID}${keys > 1 ? `-${j}` : ''}","blob":${BLOB_JSON}}`,
  );
  return `{"operations":[${ops.join(',')}]}`;
}

const JSON_HDR = 'Content-Type: application/json\r\n';
const AUTH_LINE = `Authorization: ${AUTH_HEADER}\r\n`;
const TXN_ROUTES = ['/transaction/begin', '/entities/:key', '/transaction/commit'] as const;

function txnId(reply: { body: Buffer; status: number; sentAt: number; doneAt: number }): string {
  const m = /"transaction_id":(\d+)/.exec(reply.body.toString('latin1'));
  if (!m) throw new UnexpectedStatus('POST /transaction/begin (no transaction_id in reply)', reply);
  return m[1]!;
}

async function begin(conn: HttpConnection, headers: string): Promise<string> {
  return txnId(expect(await conn.request('POST', '/transaction/begin', headers + JSON_HDR, BEGIN_BODY), 200, 'POST /transaction/begin'));
}

/** begin(snapshot) → `keys` × PUT /entities/<distinct key> with X-Transaction-Id → commit. */
function explicitFlow(prefix: string, keys: number): Flow {
  const counters: number[] = [];
  return async (conn, ctx) => {
    const n = (counters[ctx.client] = (counters[ctx.client] ?? 0) + 1);
    const id = await begin(conn, ctx.headers);
    const h = `${ctx.headers}${JSON_HDR}X-Transaction-Id: ${id}\r\n`;
    for (let j = 0; j < keys; j++) {
      expect(
        await conn.request('PUT', `/entities/${prefix}c${ctx.client}-${n}${keys > 1 ? `-${j}` : ''}`, h, PUT_BODY),
        201,
        'PUT /entities/:key (in txn)',
      );
    }
    expect(
      await conn.request('POST', '/transaction/commit', ctx.headers + JSON_HDR, `{"transaction_id":${id}}`),
      200,
      'POST /transaction/commit',
    );
    return { requests: keys + 2, done: true };
  };
}

/**
 * Snapshot read-modify-write of a counter: begin(snapshot) → GET key →
 * PUT key {n: n+1} → commit; on 409 CONFLICT retry at once with a new
 * transaction (same key). `commits` counts successful commits per key, so
 * the final counter values can be checked (no lost update).
 */
function rmwFlow(pick: (client: number) => string, commits: Map<string, number>): Flow {
  return async (conn, ctx) => {
    const key = pick(ctx.client);
    let requests = 0;
    let conflicts = 0;
    for (;;) {
      if (conflicts > 0 && performance.now() >= ctx.stopAt) return { requests, done: false, conflicts };
      const id = await begin(conn, ctx.headers);
      const h = `${ctx.headers}X-Transaction-Id: ${id}\r\n`;
      const got = expect(await conn.request('GET', `/entities/${key}`, h), 200, 'GET /entities/:key (in txn)');
      const n = (JSON.parse((JSON.parse(got.body.toString('utf8')) as { blob: string }).blob) as { n: number }).n;
      expect(
        await conn.request('PUT', `/entities/${key}`, h + JSON_HDR, `{"blob":{"n":${n + 1},"c":${ctx.client}}}`),
        201,
        'PUT /entities/:key (in txn)',
      );
      const c = await conn.request('POST', '/transaction/commit', ctx.headers + JSON_HDR, `{"transaction_id":${id}}`);
      requests += 4;
      if (c.status === 409) {
        conflicts++;
        continue;
      }
      expect(c, 200, 'POST /transaction/commit');
      commits.set(key, (commits.get(key) ?? 0) + 1);
      return { requests, done: true, conflicts };
    }
  };
}

interface TxnStats {
  total_committed: number;
  total_aborted: number;
  conflicts: number;
  active_count: number;
  implicit_committed: number;
  conflict_tracking_keys: number;
}

async function txnStats(server: ThemisServer): Promise<TxnStats> {
  const r = await server.req('GET', '/transaction/stats');
  if (r.status !== 200) throw new Error(`GET /transaction/stats: ${r.status}`);
  return (await r.json()) as TxnStats;
}

async function expectStatus(r: Response, status: number, what: string): Promise<Buffer> {
  const body = Buffer.from(await r.arrayBuffer());
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status}: ${body.toString()}`);
  return body;
}

/** Per-scenario facts for the area table (besides the LoadResult). */
interface Extra {
  clients: number;
  keysPerTxn: number;
  requestsPerTxn: number;
  flow?: FlowRunResult;
  serverConflicts?: number;
  serverCommitted?: number;
}

/**
 * Transactions: commits/s of 1-key and 10-key transactions with durable
 * group commit (atomic batches via POST /transaction with wrk; explicit
 * begin → PUT → commit flows with a JS driver), and the abort rate of
 * snapshot read-modify-write on hot keys, each next to ceilings measured in
 * the same run (bare uWS, single-key PUT, uncontended read-modify-write).
 */
export const txnArea: Area = {
  name: 'txn',
  description:
    'transaction commits/s (1-key, 10-key; batch and explicit) and hot-key abort rate vs bare uWS / single PUT ceilings (durability sync)',
  async run({ settings }) {
    const tool = detectTool();
    const results: ScenarioResult[] = [];
    const extras = new Map<string, Extra>();
    const json = { 'Content-Type': 'application/json' };
    const jsWarmupS = Math.min(settings.warmupS, 2);
    let sync: ThemisServer | undefined;
    let bare: BareUws | undefined;
    try {
      sync = await startThemis({ durability: 'sync' });
      const server = sync;
      // Exact reply bytes for the bare ceiling (ids as long as the measured ones).
      const batchBytes = await expectStatus(
        await server.req('POST', '/transaction', batchTemplate('probe1:', 1).split(BODY_ID).join('t1-100000')),
        200,
        'probe POST /transaction',
      );
      const beginBytes = await expectStatus(await server.req('POST', '/transaction/begin', BEGIN_BODY), 200, 'probe begin');
      const probeId = JSON.parse(beginBytes.toString()).transaction_id as number;
      const inTxnPut = await fetch(`${server.base}/entities/xt1:c10-100000`, {
        method: 'PUT',
        headers: { authorization: AUTH_HEADER, 'content-type': 'application/json', 'x-transaction-id': String(probeId) },
        body: PUT_BODY,
      });
      const putBytes = await expectStatus(inTxnPut, 201, 'probe PUT in txn');
      const commitBytes = await expectStatus(
        await server.req('POST', '/transaction/commit', JSON.stringify({ transaction_id: probeId })),
        200,
        'probe commit',
      );
      log(`txn: reply bytes: batch ${batchBytes.length}, begin ${beginBytes.length}, put ${putBytes.length}, commit ${commitBytes.length}`);
      bare = await startBareUws({
        getBody: Buffer.from('{}'),
        putBody: putBytes,
        putStatus: '201 Created',
        routes: [
          { method: 'POST', path: '/transaction', status: '200 OK', body: batchBytes },
          { method: 'POST', path: '/transaction/begin', status: '200 OK', body: beginBytes },
          { method: 'POST', path: '/transaction/commit', status: '200 OK', body: commitBytes },
        ],
      });

      // ------------------------------------------------ wrk: one request = one transaction
      const wrkScenario = async (s: Omit<ScenarioSpec, 'server'> & { server?: string }, keys: number) => {
        const r = await runScenario({ server: 'themis (sync)', ...s }, settings);
        extras.set(s.name, { clients: settings.connections, keysPerTxn: keys, requestsPerTxn: 1 });
        results.push(r);
        return r;
      };
      await wrkScenario(
        {
          name: 'bare-uws-post',
          description: `Ceiling: a bare uWS app in its own process reading each POST /transaction body (1 put operation, distinct key) and answering 200 with the exact ${batchBytes.length} bytes themis returns. No routing, auth, validation, storage.`,
          server: 'bare uWS',
          load: {
            base: bare.base,
            method: 'POST',
            path: '/transaction',
            headers: { Authorization: AUTH_HEADER, ...json },
            bodyTemplate: batchTemplate('b1:', 1),
          },
          ...(bare.pid !== undefined ? { serverPid: bare.pid } : {}),
        },
        1,
      );
      const readBack = async (r: ScenarioResult, keys: string[]) => {
        for (const key of keys) {
          const res = await server.req('GET', `/entities/${key}`);
          await res.arrayBuffer();
          if (res.status !== 200) {
            r.valid = false;
            r.problems.push(`read-back of ${key} after the run answered ${res.status}`);
          }
        }
      };
      // wrk's first request() per thread may be a probe: take a counter from the middle of the run.
      const mid = (r: ScenarioResult) => Math.max(2, Math.floor(r.load.requests / r.load.threads / 2));
      const idOf = (r: ScenarioResult, n: number) => (r.load.tool === 'wrk' ? `t1-${n}` : `a-${n}`);
      const put1 = await wrkScenario(
        {
          name: 'put-1key',
          description: `In-server ceiling: PUT /entities/p1:<n> (a distinct key per request; an implicit 1-key read_committed transaction, the cheapest durable commit) with a ${Buffer.byteLength(PUT_BODY)}-byte JSON body.`,
          load: {
            base: server.base,
            method: 'PUT',
            path: '/entities/p1:',
            distinctPathPrefix: '/entities/p1:',
            headers: { Authorization: AUTH_HEADER, ...json },
            body: PUT_BODY,
          },
          warmupPathPrefix: '/entities/p1w:',
          themis: { server, route: '/entities/:key' },
          baseline: 'bare-uws-post',
        },
        1,
      );
      await readBack(put1, [`p1:${idOf(put1, mid(put1))}`]);
      const b1 = await wrkScenario(
        {
          name: 'batch-1key',
          description: `POST /transaction with 1 put operation on a distinct key per request (${Buffer.byteLength(batchTemplate('b1:', 1).split(BODY_ID).join('t1-100000'))}-byte body): one atomic durable commit per request.`,
          load: {
            base: server.base,
            method: 'POST',
            path: '/transaction',
            headers: { Authorization: AUTH_HEADER, ...json },
            bodyTemplate: batchTemplate('b1:', 1),
          },
          themis: { server, route: '/transaction' },
          baseline: 'put-1key',
          extraBaselines: ['bare-uws-post'],
        },
        1,
      );
      await readBack(b1, [`b1:${idOf(b1, mid(b1))}`]);
      const b10 = await wrkScenario(
        {
          name: 'batch-10key',
          description: `POST /transaction with 10 put operations on distinct keys per request (${Buffer.byteLength(batchTemplate('b10:', 10).split(BODY_ID).join('t1-100000'))}-byte body): 10 entity writes + 10 change-log entries in one atomic durable commit.`,
          load: {
            base: server.base,
            method: 'POST',
            path: '/transaction',
            headers: { Authorization: AUTH_HEADER, ...json },
            bodyTemplate: batchTemplate('b10:', 10),
          },
          themis: { server, route: '/transaction' },
          baseline: 'put-1key',
          extraBaselines: ['bare-uws-post'],
        },
        10,
      );
      // All 10 keys of one transaction from the middle of the run (atomicity spot check).
      await readBack(
        b10,
        Array.from({ length: 10 }, (_, j) => `b10:${idOf(b10, mid(b10))}-${j}`),
      );

      // ------------------------------------------------ JS driver: explicit transactions
      const jsScenario = async (o: {
        name: string;
        description: string;
        target: 'bare' | 'themis';
        clients: number;
        keysPerTxn: number;
        requestsPerTxn: number;
        path: string;
        flow: Flow;
        baseline?: string;
        extraBaselines?: string[];
        allowConflicts?: boolean;
      }): Promise<ScenarioResult> => {
        const base = o.target === 'bare' ? bare!.base : server.base;
        const extra: Extra = { clients: o.clients, keysPerTxn: o.keysPerTxn, requestsPerTxn: o.requestsPerTxn };
        let before: TxnStats | undefined;
        const r = await runScenario(
          {
            name: o.name,
            description: o.description,
            server: o.target === 'bare' ? 'bare uWS' : 'themis (sync)',
            load: { base, method: 'POST', path: o.path, headers: {} },
            ...(o.target === 'themis'
              ? { themis: { server, route: TXN_ROUTES } }
              : bare!.pid !== undefined
                ? { serverPid: bare!.pid }
                : {}),
            ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
            ...(o.extraBaselines !== undefined ? { extraBaselines: o.extraBaselines } : {}),
            ...(o.allowConflicts ? { allowStatus: [409] } : {}),
            warmupS: jsWarmupS,
            connections: o.clients,
            run: async (durationS, phase) => {
              if (phase === 'measure' && o.target === 'themis') before = await txnStats(server);
              const res = await runFlows({ base, clients: o.clients, durationS, headers: AUTH_LINE, flow: o.flow });
              if (phase === 'measure') {
                extra.flow = res;
                if (o.target === 'themis' && before) {
                  const after = await txnStats(server);
                  extra.serverConflicts = after.conflicts - before.conflicts;
                  extra.serverCommitted = after.total_committed - before.total_committed;
                }
              }
              return res;
            },
          },
          settings,
        );
        extras.set(o.name, extra);
        const f = extra.flow;
        if (f) {
          if (f.conflicts > 0 && !o.allowConflicts) {
            r.valid = false;
            r.problems.push(`${f.conflicts} unexpected 409 conflicts (distinct keys per transaction)`);
          }
          if (extra.serverConflicts !== undefined && extra.serverConflicts !== f.conflicts) {
            r.warnings.push(`server counted ${extra.serverConflicts} conflicts in the window, the driver saw ${f.conflicts} × 409`);
          }
          if (extra.serverCommitted !== undefined && extra.serverCommitted !== f.requests) {
            r.warnings.push(`server counted ${extra.serverCommitted} explicit commits in the window, the driver completed ${f.requests}`);
          }
        }
        results.push(r);
        return r;
      };

      await jsScenario({
        name: 'bare-uws-explicit-1key',
        description:
          'Ceiling for the explicit flow: the same JS driver running begin → PUT (X-Transaction-Id) → commit against the bare uWS app, which answers each request with the exact bytes themis returns (3 HTTP round trips per transaction).',
        target: 'bare',
        clients: settings.connections,
        keysPerTxn: 1,
        requestsPerTxn: 3,
        path: '/transaction/begin → PUT /entities/xt1b:<k> → /transaction/commit',
        flow: explicitFlow('xt1b:', 1),
      });
      await jsScenario({
        name: 'explicit-1key',
        description:
          'Explicit transaction per iteration, JS driver: POST /transaction/begin {"isolation":"snapshot"} → PUT /entities/<distinct key> with X-Transaction-Id → POST /transaction/commit (3 HTTP round trips; a durable commit).',
        target: 'themis',
        clients: settings.connections,
        keysPerTxn: 1,
        requestsPerTxn: 3,
        path: '/transaction/begin → PUT /entities/xt1:<k> → /transaction/commit',
        flow: explicitFlow('xt1:', 1),
        baseline: 'bare-uws-explicit-1key',
        extraBaselines: ['put-1key'],
      });
      await jsScenario({
        name: 'explicit-10key',
        description:
          'Explicit snapshot transaction writing 10 distinct keys: begin → 10 × PUT with X-Transaction-Id → commit (12 HTTP round trips; one durable commit of 10 writes + 10 change-log entries).',
        target: 'themis',
        clients: settings.connections,
        keysPerTxn: 10,
        requestsPerTxn: 12,
        path: '/transaction/begin → 10 × PUT /entities/xt10:<k> → /transaction/commit',
        flow: explicitFlow('xt10:', 10),
        baseline: 'batch-10key',
      });

      // ------------------------------------------------ read-modify-write: uncontended and hot keys
      const seed = async (keys: string[]) => {
        const ops = keys.map((key) => ({ op: 'put', key, blob: { n: 0 } }));
        await expectStatus(await server.req('POST', '/transaction', JSON.stringify({ operations: ops })), 200, 'seed hot keys');
      };
      const verify = async (r: ScenarioResult, keys: string[], commits: Map<string, number>) => {
        let total = 0;
        let stored = 0;
        for (const key of keys) {
          const res = await server.req('GET', `/entities/${key}`);
          const body = (await res.json()) as { blob: string };
          const n = res.status === 200 ? (JSON.parse(body.blob) as { n: number }).n : NaN;
          const want = commits.get(key) ?? 0;
          total += want;
          stored += n;
          if (n !== want) {
            r.valid = false;
            r.problems.push(`LOST UPDATE: ${key} holds n=${n} after ${want} successful read-modify-write commits`);
          }
        }
        r.metrics = { ...(r.metrics ?? {}), verified_counter_sum: stored, committed_increments: total };
        const st = await txnStats(server);
        if (st.active_count !== 0) r.warnings.push(`${st.active_count} explicit transactions still active after the run`);
      };
      const rmwScenario = async (
        name: string,
        keys: string[],
        clients: number,
        pick: (client: number) => string,
        description: string,
        baseline?: string,
      ) => {
        await seed(keys);
        const commits = new Map<string, number>();
        const r = await jsScenario({
          name,
          description,
          target: 'themis',
          clients,
          keysPerTxn: 1,
          requestsPerTxn: 4,
          path: `/transaction/begin → GET, PUT /entities/${keys[0]!.split(':')[0]}:<k> → /transaction/commit`,
          flow: rmwFlow(pick, commits),
          ...(baseline !== undefined ? { baseline } : {}),
          allowConflicts: true,
        });
        await verify(r, keys, commits);
      };
      const own = Array.from({ length: settings.connections }, (_, i) => `own:${i}`);
      await rmwScenario(
        'rmw-own-key-64c',
        own,
        settings.connections,
        (c) => own[c]!,
        `Uncontended read-modify-write (ceiling for the hot-key runs): ${settings.connections} clients, each incrementing its own counter key in a snapshot transaction: begin → GET → PUT n+1 → commit (4 HTTP round trips). No conflicts possible.`,
        'explicit-1key',
      );
      for (const [nKeys, clients] of [
        [1, 16],
        [1, 64],
        [10, 16],
        [10, 64],
      ] as const) {
        const name = `hot-${nKeys}key${nKeys > 1 ? 's' : ''}-${clients}c`;
        const keys = Array.from({ length: nKeys }, (_, i) => `hot${nKeys}c${clients}:${i}`);
        await rmwScenario(
          name,
          keys,
          clients,
          () => keys[Math.floor(Math.random() * keys.length)]!,
          `Hot keys: ${clients} clients incrementing ${nKeys === 1 ? 'one shared counter' : `${nKeys} shared counters (a random one per transaction)`} with snapshot read-modify-write (begin → GET → PUT n+1 → commit); a 409 CONFLICT (first committer wins) is retried at once with a new transaction. Latency = first begin to successful commit, retries included.`,
          'rmw-own-key-64c',
        );
      }
    } finally {
      await Promise.allSettled([sync?.stop(), bare?.stop()]);
    }
    applyBaselines(results);

    // Area table: transactions, not requests.
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const ms = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) : '');
    const rows: string[][] = [];
    for (const r of results) {
      const e = extras.get(r.name);
      if (!e) continue;
      const f = e.flow;
      const attempts = f ? r.load.requests + f.conflicts : r.load.requests;
      const abortRate = f && attempts > 0 ? f.conflicts / attempts : 0;
      const httpRps = f ? f.httpRequests / r.load.durationS : r.load.rps;
      const isBare = r.server === 'bare uWS';
      r.metrics = {
        ...(r.metrics ?? {}),
        clients: e.clients,
        keys_per_txn: e.keysPerTxn,
        commits_per_s: r3(r.load.rps),
        keys_per_s: r3(r.load.rps * e.keysPerTxn),
        http_requests_per_s: r3(httpRps),
        conflicts: f?.conflicts ?? 0,
        abort_rate: r3(abortRate),
        retries_per_commit: r3(f && r.load.requests > 0 ? f.conflicts / r.load.requests : 0),
        abandoned: f?.abandoned ?? 0,
        max_retries_one_txn: f?.maxConflicts ?? 0,
        ...(e.serverConflicts !== undefined ? { server_conflicts: e.serverConflicts } : {}),
        ...(e.serverCommitted !== undefined ? { server_explicit_commits: e.serverCommitted } : {}),
        ...(r.serverSide?.avgGroupCommit !== undefined ? { avg_group_commit: r3(r.serverSide.avgGroupCommit) } : {}),
      };
      rows.push([
        r.valid ? r.name : `${r.name} **INVALID**`,
        r.server,
        r.load.tool,
        String(e.clients),
        String(e.keysPerTxn),
        String(e.requestsPerTxn),
        isBare ? `(${fmt(r.load.rps)})` : fmt(r.load.rps),
        isBare ? '' : fmt(r.load.rps * e.keysPerTxn),
        fmt(httpRps),
        f ? fmt(f.conflicts) : '0',
        f ? `${(abortRate * 100).toFixed(1)}%` : '0%',
        f ? String(f.maxConflicts) : '0',
        ms(r.load.p50Ms),
        ms(r.load.p99Ms),
        r.serverSide?.avgGroupCommit !== undefined ? r.serverSide.avgGroupCommit.toFixed(1) : '',
      ]);
    }
    return {
      title: 'txn (transaction commits/s, hot-key aborts; durability sync)',
      tool: `${tool.version}; node raw-socket driver for explicit transactions`,
      rateLabel: 'commits/s',
      scenarios: results,
      tables: [
        {
          title: 'Transactions',
          columns: [
            'Scenario',
            'Server',
            'Driver',
            'clients',
            'keys/txn',
            'HTTP req/txn',
            'commits/s',
            'keys written/s',
            'HTTP req/s',
            '409 aborts',
            'abort rate',
            'max retries (one txn)',
            'p50 ms',
            'p99 ms',
            'avg group commit',
          ],
          rows,
          notes: [
            'commits/s = committed (durable, fsynced) transactions per second; bare uWS rows (in parentheses) are what the HTTP stack alone can answer with the same bytes — the ceiling, not commits.',
            'abort rate = 409 CONFLICT ÷ commit attempts (attempts = commits + 409s). max retries = the longest chain of 409s one logical transaction went through before it committed (or was abandoned when the run ended). Latency of read-modify-write rows runs from the first begin to the successful commit, retries included.',
            'avg group commit = transactions sharing one LevelDB batch + fsync in the measured window (from /metrics).',
          ],
        },
      ],
      notes: [
        'Ratios: `batch-*` vs `put-1key` (an implicit single-key transaction, the cheapest durable commit) and vs `bare-uws-post` (bare uWS answering the same bytes); `explicit-1key` vs `bare-uws-explicit-1key` (the same JS driver and 3-request flow against bare uWS, so driver cost is in both); `explicit-10key` vs `batch-10key` (same 10 writes in one request); hot-key rows vs `rmw-own-key-64c` (the same read-modify-write flow without contention).',
        'wrk scenarios: one request = one transaction (PUT /entities or POST /transaction with distinct keys per request from a per-thread counter in the Lua script). JS scenarios: a raw-socket HTTP/1.1 driver in the bench process (pinned to the load-generator CPU), one connection per client, closed loop.',
        'Explicit transactions use isolation "snapshot" (a LevelDB snapshot per transaction, first-committer-wins at commit). Hot-key retries are immediate (no backoff), the worst case for contention.',
        'After each read-modify-write scenario every counter is read back and must equal the number of successful commits on it (lost-update check); after batch scenarios keys from the middle of the run are read back (for batch-10key all 10 keys of one transaction).',
        'Server, bare uWS and load generator share this machine; on few cores the driver competes with the server for CPU, which lowers absolute numbers (ratios are more stable).',
      ],
    };
  },
};
