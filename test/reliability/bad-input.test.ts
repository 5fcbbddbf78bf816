import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ADMIN_KEY, ROOT, startServer, type StartedServer } from '../helpers/server.js';

/**
 * Bad input on every route of openapi.yaml (issue 13, harness part b). The
 * requests are generated from the spec: every path × method, with missing,
 * invalid and wrong-type fields derived from its request schema, deep
 * nesting, bodies over the limit, invalid UTF-8, invalid JSON, wrong content
 * types, header abuse, odd path parameters and invalid query parameters. Each
 * must be answered with a 4xx in the contract's error format (`error: true`,
 * `status_code` equal to the status, a `message`, a `code` from the
 * catalogue), never a 5xx or a stack trace, and the server must still answer
 * GET /health after each route.
 *
 * THEMIS_SOAK=1 adds random mutations (bytes, truncations, splices, nesting,
 * random headers) per route; there valid requests may happen by chance, so
 * only "no 5xx, errors in the format" is asserted.
 */

const SOAK = process.env.THEMIS_SOAK === '1';
const SOAK_PER_ROUTE = Number(process.env.THEMIS_SOAK_BAD_INPUT_PER_ROUTE ?? 300);
const BODY_LIMIT = 64 * 1024;
const AUTH = { authorization: `Bearer ${ADMIN_KEY}` };

type Schema = Record<string, unknown>;
interface Param {
  name: string;
  in: 'query' | 'header' | 'path';
  schema?: Schema;
}
interface Operation {
  method: string;
  path: string;
  /** The request schema, $refs resolved one level. */
  body: Schema | undefined;
  bodyRequired: boolean;
  /** The body is raw bytes (application/octet-stream), streamed to the handler. */
  rawBody: boolean;
  params: Param[];
  public: boolean;
}

const spec = YAML.parse(fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema>; parameters: Record<string, Param> };
};
const CODES = new Set((spec.components.schemas.ErrorResponse!.properties as Record<string, { enum?: string[] }>).code!.enum!);

function resolve<T>(x: unknown): T {
  const ref = (x as { $ref?: string } | undefined)?.$ref;
  if (ref === undefined) return x as T;
  const [, , kind, name] = ref.split('/');
  return (spec.components as unknown as Record<string, Record<string, unknown>>)[kind!]![name!] as T;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const operations: Operation[] = [];
for (const [p, item] of Object.entries(spec.paths)) {
  const shared = ((item.parameters as unknown[] | undefined) ?? []).map((x) => resolve<Param>(x));
  for (const m of METHODS) {
    const op = item[m] as
      | {
          requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
          parameters?: unknown[];
          security?: unknown[];
        }
      | undefined;
    if (!op) continue;
    const schema = op.requestBody?.content?.['application/json']?.schema;
    operations.push({
      method: m.toUpperCase(),
      path: p,
      body: schema === undefined ? undefined : resolve<Schema>(schema),
      bodyRequired: op.requestBody?.required === true,
      rawBody: op.requestBody?.content?.['application/octet-stream'] !== undefined,
      params: [...shared, ...(op.parameters ?? []).map((x) => resolve<Param>(x))],
      public: Array.isArray(op.security) && op.security.length === 0,
    });
  }
}

/** A valid-looking value for each path parameter, so the route is reached. */
const fill = (p: string, value = 'badinput:1') => p.replace(/\{[^}]+\}/g, encodeURIComponent(value));

interface Probe {
  what: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Expected code (else: any catalogue code). */
  code?: string;
  /** Expected status (else: any 4xx). */
  status?: number;
  /** Expected `field` of a VALIDATION_FAILED. */
  field?: string;
  /** Send over a raw socket (what fetch refuses to send, such as a GET with a body). */
  raw?: boolean;
}

/** JSON types a schema's `type` admits. */
function admitted(s: Schema | undefined): Set<string> | undefined {
  const t = s?.type;
  if (t === undefined) return undefined;
  const types = new Set(Array.isArray(t) ? (t as string[]) : [t as string]);
  if (types.has('number')) types.add('integer');
  return types;
}

