/** One change-log entry as the index replays read it. */
export interface ReplayEntry {
  key: string;
  prev: string | null;
  value: string | null;
}

/**
 * The start-up log's fields of a replay: the change-log position the
 * checkpoint reflects, the change-log entries read after it (what the
 * replay cost), and those of the index's table.
 */
export function replayReport(
  fromSeq: number,
  lastSeq: number,
  replayed: number,
): { replay_from_seq: number; replay_entries: number; replayed: number } {
  return { replay_from_seq: fromSeq, replay_entries: lastSeq - fromSeq, replayed };
}

/** The net change of one key over a stretch of the change log, with documents parsed. */
export interface NetChange {
  key: string;
  prev: unknown;
  next: unknown;
}

/**
 * Coalesce a replay of the change log into net changes per key: a key
 * written many times since the checkpoint is applied once, from its state
 * at the checkpoint (the first entry's `prev`) to its last value. Applying
 * net changes in windows of at most `maxKeys` distinct keys, window after
 * window, gives the same index as applying every entry in order — the
 * indexes are functions of the documents, not of the path between them —
 * at a fraction of the cost when keys are hot (an HNSW replacement costs
 * several fresh inserts). `counter.entries` counts the entries read.
 */
export async function* coalesceReplay(
  entries: AsyncIterable<ReplayEntry>,
  counter: { entries: number },
  maxKeys = 20_000,
): AsyncGenerator<NetChange[]> {
  let window = new Map<string, { prev: string | null; value: string | null }>();
  const flush = (): NetChange[] => {
    const out: NetChange[] = [];
    for (const [key, c] of window) {
      // Unchanged in total (written and changed back, created and deleted): nothing to apply.
      if (c.prev === c.value) continue;
      out.push({ key, prev: c.prev === null ? undefined : JSON.parse(c.prev), next: c.value === null ? undefined : JSON.parse(c.value) });
    }
    window = new Map();
    return out;
  };
  for await (const e of entries) {
    counter.entries++;
    const c = window.get(e.key);
    if (c) c.value = e.value;
    else {
      if (window.size >= maxKeys) yield flush();
      window.set(e.key, { prev: e.prev, value: e.value });
    }
  }
  if (window.size > 0) yield flush();
}
