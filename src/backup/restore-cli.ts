import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseBackupKey, parsePiiKey } from '../config.js';
import type { Logger } from '../log.js';
import { PII_KEY_FILE, VaultKeys } from '../pii/index.js';
import {
  RESTORE_EXIT,
  RESTORE_MARKER,
  RestoreError,
  readManifest,
  restoreBackup,
  verifyBackup,
  type RestoreMarker,
  type SuppliedSecret,
} from './restore.js';

export const RESTORE_HELP = `Usage: themis restore <backup-dir> --data-dir <dir> [options]

Verifies a backup written by POST /admin/backup (its manifest, the size and
SHA-256 of every file) and writes a data directory a server opens at the
backup's sequence number.

  --data-dir <dir>          the data directory to create (must be empty or missing)
  --force                   replace a non-empty data directory (never one a running server holds)
  --verify-only             verify the backup and write nothing
  --backup-key-file <file>  the backup key that sealed the backup's secrets
                            (else THEMIS_BACKUP_KEY or THEMIS_BACKUP_KEY_FILE)
  --pii-key-file <file>     the PII master key, for a backup taken without a backup key
                            (checked against the fingerprint the backup records)
  --help                    show this text

Exit codes: 0 restored (or verified), 1 failed (I/O), 2 usage, 3 target refused
(not empty, in use, overlapping the backup), 4 backup invalid (manifest, version,
missing or modified file), 5 key missing or wrong.
`;

function readKeyText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RestoreError(RESTORE_EXIT.usage, `cannot read the ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** The backup key: --backup-key-file, else THEMIS_BACKUP_KEY, else THEMIS_BACKUP_KEY_FILE. */
export function backupKeyFrom(flagFile: string | undefined, env: NodeJS.ProcessEnv): Buffer | undefined {
  const text =
    flagFile !== undefined
      ? readKeyText(flagFile, 'backup key')
      : env.THEMIS_BACKUP_KEY
        ? env.THEMIS_BACKUP_KEY
        : env.THEMIS_BACKUP_KEY_FILE
          ? readKeyText(env.THEMIS_BACKUP_KEY_FILE, 'backup key')
          : undefined;
  if (text === undefined) return undefined;
  try {
    return parseBackupKey(text);
  } catch (e) {
    throw new RestoreError(RESTORE_EXIT.usage, (e as Error).message);
  }
}

/** The PII master key file given in place of one the backup left out, with its fingerprint. */
export function piiKeyFrom(file: string): SuppliedSecret {
  const text = readKeyText(file, 'PII key');
  let key: Buffer;
  try {
    key = parsePiiKey(text);
  } catch (e) {
    throw new RestoreError(RESTORE_EXIT.key, `${file}: ${(e as Error).message}`);
  }
  return { name: PII_KEY_FILE, content: Buffer.from(`${key.toString('base64')}\n`), fingerprint: new VaultKeys(key, 'file').fingerprint };
}

/** `themis restore ...`: the exit code (messages on stdout, errors on stderr). */
export async function restoreCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const fail = (e: unknown): number => {
    const code = e instanceof RestoreError ? e.exitCode : RESTORE_EXIT.failed;
    process.stderr.write(`themis restore: ${e instanceof Error ? e.message : String(e)}\n`);
    return code;
  };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        force: { type: 'boolean' },
        'verify-only': { type: 'boolean' },
        'backup-key-file': { type: 'string' },
        'pii-key-file': { type: 'string' },
        help: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`themis restore: ${(e as Error).message}\n\n${RESTORE_HELP}`);
    return RESTORE_EXIT.usage;
  }
  if (values.help === true) {
    process.stdout.write(RESTORE_HELP);
    return RESTORE_EXIT.ok;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`themis restore: give exactly one backup directory\n\n${RESTORE_HELP}`);
    return RESTORE_EXIT.usage;
  }
  const backupDir = path.resolve(positionals[0]!);
  try {
    if (values['verify-only'] === true) {
      const m = await verifyBackup(backupDir, out);
      out(
        `backup ${m.id}: seq ${m.seq}, ${m.leveldb.entries} LevelDB entries, ${m.data.length} data files, ${m.secrets.length} sealed secrets, taken ${m.started_at} by ThemisTS ${m.server_version}: valid`,
      );
      return RESTORE_EXIT.ok;
    }
    const dataDir = values['data-dir'];
    if (typeof dataDir !== 'string' || dataDir.trim() === '') {
      process.stderr.write(`themis restore: --data-dir is required\n\n${RESTORE_HELP}`);
      return RESTORE_EXIT.usage;
    }
    const backupKey = backupKeyFrom(values['backup-key-file'] as string | undefined, env);
    const piiFile = values['pii-key-file'];
    const r = await restoreBackup(backupDir, dataDir, {
      force: values.force === true,
      backupKey,
      supplied: typeof piiFile === 'string' ? [piiKeyFrom(piiFile)] : [],
      progress: out,
    });
    for (const name of r.missing)
      out(
        `note: ${name} was not in the backup${name === PII_KEY_FILE ? ': start the server with THEMIS_PII_KEY or THEMIS_PII_KEY_FILE (the same key), or restore again with --pii-key-file' : ''}`,
      );
    return RESTORE_EXIT.ok;
  } catch (e) {
    return fail(e);
  }
}

/**
 * `--restore-from <backup>` (THEMIS_RESTORE_FROM), before the server opens
 * its data directory: an empty or missing data directory is restored from
 * the backup; one restored from this same backup before (its restore.json
 * names the backup's id) is left as it is, so a restarted container with the
 * flag still set starts normally; any other data directory is refused
 * (RestoreError), never overwritten.
 */
export async function restoreBeforeStart(from: string, dataDir: string, backupKey: Buffer | undefined, log: Logger): Promise<void> {
  const m = await readManifest(from);
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dataDir, RESTORE_MARKER), 'utf8')) as Partial<RestoreMarker>;
    if (marker.backup_id === m.id) {
      log.info('restore skipped: the data directory was restored from this backup before', { backup: m.id, seq: m.seq });
      return;
    }
  } catch {
    // not restored before
  }
  try {
    const r = await restoreBackup(from, dataDir, { backupKey, progress: (line) => log.info(line) });
    log.info('restored from backup', { backup: r.id, seq: r.seq, entries: r.entries, data_dir: dataDir });
    for (const name of r.missing) log.warn('a secret was not in the backup; the server needs it from its configuration', { file: name });
  } catch (e) {
    if (e instanceof RestoreError && e.exitCode === RESTORE_EXIT.target)
      throw new RestoreError(
        e.exitCode,
        `--restore-from: the data directory ${dataDir} is not empty and was not restored from backup ${m.id}; empty it, or start without --restore-from (${e.message})`,
      );
    throw e;
  }
}
