/**
 * The shared property suite for everything derived from the documents (the
 * commit participants: secondary and unique indexes, fulltext, vector, graph
 * adjacency, the change log), run against each by test/unit/participants.test.ts
 * the way Hono runs `common.case.test.ts` against every router.
 *
 * One claim: the derived structure equals a recomputation from the stored
 * documents, after random sequences of writes (puts, deletes, batches,
 * explicit transactions committed or rolled back, concurrent bursts, the
 * structure created before, after or while documents are written) in which
 * some commits are refused (by the participant itself, or by a unique index
 * the suite adds to every table), and again after
 *
 *   1. a clean reopen (checkpoints written at close),
 *   2. a crash-like reopen: the checkpoint files as they were some commits
 *      ago, which is what kill -9 leaves (every commit is in LevelDB, the
 *      checkpoints are older), so recovery replays the change log,
 *   3. a reopen with nothing to recover from (checkpoint files deleted, or
 *      the graph's build marker removed): rebuilt from the documents.
 *
 * Refusals are checked both ways: after the run, writes whose fate the
 * stored documents decide (a free unique value, a valid vector) must be
 * accepted, and those they forbid must be refused with the right code, so a
 * reservation left behind or a check skipped shows up.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db.js';
import { DocumentStore } from '../../src/documents/index.js';
import { Entities } from '../../src/entities/index.js';
import { Indexes, indexTuples } from '../../src/index/index.js';
import { codeOf } from './errors.js';
import type { DatabaseConfig } from '../../src/db.js';
import { openDb, runOp, tempDir, tolerated, write, type Blob, type Write, type WriteOp } from './inproc.js';

/** Long runs: `THEMIS_SOAK=1` (or `THEMIS_SLOW=1`, as the other property tests). */
export const SOAK = ['THEMIS_SOAK', 'THEMIS_SLOW'].some((v) => (process.env[v] ?? '') !== '');

/** The field of the unique index the suite adds to every subject's table: some commits of every run are refused by it. */
export const CLAIM = 'claim';
const CLAIMS = ['c1', 'c2', 'c3'] as const;

/** A write to a new key whose outcome the stored documents decide: accepted, or refused with `refused`. */
export interface Probe {
  doc: Blob;
  refused?: string;
  /** Writes committed in the same batch, after it (e.g. the current holder giving up a unique value the probe takes). */
  alongside?: Write[];
}

/** A participant under test: how to set it up, documents that exercise it, and its derived state both ways. */
export interface ParticipantSubject<D = unknown> {
  readonly name: string;
  /** The table the suite writes (keys `<table>:0` … `<table>:<keys-1>`). */
  readonly table: string;
  readonly keys?: number;
  /** Documents exercising the participant (colliding values, invalid ones that are refused, edges, …). */
  readonly doc: fc.Arbitrary<Blob>;
  /** Codes of the refusals these documents may meet (CONFLICT from the suite's claim index is always tolerated). */
  readonly refusals?: readonly string[];
  /**
   * Create the structure (an index) on a database that may already hold
   * documents, while others may be written; absent for what always exists
   * (graph, change log). A create refused by stored documents must repair
   * them and retry (see createRepairing).
   */
  create?(db: Database): Promise<void>;
  /** The derived state as the database holds it (durable entries and the in-memory side). */
  derived(db: Database): Promise<D> | D;
  /** The same, recomputed from the stored documents of `table` (key → document); `db` only for configuration (an analyzer, a dimension). */
  recompute(docs: ReadonlyMap<string, Blob>, db: Database): D;
  /** A document for a new key that this participant accepts whatever is stored (default `{}`). */
  fresh?(n: number): Blob;
  /** Writes to new keys whose outcome the stored documents decide (run one after another, in order). */
  probes?(docs: ReadonlyMap<string, Blob>, db: Database): Probe[];
  /** How the in-memory side was recovered at the last open, when it keeps checkpoints: `loadedFrom` of each of its indexes. */
  readonly recovery?: { of(db: Database): string[]; checkpoint: string; rebuilt: string };
  /** Database configuration the suite opens its databases with (default: the defaults). */
  readonly config?: Partial<DatabaseConfig>;
  /** Make the next open rebuild from the documents (participants recovered from a durable marker rather than checkpoint files). */
  forget?(db: Database): Promise<void>;
  /** Answers (search results) that must not change across reopens. */
  answers?(db: Database): unknown;
}

