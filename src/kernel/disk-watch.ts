import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';

/**
 * After a full disk: looks every `everyMs` whether the data directory has
 * room again (`freeBytes` free, and a 1 MiB file can be written and
 * fsynced: statfs alone misses quotas and races), then calls `resume`
 * (which reopens storage). Stops when `resume` succeeds or on `stop()`.
 */
export class DiskWatch {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly dataDir: string,
    private readonly freeBytes: number,
    private readonly everyMs: number,
    private readonly log: Logger,
    /** Reopen storage; true when writes work again. */
    private readonly resume: (free: number) => Promise<boolean>,
  ) {}

  get watching(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      let free: number;
      try {
        const st = await fs.promises.statfs(this.dataDir);
        free = st.bavail * st.bsize;
      } catch {
        return;
      }
      if (free < this.freeBytes || !(await this.probeWrite())) return;
      if (await this.resume(free)) this.stop();
    } catch (e) {
      this.log.error('checking the disk failed', { error: e });
    } finally {
      this.busy = false;
    }
  }

  private async probeWrite(): Promise<boolean> {
    const file = path.join(this.dataDir, '.write-probe');
    try {
      const fh = await fs.promises.open(file, 'w', 0o600);
      try {
        await fh.write(Buffer.alloc(1024 * 1024));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return true;
    } catch {
      return false;
    } finally {
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
    }
  }
}
