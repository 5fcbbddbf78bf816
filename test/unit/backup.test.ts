/**
 * The online backup's pieces (src/backup/): the chunk format, sealing of
 * secrets, path checks, the choice of checkpoint files, and a backup and
 * restore of an in-process database whose indexes load from the copied
 * checkpoints; tampered backups are refused with their exit codes.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/index.js';
import { Backup, RESTORE_EXIT, RestoreError, restoreBackup, verifyBackup, type BackupView } from '../../src/backup/index.js';
import { BACKUP_ID, ChunkBuilder, decodeChunk, isSafeRelative, newBackupId } from '../../src/backup/format.js';
import { checkBackupPath } from '../../src/backup/paths.js';
import { backupKeyFingerprint, seal, unseal } from '../../src/backup/seal.js';
import type { Database } from '../../src/db.js';
import { CheckpointWriter } from '../../src/index/checkpoint-io.js';
import { backupCheckpoints } from '../../src/index/checkpoint-backup.js';
import { checkpointSeq } from '../../src/index/fulltext/index.js';
import { Indexes } from '../../src/index/module.js';
import { Vectors } from '../../src/index/vector/index.js';
import type { BackupTarget } from '../../src/kernel/index.js';
import type { Snapshot } from '../../src/storage/index.js';
import { codeOf, rejection } from '../helpers/errors.js';
import { openDb, tempDir, write } from '../helpers/inproc.js';
import { waitUntil } from '../helpers/server.js';

const KEY = Buffer.alloc(32, 3);

describe('chunk format', () => {
  it('records round-trip in order, binary keys and empty values included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 200 })), { maxLength: 60 }),
        (pairs) => {
          const sorted = [...new Map(pairs.map(([k, v]) => [Buffer.from(k).toString('hex'), v])).entries()]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([k, v]) => [Buffer.from(k, 'hex'), Buffer.from(v)] as const);
          const b = new ChunkBuilder();
          for (const [k, v] of sorted) b.add(k, v);
          const c = b.take();
          expect(c.entries).toBe(sorted.length);
          expect(c.raw.length).toBe(8 + sorted.reduce((n, [k, v]) => n + 8 + k.length + v.length, 0));
          const back = decodeChunk(c.raw);
          expect(back.map(([k, v]) => [k.toString('hex'), v.toString('hex')])).toEqual(
            sorted.map(([k, v]) => [k.toString('hex'), v.toString('hex')]),
          );
          if (sorted.length > 0) {
            expect(c.firstKey).toBe(sorted[0]![0].toString('hex'));
            expect(c.lastKey).toBe(sorted[sorted.length - 1]![0].toString('hex'));
          }
          // The builder starts over.
          expect(b.entries).toBe(0);
          expect(b.rawBytes).toBe(0);
        },
      ),
    );
  });

  it('a truncated chunk, another magic or version is refused', () => {
    const b = new ChunkBuilder();
    b.add(Buffer.from('k1'), Buffer.from('value one'));
    b.add(Buffer.from('k2'), Buffer.from('value two'));
    const raw = b.take().raw;
    expect(() => decodeChunk(raw.subarray(0, raw.length - 3))).toThrow('chunk truncated');
    expect(() => decodeChunk(Buffer.concat([Buffer.from('XXXX'), raw.subarray(4)]))).toThrow('magic');
    const v2 = Buffer.from(raw);
    v2.writeUInt32BE(2, 4);
    expect(() => decodeChunk(v2)).toThrow('chunk format version 2');
  });

  it('backup ids sort by time; relative names stay inside the target', () => {
    const a = newBackupId(new Date('2026-05-01T10:15:00.123Z'));
    const b = newBackupId(new Date('2026-05-01T10:15:01Z'));
    expect(a).toMatch(/^20260501T101500Z-[0-9a-f]{6}$/);
    expect(BACKUP_ID.test(a)).toBe(true);
    expect(a < b).toBe(true);
    for (const ok of ['admin.key', 'vector/index-3.ckpt', 'cache/hnsw-384.meta']) expect(isSafeRelative(ok), ok).toBe(true);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', './a', 'a/', 'a b', 'a\\b', '.'])
      expect(isSafeRelative(bad), bad).toBe(false);
  });
});

describe('sealed secrets', () => {
  it('unseal gives the secret back; another key, another name or a changed byte is refused', () => {
    const secret = Buffer.from('c2VjcmV0IGtleSBtYXRlcmlhbA==\n');
    const s = seal(KEY, 'pii-master.key', secret);
    expect(s).toMatchObject({ alg: 'A256GCM', kdf: 'HKDF-SHA256', key_fingerprint: backupKeyFingerprint(KEY) });
    expect(JSON.stringify(s)).not.toContain(secret.toString('utf8').trim());
    expect(unseal(KEY, 'pii-master.key', s).equals(secret)).toBe(true);
    expect(() => unseal(Buffer.alloc(32, 4), 'pii-master.key', s)).toThrow('wrong key');
    expect(() => unseal(KEY, 'other.key', s)).toThrow();
    const c = Buffer.from(s.ciphertext, 'base64');
    c[0] = c[0]! ^ 1;
    expect(() => unseal(KEY, 'pii-master.key', { ...s, ciphertext: c.toString('base64') })).toThrow();
    // A fresh IV every time: two seals of one secret differ.
    expect(seal(KEY, 'pii-master.key', secret).ciphertext).not.toBe(s.ciphertext);
  });
});

describe('backup path checks', () => {
  const data = tempDir('themis-data-');
  const root = path.join(data, 'backups');
  fs.mkdirSync(root);
  const field = async (p: string) => {
    const e = await rejection(checkBackupPath(p, data, root));
    return `${e.code} ${String(e.details?.field)}`;
  };

  it('accepts a new or empty directory outside the data directory, or under its backup directory', async () => {
    const outside = tempDir('themis-out-');
    expect(await checkBackupPath(path.join(outside, 'b1'), data, root)).toBe(path.join(fs.realpathSync(outside), 'b1'));
    expect(await checkBackupPath(outside, data, root)).toBe(fs.realpathSync(outside));
    expect(await checkBackupPath(path.join(root, 'x'), data, root)).toBe(path.join(fs.realpathSync(root), 'x'));
  });

  it('refuses relative paths, "..", a missing parent, the data directory, its inside, its ancestors and non-empty targets', async () => {
    const bad = 'VALIDATION_FAILED path';
    expect(await field('rel/dir')).toBe(bad);
    expect(await field('/tmp/a/../b')).toBe(bad);
    expect(await field(path.join(data, 'nope', 'deeper'))).toBe(bad);
    expect(await field(data)).toBe(bad);
    expect(await field(path.join(data, 'db'))).toBe(bad);
    expect(await field(path.join(data, 'db', 'x'))).toBe(bad);
    expect(await field(root)).toBe(bad);
    expect(await field(path.dirname(data))).toBe(bad);
    expect(await field('/')).toBe(bad);
    const full = tempDir('themis-full-');
    fs.writeFileSync(path.join(full, 'f'), 'x');
    expect(await field(full)).toBe(bad);
    expect(await field(path.join(full, 'f'))).toBe(bad);
    // Through a symbolic link into the data directory: resolved, refused.
    const link = path.join(tempDir('themis-link-'), 'l');
    fs.symlinkSync(data, link);
    expect(await field(path.join(link, 'db2'))).toBe(bad);
  });
});

/** A BackupTarget that records what a module adds. */
function recordingTarget(seq: number): BackupTarget & { copied: string[]; omitted: [string, string][] } {
  const t = {
    seq,
    snapshot: undefined as unknown as Snapshot,
    dataDir: '/nonexistent',
    copied: [] as string[],
    omitted: [] as [string, string][],
    copy: async (name: string) => {
      t.copied.push(name);
    },
    secret: async () => undefined,
    omit: (name: string, reason: string) => {
      t.omitted.push([name, reason]);
    },
  };
  return t;
}