// ---------------------------------------------------------------- random write sequences

/** Random WriteOps over `keys` with documents from `doc` (puts, deletes, batches, transactions committed or rolled back, bursts). */
export function writeOpArbs(keys: readonly string[], doc: fc.Arbitrary<Blob>) {
  const writeArb: fc.Arbitrary<Write> = fc.record({ key: fc.constantFrom(...keys), doc: fc.option(doc, { nil: null, freq: 4 }) });
  const writesArb = fc.array(writeArb, { minLength: 1, maxLength: 4 });
  const burstItem = fc.oneof(
    writeArb.map((w) => ({ t: 'put' as const, w })),
    writesArb.map((ws) => ({ t: 'batch' as const, ws })),
    writesArb.map((ws) => ({ t: 'txn' as const, ws })),
  );
  const opArb: fc.Arbitrary<WriteOp> = fc.oneof(
    { arbitrary: writeArb.map((w): WriteOp => ({ t: 'put', w })), weight: 5 },
    { arbitrary: writesArb.map((ws): WriteOp => ({ t: 'batch', ws })), weight: 2 },
    {
      arbitrary: fc
        .record({
          ws: writesArb,
          commit: fc.boolean(),
          isolation: fc.constantFrom('read_committed' as const, 'snapshot' as const),
          interleave: fc.option(writeArb, { nil: undefined }),
        })
        .map(
          (r): WriteOp => ({
            t: 'txn',
            ws: r.ws,
            commit: r.commit,
            isolation: r.isolation,
            ...(r.interleave ? { interleave: r.interleave } : {}),
          }),
        ),
      weight: 2,
    },
    { arbitrary: fc.array(burstItem, { minLength: 2, maxLength: 10 }).map((items): WriteOp => ({ t: 'burst', items })), weight: 2 },
  );
  return { writeArb, writesArb, burstItem, opArb };
}

/** The subject's documents, some of them with a claim value (the suite's unique index refuses a second holder). */
function claimed(doc: fc.Arbitrary<Blob>): fc.Arbitrary<Blob> {
  return fc
    .record({ doc, claim: fc.constantFrom(undefined, undefined, undefined, ...CLAIMS) })
    .map(({ doc: d, claim }) => (claim === undefined ? d : { ...d, [CLAIM]: claim }));
}

// ---------------------------------------------------------------- checks

/** The stored documents of `table` (key → document), read below every derived structure. */
export async function storedDocs(db: Database, table: string): Promise<Map<string, Blob>> {
  const out = new Map<string, Blob>();
  for await (const rows of new DocumentStore(db.engine).scan({ table }))
    for (const [key, text] of rows) out.set(key, JSON.parse(text) as Blob);
  return out;
}

/** The subject's derived state equals its recomputation from the stored documents. */
export async function expectDerived<D>(db: Database, subject: ParticipantSubject<D>, when = ''): Promise<void> {
  const docs = await storedDocs(db, subject.table);
  const got = await subject.derived(db);
  expect(got, `${subject.name}: derived state vs recomputation from ${docs.size} documents${when ? ` (${when})` : ''}`).toEqual(
    subject.recompute(docs, db),
  );
}

/**
 * Create something that stored documents may refuse (a unique index over
 * duplicates, a vector index over invalid vectors): on `code`, delete the
 * documents `culprits` names and try again.
 */
export async function createRepairing(
  db: Database,
  table: string,
  create: (attempt: number) => Promise<unknown>,
  code: string,
  culprits: (docs: ReadonlyMap<string, Blob>) => string[],
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const got = await codeOf(create(attempt));
    if (got === 'no error') return;
    expect(got, 'the only refusal a create may meet').toBe(code);
    if (attempt >= 5) throw new Error(`creating the structure on ${table} kept failing with ${code}`);
    for (const key of culprits(await storedDocs(db, table))) await db.get(Entities).deleteEntity(key);
  }
}

