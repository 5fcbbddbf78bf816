import { ThemisError } from '../errors.js';
import { uwsNative, type HttpRequest } from './uws.js';

/** Bytes of the request target: path plus `?query`. */
export function targetBytes(url: string, queryLength: number): number {
  return url.length + (queryLength > 0 ? queryLength + 1 : 0);
}

/**
 * Bytes of the request line plus header fields, counted in characters as
 * uWS hands them over (bytes for ASCII), `name: value` plus CRLF per field;
 * -1 under uWS's pure-JS fallback, which has no forEach (node:http enforces
 * its own 16 KiB header limit there). Call inside the uWS handler (`req` is
 * valid only there).
 */
export function measureRequestHead(method: string, targetBytes: number, req: HttpRequest): number {
  if (!uwsNative) return -1;
  // Request line: method SP target SP HTTP/1.1 CRLF.
  let size = method.length + targetBytes + 12;
  req.forEach((k, v) => {
    size += k.length + v.length + 4;
  });
  return size;
}

/**
 * Request target over `limit` → 414 URI_TOO_LONG; request line plus header
 * fields over it → 431 HEADERS_TOO_LARGE. uWS's own, native limits apply
 * before this (docs/api.md, "Request limits"): beyond them a connection is
 * closed without an answer, which is why this limit exists in our code at all.
 */
export function checkHeaderSize(targetBytes: number, headBytes: number, limit: number): void {
  if (targetBytes > limit) {
    throw new ThemisError('URI_TOO_LONG', `the request target is longer than the limit of ${limit} bytes (THEMIS_MAX_HEADER_BYTES)`, {
      details: { limit_bytes: limit },
    });
  }
  if (headBytes > limit) {
    throw new ThemisError(
      'HEADERS_TOO_LARGE',
      `request line and header fields exceed the limit of ${limit} bytes (THEMIS_MAX_HEADER_BYTES)`,
      { details: { limit_bytes: limit } },
    );
  }
}
