/**
 * The subjects of the participant suite (participant-suite.ts): one per
 * structure derived from the documents, each saying how to create it,
 * which documents exercise it, and how to read it and recompute it from the
 * stored documents. Tests of one participant reuse them (expectDerived).
 */
import type { DatabaseConfig } from '../../src/db.js';
import fc from 'fast-check';
import type { Database } from '../../src/db.js';
import { GRAPH_INDEX_VERSION_KEY, Graph, edgeEnds } from '../../src/graph/index.js';
import { Indexes, Vectors, fieldTexts, indexTuples, type IndexDef } from '../../src/index/index.js';
import { idPrefix } from '../../src/index/id-prefix.js';
import { valueAt } from '../../src/index/extract.js';
import { Search } from '../../src/search/index.js';
import { WriteBatch, keyspace, orderedCodec, prefixUpperBound, type ScalarValue } from '../../src/storage/index.js';
import type { Blob } from './inproc.js';
import { createRepairing, laterHolders, type ParticipantSubject, type Probe } from './participant-suite.js';

const sortedPairs = <V>(m: Iterable<[string, V]>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const optional = <T>(a: fc.Arbitrary<T>, weight = 1) =>
  fc.oneof({ arbitrary: a, weight: 4 * weight }, { arbitrary: fc.constant(undefined), weight: 1 });
/** A document without its undefined fields (fc.record gives them as keys). */
const defined = (o: Record<string, unknown>): Blob => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

// ---------------------------------------------------------------- secondary and unique indexes

/** One secondary index as stored: its entries (value tuple, entity key) in index order, its counted entries, and a full scan's keys. */
interface IndexState {
  entries: string[];
  counted: number;
  scanned: string[];
}

const indexKs = keyspace('index');
const secondaryDefs = (db: Database, table: string): IndexDef[] =>
  db
    .get(Indexes)
    .list()
    .filter((d) => d.table === table && d.type !== 'fulltext')
    .sort((a, b) => a.id - b.id);
const nameOf = (d: IndexDef) => `${d.columns.join(',')}${d.unique ? ' unique' : ''}${d.sparse ? ' sparse' : ''} ${d.type}`;

/** Every secondary index on `table` as LevelDB holds it (read through the engine, and through scanKeys as queries do). */
async function secondaryDerived(db: Database, table: string): Promise<Record<string, IndexState>> {
  const im = db.get(Indexes);
  const out: Record<string, IndexState> = {};
  for (const d of secondaryDefs(db, table)) {
    const prefix = idPrefix(d.id);
    const entries: string[] = [];
    for await (const [k, v] of db.engine.scan(indexKs, { gte: prefix, lt: prefixUpperBound(prefix) })) {
      if (k[4] === 0x06) {
        // a compound marker: the document's attribute is an array or an object
        entries.push(JSON.stringify([['compound'], orderedCodec.decode(k.subarray(5))[0]]));
        continue;
      }
      const t = orderedCodec.decode(k.subarray(4));
      const key = d.unique ? v.toString('utf8') : (t.pop() as string);
      entries.push(JSON.stringify([t, key]));
    }
    const scanned: string[] = [];
    for await (const key of im.scanKeys(d.id, {})) scanned.push(key);
    out[nameOf(d)] = { entries, counted: im.list().find((x) => x.id === d.id)!.entries, scanned };
  }
  return out;
}

/** The same from the documents: each document's value tuples, in the index's order; a value two documents hold in a unique index is reported. */
function secondaryRecomputed(docs: ReadonlyMap<string, Blob>, db: Database, table: string): Record<string, IndexState> {
  const out: Record<string, IndexState> = {};
  for (const d of secondaryDefs(db, table)) {
    const rows: { k: Buffer; t: ScalarValue[]; key: string }[] = [];
    const markers: { k: Buffer; key: string }[] = [];
    for (const [key, doc] of docs) {
      for (const t of indexTuples(
        doc,
        d.columns.map((c) => c.split('.')),
        d.sparse,
      ))
        rows.push({ k: orderedCodec.encode(d.unique ? t : [...t, key]), t, key });
      const v = d.columns.length === 1 ? valueAt(doc, d.columns[0]!.split('.')) : undefined;
      if (v !== null && typeof v === 'object') markers.push({ k: Buffer.concat([Buffer.of(0x06), orderedCodec.encode([key])]), key });
    }
    rows.sort((a, b) => Buffer.compare(a.k, b.k));
    markers.sort((a, b) => Buffer.compare(a.k, b.k));
    const entries = rows.map((r, i) =>
      i > 0 && rows[i - 1]!.k.equals(r.k)
        ? `DUPLICATE in a unique index: ${JSON.stringify(r.t)} held by ${rows[i - 1]!.key} and ${r.key}`
        : JSON.stringify([r.t, r.key]),
    );
    entries.push(...markers.map((m) => JSON.stringify([['compound'], m.key])));
    out[nameOf(d)] = { entries, counted: rows.length, scanned: [...rows, ...markers].map((r) => r.key) };
  }
  return out;
}

/** Keys of documents that would give more entries than an index allows (the commit is refused; a backfill over one fails). */
const tooMany = (columns: string[][]) => (docs: ReadonlyMap<string, Blob>) =>
  [...docs].filter(([, doc]) => indexTuples(doc, columns, true).length > 1024).map(([k]) => k);

const scalar = fc.constantFrom<ScalarValue>('a', 'b', 'B', '', 1, 2, 2.5, -1, 0, true, false, null);
/** Arrays in two columns of a composite index multiply: 40 × 40 entries is over the limit of 1,024. */
const WIDE = Array.from({ length: 40 }, (_, i) => i);

/** Equality (non-sparse, arrays, mixed types), range (sparse) and composite (sparse, nested path) indexes; too many entries are refused. */
export function secondarySubject(table = 'sec'): ParticipantSubject<Record<string, IndexState>> {
  const composite = [['grp'], ['addr', 'city']];
  return {
    name: 'secondary indexes (equality, range, composite)',
    table,
    doc: fc.oneof(
      {
        arbitrary: fc
          .record({
            grp: optional(fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.constant({ o: 1 }))),
            score: optional(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom<unknown>(1.5, 'x', 'y', null, [1, 2]))),
            addr: optional(fc.record({ city: optional(fc.constantFrom<unknown>('x', 'y', 1, ['x', 'y'])) }).map(defined)),
          })
          .map(defined),
        weight: 30,
      },
      { arbitrary: fc.constant({ grp: WIDE, addr: { city: WIDE } }), weight: 1 },
    ),
    refusals: ['VALIDATION_FAILED'],
    async create(db) {
      await db.get(Indexes).create({ table, column: 'grp' });
      await db.get(Indexes).create({ table, column: 'score', type: 'range', sparse: true });
      await createRepairing(
        db,
        table,
        () => db.get(Indexes).create({ table, columns: ['grp', 'addr.city'], sparse: true }),
        'VALIDATION_FAILED',
        tooMany(composite),
      );
    },
    derived: (db) => secondaryDerived(db, table),
    recompute: (docs, db) => secondaryRecomputed(docs, db, table),
    probes: () => [{ doc: { grp: WIDE, addr: { city: WIDE } }, refused: 'VALIDATION_FAILED' }],
  };
}

