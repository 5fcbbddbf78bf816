import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

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
    return (JSON.parse(fs.readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}
