/**
 * The AQL executor's driver: the Executor class (the query's context for
 * every step), expression evaluation with subqueries, the pipeline of
 * steps, FILTER, LET, LIMIT and RETURN [DISTINCT]. The other steps live
 * beside it: sources.ts (FOR and its document sources, the hash join),
 * graph.ts (traversals, shortest paths), sort-collect.ts (SORT, COLLECT),
 * window.ts (WINDOW) and modify.ts (INSERT, UPDATE, REPLACE, REMOVE).
 */
import { ThemisError } from '../../errors.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../../json-limits.js';
import type { Snapshot } from '../../storage/index.js';
import type { AqlValue, Expr } from '../ast.js';
import { STORED_TEXTS } from '../stored-texts.js';
import { ElementScope, evaluate, evaluateVal, type EvalContext, type Scope } from '../evaluator.js';
import { BigSet } from '../big-collections.js';
import { Governor, Pending, sizeOf } from '../governor.js';
import type { FnContext } from '../functions/index.js';
import type { Plan, Step, SubPlans } from '../planner.js';
import { hashKey, truthy } from '../values.js';
import {
  extend,
  limitValue,
  RowScope,
  rowsOf,
  scopeOf,
  tooMany,
  type ExecContext,
  type ExecDeps,
  type ExecOptions,
  type Row,
} from './context.js';
import { collectionCount, collectionList } from './collections.js';
import { columnCollectBatches } from './column-collect.js';
import { indexCollectBatches } from './index-collect.js';
import { traversalStep, shortestPathStep } from './graph.js';
import { pathsStep, weightedShortestPathStep } from './paths.js';
import { modifyStep } from './modify.js';
import { collectBatches, sortStep } from './sort-collect.js';
import { documentCall, forStep } from './sources.js';
import { windowStep } from './window.js';

/** Result values are handed from `Executor.chunks` to its consumer this many at a time at most … */
const CHUNK_VALUES = 256;
/** … or fewer when they are estimated at this many bytes (what a chunk holds before its consumer charges it). */
const CHUNK_BYTES = 256 * 1024;

/** Result values and their estimated bytes (what the consumer holds for them). */
export interface ValueChunk {
  values: AqlValue[];
  bytes: number;
}

/** `Executor.chunks`: `next(n)` says how many values the consumer wants next. */
export type ValueChunks = AsyncGenerator<ValueChunk, void, number | undefined>;

/**
 * Runs a plan as a pipeline of async generators: sources stream from
 * LevelDB (one snapshot for the whole query) or the in-memory indexes, and
 * a LIMIT stops the sources early. SORT, COLLECT and DISTINCT hold at most
 * `maxIntermediate` rows; the deadline is checked as rows flow, and the
 * event loop gets a turn every few hundred rows of in-memory work.
 */
export class Executor implements ExecContext {
  /** Stored texts of documents read (RETURN of a document yields its stored text). */
  readonly texts = STORED_TEXTS;
  /** BM25 scores / similarities of documents produced by fulltext / vector sources. */
  readonly scores = new WeakMap<object, number>();
  /** Bind values, built-ins' context and the engine functions (BM25, SIMILARITY, DOCUMENT, ...). */
  readonly evalCtx: EvalContext;
  private readonly fn: FnContext;
  /** The query's deadline, memory budget and event-loop turns (shared by every step and built-in). */
  readonly gov: Governor;

  constructor(
    readonly deps: ExecDeps,
    readonly snapshot: Snapshot,
    readonly opts: ExecOptions,
    private readonly subPlans: SubPlans = new Map(),
  ) {
    this.gov = new Governor({
      deadline: opts.deadline,
      maxMemory: opts.maxMemory ?? Infinity,
      maxDepth: opts.maxDepth ?? DEFAULT_MAX_JSON_DEPTH,
    });
    const warnings = opts.warnings;
    this.fn = {
      now: opts.now ?? Date.now,
      gov: this.gov,
      texts: this.texts,
      user: opts.user ?? null,
      database: opts.database ?? '_system',
      ...(warnings ? { warn: (message: string, code: number) => warnings.add(message, code) } : {}),
    };
    this.evalCtx = {
      bind: opts.bindVars,
      fn: this.fn,
      engineCall: (name, args) => this.engineCall(name, args),
      // Subqueries run when evaluation reaches them (lazily: not in an untaken ?: branch or a short-circuited AND/OR operand).
      subquery: (s, scope) => new Pending(this.subquery(s, rowOfScope(scope))),
    };
  }

