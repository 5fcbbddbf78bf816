import { ThemisError } from '../errors.js';
import type { HttpResponse } from './uws.js';

/**
 * After an early answer (413, 401, 404, ...) to a request whose body is still
 * arriving, the rest of the body is read and thrown away before the answer is
 * sent and the connection closed, at most this many bytes in total ...
 */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
/** ... and for at most this long. */
export const LINGER_MAX_MS = 10_000;

/** What `drain` ended with: the whole body was read (`complete`), or a bound was hit. */
export type DrainResult = 'complete' | 'bounded';

/** Attached before anyone asked (a link before the body link went asynchronous): hold what arrives, up to the limit. */
const IDLE = 0;
const COLLECT = 1;
const DISCARD = 2;
/** Refused before reading: count what arrives until drain() is called. */
const REFUSED = 3;
const DRAIN = 4;
const DONE = 5;

/**
 * The request body of one exchange, read as it streams in through uWS's
 * onData. Three ways to consume it:
 *
 * - `collect()`: buffer it for the handler, refusing it (413) the moment it
 *   exceeds the limit. A declared Content-Length over the limit is refused
 *   before a byte is buffered.
 * - `discard()`: count and drop it (routes that take no body), with the same
 *   limit: a body is never buffered where it is not used.
 * - `drain()`: after an early error, drop the rest within LINGER_MAX_BYTES /
 *   LINGER_MAX_MS, then let the caller answer and close.
 *
 * Why drain before answering: closing a socket that still has unread data
 * makes the kernel send a reset, and a client still sending its body (Node's
 * fetch, for one) then loses the answer that was already on its way
 * (RFC 9112 §9.6; nginx's "lingering close"). uWS invalidates the response
 * object once it has been ended, so the server cannot answer first and close
 * later: it reads first, then answers and closes with nothing left unread.
 *
 * onData must be registered synchronously inside the uWS request handler;
 * every method that needs the data registers it at its first call, and when
 * the request's middleware chain goes asynchronous before any did, the
 * adapter creates the reader then (IDLE: it holds what arrives, within the
 * limit, until `collect()` or `discard()`). uWS
 * reuses the ArrayBuffer it passes to onData, so kept chunks are copied.
 * Exceptions never escape the onData callback (one there would take the
 * process down): they reject the pending promise instead.
 */
export class RequestBody {
  /** Bytes seen so far (kept or not). */
  received = 0;
  /** The last chunk has arrived. */
  ended = false;
  private mode = IDLE;
  private attached = false;
  private chunks: Buffer[] = [];
  private resolveCollect: ((b: Buffer) => void) | undefined;
  private resolveDiscard: (() => void) | undefined;
  private rejectRead: ((e: unknown) => void) | undefined;
  private onDrained: ((r: DrainResult) => void) | undefined;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: HttpResponse,
    /** Content-Length as sent ('' when absent). */
    private readonly contentLength: string,
    private readonly limit: number,
  ) {}

  /** The declared Content-Length, or -1 when absent or not a number. */
  get declared(): number {
    if (this.contentLength === '') return -1;
    const n = Number(this.contentLength);
    return Number.isFinite(n) && n >= 0 ? n : -1;
  }

  /** Start reading now, holding what arrives (within the limit) until `collect()` or `discard()`. */
  hold(): void {
    this.attach();
  }

  collect(): Promise<Buffer> {
    return this.start(COLLECT) as Promise<Buffer>;
  }

  discard(): Promise<void> {
    return this.start(DISCARD) as Promise<void>;
  }

  private start(mode: number): Promise<Buffer | void> {
    this.attach();
    if (this.declared > this.limit || this.received > this.limit) {
      // Refused without reading (or with what was held while IDLE); the caller's error path drains what arrives.
      this.mode = REFUSED;
      this.chunks = [];
      return Promise.reject(tooLarge(this.limit));
    }
    if (mode === DISCARD) this.chunks = [];
    if (this.ended) {
      // Everything arrived while IDLE.
      this.mode = DONE;
      const held = this.chunks;
      this.chunks = [];
      return Promise.resolve(mode === COLLECT ? (held.length === 1 ? held[0]! : Buffer.concat(held)) : undefined);
    }
    this.mode = mode;
    return new Promise<Buffer | void>((resolve, reject) => {
      if (mode === COLLECT) this.resolveCollect = resolve;
      else this.resolveDiscard = resolve as () => void;
      this.rejectRead = reject;
    });
  }

  /**
   * Drop the rest of the body and call `done` once it has all arrived or a
   * bound is hit (bytes, time). `onAbort` of the exchange must call `cancel`.
   */
  drain(done: (r: DrainResult) => void): void {
    this.attach();
    this.chunks = [];
    if (this.ended) return done('complete');
    const remaining = this.declared >= 0 ? this.declared - this.received : 0;
    if (this.received + remaining > LINGER_MAX_BYTES) return done('bounded');
    this.mode = DRAIN;
    this.onDrained = done;
    this.drainTimer = setTimeout(() => this.finishDrain('bounded'), LINGER_MAX_MS);
  }

  /** The client went away: stop waiting. */
  cancel(): void {
    this.mode = DONE;
    this.chunks = [];
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.onDrained = undefined;
  }

  private finishDrain(r: DrainResult): void {
    const done = this.onDrained;
    this.onDrained = undefined;
    this.mode = DONE;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    done?.(r);
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.res.onData((ab, isLast) => {
      try {
        this.onChunk(ab, isLast);
      } catch (e) {
        this.mode = DONE;
        this.chunks = [];
        this.rejectRead?.(e);
      }
    });
  }

  private onChunk(ab: ArrayBuffer, isLast: boolean): void {
    this.received += ab.byteLength;
    if (isLast) this.ended = true;
    switch (this.mode) {
      case COLLECT:
      case DISCARD: {
        if (this.received > this.limit) {
          this.mode = REFUSED;
          this.chunks = [];
          this.rejectRead!(tooLarge(this.limit));
          return;
        }
        if (this.mode === COLLECT && ab.byteLength > 0) this.chunks.push(Buffer.copyBytesFrom(new Uint8Array(ab)));
        if (!isLast) return;
        this.mode = DONE;
        if (this.resolveCollect) {
          const chunks = this.chunks;
          this.chunks = [];
          this.resolveCollect(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.received));
        } else {
          this.resolveDiscard!();
        }
        return;
      }
      case IDLE:
        if (this.received > this.limit) this.chunks = [];
        else if (ab.byteLength > 0) this.chunks.push(Buffer.copyBytesFrom(new Uint8Array(ab)));
        return;
      case DRAIN:
        if (isLast) this.finishDrain('complete');
        else if (this.received > LINGER_MAX_BYTES) this.finishDrain('bounded');
        return;
      default:
        // REFUSED (drain() follows) or DONE: counted above, dropped.
        return;
    }
  }
}

function tooLarge(limit: number): ThemisError {
  return new ThemisError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`, { details: { limit_bytes: limit } });
}
