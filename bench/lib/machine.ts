import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { ROOT } from './util.js';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemGiB: number;
  platform: string;
  kernel: string;
  nodeVersion: string;
  gitCommit: string;
  /** Working tree had uncommitted changes when the bench ran. */
  gitDirty: boolean;
  hostname: string;
  loadAvg: number[];
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: `${os.release()} (${os.version()})`,
    nodeVersion: process.version,
    gitCommit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain']) ?? '') !== '',
    hostname: os.hostname(),
    loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