/** Keys of documents holding a value that an earlier document (in key order) holds too, by `valuesOf`. */
export function laterHolders(docs: ReadonlyMap<string, Blob>, valuesOf: (doc: Blob) => string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const [key, doc] of docs) {
    const vs = valuesOf(doc);
    if (vs.some((v) => seen.has(v))) out.push(key);
    else for (const v of vs) seen.add(v);
  }
  return out;
}

/** The claim values held by the stored documents. */
const claimsHeld = (docs: ReadonlyMap<string, Blob>): Set<unknown> =>
  new Set([...docs.values()].flatMap((d) => indexTuples(d, [[CLAIM]], true).map((t) => t[0])));

/** Run the probes (the suite's claim probes, then the subject's) on new keys: each must be accepted or refused as predicted. */
async function expectProbes(db: Database, subject: ParticipantSubject, counter: { n: number }): Promise<void> {
  const docs = await storedDocs(db, subject.table);
  const fresh = () => subject.fresh?.(counter.n) ?? {};
  const held = claimsHeld(docs);
  const claimProbes: Probe[] = CLAIMS.map((c) => ({ doc: { [CLAIM]: c }, ...(held.has(c) ? { refused: 'CONFLICT' } : {}) }));
  for (const p of [...claimProbes, ...(subject.probes?.(docs, db) ?? [])]) {
    const key = `${subject.table}:probe${counter.n}`;
    const doc = { ...fresh(), ...p.doc };
    counter.n++;
    const ops = [
      { op: 'put' as const, key, blob: doc },
      ...(p.alongside ?? []).map((w) =>
        w.doc === null ? { op: 'delete' as const, key: w.key } : { op: 'put' as const, key: w.key, blob: w.doc },
      ),
    ];
    const what = `${subject.name}: writing ${JSON.stringify(doc)} to a new key${p.alongside ? ` with ${JSON.stringify(p.alongside)} in the same commit` : ''}`;
    expect(await codeOf(db.get(Entities).applyBatch(ops)), what).toBe(p.refused ?? 'no error');
  }
}

/** Checkpoint files: everything in the data directory but LevelDB's own (`db/`). */
function readCheckpoints(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (rel === '' && e.name === 'db') continue;
      if (e.isDirectory()) walk(r);
      else out.set(r, fs.readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return out;
}

function removeCheckpoints(dir: string): void {
  for (const e of fs.readdirSync(dir)) if (e !== 'db') fs.rmSync(path.join(dir, e), { recursive: true, force: true });
}

function restoreCheckpoints(dir: string, files: ReadonlyMap<string, Buffer>): void {
  removeCheckpoints(dir);
  for (const [rel, bytes] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), bytes);
  }
}

// ---------------------------------------------------------------- the suite

/** Number of property runs per subject (default run / soak). */
export interface SuiteOptions {
  runs?: number;
  soakRuns?: number;
}

