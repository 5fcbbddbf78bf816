import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PACKAGE_VERSION } from '../paths.js';
import { BulkLoader, FORMAT_VERSION } from '../storage/index.js';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  MANIFEST_FILE,
  decodeChunk,
  isSafeRelative,
  type FileEntry,
  type Manifest,
} from './format.js';
import { copyHandle, dirsUnder, hashFile, sha256, syncDir, within, writeNewFile } from './files.js';
import { unseal, type SealedSecret } from './seal.js';

const gunzip = promisify(zlib.gunzip);

/** Exit codes of `themis restore` (docs/operations.md). */
export const RESTORE_EXIT = {
  ok: 0,
  /** An unexpected failure (an I/O error, a full disk); the target is left as it was. */
  failed: 1,
  usage: 2,
  /** The target is refused: not empty (without --force), in use by a running server, or overlapping the backup. */
  target: 3,
  /** The backup is refused: no or unreadable manifest, an unknown format version, a missing file, a size or SHA-256 mismatch. */
  invalid: 4,
  /** A key is missing or wrong: sealed secrets without the backup key, a wrong backup key, a key file that does not match. */
  key: 5,
} as const;

export class RestoreError extends Error {
  override name = 'RestoreError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (m: string) => new RestoreError(RESTORE_EXIT.invalid, m);

/** The default backup directory inside a data directory: a restore with --force keeps it (the backup may come from it). */
const KEPT_DIR = 'backups';

/** The marker a restore leaves in the data directory (`--restore-from` reads it to restore only once). */
export const RESTORE_MARKER = 'restore.json';

export interface RestoreMarker {
  backup_id: string;
  seq: number;
  from: string;
  restored_at: string;
  server_version: string;
}

/** A secret supplied in place of one the backup left out (e.g. `--pii-key-file`), with the fingerprint it has. */
export interface SuppliedSecret {
  name: string;
  content: Buffer;
  fingerprint?: string;
}

export interface RestoreOptions {
  /** Replace a non-empty target (never one a running server holds). */
  force?: boolean;
  /** Unseals the backup's secrets. */
  backupKey?: Buffer | undefined;
  supplied?: readonly SuppliedSecret[];
  /** One line per step, for the CLI. */
  progress?: (line: string) => void;
}

export interface RestoreReport {
  id: string;
  seq: number;
  entries: number;
  files: number;
  secrets: string[];
  /** Secrets the backup left out and nothing supplied: the server needs them from its configuration. */
  missing: string[];
}

/** Read and check the manifest's shape and versions (not the files). */
export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch (e) {
    throw invalid(
      `${dir} holds no ${MANIFEST_FILE} (${(e as NodeJS.ErrnoException).code ?? String(e)}): not a backup, or one that did not finish`,
    );
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw invalid(`${MANIFEST_FILE} is not valid JSON`);
  }
  if (m === null || typeof m !== 'object' || m.format !== BACKUP_FORMAT)
    throw invalid(`${MANIFEST_FILE} is not a ThemisTS backup manifest`);
  if (typeof m.format_version !== 'number' || m.format_version > BACKUP_FORMAT_VERSION)
    throw invalid(
      `backup format version ${String(m.format_version)}; this ThemisTS (${PACKAGE_VERSION}) reads up to ${BACKUP_FORMAT_VERSION}`,
    );
  if (typeof m.db_format_version !== 'number' || m.db_format_version > FORMAT_VERSION)
    throw invalid(`the backup's data has storage format ${String(m.db_format_version)}; this ThemisTS reads up to ${FORMAT_VERSION}`);
  const ok =
    typeof m.id === 'string' &&
    Number.isSafeInteger(m.seq) &&
    m.leveldb !== null &&
    typeof m.leveldb === 'object' &&
    Array.isArray(m.leveldb.chunks) &&
    Array.isArray(m.files) &&
    Array.isArray(m.data) &&
    Array.isArray(m.secrets) &&
    Array.isArray(m.omitted);
  if (!ok) throw invalid(`${MANIFEST_FILE} lacks fields of format version ${BACKUP_FORMAT_VERSION}`);
  const listed = new Map<string, FileEntry>();
  for (const f of m.files) {
    if (
      typeof f?.path !== 'string' ||
      !isSafeRelative(f.path) ||
      !Number.isSafeInteger(f.bytes) ||
      !/^[0-9a-f]{64}$/.test(String(f.sha256))
    )
      throw invalid(`${MANIFEST_FILE} lists a malformed file entry ${JSON.stringify(f).slice(0, 200)}`);
    listed.set(f.path, f);
  }
  const need = (p: unknown, what: string) => {
    if (typeof p !== 'string' || !listed.has(p)) throw invalid(`${MANIFEST_FILE}: ${what} ${String(p)} is not among its files`);
  };
  for (const c of m.leveldb.chunks) need(c.path, 'chunk');
  for (const d of m.data) {
    need(d.path, 'data file');
    if (!isSafeRelative(d.name) || d.name === MANIFEST_FILE)
      throw invalid(`${MANIFEST_FILE}: data file name ${String(d.name)} is not allowed`);
  }
  for (const s of m.secrets) {
    need(s.path, 'secret');
    if (!isSafeRelative(s.name)) throw invalid(`${MANIFEST_FILE}: secret name ${String(s.name)} is not allowed`);
  }
  return m;
}