const EMAILS = ['a@x', 'b@x', 'A@x'];
const SLOTS: ScalarValue[] = [1, 2, '1'];

/** Unique indexes: sparse with arrays (each element claims), non-sparse (a missing value is null, which one document may hold), composite. */
export function uniqueSubject(table = 'uniq'): ParticipantSubject<Record<string, IndexState>> {
  const specs = [
    { columns: ['email'], sparse: true },
    { columns: ['slot'], sparse: false },
    { columns: ['team', 'role'], sparse: true },
  ];
  const valuesOf = (columns: string[], sparse: boolean) => (doc: Blob) =>
    indexTuples(
      doc,
      columns.map((c) => [c]),
      sparse,
    ).map((t) => JSON.stringify(t));
  return {
    name: 'unique indexes',
    table,
    doc: fc
      .record({
        email: optional(fc.oneof(fc.constantFrom(...EMAILS), fc.constantFrom(['a@x', 'b@x'], ['b@x', 'b@x']))),
        slot: optional(fc.constantFrom(...SLOTS)),
        team: optional(fc.constantFrom('t1', 't2')),
        role: optional(fc.constantFrom('r1', 'r2')),
      })
      .map(defined),
    async create(db) {
      for (const s of specs) {
        await createRepairing(
          db,
          table,
          () => db.get(Indexes).create({ table, columns: s.columns, unique: true, sparse: s.sparse }),
          'CONFLICT',
          (docs) => laterHolders(docs, valuesOf(s.columns, s.sparse)),
        );
      }
    },
    derived: (db) => secondaryDerived(db, table),
    recompute: (docs, db) => secondaryRecomputed(docs, db, table),
    // A fresh slot of its own: a new document without one would hold null, which another may hold already.
    fresh: (n) => ({ slot: `fresh${n}` }),
    probes(docs) {
      const held = (columns: string[], sparse: boolean) => new Set([...docs.values()].flatMap(valuesOf(columns, sparse)));
      const emails = held(['email'], true);
      const slots = held(['slot'], false);
      const pairs = held(['team', 'role'], true);
      const probe = (taken: boolean, doc: Blob): Probe => ({ doc, ...(taken ? { refused: 'CONFLICT' } : {}) });
      // A value its holder gives up in the same commit is free to take (the taker written first).
      const holder = [...docs].find(([, d]) => d.email === 'b@x');
      const move: Probe[] = holder
        ? [{ doc: { email: 'b@x' }, alongside: [{ key: holder[0], doc: { ...holder[1], email: `moved from ${holder[0]}` } }] }]
        : [];
      return [
        ...move,
        ...EMAILS.map((e) => probe(emails.has(JSON.stringify([e])), { email: e })),
        ...SLOTS.map((s) => probe(slots.has(JSON.stringify([s])), { slot: s })),
        probe(pairs.has(JSON.stringify(['t1', 'r2'])), { team: 't1', role: 'r2' }),
      ];
    },
  };
}

