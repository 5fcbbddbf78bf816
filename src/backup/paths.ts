import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ThemisError } from '../errors.js';
import { within } from './files.js';

function bad(message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field: 'path' } });
}

async function real(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * The directory a client asked a backup to be written to (`path` of POST
 * /admin/backup), checked: an absolute path without `..`, whose parent
 * exists; not the data directory, nor inside it (where the server's own
 * files live) unless under the backup directory, nor a directory that
 * contains the data directory; and new or empty (a backup never writes over
 * files). Symbolic links in the parent are resolved before these checks.
 * Otherwise any place the server's user may write is allowed: an admin key
 * can write a backup anywhere the process can (restrict with file-system
 * permissions). Returns the path to write to.
 */
export async function checkBackupPath(raw: string, dataDir: string, backupRoot: string): Promise<string> {
  if (raw.includes('\0')) throw bad('path must not contain NUL');
  if (!path.isAbsolute(raw)) throw bad(`path must be absolute, got "${raw.slice(0, 200)}"`);
  if (raw.split(/[\\/]/).includes('..')) throw bad('path must not contain ".." segments');
  const wanted = path.resolve(raw);
  if (wanted === path.parse(wanted).root) throw bad('path must not be the root directory');
  const parent = path.dirname(wanted);
  let parentReal: string;
  try {
    parentReal = await fs.realpath(parent);
    if (!(await fs.stat(parentReal)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw bad(`the parent directory of path, ${parent.slice(0, 200)}, does not exist`);
  }
  try {
    await fs.access(parentReal, fs.constants.W_OK);
  } catch {
    throw bad(`the server may not write in ${parentReal.slice(0, 200)}`);
  }
  const target = path.join(parentReal, path.basename(wanted));
  const data = await real(dataDir);
  const root = await real(backupRoot);
  if (within(data, target)) throw bad('path must not be the data directory or a directory containing it');
  if (within(target, data) && !(within(target, root) && target !== root))
    throw bad(`path is inside the data directory ${data}; only its backup directory ${root} may hold backups there`);
  let st: Stats | undefined;
  try {
    st = await fs.lstat(target);
  } catch {
    // does not exist: will be created
  }
  if (st !== undefined) {
    if (!st.isDirectory()) throw bad('path exists and is not a directory');
    if ((await fs.readdir(target)).length > 0) throw bad('path exists and is not empty; a backup never writes over files');
  }
  return target;
}
