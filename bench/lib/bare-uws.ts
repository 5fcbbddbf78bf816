import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownPids } from './contention.js';
import { pinServer } from './cpu.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bare-uws-child.js');

export interface BareUws {
  readonly base: string;
  readonly port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface BareUwsOptions {
  /** Exact bytes to answer GET with (200 OK, application/json). */
  getBody: Buffer;
  /** Exact bytes to answer PUT with, after reading the request body. */
  putBody: Buffer;
  /** Status line for PUT, e.g. "201 Created". */
  putStatus: string;
  /**
   * Extra exact routes (method + path, matched before the catch-all GET/PUT
   * handlers), each answered after reading the whole request body with its
   * own status line and JSON bytes; e.g. POST /transaction/begin.
   */
  routes?: BareRoute[];
}

export interface BareRoute {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  /** Status line, e.g. "200 OK". */
  status: string;
  body: Buffer;
}

/** Start the bare uWS ceiling server in its own process (own event loop, own core if one is free). */
export function startBareUws(opts: BareUwsOptions): Promise<BareUws> {
  const proc = spawn(process.execPath, [CHILD], {
    env: {
      ...process.env,
      BENCH_BARE_GET_BODY: opts.getBody.toString('base64'),
      BENCH_BARE_PUT_BODY: opts.putBody.toString('base64'),
      BENCH_BARE_PUT_STATUS: opts.putStatus,
      BENCH_BARE_PORT: '0',
      BENCH_BARE_ROUTES: JSON.stringify(
        (opts.routes ?? []).map((r) => ({ method: r.method, path: r.path, status: r.status, body: r.body.toString('base64') })),
      ),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  if (proc.pid !== undefined) ownPids.add(proc.pid);
  const exit = new Promise<void>((resolve) =>
    proc.on('exit', () => {
      if (proc.pid !== undefined) ownPids.delete(proc.pid);
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`bare uWS server did not start:\n${err}`));
    }, 15_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bare uWS server exited (${code}):\n${err}`));
    });
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const port = Number(m[1]);
      pinServer(proc.pid);
      resolve({
        base: `http://127.0.0.1:${port}`,
        port,
        pid: proc.pid,
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) {
            proc.kill('SIGTERM');
            await exit;
          }
        },
      });
    });
  });
}
