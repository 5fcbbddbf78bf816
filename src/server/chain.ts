import { isUtf8 } from 'node:buffer';
import { ThemisError } from '../errors.js';
import { exceedsJsonDepth, jsonSyntaxMessage, jsonTooDeep } from '../json-limits.js';
import { can, type Authenticator } from '../security/index.js';
import { corsLink } from './cors.js';
import { checkHeaderSize } from './header-size.js';
import type { Link, RequestContext } from './middleware.js';
import type { RateLimits } from './rate-limit.js';
import { requestIdFrom } from './request-id.js';
import type { Route, Router } from './router.js';
import type { SchemaRegistry } from './schemas.js';

export interface ChainDeps {
  router: Router;
  auth: Authenticator;
  schemas: SchemaRegistry;
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxHeaderBytes: number;
  /** True once shutdown has begun. */
  isDraining: () => boolean;
  /** THEMIS_CORS_ORIGINS: exact origins or `['*']`; empty or absent, no `cors` link (and no CORS headers). */
  corsOrigins?: readonly string[];
  /** Rate limits (src/server/rate-limit.ts); without them `rate-limit` passes every request. */
  rateLimits?: RateLimits;
}

/**
 * The default request chain, in order (docs/architecture.md, "Request
 * middleware chain"). Each link either calls `next()` or ends the request by
 * throwing (the adapter turns the error into the reply) or by setting
 * `ctx.reply`. Placement matters: nothing is read from the body before the
 * caller is authenticated and allowed, so a bad key with a huge body is a
 * 401, not a 413.
 */
export function defaultChain(d: ChainDeps): Link[] {
  // The per-IP links exist only when their limit is configured (THEMIS_RATE_LIMIT_IP, THEMIS_AUTH_FAIL_LIMIT).
  const ipLimit = d.rateLimits?.ipLink();
  const authGuard = d.rateLimits?.authGuardLink();
  return [
    requestIdLink,
    ...(d.corsOrigins !== undefined && d.corsOrigins.length > 0 ? [corsLink(d.corsOrigins, d.router)] : []),
    admitLink(d),
    ...(ipLimit ? [ipLimit] : []),
    routeLink(d.router),
    ...(authGuard ? [authGuard] : []),
    authenticateLink(d.auth),
    d.rateLimits?.principalLink() ?? rateLimitLink,
    permissionLink,
    bodyLink(d),
    handlerLink,
  ];
}

/** The incoming X-Request-Id when it is safe to echo, else a fresh one. Every response carries it. */
export const requestIdLink: Link = {
  name: 'request-id',
  run: (ctx, next) => {
    ctx.requestId = requestIdFrom(ctx.header('x-request-id'));
    return next();
  },
};

/** What any request must pass before routing: the server still takes requests, the head is within limits, the target is ASCII. */
export function admitLink(d: Pick<ChainDeps, 'isDraining' | 'maxHeaderBytes'>): Link {
  return {
    name: 'admit',
    run: (ctx, next) => {
      if (d.isDraining()) throw new ThemisError('UNAVAILABLE', 'server is shutting down');
      checkHeaderSize(ctx.targetBytes, ctx.headerBytes, d.maxHeaderBytes);
      // uWS decodes the target as UTF-8 and silently turns invalid bytes into U+FFFD, so a raw non-ASCII byte
      // could reach a key altered. A URI is ASCII (RFC 3986 §2); other characters travel percent-encoded.
      if (ctx.hasNonAsciiTarget())
        throw new ThemisError('BAD_REQUEST', 'the request target must be ASCII: percent-encode other characters (RFC 3986)');
      return next();
    },
  };
}

/** Route matching: 404, or 405 with `Allow`; sets `matched`, `route` and `params`. HEAD is answered by the GET route (RFC 9110 §9.3.2). */
export function routeLink(router: Router): Link {
  return {
    name: 'route',
    run: (ctx, next) => {
      const m = router.match(ctx.method === 'HEAD' ? 'GET' : ctx.method, ctx.path);
      if (m.kind === 'not_found') throw new ThemisError('ROUTE_NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      if (m.kind === 'method_not_allowed') {
        const get = m.allowed.indexOf('GET');
        const allowed = get >= 0 ? [...m.allowed.slice(0, get + 1), 'HEAD', ...m.allowed.slice(get + 1)] : m.allowed;
        ctx.setHeader('Allow', allowed.join(', '));
        throw new ThemisError('METHOD_NOT_ALLOWED', `method ${ctx.method} is not allowed on ${ctx.path}; allowed: ${allowed.join(', ')}`);
      }
      ctx.matched = m.route;
      ctx.route = m.route.path;
      ctx.params = m.params;
      return next();
    },
  };
}

