import { ThemisError } from '../errors.js';
import type { Link } from './middleware.js';
import type { Router } from './router.js';

/** Request headers a browser may send cross-origin (the preflight's Access-Control-Allow-Headers). */
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, X-Transaction-Id, X-Request-Id, Last-Event-ID';
/** Response headers a browser script may read beyond the CORS-safelisted ones. */
export const CORS_EXPOSE_HEADERS = 'X-Request-Id, X-API-Version, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset';
/** How long a browser may cache a preflight answer (seconds; browsers cap it lower: Chromium at 7200). */
export const CORS_MAX_AGE = '600';

/**
 * CORS (docs/configuration.md, THEMIS_CORS_ORIGINS). Placed right after
 * `request-id`, so every response, errors included, carries the headers.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
 *   is answered here, before authentication: 204 with the methods the path's
 *   routes allow when the origin is allowed; 403 FORBIDDEN (no CORS headers)
 *   when it is not; the path's 404 when no route has that path.
 * - Any other request from an allowed origin gets `Access-Control-Allow-Origin`
 *   (and, with an explicit list, `Access-Control-Allow-Credentials`) and
 *   `Access-Control-Expose-Headers`. With an explicit list every response
 *   carries `Vary: Origin`, so a shared cache never serves one origin's
 *   answer to another.
 *
 * `*` answers `Access-Control-Allow-Origin: *` and never allows credentials.
 */
export function corsLink(origins: readonly string[], router: Router): Link {
  const any = origins.length === 1 && origins[0] === '*';
  const allowed = new Set(origins);
  return {
    name: 'cors',
    headers: ['origin', 'access-control-request-method'],
    run: (ctx, next) => {
      const origin = ctx.header('origin');
      if (!any) ctx.setHeader('Vary', 'Origin');
      const ok = origin !== '' && (any || allowed.has(origin));
      const preflight = ctx.method === 'OPTIONS' && origin !== '' && ctx.header('access-control-request-method') !== '';
      if (preflight) {
        if (!ok) throw new ThemisError('FORBIDDEN', 'this origin is not allowed to call the API (THEMIS_CORS_ORIGINS)');
        allowOrigin(ctx.setHeader.bind(ctx), any ? '*' : origin, !any);
        const m = router.match('OPTIONS', ctx.path);
        if (m.kind !== 'method_not_allowed') return next(); // no route has this path: the route link answers 404
        const methods = m.allowed.includes('GET') ? [...m.allowed, 'HEAD'] : m.allowed;
        ctx.setHeader('Access-Control-Allow-Methods', methods.join(', '));
        ctx.setHeader('Access-Control-Allow-Headers', CORS_ALLOW_HEADERS);
        ctx.setHeader('Access-Control-Max-Age', CORS_MAX_AGE);
        ctx.reply = { status: 204, text: '' };
        return undefined;
      }
      if (ok) {
        allowOrigin(ctx.setHeader.bind(ctx), any ? '*' : origin, !any);
        ctx.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
      }
      return next();
    },
  };
}

function allowOrigin(set: (name: string, value: string) => void, origin: string, credentials: boolean): void {
  set('Access-Control-Allow-Origin', origin);
  if (credentials) set('Access-Control-Allow-Credentials', 'true');
}
