import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ownPids } from './contention.js';
import { runCommand } from './run-command.js';
import { freePort, log, sleep, tempDir } from './util.js';

/**
 * A throwaway PostgreSQL cluster for comparison benchmarks: `initdb` into a
 * temp dir (trust auth), `postgres` started directly as a child of the bench
 * (so its pid is the postmaster's and every backend is its child), stopped and
 * deleted by `stop()`. When the bench runs as root, initdb and postgres run as
 * the `postgres` OS user (initdb refuses root). Binaries come from
 * PG_BIN_DIR (default /usr/lib/postgresql/15/bin); when missing and we are
 * root, Debian's `postgresql` package is installed with apt-get.
 */
export interface PgOptions {
  /** Extra `-c name=value` settings (besides listen_addresses / port / socket dir). */
  settings: Record<string, string>;
}

export interface PgServer {
  readonly port: number;
  readonly host: string;
  /** Unix socket dir (also the parent of the data dir). */
  readonly dir: string;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  readonly binDir: string;
  readonly user: string;
  /** The postmaster's pid. */
  readonly pid: number;
  /** `postgres --version`. */
  readonly version: string;
  /** Postmaster plus all its live children (backends, background processes). */
  pids(): number[];
  /** Tail of the server log (stderr). */
  log(): string;
  /** Fast shutdown (SIGINT; SIGQUIT after 15 s), then delete the directory. Idempotent. */
  stop(): Promise<void>;
  /** Synchronous last-resort cleanup (process exit): SIGQUIT and delete the directory. */
  killSync(): void;
}

export const PG_BIN_DIR = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

/** The PostgreSQL bin dir, installing Debian's postgresql when it is missing (root only). */
export function ensurePostgres(): string {
  if (fs.existsSync(path.join(PG_BIN_DIR, 'postgres'))) return PG_BIN_DIR;
  if (process.getuid?.() !== 0) throw new Error(`${PG_BIN_DIR}/postgres not found (install Debian's postgresql, or set PG_BIN_DIR)`);
  log('postgres not found: apt-get install -y postgresql');
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!fs.existsSync(path.join(PG_BIN_DIR, 'postgres')))
    throw new Error(`apt-get installed postgresql, but ${PG_BIN_DIR}/postgres is still missing`);
  return PG_BIN_DIR;
}

/** uid/gid of the OS user to run the server as (postgres when we are root). */
function runAs(): { uid?: number; gid?: number; user: string } {
  if (process.getuid?.() !== 0) return { user: execFileSync('id', ['-un'], { encoding: 'utf8' }).trim() };
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid, user: 'postgres' };
}

/** Live children of a pid (from /proc/<pid>/task/<pid>/children, else a /proc scan). */
export function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    const out: number[] = [];
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const f = fs.readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ');
        if (Number(f[1]) === pid) out.push(Number(e));
      } catch {
        // gone
      }
    }
    return out;
  }
}

