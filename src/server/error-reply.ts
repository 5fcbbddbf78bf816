import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';

export interface ErrorReply {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string> | undefined;
}

/**
 * The one place that turns errors into responses, in the contract's format
 * `{"error": true, "message", "status_code"}` plus our stable `code`.
 * Unexpected exceptions become a 500 with a short message naming the request
 * id; the stack goes to the log, never into the response.
 */
const QUIET_CODES = new Set<string>(['UNAVAILABLE', 'INSUFFICIENT_STORAGE', 'STORAGE_FAILURE']);

export function toErrorReply(err: unknown, requestId: string, log: Logger, route: string): ErrorReply {
  if (err instanceof ThemisError) {
    // 503 (starting, shutting down) is expected operation, not a failure worth an error line; writes refused after
    // a storage failure (507/503) were logged once, when the storage failed.
    if (err.status >= 500 && !QUIET_CODES.has(err.code)) log.error('request failed', { request_id: requestId, route, code: err.code, error: err, cause: err.cause });
    return {
      status: err.status,
      body: { error: true, message: err.message, status_code: err.status, code: err.code, ...(err.details ?? {}) },
      headers: err.headers,
    };
  }
  log.error('unexpected error', { request_id: requestId, route, error: err });
  return {
    status: 500,
    body: { error: true, message: `internal server error (request id ${requestId})`, status_code: 500, code: 'INTERNAL' },
    headers: undefined,
  };
}
