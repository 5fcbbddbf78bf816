import type { BatchOp } from './write-batch.js';

export type BatchWriter = (ops: BatchOp[], sync: boolean) => Promise<void>;

interface Pending {
  ops: BatchOp[];
  tags: readonly string[] | undefined;
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
  /**
   * Called when a group is formed, before it is written, with how many of
   * its commits carry each tag: the operations it returns are written in
   * the group's batch (after the commits' own).
   */
  beforeGroup?: (tags: ReadonlyMap<string, number>) => BatchOp[] | undefined;
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

  /** Queue a commit (synchronously: commits are written in the order of these calls). */
  commit(ops: BatchOp[], tags?: readonly string[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, tags, resolve, reject });
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
        let ops = group.length === 1 ? group[0]!.ops : group.flatMap((p) => p.ops);
        const started = process.hrtime.bigint();
        try {
          // A hook that throws fails the group like a failed write (its commits were promised its operations).
          const extra = this.opts.beforeGroup === undefined ? undefined : this.hooks(group);
          if (extra !== undefined && extra.length > 0) ops = ops.concat(extra);
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

  /** The tag counts of a group and what the hook adds for them (undefined when no commit is tagged). */
  private hooks(group: Pending[]): BatchOp[] | undefined {
    let tags: Map<string, number> | undefined;
    for (const p of group) {
      if (p.tags === undefined) continue;
      tags ??= new Map();
      for (const t of p.tags) tags.set(t, (tags.get(t) ?? 0) + 1);
    }
    return tags === undefined ? undefined : this.opts.beforeGroup!(tags);
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
