import { STATUS_CODES } from 'node:http';
import { ThemisError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../json-limits.js';
import type { Logger } from '../log.js';
import type { HistogramSeries, Metrics } from '../metrics.js';
import type { Authenticator, Principal } from '../security/index.js';
import type { CommitOrigin } from '../txn/index.js';
import { RequestBody, type DrainResult } from './body.js';
import { defaultChain } from './chain.js';
import { measureRequestHead, targetBytes } from './header-size.js';
import { toErrorReply, type ErrorReply } from './error-reply.js';
import { compose, type Link, type RequestContext, type ResponseHook, type ResponseInfo } from './middleware.js';
import { nextRequestId } from './request-id.js';
import type { Router, Route } from './router.js';
import type { SchemaRegistry } from './schemas.js';
import type { AnyReply, ResponseStream, SizedBody, StreamReply } from './types.js';
import { uWS, uwsNative, type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';
import { RequestStats } from './request-stats.js';
import { formatAddress, peerAddressBytes } from './peer-address.js';
import type { RateLimits } from './rate-limit.js';
import { registerWebSocket, type WsRoute } from './websocket.js';

import { API_VERSION } from './api-version.js';
export { API_VERSION };

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Most nesting levels of a JSON body (default 256). */
  maxJsonDepth?: number;
  /** Most bytes of request line plus header fields (default 16 KiB). */
  maxHeaderBytes?: number;
  /** THEMIS_CORS_ORIGINS (chain.ts, cors.ts); empty or absent: no CORS. */
  corsOrigins?: readonly string[];
  /** PEM files: serve HTTPS and WSS (uWS's SSLApp) instead of plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Rate limits (THEMIS_RATE_LIMIT*, THEMIS_AUTH_FAIL_LIMIT); none when absent. */
  rateLimits?: RateLimits;
}

/** Statuses after which the connection is closed even when the request was read whole: the client misbehaved once, and may again. */
const CLOSE_AFTER = new Set([413, 414, 431]);
/** The answer when even the error reply cannot be built (never expected; the client must still get one). */
const LAST_RESORT_500: ErrorReply = {
  status: 500,
  body: { error: true, message: 'internal server error', status_code: 500, code: 'INTERNAL' },
  headers: undefined,
};

const JSON_TYPE = 'application/json';
/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT (missing from the bundled typings). */
const EXCLUSIVE_PORT: number = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: number }).LIBUS_LISTEN_EXCLUSIVE_PORT ?? 1;
const KNOWN_METHODS = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'].map((m) => [m.toLowerCase(), m]),
);
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point (a request target must be ASCII)
const NON_ASCII = /[^\x00-\x7f]/;
function statusLine(code: number): string {
  return `${code} ${STATUS_CODES[code] ?? 'Unknown'}`;
}

/**
 * Request headers captured for every request beyond the fixed ones: the
 * union of what routes and links declare (a handful), read by position.
 */
interface HeaderCapture {
  readonly names: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** Some link reads `remoteAddress`. */
  readonly remoteAddress: boolean;
}

function headerCapture(names: Iterable<string>, remoteAddress = false): HeaderCapture {
  const list = [...new Set(names)].filter((n) => !FIXED_HEADERS.has(n));
  return { names: list, index: new Map(list.map((n, i) => [n, i])), remoteAddress };
}

const FIXED_HEADERS = new Set(['authorization', 'content-length', 'x-request-id']);
const NO_HEADERS: readonly string[] = [];
/**
 * Headers of binary bodies (ranges, conditional requests, the uploaded type), at no cost for the
 * requests of other routes: read straight from uWS's request while its handler runs, and copied when
 * the request outlives it only for routes that declare one of them in `headers` (declaring them does
 * not capture them for every request, as other declared headers are). Read later without that
 * declaration, they throw (ApiRequest.header).
 */
const EXTRA_HEADERS = ['content-type', 'range', 'if-range', 'if-match', 'if-none-match'] as const;
const EXTRA_INDEX: ReadonlyMap<string, number> = new Map(EXTRA_HEADERS.map((n, i) => [n, i]));

/**
 * Per-request state owned by the adapter: the `RequestContext` the chain and
 * the `ApiRequest` handlers see, and the `ResponseInfo` response hooks see.
 * One object per request (this is the hot path; fewer allocations, less GC).
 * Headers are captured in the synchronous part of the uWS handler, because
 * uWS invalidates `req` when the handler returns; so every link may be
 * asynchronous.
 */
