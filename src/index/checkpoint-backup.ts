import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { BackupTarget } from '../kernel/index.js';

/** Header bytes read to find a checkpoint's sequence number (the definition text before it is small). */
const HEAD_BYTES = 1024 * 1024;

/**
 * Online backup of one kind's checkpoint files (`<dir>/index-<id>.ckpt`,
 * added to the backup as `<kind>/index-<id>.ckpt`): only those of indexes
 * the backup's snapshot holds as ready (`ready`), and only those not newer
 * than the backup's seq (`seqOf` reads it from the header), so a restored
 * server replays the change log from the checkpoint to the backup's seq,
 * as after a crash. The others are left out, listed in the manifest: the
 * restored server recovers those indexes without a checkpoint. Each file is
 * read from one open handle: a checkpoint replaced by a rename meanwhile
 * does not tear the copy.
 */
export async function backupCheckpoints(
  b: BackupTarget,
  dir: string,
  kind: string,
  ready: ReadonlySet<number>,
  seqOf: (head: Buffer) => number,
): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return; // no checkpoints yet
  }
  for (const file of names.sort()) {
    const m = /^index-(\d+)\.ckpt$/.exec(file);
    if (!m) continue;
    const name = `${kind}/${file}`;
    if (!ready.has(Number(m[1]))) {
      b.omit(name, `its index is not ready at seq ${b.seq} (created, built or dropped after it)`);
      continue;
    }
    let h: FileHandle;
    try {
      h = await fs.open(path.join(dir, file), 'r');
    } catch {
      continue; // removed since the listing (the index was dropped)
    }
    try {
      const size = (await h.stat()).size;
      const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
      await h.read(head, 0, head.length, 0);
      let seq: number;
      try {
        seq = seqOf(head);
      } catch (e) {
        b.omit(name, `unreadable checkpoint (${(e as Error).message}); the restored server recovers the index without it`);
        continue;
      }
      if (seq > b.seq) {
        b.omit(name, `written at seq ${seq}, after the backup's seq ${b.seq}; the restored server recovers the index without it`);
        continue;
      }
      await b.copy(name, h);
    } finally {
      await h.close();
    }
  }
}
