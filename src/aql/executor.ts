import { v4 as uuidv4 } from 'uuid';
import { parseEntityKey } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../json-limits.js';
import type { Direction as GraphDirection } from '../graph/index.js';
import type { DocumentStore } from '../documents/index.js';
import type { EntityStore } from '../entities/entity-store.js';
import type { Engine, ScalarValue, Snapshot } from '../storage/index.js';
import type { Transaction, TransactionManager } from '../txn/index.js';
import { subqueriesOf } from './analyze.js';
import type { AqlValue, Expr } from './ast.js';
import { evaluate, evaluateVal, type EvalContext, type Scope } from './evaluator.js';
import { BigMap, BigSet } from './big-collections.js';
import { checkDepth, Governor, Pending, resolveVal, sizeOf, type Holding } from './governor.js';
import type { FnContext } from './functions/index.js';
import type { Plan, Source, Step, SubPlans } from './planner.js';
import { compare, hashKey, toNumber, truthy } from './values.js';


/** What the executor needs from the database (all reads go through `snapshot` where storage allows). */
export interface ExecDeps {
  /** Snapshots (one per query). */
  engine: Engine;
  transactions: TransactionManager;
  /** Stored documents (reads as of the query's snapshot). */
  documents: DocumentStore;
  /** Where modifications are buffered (in the query's transaction). */
  entities: EntityStore;
  /** Entity keys of an equality/range index scan, in index order, as of the snapshot. */
  scanKeys(indexId: number, r: { eq?: ScalarValue; lower?: ScalarValue; upper?: ScalarValue; includeLower?: boolean; includeUpper?: boolean; reverse?: boolean }, snapshot: Snapshot): AsyncGenerator<string>;
  /** BM25 hits (best first) of a fulltext index; latest committed state. */
  fulltext(table: string, column: string, query: string, limit: number): { key: string; score: number }[];
  /** k nearest keys of a vector index (COSINE similarity = 1 - distance); filter runs inside the graph walk. */
  vector(index: string, vector: AqlValue, k: number, filter?: (key: string) => boolean): { key: string; distance: number }[];
  /** Edges at a vertex (latest committed state). */
  neighbors(vertex: string, direction: GraphDirection, edgeTable: string): Promise<{ edge: string; vertex: string }[]>;
}

export interface ExecOptions {
  bindVars: Readonly<Record<string, AqlValue>>;
  /** Absolute deadline (Date.now() ms). */
  deadline: number;
  /** Most rows a SORT, COLLECT, DISTINCT or hash-join build may hold. */
  maxIntermediate: number;
  /** Most estimated bytes the query may hold at once (THEMIS_QUERY_MAX_MEMORY); unlimited when absent. */
  maxMemory?: number;
  /** Deepest nesting of a value (bind parameters, JSON_PARSE, documents written); 256 when absent. */
  maxDepth?: number;
  /** The request's transaction (reads see its writes; modifications go into it). */
  txn?: Transaction;
  /** Without a request transaction: the implicit one a modifying query writes into (its snapshot is the query's). */
  writeTxn?: Transaction;
  now?: () => number;
}

/** The subqueries of each expression (the AST never changes after parsing, and parsed queries are reused). */
const SUBQUERIES = new WeakMap<Expr, Extract<Expr, { type: 'subquery' }>[]>();

/** A row: variable bindings (prototype-chained objects without Object.prototype). */
type Row = Record<string, AqlValue>;

/** Thrown when a SORT that relies on index order finds values the index cannot order (objects, arrays) or too few rows: re-plan without it. */
export class IndexOrderUnusable extends Error {}

const FULLTEXT_LIMIT = 10_000;

function extend(row: Row, name: string, value: AqlValue): Row {
  const r = Object.create(row) as Row;
  r[name] = value;
  return r;
}

/** Stored document as AQL sees it: parsed JSON with non-enumerable `_key` and `_id` (so JSON.stringify gives the stored text). */
export function documentOf(key: string, pkStart: number, text: string, texts: WeakMap<object, string>): AqlValue {
  const doc = JSON.parse(text) as AqlValue;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    Object.defineProperty(doc, '_key', { value: key.slice(pkStart), enumerable: false });
    Object.defineProperty(doc, '_id', { value: key, enumerable: false });
    texts.set(doc, text);
  }
  return doc;
}

/**
 * Runs a plan as a pipeline of async generators: sources stream from
 * LevelDB (one snapshot for the whole query) or the in-memory indexes, and
 * a LIMIT stops the sources early. SORT, COLLECT and DISTINCT hold at most
 * `maxIntermediate` rows; the deadline is checked as rows flow, and the
 * event loop gets a turn every few hundred rows of in-memory work.
 */
export class Executor {
  /** Stored texts of documents read (RETURN of a document yields its stored text). */
  readonly texts = new WeakMap<object, string>();
  /** BM25 scores / similarities of documents produced by fulltext / vector sources. */
  private readonly scores = new WeakMap<object, number>();
  private readonly ctx: EvalContext;
  private readonly fn: FnContext;
  /** The query's deadline, memory budget and event-loop turns (shared by every step and built-in). */
  readonly gov: Governor;

