import crypto from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { ThemisError } from '../errors.js';
import { API_VERSION } from './api-version.js';
import type { Logger } from '../log.js';
import { can, type Authenticator, type Permission, type Principal } from '../security/index.js';
import { toErrorReply } from './error-reply.js';
import { formatAddress, peerAddressBytes } from './peer-address.js';
import { checkHeaderSize, measureRequestHead, targetBytes } from './header-size.js';
import { authenticateLink } from './chain.js';
import { compose, type Link, type RequestContext, type ResponseInfo } from './middleware.js';
import type { RateLimits } from './rate-limit.js';
import type { Route } from './router.js';
import type { HttpResponse, TemplatedApp } from './uws.js';

/** A WebSocket as route code sees it. */
export interface WsConn {
  /** Send a text message; false when it was buffered because the socket is backpressured (wait for onDrain). */
  send(text: string): boolean;
  close(code: number, reason: string): void;
  readonly closed: boolean;
}

export interface WsSession {
  onDrain(): void;
  onClose(): void;
}

export interface WsUpgradeRequest {
  readonly query: URLSearchParams;
  readonly principal: Principal;
  header(name: string): string;
}

export interface WsRoute {
  path: string;
  permission: Permission;
  /** Validate the upgrade request (throw a ThemisError to refuse it with an HTTP error) and return the opener. */
  upgrade(req: WsUpgradeRequest): Promise<(conn: WsConn) => WsSession>;
}

interface UserData {
  open: (conn: WsConn) => WsSession;
  principal: Principal;
  /** Unregisters the credential watch (Principal.onEnd). */
  unwatch?: () => void;
  conn?: WsConn & { closedFlag: boolean };
  session?: WsSession;
}

/** Request headers an upgrade reads (x-forwarded-for: the rate limits, with THEMIS_TRUST_PROXY). */
const UPGRADE_HEADERS = ['authorization', 'sec-websocket-key', 'sec-websocket-protocol', 'sec-websocket-extensions', 'x-forwarded-for'];

/** What the upgrade chain's links read and write of a RequestContext (rate-limit.ts, `authenticate`). */
interface UpgradeContext {
  readonly remoteAddress: string;
  header(name: string): string;
  setHeader(name: string, value: string): void;
  readonly matched: Route;
  principal: Principal | undefined;
  /** Headers the links set (X-RateLimit-*): sent with a refusal. */
  responseHeaders: Record<string, string> | undefined;
}

/** A WebSocket route as the rate-limit links see it: authenticated, the default limits. */
const UPGRADE_ROUTE = { auth: true } as Route;

/**
 * The links of the HTTP chain (chain.ts) an upgrade request passes, in the
 * same order: `ip-limit`, `auth-guard`, `authenticate`, `rate-limit` (those
 * configured), on the server's one RateLimits object, so an upgrade draws
 * from the same buckets as the client's HTTP requests and a refused token
 * counts as a failed authentication.
 */
function upgradeChain(auth: Authenticator, rateLimits: RateLimits | undefined): (ctx: RequestContext) => void | Promise<void> {
  const links: Link[] = [];
  const ip = rateLimits?.ipLink();
  if (ip) links.push(ip);
  const guard = rateLimits?.authGuardLink();
  if (guard) links.push(guard);
  links.push(authenticateLink(auth));
  if (rateLimits) links.push(rateLimits.principalLink());
  return compose(links.map((l) => l.run));
}

/** Most bytes buffered for one socket before uWS drops messages; ChangeStream pauses well before. */
const MAX_BACKPRESSURE = 4 * 1024 * 1024;

/**
 * Register a WebSocket route on the uWS app. Authentication happens on the
 * upgrade request: `Authorization: Bearer <key>`, or `?token=<key>` for
 * clients (browsers) that cannot set headers on a WebSocket. A refused
 * upgrade gets the JSON error response of any other request.
 */
