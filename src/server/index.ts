import type { Database } from '../db.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Authenticator } from '../security/index.js';
import { HttpServer, API_VERSION } from './http-server.js';
import { Router } from './router.js';
import { SchemaRegistry } from './schemas.js';
import { entityRoutes } from './routes/entities.js';
import { systemRoutes } from './routes/system.js';
import { transactionRoutes } from './routes/transactions.js';
import { indexRoutes } from './routes/indexes.js';
import { changefeedRoutes } from './routes/changefeed.js';
import { graphRoutes } from './routes/graph.js';
import { queryRoutes } from './routes/query.js';
import { searchRoutes } from './routes/search.js';
import { vectorRoutes } from './routes/vector.js';
import { changefeedStreamRoutes, changefeedWebSocket } from './routes/changefeed-stream.js';

export { HttpServer, API_VERSION } from './http-server.js';
export { Router, type RouteSpec } from './router.js';
export { SchemaRegistry } from './schemas.js';
export { uwsNative } from './uws.js';
export type { ApiRequest, Reply, Handler } from './types.js';

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
  startedAt: number;
}

/** Build the router with every API area and the uWS adapter around it. */
export function createHttpServer(d: ServerDeps): HttpServer {
  const router = new Router();
  let server: HttpServer | undefined;
  const routes = [
    ...systemRoutes({ db: d.db, metrics: d.metrics, startedAt: d.startedAt, stats: () => server!.stats }),
    ...entityRoutes(d.db),
    ...transactionRoutes(d.db),
    ...indexRoutes(d.db),
    ...changefeedRoutes(d.db),
    ...changefeedStreamRoutes(d.db),
    ...graphRoutes(d.db),
    ...queryRoutes(d.db),
    ...searchRoutes(d.db),
    ...vectorRoutes(d.db),
  ];
  for (const r of routes) router.add(r);
  server = new HttpServer(router, SchemaRegistry.fromOpenApi(), d.auth, d.metrics, d.log, {
    host: d.host,
    port: d.port,
    maxBodyBytes: d.maxBodyBytes,
    maxJsonDepth: d.maxJsonDepth,
    maxHeaderBytes: d.maxHeaderBytes,
  });
  server.webSocket(changefeedWebSocket(d.db));
  d.log.debug('routes', { api_version: API_VERSION, routes: router.routes().map((r) => `${r.method} ${r.path}`) });
  return server;
}
