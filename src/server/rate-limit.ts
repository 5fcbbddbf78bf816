import { ThemisError } from '../errors.js';
import { TokenBuckets, Unauthorized, type RateLimit, type Verdict } from '../security/index.js';
import type { Link, Next, RequestContext } from './middleware.js';

/**
 * Rate limits as links of the request chain (docs/api.md, "Rate
 * limits"). The buckets are `security/rate-limit.ts`; this file decides
 * which bucket a request draws from and turns a refusal into 429
 * RATE_LIMITED with `Retry-After` and the `X-RateLimit-*` headers.
 *
 * - `ip-limit` (after `admit`, before routing): every request, per client IP (THEMIS_RATE_LIMIT_IP).
 * - `auth-guard` (before `authenticate`): failed authentications per client IP (THEMIS_AUTH_FAIL_LIMIT);
 *   an IP out of attempts gets 429 on every route that needs a key, before its token is looked at.
 * - `rate-limit` (after `authenticate`): per principal (the principal's own `rateLimit`, else
 *   THEMIS_RATE_LIMIT), plus THEMIS_RATE_LIMIT_AUDIT on routes declaring `rateLimit: 'audit'`.
 *
 * Limits that are off add no link (the `rate-limit` link is always there, passing through).
 */
export interface RateLimitOptions {
  /** Default per authenticated principal (THEMIS_RATE_LIMIT). */
  principal?: RateLimit;
  /** Per client IP, every request (THEMIS_RATE_LIMIT_IP). */
  ip?: RateLimit;
  /** Per principal on routes with `rateLimit: 'audit'` (THEMIS_RATE_LIMIT_AUDIT). */
  audit?: RateLimit;
  /** Failed authentications per client IP (THEMIS_AUTH_FAIL_LIMIT). */
  authFail?: RateLimit;
  /** Take the client IP from the last `X-Forwarded-For` entry (THEMIS_TRUST_PROXY). */
  trustProxy?: boolean;
  /** Most buckets per limit (default 100000); the least recently used go first. */
  maxKeys?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export class RateLimits {
  readonly ipBuckets: TokenBuckets;
  readonly principalBuckets: TokenBuckets;
  readonly auditBuckets: TokenBuckets;
  readonly failBuckets: TokenBuckets;

  constructor(readonly opts: RateLimitOptions) {
    const b = { maxKeys: opts.maxKeys, now: opts.now };
    this.ipBuckets = new TokenBuckets(b);
    this.principalBuckets = new TokenBuckets(b);
    this.auditBuckets = new TokenBuckets(b);
    this.failBuckets = new TokenBuckets(b);
  }

  /** The client's address as the limits key it: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 prefix. */
  clientIp(ctx: RequestContext): string {
    let ip = ctx.remoteAddress;
    if (this.opts.trustProxy) {
      const xff = ctx.header('x-forwarded-for');
      if (xff !== '') {
        const last = xff.slice(xff.lastIndexOf(',') + 1).trim();
        if (last !== '') ip = last;
      }
    }
    return ipKey(ip);
  }

  /** Links to place before `route` (`ip-limit`) and before `authenticate` (`auth-guard`), when configured. */
  ipLink(): Link | undefined {
    const rule = this.opts.ip;
    if (rule === undefined) return undefined;
    return {
      name: 'ip-limit',
      remoteAddress: true,
      headers: this.opts.trustProxy ? ['x-forwarded-for'] : undefined,
      run: (ctx, next) => {
        apply(ctx, this.ipBuckets.take(this.clientIp(ctx), rule), 'too many requests from this address');
        return next();
      },
    };
  }

  authGuardLink(): Link | undefined {
    const rule = this.opts.authFail;
    if (rule === undefined) return undefined;
    const failed = (ctx: RequestContext, e: unknown) => {
      // A credential presented and refused; a request without one guesses nothing.
      if (e instanceof Unauthorized && e.invalidToken) this.failBuckets.take(this.clientIp(ctx), rule);
    };
    return {
      name: 'auth-guard',
      remoteAddress: true,
      headers: this.opts.trustProxy ? ['x-forwarded-for'] : undefined,
      run: (ctx, next: Next) => {
        if (ctx.matched === undefined || !ctx.matched.auth) return next();
        // No address has failed lately (the common case): nothing to look up (peek forgets refilled buckets).
        if (this.failBuckets.size > 0) {
          const v = this.failBuckets.peek(this.clientIp(ctx), rule);
          if (!v.allowed) {
            setHeaders(ctx, v);
            throw new ThemisError('RATE_LIMITED', 'too many failed authentication attempts from this address; retry later', {
              retryAfterMs: v.retryAfterMs,
            });
          }
        }
        let out: void | Promise<void>;
        try {
          out = next();
        } catch (e) {
          failed(ctx, e);
          throw e;
        }
        if (out instanceof Promise) {
          return out.catch((e: unknown) => {
            failed(ctx, e);
            throw e;
          });
        }
        return out;
      },
    };
  }

  /** The `rate-limit` link (after `authenticate`). */
  principalLink(): Link {
    const { principal: byDefault, audit } = this.opts;
    return {
      name: 'rate-limit',
      run: (ctx, next) => {
        const p = ctx.principal;
        if (p === undefined) return next();
        const rule = p.rateLimit ?? byDefault;
        let shown: Verdict | undefined;
        if (rule !== undefined) {
          shown = this.principalBuckets.take(p.id, rule);
          if (!shown.allowed) refuse(ctx, shown, 'rate limit exceeded');
        }
        if (audit !== undefined && ctx.matched?.rateLimit === 'audit') {
          const v = this.auditBuckets.take(p.id, audit);
          if (!v.allowed) refuse(ctx, v, 'rate limit of the audit and report endpoints exceeded');
          // The headers describe the tighter of the two.
          if (shown === undefined || v.remaining < shown.remaining) shown = v;
        }
        if (shown !== undefined) setHeaders(ctx, shown);
        return next();
      },
    };
  }
}

function apply(ctx: RequestContext, v: Verdict, message: string): void {
  if (!v.allowed) refuse(ctx, v, message);
  setHeaders(ctx, v);
}

function refuse(ctx: RequestContext, v: Verdict, message: string): never {
  setHeaders(ctx, v);
  throw new ThemisError('RATE_LIMITED', message, { retryAfterMs: v.retryAfterMs });
}

/** `X-RateLimit-Reset` is the number of seconds until the bucket is full again (not an epoch time), rounded up. */
function setHeaders(ctx: RequestContext, v: Verdict): void {
  ctx.setHeader('X-RateLimit-Limit', String(v.limit));
  ctx.setHeader('X-RateLimit-Remaining', String(v.remaining));
  ctx.setHeader('X-RateLimit-Reset', String(Math.ceil(v.resetMs / 1000)));
}

/**
 * The limits key of an address: IPv4 (also IPv4-mapped IPv6) as is; IPv6 by
 * its first four groups (the /64 a single host can rotate through freely).
 */
export function ipKey(ip: string): string {
  const t = ip.trim().toLowerCase();
  if (t.indexOf(':') < 0) return t;
  let text = t;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return t;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return t;
  const g = [...head, ...new Array<string>(fill).fill('0'), ...tail].map((x) => Number.parseInt(x, 16));
  if (g.length !== 8 || g.some((x) => !(x >= 0 && x <= 0xffff))) return t;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}
