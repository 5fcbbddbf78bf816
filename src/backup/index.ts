export { Backup, backupKeyOf } from './module.js';
export { BackupService, type CompactRequest, type CompactResult } from './service.js';
export type { BackupStatus, BackupView } from './job.js';
export { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, type Manifest } from './format.js';
export {
  RESTORE_EXIT,
  RESTORE_MARKER,
  RestoreError,
  readManifest,
  restoreBackup,
  verifyBackup,
  type RestoreMarker,
  type RestoreOptions,
  type RestoreReport,
} from './restore.js';
export { RESTORE_HELP, backupKeyFrom, restoreBeforeStart, restoreCommand } from './restore-cli.js';