// ---------------------------------------------------------------- fulltext

interface FulltextState {
  durable: { n: number; sumDl: number; df: [string, number][]; dl: [string, number][]; postings: [string, [string, number[]][]][] };
  memory: { n: number; sumDl: number; stats: unknown; dl: [string, number][]; postings: [string, [string, number[]][]][] };
}

// Overlapping terms, stems (run/runs/running), stopwords, case, non-ASCII, digits.
const WORDS = ['run', 'runs', 'Running', 'the', 'and', 'fox', 'foxes', 'Dog', 'dog', 'lazy', 'quick', 'über', 'Ueber', 'jumped', '42', 'a'];
const QUERIES = ['fox', 'dog', 'running', 'über', '42', 'fox OR dog', 'quick fox', 'dog -lazy', '"lazy dog"', 'ru*', 'fo*', 'the'];
export const sentence = fc
  .array(fc.constantFrom(...WORDS), { maxLength: 9 })
  .chain((ws) => fc.constantFrom(ws.join(' '), ws.join(', '), ws.join('-')));
/** The field: usually text; sometimes a number, an array, a non-text value, or absent. */
const bodyArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: sentence, weight: 8 },
  { arbitrary: fc.integer({ min: -5, max: 100_000 }), weight: 1 },
  {
    arbitrary: fc.array(fc.oneof(sentence, fc.integer({ min: 0, max: 99 }), fc.constant(null), fc.constant({ x: 'fox' })), {
      maxLength: 3,
    }),
    weight: 2,
  },
  { arbitrary: fc.constantFrom(undefined, true, null, { nested: 'fox dog' }, ''), weight: 2 },
);