class Exchange implements RequestContext, ResponseInfo {
  requestId = '';
  route = '<unmatched>';
  params: Readonly<Record<string, string>> = NO_PARAMS;
  body: unknown = undefined;
  principal: Principal | undefined = undefined;
  origin: CommitOrigin | undefined = undefined;
  matched: Route | undefined = undefined;
  reply: AnyReply | undefined = undefined;
  /** Set when the request finishes (response hooks). */
  status = 0;
  errorCode: string | undefined = undefined;
  errorMessage: string | undefined = undefined;
  durationMs = 0;
  aborted = false;
  /** A response was written. */
  done = false;
  /** Counted in stats and metrics (exactly once, also for aborted requests). */
  finished = false;
  /** Still inside the synchronous uWS handler: writes need no cork. */
  inHandler = true;
  /** A request body may still be arriving: an early response must drain it first (body.ts) or close the connection. */
  bodyPending: boolean;
  /** The body reader, created (and onData registered) at first use. */
  reader: RequestBody | undefined = undefined;
  /** fail() has started answering (possibly waiting for the body to drain): later failures are only logged. */
  failing = false;
  readonly started = performance.now();
  readonly authorization: string;
  readonly contentLength: string;
  private readonly incomingRequestId: string;
  private readonly captured: readonly string[];
  readonly targetBytes: number;
  readonly headerBytes: number;
  /** The peer address's bytes (copied while uWS's `res` is valid); formatted on first read of `remoteAddress`. */
  private readonly remoteRaw: Uint8Array | undefined;
  private remoteText: string | undefined;
  private queryCache: URLSearchParams | undefined;
  /** Headers set by links (`setHeader`), added to whatever response is sent. */
  responseHeaders: Record<string, string> | undefined = undefined;
  abortCallbacks: (() => void)[] | undefined = undefined;
  /** Status of a streamed response once started (a client closing a stream is its normal end). */
  streamStatus = 0;
  /** uWS's request: valid only in the synchronous part of the uWS handler (`leaveHandler()` drops it). */
  private req: HttpRequest | undefined;
  /** EXTRA_HEADERS, copied when the exchange outlives the uWS handler. */
  private extras: string[] | undefined = undefined;

  constructor(
    readonly res: HttpResponse,
    req: HttpRequest,
    readonly method: string,
    readonly path: string,
    private readonly capture: HeaderCapture,
  ) {
    this.req = req;
    this.authorization = req.getHeader('authorization');
    this.contentLength = req.getHeader('content-length');
    // GET/HEAD bodies are never read; only a declared one matters for closing early.
    this.bodyPending =
      this.contentLength !== ''
        ? this.contentLength !== '0'
        : method !== 'GET' && method !== 'HEAD' && req.getHeader('transfer-encoding') !== '';
    this.incomingRequestId = req.getHeader('x-request-id');
    const names = capture.names;
    if (names.length === 0) {
      this.captured = NO_HEADERS;
    } else {
      const values = new Array<string>(names.length);
      for (let i = 0; i < names.length; i++) values[i] = req.getHeader(names[i]!);
      this.captured = values;
    }
    let q: string | undefined;
    try {
      q = req.getQuery();
    } catch {
      // uWS's pure-JS fallback throws here for some URLs; treat as no query.
      q = undefined;
    }
    this.rawQuery = q === undefined ? '' : q;
    this.targetBytes = targetBytes(path, this.rawQuery.length);
    this.headerBytes = measureRequestHead(method, this.targetBytes, req);
    this.remoteRaw = capture.remoteAddress ? peerAddressBytes(res) : undefined;
  }

  private readonly rawQuery: string;

  /** The peer's IP address as text ('' unless a link declared `remoteAddress`): IPv4 dotted (also when IPv4-mapped), IPv6 as eight groups. */
  get remoteAddress(): string {
    if (this.remoteText === undefined) this.remoteText = this.remoteRaw === undefined ? '' : formatAddress(this.remoteRaw);
    return this.remoteText;
  }

  hasNonAsciiTarget(): boolean {
    return NON_ASCII.test(this.path) || (this.rawQuery.length > 0 && NON_ASCII.test(this.rawQuery));
  }

  get query(): URLSearchParams {
    return (this.queryCache ??= new URLSearchParams(this.rawQuery));
  }

  header(name: string): string {
    switch (name) {
      case 'authorization':
        return this.authorization;
      case 'content-length':
        return this.contentLength;
      case 'x-request-id':
        return this.incomingRequestId;
      default: {
        const i = this.capture.index.get(name);
        if (i !== undefined) return this.captured[i]!;
        const j = EXTRA_INDEX.get(name);
        if (j === undefined) return '';
        if (this.req !== undefined) return this.req.getHeader(name);
        if (this.extras !== undefined) return this.extras[j]!;
        throw new TypeError(`header ${name} read after the uWS handler returned: route ${this.route} must declare it in its headers`);
      }
    }
  }

  /**
   * The synchronous part of the uWS handler ends: uWS's request becomes
   * invalid. An exchange still open (an asynchronous chain, a stream) keeps
   * copies of the extra headers if its route declares one (or is not known
   * yet).
   */
  leaveHandler(): void {
    const req = this.req;
    this.req = undefined;
    this.inHandler = false;
    if (this.finished || req === undefined) return;
    const m = this.matched;
    if (m !== undefined && !declaresExtra(m)) return;
    const extras = new Array<string>(EXTRA_HEADERS.length);
    for (let i = 0; i < EXTRA_HEADERS.length; i++) extras[i] = req.getHeader(EXTRA_HEADERS[i]!);
    this.extras = extras;
  }

