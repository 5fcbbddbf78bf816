/**
 * Text extraction off the event loop: `Extractor.extract` runs `extractText`
 * (extract.ts) in a small pool of worker threads, so parsing a large or
 * hostile blob (16 MiB of Markdown take seconds, a DOCX near its limit more,
 * PDF.js as long as it needs) never stalls the server's other requests.
 *
 * - Workers are started on first use, one per job running at once up to
 *   `workers` (default 1), kept while jobs come and ended after `idleMs`
 *   without one. An idle worker is unref'd: it never holds the process open
 *   (a busy one does, at most until its job's timeout).
 * - Memory: each worker's V8 heap is capped (`maxMemoryMb`, default 512
 *   MiB, as `resourceLimits.maxOldGenerationSizeMb`); a job that needs more
 *   ends its worker and fails with PAYLOAD_TOO_LARGE (`details.field:
 *   'blob'`). That cap covers the JavaScript heap (strings, parse trees,
 *   documents) but not the backing stores of typed arrays, which is where
 *   PDF.js inflates streams (a 1 MB PDF whose content stream inflates to
 *   1 GiB takes 2 GiB). So while jobs run, the process's resident memory is
 *   read every 50 ms too: when it has grown by more than twice `maxMemoryMb`
 *   per running job since they started, the longest-running job is ended
 *   the same way. With one worker (the default) that is the job that grew
 *   it, unless the rest of the server grew by as much meanwhile.
 * - A job running longer than `timeoutMs` (default 30 s, counted from when
 *   its worker starts on it; waiting in the queue and starting a worker do
 *   not count) ends its worker and fails with VALIDATION_FAILED
 *   (`details.field: 'blob'`). A worker that dies otherwise fails its job
 *   the same way. Later jobs get a fresh worker.
 * - Jobs wait in a queue of at most `maxQueue` (default 64) while all workers
 *   are busy; beyond it `extract` fails with UNAVAILABLE and `retryAfterMs`.
 * - ThemisErrors thrown in the worker (unsupported type, unreadable blob,
 *   limits) reach the caller with the same code, message and details; other
 *   errors as plain Errors (a 500), their stack only in `stack`.
 * - The blob's bytes are copied once into a buffer that is transferred to
 *   the worker; the caller's Buffer stays as it was.
 *
 * Format detection stays on the calling thread: a blob of no supported type
 * is refused there without waking a worker.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { ThemisError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { contentFormat, type ExtractOptions, extractText } from './extract.js';
import { deserializeError, type ExtractJobMessage, type WorkerMessage } from './protocol.js';
import { workerUrl } from '../../kernel/worker-url.js';

export const DEFAULT_EXTRACT_TIMEOUT_MS = 30_000;
export const DEFAULT_EXTRACT_MAX_MEMORY_MB = 512;
export const DEFAULT_EXTRACT_WORKERS = 1;
export const DEFAULT_EXTRACT_MAX_QUEUE = 64;
export const DEFAULT_EXTRACT_IDLE_MS = 30_000;

/** How long a new worker may take to load its modules before its job fails. */
const START_TIMEOUT_MS = 30_000;
/** Retry advice when the queue is full. */
const QUEUE_FULL_RETRY_MS = 2_000;
/** How often the resident memory is read while jobs run. */
const MEMORY_POLL_MS = 50;
const MiB = 1024 * 1024;

export interface ExtractorOptions {
  /** Longest one extraction may run (default 30,000 ms); VALIDATION_FAILED beyond (THEMIS_CONTENT_EXTRACT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Heap limit of each worker (default 512 MiB); PAYLOAD_TOO_LARGE beyond (THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB). */
  maxMemoryMb?: number;
  /** Most workers, i.e. extractions running at once (default 1). */
  workers?: number;
  /** Most extractions waiting for a worker (default 64); UNAVAILABLE beyond. */
  maxQueue?: number;
  /** A worker without a job this long is ended (default 30,000 ms). */
  idleMs?: number;
  /** The limits extraction applies (extract.ts's defaults where unset). */
  limits?: ExtractOptions;
  /** Where timeouts, out-of-memory and crashed workers are reported. */
  log?: Logger;
}

interface Job {
  id: number;
  bytes: Uint8Array;
  mimeType: string | undefined;
  filename: string | undefined;
  resolve: (text: string) => void;
  reject: (err: Error) => void;
}

class PoolWorker {
  /** The worker has loaded its modules. */
  ready = false;
  /** Ended (or ending): its events are ignored. */
  gone = false;
  job: Job | undefined;
  /** Until ready, the start timeout; then the running job's timeout. */
  timer: NodeJS.Timeout | undefined;
  /** When the running job started (performance.now()) and the process's resident memory then; undefined when none runs. */
  started: { at: number; rss: number } | undefined;
  idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly thread: Worker) {}
}

