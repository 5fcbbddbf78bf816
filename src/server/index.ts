import type { Database } from '../db.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Authenticator } from '../security/index.js';
import { HttpServer, API_VERSION } from './http-server.js';
import { Router } from './router.js';
import { SchemaRegistry } from './schemas.js';
import { RoutePermissions } from './route-permissions.js';
import { RateLimits, type RateLimitOptions } from './rate-limit.js';
import type { AreaContext } from './route-area.js';
import { AREAS } from './routes/index.js';
import { auditHook, auditLink } from './audit.js';

export { HttpServer, API_VERSION } from './http-server.js';
export { Router, type RouteSpec, type RouteRateLimit, type RawBody } from './router.js';
export { RateLimits, ipKey, type RateLimitOptions } from './rate-limit.js';
export { SchemaRegistry } from './schemas.js';
export { RoutePermissions, loadOpenApi, PUBLIC, type Requirement } from './route-permissions.js';
export { uwsNative } from './uws.js';
export type { ApiRequest, Reply, Handler, AnyReply, SizedReply, SizedBody, StreamReply, ResponseStream } from './types.js';
export { IncompleteBody } from './body.js';
export {
  parseRange,
  contentRange,
  strongETag,
  ifNoneMatchHits,
  ifMatchPasses,
  ifRangeAllows,
  readPlan,
  type RangeResult,
  type ReadPlan,
} from './range.js';
export {
  compose,
  afterNext,
  type Middleware,
  type Next,
  type Link,
  type RequestContext,
  type ResponseHook,
  type ResponseInfo,
} from './middleware.js';
export type { AreaContext, RouteArea } from './route-area.js';
export { AREAS } from './routes/index.js';

export interface ServerDeps {
  db: Database;
  auth: Authenticator;
  metrics: Metrics;
  log: Logger;
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Default 256 (THEMIS_MAX_JSON_DEPTH). */
  maxJsonDepth?: number;
  /** Default 16 KiB (THEMIS_MAX_HEADER_BYTES). */
  maxHeaderBytes?: number;
  /** THEMIS_CORS_ORIGINS (empty: no CORS). */
  corsOrigins?: readonly string[];
  /** THEMIS_TLS_CERT_FILE / THEMIS_TLS_KEY_FILE. */
  tls?: { certFile: string; keyFile: string };
  /** Rate limits (src/server/rate-limit.ts); none when absent. */
  rateLimits?: RateLimitOptions;
  startedAt: number;
}

/** Build the router from every API area (routes/index.ts) and the uWS adapter around it. */
export function createHttpServer(d: ServerDeps): HttpServer {
  const router = new Router();
  let server: HttpServer | undefined;
  const ctx: AreaContext = { db: d.db, metrics: d.metrics, log: d.log, startedAt: d.startedAt, serverStats: () => server!.stats };
  // Each route's authentication and permission come from its operation in openapi.yaml (x-permission).
  const required = RoutePermissions.fromOpenApi();
  const webSockets = AREAS.flatMap((area) => area.webSockets?.(ctx) ?? []);
  const wsPaths = new Set(webSockets.map((ws) => ws.path));
  for (const area of AREAS) {
    for (const r of area.routes(ctx)) {
      if ('auth' in r || 'permission' in r || 'action' in r)
        throw new TypeError(`route ${r.method} ${r.path} of area ${area.name} sets auth/permission/action: declare them in openapi.yaml`);
      // The plain GET of a WebSocket path only answers 426 UPGRADE_REQUIRED (telling the client to connect with a
      // WebSocket), whatever the credentials: it serves nothing. The upgrade itself needs the operation's permission.
      const upgradeOnly = r.method === 'GET' && wsPaths.has(r.path);
      router.add({ ...r, ...required.of(r.method, r.path), ...(upgradeOnly ? { auth: false, permission: undefined } : {}) });
    }
  }
  server = new HttpServer(router, SchemaRegistry.fromOpenApi(), d.auth, d.metrics, d.log, {
    host: d.host,
    port: d.port,
    maxBodyBytes: d.maxBodyBytes,
    maxJsonDepth: d.maxJsonDepth,
    maxHeaderBytes: d.maxHeaderBytes,
    corsOrigins: d.corsOrigins,
    tls: d.tls,
    rateLimits: d.rateLimits ? new RateLimits(d.rateLimits) : undefined,
  });
  // Every request is audited: writes in their commit's batch (the link makes the request their origin), the rest once answered.
  server.use(auditLink(), { after: 'permission' });
  server.onResponse(auditHook(d.db));
  for (const ws of webSockets) {
    const { auth, permission } = required.of('GET', ws.path);
    if (!auth || permission === undefined) throw new TypeError(`WebSocket ${ws.path}: openapi.yaml must declare a permission for it`);
    server.webSocket({ ...ws, permission });
  }
  d.log.debug('routes', { api_version: API_VERSION, routes: router.routes().map((r) => `${r.method} ${r.path}`) });
  return server;
}
