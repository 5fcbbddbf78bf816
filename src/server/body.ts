import { ThemisError } from '../errors.js';
import type { HttpResponse } from './uws.js';

/**
 * Read a request body as it streams in, refusing it as soon as it exceeds
 * `limit` bytes: a declared Content-Length over the limit is refused before a
 * byte is read; a chunked body is refused the moment the running total passes
 * the limit, and what has arrived is dropped (the caller closes the
 * connection, so the rest is never buffered). uWS reuses the ArrayBuffer it
 * passes to onData, so each chunk is copied.
 *
 * Must be called synchronously inside the uWS request handler.
 */
export function readBody(res: HttpResponse, contentLength: string, limit: number): Promise<Buffer> {
  if (contentLength !== '') {
    const declared = Number(contentLength);
    if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  }
  return new Promise<Buffer>((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((ab, isLast) => {
      if (failed) return;
      size += ab.byteLength;
      if (size > limit) {
        failed = true;
        chunks = [];
        reject(tooLarge(limit));
        return;
      }
      const copy = Buffer.copyBytesFrom(new Uint8Array(ab));
      if (!isLast) {
        chunks.push(copy);
        return;
      }
      if (chunks.length === 0) {
        resolve(copy);
      } else {
        chunks.push(copy);
        resolve(Buffer.concat(chunks, size));
      }
    });
  });
}

function tooLarge(limit: number): ThemisError {
  return new ThemisError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`, { details: { limit_bytes: limit } });
}
