import { ThemisError } from '../errors.js';
import { type HttpResponse, uwsNative } from './uws.js';

/**
 * After an early answer (413, 401, 404, ...) to a request whose body is still
 * arriving, the rest of the body is read and thrown away before the answer is
 * sent and the connection closed, at most this many bytes in total ...
 */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
/** ... and for at most this long. */
export const LINGER_MAX_MS = 10_000;

/**
 * A body read as a stream (raw-body routes), or held before anyone asked for
 * it, stops the socket (uWS `pause()`) once this many bytes wait unread ...
 */
export const STREAM_HIGH_WATER = 1024 * 1024;
/** ... and starts it again (`resume()`) once the consumer has taken the backlog down to this. */
export const STREAM_LOW_WATER = 256 * 1024;
/** uWS's pure-JS fallback has no pause()/resume() (it throws "Not implemented"): there, nothing is paused. */
const CAN_PAUSE = uwsNative;

/**
 * A streamed request body that ended before its end: the client went away
 * (closed or reset the connection) before sending all of it. What a
 * raw-body handler's `bodyStream()` throws, so it can clean up what it
 * wrote; nobody is left to receive a reply.
 */
export class IncompleteBody extends ThemisError {
  constructor(
    readonly received: number,
    /** The declared Content-Length, -1 without one. */
    readonly declared: number,
  ) {
    super(
      'BAD_REQUEST',
      declared >= 0
        ? `the request body ended early: the client went away after ${received} of ${declared} bytes`
        : `the request body ended early: the client went away after ${received} bytes`,
      { details: { received_bytes: received } },
    );
    this.name = 'IncompleteBody';
  }
}

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
/** Handed to a consumer chunk by chunk as it arrives (`stream()`, raw-body routes), pausing the socket while it lags. */
const STREAM = 6;