  constructor(
    private readonly deps: ExecDeps,
    readonly snapshot: Snapshot,
    private readonly opts: ExecOptions,
    private readonly subPlans: SubPlans = new Map(),
  ) {
    this.gov = new Governor({ deadline: opts.deadline, maxMemory: opts.maxMemory ?? Infinity, maxDepth: opts.maxDepth ?? DEFAULT_MAX_JSON_DEPTH });
    this.fn = { now: opts.now ?? Date.now, gov: this.gov, texts: this.texts };
    this.ctx = { bind: opts.bindVars, fn: this.fn, engineCall: (name, args) => this.engineCall(name, args) };
  }

  private engineCall(name: string, args: AqlValue[]): AqlValue {
    switch (name) {
      case 'BM25': {
        const d = args[0];
        if (d === null || typeof d !== 'object' || !this.scores.has(d)) throw new ThemisError('VALIDATION_FAILED', 'BM25(doc) needs a document of a FOR loop filtered with FULLTEXT()');
        return this.scores.get(d)!;
      }
      case 'SIMILARITY':
        return cosine(args[0] ?? null, args[1] ?? null);
      case 'DOCUMENT':
        return this.documentCall(args);
      case 'FULLTEXT':
        throw new ThemisError('VALIDATION_FAILED', 'FULLTEXT(doc.attribute, query) can only be a FILTER condition of a FOR over a collection with a fulltext index on that attribute');
      case 'NEAR':
        throw new ThemisError('VALIDATION_FAILED', 'NEAR(doc.attribute, vector, k) can only be a FILTER condition of a FOR over a collection with a vector index on that attribute');
      default:
        throw new ThemisError('VALIDATION_FAILED', `unknown function ${name}()`);
    }
  }

  /** Absolute deadline (ms); a cursor moves it for each page. */
  get deadline(): number {
    return this.gov.deadline;
  }

  set deadline(ms: number) {
    this.gov.deadline = ms;
  }

  /**
   * DOCUMENT(id), DOCUMENT([ids]), DOCUMENT(collection, key | [keys]): documents
   * as the query sees them (its snapshot, its transaction's writes); null /
   * left out when absent. Ids are `table:pk` (ArangoDB's `collection/key` too).
   */
  private documentCall(args: AqlValue[]): AqlValue {
    const one = (id: AqlValue, table?: string): AqlValue => {
      if (typeof id !== 'string' || id === '') return null;
      let key = id;
      if (table !== undefined) key = id.startsWith(`${table}:`) || id.startsWith(`${table}/`) ? `${table}:${id.slice(table.length + 1)}` : `${table}:${id}`;
      else {
        const colon = id.indexOf(':');
        const slash = id.indexOf('/');
        if (colon < 0 && slash > 0) key = `${id.slice(0, slash)}:${id.slice(slash + 1)}`;
      }
      const text = this.readEntity(key);
      if (text === undefined) return null;
      return this.doc(key, key.slice(0, key.indexOf(':')), text);
    };
    const table = args.length > 1 ? args[0] : undefined;
    if (table !== undefined && typeof table !== 'string') throw new ThemisError('VALIDATION_FAILED', 'DOCUMENT(collection, key): the collection must be a name');
    const ids = args.length > 1 ? args[1]! : args[0] ?? null;
    if (Array.isArray(ids)) return ids.map((x) => one(x, table as string | undefined)).filter((d) => d !== null);
    return one(ids, table as string | undefined);
  }

  /** Per row: the deadline (a clock read costs far less than any row). */
  private tick(): void {
    this.gov.checkTime();
  }

  /** Whether this query has held the event loop for a slice (then `await this.turn()`). */
  private get turnDue(): boolean {
    return this.gov.turnDue;
  }

  /** Give the event loop a turn (other requests, timers). */
  private turn(): Promise<void> {
    return this.gov.turn();
  }

  /** Evaluate `e` for `row`, running the subqueries it contains first. */
  private async eval(e: Expr, row: Row): Promise<AqlValue> {
    let subs = SUBQUERIES.get(e);
    if (!subs) SUBQUERIES.set(e, (subs = subqueriesOf(e)));
    if (subs.length === 0) {
      const v = evaluateVal(e, scopeOf(row), this.ctx);
      return v instanceof Pending ? v.promise : v;
    }
    const results = new Map<Expr, AqlValue>();
    for (const s of subs) results.set(s, await this.subquery(s, row));
    return resolveVal(evaluateVal(e, scopeOf(row), { ...this.ctx, subqueries: results }));
  }

  /**
   * Evaluate `e` where awaiting is impossible (a vector search's filter
   * runs inside the graph walk): governed loops run to the end, still
   * checking the deadline and the memory budget.
   */
  private evalSync(e: Expr, row: Row): AqlValue {
    const gov = this.gov;
    const could = gov.canYield;
    gov.canYield = false;
    try {
      return evaluate(e, scopeOf(row), this.ctx);
    } finally {
      gov.canYield = could;
    }
  }

  /** Estimated bytes of a row's variables (documents by their stored text), checking their nesting; 96 for the row objects themselves. */
  private rowBytes(row: Row): number {
    let b = 96;
    for (const k in row) b += sizeOf(row[k], this.gov.maxDepth, this.texts);
    return b;
  }

  private valueBytes(v: AqlValue): number {
    return sizeOf(v, this.gov.maxDepth, this.texts);
  }

