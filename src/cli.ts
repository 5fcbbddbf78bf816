#!/usr/bin/env node
import { ConfigError, HELP, loadConfig } from './config.js';
import { createLogger } from './log.js';
import type { RunningServer } from './app.js';
import { backupKeyOf, restoreBeforeStart, restoreCommand } from './backup/index.js';

/**
 * Entry point: flags/env → Config, start, and stop cleanly on SIGTERM/SIGINT; `restore` is a subcommand
 * (docs/operations.md), and `aql`, `import`, `export`, `backup` are client subcommands (docs/cli.md).
 */
async function main(): Promise<void> {
  if (process.argv[2] === 'restore') {
    process.exitCode = await restoreCommand(process.argv.slice(3));
    return;
  }
  const sub = process.argv[2];
  if (sub === 'aql' || sub === 'import' || sub === 'export' || sub === 'backup') {
    // Client subcommands (docs/cli.md): loaded only here, so the server's start path never loads the HTTP client.
    const { clientCommand } = await import('./client-cli/index.js');
    process.exitCode = await clientCommand(sub, process.argv.slice(3));
    return;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`themists: ${e.message}\n\n${HELP}`);
      process.exit(2);
    }
    throw e;
  }
  if (config.help) {
    process.stdout.write(HELP);
    return;
  }
  const log = createLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', { error: reason }));

  let server: RunningServer;
  try {
    if (config.restoreFrom !== undefined) await restoreBeforeStart(config.restoreFrom, config.dataDir, backupKeyOf(config), log);
    // Loaded here, not at the top: `themis restore` needs none of the server (every module) and starts in a fraction of the time.
    const { startServer } = await import('./app.js');
    server = await startServer(config, { log });
  } catch (e) {
    log.error('start failed', { error: (e as Error).message });
    process.exit(1);
  }

  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) {
      log.warn('second signal: exiting immediately', { signal });
      process.exit(1);
    }
    signalled = true;
    log.info('shutting down', { signal, inflight: server.http.inflightCount });
    server.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        log.error('shutdown failed', { error: e });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  watchNpmParent(() => shutdown('npm exited'));
}

/**
 * Under `npm start` (npm sets npm_lifecycle_event), stop when npm goes away. The start script execs the
 * server in place of npm's shell, so npm passes SIGTERM/SIGINT straight to it; but npm cannot pass on a
 * SIGKILL, after which the server would be left running, re-parented. Checked once a second (unref'd).
 * A server started any other way (node dist/src/cli.js, Docker, systemd) is never stopped by its parent.
 */
function watchNpmParent(stop: () => void): void {
  if (process.env.npm_lifecycle_event !== 'start' || process.platform === 'win32') return;
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 1000);
  timer.unref();
}

void main();
