import { assertRead, canReadKey, tableOf, type TableAccess } from '../access.js';
import type { Module } from '../kernel/index.js';
import { ChangeStream, type ChangeSink, type ChangeStreamOptions } from './change-stream.js';
import { toClientEntry, type ChangeEntry, type ChangeLog, type ChangeLogStats } from '../cdc/index.js';

/**
 * The change feed: long-polls, SSE and WebSocket streams over the change
 * log. The log itself is kernel (it numbers commits, and its participant
 * writes every commit's entries); this is what clients read from it.
 */
export class ChangeFeed {
  /** Open change streams: ended when the module closes (storage reopened or shut down). */
  private readonly streams = new Set<ChangeStream>();

  constructor(
    private readonly log: ChangeLog,
    private readonly maxBlockedMs: number,
  ) {}

  /**
   * The entry filter of a table-scoped reader (undefined: it reads every
   * table): entries of tables it may not read are left out. A `keyPrefix`
   * that names such a table (`orders:`) is 403 rather than an empty feed.
   */
  keyFilter(access: TableAccess, keyPrefix: string): ((key: string) => boolean) | undefined {
    if (access.readsAll) return undefined;
    if (keyPrefix.includes(':')) assertRead(access, tableOf(keyPrefix));
    return (key) => canReadKey(access, key);
  }

  /** GET /changefeed: entries after fromSeq, waiting up to longPollMs for a matching one when there is none. */
  async read(o: {
    fromSeq: number;
    limit: number;
    keyPrefix: string;
    longPollMs: number;
    /** Entries whose key it refuses are left out (`keyFilter`). */
    keep?: ((key: string) => boolean) | undefined;
    onCancel?: (cancel: () => void) => void;
  }): Promise<{ from_seq: number; next_seq: number; last_seq: number; entries: ChangeEntry[] }> {
    const log = this.log;
    const deadline = Date.now() + o.longPollMs;
    let from = o.fromSeq;
    for (;;) {
      const r = await log.read({ fromSeq: from, limit: o.limit, keyPrefix: o.keyPrefix, ...(o.keep ? { keep: o.keep } : {}) });
      const left = deadline - Date.now();
      if (r.entries.length > 0 || left <= 0 || log.isDraining) {
        return { from_seq: o.fromSeq, next_seq: r.nextSeq, last_seq: log.lastSeq, entries: r.entries.map(toClientEntry) };
      }
      from = r.nextSeq;
      await log.waitFor(from, o.keyPrefix, left, o.onCancel);
    }
  }

  /** GONE (410) if entries after `fromSeq` are no longer retained; otherwise nothing. */
  async checkRange(fromSeq: number): Promise<void> {
    await this.log.read({ fromSeq, limit: 1, maxScan: 1 });
  }

  /** A stream following the change log into `sink` (SSE, WebSocket); call start(). */
  openStream(sink: ChangeSink, opts: ChangeStreamOptions): ChangeStream {
    const s = new ChangeStream(this.log, sink, { maxBlockedMs: this.maxBlockedMs, ...opts }, () => this.streams.delete(s));
    this.streams.add(s);
    return s;
  }

  stats(): ChangeLogStats {
    return this.log.stats();
  }

  close(): void {
    for (const s of [...this.streams]) s.end();
  }
}

export const Changefeed: Module<ChangeFeed> = {
  name: 'changefeed',
  open: (ctx) => new ChangeFeed(ctx.changeLog, ctx.config.cdcStreamMaxBlockedMs),
  close: (feed) => feed.close(),
  gauges: [
    { name: 'themis_cdc_last_seq', help: 'Sequence number of the newest change-log entry', read: (f) => f.stats().last_seq },
    { name: 'themis_cdc_first_seq', help: 'Sequence number of the oldest retained change-log entry', read: (f) => f.stats().first_seq },
    { name: 'themis_cdc_entries', help: 'Change-log entries retained', read: (f) => f.stats().entries },
    { name: 'themis_cdc_subscribers', help: 'Open change-feed streams (SSE and WebSocket)', read: (f) => f.stats().subscribers },
    { name: 'themis_cdc_long_poll_waiters', help: 'Long-poll requests waiting for a change', read: (f) => f.stats().waiters },
  ],
};