  private async subquery(s: Extract<Expr, { type: 'subquery' }>, row: Row): Promise<AqlValue> {
    const p = this.subPlans.get(s);
    if (!p) throw new Error('subquery was not planned');
    const out: AqlValue[] = [];
    const held = this.gov.holding();
    let bytes = 0;
    try {
      held.hold(16);
      for await (const v of this.values(p.steps, p.ret, row)) {
        held.hold(8 + this.valueBytes(v));
        out.push(v);
        if (out.length > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'a subquery');
      }
    } finally {
      bytes = held.close();
    }
    // The result now belongs to the enclosing row's value.
    this.gov.charge(bytes);
    return out;
  }

  /** The query's result values (documents as objects; use `texts` for their stored text). */
  async *values(steps: Step[], ret: Plan['ret'] | { expr: Expr; distinct: boolean } | undefined, start: Row = Object.create(null) as Row): AsyncGenerator<AqlValue> {
    let rows: AsyncIterable<Row> = single(start);
    for (const s of steps) rows = this.step(s, rows, start);
    if (!ret) {
      // a modification query without RETURN: drain
      for await (const _ of rows) this.tick();
      return;
    }
    // Sets and maps that can grow to millions are sharded (big-collections.ts): no rehash stalls.
    const seen = ret.distinct ? new BigSet() : undefined;
    const gov = this.gov;
    const held = gov.holding();
    try {
      for await (const row of rows) {
        if (this.gov.due()) await this.turn();
        const m = gov.mark();
        const v = await this.eval(ret.expr, row);
        if (seen) {
          const h = hashKey(v);
          if (seen.has(h)) {
            gov.reset(m);
            continue;
          }
          held.hold(40 + 2 * h.length);
          seen.add(h);
          if (seen.size > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'RETURN DISTINCT');
        }
        yield v;
        // The consumer holds (and charges) the value now; what building it took is garbage.
        gov.reset(m);
      }
    } finally {
      held.close();
    }
  }

  /** `start`: the row the steps run for (a subquery's enclosing row). */
  private step(s: Step, input: AsyncIterable<Row>, start: Row): AsyncIterable<Row> {
    switch (s.kind) {
      case 'for':
        return this.forStep(s, input);
      case 'traversal':
        return this.traversalStep(s, input);
      case 'shortestPath':
        return this.shortestPathStep(s, input);
      case 'filter':
        return this.filterStep(s.cond, input);
      case 'let':
        return this.letStep(s.var, s.expr, input);
      case 'sort':
        return this.sortStep(s, input);
      case 'limit':
        return this.limitStep(s.offset, s.count, input);
      case 'collect':
        return this.collectStep(s, input, start);
      case 'modify':
        return this.modifyStep(s, input);
    }
  }

  private async *filterStep(cond: Expr, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    for await (const row of input) {
      if (this.gov.due()) await this.turn();
      if (truthy(await this.eval(cond, row))) yield row;
    }
  }

  private async *letStep(v: string, e: Expr, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    for await (const row of input) yield extend(row, v, await this.eval(e, row));
  }

  private async *limitStep(offsetE: Expr, countE: Expr, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    let offset: number | undefined;
    let count = 0;
    let skipped = 0;
    let taken = 0;
    for await (const row of input) {
      if (offset === undefined) {
        offset = limitValue(await this.eval(offsetE, row), 'offset');
        count = limitValue(await this.eval(countE, row), 'count');
        if (count === 0) return;
      }
      if (skipped < offset) {
        skipped++;
        continue;
      }
      yield row;
      if (++taken >= count) return;
    }
  }

  // ------------------------------------------------------------------ FOR

  private async *forStep(s: Extract<Step, { kind: 'for' }>, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    const src = s.source;
    const gov = this.gov;
    const held = gov.holding();
    try {
      const hash = src.kind === 'hash_join' ? await this.buildHash(s, src, held) : undefined;
      for await (const row of input) {
        // Memory marks: m0 before this row's source, m1 once the source is built; each new
        // document releases what the rows below built for the previous one.
        const m0 = gov.mark();
        let m1 = -1;
        for await (const doc of this.sourceDocs(s, src, row, hash)) {
          if (m1 < 0) m1 = gov.mark();
          else gov.reset(m1);
          if (this.gov.due()) await this.turn();
          const r = extend(row, s.var, doc);
          // Inline (no promise per row): a filter awaits only when its evaluation suspended.
          let ok = true;
          for (const f of s.filters) {
            let c = evaluateVal(f, scopeOf(r), this.ctx);
            if (c instanceof Pending) c = await c.promise;
            if (!truthy(c)) {
              ok = false;
              break;
            }
          }
          if (ok) yield r;
        }
        gov.reset(m0);
      }
    } finally {
      held.close();
    }
  }

  /** The transaction's writes to `table`, when the query runs inside one (its puts join the source; its keys are skipped in storage). */
  private overlay(table: string): { written: Set<string>; puts: [string, string][] } | undefined {
    const t = this.opts.txn;
    if (!t || t.writes.size === 0) return undefined;
    const written = new Set<string>();
    const puts: [string, string][] = [];
    for (const w of t.writes.values()) {
      if (w.k.table !== table) continue;
      written.add(w.k.key);
      if (w.op === 'put' && w.value !== null) puts.push([w.k.key, w.value]);
    }
    return written.size === 0 ? undefined : { written, puts };
  }

