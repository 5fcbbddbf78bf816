/**
 * The messages between the Extractor (main thread) and its extraction
 * workers, and how errors cross the thread boundary: a ThemisError keeps its
 * code, message, details and retryAfterMs; any other error becomes a plain
 * Error with its name and the first line of its message (its stack goes into
 * the Error's `stack` for the log, never into a message).
 */
import { ErrorCodes, type ErrorCode, ThemisError } from '../../errors.js';
import type { ExtractOptions } from './extract.js';
import { shortReason } from './reason.js';

/** Main thread to worker: one extraction. `bytes` is transferred (its buffer belongs to the worker afterwards). */
export interface ExtractJobMessage {
  id: number;
  bytes: Uint8Array;
  mimeType: string | undefined;
  filename: string | undefined;
  options: ExtractOptions;
}

/** Worker to main thread: the worker has loaded its modules and takes jobs. */
export interface ReadyMessage {
  type: 'ready';
}
export interface ResultMessage {
  type: 'result';
  id: number;
  text: string;
}
export interface FailureMessage {
  type: 'failure';
  id: number;
  error: SerializedError;
}
export type WorkerMessage = ReadyMessage | ResultMessage | FailureMessage;

export type SerializedError =
  | {
      kind: 'themis';
      code: string;
      message: string;
      details: Record<string, unknown> | undefined;
      retryAfterMs: number | undefined;
    }
  | { kind: 'other'; name: string; message: string; stack: string | undefined };

/** An error as it can be posted to the other thread (details must be plain data, as they are in the JSON error body). */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof ThemisError) {
    return { kind: 'themis', code: err.code, message: err.message, details: err.details, retryAfterMs: err.retryAfterMs };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'other', name: e.name, message: e.message, stack: e.stack };
}

/** The error a worker reported, rebuilt on this thread. */
export function deserializeError(s: SerializedError): Error {
  if (s.kind === 'themis') {
    const code: ErrorCode = Object.hasOwn(ErrorCodes, s.code) ? (s.code as ErrorCode) : 'INTERNAL';
    const opts: { details?: Record<string, unknown>; retryAfterMs?: number } = {};
    if (s.details !== undefined) opts.details = s.details;
    if (s.retryAfterMs !== undefined) opts.retryAfterMs = s.retryAfterMs;
    return new ThemisError(code, s.message, opts);
  }
  const err = new Error(`text extraction failed: ${s.name}: ${shortReason(s.message)}`);
  if (s.stack !== undefined) err.stack = `${err.stack ?? err.message}\n    --- in the extraction worker ---\n${s.stack}`;
  return err;
}
