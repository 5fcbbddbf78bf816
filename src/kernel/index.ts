export {
  openOrder,
  type DatabaseConfig,
  type Gauge,
  type HistogramValue,
  type Module,
  type ModuleContext,
  type ServiceHost,
} from './module.js';
export { ModuleSet } from './module-set.js';
export { backupDataFile, type BackupTarget } from './backup-target.js';
export { openKernel, storageHealth, type Kernel, type StorageHealth } from './kernel.js';
export { DiskWatch } from './disk-watch.js';
