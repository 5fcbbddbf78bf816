import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Snapshot } from '../storage/index.js';

/**
 * What a module's `backup` hook is handed during an online backup
 * (src/backup/): the point the backup is taken at, and where to put the
 * files the module keeps in the data directory beside LevelDB (index
 * checkpoints, key files). LevelDB itself is copied by the backup from
 * `snapshot`; a module adds only its own files. Whatever it adds must
 * describe the database no later than `seq`: a checkpoint of a later commit
 * is left out (`omit`), and the restored server replays the change log from
 * an older checkpoint or rebuilds, exactly as after a crash.
 */
export interface BackupTarget {
  /** The change-log sequence number of the backup: every commit up to it is in `snapshot`, none after it. */
  readonly seq: number;
  /** The LevelDB snapshot the backup reads (e.g. to see which indexes existed at `seq`). */
  readonly snapshot: Snapshot;
  /** The server's data directory (absolute). */
  readonly dataDir: string;
  /**
   * Copy an open file into the backup under `name`, its path relative to the
   * data directory (`/`-separated, e.g. `vector/index-3.ckpt`). The copy reads
   * the handle, so a file replaced by a rename meanwhile (how checkpoints are
   * written) does not tear it. The caller closes the handle.
   */
  copy(name: string, source: FileHandle): Promise<void>;
  /**
   * A file holding a secret (a master key) under `name`: stored sealed with
   * the backup key (THEMIS_BACKUP_KEY), or left out of the backup, with a
   * warning, when none is configured. Never written in clear. `fingerprint`
   * identifies the secret without revealing it (restore checks it).
   */
  secret(name: string, content: Buffer, fingerprint?: string): Promise<void>;
  /**
   * A file of the data directory left out, and why (listed in the manifest).
   * `warn`: also a warning of the backup job; `fingerprint`: of a secret left
   * out, so that restore can check a key file given in its place.
   */
  omit(name: string, reason: string, opts?: { warn?: boolean; fingerprint?: string }): void;
}

/** Copy `<dataDir>/<name>` into the backup when it exists (a file replaced only by renames: one open handle is one version of it). */
export async function backupDataFile(b: BackupTarget, name: string): Promise<boolean> {
  let h: FileHandle;
  try {
    h = await fs.open(path.join(b.dataDir, name), 'r');
  } catch {
    return false;
  }
  try {
    await b.copy(name, h);
    return true;
  } finally {
    await h.close();
  }
}
