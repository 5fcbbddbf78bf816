import { ThemisError } from '../errors.js';

/**
 * What a failed LevelDB write means for the server. A full disk is an
 * operating condition: writes are refused (507) until space is freed, then
 * the store is reopened and writes resume. Any other I/O error (EIO from a
 * write or an fsync) leaves the state of the last write unknown to the
 * operating system's page cache as much as to us — the lesson of
 * PostgreSQL's "fsyncgate": retrying an fsync can report success for data
 * that never reached the disk — so writes stay refused (503) until a
 * restart recovers from what is on disk.
 */
export type StorageFailureKind = 'disk_full' | 'io_error';

export interface StorageFailure {
  kind: StorageFailureKind;
  /** LevelDB's message (a file name and the OS error; no data): for the log. */
  message: string;
  /** The operating system's reason alone (no paths): for clients. */
  reason: string;
  /** When it happened (ISO time). */
  at: string;
}

const DISK_FULL = /no space left on device|ENOSPC|disk quota exceeded|EDQUOT/i;

/** What clients and /health see of a failure (no LevelDB message: it names files). */
export type PublicStorageFailure = Pick<StorageFailure, 'kind' | 'reason' | 'at'>;

export function publicFailure(f: StorageFailure): PublicStorageFailure {
  return { kind: f.kind, reason: f.reason, at: f.at };
}

export function describeStorageFailure(e: unknown): StorageFailure {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | undefined)?.code;
  const kind: StorageFailureKind = DISK_FULL.test(message) || code === 'ENOSPC' || code === 'EDQUOT' ? 'disk_full' : 'io_error';
  // "IO error: /srv/themis/db/000005.ldb: No space left on device" -> "No space left on device"
  const reason = message.split(': ').pop()!.slice(0, 200);
  return { kind, message, reason, at: new Date().toISOString() };
}

/**
 * The error a write gets while the store refuses writes; `first` for the
 * commit whose write failed (its outcome is stated), otherwise for the ones
 * refused afterwards.
 */
export function storageFailureError(f: StorageFailure, first = false, cause?: unknown): ThemisError {
  const opts = { details: { storage: f.kind }, ...(cause !== undefined ? { cause } : {}) };
  // A full disk fails the log append itself: LevelDB drops a torn record at recovery, so the commit is not applied.
  // An I/O error may strike after the record reached the log (a failed fsync): whether it survives is unknown
  // until the next start recovers the log, so say so instead of promising either outcome.
  const what = !first
    ? 'writes are refused'
    : f.kind === 'disk_full'
      ? 'the commit was not applied'
      : 'the commit was not acknowledged and its outcome is unknown until a restart (read the keys then)';
  if (f.kind === 'disk_full') {
    return new ThemisError(
      'INSUFFICIENT_STORAGE',
      `${what}: the disk holding the data directory is full (${f.reason}); reads keep working, and writes resume by themselves once space is freed`,
      {
        ...opts,
        retryAfterMs: 10_000,
      },
    );
  }
  return new ThemisError(
    'STORAGE_FAILURE',
    `${what}: storage reported an I/O error (${f.reason}); reads keep working, writes are disabled until the server is restarted`,
    opts,
  );
}
