import type { Principal } from '../security/index.js';

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
  readonly requestId: string;
  /** Request header by lower-case name ('' when absent). */
  header(name: string): string;
}

export interface Reply {
  status?: number;
  /** Serialised as JSON. */
  json?: unknown;
  /** Sent as is (use with `contentType`). */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: ApiRequest) => Reply | Promise<Reply>;
