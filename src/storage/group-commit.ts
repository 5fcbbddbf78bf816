import type { BatchOp } from './write-batch.js';

export type BatchWriter = (ops: BatchOp[], sync: boolean) => Promise<void>;

interface Pending {
  ops: BatchOp[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface GroupCommitStats {
  /** Commits requested (one per WriteBatch). */
  commits: number;
  /** LevelDB batches written; commits/groups is the coalescing factor. */
  groups: number;
  ops: number;
  maxGroupCommits: number;
  failedGroups: number;
}

export interface GroupCommitOptions {
  sync: boolean;
  /** Upper bound on the operations merged into one LevelDB batch. */
  maxGroupOps?: number;
  /** Called after each group is written (for metrics). */
  onGroup?: (commits: number, ops: number, seconds: number) => void;
}

/**
 * Group commit: commits that arrive while a write is in flight wait in a
 * queue; when the write finishes, everything queued goes to LevelDB as one
 * batch with one fsync. A lone commit is written at once (no timer, no added
 * latency); under load the coalescing factor grows by itself. Every commit's
 * promise resolves only after the batch that carried it was written (and, in
 * `sync` mode, fsynced), so acknowledging after `await` is durable.
 *
 * Merging commits is safe for atomicity: a LevelDB batch is all-or-nothing,
 * so a merged group is applied entirely or not at all, and on failure every
 * commit in it is rejected. Commits are written in arrival order, so a later
 * commit's write to the same key wins.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** The first write failure: every later commit is refused with it (see drain). */
  private failure: { error: unknown } | undefined;
  private readonly maxGroupOps: number;
  readonly stats: GroupCommitStats = { commits: 0, groups: 0, ops: 0, maxGroupCommits: 0, failedGroups: 0 };

  constructor(
    private readonly writer: BatchWriter,
    private readonly opts: GroupCommitOptions,
  ) {
    this.maxGroupOps = opts.maxGroupOps ?? 50_000;
  }

  commit(ops: BatchOp[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      this.stats.commits++;
      if (this.flushing === null) this.flushing = this.drain();
    });
  }

  /** Resolves when everything queued so far has been written. */
  async idle(): Promise<void> {
    while (this.flushing !== null) await this.flushing;
  }

  get queued(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        const ops = group.length === 1 ? group[0]!.ops : group.flatMap((p) => p.ops);
        const started = process.hrtime.bigint();
        try {
          await this.writer(ops, this.opts.sync);
        } catch (e) {
          // A failed write fails everything queued behind it, and every later commit: their
          // callers handed out sequence numbers in queue order, and writing a later group after
          // a failed one would leave a gap (LevelDB itself may refuse further writes anyway).
          this.stats.failedGroups++;
          this.failure = { error: e };
          for (const p of group) p.reject(e);
          for (const p of this.queue.splice(0)) p.reject(e);
          continue;
        }
        this.stats.groups++;
        this.stats.ops += ops.length;
        if (group.length > this.stats.maxGroupCommits) this.stats.maxGroupCommits = group.length;
        this.opts.onGroup?.(group.length, ops.length, Number(process.hrtime.bigint() - started) / 1e9);
        for (const p of group) p.resolve();
      }
    } finally {
      this.flushing = null;
    }
  }

  private takeGroup(): Pending[] {
    let n = 0;
    let ops = 0;
    // Always take at least one commit, even if it alone exceeds the bound.
    while (n < this.queue.length && (n === 0 || ops + this.queue[n]!.ops.length <= this.maxGroupOps)) {
      ops += this.queue[n]!.ops.length;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