/** The fulltext index on `table.column` (config as POST /index/create takes it): durable statistics and the in-memory postings with positions. */
export function fulltextSubject(
  o: { table?: string; column?: string; config?: Record<string, unknown>; label?: string; db?: Partial<DatabaseConfig> } = {},
): ParticipantSubject<FulltextState> {
  const table = o.table ?? 'ft';
  const column = o.column ?? 'body';
  const index = (db: Database) => db.get(Indexes).fulltext(table, column);
  return {
    name: `fulltext${o.label ? ` (${o.label})` : ''}`,
    ...(o.db ? { config: o.db } : {}),
    table,
    keys: 7,
    doc: fc.record({ body: bodyArb }).map((r) => defined({ [column]: r.body })),
    create: async (db) => {
      await db.get(Indexes).create({ table, column, type: 'fulltext', ...(o.config ? { config: o.config } : {}) });
    },
    async derived(db) {
      const ft = index(db);
      const ds = await ft.durableStats();
      const mem = ft.mem;
      const dl: [string, number][] = [];
      mem.docKeys.forEach((key, doc) => {
        key !== undefined && dl.push([key, mem.docLen[doc]!]);
      });
      const postings: [string, [string, number[]][]][] = [];
      for (const [term, pl] of mem.terms) {
        const docs: [string, number[]][] = [];
        for (let i = 0; i < pl.len; i++) docs.push([mem.docKeys[pl.docAt(i)]!, [...pl.positions(i)]]);
        postings.push([term, sortedPairs(docs)]);
      }
      return {
        durable: {
          n: ds.n,
          sumDl: ds.sumDl,
          df: sortedPairs(ds.df),
          dl: sortedPairs(ds.dl),
          postings: sortedPairs([...ds.postings].map(([t, docs]): [string, [string, number[]][]] => [t, sortedPairs(docs)])),
        },
        memory: { n: mem.n, sumDl: mem.sumDl, stats: ft.stats(), dl: sortedPairs(dl), postings: sortedPairs(postings) },
      };
    },
    recompute(docs, db) {
      const analyzer = index(db).analyzer;
      let n = 0;
      let sumDl = 0;
      const df = new Map<string, number>();
      const dl = new Map<string, number>();
      const postings = new Map<string, [string, number[]][]>();
      for (const [key, doc] of docs) {
        const a = analyzer.analyze(fieldTexts(doc[column]));
        if (a.length === 0) continue;
        n++;
        sumDl += a.length;
        dl.set(key, a.length);
        for (const [term, ps] of a.terms) {
          df.set(term, (df.get(term) ?? 0) + 1);
          postings.set(term, [...(postings.get(term) ?? []), [key, [...ps]]]);
        }
      }
      const stats = {
        documents: n,
        terms: df.size,
        postings: [...df.values()].reduce((x, y) => x + y, 0),
        avg_doc_length: n > 0 ? sumDl / n : 0,
      };
      const sortedPostings = sortedPairs([...postings].map(([t, ds]): [string, [string, number[]][]] => [t, sortedPairs(ds)]));
      return {
        durable: { n, sumDl, df: sortedPairs(df), dl: sortedPairs(dl), postings: sortedPostings },
        memory: { n, sumDl, stats, dl: sortedPairs(dl), postings: sortedPostings },
      };
    },
    recovery: { of: (db) => [index(db).loadedFrom], checkpoint: 'checkpoint', rebuilt: 'postings' },
    answers: (db) =>
      QUERIES.map((query) => {
        const { took_ms: _, ...r } = db.get(Search).fulltext({ table, column, query, limit: 100 });
        return r;
      }),
  };
}

// ---------------------------------------------------------------- vector

interface VectorState {
  keys: string[];
  vectors: [string, number[] | undefined][];
  size: number;
  storedCount: number;
  /** A search for all of them finds them all, nearest first. */
  found: string[];
  ordered: boolean;
}

const DIM = 4;
const vectorArb = fc.array(fc.integer({ min: -4, max: 4 }), { minLength: DIM, maxLength: DIM });
const isVector = (v: unknown, dim: number) => Array.isArray(v) && v.length === dim && v.every((x) => typeof x === 'number');

