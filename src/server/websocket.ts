import crypto from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { ThemisError } from '../errors.js';
import { API_VERSION } from './api-version.js';
import type { Logger } from '../log.js';
import { can, type Authenticator, type Permission, type Principal } from '../security/index.js';
import { toErrorReply } from './error-reply.js';
import { checkHeaderSize, measureRequestHead, targetBytes } from './header-size.js';
import type { TemplatedApp } from './uws.js';

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
  conn?: WsConn & { closedFlag: boolean };
  session?: WsSession;
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
): void {
  app.ws<UserData>(route.path, {
    maxPayloadLength: 64 * 1024,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'sec-websocket-key', 'sec-websocket-protocol', 'sec-websocket-extensions'])
        headers[h] = req.getHeader(h);
      const rawQuery = req.getQuery() ?? '';
      const query = new URLSearchParams(rawQuery);
      const requestId = crypto.randomUUID();
      let aborted = false;
      res.onAborted(() => (aborted = true));
      let answered = false;
      const refuse = (err: unknown) => {
        if (aborted || answered) return;
        answered = true;
        try {
          const e = toErrorReply(err, requestId, log, route.path);
          res.cork(() => {
            res.writeStatus(`${e.status} ${STATUS_CODES[e.status] ?? 'Error'}`);
            res.writeHeader('Content-Type', 'application/json');
            res.writeHeader('X-Request-Id', requestId);
            res.writeHeader('X-API-Version', API_VERSION);
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
      let authenticated: Principal | Promise<Principal>;
      try {
        if (isDraining()) throw new ThemisError('UNAVAILABLE', 'server is shutting down');
        const target = targetBytes(req.getUrl(), rawQuery.length);
        checkHeaderSize(target, measureRequestHead('GET', target, req), maxHeaderBytes);
        const token = query.get('token');
        authenticated = auth.authenticate(headers.authorization !== '' || token === null ? headers.authorization! : `Bearer ${token}`);
      } catch (e) {
        return refuse(e);
      }
      query.delete('token');
      // A JWT not seen before is verified asynchronously; the upgrade below is asynchronous anyway.
      Promise.resolve(authenticated)
        .then((principal) => {
          if (!can(principal, route.permission)) throw new ThemisError('FORBIDDEN', `this key lacks the permission "${route.permission}"`);
          return route.upgrade({ query, principal, header: (n) => headers[n] ?? '' });
        })
        .then((open) => {
          if (aborted) return;
          try {
            res.cork(() =>
              res.upgrade<UserData>(
                { open },
                headers['sec-websocket-key']!,
                headers['sec-websocket-protocol']!,
                headers['sec-websocket-extensions']!,
                context,
              ),
            );
            answered = true;
          } catch (err) {
            refuse(err);
          }
        }, refuse);
    },
    open: (ws) => {
      const data = ws.getUserData();
      const conn = {
        closedFlag: false,
        send: (text: string) => (conn.closedFlag ? false : ws.send(text, false, false) === 1),
        close: (code: number, reason: string) => {
          if (conn.closedFlag) return;
          conn.closedFlag = true;
          ws.end(code, reason);
        },
        get closed() {
          return conn.closedFlag;
        },
      };
      data.conn = conn;
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
      try {
        data.session?.onClose();
      } catch (err) {
        log.error('WebSocket close handler failed', { route: route.path, error: err });
      }
    },
  });
}
