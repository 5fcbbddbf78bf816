import { startBareUws, type BareUws } from '../lib/bare-uws.js';
import { detectTool } from '../lib/load.js';
import { applyBaselines, runScenario } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import type { Area, ScenarioResult } from '../lib/types.js';
import { log } from '../lib/util.js';

const ROUTE = '/entities/:key';
const GET_PATH = '/entities/bench:1';

/** ~100-byte JSON request body for PUT /entities/{key}. */
export const PUT_BODY = JSON.stringify({
  blob: { name: 'bench entity', kind: 'benchmark', n: 12345, tags: ['alpha', 'beta', 'gamma'], note: 'x' },
});

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
    try {
      sync = await startThemis({ durability: 'sync' });
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
    applyBaselines(results);
    return {
      title: 'entities (GET/PUT /entities/{key})',
      tool: `${tool.version}`,
      scenarios: results,
      notes: [
        'ratio = scenario req/s ÷ baseline req/s, both measured in this run on this machine. The bare uWS servers do no routing, auth, validation, storage or metrics, so they are the ceiling for this HTTP stack.',
        'Servers, the bare uWS ceiling and the load generator share the same machine: on few cores the load generator competes with the server for CPU, which lowers every absolute number (ratios are more stable).',
        'non-2xx is counted by the load generator (wrk counts status >= 400) and cross-checked on the server via /metrics (status counts per route in the measured window); any non-2xx makes the scenario INVALID.',
        'PUT scenarios write a new key per request (distinct keys per wrk thread / autocannon counter); after the run a key from the middle of the run is read back.',
      ],
    };
  },
};
