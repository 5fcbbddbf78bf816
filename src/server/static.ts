import crypto from 'node:crypto';
import { ifNoneMatchHits, strongETag } from './range.js';
import type { ApiRequest, Reply } from './types.js';

/** Bodies the server serves from memory (the API reference, the web console): bytes, type, validator. */
export interface Static {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly etag: string;
}

/** A static body with a strong ETag (sha256 of the bytes). */
export function staticBody(body: Uint8Array | string, contentType: string): Static {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { body: bytes, contentType, etag: strongETag(crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 32)) };
}

/** Computed once, on first use. */
export function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

/** 200 with the body, or 304 when the client's copy is current (If-None-Match, RFC 9110 §13.1.2). */
export function serveStatic(req: ApiRequest, f: Static, headers: Record<string, string>): Reply {
  const h = { ETag: f.etag, ...headers };
  if (ifNoneMatchHits(req.header('if-none-match'), f.etag)) return { status: 304, headers: h };
  return { body: f.body, contentType: f.contentType, headers: h };
}