  bodyStream(): AsyncIterableIterator<Buffer> {
    if (this.matched?.rawBody === undefined) throw new TypeError(`route ${this.route} does not stream its body (RouteSpec.rawBody)`);
    // No reader: the request declared no body.
    return this.reader === undefined ? noBody() : this.reader.iterator();
  }

  setHeader(name: string, value: string): void {
    (this.responseHeaders ??= {})[name] = value;
  }

  onAborted(cb: () => void): void {
    if (this.aborted) return cb();
    (this.abortCallbacks ??= []).push(cb);
  }

  requestBody(limit: number): RequestBody {
    return (this.reader ??= new RequestBody(this.res, this.contentLength, limit));
  }
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

async function* noBody(): AsyncGenerator<Buffer, void, undefined> {}

/** The route declares one of EXTRA_HEADERS in `headers`. */
function declaresExtra(r: Route): boolean {
  const h = r.headers;
  if (h === undefined) return false;
  for (let i = 0; i < h.length; i++) if (EXTRA_INDEX.has(h[i]!)) return true;
  return false;
}

/** uWS's TLS app (HTTP/1.1 over TLS, WebSockets included). The files were checked at start (config.ts). */
function sslApp(tls: { certFile: string; keyFile: string }): TemplatedApp {
  if (!uwsNative || typeof uWS.SSLApp !== 'function')
    throw new Error('TLS needs the native uWebSockets.js binary (it did not load on this platform; see docs/operations.md)');
  try {
    return uWS.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile });
  } catch (e) {
    throw new Error(`cannot start TLS with ${tls.certFile} and ${tls.keyFile}: ${(e as Error).message}`);
  }
}

/**
 * The HTTP adapter: the only code that touches uWS. It turns each request
 * into a `RequestContext`, runs the middleware chain (chain.ts: request id,
 * admission, routing, authentication, rate limit, permission, body, handler),
 * writes the `Reply` or the error, and tells the response hooks; everything
 * below sees plain values.
 */