/** A value of a JSON type the schema does not admit (undefined when it admits any). */
function wrongValue(s: Schema | undefined): unknown {
  const types = admitted(s);
  if (!types) return undefined;
  const candidates: [string, unknown][] = [
    ['object', { unexpected: [1, 2] }],
    ['string', 'not what was asked for'],
    ['number', 12345.5],
    ['boolean', true],
    ['array', [{ a: 1 }]],
    ['null', null],
  ];
  for (const [type, v] of candidates) if (!types.has(type)) return v;
  return undefined;
}

function probesFor(op: Operation): Probe[] {
  const url = fill(op.path);
  const json = { 'content-type': 'application/json', ...AUTH };
  const out: Probe[] = [];
  if (op.body) {
    const required = (op.body.required as string[] | undefined) ?? [];
    const props = (op.body.properties as Record<string, Schema> | undefined) ?? {};
    out.push({ what: 'invalid JSON', method: op.method, url, headers: json, body: '{"a":', code: 'INVALID_JSON' });
    out.push({
      what: 'invalid JSON, text/plain',
      method: op.method,
      url,
      headers: { ...AUTH, 'content-type': 'text/plain' },
      body: 'hello, server',
      code: 'INVALID_JSON',
    });
    out.push({
      what: 'multipart garbage',
      method: op.method,
      url,
      headers: { ...AUTH, 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
      code: 'INVALID_JSON',
    });
    out.push({
      what: 'invalid UTF-8',
      method: op.method,
      url,
      headers: json,
      body: Buffer.concat([Buffer.from('{"k":"'), Buffer.from([0xc3, 0x28, 0xa0, 0xff]), Buffer.from('"}')]),
      code: 'INVALID_JSON',
    });
    out.push({
      what: 'nested 10,000 levels',
      method: op.method,
      url,
      headers: json,
      body: `{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      code: 'JSON_TOO_DEEP',
    });
    out.push({
      what: 'body over the limit',
      method: op.method,
      url,
      headers: json,
      body: Buffer.alloc(BODY_LIMIT + 4096, 0x20),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    });
    for (const top of ['[]', '"a string"', '42', 'null', 'true']) {
      out.push({ what: `top-level ${top}`, method: op.method, url, headers: json, body: top, code: 'VALIDATION_FAILED' });
    }
    // Schemas refuse unknown fields; without required fields the error names the unknown one.
    out.push({
      what: 'unknown field',
      method: op.method,
      url,
      headers: json,
      body: '{"zz_unknown_field":1}',
      code: 'VALIDATION_FAILED',
      ...(required.length === 0 ? { field: 'zz_unknown_field' } : {}),
    });
    if (required.length > 0) {
      out.push({ what: 'empty body', method: op.method, url, headers: json, body: '', code: 'BAD_REQUEST' });
      out.push({ what: 'missing required fields', method: op.method, url, headers: json, body: '{}', code: 'VALIDATION_FAILED' });
    }
    for (const [name, ps] of Object.entries(props)) {
      const v = wrongValue(resolve<Schema>(ps));
      if (v === undefined) continue;
      out.push({ what: `wrong type for "${name}"`, method: op.method, url, headers: json, body: JSON.stringify({ [name]: v }) });
    }
  } else if (op.rawBody) {
    // A route taking raw bytes (streamed; its own limit is tested with the route, e.g. content-upload.test.ts):
    // a path parameter it refuses is answered before anything is stored.
    out.push({
      what: 'raw body to an invalid id',
      method: op.method,
      url,
      headers: AUTH,
      body: Buffer.from('bytes'),
      code: 'VALIDATION_FAILED',
    });
  } else if (op.method !== 'GET') {
    // A route that takes no body: one over the limit is refused, nothing applied.
    out.push({
      what: 'body over the limit on a route without one',
      method: op.method,
      url,
      headers: json,
      body: Buffer.alloc(BODY_LIMIT + 4096, 0x20),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    });
  } else {
    out.push({
      what: 'GET with a body over the limit',
      method: op.method,
      url,
      headers: json,
      body: Buffer.alloc(BODY_LIMIT + 4096, 0x20),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
      raw: true,
    });
  }
  // Header abuse: 20 fields of 1 KB, one field of 20 KB, a target over the limit.
  const padded: Record<string, string> = { ...AUTH };
  for (let i = 0; i < 20; i++) padded[`x-pad-${i}`] = 'h'.repeat(1024);
  out.push({ what: '20 headers of 1 KB', method: op.method, url, headers: padded, code: 'HEADERS_TOO_LARGE', status: 431 });
  out.push({
    what: 'one 20 KB header',
    method: op.method,
    url,
    headers: { ...AUTH, 'x-big': 'h'.repeat(20 * 1024) },
    code: 'HEADERS_TOO_LARGE',
    status: 431,
  });
  out.push({
    what: 'request target over the limit',
    method: op.method,
    url: `${url}?q=${'u'.repeat(17 * 1024)}`,
    headers: AUTH,
    code: 'URI_TOO_LONG',
    status: 414,
  });
  // Odd path parameters.
  if (op.path.includes('{')) {
    for (const [what, raw] of [
      ['NUL', '%00'],
      ['bad percent-encoding', '%ZZ'],
      ['lone surrogate', '%ED%A0%80'],
      ['no table', 'nokey'],
      ['empty pk', 't:'],
      ['space in table', 'bad%20table:1'],
      ['5000 characters', `t:${'k'.repeat(5000)}`],
      ['dot-dot', '..'],
    ] as const) {
      // A content id needs no table: an upload of no bytes under a valid id is a valid request.
      if (op.rawBody && what === 'no table') continue;
      const odd = op.path.replace(/\{[^}]+\}/g, raw);
      const body = op.body ? JSON.stringify({ blob: '{"a":1}' }) : undefined;
      out.push({
        what: `path parameter: ${what}`,
        method: op.method,
        url: odd,
        headers: { 'content-type': 'application/json', ...AUTH },
        ...(body !== undefined ? { body } : {}),
        // fetch resolves `/x/..` to `/` (a route since GET / answers a pointer): send the `..` itself.
        ...(what === 'dot-dot' ? { raw: true } : {}),
      });
    }
  }
  // Invalid declared parameters.
  for (const p of op.params) {
    const s = p.schema ?? {};
    const bad: string[] = [];
    if (s.type === 'integer') {
      bad.push('abc', '1.5', '1e3', '99999999999999999999');
      if (typeof s.minimum === 'number') bad.push(String(s.minimum - 1));
      if (typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER) bad.push(String(s.maximum + 1));
    } else if (Array.isArray(s.enum)) {
      bad.push('certainly-not-in-the-enum');
    } else if (typeof s.maxLength === 'number') {
      bad.push('s'.repeat(s.maxLength + 1));
    } else if (typeof s.pattern === 'string') {
      bad.push('does not match');
    } else if (p.name.toLowerCase() === 'x-transaction-id') {
      bad.push('999999999', 'not-a-transaction');
    } else if (p.in === 'query' && p.name === 'index') {
      bad.push('no-such-index');
    }
    for (const v of bad) {
      if (p.in === 'query') {
        out.push({
          what: `query ${p.name}=${v.slice(0, 20)}`,
          method: op.method,
          url: `${url}?${p.name}=${encodeURIComponent(v)}`,
          headers: { 'content-type': 'application/json', ...AUTH },
          ...(op.body ? { body: '{}' } : {}),
        });
      } else if (p.in === 'header') {
        out.push({
          what: `header ${p.name}: ${v.slice(0, 20)}`,
          method: op.method,
          url,
          headers: { 'content-type': 'application/json', ...AUTH, [p.name]: v },
          ...(op.body ? { body: '{}' } : {}),
        });
      }
    }
  }
  return out;
}

let s: StartedServer;

beforeAll(async () => {
  s = await startServer({ env: { THEMIS_MAX_BODY_BYTES: String(BODY_LIMIT) } });
});

afterAll(async () => {
  if (!s) return;
  expect(await s.stop()).toBe(0);
  // No request of this file may have produced an error-level log line (those are for 5xx and crashes).
  expect(
    s
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"level":"error"')),
  ).toEqual([]);
  fs.rmSync(s.dataDir, { recursive: true, force: true });
});

interface Seen {
  status: number;
  text: string;
  contentType: string;
}

async function fire(p: Probe): Promise<Seen> {
  if (p.raw) {
    const body = p.body === undefined ? Buffer.alloc(0) : Buffer.from(p.body);
    const head = `${p.method} ${p.url} HTTP/1.1\r\nHost: x\r\n${Object.entries(p.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}Content-Length: ${body.length}\r\n\r\n`;
    return rawRequest(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  }
  const r = await fetch(s.base + p.url, {
    method: p.method,
    headers: p.headers ?? {},
    ...(p.body !== undefined ? { body: p.body } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: r.status, text: await r.text(), contentType: r.headers.get('content-type') ?? '' };
}

/** The error format of the contract, with a catalogue code and no stack trace. */
function checkError(label: string, seen: Seen, p: Pick<Probe, 'code' | 'status' | 'field'>): void {
  const ctx = `${label}: ${seen.status} ${seen.text.slice(0, 300)}`;
  expect(seen.status, ctx).toBeGreaterThanOrEqual(400);
  expect(seen.status, ctx).toBeLessThan(500);
  if (p.status !== undefined) expect(seen.status, ctx).toBe(p.status);
  expect(seen.contentType, ctx).toMatch(/^application\/json/);
  const b = JSON.parse(seen.text) as Record<string, unknown>;
  expect(b.error, ctx).toBe(true);
  expect(b.status_code, ctx).toBe(seen.status);
  expect(typeof b.message === 'string' && b.message.length > 0, ctx).toBe(true);
  expect(CODES.has(b.code as string), `${ctx} (code not in the catalogue)`).toBe(true);
  if (p.code !== undefined) expect(b.code, ctx).toBe(p.code);
  if (p.field !== undefined) expect(b.field, ctx).toBe(p.field);
  expect(seen.text, ctx).not.toMatch(/\bat [^ ]+ \(|\.(js|ts):\d+:\d+|node_modules|RangeError|TypeError/);
}

async function expectAlive(label: string): Promise<void> {
  const h = await fetch(`${s.base}/health`, { signal: AbortSignal.timeout(5000) });
  expect(h.status, `${label}: /health after`).toBe(200);
  expect(s.proc.exitCode, `${label}: server exited`).toBeNull();
}

describe('bad input on every route of openapi.yaml', () => {
  it('the spec yields every route (sanity: the generator did not silently find nothing)', () => {
    expect(operations.length).toBeGreaterThanOrEqual(35);
    expect(operations.filter((o) => o.body).length).toBeGreaterThanOrEqual(18);
  });

  for (const op of operations) {
    it(`${op.method} ${op.path}: every bad input -> 4xx in the error format, server alive`, async () => {
      const probes = probesFor(op);
      expect(probes.length).toBeGreaterThan(3);
      for (const p of probes) checkError(`${op.method} ${op.path} [${p.what}]`, await fire(p), p);
      // Raw bytes the fetch API will not send: invalid UTF-8 and control bytes in the target.
      const raw = await rawRequest(
        Buffer.from(
          `${op.method} ${fill(op.path)}\xff\xfe%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Length: 2\r\n\r\n{}`,
          'latin1',
        ),
      );
      checkError(`${op.method} ${op.path} [raw bytes in target]`, raw, { code: 'BAD_REQUEST', status: 400 });
      await expectAlive(`${op.method} ${op.path}`);
    });
  }

  it.runIf(SOAK)(
    `soak: ${SOAK_PER_ROUTE} random mutations per route, no 5xx, errors always in the format`,
    async () => {
      for (const op of operations) {
        for (let i = 0; i < SOAK_PER_ROUTE; i++) {
          const p = mutate(op);
          const label = `${op.method} ${op.path} [${p.what}]`;
          let seen: Seen;
          try {
            seen = await fire(p);
          } catch (e) {
            throw new Error(`${label}: no answer (${(e as Error).message})`);
          }
          expect(seen.status, `${label}: ${seen.text.slice(0, 300)}`).toBeLessThan(500);
          if (seen.status >= 400) checkError(label, seen, {});
        }
        await expectAlive(`${op.method} ${op.path}`);
      }
    },
    1_800_000,
  );
});

/** A random bad (or, by chance, valid) request for the route. */
function mutate(op: Operation): Probe {
  // A mutation may be valid by chance: keep a valid change stream short.
  const url =
    fill(op.path, crypto.randomInt(4) === 0 ? crypto.randomBytes(1 + crypto.randomInt(10)).toString('latin1') : 'soak:1') +
    (op.path === '/changefeed/stream' ? '?keep_alive=false' : '');
  const headers: Record<string, string> = { 'content-type': 'application/json', ...AUTH };
  for (let i = crypto.randomInt(6); i > 0; i--)
    headers[`x-r${crypto.randomInt(1000)}`] = crypto.randomBytes(1 + crypto.randomInt(3000)).toString('base64');
  const seed = JSON.stringify(
    op.body
      ? {
          [Object.keys((op.body.properties as object | undefined) ?? { a: 1 })[0] ?? 'a']: wrongValue(undefined) ?? 'x',
          n: [1, { d: 'é' }],
        }
      : {},
  );
  const kind = crypto.randomInt(6);
  let body: Buffer;
  switch (kind) {
    case 0:
      body = crypto.randomBytes(crypto.randomInt(2000));
      break;
    case 1:
      body = Buffer.from(seed.slice(0, crypto.randomInt(seed.length + 1)));
      break;
    case 2: {
      const b = Buffer.from(seed);
      for (let i = 0; i < 1 + crypto.randomInt(4); i++) b[crypto.randomInt(b.length)] = crypto.randomInt(256);
      body = b;
      break;
    }
    case 3: {
      const depth = crypto.randomInt(2000);
      body = Buffer.from(`{"a":${'[{"b":'.repeat(depth)}1${'}]'.repeat(depth)}}`);
      break;
    }
    case 4:
      body = Buffer.from(
        `${seed.slice(0, -1)},"${'k'.repeat(crypto.randomInt(50))}":${JSON.stringify('\u0000\ud800x'.repeat(crypto.randomInt(5)))}}`,
      );
      break;
    default:
      body = Buffer.alloc(crypto.randomInt(2 * BODY_LIMIT), 0x5b);
  }
  return { what: `mutation ${kind}`, method: op.method, url, headers, body: op.method === 'GET' ? undefined : body } as Probe;
}

/** One raw request on its own connection; status 0 when the server closed without an answer. */
function rawRequest(data: Buffer): Promise<Seen> {
  return new Promise((resolveSeen) => {
    const sock = net.connect(s.port, '127.0.0.1');
    let text = '';
    const done = () => {
      const head = text.split('\r\n\r\n')[0] ?? '';
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1] ?? '';
      resolveSeen({ status, text: text.slice(head.length + 4), contentType });
    };
    const timer = setTimeout(() => {
      sock.destroy();
      done();
    }, 5000);
    sock.on('data', (d) => {
      text += d.toString('latin1');
      // One response is enough (keep-alive would keep the socket open).
      const head = text.split('\r\n\r\n')[0] ?? '';
      const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? -1);
      if (len >= 0 && text.length >= head.length + 4 + len) {
        clearTimeout(timer);
        sock.destroy();
        done();
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      done();
    });
    sock.write(data);
  });
}
