import type { WriteBatch } from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';

/** One change as an in-memory index drafts it: the key and both documents (parsed once per commit). */
export interface DraftInput {
  key: string;
  prev: unknown;
  next: unknown;
}

/**
 * An index whose in-memory side follows commits through a TicketQueue
 * (fulltext, vector): a draft goes into the batch and takes a ticket
 * (`apply`), the ticket's changes reach memory in commit order once durable
 * (`complete`), or its turn passes if the batch failed (`cancel`).
 */
export interface TicketedIndex<D, P> {
  apply(draft: D, batch: WriteBatch, firstSeq?: number): P;
  complete(plan: P): void;
  cancel(plan: P): void;
}

/** A commit's work for ticketed indexes: the drafts (prepare) and the tickets taken (write). */
export interface TicketedPlan<I, D, P> {
  drafts: [I, D][];
  tickets: [I, P][];
}

/**
 * The commit participant of a family of ticketed indexes: `prepare` groups
 * the commit's changes per index on their table and drafts them (pure; a
 * draft may refuse the commit, e.g. a bad vector; `undefined` means nothing
 * to do), `write` applies the drafts and takes the tickets, `applied`
 * completes them (then `afterCommit`, e.g. the checkpoint scheduler),
 * `aborted` cancels them.
 */
export function ticketedParticipant<I extends TicketedIndex<D, P>, D, P>(o: {
  name: string;
  /** No index of the family exists (the common case: nothing to look at). */
  empty: () => boolean;
  indexesOn: (table: string) => Iterable<I>;
  draft: (ix: I, changes: DraftInput[]) => D | undefined;
  afterCommit: () => void;
  precommit?: CommitParticipant['precommit'];
}): CommitParticipant<TicketedPlan<I, D, P>> {
  return {
    name: o.name,
    ...(o.precommit ? { precommit: o.precommit } : {}),
    prepare: (info: CommitInfo) => {
      if (o.empty()) return undefined;
      const byIndex = new Map<I, DraftInput[]>();
      for (const c of info.changes) {
        for (const ix of o.indexesOn(c.table)) {
          const list = byIndex.get(ix) ?? [];
          list.push({ key: c.key, prev: c.prevDoc, next: c.doc });
          byIndex.set(ix, list);
        }
      }
      const drafts: [I, D][] = [];
      for (const [ix, changes] of byIndex) {
        const d = o.draft(ix, changes);
        if (d !== undefined) drafts.push([ix, d]);
      }
      return drafts.length === 0 ? undefined : { drafts, tickets: [] };
    },
    write: (info, plan, batch) => {
      if (!plan) return;
      for (const [ix, d] of plan.drafts) plan.tickets.push([ix, ix.apply(d, batch, info.changes[0]!.seq)]);
      // The drafts are in the batch and the tickets: let them go now rather than when the commit is durable.
      plan.drafts = [];
    },
    applied: (_info, plan) => {
      if (plan) for (const [ix, p] of plan.tickets) ix.complete(p);
      o.afterCommit();
    },
    aborted: (_info, plan) => {
      if (plan) for (const [ix, p] of plan.tickets) ix.cancel(p);
    },
  };
}
