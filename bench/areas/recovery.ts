/**
 * Recovery: what a crash costs. One data set (BENCH_RECOVERY_N entities with
 * an equality, a range, a fulltext and a vector index), then
 * BENCH_RECOVERY_UPDATES updates, then the server is stopped in four ways and
 * started again on the same data directory; restart-to-ready is measured
 * (median of BENCH_RECOVERY_REPEATS runs each):
 *
 *   graceful      SIGTERM: checkpoints written at shutdown, nothing to replay (the ceiling)
 *   kill, bounded kill -9 with checkpoints by change-log growth (THEMIS_CHECKPOINT_EVERY_CHANGES, default 50,000)
 *   kill, replay  kill -9 with growth checkpoints off: every update since the last checkpoint is replayed
 *   rebuild       checkpoint files deleted: fulltext from its postings, vector graph from the entities
 *
 * "replay" against "graceful" gives the cost per million change-log entries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { postOk, runBatches } from '../lib/batches.js';
import { startThemis, type ThemisServer } from '../lib/server.js';
import { r3 } from '../lib/stats.js';
import type { Area, ReportTable } from '../lib/types.js';
import { envNumber, log, prng, tempDir } from '../lib/util.js';

const DIM = 16;
const GROUPS = 50;
const WORDS =
  'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega river stone cloud field light night storm green amber north'.split(
    ' ',
  );
const BATCH = 500;

interface Run {
  readyMs: number;
  recoveryMs: number;
  replayEntries: number;
  sources: string;
  perIndex: { index: string; source: string; replayEntries: number; ms: number }[];
}

function doc(rnd: () => number, n: number, version: number): string {
  const words = Array.from({ length: 8 }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
  return JSON.stringify({
    grp: n % GROUPS,
    score: Math.floor(rnd() * 100_000) / 100,
    text: `${words.join(' ')} doc${n} v${version}`,
    emb: Array.from({ length: DIM }, () => Math.round(rnd() * 10_000) / 10_000),
  });
}

async function load(server: ThemisServer, n: number, updates: number): Promise<{ loadS: number; updateS: number }> {
  const rnd = prng(0x5eed_0013);
  const put = (ids: number[], version: number) =>
    JSON.stringify({ operations: ids.map((i) => ({ op: 'put', key: `r:${i}`, blob: doc(rnd, i, version) })) });
  const l = await runBatches(n, BATCH, 4, async (b) => {
    const ids = Array.from({ length: Math.min(BATCH, n - b * BATCH) }, (_, j) => b * BATCH + j);
    await postOk(server, '/transaction', put(ids, 0), 'load');
  });
  const u = await runBatches(updates, BATCH, 4, async (b) => {
    const ids = Array.from({ length: Math.min(BATCH, updates - b * BATCH) }, () => Math.floor(rnd() * n));
    await postOk(server, '/transaction', put([...new Set(ids)], b + 1), 'update');
  });
  return { loadS: l.seconds, updateS: u.seconds };
}

function parseStart(server: ThemisServer): Omit<Run, 'readyMs'> {
  const lines = server
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ready = lines.find((l) => l.msg === 'storage ready');
  const loaded = lines
    .filter((l) => l.msg === 'fulltext index loaded' || l.msg === 'vector index loaded')
    .filter((l) => l.index !== 'vector_index');
  return {
    recoveryMs: Number(ready?.recovery_ms ?? NaN),
    replayEntries: Math.max(0, ...loaded.map((l) => Number(l.replay_entries ?? 0))),
    perIndex: loaded.map((l) => ({
      index: String(l.index),
      source: String(l.source),
      replayEntries: Number(l.replay_entries ?? 0),
      ms: Number(l.ms),
    })),
    sources: loaded
      .map(
        (l) =>
          `${String(l.index)}: ${String(l.source)}${l.replay_entries !== undefined ? ` +${String(l.replay_entries)}` : ''} ${String(l.ms)} ms`,
      )
      .join(', '),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Start on a copy of `dir` (so every run starts from the same crashed state) and measure the start. */
