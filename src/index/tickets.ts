/**
 * Orders the application of planned index changes to an in-memory structure.
 *
 * A commit hook plans its changes synchronously and takes a ticket (tickets
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
  private readonly done = new Map<number, P>();
  private readonly firstSeq = new Map<number, number | undefined>();

  constructor(private readonly applyInOrder: (p: P) => void) {}

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
    this.done.set(plan.ticket, plan);
    for (;;) {
      const next = this.done.get(this.applied + 1);
      if (!next) return;
      this.done.delete(next.ticket);
      this.applied = next.ticket;
      this.firstSeq.delete(next.ticket);
      this.applyInOrder(next);
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
