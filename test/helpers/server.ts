import http from 'node:http';
import https from 'node:https';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');
export const ADMIN_KEY = 'test-admin-key-0123456789';

export function tempDir(prefix = 'themis-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, release). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface StartedServer {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly dataDir: string;
  readonly base: string;
  stdout(): string;
  stderr(): string;
  /** fetch with the admin bearer token (unless headers.authorization is given). */
  req(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  env?: Record<string, string>;
  args?: string[];
  /** Default: the test admin key via THEMIS_ADMIN_KEY. Pass null to start without it. */
  adminKey?: string | null;
  /** Wait for /health/ready (default true). */
  waitReady?: boolean;
  /** The server speaks HTTPS (THEMIS_TLS_* in env): `base` is https:// and requests trust this CA certificate (PEM). */
  https?: { ca: string };
}

/** fetch over HTTPS trusting one CA (global fetch cannot be given one): the answer as a fetch Response. */
export function httpsFetch(
  url: string,
  ca: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const r = https.request(url, { method: init.method ?? 'GET', headers: init.headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        const status = res.statusCode ?? 0;
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, headers }));
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(init.body);
  });
}

/** Servers started by this test file and not yet exited. */
const live = new Set<ChildProcess>();
// A test that times out never reaches its `finally { stop() }`, and vitest ends its workers with a
// signal (no 'exit' event): kill what is left when the file is done. Registered when a test file
// imports this module, so it runs after the file's own afterAll hooks (hooks run in reverse order).
afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
});

/** Start the real server (dist/src/cli.js) on a free port with a temp data dir. */
export async function startServer(opts: StartOptions = {}): Promise<StartedServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    THEMIS_PORT: String(port),
    THEMIS_HOST: '127.0.0.1',
    THEMIS_DATA_DIR: dataDir,
    THEMIS_LOG_LEVEL: 'warn',
    ...(opts.env ?? {}),
  };
  const adminKey = opts.adminKey === undefined ? ADMIN_KEY : opts.adminKey;
  if (adminKey === null) delete env.THEMIS_ADMIN_KEY;
  else env.THEMIS_ADMIN_KEY = adminKey;
  const proc = spawn(process.execPath, [CLI, ...(opts.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  live.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      live.delete(proc);
      resolve(code);
    }),
  );
  const base = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const doFetch = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    opts.https ? httpsFetch(url, opts.https.ca, init) : fetch(url, init);
  const s: StartedServer = {
    proc,
    port,
    dataDir,
    base,
    stdout: () => out,
    stderr: () => err,
    req: (method, urlPath, body, headers = {}) => {
      const h: Record<string, string> = { ...headers };
      if (!('authorization' in h) && adminKey) h.authorization = `Bearer ${adminKey}`;
      if (h.authorization === '') delete h.authorization;
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        h['content-type'] ??= 'application/json';
      }
      return doFetch(base + urlPath, { method, headers: h, ...(payload !== undefined ? { body: payload } : {}) });
    },
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
  if (opts.waitReady !== false) await waitReady(s, exited, doFetch);
  return s;
}

async function waitReady(s: StartedServer, exited: Promise<number | null>, doFetch: (url: string) => Promise<Response>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (done) throw new Error(`server exited during start:\n${s.stderr()}`);
    try {
      const r = await doFetch(`${s.base}/health/ready`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await s.kill();
  throw new Error(`server did not become ready:\n${s.stderr()}`);
}

/** Parse a JSON response, asserting the Content-Type. */
export async function json<T = Record<string, unknown>>(r: Response): Promise<T> {
  const ct = r.headers.get('content-type') ?? '';
  if (!ct.startsWith('application/json')) throw new Error(`expected JSON, got ${ct}: ${await r.text()}`);
  return (await r.json()) as T;
}

export type Body = Record<string, unknown>;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request whose JSON body (or {} for an empty one) is returned with the status. */
export async function call(
  s: StartedServer,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<{ status: number; body: Body }> {
  const r = await s.req(method, path, body, headers);
  const text = await r.text();
  return { status: r.status, body: text === '' ? {} : (JSON.parse(text) as Body) };
}

/** Await a `call()`, assert its status (200 unless given; a mismatch shows the body) and return the body. */
export async function ok(p: Promise<{ status: number; body: Body }>, status = 200): Promise<Body> {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

/** Assert a `call()` result is the error `code` with `status` in the contract's format (and `field`, when given), without a stack trace. */
export function expectError(r: { status: number; body: Body }, status: number, code: string, field?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toMatchObject({ error: true, status_code: status, code, message: expect.any(String) });
  if (field !== undefined) expect(r.body.field, JSON.stringify(r.body)).toBe(field);
  expect(JSON.stringify(r.body)).not.toMatch(/\n\s+at /);
}

/**
 * Poll `probe` until `done(value)` holds (every `everyMs`), and return that value; after
 * `timeoutMs` return the last value seen, for the caller's assertion to show. For waiting on
 * server state (a waiter registered, a stream closed) instead of sleeping a fixed time that a
 * busy machine may exceed.
 */
export async function waitUntil<T>(probe: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() >= deadline) return v;
    await sleep(everyMs);
  }
}

/**
 * Assert a response's status; on a mismatch the failure shows the body (the error message and
 * code say why far better than "expected 400 to be 200"). Takes a fetch Response (its body is
 * read, from a clone, only on a mismatch) or a `call()` result.
 */
export async function expectStatus(r: Response | { status: number; body: unknown }, status: number): Promise<void> {
  if (r.status === status) return;
  let body: string;
  if (r instanceof Response)
    body = r.bodyUsed
      ? '(body already read)'
      : await r
          .clone()
          .text()
          .catch((e: unknown) => `(body unreadable: ${String(e)})`);
  else body = JSON.stringify(r.body);
  expect(r.status, `HTTP ${r.status}: ${body}`).toBe(status);
}

/** A fresh connection's GET /health: `status <code>`, or the error code (ECONNREFUSED once the listener is closed). */
export function connectOutcome(port: number): Promise<string> {
  return new Promise<string>((resolve) => {
    const r = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    r.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}