export class HttpServer {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private inflight = 0;
  private draining = false;
  private drained: (() => void) | null = null;
  readonly stats = new RequestStats();
  /** End functions of open streamed responses (ended at shutdown). */
  private readonly openStreams = new Set<() => void>();
  private readonly durationChildren = new Map<string, Map<string, Map<number, HistogramSeries>>>();
  private readonly maxJsonDepth: number;
  private readonly maxHeaderBytes: number;
  private links: Link[];
  private run: (ctx: RequestContext) => void | Promise<void>;
  private capture: HeaderCapture;
  private readonly hooks: ResponseHook[] = [];
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
    metrics.countRequestsFrom(() => this.stats);
    this.maxJsonDepth = opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.maxHeaderBytes = opts.maxHeaderBytes ?? 16 * 1024;
    this.links = defaultChain({
      router,
      auth,
      schemas,
      maxBodyBytes: opts.maxBodyBytes,
      maxJsonDepth: this.maxJsonDepth,
      maxHeaderBytes: this.maxHeaderBytes,
      isDraining: () => this.draining,
      corsOrigins: opts.corsOrigins,
      rateLimits: opts.rateLimits,
    });
    this.run = compose(this.links.map((l) => l.run));
    this.capture = this.headerCapture();
    this.app = opts.tls ? sslApp(opts.tls) : uWS.App();
    this.app.any('/*', (res, req) => this.onRequest(res, req));
  }

  /**
   * Every route this server answers, HTTP and WebSocket, with its
   * authentication: what the auth matrix and the spec comparison test
   * walk (test/reliability/auth-matrix.test.ts).
   */
  routeTable(): { method: string; path: string; auth: boolean; permission: string | undefined; websocket: boolean }[] {
    return [
      ...this.router.routes().map((r) => ({ method: r.method, path: r.path, auth: r.auth, permission: r.permission, websocket: false })),
      ...this.wsRoutes.map((w) => ({ method: 'GET', path: w.path, auth: true, permission: w.permission, websocket: true })),
    ];
  }

  private readonly wsRoutes: { path: string; permission: string }[] = [];

  /**
   * Add a link to the middleware chain (before listen()): before or after a
   * named link (`request-id`, `admit`, `route`, `authenticate`, `rate-limit`,
   * `permission`, `body`, `handler`; `ip-limit` and `auth-guard` only when those limits are on), by default
   * just before the handler.
   */
  use(link: Link, where: { before?: string; after?: string } = { before: 'handler' }): this {
    const anchor = where.before ?? where.after;
    const at = this.links.findIndex((l) => l.name === anchor);
    if (at < 0) throw new TypeError(`no middleware named ${anchor} in the chain (${this.links.map((l) => l.name).join(', ')})`);
    if (this.links.some((l) => l.name === link.name)) throw new TypeError(`a middleware named ${link.name} is already in the chain`);
    this.links.splice(where.before !== undefined ? at : at + 1, 0, link);
    this.run = compose(this.links.map((l) => l.run));
    this.capture = this.headerCapture();
    return this;
  }

  /** The names of the chain's links, in order. */
  chain(): string[] {
    return this.links.map((l) => l.name);
  }

  /**
   * Observe every finished request (audit): called once per request after
   * its response was written, or when the client went away (status 0),
   * including requests refused before a route matched. Hooks cannot change
   * the response; an exception in one is logged.
   */
  onResponse(hook: ResponseHook): this {
    this.hooks.push(hook);
    return this;
  }

  private headerCapture(): HeaderCapture {
    return headerCapture(
      [
        ...this.router.routes().flatMap((r) => (r.headers ?? []).filter((h) => !EXTRA_INDEX.has(h))),
        ...this.links.flatMap((l) => l.headers ?? []),
      ],
      this.links.some((l) => l.remoteAddress === true),
    );
  }

  /** Add a WebSocket route (before listen()). */
  webSocket(route: WsRoute): void {
    this.wsRoutes.push({ path: route.path, permission: route.permission });
    // The plain-GET route of the same path carries the operation's audit verb.
    const m = this.router.match('GET', route.path);
    registerWebSocket(this.app, route, this.auth, this.log, () => this.draining, this.maxHeaderBytes, this.opts.rateLimits, {
      hook: (info) => {
        for (const h of this.hooks) h(info);
      },
      route: m.kind === 'route' ? m.route : undefined,
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      // Exclusive: without it uWS sets SO_REUSEPORT and a second server on the same port would silently share it.
      const listen = this.app.listen as unknown as (
        host: string,
        port: number,
        options: number,
        cb: (s: us_listen_socket | false) => void,
      ) => void;
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
    for (const end of [...this.openStreams]) end();
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
    // Native uWS gives the method in lower case (the fallback does not). Unknown methods collapse to OTHER so
    // a client cannot grow metric label sets.
    const raw = req.getMethod();
    const method = KNOWN_METHODS.get(raw) ?? KNOWN_METHODS.get(raw.toLowerCase()) ?? 'OTHER';
    let ex: Exchange;
    try {
      ex = new Exchange(res, req, method, req.getUrl(), this.capture);
    } catch (e) {
      // Never let a request take the process down; without an Exchange, answer minimally.
      this.log.error('cannot read request', { error: e });
      res
        .writeStatus('500 Internal Server Error')
        .writeHeader('Content-Type', JSON_TYPE)
        .end(JSON.stringify({ error: true, message: 'internal server error', status_code: 500, code: 'INTERNAL' }), true);
      return;
    }
    this.inflight++;
    res.onAborted(() => {
      ex.aborted = true;
      ex.reader?.cancel();
      this.finish(ex, ex.streamStatus);
      // An exception escaping a uWS callback would end the process: each callback is on its own.
      if (ex.abortCallbacks) {
        for (const cb of ex.abortCallbacks.splice(0)) {
          try {
            cb();
          } catch (err) {
            this.log.error('abort callback failed', { request_id: ex.requestId, route: ex.route, error: err });
          }
        }
      }
    });
    try {
      const out = this.run(ex);
      if (out === undefined) {
        this.reply(ex, ex.reply!);
      } else {
        out.then(
          () => this.reply(ex, ex.reply!),
          (err: unknown) => this.fail(ex, err),
        );
        // A link went asynchronous before the body link asked for the body: onData can only be registered
        // inside this handler, so the reader is attached now and holds what arrives until it is asked (body.ts).
        if (ex.bodyPending && ex.reader === undefined && !ex.done)
          ex.requestBody(ex.matched?.rawBody?.maxBytes ?? this.opts.maxBodyBytes).hold();
      }
    } catch (err) {
      this.fail(ex, err);
    }
    ex.leaveHandler();
  }

  /** Serialise and send a handler's reply. Never throws: a reply that cannot be sent becomes a 500. */
  private reply(ex: Exchange, r: AnyReply, close = false): void {
    // A chain without the request-id link (or one that failed before it) still answers with an id.
    if (ex.requestId === '') ex.requestId = nextRequestId();
    if (ex.bodyPending && ex.reader !== undefined && !ex.reader.ended && !ex.aborted && !ex.done) {
      // Answered before the body had all arrived (a raw-body handler that stopped reading, a link that
      // answered itself): drop the rest first, within bounds, as for an error (body.ts), and close after a bound.
      ex.bodyPending = false;
      return ex.reader.drain((d) => this.reply(ex, r, d === 'bounded'));
    }
    let status: number;
    let text: string | Uint8Array;
    let contentType: string;
    try {
      if (r === null || typeof r !== 'object')
        throw new TypeError(`route ${ex.route} returned ${r === null ? 'null' : typeof r} instead of a reply`);
      if ('stream' in r) return this.startStream(ex, r.stream, r.head);
      if ('sized' in r) return this.startSized(ex, r.sized);
      status = r.status ?? 200;
      if (r.body !== undefined) {
        text = r.body;
        contentType = r.contentType ?? 'application/octet-stream';
      } else if (r.text !== undefined) {
        text = r.text;
        contentType = r.contentType ?? 'text/plain; charset=utf-8';
      } else {
        // Throws on cycles, BigInt, or nesting beyond the stack: answered as 500 below, never left hanging.
        text = r.json === undefined ? '' : JSON.stringify(r.json);
        contentType = r.contentType ?? JSON_TYPE;
      }
    } catch (err) {
      return this.fail(ex, err);
    }
    this.write(ex, status, text, contentType, r.headers, close);
  }

  /**
   * Hand the socket to a streaming handler. The stream counts as in flight
   * until it ends; shutdown ends every open stream first, so draining does
   * not wait for long-lived streams.
   */
  private startStream(ex: Exchange, fn: (out: ResponseStream) => void, head?: StreamReply['head']): void {
    if (ex.aborted || ex.done) return;
    if (ex.method === 'HEAD') {
      // HEAD of a stream: its status and headers, no body.
      if (head) return this.write(ex, 200, '', head.contentType, head.headers);
      return this.write(ex, 200, '', 'text/event-stream; charset=utf-8', { 'Cache-Control': 'no-cache' });
    }
    ex.done = true;
    ex.reader?.release();
    const res = ex.res;
    let ended = false;
    let writable: (() => void) | undefined;
    const closers: (() => void)[] = [];
    const closed = () => {
      for (const c of closers.splice(0)) c();
    };
    const cork = (f: () => void) => (ex.inHandler ? f() : res.cork(f));
    const closeStream = () => out.end();
    const out: ResponseStream = {
      start: (status, headers) => {
        // uWS throws on a response whose client has gone; a late start must be a no-op, not an exception.
        if (ended || ex.aborted) return;
        ex.streamStatus = status;
        cork(() => {
          res.writeStatus(statusLine(status));
          res.writeHeader('X-Request-Id', ex.requestId);
          res.writeHeader('X-API-Version', API_VERSION);
          writeHeaders(res, headers, ex.responseHeaders);
        });
      },
      write: (chunk) => {
        if (ended || ex.aborted) return false;
        let ok = true;
        cork(() => (ok = res.write(chunk)));
        return ok;
      },
      onWritable: (cb) => {
        writable = cb;
        res.onWritable(() => {
          const w = writable;
          writable = undefined;
          if (w && !ended && !ex.aborted) {
            try {
              w();
            } catch (err) {
              // Thrown inside a uWS callback it would end the process; end this stream instead.
              this.log.error('stream writable callback failed', { request_id: ex.requestId, route: ex.route, error: err });
              out.end('', true);
            }
          }
          return true;
        });
      },
      end: (chunk, closeConnection = false) => {
        if (ended) return;
        ended = true;
        this.openStreams.delete(closeStream);
        if (!ex.aborted) {
          cork(() => res.end(chunk ?? '', closeConnection));
          this.finish(ex, ex.streamStatus || 200);
        }
        closed();
      },
      abort: () => {
        if (ended) return;
        ended = true;
        this.openStreams.delete(closeStream);
        if (!ex.aborted) {
          this.finish(ex, 500);
          try {
            res.close();
          } catch {
            // Already closed by uWS.
          }
        }
        closed();
      },
      get closed() {
        return ended || ex.aborted;
      },
      onClose: (cb) => {
        if (ended || ex.aborted) cb();
        else closers.push(cb);
      },
    };
    this.openStreams.add(closeStream);
    ex.onAborted(() => {
      ended = true;
      this.openStreams.delete(closeStream);
      closed();
    });
    try {
      fn(out);
    } catch (err) {
      if (ex.streamStatus === 0 && !ended) {
        // Nothing sent yet: the client gets the error as any other request would.
        ended = true;
        this.openStreams.delete(closeStream);
        closed();
        ex.done = false;
        this.fail(ex, err);
      } else {
        // Status and events are out: all that is left is to end the stream and close, so the client is not left waiting.
        this.log.error('stream failed', { request_id: ex.requestId, route: ex.route, error: err });
        out.end('', true);
      }
    }
  }

  /**
   * Send a body of known length from an asynchronous source (SizedReply):
   * status and headers go out with the first chunk, each chunk through
   * uWS's `tryEnd(chunk, length)` (Content-Length framing, no chunked
   * encoding), and the next chunk is asked for only once uWS took the
   * previous one whole. Under backpressure uWS keeps nothing of what the
   * socket did not accept: the rest of the chunk is offered again from
   * `onWritable`, from the offset it reports. So one chunk per download is
   * held, however slowly the client reads.
   */
  private startSized(ex: Exchange, s: SizedBody): void {
    if (ex.aborted || ex.done) return closeSource(s.body, undefined);
    const status = s.status ?? 200;
    const length = s.length;
    const contentType = s.contentType ?? 'application/octet-stream';
    if (!Number.isSafeInteger(length) || length < 0) {
      closeSource(s.body, undefined);
      return this.fail(ex, new TypeError(`route ${ex.route} sent a sized reply of length ${String(length)}`));
    }
    if (!Number.isInteger(status) || status < 200 || status > 599 || status === 204 || status === 304) {
      closeSource(s.body, undefined);
      return this.fail(ex, new TypeError(`route ${ex.route} sent a sized reply with status ${String(status)}`));
    }
    const res = ex.res;
    if (ex.method === 'HEAD' || length === 0) {
      // Headers only: the source is never read.
      closeSource(s.body, undefined);
      ex.done = true;
      ex.reader?.release();
      try {
        const f = () => {
          writeSizedHead(ex, status, contentType, s.headers);
          if (ex.method === 'HEAD') endWithoutBody(res, length, false);
          else res.end('');
        };
        if (ex.inHandler) f();
        else res.cork(f);
      } catch (err) {
        this.log.error('cannot write the response', { request_id: ex.requestId, route: ex.route, status, error: err });
        closeQuietly(res);
      }
      this.finish(ex, status);
      return;
    }
    let it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
    try {
      it = Symbol.asyncIterator in s.body ? s.body[Symbol.asyncIterator]() : s.body[Symbol.iterator]();
    } catch (err) {
      return this.fail(ex, err);
    }
    ex.done = true;
    ex.reader?.release();
    /** Client gone, response complete, or failed: no more writes. */
    let over = false;
    let headSent = false;
    let taken = 0;
    /** The chunk uWS did not take whole, where it starts in the body, and the pump waiting for it to go out. */
    let stuck: { chunk: Uint8Array; at: number; resolve: (done: boolean) => void; reject: (e: unknown) => void } | undefined;
    ex.onAborted(() => {
      over = true;
      const w = stuck;
      stuck = undefined;
      w?.resolve(false);
    });
    // One writable handler for the whole response, registered once: uWS v20.30 restores the handler it is
    // running after the call, so one registered from inside it (the pump continues in the microtasks of the
    // callback) would be lost and the download would stall.
    res.onWritable((offset) => {
      const w = stuck;
      if (over || w === undefined) return true;
      let ok: boolean;
      let done: boolean;
      // Nothing may escape a uWS callback (it would end the process): a failure here fails the pump.
      try {
        [ok, done] = res.tryEnd(w.chunk.subarray(offset - w.at), length);
      } catch (err) {
        stuck = undefined;
        w.reject(err);
        return true;
      }
      if (ok || done) {
        stuck = undefined;
        w.resolve(done);
      }
      return ok;
    });
    const pump = async (): Promise<void> => {
      for (;;) {
        const r = await it.next();
        if (over) return;
        if (r.done) throw new Error(`the body ended after ${taken} of ${length} bytes`);
        const chunk = r.value;
        if (!(chunk instanceof Uint8Array))
          throw new TypeError(`the body yielded ${chunk === null ? 'null' : typeof chunk} instead of bytes`);
        if (chunk.byteLength === 0) continue;
        if (taken + chunk.byteLength > length) throw new Error(`the body yielded more than its length of ${length} bytes`);
        taken += chunk.byteLength;
        let ok = false;
        let done = false;
        let at = 0;
        res.cork(() => {
          if (!headSent) {
            // Set first: a failure while the head is written must close the connection, not answer again.
            headSent = true;
            writeSizedHead(ex, status, contentType, s.headers);
          }
          at = res.getWriteOffset();
          [ok, done] = res.tryEnd(chunk, length);
        });
        if (!ok && !done) {
          // Backpressure: uWS kept nothing of what the socket refused; the writable handler offers the rest again.
          done = await new Promise<boolean>((resolve, reject) => {
            stuck = { chunk, at, resolve, reject };
          });
          if (over) return;
        }
        if (done) {
          // uWS ended the response with the last byte (and released `res`).
          over = true;
          this.finish(ex, status);
          return;
        }
      }
    };
    pump().then(
      () => closeSource(s.body, it),
      (err: unknown) => {
        const wasOver = over;
        over = true;
        // A failed iterator has ended itself; return() is for a source that broke our rules (short, long, not bytes).
        closeSource(s.body, it);
        if (wasOver) return;
        if (!headSent) {
          // Nothing sent yet: the client gets the error as any other request would.
          ex.done = false;
          return this.fail(ex, err);
        }
        // The status is out: close, so the client sees an incomplete body rather than a complete short one.
        this.log.error('sized body failed', { request_id: ex.requestId, route: ex.route, sent: taken, length, error: err });
        this.finish(ex, 500);
        closeQuietly(res);
      },
    );
  }

  /**
   * Answer with the error. Never throws. If the request body is still
   * arriving, it is drained first (body.ts: a bounded lingering read), so the
   * client is not reset while it sends and does receive the answer.
   */
  private fail(ex: Exchange, err: unknown): void {
    if (ex.requestId === '') ex.requestId = nextRequestId();
    if (ex.aborted || ex.done || ex.failing) {
      // Already answered (or nobody to answer): an unexpected error still deserves a log line.
      if (!(err instanceof ThemisError) && !ex.aborted)
        this.log.error('error after the response', { request_id: ex.requestId, route: ex.route, error: err });
      return;
    }
    ex.failing = true;
    let e: ErrorReply;
    let text: string;
    try {
      e = toErrorReply(err, ex.requestId, this.log, ex.route);
      text = JSON.stringify(e.body);
      ex.errorCode = e.body.code as string;
      ex.errorMessage = e.body.message as string;
    } catch (again) {
      this.log.error('cannot build the error reply', { request_id: ex.requestId, route: ex.route, error: again });
      e = LAST_RESORT_500;
      text = JSON.stringify(e.body);
      ex.errorCode = 'INTERNAL';
      ex.errorMessage = 'internal error';
    }
    const answer = (drained: DrainResult | 'not_pending' | 'unread') => {
      const close = drained === 'bounded' || drained === 'unread' || CLOSE_AFTER.has(e.status) || this.draining;
      this.write(ex, e.status, text, JSON_TYPE, e.headers, close);
    };
    if (!ex.bodyPending) return answer('not_pending');
    // onData can only be registered inside the uWS handler; a body nobody registered for later cannot be drained.
    if (ex.reader === undefined && !ex.inHandler) return answer('unread');
    ex.requestBody(this.opts.maxBodyBytes).drain(answer);
  }

  private write(
    ex: Exchange,
    status: number,
    body: string | Uint8Array,
    contentType: string,
    headers: Record<string, string> | undefined,
    close = false,
  ): void {
    if (ex.aborted || ex.done) return;
    ex.done = true;
    // A socket paused while its body was streamed reads again (the connection's next request).
    if (ex.reader !== undefined) ex.reader.release();
    try {
      // Inside the uWS handler the socket is corked already; afterwards, cork so
      // status, headers and body leave in one syscall.
      if (ex.inHandler) writeResponse(ex, status, body, contentType, headers, close);
      else ex.res.cork(() => writeResponse(ex, status, body, contentType, headers, close));
    } catch (err) {
      // Half a response may be on the wire: closing is the only honest end, and the client is not left waiting.
      this.log.error('cannot write the response', { request_id: ex.requestId, route: ex.route, status, error: err });
      try {
        ex.res.close();
      } catch {
        // Already ended or closed by uWS.
      }
    }
    this.finish(ex, status);
  }

  /**
   * The histogram series for one (route, method, status). Nested maps keyed
   * by the route and method strings the request already holds (their hashes
   * are cached by V8), so no key string is built per request. Routes are
   * templates and methods a fixed set: the number of series stays bounded.
   */
  private durationSeries(route: string, method: string, status: number): HistogramSeries {
    let byMethod = this.durationChildren.get(route);
    if (!byMethod) this.durationChildren.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      series = this.metrics.requestDuration.seriesFor({ route, method, status: status === 0 ? 'aborted' : String(status) });
      byStatus.set(status, series);
    }
    return series;
  }

  /** Account for a finished (or aborted: status 0) request exactly once, and tell the response hooks. */
  private finish(ex: Exchange, status: number): void {
    if (ex.finished) return;
    ex.finished = true;
    // In-flight accounting first: shutdown waits on it, whatever happens to the metrics below.
    this.inflight--;
    if (this.inflight === 0 && this.drained) this.drained();
    ex.status = status;
    ex.durationMs = performance.now() - ex.started;
    try {
      const seconds = ex.durationMs / 1000;
      const isError = status === 0 || status >= 400;
      this.stats.record(isError);
      this.durationSeries(ex.route, ex.method, status).observe(seconds);
      if (this.log.enabled('debug')) {
        this.log.debug('request', {
          request_id: ex.requestId,
          method: ex.method,
          route: ex.route,
          status: status || 'aborted',
          ms: Math.round(seconds * 1e5) / 100,
        });
      }
    } catch (err) {
      this.log.error('cannot record request metrics', { request_id: ex.requestId, route: ex.route, error: err });
    }
    for (let i = 0; i < this.hooks.length; i++) {
      try {
        this.hooks[i]!(ex);
      } catch (err) {
        this.log.error('response hook failed', { request_id: ex.requestId, route: ex.route, error: err });
      }
    }
  }
}

