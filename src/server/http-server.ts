import crypto from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { can, type Authenticator, type Principal } from '../security/index.js';
import { readBody } from './body.js';
import { toErrorReply } from './error-reply.js';
import type { Router, Route } from './router.js';
import type { SchemaRegistry } from './schemas.js';
import type { ApiRequest, Reply } from './types.js';
import { uWS, type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';
import { RequestStats } from './request-stats.js';

/** Version of the HTTP API contract we implement (themisdb-http-api.md). */
export const API_VERSION = '1.0.1';

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
}

const JSON_TYPE = 'application/json';
/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT (missing from the bundled typings). */
const EXCLUSIVE_PORT: number = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: number }).LIBUS_LISTEN_EXCLUSIVE_PORT ?? 1;
const REQUEST_ID_OK = /^[A-Za-z0-9._:@-]{1,128}$/;
const statusLines = new Map<number, string>();
function statusLine(code: number): string {
  let s = statusLines.get(code);
  if (s === undefined) statusLines.set(code, (s = `${code} ${STATUS_CODES[code] ?? 'Unknown'}`));
  return s;
}

/** Per-request state owned by the adapter. */
interface Exchange {
  readonly res: HttpResponse;
  readonly method: string;
  readonly requestId: string;
  readonly started: number;
  route: string;
  aborted: boolean;
  /** A response was written. */
  done: boolean;
  /** Counted in stats and metrics (exactly once, also for aborted requests). */
  finished: boolean;
  /** A request body may still be arriving: an early response must close the connection. */
  bodyPending: boolean;
}

/** Request headers captured during the synchronous part of the uWS handler (uWS invalidates `req` afterwards). */
const CAPTURED_HEADERS = ['authorization', 'content-length', 'transfer-encoding', 'content-type', 'x-request-id', 'x-transaction-id', 'last-event-id', 'accept'] as const;

/**
 * The HTTP adapter: the only code that touches uWS. It turns each request
 * into an `ApiRequest`, runs the route's handler, and writes the `Reply` or
 * the error; everything below sees plain values.
 */
export class HttpServer {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private inflight = 0;
  private draining = false;
  private drained: (() => void) | null = null;
  readonly stats = new RequestStats();
  port = 0;

