import { type Caller, NO_TABLES, type TableAccess } from '../access.js';
import type { Principal } from '../security/index.js';
import type { CommitOrigin } from '../txn/index.js';

/** The tables the request's principal may read and write (none without a principal: public routes touch no data). */
export function tablesOf(req: Pick<ApiRequest, 'principal'>): TableAccess {
  return req.principal?.access ?? NO_TABLES;
}

const NOBODY: Caller = Object.freeze({ access: NO_TABLES });

/** The request's caller for services: its principal (none on public routes: no table), with the request as its commits' origin. */
export function callerOf(req: Pick<ApiRequest, 'principal' | 'origin'>): Caller {
  const p = req.principal;
  if (p === undefined) return NOBODY;
  return req.origin === undefined ? p : { access: p.access, id: p.id, name: p.name, origin: req.origin };
}

/** What a route handler sees: plain values, no sockets (handlers are testable without uWS). */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /** Route template, e.g. `/entities/:key`. */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed and schema-validated JSON body (undefined for routes without a body). */
  readonly body: unknown;
  readonly principal: Principal | undefined;
  /** The request as the origin of the commits it causes (the audit log); set by the audit link. */
  readonly origin: CommitOrigin | undefined;
  readonly requestId: string;
  /**
   * Request header by lower-case name ('' when absent or not captured). Captured for every request:
   * authorization, content-length, x-request-id, and the headers routes and links declare (`headers`:
   * x-transaction-id, last-event-id, ...). The headers of binary bodies (content-type, range,
   * if-range, if-match, if-none-match) are readable in the synchronous part of a handler; after an
   * `await` or from a stream only if the route declares them in `headers` (captured then for that
   * route's requests alone), else this throws a TypeError saying so.
   */
  header(name: string): string;
  /**
   * The request body as it arrives, for routes declared with `rawBody` (RouteSpec): not parsed, not
   * validated, not collected. Chunks in order (Buffers the handler owns), with backpressure: past
   * about 1 MiB not yet taken, the adapter stops reading the socket until the handler takes more, so
   * memory stays bounded whatever the body's size. Iteration throws `PAYLOAD_TOO_LARGE` (413) once
   * the body passes `rawBody.maxBytes` (a declared Content-Length beyond it is refused before the
   * handler runs), and `IncompleteBody` (400, body.ts) when the client goes away before the end, so
   * the handler can clean up. Ends at once for a request without a body. Call it once.
   */
  bodyStream(): AsyncIterableIterator<Buffer>;
  /** Run `cb` if the client goes away before the response is complete (at most once). */
  onAborted(cb: () => void): void;
}

export interface Reply {
  /** Default 200. 304 is sent without Content-Type, Content-Length or body (RFC 9110 §15.4.5): give it the ETag. */
  status?: number;
  /** Serialised as JSON. */
  json?: unknown;
  /** Sent as is (use with `contentType`). */
  text?: string;
  /** Binary content sent as is (a PDF; use with `contentType`). */
  body?: Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * A streamed response (SSE): the handler takes over the socket. Writes are
 * corked; `write` returns false when the socket is backpressured, after
 * which the handler should wait for `onWritable` before writing more.
 */
export interface ResponseStream {
  /** Status and headers; call once, first. */
  start(status: number, headers: Record<string, string>): void;
  write(chunk: string): boolean;
  /** Called once when a backpressured socket has drained. */
  onWritable(cb: () => void): void;
  /** End the response; `closeConnection` also closes the socket (e.g. after an error event to a slow client). */
  end(chunk?: string, closeConnection?: boolean): void;
  /**
   * Close the connection at once, without the end of the response: the client
   * sees an incomplete reply, not a short complete one (a failure after the
   * status was sent, e.g. an export whose storage read failed). Recorded as 500.
   */
  abort(): void;
  /** True after end() or after the client went away. */
  readonly closed: boolean;
  /** Called once when the stream closes for any reason (end, client gone, server shutdown). */
  onClose(cb: () => void): void;
}

/**
 * A body of known length from an asynchronous source (a blob read from storage piece by piece), sent
 * with `Content-Length` (not chunked encoding) only as fast as the client reads it: the adapter asks
 * the source for the next chunk once the previous one is on its way (uWS `tryEnd` and `onWritable`),
 * so memory stays at about one chunk per download.
 *
 * - HEAD answers the status and headers with `Content-Length: length` and never reads the source.
 * - The client going away (or the server closing it at shutdown) ends the iteration: the iterator's
 *   `return()` is called once its pending `next()` has settled, so a generator's `finally` runs.
 * - The source failing (or ending short of `length`, or passing it) before anything was sent becomes
 *   the error reply; after the headers were sent, the connection is closed, so the client sees an
 *   incomplete response, never a short complete one (recorded as 500).
 * - A chunk may be reused by the source once the adapter has asked for the next one.
 */
export interface SizedBody {
  /** 200 (default), 206 for a range. */
  status?: number;
  /** Default `application/octet-stream`. */
  contentType?: string;
  /** ETag, Accept-Ranges, Content-Range, Cache-Control, Content-Disposition...; a Content-Length here is ignored. */
  headers?: Record<string, string>;
  /** The exact number of bytes `body` yields: the Content-Length (0 works). */
  length: number;
  /** The bytes, in order, in chunks of any size (Buffer or Uint8Array); empty chunks are skipped. */
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export interface SizedReply {
  sized: SizedBody;
}

export interface StreamReply {
  stream: (out: ResponseStream) => void;
  /** What a HEAD request of the stream answers (its content type and headers); default: an event stream (SSE). */
  head?: { contentType: string; headers?: Record<string, string> };
}

/** Every kind of reply a handler (or a short-circuiting link) can give. */
export type AnyReply = Reply | StreamReply | SizedReply;

export type Handler = (req: ApiRequest) => AnyReply | Promise<AnyReply>;