export function registerWebSocket(
  app: TemplatedApp,
  route: WsRoute,
  auth: Authenticator,
  log: Logger,
  isDraining: () => boolean,
  maxHeaderBytes = 16 * 1024,
  rateLimits?: RateLimits,
  /** Told of every upgrade request once answered (101 or the refusal), as response hooks are of requests (the audit log). */
  finished?: { hook: (info: ResponseInfo) => void; route: Route | undefined },
): void {
  const chain = upgradeChain(auth, rateLimits);
  app.ws<UserData>(route.path, {
    maxPayloadLength: 64 * 1024,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const headers: Record<string, string> = {};
      for (const h of UPGRADE_HEADERS) headers[h] = req.getHeader(h);
      const rawQuery = req.getQuery() ?? '';
      const query = new URLSearchParams(rawQuery);
      const requestId = crypto.randomUUID();
      let aborted = false;
      res.onAborted(() => (aborted = true));
      let answered = false;
      const started = performance.now();
      const peerBytes = peerAddressBytes(res);
      const peer = peerBytes === undefined ? '' : formatAddress(peerBytes);
      const tell = (status: number, errorCode?: string, errorMessage?: string) => {
        if (!finished) return;
        try {
          finished.hook({
            method: 'GET',
            path: route.path,
            route: route.path,
            status,
            errorCode,
            errorMessage,
            principal: ctx.principal,
            requestId,
            durationMs: performance.now() - started,
            matched: finished.route,
            params: {},
            body: undefined,
            reply: undefined,
            origin: undefined,
            remoteAddress: peer,
            header: (n: string) => headers[n] ?? '',
          });
        } catch (err) {
          log.error('response hook failed', { request_id: requestId, route: route.path, error: err });
        }
      };
      const refuse = (err: unknown, extra?: Record<string, string>) => {
        if (aborted || answered) return;
        answered = true;
        try {
          const e = toErrorReply(err, requestId, log, route.path);
          tell(e.status, e.body.code as string, e.body.message as string);
          res.cork(() => {
            res.writeStatus(`${e.status} ${STATUS_CODES[e.status] ?? 'Error'}`);
            res.writeHeader('Content-Type', 'application/json');
            res.writeHeader('X-Request-Id', requestId);
            res.writeHeader('X-API-Version', API_VERSION);
            if (extra) for (const k in extra) res.writeHeader(k, extra[k]!);
            if (e.headers) for (const k in e.headers) res.writeHeader(k, String(e.headers[k]));
            res.end(JSON.stringify(e.body), true);
          });
        } catch (again) {
          // Never out of a uWS callback or a promise nobody awaits: close so the client is not left waiting.
          log.error('cannot answer a refused WebSocket upgrade', { request_id: requestId, route: route.path, error: again });
          try {
            res.close();
          } catch {
            // already closed
          }
        }
      };
      // The links an HTTP request passes between routing and the handler, on the same RateLimits (same buckets):
      // per-IP limit, failed-authentication guard, authentication, per-principal limit.
      const ctx: UpgradeContext = {
        remoteAddress: peer,
        header: (n) => headers[n] ?? '',
        setHeader: (n, v) => {
          (ctx.responseHeaders ??= {})[n] = v;
        },
        matched: UPGRADE_ROUTE,
        principal: undefined,
        responseHeaders: undefined,
      };
      let checked: void | Promise<void>;
      try {
        if (isDraining()) throw new ThemisError('UNAVAILABLE', 'server is shutting down');
        const target = targetBytes(req.getUrl(), rawQuery.length);
        checkHeaderSize(target, measureRequestHead('GET', target, req), maxHeaderBytes);
        const token = query.get('token');
        if (headers.authorization === '' && token !== null) headers.authorization = `Bearer ${token}`;
        checked = chain(ctx as unknown as RequestContext);
      } catch (e) {
        return refuse(e, ctx.responseHeaders);
      }
      query.delete('token');
      // A JWT not seen before is verified asynchronously; the upgrade below is asynchronous anyway.
      Promise.resolve(checked)
        .then(async () => {
          const principal = ctx.principal!;
          if (!can(principal, route.permission)) throw new ThemisError('FORBIDDEN', `this key lacks the permission "${route.permission}"`);
          return { principal, open: await route.upgrade({ query, principal, header: (n) => headers[n] ?? '' }) };
        })
        .then(
          ({ principal, open }) => {
            if (aborted) return;
            try {
              res.cork(() =>
                res.upgrade<UserData>(
                  { open, principal },
                  headers['sec-websocket-key']!,
                  headers['sec-websocket-protocol']!,
                  headers['sec-websocket-extensions']!,
                  context,
                ),
              );
              answered = true;
              tell(101);
            } catch (err) {
              refuse(err);
            }
          },
          (err: unknown) => refuse(err, ctx.responseHeaders),
        );
    },
    open: (ws) => {
      const data = ws.getUserData();
      const conn = {
        closedFlag: false,
        send: (text: string) => (conn.closedFlag ? false : ws.send(text, false, false) === 1),
        close: (code: number, reason: string) => {
          if (conn.closedFlag) return;
          conn.closedFlag = true;
          // Corked: called from outside uWS's callbacks (a credential ending in a commit's completion).
          ws.cork(() => ws.end(code, reason));
        },
        get closed() {
          return conn.closedFlag;
        },
      };
      data.conn = conn;
      // The credential ends (revoked, changed, expired): 1008 policy violation (RFC 6455 §7.4.1); the client
      // reconnects with a valid one. Registered first, so a credential that ended during the upgrade closes at once.
      data.unwatch = data.principal.onEnd?.((why) => conn.close(1008, `credential ${why}`));
      try {
        data.session = data.open(conn);
      } catch (err) {
        // 1011: the server hit an unexpected condition (RFC 6455 §7.4.1). An exception here would end the process.
        log.error('WebSocket session failed to open', { route: route.path, error: err });
        conn.close(1011, 'internal error');
      }
    },
    drain: (ws) => {
      try {
        ws.getUserData().session?.onDrain();
      } catch (err) {
        log.error('WebSocket drain failed', { route: route.path, error: err });
        ws.getUserData().conn?.close(1011, 'internal error');
      }
    },
    close: (ws) => {
      const data = ws.getUserData();
      if (data.conn) data.conn.closedFlag = true;
      data.unwatch?.();
      try {
        data.session?.onClose();
      } catch (err) {
        log.error('WebSocket close handler failed', { route: route.path, error: err });
      }
    },
  });
}