/** The manifest, once every file it lists is there with its size and SHA-256. */
export async function verifyBackup(dir: string, progress?: (line: string) => void): Promise<Manifest> {
  const m = await readManifest(dir);
  let bytes = 0;
  for (const f of m.files) {
    let got: { bytes: number; sha256: string };
    try {
      got = await hashFile(path.join(dir, f.path));
    } catch (e) {
      throw invalid(`${f.path} is missing or unreadable (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    if (got.bytes !== f.bytes) throw invalid(`${f.path} has ${got.bytes} bytes; the manifest says ${f.bytes}`);
    if (got.sha256 !== f.sha256) throw invalid(`${f.path} does not match its SHA-256 in the manifest (the file was modified or damaged)`);
    bytes += got.bytes;
  }
  progress?.(`verified ${m.files.length} files (${bytes} bytes) of backup ${m.id} at seq ${m.seq}`);
  return m;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new RestoreError(RESTORE_EXIT.target, `${dir} exists and is not a directory`);
    return (await fs.readdir(dir)).length === 0;
  } catch (e) {
    if (e instanceof RestoreError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/**
 * Restore the backup in `backupDir` into the data directory `target`: the
 * backup is verified whole first (nothing is written when it fails), the
 * secrets unsealed, then LevelDB written from the chunks and the data files
 * and secrets copied into a staging directory inside `target`, every file
 * and directory fsynced, and only then moved into place (after removing
 * what `target` held, with `force`). A server started on `target` opens at
 * the backup's sequence number.
 */
export async function restoreBackup(backupDir: string, targetDir: string, opts: RestoreOptions = {}): Promise<RestoreReport> {
  const say = opts.progress ?? (() => undefined);
  const source = await fs.realpath(backupDir).catch(() => {
    throw invalid(`${backupDir} does not exist`);
  });
  const target = path.resolve(targetDir);
  const targetReal = await fs.realpath(target).catch(() => target);
  // The one place a backup may lie inside the target: its backup directory, which a restore keeps.
  if (within(targetReal, source) || (within(source, targetReal) && !within(source, path.join(targetReal, KEPT_DIR))))
    throw new RestoreError(RESTORE_EXIT.target, `the target ${target} and the backup ${source} must not contain one another`);
  const empty = await isEmptyOrMissing(target);
  if (!empty && !opts.force)
    throw new RestoreError(RESTORE_EXIT.target, `${target} is not empty; restore into an empty directory, or pass --force to replace it`);
  if (!empty && (await BulkLoader.inUse(path.join(target, 'db'))))
    throw new RestoreError(RESTORE_EXIT.target, `${target}/db is in use by a running server; stop it first`);

  const m = await verifyBackup(source, say);

  // Every key problem before anything is written.
  const secrets: { name: string; content: Buffer }[] = [];
  if (m.secrets.length > 0 && opts.backupKey === undefined)
    throw new RestoreError(
      RESTORE_EXIT.key,
      `the backup holds sealed secrets (${m.secrets.map((s) => s.name).join(', ')}); give the backup key that sealed them (THEMIS_BACKUP_KEY, THEMIS_BACKUP_KEY_FILE or --backup-key-file)`,
    );
  for (const s of m.secrets) {
    let sealed: SealedSecret;
    try {
      sealed = JSON.parse(await fs.readFile(path.join(source, s.path), 'utf8')) as SealedSecret;
    } catch {
      throw invalid(`${s.path} is not a sealed secret`);
    }
    try {
      secrets.push({ name: s.name, content: unseal(opts.backupKey!, s.name, sealed) });
    } catch (e) {
      throw new RestoreError(
        RESTORE_EXIT.key,
        (e as Error).message === 'wrong key'
          ? `the backup key given is not the one that sealed ${s.name} (fingerprint ${s.key_fingerprint} expected)`
          : `${s.name} cannot be unsealed (${(e as Error).message}): wrong backup key or a damaged file`,
      );
    }
  }
  for (const sup of opts.supplied ?? []) {
    const known = m.secrets.find((s) => s.name === sup.name) ?? m.omitted.find((o) => o.name === sup.name);
    const want = known?.fingerprint;
    if (want !== undefined && sup.fingerprint !== undefined && want !== sup.fingerprint)
      throw new RestoreError(RESTORE_EXIT.key, `the ${sup.name} given does not match the one of the backup (fingerprint ${want} expected)`);
    if (!secrets.some((s) => s.name === sup.name)) secrets.push({ name: sup.name, content: sup.content });
  }
  const missing = m.omitted.filter((o) => o.fingerprint !== undefined && !secrets.some((s) => s.name === o.name)).map((o) => o.name);

  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  const staging = path.join(target, `.restore-${process.pid}`);
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { mode: 0o700 });
  try {
    const entries = await loadLevelDb(source, m, path.join(staging, 'db'), say);
    const byPath = new Map(m.files.map((f) => [f.path, f]));
    for (const d of m.data) {
      const h = await fs.open(path.join(source, d.path), 'r');
      try {
        const got = await copyHandle(h, path.join(staging, d.name));
        if (got.sha256 !== byPath.get(d.path)!.sha256) throw invalid(`${d.path} changed while it was restored`);
      } finally {
        await h.close();
      }
    }
    for (const s of secrets) await writeNewFile(path.join(staging, s.name), s.content);
    const marker: RestoreMarker = {
      backup_id: m.id,
      seq: m.seq,
      from: source,
      restored_at: new Date().toISOString(),
      server_version: PACKAGE_VERSION,
    };
    await writeNewFile(path.join(staging, RESTORE_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    for (const d of (await dirsUnder(staging)).reverse()) await syncDir(d);

    // Into place: what the target held goes first (only with force), then the staged entries are renamed up.
    for (const name of await fs.readdir(target)) {
      if (path.join(target, name) === staging || name === KEPT_DIR) continue;
      await fs.rm(path.join(target, name), { recursive: true, force: true });
    }
    for (const name of await fs.readdir(staging)) await fs.rename(path.join(staging, name), path.join(target, name));
    await fs.rmdir(staging);
    await syncDir(target);
    say(
      `restored backup ${m.id} (seq ${m.seq}, ${entries} LevelDB entries, ${m.data.length} files, ${secrets.length} secrets) into ${target}`,
    );
    return { id: m.id, seq: m.seq, entries, files: m.data.length, secrets: secrets.map((s) => s.name), missing };
  } catch (e) {
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (empty) await fs.rmdir(target).catch(() => undefined);
    throw e;
  }
}

/** LevelDB from the chunk files, each checked again as it is read (hash, record count, first and last key, key order). */
async function loadLevelDb(source: string, m: Manifest, location: string, say: (line: string) => void): Promise<number> {
  const loader = await BulkLoader.create(location);
  const byPath = new Map(m.files.map((f) => [f.path, f]));
  let total = 0;
  try {
    for (const c of m.leveldb.chunks) {
      const gz = await fs.readFile(path.join(source, c.path));
      if (sha256(gz) !== byPath.get(c.path)!.sha256) throw invalid(`${c.path} changed while it was restored`);
      let pairs: [Buffer, Buffer][];
      try {
        pairs = decodeChunk(await gunzip(gz));
      } catch (e) {
        throw invalid(`${c.path} is not a valid chunk: ${(e as Error).message}`);
      }
      if (pairs.length !== c.entries) throw invalid(`${c.path} holds ${pairs.length} entries; the manifest says ${c.entries}`);
      if (pairs.length > 0 && (pairs[0]![0].toString('hex') !== c.first_key || pairs[pairs.length - 1]![0].toString('hex') !== c.last_key))
        throw invalid(`${c.path} does not hold the key range the manifest gives it`);
      // Batches of about 4 MiB.
      let from = 0;
      let bytes = 0;
      for (let i = 0; i < pairs.length; i++) {
        bytes += pairs[i]![0].length + pairs[i]![1].length;
        if (bytes >= 4 * 1024 * 1024 || i === pairs.length - 1) {
          try {
            await loader.put(pairs.slice(from, i + 1));
          } catch (e) {
            if (e instanceof TypeError) throw invalid(`${c.path}: ${e.message}`);
            throw e;
          }
          from = i + 1;
          bytes = 0;
        }
      }
      total += pairs.length;
    }
    if (total !== m.leveldb.entries) throw invalid(`the chunks hold ${total} entries; the manifest says ${m.leveldb.entries}`);
    await loader.finish();
  } catch (e) {
    await loader.abort();
    throw e;
  }
  say(`wrote ${total} LevelDB entries from ${m.leveldb.chunks.length} chunks`);
  return total;
}