// Constant header names and values, pre-encoded: native uWS copies bytes from
// a Uint8Array directly, while a JS string is first converted to UTF-8. (The
// pure-JS fallback only takes strings.)
const enc = (x: string): string | Uint8Array => (uwsNative ? new Uint8Array(Buffer.from(x, 'latin1')) : x);
const H_CONTENT_TYPE = enc('Content-Type');
const H_CONTENT_LENGTH = enc('Content-Length');
const H_REQUEST_ID = enc('X-Request-Id');
const H_API_VERSION = enc('X-API-Version');
const V_API_VERSION = enc(API_VERSION);
const V_JSON = enc(JSON_TYPE);
const encodedStatus = new Map<number, string | Uint8Array>();

function writeResponse(
  ex: Exchange,
  status: number,
  body: string | Uint8Array,
  contentType: string,
  headers: Record<string, string> | undefined,
  close: boolean,
): void {
  const res = ex.res;
  let st = encodedStatus.get(status);
  if (st === undefined) encodedStatus.set(status, (st = enc(statusLine(status))));
  res.writeStatus(st);
  // 204 (a CORS preflight) has no content, so no Content-Type. (uWS always writes a Content-Length; 0 is what clients expect.)
  // 304 neither, and no Content-Length either: it would have to be the length of the 200 (RFC 9110 §8.6).
  if (status !== 204 && status !== 304) res.writeHeader(H_CONTENT_TYPE, contentType === JSON_TYPE ? V_JSON : contentType);
  res.writeHeader(H_REQUEST_ID, ex.requestId);
  res.writeHeader(H_API_VERSION, V_API_VERSION);
  writeHeaders(res, headers, ex.responseHeaders);
  if (status === 304) endWithoutBody(res, undefined, close);
  else if (ex.method === 'HEAD') endWithoutBody(res, Buffer.byteLength(body), close);
  else res.end(body, close);
}

