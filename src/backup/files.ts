import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Buffer size of file copies and hashing. */
const IO_BYTES = 1024 * 1024;

/** fsync a directory, so the names created in it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Write `data` to a new file (never over an existing one), fsynced; mode 0600. */
export async function writeNewFile(file: string, data: Buffer | string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const h = await fs.open(file, 'wx', 0o600);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Replace `file` atomically (temp file, fsync, rename, fsync of the directory). */
export async function replaceFile(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const h = await fs.open(tmp, 'w', 0o600);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, file);
  await syncDir(path.dirname(file));
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a large buffer, 1 MiB at a time with a turn of the event loop between (a few ms each). */
export async function sha256Yielding(data: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < data.length; at += IO_BYTES) {
    hash.update(data.subarray(at, at + IO_BYTES));
    if (at + IO_BYTES < data.length) await new Promise((r) => setImmediate(r));
  }
  return hash.digest('hex');
}

/**
 * Copy what `source` holds (from offset 0, whatever its path is now) to the
 * new file `dest`, fsynced; returns its size and SHA-256. Reads and writes
 * 1 MiB at a time on the thread pool, hashing on the way.
 */
export async function copyHandle(source: FileHandle, dest: string): Promise<{ bytes: number; sha256: string }> {
  await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  const out = await fs.open(dest, 'wx', 0o600);
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(IO_BYTES);
  let pos = 0;
  try {
    for (;;) {
      const { bytesRead } = await source.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const part = buf.subarray(0, bytesRead);
      hash.update(part);
      await out.write(part, 0, bytesRead);
      pos += bytesRead;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return { bytes: pos, sha256: hash.digest('hex') };
}

/** Size and SHA-256 of a file, read 1 MiB at a time. */
export async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const h = await fs.open(file, 'r');
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(IO_BYTES);
  let pos = 0;
  try {
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await h.close();
  }
  return { bytes: pos, sha256: hash.digest('hex') };
}

/** Every directory from `dir` down (for fsyncs after files were created in them). */
export async function dirsUnder(dir: string): Promise<string[]> {
  const out = [dir];
  for (const e of await fs.readdir(dir, { withFileTypes: true }))
    if (e.isDirectory()) out.push(...(await dirsUnder(path.join(dir, e.name))));
  return out;
}

/** Whether `child` is `parent` or inside it (both absolute and normalised). */
export function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}
