/**
 * Fault injection for the reliability tests: a small tmpfs (a real full
 * disk) where the machine allows mounting one, and the faultfs LD_PRELOAD
 * shim (native/faultfs/faultfs.c) that fails writes or fsyncs under a path
 * with ENOSPC or EIO at the C library boundary LevelDB calls.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './server.js';

/** Build the faultfs shim with the system C compiler; returns the .so path. */
export function buildFaultShim(): string {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'themis-faultfs-')), 'faultfs.so');
  const src = path.join(ROOT, 'native/faultfs/faultfs.c');
  const tries: [string, string[]][] = [
    ['cc', ['-shared', '-fPIC', '-O2', '-o', out, src, '-ldl']],
    ['gcc', ['-shared', '-fPIC', '-O2', '-o', out, src, '-ldl']],
    // g++ is always there (node-gyp needs it); compile the file as C.
    ['g++', ['-x', 'c', '-shared', '-fPIC', '-O2', '-o', out, src, '-ldl']],
  ];
  const errors: string[] = [];
  for (const [cc, args] of tries) {
    const r = spawnSync(cc, args, { encoding: 'utf8' });
    if (r.status === 0 && fs.existsSync(out)) return out;
    errors.push(`${cc}: ${r.error?.message ?? r.stderr}`);
  }
  throw new Error(`cannot build the faultfs shim:\n${errors.join('\n')}`);
}

/** A controller for a server started with the shim: `set('enospc', dir)`, `clear()`. */
export class FaultControl {
  readonly file: string;
  constructor(readonly shim: string) {
    this.file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'themis-faultctl-')), 'control');
    fs.writeFileSync(this.file, '');
  }

  /** Environment for startServer. */
  get env(): Record<string, string> {
    return { LD_PRELOAD: this.shim, THEMIS_FAULTFS_CONTROL: this.file };
  }

  set(mode: 'enospc' | 'eio-write' | 'eio-fsync', underPath: string): void {
    fs.writeFileSync(this.file, `${mode} ${fs.realpathSync(underPath)}\n`);
  }

  clear(): void {
    fs.writeFileSync(this.file, '');
  }
}

/** A mounted tmpfs of `bytes` (null when this machine does not allow mounting: no root or no CAP_SYS_ADMIN). */
export function mountTmpfs(bytes: number): { dir: string; unmount: () => void } | null {
  // THEMIS_TEST_NO_MOUNT=1 takes the unprivileged path (the shim) where mounting would work.
  if (process.env.THEMIS_TEST_NO_MOUNT === '1') return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Free bytes for an unprivileged user on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const st = fs.statfsSync(dir);
  return st.bavail * st.bsize;
}