/**
 * Status and headers of a sized reply. A Content-Length or Transfer-Encoding
 * among them is dropped (uWS frames the body: tryEnd writes Content-Length
 * from the total, endWithoutBody from the length); a Content-Type among them wins
 * over `contentType`.
 */
function writeSizedHead(ex: Exchange, status: number, contentType: string, headers: Record<string, string> | undefined): void {
  const res = ex.res;
  let st = encodedStatus.get(status);
  if (st === undefined) encodedStatus.set(status, (st = enc(statusLine(status))));
  res.writeStatus(st);
  res.writeHeader(H_REQUEST_ID, ex.requestId);
  res.writeHeader(H_API_VERSION, V_API_VERSION);
  const links = ex.responseHeaders;
  let typed = false;
  if (headers) {
    for (const k in headers) {
      const l = k.toLowerCase();
      if (l === 'content-length' || l === 'transfer-encoding') continue;
      if (l === 'content-type') typed = true;
      if (links === undefined || !(k in links)) res.writeHeader(k, String(headers[k]));
    }
  }
  if (!typed) res.writeHeader(H_CONTENT_TYPE, contentType);
  if (links) for (const k in links) res.writeHeader(k, String(links[k]));
}

/**
 * End a response without a body: a HEAD with `Content-Length: length`, a
 * 304 (`length` undefined) with none. uWS v20.30 quirks: `endWithoutBody(n)`
 * writes the header but leaves the response pending (it waits for n bytes
 * that never come: the connection's next request is never answered);
 * `endWithoutBody()` with no argument ends it without any Content-Length
 * (an `undefined` argument counts as a number, NaN); and its
 * `closeConnection` only writes `Connection: close`. So: our own header, no
 * argument; and when the connection must close, `end('', true)` (a
 * Content-Length of 0, which a client ignores for HEAD and 304).
 */
