/**
 * Benchmark dispatcher: `node dist/bench/run.js <area> [<area>...]`
 * (`npm run bench -- entities`). Each area runs its scenarios and writes
 * bench/results/<area>-<YYYYMMDD-HHMMSS>.{json,md} and <area>-latest.{json,md}.
 *
 * Environment: BENCH_DURATION_S (10), BENCH_WARMUP_S (3), BENCH_CONNECTIONS (64),
 * BENCH_TOOL (wrk|autocannon; default wrk when installed), BENCH_WRK_THREADS (1),
 * BENCH_PIN (1; 0 = no CPU pinning),
 * BENCH_SERVER_NODE_ARGS (extra node flags for the themis server, e.g. --cpu-prof).
 * Area-specific settings: see bench/README.md (e.g. BENCH_AQL_USERS, BENCH_VECTOR_N).
 */
import fs from 'node:fs';
import { aqlArea } from './areas/aql.js';
import { auditArea } from './areas/audit.js';
import { cacheArea } from './areas/cache.js';
import { cdcArea } from './areas/cdc.js';
import { contentArea } from './areas/content.js';
import { entitiesArea } from './areas/entities.js';
import { fulltextArea } from './areas/fulltext.js';
import { graphArea } from './areas/graph.js';
import { llmArea } from './areas/llm.js';
import { peerArea } from './areas/peer.js';
import { piiArea } from './areas/pii.js';
import { queryArea } from './areas/query.js';
import { recoveryArea } from './areas/recovery.js';
import { txnArea } from './areas/txn.js';
import { vectorArea } from './areas/vector.js';
import { describePinning } from './lib/cpu.js';
import { machineInfo } from './lib/machine.js';
import { renderConsole, writeResults } from './lib/results.js';
import type { Area, AreaReport, BenchSettings } from './lib/types.js';
import { CLI, envNumber, log } from './lib/util.js';

/** Registered areas. Add new ones here. */
const AREAS = new Map<string, Area>(
  [
    entitiesArea,
    txnArea,
    cdcArea,
    graphArea,
    queryArea,
    fulltextArea,
    vectorArea,
    aqlArea,
    recoveryArea,
    auditArea,
    piiArea,
    contentArea,
    cacheArea,
    llmArea,
    peerArea,
  ].map((a) => [a.name, a]),
);

function usage(): string {
  return `usage: node dist/bench/run.js <area> [<area>...]\n\nareas:\n${[...AREAS.values()].map((a) => `  ${a.name.padEnd(12)} ${a.description}`).join('\n')}\n`;
}

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  if (names.length === 0 || names.includes('--help') || names.includes('-h')) {
    process.stderr.write(usage());
    return names.length === 0 ? 2 : 0;
  }
  const unknown = names.filter((n) => !AREAS.has(n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench area(s): ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }
  if (!fs.existsSync(CLI)) {
    process.stderr.write(`${CLI} not found: run \`npm run build\` first (npm run bench does).\n`);
    return 2;
  }
  const settings: BenchSettings = {
    durationS: envNumber('BENCH_DURATION_S', 10),
    warmupS: process.env.BENCH_WARMUP_S === '0' ? 0 : envNumber('BENCH_WARMUP_S', 3),
    connections: Math.round(envNumber('BENCH_CONNECTIONS', 64)),
    pinning: describePinning(),
  };
  let anyInvalid = false;
  for (const name of names) {
    const area = AREAS.get(name)!;
    const machine = machineInfo();
    const startedAt = new Date().toISOString();
    log(
      `area ${name}: ${settings.durationS} s per scenario (+${settings.warmupS} s warm-up), ${settings.connections} connections; pinning: ${settings.pinning}`,
    );
    const r = await area.run({ settings });
    const report: AreaReport = { area: name, startedAt, finishedAt: new Date().toISOString(), machine, settings, ...r };
    const files = writeResults(report);
    process.stdout.write(`\n${report.title} — ${report.tool}\n${renderConsole(report)}\n\n`);
    process.stdout.write(`results: ${files.md}\n         ${files.json}\n         (also ${files.latestMd}, ${files.latestJson})\n`);
    const invalid = report.scenarios.filter((s) => !s.valid);
    if (invalid.length > 0) {
      anyInvalid = true;
      process.stdout.write(`\n!!! INVALID RESULTS in ${name}: ${invalid.map((s) => `${s.name} (${s.problems.join('; ')})`).join(', ')}\n`);
    }
  }
  return anyInvalid ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
