import { ThemisError } from '../errors.js';
import type { Retention } from '../config.js';
import type { Logger } from '../log.js';
import { type Engine, type Snapshot, WriteBatch, keyspace, seqCodec } from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';

const cdcKs = keyspace('cdc');
const metaKs = keyspace('meta');
const FIRST_SEQ_KEY = Buffer.from('cdc_first_seq');

/** A change-log entry as clients receive it (GET /changefeed). */
export interface ChangeEntry {
  seq: number;
  ts: string;
  op: 'put' | 'delete';
  key: string;
  table: string;
  /** The new document (null for delete). */
  value: unknown;
  /** The previous document (null if there was none). */
  prev: unknown;
  txn_id: string;
}

/** A stored entry: documents kept as their JSON text (streams send the text as is). */
export interface RawChangeEntry {
  seq: number;
  ts: string;
  op: 'put' | 'delete';
  key: string;
  table: string;
  value: string | null;
  prev: string | null;
  txn_id: string;
}

export interface ReadOptions {
  /** Exclusive. */
  fromSeq: number;
  limit: number;
  keyPrefix?: string;
  /** Entries whose key it refuses are skipped, as those outside `keyPrefix` are (a table-scoped reader's filter). */
  keep?: (key: string) => boolean;
  /** Upper bound on entries examined per call when a prefix filters most of them out. */
  maxScan?: number;
}

export interface ReadResult {
  entries: RawChangeEntry[];
  /** The sequence number to pass as from_seq next time (the last one examined). */
  nextSeq: number;
}

export interface ChangeLogStats {
  first_seq: number;
  last_seq: number;
  entries: number;
  subscribers: number;
  waiters: number;
  retention: string;
}

interface Waiter {
  fromSeq: number;
  keyPrefix: string;
  resolve: () => void;
}

export type Subscriber = (info: CommitInfo) => void;

/**
 * The change log: one entry per committed mutation, keyed by its fixed-width
 * sequence number, written by its commit participant in the same batch as the data
 * (so the log has no gaps and no entries of uncommitted transactions, across
 * crashes). After a batch is durable, waiters (long-poll) and subscribers
 * (SSE, WebSocket) are notified in process; nothing polls.
 */
export class ChangeLog {
  private lastSeqRef = 0;
  private firstSeqRef = 1;
  private readonly waiters = new Set<Waiter>();
  private readonly subscribers = new Set<Subscriber>();
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;
  private closed = false;
  private draining = false;

  constructor(
    private readonly engine: Engine,
    private readonly retention: Retention,
    private readonly log: Logger,
  ) {}

  /** Recover first/last sequence numbers from storage; start retention. */
  async open(pruneEveryMs = 5000): Promise<void> {
    // The newest entry is the last sequence number. Retention never removes
    // entries above what it records as first_seq - 1, so with every entry
    // pruned the last sequence number is first_seq - 1. (No per-commit
    // metadata write is needed: it would be one more operation in every batch.)
    const b = await this.bounds();
    this.lastSeqRef = b.lastSeq;
    this.firstSeqRef = b.firstSeq;
    if (this.retention.kind !== 'forever') {
      this.pruneTimer = setInterval(() => void this.prune(), pruneEveryMs);
      this.pruneTimer.unref();
    }
  }

  /**
   * The retained range as stored (in `snapshot`, or now): what `open` recovers, and
   * what a server opening a copy of that snapshot (an online backup) would recover.
   */
  async bounds(snapshot?: Snapshot): Promise<{ firstSeq: number; lastSeq: number }> {
    let first: number | undefined;
    let last: number | undefined;
    const at = snapshot ? { snapshot } : {};
    for await (const [k] of this.engine.scan(cdcKs, { limit: 1, ...at })) first = seqCodec.decode(k);
    for await (const [k] of this.engine.scan(cdcKs, { limit: 1, reverse: true, ...at })) last = seqCodec.decode(k);
    const stored = this.engine.getSync(metaKs, FIRST_SEQ_KEY, snapshot);
    const storedFirst = stored === undefined ? 1 : Number(stored.toString());
    const lastSeq = last ?? storedFirst - 1;
    return { firstSeq: first ?? lastSeq + 1, lastSeq };
  }

  get lastSeq(): number {
    return this.lastSeqRef;
  }

  get firstSeq(): number {
    return this.firstSeqRef;
  }

  // ------------------------------------------------------------------ write path

  /** Commit participation: the entries join the commit's batch; once durable, whoever waits for them wakes. */
  readonly participant: CommitParticipant = {
    name: 'changelog',
    write: (info, _plan, batch) => this.write(info, batch),
    applied: (info) => this.applied(info),
  };

  private write(info: CommitInfo, batch: WriteBatch): void {
    for (const c of info.changes) {
      const entry = JSON.stringify({ ts: info.ts, op: c.op, key: c.key, table: c.table, value: c.value, prev: c.prev, txn_id: info.txnId });
      batch.put(cdcKs, seqCodec.encode(c.seq), Buffer.from(entry, 'utf8'));
    }
  }

