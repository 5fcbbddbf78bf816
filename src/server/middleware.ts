import type { Principal } from '../security/index.js';
import type { CommitOrigin } from '../txn/index.js';
import type { RequestBody } from './body.js';
import type { Route } from './router.js';
import type { AnyReply, ApiRequest } from './types.js';

/**
 * The request middleware chain (docs/architecture.md, "Request middleware
 * chain"). A middleware acts before `next()`, after it, or instead of it
 * (short-circuit: set `ctx.reply`, or throw a ThemisError, without calling
 * `next`). Errors thrown or rejected anywhere become the error reply.
 */
export type Next = () => void | Promise<void>;
export type Middleware<C = RequestContext> = (ctx: C, next: Next) => void | Promise<void>;

/** A middleware with a name, so links can be placed relative to each other (`HttpServer.use`). */
export interface Link<C = RequestContext> {
  readonly name: string;
  readonly run: Middleware<C>;
  /** Request headers (lower case) this link reads through `ctx.header()`; captured for every request. */
  readonly headers?: readonly string[];
  /** This link reads `ctx.remoteAddress`: the adapter captures the peer address for every request. */
  readonly remoteAddress?: boolean;
}

/**
 * What a middleware sees: the handler's `ApiRequest`, writable where a link
 * fills it in, plus the reply being built. One object per request, owned by
 * the HTTP adapter; nothing here touches uWS, so links are plain functions.
 */
export interface RequestContext extends ApiRequest {
  requestId: string;
  route: string;
  params: Readonly<Record<string, string>>;
  body: unknown;
  principal: Principal | undefined;
  /** The request as its commits' origin (the audit link sets it; services see it through `callerOf`). */
  origin: CommitOrigin | undefined;
  /** The matched route (set by the `route` link). */
  matched: Route | undefined;
  /** The handler's reply; middlewares after `next()` may read or replace it, a short-circuiting one sets it. */
  reply: AnyReply | undefined;
  /** A request body may still be arriving (declared, not yet read). */
  bodyPending: boolean;
  /** Bytes of the request target (path plus `?query`). */
  readonly targetBytes: number;
  /** Bytes of request line plus header fields, -1 where uWS cannot tell (its pure-JS fallback). */
  readonly headerBytes: number;
  /** The peer's IP address as text; '' unless a link declared `remoteAddress` (captured in the synchronous part of the uWS handler). */
  readonly remoteAddress: string;
  /** The path or query holds a raw (not percent-encoded) non-ASCII character. */
  hasNonAsciiTarget(): boolean;
  /** The streaming reader of the request body (body.ts), with the byte limit. */
  requestBody(limit: number): RequestBody;
  /** A header added to whatever response is sent, error replies and streams included (Allow on 405; CORS, rate-limit headers). */
  setHeader(name: string, value: string): void;
}

/** What a response hook sees of a finished request: every request, once, whatever its outcome. */
export interface ResponseInfo {
  readonly method: string;
  readonly path: string;
  /** Route template, or `<unmatched>` for requests answered before a route matched (404, 405, 414, 431...). */
  readonly route: string;
  /** HTTP status sent; 0 when the client went away before an answer (or in the middle of a stream). */
  readonly status: number;
  /** The `code` of an error reply (e.g. `UNAUTHORIZED`), undefined for a success. */
  readonly errorCode: string | undefined;
  readonly principal: Principal | undefined;
  readonly requestId: string;
  /** Milliseconds from the request's arrival to its last byte written (or the abort). */
  readonly durationMs: number;
  /** The error reply's message, undefined for a success. */
  readonly errorMessage: string | undefined;
  /** The matched route (undefined when none matched). */
  readonly matched: Route | undefined;
  readonly params: Readonly<Record<string, string>>;
  /** The validated request body (undefined when the route takes none or it was never read). */
  readonly body: unknown;
  /** The handler's reply (undefined for errors). */
  readonly reply: AnyReply | undefined;
  /** What the request's commits carried (the audit link sets it). */
  readonly origin: CommitOrigin | undefined;
  /** The peer address ('' unless a link declared `remoteAddress`). */
  readonly remoteAddress: string;
  header(name: string): string;
}

/**
 * Observes finished requests (audit, access logs). Called after the response
 * was written; it cannot change it, and an exception in it is logged, never
 * sent. Keep it cheap: it runs on the request path for every request.
 */
export type ResponseHook = (r: ResponseInfo) => void;

/**
 * Compose middlewares into one function, in the manner of koa-compose and
 * Hono's `compose` (src/compose.ts), with one difference for the hot path:
 * nothing is wrapped in a promise. `next()` returns what the rest of the
 * chain returned, so a chain of synchronous links and a synchronous handler
 * runs and returns synchronously (undefined), and becomes a promise only
 * from the first link that is async. A link that works after `next()`
 * must therefore handle both (see `afterNext`), or be `async` and `await
 * next()` (which costs that link a promise, nothing more).
 */
export function compose<C>(middleware: readonly Middleware<C>[]): (ctx: C) => void | Promise<void> {
  const mws = [...middleware];
  const n = mws.length;
  const dispatch = (ctx: C, i: number): void | Promise<void> => {
    if (i === n) return undefined;
    let called = false;
    return mws[i]!(ctx, () => {
      if (called) throw new TypeError(`middleware ${i} called next() more than once`);
      called = true;
      return dispatch(ctx, i + 1);
    });
  };
  return (ctx) => dispatch(ctx, 0);
}

/**
 * Run `after` once the result of `next()` has settled successfully:
 * synchronously when it was synchronous, else when the promise resolves.
 * A rejection passes through untouched (`after` does not run).
 */
export function afterNext(result: void | Promise<void>, after: () => void): void | Promise<void> {
  if (result instanceof Promise) return result.then(after);
  after();
  return undefined;
}
