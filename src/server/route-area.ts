import type { Database } from '../db.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RequestStats } from './request-stats.js';
import type { RouteSpec } from './router.js';
import type { WsRoute } from './websocket.js';

/** What an area builds its routes from. */
export interface AreaContext {
  db: Database;
  metrics: Metrics;
  log: Logger;
  /** Process start (ms since the epoch), for uptimes. */
  startedAt: number;
  /** The HTTP server's request counters (valid once the server exists: call it inside handlers). */
  serverStats: () => RequestStats;
}

/** A route as an area declares it: its authentication and permission come from openapi.yaml (`x-permission`), not from here. */
export type AreaRoute = Omit<RouteSpec, 'auth' | 'permission' | 'action' | 'successStatus'>;
/** A WebSocket route as an area declares it (its permission: `x-permission` of its GET operation). */
export type AreaWsRoute = Omit<WsRoute, 'permission'>;

/**
 * One API area (a subsystem's endpoints), registered as a unit: its file in
 * `routes/` exports it and `routes/index.ts` lists it. Adding a subsystem's
 * endpoints means adding an area, nothing in http-server.ts.
 */
export interface RouteArea {
  readonly name: string;
  routes(ctx: AreaContext): AreaRoute[];
  /** WebSocket routes (registered on the same port; authenticated on the upgrade request). */
  webSockets?(ctx: AreaContext): AreaWsRoute[];
}
