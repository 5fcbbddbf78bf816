import { Worker } from 'node:worker_threads';
import { workerUrl } from '../../kernel/worker-url.js';
import type { Logger } from '../../log.js';

/** One job: the texts of many documents' indexed field, and the index's analyzer configuration (JSON). */
export interface AnalysisJob {
  id: number;
  config: string;
  texts: string[][];
}

/** The records of a job's documents back to back (document i: `ends[i - 1]` … `ends[i]`; empty: not indexed), or why not. */
export interface AnalysisReply {
  id: number;
  records?: Uint8Array;
  ends?: Int32Array;
  error?: string;
}

/** After a worker failed, how long the pool leaves the analysis to the commits before it starts one again. */
const RESTART_AFTER_MS = 10_000;

interface PoolWorker {
  thread: Worker;
  pending: Map<number, (records: (Buffer | null)[] | undefined) => void>;
}

/**
 * Worker threads that analyse fulltext fields for commits (the second core:
 * the commit's own thread is the server's main thread). A large write batch
 * hands its documents' texts to a worker before it commits
 * (`FulltextIndexes.precommit`); the records that come back are exactly the
 * bytes the commit would have encoded, and its prepare phase uses them
 * instead of analysing. Workers start at the first job and are never
 * required: any failure answers `undefined`, and the commit analyses as it
 * would without them.
 */
export class AnalysisPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private failedAt = 0;
  private closed = false;
  /** Jobs answered by a worker, and documents analysed (for tests and metrics). */
  jobs = 0;
  documents = 0;

  constructor(
    readonly size: number,
    private readonly log: Logger,
  ) {}

  /** Records of each document's texts (null: nothing indexed), in order; undefined when no worker can do it now. */
  analyze(config: string, texts: string[][]): Promise<(Buffer | null)[] | undefined> {
    const w = this.pick();
    if (!w) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      // A job in flight keeps the process alive (an idle worker does not): the commit waits for it.
      if (w.pending.size === 0) w.thread.ref();
      w.pending.set(id, resolve);
      try {
        w.thread.postMessage({ id, config, texts } satisfies AnalysisJob);
      } catch (e) {
        w.pending.delete(id);
        if (w.pending.size === 0) w.thread.unref();
        this.log.warn('fulltext analysis job could not be sent to its worker', { error: e });
        resolve(undefined);
      }
    });
  }

  /**
   * Start the workers now (at open) rather than at the first batch: they are
   * ready then, and a thread created at start runs wherever the OS puts it
   * (a thread inherits the CPU affinity of the thread that creates it, so a
   * worker started later by a pinned main thread would share its core).
   * From the TypeScript sources (the tests) a worker compiles its modules as
   * it starts, so there they start at the first batch.
   */
  warm(): void {
    if (import.meta.url.endsWith('.ts')) return;
    for (let n = this.workers.length; n < this.size && !this.closed; n++) if (!this.start()) return;
  }

  /** The worker with the fewest jobs in flight (started when there are fewer than `size`). */
  private pick(): PoolWorker | undefined {
    if (this.closed || this.size === 0 || Date.now() - this.failedAt < RESTART_AFTER_MS) return undefined;
    let best: PoolWorker | undefined;
    for (const w of this.workers) if (!best || w.pending.size < best.pending.size) best = w;
    if (best && (best.pending.size === 0 || this.workers.length >= this.size)) return best;
    return this.start() ?? best;
  }

  private start(): PoolWorker | undefined {
    let thread: Worker;
    try {
      // Not the parent's flags: some break a worker (--input-type), none is needed here.
      thread = new Worker(workerUrl(import.meta.url, './analysis-worker.js'), { execArgv: [] });
    } catch (e) {
      this.fail(undefined, e);
      return undefined;
    }
    const w: PoolWorker = { thread, pending: new Map() };
    thread.on('message', (m: AnalysisReply) => this.reply(w, m));
    thread.on('error', (e) => this.fail(w, e));
    thread.on('exit', (code) => {
      if (!this.closed) this.fail(w, new Error(`the worker exited with code ${code}`));
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    thread.unref();
    this.workers.push(w);
    return w;
  }

  private reply(w: PoolWorker, m: AnalysisReply): void {
    const done = w.pending.get(m.id);
    if (!done) return;
    w.pending.delete(m.id);
    if (w.pending.size === 0) w.thread.unref();
    if (m.error !== undefined || !m.records || !m.ends) {
      this.log.warn('fulltext analysis job failed in its worker; the commit analyses itself', { error: m.error });
      done(undefined);
      return;
    }
    const bytes = Buffer.from(m.records.buffer, m.records.byteOffset, m.records.byteLength);
    const out: (Buffer | null)[] = new Array(m.ends.length);
    let from = 0;
    for (let i = 0; i < m.ends.length; i++) {
      const to = m.ends[i]!;
      out[i] = to > from ? bytes.subarray(from, to) : null;
      from = to;
    }
    this.jobs++;
    this.documents += out.length;
    done(out);
  }

  /** A worker failed (or could not start): its jobs are answered `undefined`, and the pool rests a while. */
  private fail(w: PoolWorker | undefined, e: unknown): void {
    this.failedAt = Date.now();
    this.log.error('fulltext analysis worker failed; commits analyse themselves for a while', { error: e });
    if (!w) return;
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    for (const done of w.pending.values()) done(undefined);
    w.pending.clear();
    void w.thread.terminate().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers.splice(0);
    for (const w of ws) {
      for (const done of w.pending.values()) done(undefined);
      w.pending.clear();
    }
    await Promise.all(ws.map((w) => w.thread.terminate().catch(() => undefined)));
  }
}
