/**
 * Online backup, restore and compaction (issue 20), black box: a backup
 * taken while writers run is restored with the CLI into a new data
 * directory, and a server started on it holds exactly the commits up to the
 * backup's seq: documents, a secondary index query, a fulltext search, a
 * vector search and the change feed. A modified backup is refused; bad
 * requests get their 4xx; compaction reclaims the space of deleted documents.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandRun, runCommand } from '../../bench/lib/run-command.js';
import { prng } from '../helpers/random.js';
import { CLI, call, expectError, ok, startServer, tempDir, waitUntil, type Body, type StartedServer } from '../helpers/server.js';

/** A backup key (32 bytes, base64) as an operator would make one (`openssl rand -base64 32`). */
const BACKUP_KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');
const D = 4;
const CATS = ['red', 'green', 'blue', 'amber'];
/** Words without suffixes a stemmer would change, so a document holds the word its query names. */
const WORDS = ['zebra', 'quartz', 'lantern', 'violin', 'harbor', 'meadow', 'copper', 'falcon'];

interface Entry {
  seq: number;
  op: 'put' | 'delete';
  key: string;
  table: string;
  value: unknown;
  txn_id: string;
}
interface Doc {
  cat: string;
  text: string;
  embedding: number[];
  n: number;
}

/** `themis restore ...` (the built CLI): exit code and output. */
function restoreCli(args: string[], env: Record<string, string> = {}): Promise<CommandRun> {
  return runCommand(process.execPath, [CLI, 'restore', ...args], {
    env: { ...(process.env as Record<string, string>), THEMIS_BACKUP_KEY: '', THEMIS_BACKUP_KEY_FILE: '', ...env },
  });
}

/** Every change-feed entry up to `upTo` (paged). */
async function changes(s: StartedServer, upTo: number): Promise<Entry[]> {
  const out: Entry[] = [];
  let from = 0;
  while (from < upTo) {
    const f = await ok(call(s, 'GET', `/changefeed?from_seq=${from}&limit=10000`));
    const entries = f.entries as Entry[];
    if (entries.length === 0) break;
    for (const e of entries) if (e.seq <= upTo) out.push(e);
    from = f.next_seq as number;
  }
  return out;
}

async function waitDone(s: StartedServer, id: string): Promise<Body> {
  const b = await waitUntil(
    () => ok(call(s, 'GET', `/admin/backup/${id}`)),
    (v) => v.status !== 'running',
    60_000,
    50,
  );
  expect(b.status, JSON.stringify(b)).toBe('done');
  return b;
}

const l2 = (a: readonly number[], b: readonly number[]) => a.reduce((sum, x, i) => sum + (x - b[i]!) ** 2, 0);