async function measureStart(dir: string, env: Record<string, string>, prepare?: (copy: string) => Promise<void>): Promise<Run> {
  const copy = tempDir('themis-bench-recovery-run-');
  fs.cpSync(dir, copy, { recursive: true });
  try {
    if (prepare) await prepare(copy);
    const s = await startThemis({ durability: 'relaxed', dataDir: copy, env });
    const run = { readyMs: s.readyMs, ...parseStart(s) };
    await s.stop();
    return run;
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

/** Load the data set into a fresh directory and kill -9 the server: the crashed directory. */
async function loadAndKill(n: number, updates: number, everyChanges: number): Promise<string> {
  const dataDir = tempDir('themis-bench-recovery-');
  const env = { THEMIS_LOG_LEVEL: 'info', THEMIS_CHECKPOINT_EVERY_CHANGES: String(everyChanges) };
  const s = await startThemis({ durability: 'relaxed', dataDir, env });
  await postOk(s, '/index/create', JSON.stringify({ table: 'r', column: 'grp' }), 'index');
  await postOk(s, '/index/create', JSON.stringify({ table: 'r', column: 'score', type: 'range' }), 'index');
  await postOk(s, '/index/create', JSON.stringify({ table: 'r', column: 'text', type: 'fulltext' }), 'index');
  await postOk(
    s,
    '/vector/index/create',
    JSON.stringify({ name: 'r_emb', table: 'r', field: 'emb', metric: 'L2', dimension: DIM }),
    'vector index',
  );
  const l = await load(s, n, updates);
  log(
    `recovery: loaded ${n} in ${r3(l.loadS)} s, ${updates} updates in ${r3(l.updateS)} s (growth checkpoints every ${everyChanges}); kill -9`,
  );
  await s.kill();
  return dataDir;
}

export const recoveryArea: Area = {
  name: 'recovery',
  description: 'restart-to-ready after SIGTERM, kill -9 (bounded and unbounded replay) and a rebuild; cost per million change-log entries',
  async run() {
    const n = envNumber('BENCH_RECOVERY_N', 50_000);
    const updates = envNumber('BENCH_RECOVERY_UPDATES', 200_000);
    const repeats = envNumber('BENCH_RECOVERY_REPEATS', 3);
    const every = 50_000;
    const env = (everyChanges: number) => ({ THEMIS_LOG_LEVEL: 'info', THEMIS_CHECKPOINT_EVERY_CHANGES: String(everyChanges) });
    // Two crashed directories: with growth checkpoints (the default) and without (every update since the index was created is replayed).
    const bounded = await loadAndKill(n, updates, every);
    const unbounded = await loadAndKill(n, updates, 100_000_000);
    const modes: [string, () => Promise<Run>][] = [
      [
        'graceful',
        // Recover the crashed copy, stop it gracefully (checkpoints written), then measure a start with nothing to replay.
        () =>
          measureStart(bounded, env(every), async (copy) => {
            const s = await startThemis({ durability: 'relaxed', dataDir: copy, env: env(every) });
            await s.stop();
          }),
      ],
      ['kill, bounded replay', () => measureStart(bounded, env(every))],
      ['kill, full replay', () => measureStart(unbounded, env(100_000_000))],
      [
        'rebuild',
        () =>
          measureStart(bounded, env(every), async (copy) => {
            for (const d of ['fulltext', 'vector']) fs.rmSync(path.join(copy, d), { recursive: true, force: true });
          }),
      ],
    ];
    const results = new Map<string, Run[]>();
    const rows: string[][] = [];
    for (const [mode, measure] of modes) {
      const runs: Run[] = [];
      for (let r = 0; r < repeats; r++) {
        const run = await measure();
        runs.push(run);
        log(
          `recovery/${mode} #${r + 1}: ready in ${r3(run.readyMs)} ms (storage ${run.recoveryMs} ms, replay ${run.replayEntries}; ${run.sources})`,
        );
      }
      results.set(mode, runs);
      const ms = runs.map((x) => x.readyMs);
      rows.push([
        mode,
        String(Math.round(median(ms))),
        `${Math.round(Math.min(...ms))}–${Math.round(Math.max(...ms))}`,
        String(Math.round(median(runs.map((x) => x.recoveryMs)))),
        String(median(runs.map((x) => x.replayEntries))),
        runs[0]!.sources,
      ]);
    }
    for (const d of [bounded, unbounded]) fs.rmSync(d, { recursive: true, force: true });
    const base = median(results.get('graceful')!.map((x) => x.recoveryMs));
    const boundedMs = median(results.get('kill, bounded replay')!.map((x) => x.recoveryMs));
    for (const row of rows) row.splice(4, 0, (Number(row[3]) / base).toFixed(2));
    // Per index, from the full replay: what replaying a million change-log entries costs (an index that chose to rebuild instead is named).
    const perIndex = results
      .get('kill, full replay')![0]!
      .perIndex.map((p) =>
        p.source === 'checkpoint' && p.replayEntries > 0
          ? `${p.index}: ${(((p.ms / p.replayEntries) * 1e6) / 1000).toFixed(1)} s per million entries replayed`
          : `${p.index}: ${p.source} in ${(p.ms / 1000).toFixed(1)} s (replaying would have cost more)`,
      );
    const notes = [
      `Replay cost per index (kill, full replay): ${perIndex.join('; ')}. The vector index rebuilds from the entities when replaying would cost more (hnswlib replaces a vector in place at about six times the cost of an insert).`,
      `With checkpoints every ${every.toLocaleString('en')} change-log entries (the default) a kill -9 costs ${(boundedMs / base).toFixed(2)}× a graceful restart's recovery.`,
      'Each run starts on a copy of the same crashed data directory (the server was killed with SIGKILL right after the load). "ready ms" is spawn to the first 200 of /health/ready (includes loading Node and the modules, ~0.3 s); "storage ms" is `recovery_ms` of the `storage ready` log line (LevelDB open to ready); per index: how it was loaded and how long it took.',
    ];
    const table: ReportTable = {
      title: `Restart after ${n.toLocaleString('en')} entities and ${updates.toLocaleString('en')} updates (median of ${repeats})`,
      columns: ['stop', 'ready ms', 'range ms', 'storage ms', 'ratio to graceful', 'replayed entries', 'indexes loaded from'],
      rows,
      notes,
    };
    return {
      title: 'Recovery: restart-to-ready after a stop, a kill -9 and a rebuild',
      tool: 'themis server restarts (relaxed durability for the load)',
      scenarios: [],
      notes: [`${n} entities (equality, range, fulltext and ${DIM}-d vector index), ${updates} updates in batches of ${BATCH}.`],
      tables: [table],
    };
  },
};
