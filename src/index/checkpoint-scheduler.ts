import type { Logger } from '../log.js';

/**
 * Checkpoints of in-memory indexes (fulltext, vector): every `everyMs`
 * (for those that changed), on demand, and a last one at shutdown. Runs are
 * serialised; a failure is logged and leaves the index to its recovery
 * path (an older checkpoint plus the change log, or a rebuild).
 */
export class CheckpointScheduler<T> {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly kind: string,
    private readonly log: Logger,
    /** The indexes to checkpoint now (ready ones). */
    private readonly items: () => Iterable<T>,
    private readonly name: (item: T) => string,
    /** Write one checkpoint; false when there was nothing to write. */
    private readonly write: (item: T, force: boolean) => Promise<boolean>,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.run(), everyMs);
    this.timer.unref();
  }

  /** Checkpoint every index (or `only`) that changed since its last checkpoint (all of them with `force`). */
  run(force = false, only?: T): Promise<void> {
    const go = async () => {
      for (const item of only === undefined ? [...this.items()] : [only]) {
        try {
          const started = Date.now();
          if (await this.write(item, force)) this.log.debug(`${this.kind} checkpoint written`, { index: this.name(item), ms: Date.now() - started });
        } catch (e) {
          this.log.error(`${this.kind} checkpoint failed`, { index: this.name(item), error: e });
        }
      }
    };
    this.chain = this.chain.then(go);
    return this.chain;
  }

  /** Stop the timer and write a last checkpoint (shutdown, after the last commit). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.run();
  }
}
