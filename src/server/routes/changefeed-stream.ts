import type { RawChangeEntry } from '../../cdc/index.js';
import type { ServiceHost } from '../../kernel/index.js';
import { type ChangeFeed, Changefeed, type ChangeSink, type ChangeStream, type ChangeStreamOptions } from '../../changefeed/index.js';
import { ThemisError } from '../../errors.js';
import type { CredentialEnd } from '../../security/index.js';
import { HttpError } from '../error-reply.js';
import type { AreaWsRoute, RouteArea } from '../route-area.js';
import type { RouteSpec } from '../router.js';
import { type ApiRequest, tablesOf } from '../types.js';
import { boolParam, intParam, stringParam } from '../query-params.js';

/** The event payload of both streams: the contract's SSE fields plus txn_id. */
export function eventPayload(e: RawChangeEntry): string {
  return JSON.stringify({
    operation: e.op === 'put' ? 'PUT' : 'DELETE',
    key: e.key,
    sequence: e.seq,
    old_val: e.prev,
    new_val: e.value,
    txn_id: e.txn_id,
  });
}

/** The last SSE event of a stream whose credential ended: the error body of a 401, plus where to resume. */
function credentialEnded(why: CredentialEnd, lastSeq: number): string {
  return JSON.stringify({
    error: true,
    message: `the credential was ${why}; reconnect with a valid one and resume after seq ${lastSeq}`,
    status_code: 401,
    code: 'UNAUTHORIZED',
    last_seq: lastSeq,
  });
}

/** The stream's options; `feed` supplies the table filter of a table-scoped principal. */
function streamOptions(
  feed: ChangeFeed,
  req: Pick<ApiRequest, 'query' | 'header' | 'principal'>,
  resumeHeader: boolean,
): ChangeStreamOptions {
  const q = req.query;
  let fromSeq = intParam(q, 'from_seq', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  if (resumeHeader) {
    // SSE resume: the browser (or client) sends the id of the last event it saw.
    const last = req.header('last-event-id').trim();
    if (last !== '') {
      if (!/^\d{1,16}$/.test(last))
        throw new ThemisError('VALIDATION_FAILED', `header "Last-Event-ID" must be a sequence number, got "${last.slice(0, 40)}"`, {
          details: { field: 'last-event-id' },
        });
      fromSeq = Number(last);
    }
  }
  const keyPrefix = stringParam(q, 'key_prefix');
  const keep = feed.keyFilter(tablesOf(req), keyPrefix);
  return { fromSeq, keyPrefix, keepAlive: boolParam(q, 'keep_alive', true), ...(keep ? { keep } : {}) };
}

/**
 * GET /changefeed/stream: Server-Sent Events. `id:` is the sequence number,
 * so EventSource resumes by itself with Last-Event-ID.
 */
export function changefeedStreamRoutes(db: ServiceHost): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/changefeed/stream',
      headers: ['last-event-id'],
      handler: async (req) => {
        const opts = streamOptions(db.get(Changefeed), req, true);
        const maxSeconds = intParam(req.query, 'max_seconds', { min: 1, max: 60, fallback: 30 });
        const heartbeatMs = intParam(req.query, 'heartbeat_ms', { min: 100, max: 60_000, fallback: 15_000 });
        await db.get(Changefeed).checkRange(opts.fromSeq); // 410 as a JSON error, before the stream starts
        return {
          stream: (out) => {
            out.start(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
            out.write(`retry: 1000\n: connected from_seq=${opts.fromSeq}\n\n`);
            let stream: ChangeStream | undefined;
            const write = (chunk: string): boolean => {
              const ok = out.write(chunk);
              if (!ok) out.onWritable(() => stream?.resume());
              return ok;
            };
            const sink: ChangeSink = {
              send: (e) => write(`id: ${e.seq}\ndata: ${eventPayload(e)}\n\n`),
              fail: (reason, message, lastSeq) => {
                // Close the socket too: a slow client's unsent buffer is freed at once.
                out.end(`event: error\ndata: ${JSON.stringify({ error: reason, message, last_seq: lastSeq })}\n\n`, true);
              },
              end: () => out.end(),
              get closed() {
                return out.closed;
              },
            };
            stream = db.get(Changefeed).openStream(sink, opts);
            const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
            const deadline = setTimeout(() => out.end(), maxSeconds * 1000);
            // The credential ends (revoked, changed, expired): a last `error` event in the error format, then close.
            const unwatch = req.principal?.onEnd?.((why) => {
              stream?.stop();
              if (!out.closed) out.end(`event: error\ndata: ${credentialEnded(why, stream?.position ?? opts.fromSeq)}\n\n`, true);
            });
            out.onClose(() => {
              clearInterval(heartbeat);
              clearTimeout(deadline);
              unwatch?.();
              stream!.stop();
            });
            stream.start();
          },
        };
      },
    },
    {
      // uWS hands only upgrade requests to the WebSocket route; a plain GET would otherwise fall through to 404.
      // It needs no credentials (server/index.ts): whoever sends it, the answer is to connect with a WebSocket.
      method: 'GET',
      path: '/changefeed/ws',
      handler: () => {
        throw new HttpError(
          'UPGRADE_REQUIRED',
          '/changefeed/ws is a WebSocket endpoint: connect with a WebSocket client (a GET with Upgrade: websocket, RFC 6455), ' +
            'e.g. ws://<host>:<port>/changefeed/ws?from_seq=0 with Authorization: Bearer <key>; over plain HTTP, use ' +
            'GET /changefeed (long-poll) or GET /changefeed/stream (Server-Sent Events)',
          { Upgrade: 'websocket' },
        );
      },
    },
  ];
}

/** /changefeed/ws: the same events as JSON text messages over a WebSocket. */
export function changefeedWebSocket(db: ServiceHost): AreaWsRoute {
  return {
    path: '/changefeed/ws',
    upgrade: async (req) => {
      const opts = streamOptions(db.get(Changefeed), req, false);
      await db.get(Changefeed).checkRange(opts.fromSeq);
      return (conn) => {
        const sink: ChangeSink = {
          send: (e) => conn.send(`{"type":"change",${eventPayload(e).slice(1)}`),
          fail: (reason, message, lastSeq) => {
            conn.send(JSON.stringify({ type: 'error', error: reason, message, last_seq: lastSeq }));
            conn.close(reason === 'gone' ? 4410 : 4008, reason);
          },
          end: () => conn.close(1000, 'caught up'),
          get closed() {
            return conn.closed;
          },
        };
        const stream = db.get(Changefeed).openStream(sink, opts);
        stream.start();
        return { onDrain: () => stream.resume(), onClose: () => stream.stop() };
      };
    },
  };
}

export const changefeedStreamArea: RouteArea = {
  name: 'changefeed-stream',
  routes: (ctx) => changefeedStreamRoutes(ctx.db),
  webSockets: (ctx) => [changefeedWebSocket(ctx.db)],
};