/** A duration as the configuration states it: "30 s", "250 ms". */
function duration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function positiveInt(value: number, what: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${what} must be an integer of at least ${min}, got ${value}`);
  return value;
}

export class Extractor {
  readonly timeoutMs: number;
  readonly maxMemoryMb: number;
  readonly size: number;
  private readonly maxQueue: number;
  private readonly idleMs: number;
  private readonly limits: ExtractOptions;
  private readonly log: Logger | undefined;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Reads the resident memory while jobs run. */
  private memoryWatch: NodeJS.Timeout | undefined;

  constructor(opts: ExtractorOptions = {}) {
    this.timeoutMs = positiveInt(opts.timeoutMs ?? DEFAULT_EXTRACT_TIMEOUT_MS, 'timeoutMs', 1);
    this.maxMemoryMb = positiveInt(opts.maxMemoryMb ?? DEFAULT_EXTRACT_MAX_MEMORY_MB, 'maxMemoryMb', 1);
    this.size = positiveInt(opts.workers ?? DEFAULT_EXTRACT_WORKERS, 'workers', 1);
    this.maxQueue = positiveInt(opts.maxQueue ?? DEFAULT_EXTRACT_MAX_QUEUE, 'maxQueue', 0);
    this.idleMs = positiveInt(opts.idleMs ?? DEFAULT_EXTRACT_IDLE_MS, 'idleMs', 0);
    this.limits = { ...opts.limits };
    this.log = opts.log;
  }

  /** Workers running now (busy or idle). */
  get threads(): number {
    return this.workers.length;
  }

  /** The text of a blob, as `extractText` gives it (see the module comment for what differs). */
  extract(bytes: Uint8Array, mimeType: string | undefined, filename?: string): Promise<string> {
    if (this.closed) return Promise.reject(stopped());
    // No supported type: extractText refuses it before reading a byte, here, without a worker.
    if (contentFormat(mimeType, filename) === undefined) {
      const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return extractText(view, mimeType, filename, this.limits);
    }
    // Jobs wait only while every worker is busy (pump() starts them at once otherwise).
    if (this.queue.length >= this.maxQueue && this.workers.length >= this.size && this.workers.every((w) => w.job !== undefined)) {
      return Promise.reject(
        new ThemisError('UNAVAILABLE', `too many text extractions are waiting (${this.maxQueue}); retry shortly`, {
          retryAfterMs: QUEUE_FULL_RETRY_MS,
        }),
      );
    }
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, bytes, mimeType, filename, resolve, reject });
      this.pump();
    });
  }

  /** Ends every worker; waiting and running extractions fail with UNAVAILABLE, later ones too. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(stopped());
    const ending: Promise<unknown>[] = [];
    for (const w of [...this.workers]) {
      const job = w.job;
      ending.push(this.retire(w));
      job?.reject(stopped());
    }
    clearInterval(this.memoryWatch);
    this.memoryWatch = undefined;
    await Promise.allSettled(ending);
  }

  /** Starts waiting jobs on idle workers, starting workers up to the pool size. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let w = this.workers.find((x) => x.job === undefined);
      if (w === undefined) {
        if (this.workers.length >= this.size) return;
        try {
          w = this.spawn();
        } catch (err) {
          const job = this.queue.shift()!;
          job.reject(new Error(`the text extraction worker could not be started: ${(err as Error).message}`, { cause: err }));
          continue;
        }
      }
      this.run(w, this.queue.shift()!);
    }
  }

  private spawn(): PoolWorker {
    const thread = new Worker(workerUrl(import.meta.url, './worker.js'), {
      resourceLimits: { maxOldGenerationSizeMb: this.maxMemoryMb },
      // Not the parent's flags: some break a worker (--input-type), none is needed here.
      execArgv: [],
    });
    const w = new PoolWorker(thread);
    w.timer = setTimeout(() => this.died(w, new Error(`it did not start within ${duration(START_TIMEOUT_MS)}`)), START_TIMEOUT_MS);
    w.timer.unref();
    thread.on('message', (m: WorkerMessage) => this.onMessage(w, m));
    thread.on('messageerror', (err) => this.died(w, err));
    thread.on('error', (err) => this.died(w, err));
    thread.on('exit', (code) => this.died(w, new Error(`the worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    thread.unref();
    this.workers.push(w);
    return w;
  }

  private run(w: PoolWorker, job: Job): void {
    clearTimeout(w.idleTimer);
    w.job = job;
    // Busy, the worker keeps the process alive: an awaited extraction is not cut short by an exit.
    w.thread.ref();
    // One copy, into a buffer of its own that moves to the worker: the caller's Buffer is neither shared nor detached.
    const copy = new Uint8Array(job.bytes);
    const message: ExtractJobMessage = { id: job.id, bytes: copy, mimeType: job.mimeType, filename: job.filename, options: this.limits };
    try {
      w.thread.postMessage(message, [copy.buffer]);
    } catch (err) {
      w.job = undefined;
      w.thread.unref();
      job.reject(err as Error);
      return;
    }
    if (w.ready) this.start(w);
  }

  /** The job of a ready worker starts: its timeout runs, and the memory watch. */
  private start(w: PoolWorker): void {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => this.timedOut(w), this.timeoutMs);
    w.started = { at: performance.now(), rss: process.memoryUsage.rss() };
    if (this.memoryWatch === undefined) {
      this.memoryWatch = setInterval(() => this.watchMemory(), MEMORY_POLL_MS);
      this.memoryWatch.unref();
    }
  }

  private onMessage(w: PoolWorker, m: WorkerMessage): void {
    if (w.gone) return;
    if (m.type === 'ready') {
      w.ready = true;
      clearTimeout(w.timer);
      if (w.job !== undefined) this.start(w);
      return;
    }
    const job = w.job;
    if (job === undefined || job.id !== m.id) return;
    clearTimeout(w.timer);
    w.job = undefined;
    w.started = undefined;
    w.thread.unref();
    w.idleTimer = setTimeout(() => {
      if (w.job === undefined) void this.retire(w);
    }, this.idleMs);
    w.idleTimer.unref();
    if (m.type === 'result') job.resolve(m.text);
    else job.reject(deserializeError(m.error));
    this.pump();
  }

  private timedOut(w: PoolWorker): void {
    if (w.gone) return;
    const job = w.job;
    void this.retire(w);
    this.log?.warn('text extraction timed out; its worker was ended', { timeout_ms: this.timeoutMs, mime_type: job?.mimeType });
    job?.reject(
      new ThemisError(
        'VALIDATION_FAILED',
        `text extraction took longer than ${duration(this.timeoutMs)} (THEMIS_CONTENT_EXTRACT_TIMEOUT_MS)`,
        {
          details: { field: 'blob' },
        },
      ),
    );
    this.pump();
  }

  /** See the module comment: memory outside the heap limit (typed arrays) counts too. */
  private watchMemory(): void {
    const running = this.workers.filter((w) => w.started !== undefined);
    if (running.length === 0) {
      clearInterval(this.memoryWatch);
      this.memoryWatch = undefined;
      return;
    }
    const base = Math.min(...running.map((w) => w.started!.rss));
    if (process.memoryUsage.rss() - base <= running.length * 2 * this.maxMemoryMb * MiB) return;
    const longest = running.reduce((a, b) => (b.started!.at < a.started!.at ? b : a));
    this.outOfMemory(longest);
  }

  private outOfMemory(w: PoolWorker): void {
    const job = w.job;
    void this.retire(w);
    this.log?.warn('text extraction ran out of memory; its worker was ended', {
      max_memory_mb: this.maxMemoryMb,
      mime_type: job?.mimeType,
    });
    job?.reject(
      new ThemisError(
        'PAYLOAD_TOO_LARGE',
        `text extraction needed more than ${this.maxMemoryMb} MiB of memory (THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB)`,
        { details: { field: 'blob' } },
      ),
    );
    this.pump();
  }

  /** The worker ended by itself (or did not start): its job fails, later jobs get a fresh worker. */
  private died(w: PoolWorker, err: Error): void {
    if (w.gone) return;
    if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
      this.outOfMemory(w);
      return;
    }
    const job = w.job;
    const ready = w.ready;
    void this.retire(w);
    if (!ready) {
      this.log?.error('the text extraction worker could not be started', { error: err });
      job?.reject(new Error(`the text extraction worker could not be started: ${err.message}`, { cause: err }));
    } else {
      // An error that escaped extractText (thrown asynchronously by a library) or an exit: the blob could not be read.
      this.log?.error('a text extraction worker died', { error: err, mime_type: job?.mimeType });
      job?.reject(
        new ThemisError('VALIDATION_FAILED', 'blob could not be read: text extraction failed', { details: { field: 'blob' }, cause: err }),
      );
    }
    this.pump();
  }

  /** Takes the worker out of the pool and ends it. */
  private retire(w: PoolWorker): Promise<number> {
    w.gone = true;
    w.job = undefined;
    w.started = undefined;
    clearTimeout(w.timer);
    clearTimeout(w.idleTimer);
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    return w.thread.terminate().catch(() => 0);
  }
}

function stopped(): ThemisError {
  return new ThemisError('UNAVAILABLE', 'text extraction has stopped: the server is shutting down');
}
