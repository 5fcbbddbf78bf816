#!/usr/bin/env node
import { ConfigError, HELP, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer, type RunningServer } from './app.js';

/** Entry point: flags/env → Config, start, and stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
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
}

void main();