/** A fulltext checkpoint header (the body does not matter for choosing files). */
function fulltextHead(id: number, seq: number): Buffer {
  const w = new CheckpointWriter(256);
  w.u32(0x54484654);
  w.u32(1);
  w.u32(id);
  w.str('{"language":"en"}');
  w.f64(seq);
  w.u32(0);
  return w.done();
}

describe('checkpoint files in a backup', () => {
  it('copies those of indexes ready at the backup and not newer than its seq; lists the others as omitted', async () => {
    const dir = tempDir('themis-ckpt-');
    fs.writeFileSync(path.join(dir, 'index-1.ckpt'), fulltextHead(1, 40));
    fs.writeFileSync(path.join(dir, 'index-2.ckpt'), fulltextHead(2, 51));
    fs.writeFileSync(path.join(dir, 'index-3.ckpt'), fulltextHead(3, 10));
    fs.writeFileSync(path.join(dir, 'index-4.ckpt'), Buffer.from('garbage'));
    fs.writeFileSync(path.join(dir, 'index-5.ckpt.tmp'), fulltextHead(5, 1));
    expect(checkpointSeq(fulltextHead(7, 123))).toBe(123);
    const t = recordingTarget(50);
    await backupCheckpoints(t, dir, 'fulltext', new Set([1, 2, 4]), checkpointSeq);
    expect(t.copied).toEqual(['fulltext/index-1.ckpt']);
    expect(t.omitted.map(([n]) => n)).toEqual(['fulltext/index-2.ckpt', 'fulltext/index-3.ckpt', 'fulltext/index-4.ckpt']);
    expect(t.omitted[0]![1]).toContain('written at seq 51');
    expect(t.omitted[1]![1]).toContain('not ready at seq 50');
    expect(t.omitted[2]![1]).toContain('unreadable checkpoint');
    // No directory: nothing to add.
    await backupCheckpoints(t, path.join(dir, 'missing'), 'vector', new Set(), checkpointSeq);
    expect(t.copied).toHaveLength(1);
  });
});

