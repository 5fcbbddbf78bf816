import fs from 'node:fs/promises';
import path from 'node:path';
import type { components } from '../api/types.js';
import { ThemisError } from '../errors.js';
import { PACKAGE_VERSION } from '../paths.js';
import { allKeyspaces } from '../storage/index.js';
import { BACKUP_ID, MANIFEST_FILE, STATUS_FILE, newBackupId, type Manifest } from './format.js';
import { within, writeNewFile } from './files.js';
import { BackupJob, type BackupSource, type BackupView } from './job.js';
import { checkBackupPath } from './paths.js';

export interface BackupServiceOptions extends BackupSource {
  /** Where backups without a client-given path go, and where the others are recorded (`<id>.link.json`). */
  root: string;
}

/** What POST /admin/compact takes (full LevelDB keys in hex; either bound may be left out). */
export type CompactRequest = components['schemas']['CompactRequest'];

/** What POST /admin/compact answers: the contract's CompactResult (openapi.yaml). */
export type CompactResult = components['schemas']['CompactResult'];

const LEVELS = [0, 1, 2, 3, 4, 5, 6];

/**
 * Online backups (POST/GET /admin/backup) and compaction (POST
 * /admin/compact). One backup at a time; jobs of this process are kept in
 * memory, and those of earlier processes are found on disk: every backup
 * directory holds its status file, and the manifest once complete. A
 * backup written to a client-given path is recorded in the backup directory
 * by a small link file, so listings find it after a restart too.
 */
export class BackupService {
  /** The id of the backup being started or running. */
  private busy: string | undefined;
  private readonly jobs = new Map<string, BackupJob>();
  private compacting = false;
  /** Finish time (ms) of the newest successful backup known (the gauge). */
  private lastSuccessMs = 0;

  private constructor(private readonly o: BackupServiceOptions) {}

  static async open(o: BackupServiceOptions): Promise<BackupService> {
    const data = path.resolve(o.dataDir);
    const root = path.resolve(o.root);
    if (within(root, path.join(data, 'db')) || within(data, root))
      throw new Error(`the backup directory ${root} must not be, contain or lie inside the data directory's LevelDB (${data}/db)`);
    const s = new BackupService({ ...o, dataDir: data, root });
    for (const v of await s.onDisk()) if (v.status === 'done' && v.finished_at) s.noteSuccess(Date.parse(v.finished_at));
    return s;
  }

  get running(): boolean {
    return this.busy !== undefined;
  }

  get lastSuccessSeconds(): number {
    return Math.floor(this.lastSuccessMs / 1000);
  }

  /** Start a backup (one at a time: CONFLICT while one runs); answers once its snapshot is taken. */
  async start(req: { path?: string }): Promise<BackupView> {
    if (this.busy !== undefined)
      throw new ThemisError(
        'CONFLICT',
        `backup ${this.busy} is still running; one backup runs at a time (GET /admin/backup/${this.busy})`,
        {
          details: { id: this.busy },
        },
      );
    const id = newBackupId();
    // Taken before the first await: of two requests at once, the second gets the conflict.
    this.busy = id;
    try {
      const dir = req.path === undefined ? path.join(this.o.root, id) : await checkBackupPath(req.path, this.o.dataDir, this.o.root);
      await fs.mkdir(this.o.root, { recursive: true, mode: 0o700 });
      const job = await BackupJob.begin(this.o, id, dir, (j) => this.ended(j)).catch((e: unknown) => {
        throw startFailure(e, req.path !== undefined);
      });
      this.jobs.set(id, job);
      if (req.path !== undefined)
        await writeNewFile(path.join(this.o.root, `${id}.link.json`), `${JSON.stringify({ id, path: dir })}\n`).catch((e: unknown) =>
          this.o.log.warn('backup link file could not be written; the backup is not listed after a restart', { id, error: e }),
        );
      this.o.log.info('backup started', { id, path: dir, seq: job.seq });
      return job.view();
    } catch (e) {
      this.busy = undefined;
      throw e;
    }
  }

  private ended(job: BackupJob): void {
    if (this.busy === job.id) this.busy = undefined;
    if (job.status === 'done') this.noteSuccess(Date.now());
  }

  private noteSuccess(ms: number): void {
    if (ms > this.lastSuccessMs) this.lastSuccessMs = ms;
  }

  async get(id: string): Promise<BackupView> {
    const live = this.jobs.get(id);
    if (live) return live.view();
    const dir = BACKUP_ID.test(id) ? await this.dirOf(id) : undefined;
    const v = dir === undefined ? undefined : await readBackup(dir, id);
    if (!v) throw new ThemisError('NOT_FOUND', `no backup with id "${id.slice(0, 100)}"`);
    return v;
  }

