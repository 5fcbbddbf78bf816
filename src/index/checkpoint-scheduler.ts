import path from 'node:path';
import type { Logger } from '../log.js';
import type { ReplayEntry } from './replay.js';

/** Where an in-memory index's checkpoints live, how to replay the commits after one, and when to write them. */
export interface IndexCheckpoints {
  dir: string;
  /** The change log's last sequence number. */
  lastSeq: () => number;
  /** Changes of `table` after `fromSeq`, in order; throws (GONE) when no longer retained. */
  replay: (table: string, fromSeq: number) => AsyncIterable<ReplayEntry>;
  /** Period of the background checkpoint (default 5 minutes). */
  everyMs?: number;
  /** Change-log growth past an index's checkpoint that triggers a new one (default 50,000 entries; bounds the replay at start-up). */
  everyChanges?: number;
}

/** The checkpoint file of index `id`. */
export function checkpointFile(c: IndexCheckpoints, id: number): string {
  return path.join(c.dir, `index-${id}.ckpt`);
}

/**
 * Checkpoints of in-memory indexes (fulltext, vector): every `everyMs`
 * (for those that changed), when the change log has grown `everyChanges`
 * entries past an index's checkpoint (so the replay after a crash stays
 * bounded however busy the server is), on demand, and a last one at
 * shutdown. Runs are serialised; a failure is logged and leaves the index
 * to its recovery path (an older checkpoint plus the change log, or a
 * rebuild).
 */
export class CheckpointScheduler<T> {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** The change-log seq at which some index is next due by growth (checked after every commit: one comparison). */
  private nextDue = 0;
  private growthQueued = false;

  constructor(
    private readonly kind: string,
    private readonly log: Logger,
    /** The indexes to checkpoint now (ready ones). */
    private readonly items: () => Iterable<T>,
    private readonly name: (item: T) => string,
    /** Write one checkpoint; false when there was nothing to write. */
    private readonly write: (item: T, force: boolean) => Promise<boolean>,
    /** When to checkpoint (none: only on demand). */
    private readonly policy: IndexCheckpoints | undefined,
    /** The sequence number an index's checkpoint on disk reflects (0: none). */
    private readonly seqOf: (item: T) => number,
  ) {}

  private get everyChanges(): number {
    return this.policy?.everyChanges ?? 50_000;
  }

  /** Start the periodic and the growth checkpoints. */
  start(): void {
    if (!this.policy) return;
    this.timer = setInterval(() => void this.run(), this.policy.everyMs ?? 300_000);
    this.timer.unref();
    this.recomputeDue();
  }

  /** Checkpoint every index (or `only`) that changed since its last checkpoint (all of them with `force`). */
  run(force = false, only?: T | readonly T[]): Promise<void> {
    const go = async () => {
      const list = only === undefined ? [...this.items()] : Array.isArray(only) ? only : [only as T];
      for (const item of list) {
        try {
          const started = Date.now();
          if (await this.write(item, force))
            this.log.debug(`${this.kind} checkpoint written`, { index: this.name(item), ms: Date.now() - started });
        } catch (e) {
          this.log.error(`${this.kind} checkpoint failed`, { index: this.name(item), error: e });
        }
      }
      this.recomputeDue();
    };
    this.chain = this.chain.then(go);
    return this.chain;
  }

  /**
   * After a commit: when the change log has grown `everyChanges` entries past
   * some index's checkpoint, checkpoint those indexes (in the background,
   * one run at a time). Cheap when nothing is due.
   */
  afterCommit(): void {
    const p = this.policy;
    if (!p || this.timer === undefined || this.growthQueued) return;
    const last = p.lastSeq();
    if (last < this.nextDue) return;
    const every = this.everyChanges;
    const due = [...this.items()].filter((item) => last - this.seqOf(item) >= every);
    if (due.length === 0) {
      this.recomputeDue();
      return;
    }
    this.growthQueued = true;
    this.log.info(`${this.kind} checkpoint by change-log growth`, {
      indexes: due.map((i) => this.name(i)),
      last_seq: last,
      every_changes: every,
    });
    void this.run(true, due).finally(() => {
      this.growthQueued = false;
      // An index that could not be written now (a backfill batch outstanding) is tried again a little later, not after every commit.
      this.nextDue = Math.max(this.nextDue, last + Math.ceil(every / 10));
    });
  }

  private recomputeDue(): void {
    const p = this.policy;
    if (!p) return;
    const every = this.everyChanges;
    let due = Infinity;
    for (const item of this.items()) due = Math.min(due, this.seqOf(item) + every);
    // Nothing to watch (no index): look again after the next everyChanges entries.
    this.nextDue = Number.isFinite(due) ? due : p.lastSeq() + every;
  }

  /** Stop the timer and write a last checkpoint (shutdown, after the last commit). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.run();
  }
}