/** A vector index (L2, dimension fixed by the first vector): valid vectors are in the graph and counted; invalid ones (wrong dimension, not numbers) are refused. */
export function vectorSubject(table = 'vec'): ParticipantSubject<VectorState> {
  const name = `${table}_emb`;
  const index = (db: Database) => db.get(Vectors).manager.get(name);
  return {
    name: 'vector',
    table,
    doc: fc
      .record({
        emb: fc.oneof(
          { arbitrary: vectorArb, weight: 8 },
          { arbitrary: fc.constantFrom(undefined, null), weight: 2 },
          { arbitrary: fc.constantFrom<unknown>([1, 2], 'text', [1, 'x', 3, 4]), weight: 1 },
        ),
        tag: fc.constantFrom('a', 'b'),
      })
      .map(defined),
    refusals: ['VALIDATION_FAILED'],
    // The first vectors fix the dimension; documents written before the index may disagree, which fails the create: they go, and the dimension is given.
    create: (db) =>
      createRepairing(
        db,
        table,
        (attempt) => db.get(Vectors).createIndex({ name, table, field: 'emb', metric: 'L2', ...(attempt > 0 ? { dimension: DIM } : {}) }),
        'VALIDATION_FAILED',
        (docs) => [...docs].filter(([, d]) => d.emb !== undefined && d.emb !== null && !isVector(d.emb, DIM)).map(([k]) => k),
      ),
    derived(db) {
      const ix = index(db);
      const keys = [...ix.keys()].sort();
      const hits =
        ix.def.dimension === null || ix.size === 0 ? [] : ix.search(new Array<number>(ix.def.dimension!).fill(0.5), keys.length + 5);
      return {
        keys,
        vectors: keys.map((k) => [k, ix.vectorOf(k)]),
        size: ix.size,
        storedCount: ix.storedCount(),
        found: hits.map((h) => h.key).sort(),
        ordered: hits.every((h, i) => i === 0 || h.distance >= hits[i - 1]!.distance),
      };
    },
    recompute(docs) {
      const stored = sortedPairs(
        [...docs].filter(([, d]) => d.emb !== undefined && d.emb !== null).map(([k, d]): [string, number[]] => [k, d.emb as number[]]),
      );
      const keys = stored.map(([k]) => k);
      return {
        keys,
        vectors: stored.map(([k, v]) => [k, v.map(Math.fround)]),
        size: keys.length,
        storedCount: keys.length,
        found: keys,
        ordered: true,
      };
    },
    probes(_docs, db) {
      const dim = index(db).def.dimension ?? DIM;
      return [
        { doc: { emb: Array.from({ length: dim }, (_, i) => i + 1) } },
        { doc: { emb: [1, 'x'] }, refused: 'VALIDATION_FAILED' },
        { doc: { emb: new Array<number>(dim + 1).fill(1) }, refused: 'VALIDATION_FAILED' },
      ];
    },
    recovery: { of: (db) => [index(db).loadedFrom], checkpoint: 'checkpoint', rebuilt: 'rebuild' },
  };
}

// ---------------------------------------------------------------- graph

interface GraphState {
  /** Every adjacency entry: `out <from> <edge> <to>` and `in <to> <edge> <from>`. */
  entries: string[];
  /** neighbors() of each vertex, both directions, as graph queries see them. */
  neighbours: [string, string[], string[]][];
}

const graphKs = keyspace('graph');
const VERTICES = ['n:1', 'n:2', 'n:3', 'm:1'];
const endArb = fc.oneof(
  { arbitrary: fc.constantFrom(...VERTICES), weight: 6 },
  { arbitrary: fc.constantFrom<unknown>(undefined, 'no-colon', 42, ':x'), weight: 1 },
);

/** The graph adjacency index: an edge is a document whose `_from` and `_to` are entity keys; anything else is an ordinary document. */
export function graphSubject(table = 'edges'): ParticipantSubject<GraphState> {
  const ghost = Buffer.concat([Buffer.of(0x01), orderedCodec.encode(['n:9', `${table}:ghost`])]);
  return {
    name: 'graph adjacency',
    table,
    doc: fc.record({ _from: endArb, _to: endArb, w: fc.integer({ min: 0, max: 3 }) }).map(defined),
    async derived(db) {
      const entries: string[] = [];
      for await (const [k, v] of db.engine.scan(graphKs)) {
        const [vertex, edge] = orderedCodec.decode(k.subarray(1)) as [string, string];
        entries.push(`${k[0] === 0x01 ? 'out' : k[0] === 0x02 ? 'in' : `dir ${k[0]}`} ${vertex} ${edge} ${v.toString('utf8')}`);
      }
      const g = db.get(Graph);
      const neighbours: [string, string[], string[]][] = [];
      for (const v of [...VERTICES, 'n:9']) {
        const show = (xs: { edge: string; vertex: string }[]) => xs.map((x) => `${x.edge} ${x.vertex}`);
        neighbours.push([v, show(await g.neighbors(v, 'outbound')), show(await g.neighbors(v, 'inbound'))]);
      }
      return { entries: entries.sort(), neighbours };
    },
    recompute(docs) {
      const edges = [...docs].flatMap(([key, doc]) => {
        const e = edgeEnds(JSON.stringify(doc));
        return e ? [{ edge: key, ...e }] : [];
      });
      edges.sort((a, b) => (a.edge < b.edge ? -1 : 1));
      const entries = edges.flatMap((e) => [`out ${e.from} ${e.edge} ${e.to}`, `in ${e.to} ${e.edge} ${e.from}`]).sort();
      const neighbours = [...VERTICES, 'n:9'].map((v): [string, string[], string[]] => [
        v,
        edges.filter((e) => e.from === v).map((e) => `${e.edge} ${e.to}`),
        edges.filter((e) => e.to === v).map((e) => `${e.edge} ${e.from}`),
      ]);
      return { entries, neighbours };
    },
    // The next open rebuilds (the build marker is gone), and must clear what it finds first (a stale entry).
    forget: (db) =>
      db.engine.commit(new WriteBatch().del(keyspace('meta'), GRAPH_INDEX_VERSION_KEY).put(graphKs, ghost, Buffer.from('n:1'))),
  };
}

