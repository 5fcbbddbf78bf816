import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import client from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ok, type StartedServer, startServer } from '../helpers/server.js';

/**
 * /metrics of a real server after traffic on every subsystem, checked by
 * Prometheus' own linter (`promtool check metrics`, Debian package
 * `prometheus`) and by the naming rule of docs/operations.md ("/metrics"):
 * the contract's three names, prom-client's default process_/nodejs_
 * metrics, and `themis_*` for everything else of ours.
 *
 * Without promtool the promtool test is skipped with the reason in its
 * title; with THEMIS_REQUIRE_PROMTOOL=1 (CI, .ci/run) it fails instead.
 * PROMTOOL names another binary.
 */

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const REQUIRED = process.env.THEMIS_REQUIRE_PROMTOOL === '1';
const probe = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
const HAVE_PROMTOOL = probe.error === undefined && probe.status === 0;
const SKIP_REASON = HAVE_PROMTOOL
  ? ''
  : REQUIRED
    ? ` (${PROMTOOL} not found and THEMIS_REQUIRE_PROMTOOL=1: fails)`
    : ` (skipped: ${PROMTOOL} not found; apt-get install prometheus, or set THEMIS_REQUIRE_PROMTOOL=1 to fail instead)`;

/** The contract's names (api/themisdb-http-api.md, "GET /metrics"). */
const CONTRACT = ['process_uptime_seconds', 'vccdb_requests_total', 'vccdb_errors_total'];
const isOurs = (name: string) => name.startsWith('themis_') || CONTRACT.includes(name);

/** Every `# TYPE` line: family name → type. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

let s: StartedServer;
let text: string;

beforeAll(async () => {
  s = await startServer();
  // Traffic on every subsystem, so that each family has samples (labelled ones included).
  await ok(call(s, 'PUT', '/entities/docs:1', { blob: { title: 'alpha', embedding: [1, 0, 0] } }), 201);
  await ok(call(s, 'GET', '/entities/docs:1'));
  await ok(call(s, 'GET', '/entities/docs:1')); // from the document cache
  expect((await call(s, 'GET', '/entities/docs:missing')).status).toBe(404);
  expect((await call(s, 'GET', '/no/such/route')).status).toBe(404);
  expect((await call(s, 'GET', '/stats', undefined, { authorization: 'Bearer wrong-key-0123456789' })).status).toBe(401);
  const txn = await ok(call(s, 'POST', '/transaction/begin', {}));
  await ok(call(s, 'PUT', '/entities/docs:2', { blob: { title: 'beta' } }, { 'x-transaction-id': String(txn.transaction_id) }), 201);
  await ok(call(s, 'POST', '/transaction/commit', { transaction_id: txn.transaction_id }));
  await ok(call(s, 'POST', '/vector/index/create', { name: 'docs_vec', table: 'docs', field: 'embedding', dimension: 3 }), 201);
  await ok(call(s, 'PUT', '/entities/docs:3', { blob: { title: 'gamma', embedding: [0, 1, 0] } }), 201);
  await ok(call(s, 'POST', '/cache/put', { key: 'q1', value: { a: 1 }, embedding: [1, 0, 0], prompt: 'q' }));
  await ok(call(s, 'POST', '/cache/query', { key: 'q1' }));
  await ok(call(s, 'POST', '/cache/query', { embedding: [0.9, 0.1, 0] }));
  await ok(call(s, 'POST', '/pii/pseudonymize', { text: 'Write to alice@example.com' }));
  await ok(
    call(s, 'POST', '/llm/interaction', {
      model: 'm',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ],
    }),
    201,
  );
  await ok(
    call(s, 'POST', '/content/import', { content: { id: 'c1', mime_type: 'text/plain' }, blob: Buffer.from('hello').toString('base64') }),
  );
  await ok(call(s, 'GET', '/changefeed?from_seq=0&limit=5'));
  const r = await s.req('GET', '/metrics', undefined, { authorization: '' });
  expect(r.status).toBe(200);
  text = await r.text();
});

afterAll(async () => {
  if (!s) return;
  expect(await s.stop()).toBe(0);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

describe('/metrics naming', () => {
  it("has only the contract's names, prom-client's defaults and themis_* families", () => {
    const defaults = new client.Registry();
    client.collectDefaultMetrics({ register: defaults });
    const defaultNames = new Set(defaults.getMetricsAsArray().map((m) => m.name));
    const fams = families(text);
    expect(fams.size).toBeGreaterThan(40);
    const stray = [...fams.keys()].filter((n) => !isOurs(n) && !defaultNames.has(n));
    expect(stray, 'metrics neither in the contract, nor prom-client defaults, nor themis_*').toEqual([]);
    for (const n of CONTRACT) expect(fams.has(n), n).toBe(true);
    expect(fams.get('themis_http_request_duration_seconds')).toBe('histogram');
    // Renamed: the old names are gone.
    expect(text).not.toContain('vccdb_http_request_duration_seconds');
    expect(text).not.toContain('themis_txn_');
  });

  it('every themis_* family has samples after the traffic above, labelled ones included', () => {
    const fams = [...families(text).keys()].filter((n) => n.startsWith('themis_'));
    const empty = fams.filter((n) => !new RegExp(`^${n}(_bucket|_sum|_count)?(\\{| )`, 'm').test(text));
    expect(empty).toEqual([]);
    for (const n of [
      'themis_vector_index_vectors{index="docs_vec"}',
      'themis_cache_searches_total{path=',
      'themis_pii_vault_values{state=',
    ]) {
      expect(text).toContain(n);
    }
    // The document cache: the first GET read LevelDB, the second the cache.
    const value = (n: string) => Number(new RegExp(`^${n} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('themis_document_cache_hits_total')).toBeGreaterThanOrEqual(1);
    expect(value('themis_document_cache_misses_total')).toBeGreaterThanOrEqual(1);
    expect(value('themis_document_cache_entries')).toBeGreaterThanOrEqual(1);
    expect(value('themis_document_cache_bytes')).toBeGreaterThan(100);
    // 14 buckets + +Inf per series.
    const les = [
      ...text.matchAll(
        /^themis_http_request_duration_seconds_bucket\{[^}]*route="\/entities\/:key"[^}]*method="GET"[^}]*status="200"[^}]*\}/gm,
      ),
    ];
    expect(les.length).toBe(15);
  });
});

describe('promtool check metrics', () => {
  it.skipIf(!HAVE_PROMTOOL && !REQUIRED)(`reports no problem for our metrics${SKIP_REASON}`, () => {
    expect(HAVE_PROMTOOL, `${PROMTOOL} is not installed but THEMIS_REQUIRE_PROMTOOL=1 (apt-get install prometheus)`).toBe(true);
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    // One problem per line, "<metric> <what is wrong>"; anything else (a parse error) fails the whole check.
    const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
    const problems = lines.map((l) => ({ metric: l.split(' ', 1)[0]!, line: l }));
    const unparsed = problems.filter((p) => !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p.metric));
    expect(
      unparsed.map((p) => p.line),
      'promtool could not lint the exposition',
    ).toEqual([]);
    const ours = problems.filter((p) => isOurs(p.metric));
    expect(
      ours.map((p) => p.line),
      'promtool problems with our metrics',
    ).toEqual([]);
    // prom-client's defaults are not ours to rename; show what promtool says of them, if anything.
    const others = problems.filter((p) => !isOurs(p.metric));
    if (others.length > 0) console.info(`promtool on prom-client's default metrics:\n${others.map((p) => `  ${p.line}`).join('\n')}`);
    if (others.length === 0) expect(r.status).toBe(0);
  });
});
