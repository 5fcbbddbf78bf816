/**
 * Fulltext checkpoints: the in-memory side written to a file (with the
 * change-log sequence number it reflects) and loaded at start, then brought
 * up to date from the change log; any doubt (corruption, a checkpoint ahead
 * of the log, entries no longer retained) falls back to the durable postings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, type Retention } from '../../src/config.js';
import { Database } from '../../src/db.js';
import {
  Analyzer,
  DEFAULT_FULLTEXT_CONFIG,
  MemoryIndex,
  decodeCheckpoint,
  encodeCheckpoint,
  fieldTexts,
  type FulltextIndex,
} from '../../src/index/fulltext/index.js';
import { createLogger } from '../../src/log.js';
import { prng } from '../helpers/random.js';
import { Changefeed } from '../../src/changefeed/index.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes } from '../../src/index/index.js';

const log = createLogger('silent');
const WORDS = ['fox', 'dog', 'lazy', 'quick', 'brown', 'jumps', 'over', 'the', 'river', 'night', 'day', 'bird'];
const QUERIES = ['fox', 'dog lazy', 'fox OR bird', '"quick brown"', 'ri*', 'night -day'];
const dirs: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-ftckpt-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function open(dir: string, retention: Retention = { kind: 'forever' }): Promise<Database> {
  const db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed', cdcRetention: retention }, log);
  await db.open();
  return db;
}

const ckpt = (dir: string, ft: FulltextIndex) => path.join(dir, 'fulltext', `index-${ft.id}.ckpt`);
const searches = (ft: FulltextIndex) =>
  QUERIES.map((q) => ft.search(q, { limit: 50, offset: 0 })).map(({ total, hits }) => ({ total, hits }));

/** Random puts, updates and deletes over `n` keys. */
async function churn(db: Database, seed: number, ops: number, n = 60): Promise<void> {
  const r = prng(seed);
  for (let i = 0; i < ops; i += 10) {
    await db.get(Entities).applyBatch(
      Array.from({ length: 10 }, () => {
        const key = `docs:${Math.floor(r() * n)}`;
        if (r() < 0.15) return { op: 'delete' as const, key };
        const text = Array.from({ length: 1 + Math.floor(r() * 8) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
        return { op: 'put' as const, key, blob: r() < 0.1 ? { other: text } : { body: text } };
      }),
    );
  }
}

/** The in-memory side equals a recomputation from the stored documents (N, Σdl, every df). */
async function expectMatchesDocuments(db: Database, n = 60): Promise<void> {
  const ft = db.get(Indexes).fulltext('docs', 'body');
  const a = new Analyzer(ft.config);
  let docs = 0;
  let sumDl = 0;
  const df = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(db.get(Entities).getEntity(`docs:${i}`).blob) as Record<string, unknown>;
    } catch {
      continue;
    }
    const t = a.analyze(fieldTexts(doc.body));
    if (t.length === 0) continue;
    docs++;
    sumDl += t.length;
    for (const term of t.terms.keys()) df.set(term, (df.get(term) ?? 0) + 1);
  }
  expect({ n: ft.mem.n, sumDl: ft.mem.sumDl }).toEqual({ n: docs, sumDl });
  expect(new Map([...ft.mem.terms].map(([t, pl]) => [t, pl.len]))).toEqual(df);
}

/** Start again on `dir`: the index must come from `source` with the `expected` search results and statistics. */
async function reopenExpecting(
  dir: string,
  source: 'checkpoint' | 'postings',
  expected: ReturnType<typeof searches>,
  retention?: Retention,
): Promise<void> {
  const db = await open(dir, retention);
  try {
    const ft = db.get(Indexes).fulltext('docs', 'body');
    expect(ft.loadedFrom).toBe(source);
    expect(searches(ft)).toEqual(expected);
    await expectMatchesDocuments(db);
  } finally {
    await db.close();
  }
}

describe('checkpoint file format', () => {
  it('round-trips documents, lengths, posting lists and positions (document numbers renumbered densely)', () => {
    const mem = new MemoryIndex();
    const a = new Analyzer(DEFAULT_FULLTEXT_CONFIG);
    for (let i = 0; i < 40; i++) mem.put(`k${i}`, ...analysed(a, `${WORDS[i % 7]} fox ${WORDS[i % 5]} fox`));
    for (let i = 0; i < 40; i += 3) mem.delete(`k${i}`, a.analyze([`${WORDS[i % 7]} fox ${WORDS[i % 5]} fox`]).terms.keys());
    const back = decodeCheckpoint(encodeCheckpoint({ indexId: 7, config: '{"x":1}', seq: 1234, mem }));
    expect([back.indexId, back.config, back.seq]).toEqual([7, '{"x":1}', 1234]);
    expect([back.mem.n, back.mem.sumDl, back.mem.postings, back.mem.terms.size]).toEqual([mem.n, mem.sumDl, mem.postings, mem.terms.size]);
    const view = (m: MemoryIndex) =>
      [...m.terms]
        .map(([t, pl]) => [
          t,
          Array.from({ length: pl.len }, (_, i) => [m.docKeys[pl.docAt(i)], m.docLen[pl.docAt(i)], [...pl.positions(i)]]),
        ])
        .sort();
    expect(view(back.mem)).toEqual(view(mem));
  });

  it('refuses a flipped byte, a truncated file and another format', () => {
    const mem = new MemoryIndex();
    mem.put('k', ...analysed(new Analyzer(DEFAULT_FULLTEXT_CONFIG), 'quick brown fox'));
    const good = encodeCheckpoint({ indexId: 1, config: '{}', seq: 5, mem });
    const flipped = Buffer.from(good);
    flipped[20] = flipped[20]! ^ 0xff;
    expect(() => decodeCheckpoint(flipped)).toThrow(/checksum/);
    // the checksum covers the whole file, so a cut or foreign file fails it before any structure is read
    expect(() => decodeCheckpoint(good.subarray(0, good.length - 9))).toThrow(/checksum mismatch/);
    expect(() => decodeCheckpoint(Buffer.from('not a checkpoint at all'))).toThrow(/checksum mismatch/);
  });
});