  /** Read one entity as the query sees it (the transaction's own write first, else the snapshot). */
  private readEntity(key: string): string | undefined {
    const w = this.opts.txn?.writes.get(key);
    if (w) return w.value ?? undefined;
    let k;
    try {
      k = parseEntityKey(key);
    } catch {
      return undefined;
    }
    return this.deps.documents.read(k, this.snapshot);
  }

  private doc(key: string, table: string, text: string): AqlValue {
    return documentOf(key, table.length + 1, text, this.texts);
  }

  private async *sourceDocs(s: Extract<Step, { kind: 'for' }>, src: Source, row: Row, hash: BigMap<AqlValue[]> | undefined): AsyncGenerator<AqlValue> {
    switch (src.kind) {
      case 'expr': {
        const v = await this.eval(src.expr, row);
        if (!Array.isArray(v)) throw new ThemisError('VALIDATION_FAILED', `FOR ${s.var} IN ...: expected an array to iterate, got ${v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`} (line ${s.pos.line}, column ${s.pos.column})`);
        let n = 0;
        for (const x of v) {
          yield x;
          if (++n % 64 === 0 && this.turnDue) await this.turn();
        }
        return;
      }
      case 'full_scan': {
        const ov = this.overlay(src.table);
        const pkStart = src.table.length + 1;
        for await (const chunk of this.deps.documents.scan({ table: src.table, snapshot: this.snapshot, size: 256 })) {
          for (const [key, text] of chunk) {
            if (ov?.written.has(key)) continue;
            yield documentOf(key, pkStart, text, this.texts);
          }
        }
        if (ov) for (const [key, text] of ov.puts) yield this.doc(key, src.table, text);
        return;
      }
      case 'primary': {
        const v = await this.eval(src.keys, row);
        const keys = src.many ? (Array.isArray(v) ? v : []) : [v];
        const seen = new Set<string>();
        for (const pk of keys) {
          if (typeof pk !== 'string' || pk === '' || seen.has(pk)) continue;
          seen.add(pk);
          const key = `${src.table}:${pk}`;
          const text = this.readEntity(key);
          if (text !== undefined) yield this.doc(key, src.table, text);
        }
        return;
      }
      case 'index_eq': {
        const v = await this.eval(src.values, row);
        const vals = src.many ? (Array.isArray(v) ? v : []) : [v];
        // Objects and arrays are not index values (an indexed array is stored as its elements), and a
        // sparse index holds no nulls: `==` can still match such documents, so scan the table (the
        // FOR's filters keep the condition).
        if (vals.some((x) => (x !== null && typeof x === 'object') || (x === null && src.sparse))) {
          yield* this.sourceDocs(s, { kind: 'full_scan', table: src.table }, row, undefined);
          return;
        }
        yield* this.indexedDocs(
          src.table,
          vals.map((x) => () => this.deps.scanKeys(src.indexId, { eq: x as ScalarValue }, this.snapshot)),
        );
        return;
      }
      case 'index_range': {
        const r: { lower?: ScalarValue; upper?: ScalarValue; includeLower?: boolean; includeUpper?: boolean; reverse: boolean } = { reverse: src.reverse };
        if (src.lower) {
          r.lower = (await this.eval(src.lower.expr, row)) as ScalarValue;
          r.includeLower = src.lower.inclusive;
        }
        if (src.upper) {
          r.upper = (await this.eval(src.upper.expr, row)) as ScalarValue;
          r.includeUpper = src.upper.inclusive;
        }
        // With a transaction's own writes the order is no longer the index's (they follow the
        // index's rows, where a SORT's LIMIT may never reach them): a SORT relying on it re-plans.
        if (src.ordered && this.overlay(src.table)) throw new IndexOrderUnusable('overlay');
        yield* this.indexedDocs(src.table, [() => this.deps.scanKeys(src.indexId, r, this.snapshot)]);
        return;
      }
      case 'hash_join': {
        const k = await this.eval(src.outerKey, row);
        const hits = hash!.get(hashKey(k));
        if (hits) yield* hits;
        return;
      }
      case 'fulltext': {
        const q = await this.eval(src.query, row);
        if (typeof q !== 'string') throw new ThemisError('VALIDATION_FAILED', 'FULLTEXT(): the query must be a string');
        for (const h of this.deps.fulltext(src.table, src.column, q, FULLTEXT_LIMIT)) {
          const text = this.readEntity(h.key);
          if (text === undefined) continue;
          const d = this.doc(h.key, src.table, text);
          if (d !== null && typeof d === 'object') this.scores.set(d, h.score);
          yield d;
        }
        return;
      }
      case 'vector': {
        const vec = await this.eval(src.vector, row);
        const k = toNumber(await this.eval(src.k, row));
        if (!Number.isInteger(k) || k < 0 || k > 10_000) throw new ThemisError('VALIDATION_FAILED', `the number of nearest neighbours must be an integer from 0 to 10000, got ${k}`);
        if (k === 0) return;
        // The FOR's other conditions run inside the graph walk, so k hits come back whenever k match.
        const cache = new Map<string, AqlValue | undefined>();
        const load = (key: string) => {
          if (!cache.has(key)) {
            const text = this.readEntity(key);
            cache.set(key, text === undefined ? undefined : this.doc(key, src.table, text));
          }
          return cache.get(key);
        };
        const filter =
          s.filters.length === 0
            ? (key: string) => load(key) !== undefined
            : (key: string) => {
                const d = load(key);
                if (d === undefined) return false;
                const r = extend(row, s.var, d);
                return s.filters.every((f) => truthy(this.evalSync(f, r)));
              };
        for (const h of this.deps.vector(src.index, vec, k, filter)) {
          const d = load(h.key);
          if (d === undefined) continue;
          if (d !== null && typeof d === 'object') this.scores.set(d, 1 - h.distance);
          yield d;
        }
        return;
      }
    }
  }

  /**
   * Documents of the keys some index scans yield, each once, as the query
   * sees them; with a transaction, its written keys are skipped in the scans
   * and its own puts to the table follow (filters decide whether they match).
   */
  private async *indexedDocs(table: string, scans: (() => AsyncGenerator<string>)[]): AsyncGenerator<AqlValue> {
    const ov = this.overlay(table);
    const seen = new Set<string>();
    for (const scan of scans) {
      for await (const key of scan()) {
        if (seen.has(key) || ov?.written.has(key)) continue;
        seen.add(key);
        const text = this.readEntity(key);
        if (text !== undefined) yield this.doc(key, table, text);
      }
    }
    if (ov) for (const [key, text] of ov.puts) yield this.doc(key, table, text);
  }

  /** The inner side of a hash join: the table's documents (filtered by conditions on them alone) by join key. */
  private async buildHash(s: Extract<Step, { kind: 'for' }>, src: Extract<Source, { kind: 'hash_join' }>, held: Holding): Promise<BigMap<AqlValue[]>> {
    const map = new BigMap<AqlValue[]>();
    let n = 0;
    const empty = Object.create(null) as Row;
    const gov = this.gov;
    for await (const d of this.sourceDocs(s, { kind: 'full_scan', table: src.table }, empty, undefined)) {
      if (gov.due()) await this.turn();
      const m = gov.mark();
      const h = hashKey(await this.eval(src.innerKey, extend(empty, s.var, d)));
      gov.reset(m);
      held.hold(48 + 2 * h.length + this.valueBytes(d));
      const list = map.get(h);
      if (list) list.push(d);
      else map.set(h, [d]);
      if (++n > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, `the hash join over ${src.table}`);
    }
    return map;
  }

  // ------------------------------------------------------------------ graph

  private vertexDoc(key: string): AqlValue {
    const text = this.readEntity(key);
    if (text === undefined) return null;
    const sep = key.indexOf(':');
    return this.doc(key, key.slice(0, sep), text);
  }

  private async startVertex(e: Expr, row: Row): Promise<string | undefined> {
    const v = await this.eval(e, row);
    const key = typeof v === 'string' ? v : v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { _id?: unknown })._id === 'string' ? ((v as { _id: string })._id as string) : undefined;
    if (key === undefined) return undefined;
    try {
      return parseEntityKey(key).key;
    } catch {
      return undefined;
    }
  }

  /** BFS with global vertex uniqueness (ArangoDB: bfs, uniqueVertices "global"): each vertex once, at its shortest depth in min..max. */
  private async *traversalStep(s: Extract<Step, { kind: 'traversal' }>, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    const op = s.op;
    const dir = op.direction.toLowerCase() as GraphDirection;
    for await (const row of input) {
      const start = await this.startVertex(op.start, row);
      if (start === undefined) continue;
      type Node = { vertex: string; edge: string | null; parent: Node | null; depth: number };
      const seen = new BigSet().add(start);
      let frontier: Node[] = [{ vertex: start, edge: null, parent: null, depth: 0 }];
      for (let depth = 0; frontier.length > 0 && depth <= op.max; depth++) {
        const next: Node[] = [];
        for (const n of frontier) {
          this.tick();
          if (depth >= op.min) {
            const vertices: AqlValue[] = [];
            const edges: AqlValue[] = [];
            for (let p: Node | null = n; p; p = p.parent) {
              vertices.unshift(this.vertexDoc(p.vertex));
              if (p.edge) edges.unshift(this.vertexDoc(p.edge));
            }
            let r = extend(row, op.vertexVar, vertices[vertices.length - 1]!);
            if (op.edgeVar) r = extend(r, op.edgeVar, edges.length > 0 ? edges[edges.length - 1]! : null);
            if (op.pathVar) r = extend(r, op.pathVar, { vertices, edges });
            if (s.filters.every((f) => truthy(this.evalSync(f, r)))) yield r;
          }
          if (depth < op.max) {
            for (const a of await this.deps.neighbors(n.vertex, dir, s.edgeTable)) {
              if (seen.has(a.vertex)) continue;
              seen.add(a.vertex);
              next.push({ vertex: a.vertex, edge: a.edge, parent: n, depth: depth + 1 });
              if (seen.size > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'the traversal');
            }
          }
        }
        frontier = next;
      }
    }
  }

  private async *shortestPathStep(s: Extract<Step, { kind: 'shortestPath' }>, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    const op = s.op;
    const dir = op.direction.toLowerCase() as GraphDirection;
    for await (const row of input) {
      const from = await this.startVertex(op.from, row);
      const to = await this.startVertex(op.to, row);
      if (from === undefined || to === undefined) continue;
      const parent = new BigMap<[string, string] | null>().set(from, null);
      let found = from === to;
      let frontier = [from];
      while (!found && frontier.length > 0) {
        const next: string[] = [];
        for (const v of frontier) {
          this.tick();
          for (const a of await this.deps.neighbors(v, dir, s.edgeTable)) {
            if (parent.has(a.vertex)) continue;
            parent.set(a.vertex, [v, a.edge]);
            if (a.vertex === to) {
              found = true;
              break;
            }
            next.push(a.vertex);
            if (parent.size > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'the shortest-path search');
          }
          if (found) break;
        }
        frontier = next;
      }
      if (!found) continue;
      const path: [string, string | null][] = [];
      for (let v: string | undefined = to; v !== undefined; ) {
        const p = parent.get(v);
        path.unshift([v, p ? p[1] : null]);
        v = p ? p[0] : undefined;
      }
      for (const [vertex, edge] of path) {
        let r = extend(row, op.vertexVar, this.vertexDoc(vertex));
        if (op.edgeVar) r = extend(r, op.edgeVar, edge === null ? null : this.vertexDoc(edge));
        if (s.filters.every((f) => truthy(this.evalSync(f, r)))) yield r;
      }
    }
  }

  // ------------------------------------------------------------------ SORT, COLLECT

  private async *sortStep(s: Extract<Step, { kind: 'sort' }>, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    const held = this.gov.holding();
    try {
      yield* this.sortRows(s, input, held);
    } finally {
      held.close();
    }
  }

  /** SORT's body; `held` accounts for the rows it buffers. */
  private async *sortRows(s: Extract<Step, { kind: 'sort' }>, input: AsyncIterable<Row>, held: Holding): AsyncGenerator<Row> {
    let need: number | undefined;
    const keyed: { row: Row; keys: AqlValue[]; n: number; bytes: number }[] = [];
    const prune = async (): Promise<void> => {
      await this.sorted(keyed, cmp);
      let freed = 0;
      for (let i = need!; i < keyed.length; i++) freed += keyed[i]!.bytes;
      keyed.length = need!;
      held.free(freed);
    };
    let n = 0;
    const dirs = s.keys.map((k) => (k.dir === 'DESC' ? -1 : 1));
    const cmp = (a: (typeof keyed)[number], b: (typeof keyed)[number]) => {
      for (let i = 0; i < dirs.length; i++) {
        const c = compare(a.keys[i]!, b.keys[i]!);
        if (c !== 0) return c * dirs[i]!;
      }
      return a.n - b.n;
    };
    for await (const row of input) {
      this.tick();
      if (s.limit && need === undefined) need = limitValue(await this.eval(s.limit.offset, row), 'offset') + limitValue(await this.eval(s.limit.count, row), 'count');
      const keys: AqlValue[] = [];
      for (const k of s.keys) keys.push(await this.eval(k.expr, row));
      // the row, its sort keys, and the entry that holds them
      const bytes = this.rowBytes(row) + 64 + 8 * keys.length + keys.reduce<number>((t, k) => t + (k !== null && typeof k === 'object' ? this.valueBytes(k) : 0), 0);
      held.hold(bytes);
      keyed.push({ row, keys, n: n++, bytes });
      if (s.byIndex) {
        // The source delivers this order; check it (objects and arrays are not ordered by an index) and stop at the limit.
        const cur = keys[0]!;
        if (cur !== null && typeof cur === 'object') throw new IndexOrderUnusable('order');
        if (s.keys.length === 1 && keyed.length > 1) {
          const prev = keyed[keyed.length - 2]!.keys[0]!;
          if (compare(prev, cur) * (s.keys[0]!.dir === 'DESC' ? -1 : 1) > 0) throw new IndexOrderUnusable('order');
        }
        if (need !== undefined && keyed.length >= need) break;
      } else if (need !== undefined && need < this.opts.maxIntermediate && keyed.length >= Math.min(2 * need + 1024, this.opts.maxIntermediate)) {
        // SORT ... LIMIT keeps only the rows that can still make the cut (memory stays bounded).
        await prune();
      } else if (keyed.length > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'SORT');
      if (this.turnDue) await this.turn();
    }
    if (s.byIndex) {
      // Similarity order from a vector source is exact by construction; a range index that ran out may have missed unindexed documents.
      if (need !== undefined && keyed.length < need && !isSimilaritySort(s)) throw new IndexOrderUnusable('short');
      yield* this.emit(keyed);
      return;
    }
    if (need !== undefined && need < keyed.length) await prune();
    else await this.sorted(keyed, cmp);
    yield* this.emit(keyed);
  }

  /** Sorts in governed slices (one Array.prototype.sort over a million rows holds the loop for seconds). */
  private async sorted<T>(arr: T[], cmp: (a: T, b: T) => number): Promise<void> {
    const r = this.gov.sort(arr, cmp);
    if (r instanceof Pending) await r.promise;
  }

  /** Emits buffered rows; what the rows below build for one is released at the next. */
  private async *emit(list: { row: Row }[]): AsyncGenerator<Row> {
    const m = this.gov.mark();
    for (const k of list) {
      this.gov.reset(m);
      yield k.row;
    }
    this.gov.reset(m);
  }

  private async *collectStep(s: Extract<Step, { kind: 'collect' }>, input: AsyncIterable<Row>, start: Row): AsyncGenerator<Row> {
    const held = this.gov.holding();
    try {
      yield* this.collectRows(s, input, start, held);
    } finally {
      held.close();
    }
  }

  /** COLLECT's body; `held` accounts for its groups, their aggregate values and INTO rows. */
  private async *collectRows(s: Extract<Step, { kind: 'collect' }>, input: AsyncIterable<Row>, start: Row, held: Holding): AsyncGenerator<Row> {
    const op = s.op;
    interface Group {
      values: AqlValue[];
      count: number;
      agg: AggState[];
      into: AqlValue[];
    }
    const groups = new BigMap<Group>();
    let outerRow: Row | undefined;
    const gov = this.gov;
    // INTO rows and PUSH/UNIQUE values of all groups together: each group alone may stay under the cap.
    let heldValues = 0;
    for await (const row of input) {
      if (this.gov.due()) await this.turn();
      outerRow ??= row;
      const values: AqlValue[] = [];
      for (const g of op.groups) values.push(await this.eval(g.expr, row));
      const h = values.map(hashKey).join('\u0000');
      let g = groups.get(h);
      if (!g) {
        // the group object, its arrays and aggregate states, the map entry and its key
        held.hold(256 + 2 * h.length + values.reduce<number>((t, v) => t + this.valueBytes(v), 0));
        g = { values, count: 0, agg: op.aggregates.map(() => newAgg()), into: [] };
        groups.set(h, g);
        if (groups.size > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'COLLECT');
      }
      g.count++;
      for (let i = 0; i < op.aggregates.length; i++) {
        const a = op.aggregates[i]!;
        const st = g.agg[i]!;
        const before = st.values.length;
        const v = a.arg ? await this.eval(a.arg, row) : null;
        if (a.fn === 'PUSH' || a.fn === 'UNIQUE' || a.fn === 'COUNT_DISTINCT' || a.fn === 'COUNT_UNIQUE') held.hold(48 + this.valueBytes(v));
        addAgg(st, a.fn, v);
        heldValues += st.values.length - before;
      }
      if (heldValues > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'COLLECT AGGREGATE');
      if (op.into) {
        const v = op.into.expr ? await this.eval(op.into.expr, row) : rowObject(row);
        held.hold(8 + (op.into.expr ? this.valueBytes(v) : this.rowBytes(row)));
        g.into.push(v);
        if (++heldValues > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'COLLECT ... INTO');
      }
    }
    // `COLLECT WITH COUNT INTO n` / aggregates without groups over no rows give one row.
    if (groups.size === 0 && op.groups.length === 0) groups.set('', { values: [], count: 0, agg: op.aggregates.map(() => newAgg()), into: [] });
    const list = [...groups.values()];
    // ArangoDB sorts COLLECT's output by the group values.
    await this.sorted(list, (a, b) => {
      for (let i = 0; i < a.values.length; i++) {
        const c = compare(a.values[i]!, b.values[i]!);
        if (c !== 0) return c;
      }
      return 0;
    });
    // Variables of enclosing levels stay visible (also when no row came: from the enclosing row); the loop's own variables do not.
    const base = Object.create(null) as Row;
    const from = outerRow ?? start;
    for (const v of s.keep) if (v in from) base[v] = from[v]!;
    const m = gov.mark();
    for (const g of list) {
      gov.reset(m);
      const r = Object.create(base) as Row;
      op.groups.forEach((x, i) => (r[x.var] = g.values[i]!));
      op.aggregates.forEach((a, i) => (r[a.var] = aggResult(g.agg[i]!, a.fn)));
      if (op.into) r[op.into.var] = g.into;
      if (op.count) r[op.count] = g.count;
      yield r;
    }
    gov.reset(m);
  }

  // ------------------------------------------------------------------ data modification

  private get store(): EntityStore {
    return this.deps.entities;
  }

  private modTxn(): Transaction {
    const t = this.opts.txn ?? this.opts.writeTxn;
    if (!t) throw new Error('a modifying query needs a transaction');
    return t;
  }

  private async *modifyStep(s: Extract<Step, { kind: 'modify' }>, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    const op = s.op;
    const table = s.table;
    const txn = this.modTxn();
    for await (const row of input) {
      this.tick();
      let OLD: AqlValue = null;
      let NEW: AqlValue = null;
      if (op.type === 'insert') {
        const d = await this.eval(op.doc, row);
        if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new ThemisError('VALIDATION_FAILED', `INSERT needs an object, got ${typeName(d)}`);
        const { _key, _id, ...rest } = { ...(d as Record<string, AqlValue>), _key: (d as Record<string, AqlValue>)._key, _id: undefined };
        void _id;
        checkDepth(d, this.gov.maxDepth, 'the document to INSERT');
        const pk = _key === undefined || _key === null ? uuidv4() : _key;
        if (typeof pk !== 'string' || pk === '') throw new ThemisError('VALIDATION_FAILED', `INSERT: _key must be a non-empty string, got ${JSON.stringify(pk)}`);
        const k = parseEntityKey(`${table}:${pk}`);
        const text = JSON.stringify(rest);
        this.store.putIn(txn, k, { text }, true);
        NEW = this.doc(k.key, table, text);
      } else {
        const keyVal = await this.eval(op.key, row);
        const pk = typeof keyVal === 'string' ? keyVal : keyVal !== null && typeof keyVal === 'object' && !Array.isArray(keyVal) ? ((keyVal as Record<string, AqlValue>)._key ?? null) : null;
        if (typeof pk !== 'string' || pk === '') throw new ThemisError('VALIDATION_FAILED', `${op.type.toUpperCase()}: the key must be a string or an object with _key, got ${typeName(keyVal)}`);
        const k = parseEntityKey(`${table}:${pk}`);
        const current = this.store.read(k, txn);
        if (current === undefined) throw new ThemisError('NOT_FOUND', `${op.type.toUpperCase()}: document ${k.key} not found`);
        OLD = this.doc(k.key, table, current);
        if (op.type === 'remove') {
          this.store.deleteIn(txn, k);
        } else {
          const patch = op.with ? await this.eval(op.with, row) : keyVal;
          if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new ThemisError('VALIDATION_FAILED', `${op.type.toUpperCase()} needs an object with the new values, got ${typeName(patch)}`);
          checkDepth(patch, this.gov.maxDepth, `the document to ${op.type.toUpperCase()}`);
          const { _key: _k, _id: _i, ...fields } = patch as Record<string, AqlValue>;
          void _k;
          void _i;
          const next = op.type === 'update' ? mergePatch(JSON.parse(current) as Record<string, AqlValue>, fields) : fields;
          const text = JSON.stringify(next);
          this.store.putIn(txn, k, { text });
          NEW = this.doc(k.key, table, text);
        }
      }
      yield extend(extend(row, 'OLD', OLD), 'NEW', NEW);
    }
  }
}

function typeName(v: AqlValue): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** UPDATE semantics (ArangoDB keepNull true, mergeObjects true): nested objects merge, other values replace. */
function mergePatch(target: Record<string, AqlValue>, patch: Record<string, AqlValue>): Record<string, AqlValue> {
  const out: Record<string, AqlValue> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur) && cur !== undefined ? mergePatch(cur as Record<string, AqlValue>, v as Record<string, AqlValue>) : v;
  }
  return out;
}

function isSimilaritySort(s: Extract<Step, { kind: 'sort' }>): boolean {
  const e = s.keys[0]?.expr;
  return e?.type === 'call' && e.name === 'SIMILARITY';
}

/** Cosine similarity of two numeric arrays (null when either is not one or their lengths differ). */
function cosine(a: AqlValue, b: AqlValue): AqlValue {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length || a.length === 0) return null;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x !== 'number' || typeof y !== 'number') return null;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return null;
  return dot / Math.sqrt(na * nb);
}

function limitValue(v: AqlValue, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ThemisError('VALIDATION_FAILED', `LIMIT ${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function tooMany(n: number, what: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', `${what} holds more than ${n} rows (THEMIS_QUERY_MAX_INTERMEDIATE); add FILTERs or a LIMIT`, { details: { field: 'query' } });
}

async function* single(row: Row): AsyncGenerator<Row> {
  yield row;
}

/** A Scope over a row. */
function scopeOf(row: Row): Scope {
  return { get: (name: string) => row[name] } as Scope;
}

/** COLLECT ... INTO g without an expression: every variable of the row. */
function rowObject(row: Row): AqlValue {
  const out: Record<string, AqlValue> = {};
  for (const k in row) out[k] = row[k]!;
  return out;
}

// ------------------------------------------------------------------ aggregates

interface AggState {
  n: number;
  sum: number;
  min: AqlValue | undefined;
  max: AqlValue | undefined;
  values: AqlValue[];
  distinct: Set<string>;
}

function newAgg(): AggState {
  return { n: 0, sum: 0, min: undefined, max: undefined, values: [], distinct: new Set() };
}

function addAgg(s: AggState, fn: string, v: AqlValue): void {
  switch (fn) {
    case 'COUNT':
    case 'LENGTH':
      s.n++;
      return;
    case 'SUM':
    case 'AVG':
      if (v === null) return;
      s.sum += toNumber(v);
      s.n++;
      return;
    case 'MIN':
      if (v !== null && (s.min === undefined || compare(v, s.min) < 0)) s.min = v;
      return;
    case 'MAX':
      if (v !== null && (s.max === undefined || compare(v, s.max) > 0)) s.max = v;
      return;
    case 'UNIQUE':
    case 'COUNT_DISTINCT':
    case 'COUNT_UNIQUE': {
      if (v === null && fn !== 'UNIQUE') return;
      const h = hashKey(v);
      if (!s.distinct.has(h)) {
        s.distinct.add(h);
        s.values.push(v);
      }
      return;
    }
    case 'PUSH':
      s.values.push(v);
      return;
  }
}

function aggResult(s: AggState, fn: string): AqlValue {
  switch (fn) {
    case 'COUNT':
    case 'LENGTH':
      return s.n;
    case 'SUM':
      return s.sum;
    case 'AVG':
      return s.n === 0 ? null : s.sum / s.n;
    case 'MIN':
      return s.min ?? null;
    case 'MAX':
      return s.max ?? null;
    case 'UNIQUE':
    case 'PUSH':
      return s.values;
    case 'COUNT_DISTINCT':
    case 'COUNT_UNIQUE':
      return s.values.length;
    default:
      return null;
  }
}