describe('online backup and restore', () => {
  let a: StartedServer;
  let b: StartedServer | undefined;
  const restored = tempDir('themis-restored-');

  beforeAll(async () => {
    a = await startServer({ env: { THEMIS_BACKUP_KEY: BACKUP_KEY } });
    await ok(call(a, 'POST', '/index/create', { table: 'docs', column: 'cat' }));
    await ok(call(a, 'POST', '/index/create', { table: 'docs', column: 'text', type: 'fulltext' }));
    await ok(
      call(a, 'POST', '/vector/index/create', { name: 'docs_vec', table: 'docs', field: 'embedding', dimension: D, metric: 'L2' }),
      201,
    );
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('a backup under concurrent writes, restored with the CLI, holds exactly the commits up to its seq', async () => {
    const rnd = prng(20);
    const doc = (n: number): Doc => ({
      cat: CATS[Math.floor(rnd() * CATS.length)]!,
      text: `${WORDS[Math.floor(rnd() * WORDS.length)]} ${WORDS[Math.floor(rnd() * WORDS.length)]} note ${n}`,
      embedding: Array.from({ length: D }, () => Math.round((rnd() * 2 - 1) * 1000) / 1000),
      n,
    });
    // Seed: enough data that the backup takes a while (several LevelDB chunks' worth of reads).
    for (let i = 0; i < 300; i += 50) {
      const operations = Array.from({ length: 50 }, (_, j) => ({
        op: 'put',
        key: `docs:${i + j}`,
        blob: { ...doc(i + j), pad: 'x'.repeat(2000) },
      }));
      await ok(call(a, 'POST', '/transaction', { operations }));
    }

    // Writers: puts, replacements and deletes over 400 keys, one request at a time each, until told to stop.
    let stop = false;
    let acknowledged = 0;
    const writer = async (w: number) => {
      let n = 10_000 * (w + 1);
      while (!stop) {
        const key = `docs:${Math.floor(rnd() * 400)}`;
        const r = rnd() < 0.2 ? await call(a, 'DELETE', `/entities/${key}`) : await call(a, 'PUT', `/entities/${key}`, { blob: doc(n++) });
        expect([200, 201, 404]).toContain(r.status);
        acknowledged++;
      }
    };
    const writers = [0, 1, 2].map(writer);
    await waitUntil(
      () => acknowledged,
      (n) => n >= 60,
    );

    const started = await call(a, 'POST', '/admin/backup', {});
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ status: 'running', id: expect.stringMatching(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/) });
    const id = started.body.id as string;
    const seq = started.body.seq as number;
    expect(seq).toBeGreaterThan(300);
    const atStart = acknowledged;
    const done = await waitDone(a, id);
    // Writes go on after the snapshot: the backup must not hold them.
    await waitUntil(
      () => acknowledged,
      (n) => n >= atStart + 30,
    );
    stop = true;
    await Promise.all(writers);
    const lastA = (await ok(call(a, 'GET', '/changefeed/stats'))).last_seq as number;
    expect(lastA).toBeGreaterThan(seq);

    expect(done).toMatchObject({ id, status: 'done', seq, progress: 1, warnings: [] });
    expect(done.bytes as number).toBeGreaterThan(0);
    const dir = done.path as string;
    expect(dir).toBe(path.join(a.dataDir, 'backups', id));

    // The manifest: the seq, every file with its size and SHA-256; the PII master key only sealed.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Body & {
      files: { path: string; bytes: number; sha256: string }[];
      secrets: { name: string; path: string }[];
      data: { name: string }[];
    };
    expect(manifest).toMatchObject({ format: 'themis-backup', format_version: 1, id, seq, db_format_version: 1 });
    for (const f of manifest.files) {
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(fs.statSync(path.join(dir, f.path)).size).toBe(f.bytes);
    }
    expect(manifest.secrets.map((x) => x.name)).toEqual(['pii-master.key']);
    expect(manifest.data.map((x) => x.name)).not.toContain('pii-master.key');
    const piiKey = fs.readFileSync(path.join(a.dataDir, 'pii-master.key'), 'utf8').trim();
    for (const f of manifest.files) expect(fs.readFileSync(path.join(dir, f.path)).includes(piiKey), f.path).toBe(false);

    // What the backup must hold: A's change feed up to seq, applied in order.
    const feedA = await changes(a, seq);
    expect(feedA.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    const want = new Map<string, Doc>();
    for (const e of feedA) {
      if (e.table !== 'docs') continue;
      if (e.op === 'delete') want.delete(e.key);
      else want.set(e.key, e.value as Doc);
    }

    // Restore into a new data directory with the CLI and start a server on it.
    const r = await restoreCli([dir, '--data-dir', restored], { THEMIS_BACKUP_KEY: BACKUP_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restored backup ${id} (seq ${seq}`);
    expect(fs.readFileSync(path.join(restored, 'pii-master.key'), 'utf8').trim()).toBe(piiKey);
    expect(JSON.parse(fs.readFileSync(path.join(restored, 'restore.json'), 'utf8'))).toMatchObject({ backup_id: id, seq });
    b = await startServer({ dataDir: restored });

    // The change feed ends at the backup's seq, entry for entry A's.
    expect((await ok(call(b, 'GET', '/changefeed/stats'))).last_seq).toBe(seq);
    const feedB = await changes(b, seq + 1000);
    expect(feedB.map((e) => [e.seq, e.op, e.key, JSON.stringify(e.value), e.txn_id])).toEqual(
      feedA.map((e) => [e.seq, e.op, e.key, JSON.stringify(e.value), e.txn_id]),
    );

    // Documents: exactly those of the change feed up to seq (not one write after it).
    const rows = (await ok(call(b, 'POST', '/query/aql', { query: 'FOR d IN docs RETURN [d._key, d]' }))).entities as [string, Doc][];
    const got = new Map(rows.map(([k, d]) => [`docs:${k}`, d]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, d] of want) expect(got.get(k), k).toMatchObject({ cat: d.cat, text: d.text, embedding: d.embedding, n: d.n });

    // A secondary index query.
    for (const cat of CATS) {
      const q = await ok(call(b, 'POST', '/query', { table: 'docs', predicates: [{ column: 'cat', value: cat }], return: 'keys' }));
      const expected = [...want].filter(([, d]) => d.cat === cat).map(([k]) => k);
      expect([...(q.keys as string[])].sort(), cat).toEqual(expected.sort());
    }
    // A fulltext search (the index was loaded from a checkpoint or its postings, then the change log replayed).
    for (const word of WORDS.slice(0, 3)) {
      const f = await ok(
        call(b, 'POST', '/search/fulltext', { table: 'docs', column: 'text', query: word, limit: 10000, snippets: false }),
      );
      const expected = [...want].filter(([, d]) => d.text.split(' ').includes(word)).map(([k]) => k);
      expect(f.total, word).toBe(expected.length);
      expect((f.hits as { key: string }[]).map((h) => h.key).sort(), word).toEqual(expected.sort());
    }
    // A vector search over every vector: each document once, at the distance of its stored vector.
    const q = [0.1, -0.2, 0.3, 0.05];
    const hits = (await ok(call(b, 'POST', '/vector/search', { index: 'docs_vec', vector: q, k: 10000 }))).results as {
      pk: string;
      distance: number;
    }[];
    expect(hits.map((h) => `docs:${h.pk}`).sort()).toEqual([...want.keys()].sort());
    for (const h of hits) expect(h.distance).toBeCloseTo(l2(q, want.get(`docs:${h.pk}`)!.embedding), 4);

    // The restored server goes on from seq: the next commit is seq + 1.
    await ok(call(b, 'PUT', '/entities/docs:after', { blob: doc(99_999) }), 201);
    const next = (await ok(call(b, 'GET', `/changefeed?from_seq=${seq}`))).entries as Entry[];
    expect(next.map((e) => [e.seq, e.key])).toEqual([[seq + 1, 'docs:after']]);
  });

  it('lists backups, also those found on disk after a restart', async () => {
    const list = await ok(call(a, 'GET', '/admin/backup'));
    const mine = (list.backups as Body[]).find((x) => x.status === 'done');
    expect(mine).toBeDefined();
    const dataDir = a.dataDir;
    await a.stop();
    a = await startServer({ dataDir, env: { THEMIS_BACKUP_KEY: BACKUP_KEY } });
    const again = await ok(call(a, 'GET', '/admin/backup'));
    expect(again.total).toBe((list.backups as Body[]).length);
    expect(again.backups).toContainEqual(
      expect.objectContaining({ id: mine!.id, status: 'done', seq: mine!.seq, bytes: mine!.bytes, path: mine!.path, progress: 1 }),
    );
    expect(await ok(call(a, 'GET', `/admin/backup/${mine!.id as string}`))).toMatchObject({ status: 'done', seq: mine!.seq });
  });

  it('restore refuses a modified backup, a missing or wrong key and a non-empty target; --verify-only checks without writing', async () => {
    const list = await ok(call(a, 'GET', '/admin/backup'));
    const dir = ((list.backups as Body[]).find((x) => x.status === 'done')!.path as string) ?? '';
    const env = { THEMIS_BACKUP_KEY: BACKUP_KEY };

    const verified = await restoreCli([dir, '--verify-only']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/: valid\n$/);

    // One byte of one chunk changed: refused (exit 4), naming the file; nothing written.
    const copy = path.join(tempDir('themis-tampered-'), 'b');
    fs.cpSync(dir, copy, { recursive: true });
    const chunk = path.join(copy, 'db', '000001.kv.gz');
    const bytes = fs.readFileSync(chunk);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    fs.writeFileSync(chunk, bytes);
    const target = path.join(tempDir('themis-target-'), 'data');
    const tampered = await restoreCli([copy, '--data-dir', target], env);
    expect(tampered.code).toBe(4);
    expect(tampered.stderr).toContain('db/000001.kv.gz does not match its SHA-256');
    expect(fs.existsSync(target)).toBe(false);

    // A manifest of a newer format: refused.
    fs.cpSync(dir, `${copy}2`, { recursive: true });
    const mf = path.join(`${copy}2`, 'manifest.json');
    fs.writeFileSync(mf, JSON.stringify({ ...JSON.parse(fs.readFileSync(mf, 'utf8')), format_version: 99 }));
    const newer = await restoreCli([`${copy}2`, '--data-dir', target], env);
    expect(newer.code).toBe(4);
    expect(newer.stderr).toContain('backup format version 99');

    // Sealed secrets without the backup key, or with another: exit 5, nothing written.
    const noKey = await restoreCli([dir, '--data-dir', target]);
    expect(noKey.code).toBe(5);
    expect(noKey.stderr).toContain('sealed secrets (pii-master.key)');
    const wrongKey = await restoreCli([dir, '--data-dir', target], { THEMIS_BACKUP_KEY: OTHER_KEY });
    expect(wrongKey.code).toBe(5);
    expect(fs.existsSync(target)).toBe(false);

    // A non-empty target: exit 3 without --force; with --force it is replaced.
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, 'stray.txt'), 'x');
    const full = await restoreCli([dir, '--data-dir', target], env);
    expect(full.code).toBe(3);
    expect(fs.readFileSync(path.join(target, 'stray.txt'), 'utf8')).toBe('x');
    const forced = await restoreCli([dir, '--data-dir', target, '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(fs.existsSync(path.join(target, 'stray.txt'))).toBe(false);
    expect(fs.existsSync(path.join(target, 'db', 'CURRENT'))).toBe(true);

    // The data directory of a running server is never replaced.
    const inUse = await restoreCli([dir, '--data-dir', b!.dataDir, '--force'], env);
    expect(inUse.code).toBe(3);
    expect(inUse.stderr).toContain('in use by a running server');

    // Usage errors: exit 2.
    expect((await restoreCli([dir])).code).toBe(2);
    expect((await restoreCli([])).code).toBe(2);
  });

  it('without a backup key the PII master key is left out, with a warning; --pii-key-file puts it back', async () => {
    const plain = await startServer();
    try {
      await ok(call(plain, 'PUT', '/entities/t:1', { blob: { a: 1 } }), 201);
      const started = await ok(call(plain, 'POST', '/admin/backup'), 202);
      const done = await waitDone(plain, started.id as string);
      expect(done.warnings).toEqual([expect.stringContaining('pii-master.key is not in the backup')]);
      const dir = done.path as string;
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Body;
      expect(m.secrets).toEqual([]);
      expect(m.omitted).toContainEqual(expect.objectContaining({ name: 'pii-master.key', fingerprint: expect.any(String) }));
      const keyFile = path.join(plain.dataDir, 'pii-master.key');
      const target = path.join(tempDir('themis-target-'), 'data');
      const r = await restoreCli([dir, '--data-dir', target]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('note: pii-master.key was not in the backup');
      expect(fs.existsSync(path.join(target, 'pii-master.key'))).toBe(false);
      // A key file that is not the server's: refused by its fingerprint.
      const other = path.join(tempDir(), 'other.key');
      fs.writeFileSync(other, OTHER_KEY);
      const target2 = path.join(tempDir('themis-target-'), 'data');
      const wrong = await restoreCli([dir, '--data-dir', target2, '--pii-key-file', other]);
      expect(wrong.code).toBe(5);
      const right = await restoreCli([dir, '--data-dir', target2, '--pii-key-file', keyFile]);
      expect(right.code, right.stderr).toBe(0);
      expect(fs.readFileSync(path.join(target2, 'pii-master.key'), 'utf8').trim()).toBe(fs.readFileSync(keyFile, 'utf8').trim());
    } finally {
      await plain.stop();
    }
  });

  it('--restore-from restores into an empty data directory at start, once', async () => {
    const list = await ok(call(a, 'GET', '/admin/backup'));
    const done = (list.backups as Body[]).find((x) => x.status === 'done')!;
    const dataDir = path.join(tempDir('themis-rf-'), 'data');
    const env = { THEMIS_BACKUP_KEY: BACKUP_KEY };
    const s1 = await startServer({ dataDir, env, args: ['--restore-from', done.path as string] });
    try {
      expect((await ok(call(s1, 'GET', '/changefeed/stats'))).last_seq).toBe(done.seq);
      await ok(call(s1, 'PUT', '/entities/docs:new', { blob: { n: 1 } }), 201);
    } finally {
      await s1.stop();
    }
    // Started again with the flag: the directory was restored from this backup already; nothing is overwritten.
    const s2 = await startServer({ dataDir, env, args: ['--restore-from', done.path as string] });
    try {
      expect((await ok(call(s2, 'GET', '/changefeed/stats'))).last_seq).toBe((done.seq as number) + 1);
    } finally {
      await s2.stop();
    }
  });
});

describe('backup and compaction requests', () => {
  let s: StartedServer;
  let reader: string;

  beforeAll(async () => {
    s = await startServer();
    const k = await ok(call(s, 'POST', '/api/keys', { name: 'rw', permissions: ['data:read', 'data:write', 'stats:read'] }), 201);
    reader = `Bearer ${k.secret as string}`;
    for (let i = 0; i < 200; i += 50) {
      // Random padding: LevelDB compresses its blocks (Snappy), and a repeated letter would take no space.
      const operations = Array.from({ length: 50 }, (_, j) => ({
        op: 'put',
        key: `big:${i + j}`,
        blob: { i: i + j, pad: randomBytes(3000).toString('base64') },
      }));
      await ok(call(s, 'POST', '/transaction', { operations }));
    }
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('non-admin keys get 403 on every operations route', async () => {
    const h = { authorization: reader };
    expectError(await call(s, 'POST', '/admin/backup', {}, h), 403, 'FORBIDDEN');
    expectError(await call(s, 'GET', '/admin/backup', undefined, h), 403, 'FORBIDDEN');
    expectError(await call(s, 'GET', '/admin/backup/20260101T000000Z-000000', undefined, h), 403, 'FORBIDDEN');
    expectError(await call(s, 'POST', '/admin/compact', {}, h), 403, 'FORBIDDEN');
    expect((await ok(call(s, 'GET', '/admin/backup'))).backups).toEqual([]);
  });

  it('bad paths are 400 naming the field; unknown ids 404', async () => {
    const bad = async (p: unknown) => expectError(await call(s, 'POST', '/admin/backup', { path: p }), 400, 'VALIDATION_FAILED', 'path');
    await bad('relative/dir');
    await bad('/tmp/../etc/x');
    await bad(path.join(s.dataDir, 'db', 'x'));
    await bad(path.join(s.dataDir, 'somewhere'));
    await bad(s.dataDir);
    await bad(path.dirname(s.dataDir));
    await bad(path.join(tempDir(), 'no', 'parent'));
    const full = tempDir();
    fs.writeFileSync(path.join(full, 'f'), 'x');
    await bad(full);
    await bad(42);
    expectError(await call(s, 'POST', '/admin/backup', { zz: 1 }), 400, 'VALIDATION_FAILED', 'zz');
    expectError(await call(s, 'GET', '/admin/backup/20260101T000000Z-000000'), 404, 'NOT_FOUND');
    expectError(await call(s, 'GET', '/admin/backup/not-a-backup-id'), 404, 'NOT_FOUND');
    expect((await ok(call(s, 'GET', '/admin/backup'))).backups).toEqual([]);
  });

  it('one backup at a time (409); a backup to a given path is listed after a restart', async () => {
    const target = path.join(tempDir('themis-given-'), 'bk');
    const [x, y] = await Promise.all([call(s, 'POST', '/admin/backup', { path: target }), call(s, 'POST', '/admin/backup', {})]);
    expect([x.status, y.status].sort()).toEqual([202, 409]);
    const conflict = x.status === 409 ? x : y;
    const started = x.status === 202 ? x : y;
    expectError(conflict, 409, 'CONFLICT');
    expect(conflict.body.id).toBe(started.body.id);
    const done = await waitDone(s, started.body.id as string);
    if (started === x) expect(done.path).toBe(path.join(fs.realpathSync(path.dirname(target)), 'bk'));
    // Done: the next one may start.
    const second = await ok(call(s, 'POST', '/admin/backup', { path: path.join(tempDir('themis-given-'), 'bk2') }), 202);
    const done2 = await waitDone(s, second.id as string);
    const dataDir = s.dataDir;
    await s.stop();
    s = await startServer({ dataDir });
    const ids = ((await ok(call(s, 'GET', '/admin/backup'))).backups as Body[]).map((v) => [v.id, v.status, v.path]);
    expect(ids).toContainEqual([done2.id, 'done', done2.path]);
    expect(ids).toContainEqual([done.id, 'done', done.path]);
  });

  it('compaction reclaims the space of deleted documents', async () => {
    const first = await ok(call(s, 'POST', '/admin/compact', { keyspace: 'entity' }));
    expect(first).toMatchObject({ success: true, range: { keyspace: 'entity', start: '10', end: '11' } });
    expect(first.after_bytes as number).toBeGreaterThan(200 * 3000);
    for (let i = 0; i < 200; i += 50) {
      const operations = Array.from({ length: 50 }, (_, j) => ({ op: 'delete', key: `big:${i + j}` }));
      await ok(call(s, 'POST', '/transaction', { operations }));
    }
    const second = await ok(call(s, 'POST', '/admin/compact', { keyspace: 'entity' }));
    expect(second.before_bytes as number).toBeGreaterThan(200 * 3000);
    expect(second.after_bytes as number).toBeLessThan((first.after_bytes as number) / 10);
    expect(second.reclaimed_bytes).toBe((second.before_bytes as number) - (second.after_bytes as number));
    expect(second.duration_ms as number).toBeGreaterThanOrEqual(0);
    const all = await ok(call(s, 'POST', '/admin/compact'));
    expect(all).toMatchObject({ success: true, range: { start: null, end: null } });
    expect(all.files_at_level_after as number[]).toHaveLength(7);
    const ranged = await ok(call(s, 'POST', '/admin/compact', { start: '10', end: '11' }));
    expect(ranged.range).toEqual({ start: '10', end: '11' });

    expectError(await call(s, 'POST', '/admin/compact', { keyspace: 'nope' }), 400, 'VALIDATION_FAILED', 'keyspace');
    expectError(await call(s, 'POST', '/admin/compact', { keyspace: 'entity', start: '10' }), 400, 'VALIDATION_FAILED', 'keyspace');
    expectError(await call(s, 'POST', '/admin/compact', { start: '20', end: '10' }), 400, 'VALIDATION_FAILED', 'end');
    expectError(await call(s, 'POST', '/admin/compact', { start: 'xyz' }), 400, 'VALIDATION_FAILED', 'start');
  });
});