/** Register the suite for one subject (inside a vitest file). */
export function participantSuite(subject: ParticipantSubject, o: SuiteOptions = {}): void {
  const keys = Array.from({ length: subject.keys ?? 8 }, (_, i) => `${subject.table}:${i}`);
  const doc = claimed(subject.doc);
  const { writeArb, burstItem, opArb } = writeOpArbs(keys, doc);
  const codes = ['CONFLICT', ...(subject.refusals ?? [])];
  const run = (db: Database, op: WriteOp) => runOp(db, op, codes);
  const whens = subject.create ? (['before', 'after', 'racing'] as const) : (['before'] as const);

  /** Set up: the claim index, then the subject's structure before, after or while `initial` and `racing` are written. */
  async function setUp(db: Database, when: (typeof whens)[number], initial: Write[], racing: Write[]): Promise<void> {
    await db.get(Indexes).create({ table: subject.table, column: CLAIM, unique: true, sparse: true });
    const create = () => subject.create?.(db) ?? Promise.resolve();
    if (when === 'before') await create();
    for (const w of initial) await run(db, { t: 'put', w });
    if (when === 'after') await create();
    if (when === 'racing') await Promise.all([create(), ...racing.map((w) => tolerated(write(db, w), codes))]);
  }

  /** Close and open again, then check; `between` runs while the database is closed. */
  async function reopen(db: Database, dir: string, mode: 'clean' | 'crash' | 'rebuilt', between?: () => void): Promise<Database> {
    await db.close();
    between?.();
    const again = await openDb(dir, 'relaxed', subject.config);
    await expectDerived(again, subject, `after a ${mode} reopen`);
    // A checkpoint that fails to load falls back to a rebuild, which would hide a broken replay: say which was used.
    if (subject.recovery) {
      const from = subject.recovery.of(again);
      const want = mode === 'rebuilt' ? subject.recovery.rebuilt : subject.recovery.checkpoint;
      expect(from, `${subject.name}: recovered from (${mode} reopen)`).toEqual(from.map(() => want));
    }
    return again;
  }

  describe(`participant: ${subject.name}`, () => {
    it(
      'random writes, rollbacks and refusals: derived state equals a recomputation from the documents, also after a reopen, a crash-like reopen (replay) and a rebuild',
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...whens),
            fc.array(writeArb, { maxLength: 8 }),
            fc.array(writeArb, { minLength: 1, maxLength: 6 }),
            fc.array(opArb, { minLength: 1, maxLength: 12 }),
            fc.array(opArb, { minLength: 1, maxLength: 8 }),
            async (when, initial, racing, ops, later) => {
              const dir = tempDir('themis-part-');
              const probes = { n: 0 };
              let db = await openDb(dir, 'relaxed', subject.config);
              try {
                await setUp(db, when, initial, racing);
                for (const op of ops) await run(db, op);
                await expectDerived(db, subject, 'after the writes');

                // What a crash leaves of the checkpoints: those of some commits ago.
                await db.checkpoint();
                const older = readCheckpoints(dir);
                for (const op of later) await run(db, op);
                await expectProbes(db, subject, probes);
                await expectDerived(db, subject, 'after more writes and the probes');
                const answers = subject.answers?.(db);

                db = await reopen(db, dir, 'clean');
                if (subject.answers) expect(subject.answers(db), 'answers after a reopen').toEqual(answers);
                db = await reopen(db, dir, 'crash', () => restoreCheckpoints(dir, older));
                if (subject.answers) expect(subject.answers(db), 'answers after a crash-like reopen').toEqual(answers);
                await subject.forget?.(db);
                db = await reopen(db, dir, 'rebuilt', () => removeCheckpoints(dir));
                if (subject.answers) expect(subject.answers(db), 'answers after a rebuild').toEqual(answers);
                // Reservations do not survive a reopen either: the rebuilt state accepts and refuses the same.
                await expectProbes(db, subject, probes);
                await expectDerived(db, subject, 'after the probes on the rebuilt state');
              } finally {
                await db.close();
                fs.rmSync(dir, { recursive: true, force: true });
              }
            },
          ),
          // THEMIS_FC_SEED (and THEMIS_FC_PATH) replay a failing run (fast-check prints both).
          {
            numRuns: SOAK ? (o.soakRuns ?? 300) : (o.runs ?? 40),
            ...(process.env.THEMIS_FC_SEED ? { seed: Number(process.env.THEMIS_FC_SEED), path: process.env.THEMIS_FC_PATH } : {}),
          },
        );
      },
      SOAK ? 1_800_000 : 60_000,
    );

    it('hundreds of concurrent commits (implicit, batches, explicit transactions, refusals), then a reopen', async () => {
      const dir = tempDir('themis-part-');
      let db = await openDb(dir, 'relaxed', subject.config);
      try {
        await setUp(db, 'before', [], []);
        const rounds = SOAK ? 20 : 3;
        for (let r = 0; r < rounds; r++) {
          const items = fc.sample(burstItem, { numRuns: 150, seed: r * 31 + subject.name.length });
          await run(db, { t: 'burst', items });
          await expectDerived(db, subject, `after burst ${r}`);
        }
        await expectProbes(db, subject, { n: 0 });
        db = await reopen(db, dir, 'clean');
      } finally {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
}