export async function startPostgres(opts: PgOptions): Promise<PgServer> {
  const binDir = ensurePostgres();
  const who = runAs();
  const dir = tempDir('themis-bench-pg-');
  const dataDir = path.join(dir, 'data');
  if (who.uid !== undefined) fs.chownSync(dir, who.uid, who.gid!);
  const ids = who.uid !== undefined ? { uid: who.uid, gid: who.gid! } : {};
  const init = spawnSync(
    path.join(binDir, 'initdb'),
    ['-D', dataDir, '--auth=trust', '-U', who.user, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    { ...ids, encoding: 'utf8', cwd: dir },
  );
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr}\n${init.stdout}`);
  }
  const port = await freePort();
  const host = '127.0.0.1';
  const settings: Record<string, string> = {
    listen_addresses: host,
    port: String(port),
    unix_socket_directories: dir,
    ...opts.settings,
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const proc = spawn(path.join(binDir, 'postgres'), args, { ...ids, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const keep = (c: Buffer) => {
    err += c.toString();
    if (err.length > 64_000) err = err.slice(-32_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const pid = proc.pid!;
  ownPids.add(pid);
  let removed = false;
  const removeDir = () => {
    if (removed) return;
    removed = true;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const version = execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  const server: PgServer = {
    port,
    host,
    dir,
    dataDir,
    proc,
    binDir,
    user: who.user,
    pid,
    version,
    pids: () => (exited ? [] : [pid, ...childPids(pid)]),
    log: () => err,
    stop: async () => {
      if (!exited) {
        proc.kill('SIGINT');
        const t = setTimeout(() => proc.kill('SIGQUIT'), 15_000);
        await exit;
        clearTimeout(t);
      }
      ownPids.delete(pid);
      removeDir();
    },
    killSync: () => {
      if (!exited) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // gone
        }
      }
      removeDir();
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      removeDir();
      throw new Error(`postgres exited during start:\n${err}`);
    }
    const r = spawnSync(path.join(binDir, 'pg_isready'), ['-h', host, '-p', String(port), '-U', who.user, '-d', 'postgres'], {
      encoding: 'utf8',
    });
    if (r.status === 0) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`postgres did not accept connections within 30 s:\n${err}`);
    }
    await sleep(100);
  }
}

export interface PgbenchSpec {
  server: PgServer;
  /** The custom script (pgbench -f), e.g. `\set c random(0, 9999)` lines and one SQL statement. */
  script: string;
  clients: number;
  durationS: number;
  /** Run pgbench under `taskset -c <cpus>` (null: unpinned). */
  cpus: string | null;
}

export interface PgbenchResult {
  /** Transactions processed (each one script run = one statement here). */
  transactions: number;
  failed: number;
  /** Seconds of the run (-T). */
  durationS: number;
  /** pgbench's tps without the initial connection time. */
  tps: number;
  /** Per-transaction latencies in ms (from the -l transaction log). */
  latenciesMs: Float64Array;
  raw: string;
  version: string;
}

/** `pgbench -n -M prepared -c N -j 1 -T secs -f script -l` against the server over TCP; latencies from the transaction log. */
export async function runPgbench(spec: PgbenchSpec): Promise<PgbenchResult> {
  const dir = tempDir('themis-bench-pgbench-');
  try {
    const script = path.join(dir, 'script.sql');
    fs.writeFileSync(script, spec.script.endsWith('\n') ? spec.script : `${spec.script}\n`);
    const bin = path.join(spec.server.binDir, 'pgbench');
    const args = [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(spec.clients),
      '-j',
      '1',
      '-T',
      String(Math.max(1, Math.round(spec.durationS))),
      '-f',
      script,
      '-l',
      `--log-prefix=${path.join(dir, 'pgbench_log')}`,
      '-h',
      spec.server.host,
      '-p',
      String(spec.server.port),
      '-U',
      spec.server.user,
      'postgres',
    ];
    const [cmd, argv] = spec.cpus !== null ? ['taskset', ['-c', spec.cpus, bin, ...args]] : [bin, args];
    const { code, stdout, stderr } = await runCommand(cmd, argv, { cwd: dir });
    const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
    const transactions = num(/number of transactions actually processed:\s+(\d+)/);
    const failed = num(/number of failed transactions:\s+(\d+)/) || 0;
    // A short run (a warm-up) may end before many clients have connected: 0 transactions, tps "nan" or missing.
    const tps = num(/tps = ([\d.]+) \(without initial connection time\)/) || 0;
    if (code !== 0 || !Number.isFinite(transactions)) throw new Error(`pgbench failed (exit ${code}): ${stderr.slice(0, 2000)}\n${stdout}`);
    const lat: number[] = [];
    for (const f of fs.readdirSync(dir)) {
      if (!f.startsWith('pgbench_log')) continue;
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (line === '') continue;
        // client_id transaction_no time(µs) script_no time_epoch time_us
        const us = Number(line.split(' ')[2]);
        if (Number.isFinite(us)) lat.push(us / 1000);
      }
    }
    const version = stdout.match(/^pgbench \(PostgreSQL\) .*$/m)?.[0] ?? spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    return {
      transactions,
      failed,
      durationS: Math.max(1, Math.round(spec.durationS)),
      tps,
      latenciesMs: Float64Array.from(lat),
      raw: `${stdout}${stderr.trim() !== '' ? `\n[stderr] ${stderr.slice(0, 2000)}` : ''}`,
      version,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