describe('backup and restore of an in-process database', () => {
  const open: Database[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });

  async function backupOf(db: Database, req: { path?: string } = {}): Promise<BackupView> {
    const started = await db.get(Backup).start(req);
    const v = await waitUntil(
      () => db.get(Backup).get(started.id),
      (x) => x.status !== 'running',
      20_000,
    );
    expect(v.status, v.error).toBe('done');
    return v;
  }

  it('restores at the backup seq; the fulltext and vector indexes load from the copied checkpoints and replay to it', async () => {
    const dir = tempDir('themis-bk-');
    const db = await openDb(dir, 'relaxed', { backupKey: KEY.toString('base64') });
    open.push(db);
    await db.get(Indexes).create({ table: 'd', column: 'text', type: 'fulltext' });
    await db.get(Vectors).createIndex({ name: 'dv', table: 'd', field: 'v', dimension: 3, metric: 'L2' });
    for (let i = 0; i < 100; i++) await write(db, { key: `d:${i}`, doc: { text: `word${i % 7} common`, v: [i, i / 2, 1] } });
    for (let i = 0; i < 20; i++) await db.get(Cache).put({ key: `q${i}`, value: { answer: i }, embedding: [1, i, 2] });
    await db.checkpoint();
    await db.get(Cache).checkpoint();
    // Changed after the cache's checkpoint: the restored cache reconciles its graph with the entries.
    await db.get(Cache).put({ key: 'q0', value: { answer: 'new' }, embedding: [0, 0, 1] });
    for (let i = 100; i < 120; i++) await write(db, { key: `d:${i}`, doc: { text: `word${i % 7} common`, v: [i, 0, 0] } });
    const seq = db.changeLog.lastSeq;
    const s = await db.get(Backup).start({});
    expect(s).toMatchObject({ status: 'running', seq });
    // Written after the snapshot: not in the backup.
    for (let i = 0; i < 10; i++) await write(db, { key: `d:late${i}`, doc: { text: 'late', v: [0, 0, i] } });
    const v = await waitUntil(
      () => db.get(Backup).get(s.id),
      (x) => x.status !== 'running',
      20_000,
    );
    expect(v).toMatchObject({ status: 'done', seq, progress: 1 });
    const manifest = JSON.parse(fs.readFileSync(path.join(v.path, 'manifest.json'), 'utf8')) as {
      data: { name: string }[];
      secrets: { name: string }[];
    };
    const names = manifest.data.map((d) => d.name);
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^fulltext\/index-\d+\.ckpt$/),
        expect.stringMatching(/^vector\/index-\d+\.ckpt$/),
        'cache/hnsw-3.meta',
        'cache/hnsw-3.bin',
      ]),
    );
    expect(manifest.secrets.map((x) => x.name)).toEqual(['pii-master.key']);
    await db.close();
    open.pop();

    const target = path.join(tempDir('themis-rs-'), 'data');
    const lines: string[] = [];
    const r = await restoreBackup(v.path, target, { backupKey: KEY, progress: (l) => lines.push(l) });
    expect(r).toMatchObject({ id: v.id, seq, secrets: ['pii-master.key'], missing: [] });
    expect(lines.at(-1)).toContain(`restored backup ${v.id} (seq ${seq}`);
    const db2 = await openDb(target);
    open.push(db2);
    expect(db2.changeLog.lastSeq).toBe(seq);
    const ft = db2.get(Indexes).fulltext('d', 'text');
    expect(ft.loadedFrom).toBe('checkpoint');
    expect(ft.stats().documents).toBe(120);
    const vi = db2.get(Vectors).manager.get('dv');
    expect(vi.loadedFrom).toBe('checkpoint');
    expect(vi.stats().vectorCount).toBe(120);
    expect((db2.get(Vectors).search({ index: 'dv', vector: [119, 0, 0], k: 1 }) as { results?: unknown }).results).toEqual([
      { pk: '119', distance: 0 },
    ]);
    const cache = db2.get(Cache);
    expect(cache.loadStats.sources.get(3)).toBe('checkpoint');
    expect(cache.stats().entries).toBe(20);
    const hit = await cache.query({ embedding: [0, 0, 1], threshold: 0.99 });
    expect(hit.hits.map((h) => [h.key, h.value])).toEqual([['q0', { answer: 'new' }]]);
  });

  it('verify and restore refuse a damaged backup with exit code 4, and a target problem with 3', async () => {
    const db = await openDb(tempDir('themis-bk-'));
    open.push(db);
    for (let i = 0; i < 20; i++) await write(db, { key: `t:${i}`, doc: { i } });
    const v = await backupOf(db);
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'no error';
      } catch (e) {
        return e instanceof RestoreError ? e.exitCode : `not a RestoreError: ${String(e)}`;
      }
    };
    expect((await verifyBackup(v.path)).seq).toBe(v.seq);
    const copy = (name: string) => {
      const to = path.join(tempDir('themis-cp-'), name);
      fs.cpSync(v.path, to, { recursive: true });
      return to;
    };
    // A chunk file gone.
    const gone = copy('gone');
    fs.rmSync(path.join(gone, 'db', '000001.kv.gz'));
    expect(await code(verifyBackup(gone))).toBe(RESTORE_EXIT.invalid);
    // A manifest entry whose name leaves the target.
    const escaping = copy('escape');
    const mf = path.join(escaping, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8')) as { data: { name: string; path: string }[]; files: { path: string }[] };
    m.data.push({ name: '../../evil', path: m.files[0]!.path });
    fs.writeFileSync(mf, JSON.stringify(m));
    expect(await code(verifyBackup(escaping))).toBe(RESTORE_EXIT.invalid);
    // No manifest (an unfinished backup).
    const partial = copy('partial');
    fs.rmSync(path.join(partial, 'manifest.json'));
    expect(await code(verifyBackup(partial))).toBe(RESTORE_EXIT.invalid);
    // The target is the backup's parent.
    expect(await code(restoreBackup(gone, path.dirname(gone)))).toBe(RESTORE_EXIT.target);
    // Not a directory.
    const file = path.join(tempDir('themis-f-'), 'f');
    fs.writeFileSync(file, 'x');
    expect(await code(restoreBackup(v.path, file))).toBe(RESTORE_EXIT.target);
  });

  it('one backup at a time; a failed start leaves none running', async () => {
    const db = await openDb(tempDir('themis-bk-'));
    open.push(db);
    for (let i = 0; i < 50; i++) await write(db, { key: `t:${i}`, doc: { i, pad: 'x'.repeat(1000) } });
    expect(await codeOf(db.get(Backup).start({ path: 'relative' }))).toBe('VALIDATION_FAILED');
    const first = db.get(Backup).start({});
    expect(await codeOf(db.get(Backup).start({}), true)).toBe('409 CONFLICT');
    const v = await first;
    // waitUntil gives up quietly after its timeout: a generous one (a loaded CI machine once took more than 10 s), then assert.
    const end = await waitUntil(
      () => db.get(Backup).get(v.id),
      (x) => x.status !== 'running',
      120_000,
    );
    expect(end.status).toBe('done');
    // Once a job reads as done, the next one can start (it once read done while its status file was still written).
    expect(db.get(Backup).running).toBe(false);
    expect(db.get(Backup).lastSuccessSeconds).toBeGreaterThan(0);
    const second = await db.get(Backup).start({});
    expect(
      (
        await waitUntil(
          () => db.get(Backup).get(second.id),
          (x) => x.status !== 'running',
          120_000,
        )
      ).status,
    ).toBe('done');
    expect(await codeOf(db.get(Backup).get('20260101T000000Z-abcdef'))).toBe('NOT_FOUND');
  });

  it('a backup interrupted by a shutdown is listed as failed, its partial files removed', async () => {
    const dir = tempDir('themis-bk-');
    const db = await openDb(dir);
    open.push(db);
    for (let i = 0; i < 50; i++) await write(db, { key: `t:${i}`, doc: { i } });
    const v = await db.get(Backup).start({});
    await db.close();
    open.pop();
    const db2 = await openDb(dir);
    open.push(db2);
    const after = await db2.get(Backup).get(v.id);
    expect(after).toMatchObject({ id: v.id, status: 'failed', seq: v.seq });
    expect(after.error).toMatch(/server stopped/);
    expect(fs.existsSync(path.join(v.path, 'db'))).toBe(false);
    expect(fs.existsSync(path.join(v.path, 'manifest.json'))).toBe(false);
  });
});
