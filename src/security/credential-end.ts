/**
 * How a credential ends while a long-lived connection (a change-feed SSE
 * stream, a WebSocket) is open on it: revoked (DELETE /api/keys/{id}),
 * changed (PUT /api/keys/{id}: the connection was authorised under the old
 * permissions; the client reconnects and is checked again), or expired (an
 * API key's `expires_at`, a JWT's `exp`).
 */
export type CredentialEnd = 'revoked' | 'changed' | 'expired';

/** Called once when the credential ends; registered with `Principal.onEnd`. */
export type CredentialEndListener = (why: CredentialEnd) => void;

/** setTimeout's longest delay (about 24.8 days); longer waits are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Call `fn` once the clock reaches `atMs` (chained beyond setTimeout's limit; unref'd). Returns the cancel function. */
export function timerAt(atMs: number, fn: () => void, now: () => number = Date.now): () => void {
  let t: NodeJS.Timeout | undefined;
  let cancelled = false;
  // Never synchronously: the caller gets its cancel function before `fn` can run.
  const arm = () => {
    t = setTimeout(
      () => {
        if (cancelled) return;
        if (now() >= atMs) fn();
        else arm();
      },
      Math.max(0, Math.min(atMs - now(), MAX_DELAY_MS)),
    );
    t.unref();
  };
  arm();
  return () => {
    cancelled = true;
    if (t) clearTimeout(t);
  };
}
