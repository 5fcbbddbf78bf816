import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, ROOT, sleep, tempDir } from '../helpers/server.js';

/**
 * `npm start` leaves no orphan (issue 20): stopping npm by its pid stops the server. The start script
 * execs the server in place of npm's `sh -c`, so npm (which forwards SIGTERM and SIGINT to its child)
 * signals the server itself; and under npm the server also stops when npm dies without forwarding
 * anything (SIGKILL), noticing it was re-parented (src/cli.ts). Before, npm's signal killed only the
 * shell and the server ran on, re-parented, holding the port and the data directory.
 *
 * The default run starts `npm start --ignore-scripts`, which skips `prestart` (the build; `npm test`
 * has built dist/ already) but runs `start` itself. THEMIS_SOAK=1 or THEMIS_SLOW=1 adds a run of the
 * whole `npm start`, build included (tsc, 20-60 s; it rewrites dist/ under concurrently running tests).
 */

const SLOW = process.env.THEMIS_SOAK === '1' || process.env.THEMIS_SLOW === '1';
const KEY = 'npm-start-admin-key-0123456789';

interface NpmStart {
  npm: ChildProcess;
  port: number;
  dataDir: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const started: NpmStart[] = [];
const serverPids: number[] = [];

afterAll(() => {
  for (const s of started) {
    if (s.npm.exitCode === null && s.npm.signalCode === null) s.npm.kill('SIGKILL');
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
  for (const pid of serverPids) {
    try {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** `npm start` (without the build unless `build`), on a free port with a fresh data directory. */
async function npmStart(build: boolean): Promise<NpmStart> {
  const port = await freePort();
  const dataDir = tempDir('themis-npm-start-');
  // The environment of whoever runs the tests, minus what an outer npm (npm test) put there.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  Object.assign(env, {
    THEMIS_PORT: String(port),
    THEMIS_HOST: '127.0.0.1',
    THEMIS_DATA_DIR: dataDir,
    THEMIS_ADMIN_KEY: KEY,
    THEMIS_LOG_LEVEL: 'info',
    THEMIS_AUDIT: 'off',
  });
  const npm = spawn('npm', ['start', ...(build ? [] : ['--ignore-scripts'])], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  npm.stdout!.on('data', () => {});
  npm.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const s: NpmStart = { npm, port, dataDir, exited, stderr: () => err };
  started.push(s);
  return s;
}

/** Wait for /health/ready; fail if npm exits first. (npm plus the server's start take ~2 s idle, 7 s on a loaded 2-core VM.) */
async function waitReady(s: NpmStart, timeoutMs: number): Promise<void> {
  let done = false;
  void s.exited.then(() => (done = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done) throw new Error(`npm start exited before the server was ready:\n${s.stderr()}`);
    try {
      const r = await fetch(`http://127.0.0.1:${s.port}/health/ready`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the server did not become ready within ${timeoutMs} ms:\n${s.stderr()}`);
}

/** /proc/<pid>/stat: state and parent pid (the command name may hold spaces: parse after the last ')'). */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Running (a zombie nobody reaped yet has stopped: it holds no port, no files). */
function alive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, s: NpmStart): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms:\n${s.stderr()}`);
}

/** The server's pid as it reports it, checked to be npm's direct child (exec: no shell in between). */
async function serverPid(s: NpmStart): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${s.port}/stats`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(r.status).toBe(200);
  const pid = ((await r.json()) as { server: { pid: number } }).server.pid;
  serverPids.push(pid);
  expect(pid).not.toBe(s.npm.pid);
  expect(procStat(pid)?.ppid, "the server is npm's child: the start script execs node in place of sh").toBe(s.npm.pid);
  expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('dist/src/cli.js');
  return pid;
}

/** Stop npm with `signal`; the server must be gone (pid and port) within `timeoutMs`, after a clean shutdown. */
async function expectStopped(s: NpmStart, pid: number, signal: NodeJS.Signals, timeoutMs = 20_000): Promise<void> {
  expect(await portAccepts(s.port)).toBe(true);
  s.npm.kill(signal);
  await waitFor(`the server (pid ${pid}) exiting after ${signal} to npm`, () => !alive(pid), timeoutMs, s);
  expect(await portAccepts(s.port)).toBe(false);
  const npmExit = await Promise.race([s.exited, sleep(timeoutMs).then(() => 'npm did not exit' as const)]);
  expect(npmExit).not.toBe('npm did not exit');
  // The server shut down cleanly (drained, LevelDB closed), whichever way the stop reached it.
  expect(s.stderr()).toMatch(/"msg":"stopped"/);
  expect(s.stderr()).not.toMatch(/"level":"error"/);
}

describe('npm start leaves no orphan', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to npm stops the server: pid gone, port closed, clean shutdown, npm exits 0',
    async (signal) => {
      const s = await npmStart(false);
      await waitReady(s, 60_000);
      const pid = await serverPid(s);
      await expectStopped(s, pid, signal);
      // npm forwarded the signal and exited with the server's own status (0 after a graceful shutdown).
      expect(await s.exited).toEqual({ code: 0, signal: null });
      expect(s.stderr()).toContain(`"signal":"${signal}"`);
    },
    90_000,
  );

  it('SIGKILL to npm (nothing forwarded): the server notices it lost npm and shuts down cleanly', async () => {
    const s = await npmStart(false);
    await waitReady(s, 60_000);
    const pid = await serverPid(s);
    await expectStopped(s, pid, 'SIGKILL');
    expect(await s.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(s.stderr()).toContain('"signal":"npm exited"');
  }, 90_000);

  it.skipIf(!SLOW)(
    'the whole npm start (prestart build included), then SIGTERM to npm',
    async () => {
      const s = await npmStart(true);
      await waitReady(s, 240_000);
      const pid = await serverPid(s);
      await expectStopped(s, pid, 'SIGTERM');
      expect(await s.exited).toEqual({ code: 0, signal: null });
    },
    300_000,
  );
});
