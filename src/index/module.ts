import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { parseEntityKey } from '../documents/index.js';
import type { Gauge, Module, ModuleContext } from '../kernel/index.js';
import type { CommitClock } from './backfill.js';
import type { IndexCheckpoints } from './checkpoint-scheduler.js';
import { IndexManager } from './index-manager.js';

/** Where an in-memory index kind (`fulltext`, `vector`) keeps its checkpoints, and when it writes them. */
export function checkpointsOf(ctx: ModuleContext, dir: string): IndexCheckpoints {
  const log = ctx.changeLog;
  return {
    dir: path.join(ctx.config.dataDir, dir),
    lastSeq: () => log.lastSeq,
    replay: (table, fromSeq) => log.replay(table, fromSeq),
    everyMs: ctx.config.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
    everyChanges: ctx.config.checkpointEveryChanges ?? DEFAULTS.checkpointEveryChanges,
  };
}

/** How a backfill tells a stale scanned value: the transaction manager's applied position and queued writes. */
export function commitClockOf(ctx: ModuleContext): CommitClock {
  const txm = ctx.transactions;
  return { appliedSeq: () => txm.appliedSeq, hasPending: (key) => txm.hasPending(key) };
}

/** The latest value of a key including commits in flight: what a participant's next plan replaces. */
export function latestOf(ctx: ModuleContext): (key: string) => string | null {
  const txm = ctx.transactions;
  return (key) => txm.latest(parseEntityKey(key));
}

/** Secondary (equality, range, unique) and fulltext indexes: definitions, backfills, maintenance in every commit, checkpoints. */
export const Indexes: Module<IndexManager> = {
  name: 'indexes',
  async open(ctx) {
    const m = new IndexManager(
      ctx.engine,
      ctx.documents,
      latestOf(ctx),
      ctx.log,
      commitClockOf(ctx),
      checkpointsOf(ctx, 'fulltext'),
      ctx.config.residentIndexEntries ?? DEFAULTS.residentIndexEntries,
      {
        workers: ctx.config.fulltextWorkers ?? DEFAULTS.fulltextWorkers,
        minDocs: ctx.config.fulltextWorkerMinDocs ?? DEFAULTS.fulltextWorkerMinDocs,
      },
    );
    await m.open();
    return m;
  },
  commit: (m) => m.participants,
  checkpoint: (m) => m.checkpointAll(true),
  backup: (m, b) => m.backup(b),
  close: (m) => m.close(),
  gauges: [
    {
      name: 'themis_index_posting_cache_entries',
      help: 'Equality postings held by the posting cache',
      read: (m) => m.postingCache.entries,
    },
    ...hitsAndMisses('themis_index_posting_cache', 'Equality lookups of non-unique indexes', (m) => m.postingCache),
    {
      name: 'themis_index_value_counts_values',
      help: 'Distinct values whose entry counts are kept for index-only COLLECT',
      read: (m) => m.valueCounts.values,
    },
    ...hitsAndMisses('themis_index_value_counts', 'Index-only COLLECTs over a whole index', (m) => m.valueCounts),
    {
      name: 'themis_index_resident_entries',
      help: 'Index entries held in the in-memory copies of non-unique indexes',
      read: (m) => m.residentIndexes.entries,
    },
    {
      name: 'themis_index_resident_indexes',
      help: 'Non-unique indexes with an in-memory copy',
      read: (m) => m.residentIndexes.indexes,
    },
    ...hitsAndMisses('themis_index_resident', 'Scans of non-unique indexes', (m) => m.residentIndexes),
    {
      name: 'themis_fulltext_analysis_jobs_total',
      help: 'Write batches whose fulltext fields an analysis worker thread analysed before their commit',
      type: 'counter',
      read: (m) => m.analysis.jobs,
    },
    {
      name: 'themis_fulltext_analysis_documents_total',
      help: 'Documents whose fulltext fields an analysis worker thread analysed before their commit',
      type: 'counter',
      read: (m) => m.analysis.documents,
    },
  ],
};

/** The hits and misses counters of one of the index caches: `what` answered from memory, and `what` that read the index. */
function hitsAndMisses(prefix: string, what: string, of: (m: IndexManager) => { hits: number; misses: number }): Gauge<IndexManager>[] {
  return [
    { name: `${prefix}_hits_total`, help: `${what} answered from memory`, read: (m) => of(m).hits, type: 'counter' },
    { name: `${prefix}_misses_total`, help: `${what} that read the index`, read: (m) => of(m).misses, type: 'counter' },
  ];
}