// ---------------------------------------------------------------- change log

interface ChangeLogState {
  /** The documents of the table, from replaying the whole log from empty. */
  replayed: [string, unknown][];
  /** Gaps, entries disagreeing with what came before them, a last_seq that is not the last entry. */
  problems: string[];
}

/** The change log: replayed from empty, it gives exactly the stored documents, with contiguous sequence numbers and each entry's `prev` the value before it. */
export function changeLogSubject(table = 'log'): ParticipantSubject<ChangeLogState> {
  return {
    name: 'change log',
    table,
    doc: fc.record({ n: fc.integer({ min: 0, max: 3 }), s: optional(fc.constantFrom('x', 'y')) }).map(defined),
    async derived(db) {
      const log = db.changeLog;
      const problems: string[] = [];
      const state = new Map<string, string>();
      if (log.firstSeq !== 1) problems.push(`first_seq ${log.firstSeq}`);
      let from = 0;
      for (;;) {
        const r = await log.read({ fromSeq: from, limit: 1000 });
        for (const e of r.entries) {
          if (e.seq !== from + 1) problems.push(`gap: ${from} then ${e.seq}`);
          if ((state.get(e.key) ?? null) !== e.prev)
            problems.push(`seq ${e.seq} ${e.op} ${e.key}: prev ${e.prev}, but the log had ${state.get(e.key) ?? null}`);
          if (e.op === 'put' && e.value !== null) state.set(e.key, e.value);
          else if (e.op === 'delete' && e.value === null) state.delete(e.key);
          else problems.push(`seq ${e.seq}: ${e.op} with value ${e.value}`);
          from = e.seq;
        }
        if (r.entries.length === 0) break;
      }
      if (from !== log.lastSeq) problems.push(`last entry ${from}, last_seq ${log.lastSeq}`);
      if (log.stats().entries !== from) problems.push(`stats count ${log.stats().entries} entries, the log has ${from}`);
      return {
        replayed: sortedPairs([...state].filter(([k]) => k.startsWith(`${table}:`)).map(([k, v]): [string, unknown] => [k, JSON.parse(v)])),
        problems,
      };
    },
    recompute: (docs) => ({ replayed: sortedPairs(docs), problems: [] }),
  };
}

/** Every participant, as the suite runs them. */
export const SUBJECTS: readonly ParticipantSubject[] = [
  secondarySubject(),
  uniqueSubject(),
  fulltextSubject(),
  fulltextSubject({
    table: 'ften',
    config: { language: 'en', stemming_enabled: true, stopwords_enabled: true },
    label: 'en analyzer: stemming, stopwords',
  }),
  // Every implicit commit's analysis on the worker thread (records as hints for prepare).
  fulltextSubject({
    table: 'ftw',
    config: { language: 'de', stemming_enabled: true, stopwords_enabled: true, normalize_umlauts: true },
    label: 'analysis worker',
    db: { fulltextWorkers: 1, fulltextWorkerMinDocs: 1 },
  }),
  vectorSubject(),
  graphSubject(),
  changeLogSubject(),
];
