/**
 * One error class for every answer the server refuses. The server's error body is
 * `{"error": true, "message", "status_code", "code"?, ...details}` (docs/api.md); `code` is the stable
 * part to branch on (`NOT_FOUND`, `CONFLICT`, `GONE`, ...), messages may change.
 */
export interface ThemisErrorBody {
  error?: boolean;
  message?: string;
  status_code?: number;
  code?: string;
  [field: string]: unknown;
}

export class ThemisError extends Error {
  /** The HTTP status (404, 409, ...). */
  readonly status: number;
  /** The server's error code; `HTTP_<status>` when the body carried none (e.g. a proxy's answer). */
  readonly code: string;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  readonly body: ThemisErrorBody | string | undefined;
  /** The server's `X-Request-Id` of the failed request, for its logs. */
  readonly requestId: string | undefined;

  constructor(status: number, body: unknown, requestId?: string) {
    const obj = typeof body === 'object' && body !== null ? (body as ThemisErrorBody) : undefined;
    const message = typeof obj?.message === 'string' ? obj.message : typeof body === 'string' && body !== '' ? body : `HTTP ${status}`;
    super(message);
    this.name = 'ThemisError';
    this.status = status;
    this.code = typeof obj?.code === 'string' ? obj.code : `HTTP_${status}`;
    this.body = obj ?? (typeof body === 'string' ? body : undefined);
    this.requestId = requestId;
  }

  /** Reads a failed response's body (JSON if it parses, else text). */
  static async fromResponse(res: Response): Promise<ThemisError> {
    const text = await res.text().catch(() => '');
    return new ThemisError(res.status, parseMaybeJson(text), res.headers.get('x-request-id') ?? undefined);
  }
}

/** True for a 409 CONFLICT: the transaction lost a first-committer-wins race and can be retried as a whole. */
export function isConflict(e: unknown): e is ThemisError {
  return e instanceof ThemisError && e.status === 409;
}

export function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