  private engineCall(name: string, args: AqlValue[]): AqlValue {
    switch (name) {
      case 'BM25': {
        const d = args[0];
        if (d === null || typeof d !== 'object' || !this.scores.has(d))
          throw new ThemisError('VALIDATION_FAILED', 'BM25(doc) needs a document of a FOR loop filtered with FULLTEXT()');
        return this.scores.get(d)!;
      }
      case 'SIMILARITY':
        return cosine(args[0] ?? null, args[1] ?? null);
      case 'DOCUMENT':
        return documentCall(this, args);
      case 'COLLECTION_COUNT':
        return collectionCount(this, args[0] ?? null);
      case 'COLLECTIONS':
        return collectionList(this);
      case 'FULLTEXT':
        throw new ThemisError(
          'VALIDATION_FAILED',
          'FULLTEXT(doc.attribute, query) can only be a FILTER condition of a FOR over a collection with a fulltext index on that attribute',
        );
      case 'NEAR':
        throw new ThemisError(
          'VALIDATION_FAILED',
          'NEAR(doc.attribute, vector, k) can only be a FILTER condition of a FOR over a collection with a vector index on that attribute',
        );
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

  /** Per row: the deadline (a clock read costs far less than any row). */
  tick(): void {
    this.gov.checkTime();
  }

  /** Whether this query has held the event loop for a slice (then `await this.turn()`). */
  get turnDue(): boolean {
    return this.gov.turnDue;
  }

  /** Give the event loop a turn (other requests, timers). */
  turn(): Promise<void> {
    return this.gov.turn();
  }

  /**
   * Evaluate `e` for `row` (subqueries run when evaluation reaches them): the
   * value, or a promise of it when evaluation had to wait (a hot loop can
   * test for a promise and skip the await's microtask turn).
   */
  eval(e: Expr, row: Row): AqlValue | Promise<AqlValue> {
    const v = evaluateVal(e, scopeOf(row), this.evalCtx);
    return v instanceof Pending ? v.promise : v;
  }

  /**
   * Evaluate `e` where awaiting is impossible (a vector search's filter
   * runs inside the graph walk): governed loops run to the end, still
   * checking the deadline and the memory budget.
   */
  evalSync(e: Expr, row: Row): AqlValue {
    const gov = this.gov;
    const could = gov.canYield;
    gov.canYield = false;
    try {
      return evaluate(e, scopeOf(row), this.evalCtx);
    } finally {
      gov.canYield = could;
    }
  }

  /** Estimated bytes of a row's variables (documents by their stored text), checking their nesting; 96 for the row objects themselves. */
  rowBytes(row: Row): number {
    let b = 96;
    for (const k in row) b += sizeOf(row[k], this.gov.maxDepth, this.texts);
    return b;
  }

  valueBytes(v: AqlValue): number {
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
      for await (const c of this.chunks(p.steps, p.ret, row)) {
        held.hold(c.bytes);
        for (const v of c.values) out.push(v);
        if (out.length > this.opts.maxIntermediate) throw tooMany(this.opts.maxIntermediate, 'a subquery');
      }
    } finally {
      bytes = held.close();
    }
    // The result now belongs to the enclosing row's value.
    this.gov.charge(bytes);
    return out;
  }

  /**
   * The query's result values (documents as objects; use `texts` for their stored text), handed over in chunks
   * of up to CHUNK_VALUES values or CHUNK_BYTES estimated bytes: one generator step per chunk, not per value
   * (a step costs ~0.1 µs and a promise; a COLLECT answers 10,000 rows). A chunk's values count against the
   * budget while it fills; the consumer holds `bytes` for them once it has it. A chunk is never bigger than
   * the consumer asked for (`want`, then the argument of each `next`), so a cursor page computes no row ahead
   * of the one that tells whether there is more.
   */
  async *chunks(
    steps: Step[],
    ret: Plan['ret'] | { expr: Expr; distinct: boolean } | undefined,
    start: Row = Object.create(null) as Row,
    /** What is yielded for each value (default: the value): a map here costs no generator layer of its own. */
    as?: (v: AqlValue) => AqlValue,
    /** How many values the consumer wants first; `next(n)` says how many it wants next (no more are computed ahead). */
    want = CHUNK_VALUES,
  ): ValueChunks {
    let rows: AsyncIterable<Row> = single(start);
    // The last step's rows when it hands them over in batches (COLLECT): read a batch per generator step.
    let batches: AsyncIterable<readonly Row[]> | undefined;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      const next = steps[i + 1];
      let b: AsyncIterable<Row[]>;
      if (s.kind === 'for' && next?.kind === 'collect' && next.indexOnly) {
        b = indexCollectBatches(this, s, next, rows, start);
        i++;
      } else if (s.kind === 'for' && next?.kind === 'collect' && next.columnar) {
        b = columnCollectBatches(this, s, next, rows, start);
        i++;
      } else if (s.kind === 'collect') b = collectBatches(this, s, rows, start);
      else {
        rows = this.step(s, rows, start);
        continue;
      }
      if (i === steps.length - 1) batches = b;
      else rows = rowsOf(b);
    }
    if (!ret) {
      // a modification query without RETURN: drain
      for await (const _ of batches ?? rows) this.tick();
      return;
    }
    // Sets and maps that can grow to millions are sharded (big-collections.ts): no rehash stalls.
    const seen = ret.distinct ? new BigSet() : undefined;
    const gov = this.gov;
    const held = gov.holding();
    const filling = gov.holding();
    let chunk: AqlValue[] = [];
    // values per chunk: what the consumer wants, at most CHUNK_VALUES
    let limit = Math.min(want, CHUNK_VALUES);
    try {
      const one: Row[] = [];
      for await (const item of batches ?? rows) {
        let batch: readonly Row[];
        if (batches === undefined) {
          one[0] = item as Row;
          batch = one;
        } else batch = item as readonly Row[];
        for (const row of batch) {
          if (this.gov.due()) await this.turn();
          const m = gov.mark();
          const r = this.eval(ret.expr, row);
          const v = r instanceof Promise ? await r : r;
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
          const out = as === undefined ? v : as(v);
          chunk.push(out);
          filling.hold(8 + sizeOf(out, gov.maxDepth, this.texts));
          // The chunk holds (and charges) the value now; what building it took is garbage.
          gov.reset(m);
          if (chunk.length >= limit || filling.bytes >= CHUNK_BYTES) {
            const c: ValueChunk = { values: chunk, bytes: filling.close() };
            chunk = [];
            limit = Math.min((yield c) ?? CHUNK_VALUES, CHUNK_VALUES);
          }
        }
      }
      if (chunk.length > 0) yield { values: chunk, bytes: filling.close() };
    } finally {
      filling.close();
      held.close();
    }
  }