/**
 * The request body of one exchange, read as it streams in through uWS's
 * onData. Four ways to consume it:
 *
 * - `collect()`: buffer it for the handler, refusing it (413) the moment it
 *   exceeds the limit. A declared Content-Length over the limit is refused
 *   before a byte is buffered.
 * - `discard()`: count and drop it (routes that take no body), with the same
 *   limit: a body is never buffered where it is not used.
 * - `stream()` then `iterator()`: hand it to the handler chunk by chunk
 *   (raw-body routes, `req.bodyStream()`), with the same limit. When more
 *   than STREAM_HIGH_WATER bytes wait for the handler, the socket is paused
 *   (uWS `pause()`: the kernel buffers fill and TCP flow control stops the
 *   client) until it has taken them down to STREAM_LOW_WATER. A client gone
 *   before the end makes the iteration throw `IncompleteBody`.
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
 * limit, until `collect()`, `discard()` or `stream()`, pausing the socket
 * past STREAM_HIGH_WATER). uWS
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
  /** Bytes in `chunks`. */
  private held = 0;
  /** Chunks were dropped while IDLE (over the limit then): the body can no longer be streamed whole. */
  private dropped = false;
  /** The socket is paused (uWS `pause()`). */
  private paused = false;
  /** The client went away (`cancel()`): the response object must not be touched. */
  private gone = false;
  /** STREAM: what the consumer's next read throws (413, IncompleteBody). */
  private failure: unknown = undefined;
  /** STREAM: a consumer waits for the next chunk. */
  private arrival: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private iterating = false;
  private resolveCollect: ((b: Buffer) => void) | undefined;
  private resolveDiscard: (() => void) | undefined;
  private rejectRead: ((e: unknown) => void) | undefined;
  private onDrained: ((r: DrainResult) => void) | undefined;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: HttpResponse,
    /** Content-Length as sent ('' when absent). */
    private readonly contentLength: string,
    private limit: number,
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

  /**
   * Hand the body to a consumer as it arrives, up to `limit` bytes (a
   * raw-body route's own limit); read it through `iterator()`. Throws 413 at
   * once for a declared Content-Length beyond `limit` (the caller's error
   * path drains).
   */
  stream(limit: number): void {
    this.limit = limit;
    this.attach();
    if (this.declared > limit || this.received > limit) {
      this.refuse();
      throw tooLarge(limit);
    }
    if (this.dropped) throw new Error('the request body was dropped while held (the route matched after the uWS handler returned)');
    // What was held while IDLE is the start of the stream.
    this.mode = STREAM;
    // Gone before the handler started reading: what was held is dropped, so nothing can look complete.
    if (this.gone) this.failure ??= new IncompleteBody(this.received, this.declared);
  }

  /** The consumer's side of `stream()`: the chunks in order, once. `return()` (a `break` out of `for await`) drops the rest. */
  iterator(): AsyncIterableIterator<Buffer> {
    if (this.mode !== STREAM && this.failure === undefined) throw new TypeError('the request body is not being streamed');
    if (this.iterating) throw new TypeError('the request body stream can be read once');
    this.iterating = true;
    const it: AsyncIterableIterator<Buffer> = {
      next: () => this.nextChunk(),
      return: () => {
        this.stopStream();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private nextChunk(): Promise<IteratorResult<Buffer>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.chunks.length > 0) {
      const c = this.chunks.shift()!;
      this.held -= c.length;
      if (this.paused && this.held <= STREAM_LOW_WATER) this.resume();
      return Promise.resolve({ done: false, value: c });
    }
    if (this.ended || this.mode !== STREAM) return Promise.resolve({ done: true, value: undefined });
    this.arrival ??= new Promise<void>((r) => (this.wake = r));
    return this.arrival.then(() => this.nextChunk());
  }

  /** The consumer stopped reading: drop the rest (the reply path drains it before answering). */
  private stopStream(): void {
    if (this.mode === STREAM) this.mode = DONE;
    this.chunks = [];
    this.held = 0;
    this.resume();
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    if (w === undefined) return;
    this.wake = undefined;
    this.arrival = undefined;
    w();
  }

  private refuse(): void {
    this.mode = REFUSED;
    this.chunks = [];
    this.held = 0;
  }

  private pauseIfFull(): void {
    if (this.paused || !CAN_PAUSE || this.held < STREAM_HIGH_WATER) return;
    this.paused = true;
    this.res.pause();
  }

  /**
   * Read the socket again, unless the body has all arrived: uWS's resume()
   * also arms its 10 s idle timeout, which nothing would clear while the
   * handler works on a complete body (a long commit would be cut off).
   * `release()` resumes such a socket just before the response is written.
   */
  private resume(): void {
    if (!this.paused || this.ended) return;
    this.release();
  }

  /** The response is about to be written: a paused socket must read again (the connection's next request). */
  release(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.gone) return;
    try {
      this.res.resume();
    } catch {
      // The response was ended or the connection closed meanwhile: nothing left to resume.
    }
  }

  private start(mode: number): Promise<Buffer | void> {
    this.attach();
    this.resume();
    if (this.declared > this.limit || this.received > this.limit) {
      // Refused without reading (or with what was held while IDLE); the caller's error path drains what arrives.
      this.refuse();
      return Promise.reject(tooLarge(this.limit));
    }
    if (mode === DISCARD) {
      this.chunks = [];
      this.held = 0;
    }
    if (this.ended) {
      // Everything arrived while IDLE.
      this.mode = DONE;
      const held = this.chunks;
      this.chunks = [];
      this.held = 0;
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
    // A raw-body handler that answered before reading its body to the end reads no more of it.
    if (this.mode === STREAM && !this.ended)
      this.failure ??= new ThemisError('BAD_REQUEST', 'the request was answered before its body was read');
    this.chunks = [];
    this.held = 0;
    this.release();
    this.wakeUp();
    if (this.ended) return done('complete');
    const remaining = this.declared >= 0 ? this.declared - this.received : 0;
    if (this.received + remaining > LINGER_MAX_BYTES) return done('bounded');
    this.mode = DRAIN;
    this.onDrained = done;
    this.drainTimer = setTimeout(() => this.finishDrain('bounded'), LINGER_MAX_MS);
  }

  /** The client went away: stop waiting; a consumer still reading gets `IncompleteBody`. */
  cancel(): void {
    this.gone = true;
    this.paused = false;
    if (this.mode === STREAM) {
      // A body that arrived whole stays readable (the handler may finish its work; its reply goes nowhere);
      // one cut short must never look complete.
      if (!this.ended) {
        this.failure ??= new IncompleteBody(this.received, this.declared);
        this.chunks = [];
        this.held = 0;
      }
    } else {
      // A collect() or discard() still waiting: settle it (nobody will answer; the chain stops here).
      if (!this.ended && (this.mode === COLLECT || this.mode === DISCARD))
        this.rejectRead?.(new IncompleteBody(this.received, this.declared));
      this.mode = DONE;
      this.chunks = [];
      this.held = 0;
    }
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.onDrained = undefined;
    this.wakeUp();
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
        this.held = 0;
        this.rejectRead?.(e);
        if (this.failure === undefined) this.failure = e;
        this.wakeUp();
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
          this.refuse();
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
        if (this.received > this.limit) {
          if (this.held > 0 || ab.byteLength > 0) this.dropped = true;
          this.chunks = [];
          this.held = 0;
        } else if (ab.byteLength > 0) {
          this.chunks.push(Buffer.copyBytesFrom(new Uint8Array(ab)));
          this.held += ab.byteLength;
          if (!isLast) this.pauseIfFull();
        }
        return;
      case STREAM:
        if (this.received > this.limit) {
          this.refuse();
          this.failure ??= tooLarge(this.limit);
        } else if (ab.byteLength > 0) {
          this.chunks.push(Buffer.copyBytesFrom(new Uint8Array(ab)));
          this.held += ab.byteLength;
          if (!isLast) this.pauseIfFull();
        }
        this.wakeUp();
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
