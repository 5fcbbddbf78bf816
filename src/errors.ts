/**
 * The error catalogue. Every user-facing failure is a ThemisError carrying a
 * stable `code` and the HTTP `status` it maps to; messages may change, codes
 * do not (the same promise abstract-level makes for its LEVEL_* codes). Tests
 * assert on `code` and status, not on wording. Programmer mistakes stay plain
 * TypeErrors and surface as 500.
 */
export const ErrorCodes = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  VALIDATION_FAILED: 400,
  INVALID_KEY: 400,
  INVALID_BLOB: 400,
  /** Unknown, finished or timed-out transaction id. */
  TRANSACTION_NOT_ACTIVE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  /** GET, DELETE or truncate of a table that does not exist (no document, index, vector index or policy). */
  TABLE_NOT_FOUND: 404,
  /** AQL names a collection that does not exist (`FOR x IN typo`, COLLECTION_COUNT()): ArangoDB's "collection or view not found". */
  COLLECTION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** A query ran past its time limit. */
  TIMEOUT: 408,
  /** Creating an index (of any kind) that exists already; the contract answers 400. */
  INDEX_EXISTS: 400,
  /** Dropping, reading or searching an index (of any kind) that does not exist; the contract answers 400. */
  INDEX_NOT_FOUND: 400,
  /** A concurrent conflict: a unique value taken, an index dropped while it was built, a cursor read twice at once. */
  CONFLICT: 409,
  /** Change-log entries below the retained range were requested. */
  GONE: 410,
  /** A conditional request whose `If-Match` does not hold (the representation changed). */
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  /** A `Range` no byte of the representation falls in (answered with `Content-Range: bytes *\/size`). */
  RANGE_NOT_SATISFIABLE: 416,
  /** A write a table's PII policy refuses (`action: reject`): the field and category are named, never the value. */
  PII_DETECTED: 422,
  /** Too many requests from one client; retry after the time given. */
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
  /** Writes are refused after a storage I/O error (an fsync or write failure other than a full disk); a restart recovers. */
  STORAGE_FAILURE: 503,
  /** The disk holding the data directory is full: writes are refused until space is freed (they resume by themselves). */
  INSUFFICIENT_STORAGE: 507,
  /** JSON input (a request body, or a document inside one) nests deeper than THEMIS_MAX_JSON_DEPTH. */
  JSON_TOO_DEEP: 400,
  /** The request target alone is longer than THEMIS_MAX_HEADER_BYTES. */
  URI_TOO_LONG: 414,
  /** Request line and header fields together exceed THEMIS_MAX_HEADER_BYTES. */
  HEADERS_TOO_LARGE: 431,
  /** A plain HTTP request to a WebSocket endpoint. */
  UPGRADE_REQUIRED: 426,
  /** A query needed more memory or deeper nesting than its limits allow (THEMIS_QUERY_MAX_MEMORY, the nesting limit). */
  RESOURCE_LIMIT_EXCEEDED: 400,
  /** An AQL query run with `fail_on_warning: true` raised a warning; the body's `warning` holds its ArangoDB `code` and `message`. */
  QUERY_WARNING: 400,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class ThemisError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields merged into the JSON error body (never secrets). */
  readonly details: Record<string, unknown> | undefined;
  /**
   * How long the caller should wait before retrying, when the condition passes by itself (an index being
   * built, a full disk). Not part of the body: server/ turns it into `Retry-After`; subsystems know no HTTP.
   */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown>; retryAfterMs?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ThemisError';
    this.code = code;
    this.status = ErrorCodes[code];
    this.details = opts.details;
    this.retryAfterMs = opts.retryAfterMs;
  }
}
