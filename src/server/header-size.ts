import { ThemisError } from '../errors.js';
import { uwsNative, type HttpRequest } from './uws.js';

/**
 * Request line plus header fields over `limit` → 414 URI_TOO_LONG (the
 * target alone) or 431 HEADERS_TOO_LARGE. Counted in characters as uWS hands
 * them over (bytes for ASCII), `name: value` plus CRLF per field. uWS's own,
 * native limits apply before this (docs/api.md, "Request limits"): beyond
 * them a connection is closed without an answer, which is why this limit
 * exists in our code at all. Call inside the uWS handler (`req` is valid only
 * there).
 */
export function checkHeaderSize(method: string, url: string, queryLength: number, req: HttpRequest, limit: number): void {
  const target = url.length + (queryLength > 0 ? queryLength + 1 : 0);
  if (target > limit) {
    throw new ThemisError('URI_TOO_LONG', `the request target is longer than the limit of ${limit} bytes (THEMIS_MAX_HEADER_BYTES)`, { details: { limit_bytes: limit } });
  }
  // uWS's pure-JS fallback (node:http underneath) has no forEach; node:http enforces its own 16 KiB header limit there.
  if (!uwsNative) return;
  // Request line: method SP target SP HTTP/1.1 CRLF.
  let size = method.length + target + 12;
  req.forEach((k, v) => {
    size += k.length + v.length + 4;
  });
  if (size > limit) {
    throw new ThemisError('HEADERS_TOO_LARGE', `request line and header fields exceed the limit of ${limit} bytes (THEMIS_MAX_HEADER_BYTES)`, { details: { limit_bytes: limit } });
  }
}