  constructor(
    private readonly router: Router,
    private readonly schemas: SchemaRegistry,
    private readonly auth: Authenticator,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: HttpServerOptions,
  ) {
    // Fail at start, not at the first request, if a route names a schema openapi.yaml lacks.
    for (const r of router.routes()) if (r.body) schemas.validator(r.body);
    this.app = uWS.App();
    this.app.any('/*', (res, req) => this.onRequest(res, req));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      // Exclusive: without it uWS sets SO_REUSEPORT and a second server on the same port would silently share it.
      const listen = this.app.listen as unknown as (host: string, port: number, options: number, cb: (s: us_listen_socket | false) => void) => void;
      listen.call(this.app, this.opts.host, this.opts.port, EXCLUSIVE_PORT, (s) => {
        if (!s) return reject(new Error(`cannot listen on ${this.opts.host}:${this.opts.port} (address in use or not permitted)`));
        this.listenSocket = s;
        this.port = uWS.us_socket_local_port(s as never);
        resolve(this.port);
      });
    });
  }

  get inflightCount(): number {
    return this.inflight;
  }

  /**
   * Graceful stop: close the listening socket, answer new requests on open
   * keep-alive connections with 503 + close, wait up to `timeoutMs` for
   * in-flight requests to finish, then close every connection.
   */
  async close(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.log.warn('shutdown timeout: closing with requests in flight', { inflight: this.inflight });
          resolve();
        }, timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    // Let the last responses leave the socket buffers before connections are closed.
    await new Promise((r) => setTimeout(r, 50));
    (this.app as unknown as { close?: () => void }).close?.();
  }

  // ------------------------------------------------------------------ request path

  private onRequest(res: HttpResponse, req: HttpRequest): void {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const rawQuery = req.getQuery() ?? '';
    const headers: Record<string, string> = {};
    for (const h of CAPTURED_HEADERS) headers[h] = req.getHeader(h);
    const incomingId = headers['x-request-id']!;
    const ex: Exchange = {
      res,
      method,
      requestId: incomingId !== '' && REQUEST_ID_OK.test(incomingId) ? incomingId : crypto.randomUUID(),
      started: performance.now(),
      route: '<unmatched>',
      aborted: false,
      done: false,
      finished: false,
      bodyPending: headers['content-length'] !== '' ? headers['content-length'] !== '0' : headers['transfer-encoding'] !== '',
    };
    this.inflight++;
    res.onAborted(() => {
      ex.aborted = true;
      this.finish(ex, 0);
    });

    try {
      if (this.draining) {
        throw new ThemisError('UNAVAILABLE', 'server is shutting down');
      }
      const m = this.router.match(method, path);
      if (m.kind === 'not_found') throw new ThemisError('ROUTE_NOT_FOUND', `no route for ${method} ${path}`);
      if (m.kind === 'method_not_allowed') {
        throw new ThemisError('METHOD_NOT_ALLOWED', `method ${method} is not allowed on ${path}; allowed: ${m.allowed.join(', ')}`, {
          headers: { Allow: m.allowed.join(', ') },
        });
      }
      const route = m.route;
      ex.route = route.path;
      let principal: Principal | undefined;
      if (route.auth) {
        principal = this.auth.authenticate(headers.authorization!);
        if (!can(principal, route.permission)) {
          throw new ThemisError('FORBIDDEN', `this key lacks the permission "${route.permission}"`);
        }
      }
      const base = { method, path, route: route.path, params: m.params, rawQuery, principal, requestId: ex.requestId, headers };
      if (route.body !== undefined) {
        readBody(res, headers['content-length']!, this.opts.maxBodyBytes)
          .then((buf) => {
            ex.bodyPending = false;
            return route.handler(makeRequest(base, this.parseBody(route, buf)));
          })
          .then((reply) => this.reply(ex, reply), (err: unknown) => this.fail(ex, err));
        return;
      }
      const out = route.handler(makeRequest(base, undefined));
      if (out instanceof Promise) out.then((reply) => this.reply(ex, reply), (err: unknown) => this.fail(ex, err));
      else this.reply(ex, out);
    } catch (err) {
      this.fail(ex, err);
    }
  }

  private parseBody(route: Route, buf: Buffer): unknown {
    if (buf.length === 0) throw new ThemisError('BAD_REQUEST', 'request body is required (a JSON object)');
    let body: unknown;
    try {
      body = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      throw new ThemisError('INVALID_JSON', `malformed JSON in request body: ${(e as Error).message}`);
    }
    this.schemas.validate(route.body!, body);
    return body;
  }

  private reply(ex: Exchange, r: Reply): void {
    const status = r.status ?? 200;
    if (r.text !== undefined) this.write(ex, status, r.text, r.contentType ?? 'text/plain; charset=utf-8', r.headers);
    else this.write(ex, status, r.json === undefined ? '' : JSON.stringify(r.json), r.contentType ?? JSON_TYPE, r.headers);
  }

  private fail(ex: Exchange, err: unknown): void {
    const e = toErrorReply(err, ex.requestId, this.log, ex.route);
    // An early error leaves the rest of a request body unread: close the connection instead of reading it.
    const close = ex.bodyPending || e.status === 413 || this.draining;
    this.write(ex, e.status, JSON.stringify(e.body), JSON_TYPE, e.headers, close);
  }

  private write(ex: Exchange, status: number, body: string, contentType: string, headers: Record<string, string> | undefined, close = false): void {
    if (ex.aborted || ex.done) return;
    ex.done = true;
    const res = ex.res;
    res.cork(() => {
      res.writeStatus(statusLine(status));
      res.writeHeader('Content-Type', contentType);
      res.writeHeader('X-Request-Id', ex.requestId);
      res.writeHeader('X-API-Version', API_VERSION);
      if (headers) for (const k in headers) res.writeHeader(k, headers[k]!);
      res.end(body, close);
    });
    this.finish(ex, status);
  }

  /** Account for a finished (or aborted: status 0) request exactly once. */
  private finish(ex: Exchange, status: number): void {
    if (ex.finished) return;
    ex.finished = true;
    const seconds = (performance.now() - ex.started) / 1000;
    const isError = status === 0 || status >= 400;
    this.stats.record(isError);
    this.metrics.requestsTotal.inc();
    if (isError) this.metrics.errorsTotal.inc();
    this.metrics.requestDuration.observe({ route: ex.route, method: ex.method, status: status === 0 ? 'aborted' : String(status) }, seconds);
    if (this.log.enabled('debug')) {
      this.log.debug('request', { request_id: ex.requestId, method: ex.method, route: ex.route, status: status || 'aborted', ms: Math.round(seconds * 1e5) / 100 });
    }
    this.inflight--;
    if (this.inflight === 0 && this.drained) this.drained();
  }
}

interface RequestBase {
  method: string;
  path: string;
  route: string;
  params: Record<string, string>;
  rawQuery: string;
  principal: Principal | undefined;
  requestId: string;
  headers: Record<string, string>;
}

function makeRequest(b: RequestBase, body: unknown): ApiRequest {
  let query: URLSearchParams | undefined;
  return {
    method: b.method,
    path: b.path,
    route: b.route,
    params: b.params,
    body,
    principal: b.principal,
    requestId: b.requestId,
    get query() {
      return (query ??= new URLSearchParams(b.rawQuery));
    },
    header: (name) => b.headers[name] ?? '',
  };
}
