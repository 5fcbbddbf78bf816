/**
 * Orders the application of planned index changes to an in-memory structure.
 *
 * A commit participant plans its changes synchronously and takes a ticket (tickets
 * follow the change log's order); its LevelDB batch becomes durable later,
 * and batches may report durability out of order. `complete` applies a
 * ticket's changes only once every earlier ticket has been applied, so the
 * in-memory side always equals the durable state as of some prefix of the
 * commits. Each ticket remembers the first change-log sequence number of its
 * commit (undefined for a backfill batch), which tells a checkpoint which
 * sequence number memory reflects.
 */
export class TicketQueue<P extends { ticket: number }> {
  private last = 0;
  private applied = 0;
  private readonly done = new Map<number, { plan: P; apply: boolean }>();
  private readonly firstSeq = new Map<number, number | undefined>();

  constructor(
    private readonly applyInOrder: (p: P) => void,
    /** A cancelled plan's turn: drop what it reserved (its batch never became durable). */
    private readonly discardInOrder: (p: P) => void = () => undefined,
  ) {}

  /** A new ticket for a plan whose first change has sequence number `firstSeq`. */
  take(firstSeq?: number): number {
    const t = ++this.last;
    this.firstSeq.set(t, firstSeq);
    return t;
  }

  /** Plans taken whose changes are not applied yet. */
  get hasPending(): boolean {
    return this.last !== this.applied;
  }

  /** The plan's batch is durable: apply it (and every earlier ticket now complete), in ticket order. */
  complete(plan: P): void {
    this.settle(plan, true);
  }

  /** The plan's batch failed: its turn passes without applying it, so later tickets are not held up. */
  cancel(plan: P): void {
    this.settle(plan, false);
  }

  private settle(plan: P, apply: boolean): void {
    this.done.set(plan.ticket, { plan, apply });
    for (;;) {
      const next = this.done.get(this.applied + 1);
      if (!next) return;
      this.done.delete(next.plan.ticket);
      this.applied = next.plan.ticket;
      this.firstSeq.delete(next.plan.ticket);
      if (next.apply) this.applyInOrder(next.plan);
      else this.discardInOrder(next.plan);
    }
  }

  /**
   * The change-log sequence number the applied state reflects: `appliedSeq`
   * (the transaction manager's) with nothing outstanding, else one before the
   * first outstanding commit; undefined while a backfill batch is outstanding.
   */
  reflectedSeq(appliedSeq: number): number | undefined {
    if (!this.hasPending) return appliedSeq;
    const first = this.firstSeq.get(this.applied + 1);
    return first === undefined ? undefined : first - 1;
  }
}
