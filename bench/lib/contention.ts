import fs from 'node:fs';

/**
 * Detects other work on the machine during a measured window (builds, test
 * runs, other benchmarks): the CPU time that processes outside the bench
 * used, from /proc/<pid>/stat (utime+stime plus reaped children), and what
 * they wrote to storage (/proc/<pid>/io write_bytes). Kernel
 * threads are left out (ksoftirqd & co. mostly serve the bench's own
 * loopback traffic). Linux only; elsewhere it reports nothing.
 */

/** Server processes started by the bench (registered on start, removed on exit). */
export const ownPids = new Set<number>();

interface Snap {
  at: number;
  /** pid -> CPU ticks (self + reaped children) of every foreign user-space process. */
  ticks: Map<number, number>;
  /** pid -> bytes it caused to be written to storage (/proc/<pid>/io write_bytes), where readable. */
  writes: Map<number, number>;
}

const USER_HZ = 100; // unit of /proc/<pid>/stat times on Linux

/** write_bytes from /proc/<pid>/io (bytes sent to the block layer on the process's behalf), if readable. */
function readWriteBytes(pid: string): number | undefined {
  try {
    const m = /^write_bytes: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

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
  const writes = new Map<number, number>();
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    // Ourselves (our ticks include the reaped load generator), our servers, and kernel threads are not foreign.
    if (pid === process.pid || ownPids.has(pid) || pid === 2) continue;
    const s = readStat(e);
    if (!s || s.ppid === 2 || s.ppid === process.pid) continue;
    ticks.set(pid, s.ticks);
    const w = readWriteBytes(e);
    if (w !== undefined) writes.set(pid, w);
  }
  return { at: Date.now(), ticks, writes };
}

/**
 * MB/s written to storage by processes outside the bench between two
 * snapshots: other databases or test runs fsyncing on the same disk slow down
 * every durable commit here even when they use little CPU.
 */
export function foreignWriteMBps(a: Snap | undefined, b: Snap | undefined): number | undefined {
  if (!a || !b || b.at <= a.at) return undefined;
  let total = 0;
  for (const [pid, w] of b.writes) {
    const before = a.writes.get(pid);
    // A process that started during the window counts from zero.
    total += Math.max(0, w - (before ?? (a.ticks.has(pid) ? w : 0)));
  }
  return total / 1e6 / ((b.at - a.at) / 1000);
}

/** CPU cores' worth of time used by processes outside the bench between two snapshots. */
export function foreignCores(a: Snap | undefined, b: Snap | undefined): number | undefined {
  if (!a || !b || b.at <= a.at) return undefined;
  let total = 0;
  for (const [pid, t] of b.ticks) total += Math.max(0, t - (a.ticks.get(pid) ?? 0));
  return total / USER_HZ / ((b.at - a.at) / 1000);
}

/**
 * CPU seconds (user + system, all threads) a process has used so far; for
 * `self`, reaped children (wrk) are included. Linux only; undefined elsewhere
 * or when the process is gone.
 */
export function cpuSeconds(pid: number | 'self'): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const s = readStat(String(pid));
  return s === undefined ? undefined : s.ticks / USER_HZ;
}

/** CPU seconds used so far by one thread of a process (the main thread: tid = pid), Linux only. */
export function threadCpuSeconds(pid: number, tid: number = pid): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const s = readStat(`${pid}/task/${tid}`);
  return s === undefined ? undefined : s.ticks / USER_HZ;
}
