import type { CommitInfo } from '../txn/index.js';
import type { ChangeLog, RawChangeEntry, ReadResult } from '../cdc/index.js';

/** Where a change stream delivers entries (an SSE response, a WebSocket). */
export interface ChangeSink {
  /** Deliver one entry; false when the transport is backpressured: the stream pauses until `resume()`. */
  send(e: RawChangeEntry): boolean;
  /** The client cannot keep up (or the log moved past it): tell it, then close. */
  fail(reason: 'slow_consumer' | 'gone', message: string, lastSeq: number): void;
  /** Close normally. */
  end(): void;
  readonly closed: boolean;
}

export interface ChangeStreamOptions {
  /** Exclusive: the first entry delivered is the first one after it. */
  fromSeq: number;
  keyPrefix: string;
  /** Only entries whose key it accepts are delivered (a table-scoped reader: `ChangeFeed.keyFilter`). */
  keep?: (key: string) => boolean;
  /** false: end once caught up with the log. */
  keepAlive: boolean;
  /** A backpressured client that falls this many entries behind is closed with `slow_consumer`. */
  maxLagEntries?: number;
  /** A client backpressured for this long is closed with `slow_consumer`. */
  maxBlockedMs?: number;
  /** Entries read from storage per step while catching up. */
  batchSize?: number;
}

/**
 * Follows the change log for one client: catches up from storage in
 * batches, then delivers live commits straight from the commit notification
 * (no storage read, so an event leaves within the same tick as its commit).
 * It only reads what the transport can take: when the sink reports
 * backpressure the stream pauses, so a slow client costs at most one batch
 * of memory; if it stays blocked too long or falls too far behind, it is
 * closed with `slow_consumer` and resumes later by sequence number.
 */
export class ChangeStream {
  private cursor: number;
  private pumping = false;
  private again = false;
  private blockedSince: number | undefined;
  private unsubscribe: (() => void) | undefined;
  private blockTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly maxLag: number;
  private readonly maxBlockedMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly log: Pick<ChangeLog, 'read' | 'subscribe' | 'lastSeq'>,
    private readonly sink: ChangeSink,
    private readonly opts: ChangeStreamOptions,
    /** Called once when the stream stops (for whoever keeps a registry of open streams). */
    private readonly onStop?: () => void,
  ) {
    this.cursor = opts.fromSeq;
    this.maxLag = opts.maxLagEntries ?? 10_000;
    this.maxBlockedMs = opts.maxBlockedMs ?? 10_000;
    this.batchSize = opts.batchSize ?? 256;
  }

  /** Last sequence number delivered or skipped by the filter. */
  get position(): number {
    return this.cursor;
  }

  start(): void {
    this.unsubscribe = this.log.subscribe((info) => this.onCommit(info));
    void this.pump();
  }

  /** The transport drained: continue. */
  resume(): void {
    this.blockedSince = undefined;
    if (this.blockTimer) clearTimeout(this.blockTimer);
    this.blockTimer = undefined;
    void this.pump();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    if (this.blockTimer) clearTimeout(this.blockTimer);
    this.onStop?.();
  }

  /** Stop and close the client's stream normally (it resumes by sequence number): the log it follows is closing. */
  end(): void {
    this.stop();
    if (!this.sink.closed) this.sink.end();
  }

  private onCommit(info: CommitInfo): void {
    if (this.stopped || this.sink.closed) return this.stop();
    const first = info.changes[0]!.seq;
    // Live fast path: caught up, not blocked, nothing being read: deliver from memory.
    if (!this.pumping && this.blockedSince === undefined && first === this.cursor + 1) {
      for (const c of info.changes) {
        this.cursor = c.seq;
        if (!c.key.startsWith(this.opts.keyPrefix) || (this.opts.keep !== undefined && !this.opts.keep(c.key))) continue;
        const ok = this.sink.send({
          seq: c.seq,
          ts: info.ts,
          op: c.op,
          key: c.key,
          table: c.table,
          value: c.value,
          prev: c.prev,
          txn_id: info.txnId,
        });
        if (!ok) return this.blocked();
      }
      return;
    }
    if (this.blockedSince !== undefined) {
      if (this.log.lastSeq - this.cursor > this.maxLag) this.slow();
      return;
    }
    void this.pump();
  }

  /** Read from storage until caught up, paused by backpressure. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (!this.stopped && !this.sink.closed && this.blockedSince === undefined && this.cursor < this.log.lastSeq) {
          const before = this.cursor;
          let r: ReadResult;
          try {
            r = await this.log.read({
              fromSeq: this.cursor,
              limit: this.batchSize,
              keyPrefix: this.opts.keyPrefix,
              ...(this.opts.keep ? { keep: this.opts.keep } : {}),
            });
          } catch (e) {
            const code = (e as { code?: string }).code;
            if (code === 'GONE') return this.failAndStop('gone', (e as Error).message);
            throw e;
          }
          for (const e of r.entries) {
            if (this.stopped || this.sink.closed) return;
            this.cursor = e.seq;
            if (!this.sink.send(e)) {
              this.blocked();
              break;
            }
          }
          if (this.blockedSince === undefined) this.cursor = Math.max(this.cursor, r.nextSeq);
          if (r.entries.length === 0 && r.nextSeq <= before) break; // nothing readable yet (never spin)
        }
      } while (this.again && !this.stopped);
    } finally {
      this.pumping = false;
    }
    if (!this.opts.keepAlive && !this.stopped && this.blockedSince === undefined && this.cursor >= this.log.lastSeq) {
      this.stop();
      this.sink.end();
    }
  }

  private blocked(): void {
    if (this.blockedSince !== undefined) return;
    this.blockedSince = Date.now();
    this.blockTimer = setTimeout(() => this.slow(), this.maxBlockedMs);
    this.blockTimer.unref();
  }

  private slow(): void {
    this.failAndStop(
      'slow_consumer',
      `the client did not keep up (blocked or more than ${this.maxLag} entries behind); reconnect and resume after seq ${this.cursor}`,
    );
  }

  private failAndStop(reason: 'slow_consumer' | 'gone', message: string): void {
    if (this.stopped) return;
    this.stop();
    if (!this.sink.closed) this.sink.fail(reason, message, this.cursor);
  }
}
