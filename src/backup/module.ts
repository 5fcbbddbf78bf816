import fs from 'node:fs';
import path from 'node:path';
import { parseBackupKey } from '../config.js';
import type { DatabaseConfig, Module } from '../kernel/index.js';
import { BackupService } from './service.js';

/** The backup key of the configuration (THEMIS_BACKUP_KEY, else the file THEMIS_BACKUP_KEY_FILE); undefined without one. */
export function backupKeyOf(config: DatabaseConfig): Buffer | undefined {
  if (config.backupKey !== undefined) return parseBackupKey(config.backupKey);
  if (config.backupKeyFile === undefined) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(config.backupKeyFile, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the backup key file ${config.backupKeyFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseBackupKey(text);
}

/**
 * Online backup and compaction (docs/operations.md, "Backup and restore"):
 * POST /admin/backup copies LevelDB from one snapshot plus every module's
 * files (their `backup` hooks) while the server serves; `themis restore`
 * (restore-cli.ts) turns a backup into a data directory. Opens after every
 * other module (it reaches them through `ctx.opened()` when a backup runs)
 * and closes first, failing a running backup before storage goes.
 */
export const Backup: Module<BackupService> = {
  name: 'backup',
  open: (ctx) =>
    BackupService.open({
      engine: ctx.engine,
      changeLog: ctx.changeLog,
      modules: ctx.opened,
      backupKey: backupKeyOf(ctx.config),
      log: ctx.log,
      dataDir: path.resolve(ctx.config.dataDir),
      root: ctx.config.backupDir ?? path.join(ctx.config.dataDir, 'backups'),
    }),
  close: (s) => s.close(),
  gauges: [
    { name: 'themis_backup_running', help: 'Whether an online backup is running (1) or not (0)', read: (s) => (s.running ? 1 : 0) },
    {
      name: 'themis_backup_last_success_timestamp_seconds',
      help: 'Unix time at which the newest successful backup finished (0: none known)',
      read: (s) => s.lastSuccessSeconds,
    },
  ],
};