  private applied(info: CommitInfo): void {
    const last = info.changes[info.changes.length - 1]!.seq;
    if (last > this.lastSeqRef) this.lastSeqRef = last;
    for (const w of this.waiters) {
      if (info.changes.some((c) => c.seq > w.fromSeq && c.key.startsWith(w.keyPrefix))) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    for (const s of this.subscribers) s(info);
  }

  // ------------------------------------------------------------------ reading

  /** The entries of `table` after `fromSeq`, in order (GONE when no longer retained): what a derived index replays after its checkpoint. */
  async *replay(table: string, fromSeq: number): AsyncGenerator<RawChangeEntry> {
    let from = fromSeq;
    while (from < this.lastSeq) {
      const r = await this.read({ fromSeq: from, limit: 1000, keyPrefix: `${table}:`, maxScan: 50_000 });
      yield* r.entries;
      if (r.nextSeq <= from) return;
      from = r.nextSeq;
    }
  }

  /** Entries after `fromSeq`; GONE (410) if some of them were removed by retention. */
  async read(o: ReadOptions): Promise<ReadResult> {
    this.assertRetained(o.fromSeq);
    const prefix = o.keyPrefix ?? '';
    const maxScan = o.maxScan ?? 10_000;
    const entries: RawChangeEntry[] = [];
    let nextSeq = o.fromSeq;
    let scanned = 0;
    for await (const [k, v] of this.engine.scan(cdcKs, { gt: seqCodec.encode(o.fromSeq) })) {
      const seq = seqCodec.decode(k);
      if (seq > this.lastSeqRef) break; // only what listeners were told about
      const e = JSON.parse(v.toString('utf8')) as Omit<RawChangeEntry, 'seq'>;
      nextSeq = seq;
      if (e.key.startsWith(prefix) && (o.keep === undefined || o.keep(e.key))) entries.push({ seq, ...e });
      if (entries.length >= o.limit || ++scanned >= maxScan) break;
    }
    // Retention may have removed entries between the check and the scan.
    this.assertRetained(o.fromSeq);
    return { entries, nextSeq };
  }

  private assertRetained(fromSeq: number): void {
    if (fromSeq + 1 < this.firstSeqRef) {
      throw new ThemisError(
        'GONE',
        `change log entries after seq ${fromSeq} are no longer retained (first retained seq is ${this.firstSeqRef}); take a new snapshot and resume from the current last_seq`,
        {
          details: { first_seq: this.firstSeqRef, last_seq: this.lastSeqRef },
        },
      );
    }
  }

  /**
   * Resolve when an entry after `fromSeq` whose key starts with `keyPrefix`
   * is durable, or after `timeoutMs`, or when `cancel` is called. Returns
   * the cancel function through `register`.
   */
  waitFor(fromSeq: number, keyPrefix: string, timeoutMs: number, register?: (cancel: () => void) => void): Promise<void> {
    if (this.closed || this.draining || this.lastSeqRef > fromSeq) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = {
        fromSeq,
        keyPrefix,
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.add(w);
      timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve();
      }, timeoutMs);
      register?.(() => {
        this.waiters.delete(w);
        w.resolve();
      });
    });
  }

  /** Called after every durable commit (streams). Returns the unsubscribe function. */
  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  stats(): ChangeLogStats {
    return {
      first_seq: this.firstSeqRef,
      last_seq: this.lastSeqRef,
      entries: Math.max(0, this.lastSeqRef - this.firstSeqRef + 1),
      subscribers: this.subscribers.size,
      waiters: this.waiters.size,
      retention: describeRetention(this.retention),
    };
  }

  // ------------------------------------------------------------------ retention

  /** Remove entries outside the retention window (bounded batches). */
  prune(now = Date.now()): Promise<void> {
    return (this.pruning ??= this._prune(now).finally(() => (this.pruning = undefined)));
  }

  private async _prune(now: number): Promise<void> {
    if (this.closed || !this.engine.isOpen) return;
    const r = this.retention;
    let cutoff = this.firstSeqRef - 1; // remove seq <= cutoff
    if (r.kind === 'entries') {
      cutoff = Math.max(cutoff, this.lastSeqRef - r.entries);
    } else if (r.kind === 'age') {
      const oldest = new Date(now - r.ms).toISOString();
      for await (const [k, v] of this.engine.scan(cdcKs, { gt: seqCodec.encode(cutoff < 0 ? 0 : cutoff) })) {
        const seq = seqCodec.decode(k);
        if (seq > this.lastSeqRef) break;
        const ts = (JSON.parse(v.toString('utf8')) as { ts: string }).ts;
        if (ts >= oldest) break;
        cutoff = seq;
      }
    } else {
      return;
    }
    while (this.firstSeqRef <= cutoff && !this.closed && this.engine.isOpen) {
      const upto = Math.min(cutoff, this.firstSeqRef + 9_999);
      const b = new WriteBatch();
      for (let s = this.firstSeqRef; s <= upto; s++) b.del(cdcKs, seqCodec.encode(s));
      b.put(metaKs, FIRST_SEQ_KEY, Buffer.from(String(upto + 1)));
      // Readers are checked against firstSeq before and after their scan, so moving it first is safe.
      this.firstSeqRef = upto + 1;
      await this.engine.commit(b);
    }
  }

  /** Shutdown is starting: wake long-poll waiters now (they answer with what they have) and let no new ones wait. */
  releaseWaiters(): void {
    this.draining = true;
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
  }

  get isDraining(): boolean {
    return this.draining || this.closed;
  }

  /** Stop retention; release long-poll waiters (they answer with what they have). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
    await this.pruning;
  }
}

export function describeRetention(r: Retention): string {
  if (r.kind === 'forever') return 'forever';
  if (r.kind === 'entries') return `${r.entries} entries`;
  return `${r.ms / 1000}s`;
}

/** The client form of an entry: documents parsed. */
export function toClientEntry(e: RawChangeEntry): ChangeEntry {
  return {
    seq: e.seq,
    ts: e.ts,
    op: e.op,
    key: e.key,
    table: e.table,
    value: e.value === null ? null : JSON.parse(e.value),
    prev: e.prev === null ? null : JSON.parse(e.prev),
    txn_id: e.txn_id,
  };
}