function analysed(a: Analyzer, text: string): [number, Map<string, number[]>] {
  const t = a.analyze([text]);
  return [t.length, t.terms];
}

describe('start-up from a checkpoint', () => {
  it('a graceful close writes one; the next start loads it (no postings scan) with identical results', async () => {
    const dir = tempDir();
    const db = await open(dir);
    await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    await churn(db, 1, 300);
    const ft = db.get(Indexes).fulltext('docs', 'body');
    const before = searches(ft);
    await db.close();
    expect(fs.existsSync(ckpt(dir, ft))).toBe(true);
    await reopenExpecting(dir, 'checkpoint', before);
  });

  it('commits after the checkpoint (a crash before the next one) are replayed from the change log', async () => {
    const dir = tempDir();
    let db = await open(dir);
    await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    await churn(db, 2, 200);
    await db.close(); // checkpoint A
    const file = ckpt(dir, (db = await open(dir)).get(Indexes).fulltext('docs', 'body'));
    const older = fs.readFileSync(file);
    await churn(db, 3, 300); // commits after checkpoint A, also to another table
    await db.get(Entities).putEntity('other:1', { body: 'fox fox fox' });
    const expected = searches(db.get(Indexes).fulltext('docs', 'body'));
    await db.close();
    fs.writeFileSync(file, older); // as if the process had died before writing a newer checkpoint
    await reopenExpecting(dir, 'checkpoint', expected);
  });

  it('a checkpoint taken while commits are in flight reflects the commits before them; they are replayed', async () => {
    const dir = tempDir();
    const db = await open(dir);
    await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    await churn(db, 8, 100);
    const inFlight = Array.from({ length: 30 }, (_, i) =>
      db.get(Entities).putEntity(`docs:${i}`, { body: `night bird ${WORDS[i % WORDS.length]} fox` }),
    );
    const taken = db.get(Indexes).checkpointAll(true); // starts while the 30 commits are queued
    await Promise.all(inFlight);
    await taken;
    const file = ckpt(dir, db.get(Indexes).fulltext('docs', 'body'));
    const during = fs.readFileSync(file);
    // taken with commits outstanding: its sequence number is below theirs
    expect(decodeCheckpoint(during).seq).toBeLessThan(db.get(Changefeed).stats().last_seq - 20);
    const expected = searches(db.get(Indexes).fulltext('docs', 'body'));
    await db.close();
    fs.writeFileSync(file, during);
    await reopenExpecting(dir, 'checkpoint', expected);
  });

  it('a corrupt checkpoint is removed and the index is rebuilt from its postings', async () => {
    const dir = tempDir();
    const db = await open(dir);
    await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    await churn(db, 4, 200);
    const expected = searches(db.get(Indexes).fulltext('docs', 'body'));
    await db.close();
    const file = path.join(dir, 'fulltext', 'index-1.ckpt');
    const data = fs.readFileSync(file);
    data[Math.floor(data.length / 2)] = data[Math.floor(data.length / 2)]! ^ 0x55;
    fs.writeFileSync(file, data);
    await reopenExpecting(dir, 'postings', expected);
    await reopenExpecting(dir, 'checkpoint', expected); // the close after the rebuild wrote a fresh one
  });

  it('a checkpoint ahead of the change log (commits a crash took back) is not used', async () => {
    const dir = tempDir();
    const db = await open(dir);
    await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    await churn(db, 5, 100);
    const ft0 = db.get(Indexes).fulltext('docs', 'body');
    const expected = searches(ft0);
    // a checkpoint claiming a later sequence number (and an extra document) than the log holds
    const extra = new MemoryIndex();
    extra.put('docs:999', ...analysed(new Analyzer(ft0.config), 'phantom fox'));
    const file = ckpt(dir, ft0);
    await db.close();
    fs.writeFileSync(file, encodeCheckpoint({ indexId: ft0.id, config: JSON.stringify(ft0.config), seq: 1_000_000, mem: extra }));
    await reopenExpecting(dir, 'postings', expected);
  });

  it('a checkpoint whose later commits were pruned from the change log is not used', async () => {
    const dir = tempDir();
    let db = await open(dir, { kind: 'entries', entries: 20 });
    await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    await db.close();
    const file = path.join(dir, 'fulltext', 'index-1.ckpt');
    const older = fs.readFileSync(file);
    db = await open(dir, { kind: 'entries', entries: 20 });
    await churn(db, 6, 200);
    // retention runs on a timer; run it now (the log keeps only the last 20 entries)
    await db.changeLog.prune();
    const expected = searches(db.get(Indexes).fulltext('docs', 'body'));
    await db.close();
    fs.writeFileSync(file, older);
    await reopenExpecting(dir, 'postings', expected, { kind: 'entries', entries: 20 });
  });

  it('a dropped index leaves no checkpoint behind', async () => {
    const dir = tempDir();
    const db = await open(dir);
    await db.get(Indexes).create({ table: 'docs', column: 'body', type: 'fulltext' });
    await churn(db, 7, 50);
    const file = ckpt(dir, db.get(Indexes).fulltext('docs', 'body'));
    expect(fs.existsSync(file)).toBe(true); // written when the index became ready
    await db.get(Indexes).drop({ table: 'docs', column: 'body', type: 'fulltext' });
    expect(fs.existsSync(file)).toBe(false);
    await db.close();
  });
});
