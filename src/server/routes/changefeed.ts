import type { ServiceHost } from '../../kernel/index.js';
import { Changefeed } from '../../changefeed/index.js';
import type { RouteSpec } from '../router.js';
import type { RouteArea } from '../route-area.js';
import { intParam, stringParam } from '../query-params.js';
import { tablesOf } from '../types.js';

/** Change Data Capture: GET /changefeed (long-poll) and its statistics. Streams live in changefeed-stream.ts. */
export function changefeedRoutes(db: ServiceHost): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/changefeed',
      handler: (req) => {
        const q = req.query;
        const fromSeq = intParam(q, 'from_seq', { min: 0, max: Number.MAX_SAFE_INTEGER });
        const limit = intParam(q, 'limit', { min: 1, max: 10_000, fallback: 100 });
        const longPollMs = intParam(q, 'long_poll_ms', { min: 0, max: 60_000, fallback: 0 });
        const keyPrefix = stringParam(q, 'key_prefix');
        const feed = db.get(Changefeed);
        const keep = feed.keyFilter(tablesOf(req), keyPrefix);
        return feed
          .read({ fromSeq, limit, keyPrefix, keep, longPollMs, onCancel: (cancel) => req.onAborted(cancel) })
          .then((json) => ({ json }));
      },
    },
    {
      method: 'GET',
      path: '/changefeed/stats',
      handler: () => ({ json: db.get(Changefeed).stats() }),
    },
  ];
}

export const changefeedArea: RouteArea = { name: 'changefeed', routes: (ctx) => changefeedRoutes(ctx.db) };
