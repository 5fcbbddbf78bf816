import { ThemisError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { Unauthorized } from '../security/index.js';

export interface ErrorReply {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string> | undefined;
}

/**
 * An error the HTTP layer raises itself, with the response headers it needs (405's `Allow`, 426's `Upgrade`).
 * Subsystems below server/ know no HTTP: they throw ThemisError and state facts (`retryAfterMs`), and
 * httpHeaders() below makes the headers.
 */
export class HttpError extends ThemisError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly headers: Record<string, string>,
  ) {
    super(code, message);
  }
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
    if (err.status >= 500 && !QUIET_CODES.has(err.code))
      log.error('request failed', { request_id: requestId, route, code: err.code, error: err, cause: err.cause });
    return {
      status: err.status,
      body: { error: true, message: err.message, status_code: err.status, code: err.code, ...(err.details ?? {}) },
      headers: httpHeaders(err),
    };
  }
  log.error('unexpected error', { request_id: requestId, route, error: err });
  return {
    status: 500,
    body: { error: true, message: `internal server error (request id ${requestId})`, status_code: 500, code: 'INTERNAL' },
    headers: undefined,
  };
}

/** The response headers an error implies. */
function httpHeaders(err: ThemisError): Record<string, string> | undefined {
  let h = err instanceof HttpError ? { ...err.headers } : undefined;
  // RFC 9110 §10.2.3: delay-seconds, an integer; rounded up so a client never retries early.
  if (err.retryAfterMs !== undefined) (h ??= {})['Retry-After'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  // RFC 6750 §3: a challenge on every 401; error="invalid_token" when a credential was presented (and refused).
  if (err instanceof Unauthorized)
    (h ??= {})['WWW-Authenticate'] = err.invalidToken ? 'Bearer realm="themis", error="invalid_token"' : 'Bearer realm="themis"';
  return h;
}
