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
  return req.origin === undefined ? p : { access: p.access, id: p.id, origin: req.origin };
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
  /** Request header by lower-case name ('' when absent). Captured: authorization, content-length, x-request-id, x-transaction-id, last-event-id. */
  header(name: string): string;
  /** Run `cb` if the client goes away before the response is complete (at most once). */
  onAborted(cb: () => void): void;
}

export interface Reply {
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

export interface StreamReply {
  stream: (out: ResponseStream) => void;
  /** What a HEAD request of the stream answers (its content type and headers); default: an event stream (SSE). */
  head?: { contentType: string; headers?: Record<string, string> };
}

export type Handler = (req: ApiRequest) => Reply | StreamReply | Promise<Reply | StreamReply>;
