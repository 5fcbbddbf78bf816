import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { cpuSeconds } from './contention.js';
import { sleep } from './util.js';

/** `global.gc` without starting node with --expose-gc (for memory deltas). */
export function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Resident set size of process `pid` in MiB (Linux /proc), or undefined. */
export function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The installed version of an npm package ('?' when unknown). */
export function pkgVersion(name: string): string {
  try {
    return (
      JSON.parse(fs.readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '?';
  }
}

/**
 * Wait until process `pid` (all its threads: LevelDB compaction included)
 * uses < 0.05 core over 0.5 s, at most `maxMs`; returns the ms waited.
 */
export async function waitIdle(pid: number | undefined, maxMs = 20_000): Promise<number> {
  const t0 = Date.now();
  if (pid === undefined) return 0;
  for (;;) {
    const a = cpuSeconds(pid);
    await sleep(500);
    const b = cpuSeconds(pid);
    if (a === undefined || b === undefined || b - a < 0.025 || Date.now() - t0 > maxMs) return Date.now() - t0;
  }
}
