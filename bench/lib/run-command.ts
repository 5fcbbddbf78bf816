import { spawn } from 'node:child_process';

/** A finished process: its exit code (null when a signal ended it) and its output. */
export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a command to its end, capturing its output (load generators: wrk,
 * pgbench; the tests' CLI runs). `env` replaces the environment, `stdin` is
 * written to its standard input. Rejects only when it cannot start.
 */
export function runCommand(
  cmd: string,
  argv: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, {
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
    let stdout = '';
    let stderr = '';
    p.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    if (opts.stdin !== undefined) p.stdin?.end(opts.stdin);
  });
}
