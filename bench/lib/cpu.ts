import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * CPU pinning. On a small machine the load generator competes with the
 * server for cores, and where the scheduler happens to put the two makes
 * runs swing by ±30%. With pinning (default when there are >= 2 CPUs and
 * `taskset` exists; BENCH_PIN=0 disables) the server's *main thread* (the
 * event loop, after it is ready) gets CPU 0 and the load generator gets the
 * other CPUs. Only the main thread is pinned: the server's helper threads
 * (libuv pool doing LevelDB writes/fsync, LevelDB compaction, V8 GC/JIT)
 * stay free to run anywhere, as they would in production.
 */
export interface PinPlan {
  server: string;
  load: string;
}

let plan: PinPlan | null | undefined;

export function hasTaskset(): boolean {
  try {
    execFileSync('which', ['taskset'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function pinPlan(): PinPlan | null {
  if (plan !== undefined) return plan;
  const n = os.cpus().length;
  const env = process.env.BENCH_PIN;
  if (env === '0' || env === 'false' || n < 2 || os.platform() !== 'linux' || !hasTaskset()) plan = null;
  else plan = { server: '0', load: n === 2 ? '1' : `1-${n - 1}` };
  return plan;
}

export function describePinning(): string {
  const p = pinPlan();
  return p ? `server main thread on CPU ${p.server}, load generator on CPU ${p.load} (taskset; BENCH_PIN=0 disables)` : 'none';
}

/** Pin one thread (a pid is its main thread's tid) to a CPU list. Best effort. */
export function pinThread(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pin a server process's main thread per the plan (no-op without a plan). */
export function pinServer(pid: number | undefined): void {
  const p = pinPlan();
  if (p && pid !== undefined) pinThread(pid, p.server);
}

/** Command + args to run the load generator binary under the plan. */
export function pinnedCommand(cmd: string, args: string[]): [string, string[]] {
  const p = pinPlan();
  return p ? ['taskset', ['-c', p.load, cmd, ...args]] : [cmd, args];
}