  /** `start`: the row the steps run for (a subquery's enclosing row). */
  private step(s: Step, input: AsyncIterable<Row>, start: Row): AsyncIterable<Row> {
    switch (s.kind) {
      case 'for':
        return forStep(this, s, input);
      case 'traversal':
        return traversalStep(this, s, input);
      case 'shortestPath':
        return s.config.weightAttribute === undefined ? shortestPathStep(this, s, input) : weightedShortestPathStep(this, s, input);
      case 'paths':
        return pathsStep(this, s, input);
      case 'filter':
        return this.filterStep(s.cond, input);
      case 'let':
        return this.letStep(s.var, s.expr, input);
      case 'sort':
        return sortStep(this, s, input);
      case 'limit':
        return this.limitStep(s.offset, s.count, input);
      case 'collect':
        return rowsOf(collectBatches(this, s, input, start));
      case 'window':
        return windowStep(this, s, input);
      case 'modify':
        return modifyStep(this, s, input);
    }
  }

  private async *filterStep(cond: Expr, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    for await (const row of input) {
      if (this.gov.due()) await this.turn();
      let c = this.eval(cond, row);
      if (c instanceof Promise) c = await c;
      if (truthy(c)) yield row;
    }
  }

  private async *letStep(v: string, e: Expr, input: AsyncIterable<Row>): AsyncGenerator<Row> {
    for await (const row of input) {
      let x = this.eval(e, row);
      if (x instanceof Promise) x = await x;
      yield extend(row, v, x);
    }
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
}

/** The row a subquery starts from: the row of the scope, plus the variables of the array expansions around the subquery. */
function rowOfScope(scope: Scope): Row {
  if (scope instanceof RowScope) return scope.row;
  if (scope instanceof ElementScope) return extend(rowOfScope(scope.parent), scope.name, scope.value);
  throw new ThemisError('INTERNAL', 'internal error: a subquery was reached from an unknown scope');
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

async function* single(row: Row): AsyncGenerator<Row> {
  yield row;
}