function matched(ctx: RequestContext): Route {
  if (ctx.matched === undefined) throw new TypeError('this link needs the route link before it');
  return ctx.matched;
}

/**
 * Bearer authentication for routes that require it (401 UNAUTHORIZED); sets `principal`. Synchronous for
 * API keys and cached JWTs; asynchronous only while a new JWT is verified.
 */
export function authenticateLink(auth: Authenticator): Link {
  return {
    name: 'authenticate',
    run: (ctx, next) => {
      if (!matched(ctx).auth) return next();
      const p = auth.authenticate(ctx.header('authorization'));
      if (p instanceof Promise) {
        return p.then((principal) => {
          ctx.principal = principal;
          return next();
        });
      }
      ctx.principal = p;
      return next();
    },
  };
}

/** The `rate-limit` link of a server without rate limits: passes (src/server/rate-limit.ts has the real one). */
export const rateLimitLink: Link = {
  name: 'rate-limit',
  run: (_ctx, next) => next(),
};

/** The route's permission (403 FORBIDDEN). */
export const permissionLink: Link = {
  name: 'permission',
  run: (ctx, next) => {
    const route = matched(ctx);
    if (route.auth && !can(ctx.principal!, route.permission))
      throw new ThemisError('FORBIDDEN', `this key lacks the permission "${route.permission}"`);
    return next();
  },
};

/**
 * The request body: collected, parsed and validated against the route's
 * schema for routes that take one; handed to the handler as a stream for
 * raw-body routes (`rawBody`: the 413 of a declared length beyond their
 * limit is thrown here, before the handler); read and dropped otherwise. A body sent to
 * a route that takes none (DELETE /entities/{key} with a body, say) is never
 * buffered: within the limit it is ignored, over it the request gets its 413
 * and nothing is applied. Requests without a body stay synchronous here.
 */
export function bodyLink(d: Pick<ChainDeps, 'schemas' | 'maxBodyBytes' | 'maxJsonDepth'>): Link {
  return {
    name: 'body',
    run: (ctx, next) => {
      const route = matched(ctx);
      if (route.body === undefined && !ctx.bodyPending) return next();
      if (route.rawBody !== undefined) {
        // Streamed to the handler as it arrives (req.bodyStream()); still pending until the handler has read it.
        ctx.requestBody(route.rawBody.maxBytes).stream(route.rawBody.maxBytes);
        return next();
      }
      const reader = ctx.requestBody(d.maxBodyBytes);
      if (route.body === undefined) {
        return reader.discard().then(() => {
          ctx.bodyPending = false;
          return next();
        });
      }
      return reader.collect().then((buf) => {
        ctx.bodyPending = false;
        ctx.body = parseBody(route, buf, d.schemas, d.maxJsonDepth);
        return next();
      });
    },
  };
}

function parseBody(route: Route, buf: Buffer, schemas: SchemaRegistry, maxJsonDepth: number): unknown {
  if (buf.length === 0) {
    if (route.bodyOptional) return undefined;
    throw new ThemisError('BAD_REQUEST', 'request body is required (a JSON object)');
  }
  // JSON text is UTF-8 (RFC 8259 §8.1); decoding would silently turn invalid bytes into U+FFFD and store them.
  if (!isUtf8(buf)) throw new ThemisError('INVALID_JSON', 'request body is not valid UTF-8');
  // Before parsing: the parser takes any depth, but ajv and everything after it recurse per level.
  if (exceedsJsonDepth(buf, maxJsonDepth)) throw jsonTooDeep('request body', maxJsonDepth);
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new ThemisError('INVALID_JSON', `malformed JSON in request body: ${jsonSyntaxMessage(e)}`);
  }
  schemas.validate(route.body!, body);
  return body;
}

/** The end of the chain: the route's handler; its reply goes to `ctx.reply` (the adapter writes it). */
export const handlerLink: Link = {
  name: 'handler',
  run: (ctx) => {
    const out = matched(ctx).handler(ctx);
    if (out instanceof Promise) {
      return out.then((reply) => {
        ctx.reply = reply;
      });
    }
    ctx.reply = out;
    return undefined;
  },
};
