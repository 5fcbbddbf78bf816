import { randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * The backup format (version 1), documented in docs/operations.md
 * ("Backup format"). A backup is a directory:
 *
 *   manifest.json              written last: its presence means the backup is complete
 *   backup.json                the job's status while it runs, and if it failed
 *   db/000001.kv.gz ...        LevelDB's keys and values read from one snapshot, in key order,
 *                              as gzip streams of records (below)
 *   data/<name>                files of the data directory beside LevelDB (admin.key, index
 *                              and cache checkpoints), at their paths relative to it
 *   secrets/<name>.sealed      secrets (the PII master key) sealed with the backup key
 *
 * A LevelDB of a running server cannot be copied file by file (compaction
 * rewrites and deletes its table files meanwhile), and LevelDB has no
 * checkpoint command; reading every key from one snapshot is what gives one
 * consistent point. Restoring writes the pairs in order into a new LevelDB.
 *
 * Chunk stream (before gzip): the magic `THKV`, a u32 format version (1),
 * then records `u32 key length, key, u32 value length, value` (big-endian
 * lengths), keys strictly ascending within a chunk and across chunks.
 */
export const BACKUP_FORMAT = 'themis-backup';
export const BACKUP_FORMAT_VERSION = 1;

export const MANIFEST_FILE = 'manifest.json';
export const STATUS_FILE = 'backup.json';

const CHUNK_MAGIC = Buffer.from('THKV', 'latin1');
const CHUNK_VERSION = 1;
const HEADER_BYTES = 8;

/** Raw (uncompressed) bytes after which a chunk file is closed and a new one begun. */
export const CHUNK_RAW_BYTES = 16 * 1024 * 1024;

/** One file of a backup: its path inside the backup, size and SHA-256 (hex). */
export interface FileEntry {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ChunkEntry {
  /** Path inside the backup (`db/000001.kv.gz`). */
  path: string;
  entries: number;
  /** Bytes of the records before compression. */
  raw_bytes: number;
  /** First and last key of the chunk (hex). */
  first_key: string;
  last_key: string;
}

/** A data-directory file in the backup: `name` relative to the data directory, `path` inside the backup. */
export interface DataEntry {
  name: string;
  path: string;
}

export interface SecretEntry {
  name: string;
  path: string;
  /** The secret's own fingerprint (the PII key's, as the vault stores it), when the module gave one. */
  fingerprint?: string;
  /** Fingerprint of the backup key that sealed it (which key restore needs). */
  key_fingerprint: string;
}

export interface OmittedEntry {
  name: string;
  reason: string;
  /** Of a secret left out: its fingerprint, which a key file given to restore must match. */
  fingerprint?: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  id: string;
  /** Change-log sequence number of the backup: every commit up to it is in, none after. */
  seq: number;
  /** Oldest change-log entry retained at that point. */
  first_seq: number;
  /** When the snapshot was taken. */
  started_at: string;
  finished_at: string;
  server_version: string;
  /** The LevelDB key-space format (storage FORMAT_VERSION) of the data. */
  db_format_version: number;
  leveldb: { entries: number; raw_bytes: number; chunks: ChunkEntry[] };
  data: DataEntry[];
  secrets: SecretEntry[];
  omitted: OmittedEntry[];
  /** What the operator should know (a secret left out for want of a backup key). */
  warnings: string[];
  /** Every file of the backup but the manifest (and the status file). */
  files: FileEntry[];
  /** Sum of `files[].bytes`. */
  bytes: number;
}

/** Backup ids: UTC time of the start and 6 random hex digits, so they sort by time. */
export const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newBackupId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${t}-${randomBytes(3).toString('hex')}`;
}

/** The chunk file of number `n` (1-based). */
export function chunkPath(n: number): string {
  return `db/${String(n).padStart(6, '0')}.kv.gz`;
}

/**
 * A relative path as names and paths in a manifest must be: `/`-separated
 * segments of `A-Z a-z 0-9 . _ -`, none empty, `.` or `..`. A manifest is
 * input to restore; this keeps every write inside the target directory.
 */
export function isSafeRelative(p: string): boolean {
  if (p.length === 0 || p.length > 512 || p !== path.posix.normalize(p)) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && /^[A-Za-z0-9._-]+$/.test(s));
}

/**
 * Builds one chunk's records in one growing buffer: keys and values are
 * copied in as they come (the entries LevelDB handed out can be collected
 * at once, and no concatenation of many small buffers is needed at the
 * end — both of which showed as event-loop pauses under a large backup).
 */
export class ChunkBuilder {
  private buf: Buffer;
  private at = HEADER_BYTES;
  private n = 0;
  private first: string | undefined;
  private lastKey: Buffer | undefined;

  constructor(private readonly initialBytes = 1024 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  add(key: Buffer, value: Buffer): void {
    const need = 8 + key.length + value.length;
    if (this.at + need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + need));
      this.buf.copy(grown, 0, 0, this.at);
      this.buf = grown;
    }
    this.at = this.buf.writeUInt32BE(key.length, this.at);
    this.at += key.copy(this.buf, this.at);
    this.at = this.buf.writeUInt32BE(value.length, this.at);
    this.at += value.copy(this.buf, this.at);
    this.n++;
    this.first ??= key.toString('hex');
    this.lastKey = key;
  }

  /** Bytes of the records so far. */
  get rawBytes(): number {
    return this.at - HEADER_BYTES;
  }

  get entries(): number {
    return this.n;
  }

  /** The chunk's records with the header, and what the manifest says of them; the builder starts over. */
  take(): { raw: Buffer; entries: number; firstKey: string; lastKey: string } {
    CHUNK_MAGIC.copy(this.buf, 0);
    this.buf.writeUInt32BE(CHUNK_VERSION, 4);
    const out = {
      raw: this.buf.subarray(0, this.at),
      entries: this.n,
      firstKey: this.first ?? '',
      lastKey: this.lastKey?.toString('hex') ?? '',
    };
    // The records now belong to the caller: the next chunk gets a buffer of its own.
    this.buf = Buffer.allocUnsafe(Math.max(this.initialBytes, Math.min(this.buf.length, 64 * 1024 * 1024)));
    this.at = HEADER_BYTES;
    this.n = 0;
    this.first = undefined;
    this.lastKey = undefined;
    return out;
  }
}

/** The records of a chunk (after gunzip); throws on a malformed chunk. Keys and values are views into `raw`. */
export function decodeChunk(raw: Buffer): [Buffer, Buffer][] {
  if (raw.length < HEADER_BYTES || !raw.subarray(0, 4).equals(CHUNK_MAGIC)) throw new Error('not a backup chunk (magic)');
  const version = raw.readUInt32BE(4);
  if (version !== CHUNK_VERSION) throw new Error(`chunk format version ${version}, this restore reads ${CHUNK_VERSION}`);
  const out: [Buffer, Buffer][] = [];
  let at = HEADER_BYTES;
  while (at < raw.length) {
    if (at + 4 > raw.length) throw new Error('chunk truncated');
    const kl = raw.readUInt32BE(at);
    at += 4;
    if (at + kl + 4 > raw.length) throw new Error('chunk truncated');
    const key = raw.subarray(at, at + kl);
    at += kl;
    const vl = raw.readUInt32BE(at);
    at += 4;
    if (at + vl > raw.length) throw new Error('chunk truncated');
    out.push([key, raw.subarray(at, at + vl)]);
    at += vl;
  }
  return out;
}