function endWithoutBody(res: HttpResponse, length: number | undefined, close: boolean): void {
  if (close) {
    res.end('', true);
    return;
  }
  if (length !== undefined) res.writeHeader(H_CONTENT_LENGTH, String(length));
  res.endWithoutBody();
}

function closeQuietly(res: HttpResponse): void {
  try {
    res.close();
  } catch {
    // Already ended or closed by uWS.
  }
}

/**
 * Let a sized reply's source release what it holds: `return()` of its
 * iterator (a generator's `finally` runs), or of a fresh one when it was
 * never iterated. Never throws, never waits.
 */
function closeSource(body: SizedBody['body'], it: AsyncIterator<Uint8Array> | Iterator<Uint8Array> | undefined): void {
  try {
    const i = it ?? (Symbol.asyncIterator in body ? body[Symbol.asyncIterator]() : body[Symbol.iterator]());
    const r = i.return?.();
    if (r instanceof Promise) r.catch(() => undefined);
  } catch {
    // A source that fails to close has nothing more we can do for it.
  }
}

/** A reply's (or error's) headers, then those links set (`ctx.setHeader`), which win over the reply's own. */
function writeHeaders(res: HttpResponse, own: Record<string, string> | undefined, fromLinks: Record<string, string> | undefined): void {
  // String(): a number slipped into a header map must not make uWS throw halfway through the response.
  if (own) for (const k in own) if (fromLinks === undefined || !(k in fromLinks)) res.writeHeader(k, String(own[k]));
  if (fromLinks) for (const k in fromLinks) res.writeHeader(k, String(fromLinks[k]));
}
