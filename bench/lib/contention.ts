import fs from 'node:fs';

/**
 * Detects other work on the machine during a measured window (builds, test
 * runs, other benchmarks): the CPU time that processes outside the bench
 * used, from /proc/<pid>/stat (utime+stime plus reaped children). Kernel
 * threads are left out (ksoftirqd & co. mostly serve the bench's own
 * loopback traffic). Linux only; elsewhere it reports nothing.
 */

/** Server processes started by the bench (registered on start, removed on exit). */
export const ownPids = new Set<number>();

interface Snap {
  at: number;
  /** pid -> CPU ticks (self + reaped children) of every foreign user-space process. */
  ticks: Map<number, number>;
}

const USER_HZ = 100; // unit of /proc/<pid>/stat times on Linux

function readStat(pid: string): { ppid: number; ticks: number } | undefined {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // after "pid (comm) ": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined; // exited meanwhile
  }
}

export function snapshot(): Snap | undefined {
  if (process.platform !== 'linux') return undefined;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  const ticks = new Map<number, number>();
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    // Ourselves (our ticks include the reaped load generator), our servers, and kernel threads are not foreign.
    if (pid === process.pid || ownPids.has(pid) || pid === 2) continue;
    const s = readStat(e);
    if (!s || s.ppid === 2 || s.ppid === process.pid) continue;
    ticks.set(pid, s.ticks);
  }
  return { at: Date.now(), ticks };
}

/** CPU cores' worth of time used by processes outside the bench between two snapshots. */
export function foreignCores(a: Snap | undefined, b: Snap | undefined): number | undefined {
  if (!a || !b || b.at <= a.at) return undefined;
  let total = 0;
  for (const [pid, t] of b.ticks) total += Math.max(0, t - (a.ticks.get(pid) ?? 0));
  return total / USER_HZ / ((b.at - a.at) / 1000);
}