  /** Every backup known, newest first: this process's jobs and what the backup directory holds. */
  async list(): Promise<BackupView[]> {
    const byId = new Map<string, BackupView>();
    for (const v of await this.onDisk()) byId.set(v.id, v);
    for (const [id, job] of this.jobs) byId.set(id, job.view());
    return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  private async dirOf(id: string): Promise<string | undefined> {
    const dir = path.join(this.o.root, id);
    if (await isDir(dir)) return dir;
    try {
      const link = JSON.parse(await fs.readFile(path.join(this.o.root, `${id}.link.json`), 'utf8')) as { path?: unknown };
      return typeof link.path === 'string' ? link.path : undefined;
    } catch {
      return undefined;
    }
  }

  private async onDisk(): Promise<BackupView[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.o.root);
    } catch {
      return [];
    }
    const ids = new Set<string>();
    for (const n of names) {
      const id = n.endsWith('.link.json') ? n.slice(0, -'.link.json'.length) : n;
      if (BACKUP_ID.test(id)) ids.add(id);
    }
    const out: BackupView[] = [];
    for (const id of ids) {
      const dir = await this.dirOf(id);
      const v = dir === undefined ? undefined : await readBackup(dir, id);
      if (v) out.push(v);
    }
    return out;
  }

  // ------------------------------------------------------------------ compaction

  /** LevelDB compaction of a keyspace, a key range, or everything; answers with the approximate sizes before and after. */
  async compact(req: CompactRequest): Promise<CompactResult> {
    const engine = this.o.engine;
    let gte: Buffer | undefined;
    let lt: Buffer | undefined;
    if (req.keyspace !== undefined) {
      if (req.start !== undefined || req.end !== undefined)
        throw new ThemisError('VALIDATION_FAILED', 'give either "keyspace" or "start"/"end", not both', { details: { field: 'keyspace' } });
      const ks = allKeyspaces().find((k) => k.name === req.keyspace);
      if (!ks)
        throw new ThemisError(
          'VALIDATION_FAILED',
          `unknown keyspace "${req.keyspace.slice(0, 64)}"; one of ${allKeyspaces()
            .map((k) => k.name)
            .join(', ')}`,
          { details: { field: 'keyspace' } },
        );
      ({ gte, lt } = ks.range());
    } else {
      gte = req.start === undefined ? undefined : Buffer.from(req.start, 'hex');
      lt = req.end === undefined ? undefined : Buffer.from(req.end, 'hex');
      if (gte !== undefined && lt !== undefined && Buffer.compare(gte, lt) >= 0)
        throw new ThemisError('VALIDATION_FAILED', '"end" must be after "start"', { details: { field: 'end' } });
    }
    if (this.compacting) throw new ThemisError('CONFLICT', 'a compaction is running; one runs at a time');
    this.compacting = true;
    try {
      const levels = () => LEVELS.map((l) => Number(engine.property(`leveldb.num-files-at-level${l}`)));
      const before = await engine.approximateRawSize(gte, lt);
      const filesBefore = levels();
      const started = performance.now();
      await engine.compactRaw(gte, lt);
      const ms = Math.round(performance.now() - started);
      const after = await engine.approximateRawSize(gte, lt);
      const range = {
        ...(req.keyspace !== undefined ? { keyspace: req.keyspace } : {}),
        start: gte?.toString('hex') ?? null,
        end: lt?.toString('hex') ?? null,
      };
      this.o.log.info('compaction done', { ...range, before_bytes: before, after_bytes: after, ms });
      return {
        success: true,
        range,
        before_bytes: before,
        after_bytes: after,
        reclaimed_bytes: Math.max(0, before - after),
        files_at_level_before: filesBefore,
        files_at_level_after: levels(),
        duration_ms: ms,
      };
    } finally {
      this.compacting = false;
    }
  }

  /** Shutdown (or a storage reopen): a running backup fails now, and its partial files are removed. */
  async close(): Promise<void> {
    const running = [...this.jobs.values()].filter((j) => j.status === 'running');
    await Promise.all(running.map((j) => j.abort('the server stopped during the backup')));
  }
}

/** A backup that could not begin: the disk full is 507; a client-given directory that cannot be written, 400; else as it is (500). */
function startFailure(e: unknown, clientPath: boolean): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new ThemisError('INSUFFICIENT_STORAGE', 'no space left for the backup', { cause: e, retryAfterMs: 10_000 });
  if (clientPath && typeof code === 'string' && ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'EISDIR'].includes(code))
    return new ThemisError('VALIDATION_FAILED', `path cannot be written (${code})`, { cause: e, details: { field: 'path' } });
  return e;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** A backup directory's state as found on disk: done (manifest), failed, or interrupted (status file only). */
async function readBackup(dir: string, id: string): Promise<BackupView | undefined> {
  let manifestText: string | undefined;
  try {
    manifestText = await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    // not complete
  }
  if (manifestText !== undefined) {
    try {
      const m = JSON.parse(manifestText) as Manifest;
      return {
        id,
        status: 'done',
        seq: m.seq,
        first_seq: m.first_seq,
        path: dir,
        bytes: m.bytes,
        entries: m.leveldb.entries,
        progress: 1,
        started_at: m.started_at,
        finished_at: m.finished_at,
        warnings: Array.isArray(m.warnings) ? m.warnings : [],
        server_version: m.server_version,
      };
    } catch {
      return failed(id, dir, 'its manifest is unreadable');
    }
  }
  try {
    const s = JSON.parse(await fs.readFile(path.join(dir, STATUS_FILE), 'utf8')) as Partial<BackupView>;
    if (s.id !== id) return undefined;
    if (s.status === 'failed') return { ...failed(id, dir, s.error ?? 'failed'), ...pick(s) };
    // Running in no process of ours now: the server stopped before it finished.
    return { ...failed(id, dir, 'interrupted: the server stopped before the backup finished'), ...pick(s) };
  } catch {
    return undefined;
  }
}

function pick(s: Partial<BackupView>): Partial<BackupView> {
  const out: Partial<BackupView> = {};
  if (typeof s.seq === 'number') out.seq = s.seq;
  if (typeof s.first_seq === 'number') out.first_seq = s.first_seq;
  if (typeof s.started_at === 'string') out.started_at = s.started_at;
  if (typeof s.finished_at === 'string') out.finished_at = s.finished_at;
  return out;
}

function failed(id: string, dir: string, error: string): BackupView {
  return {
    id,
    status: 'failed',
    seq: 0,
    first_seq: 0,
    path: dir,
    bytes: 0,
    entries: 0,
    progress: 0,
    // The id begins with the start time (UTC).
    started_at: id.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z.*$/, '$1-$2-$3T$4:$5:$6.000Z'),
    error,
    warnings: [],
    server_version: PACKAGE_VERSION,
  };
}
