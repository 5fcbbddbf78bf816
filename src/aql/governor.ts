/**
 * The query resource governor: one per query. It holds the query's
 * deadline, its memory budget and its nesting limit, and it decides when
 * synchronous query work must give the event loop a turn.
 *
 * Why it looks like this (docs/aql.md, "Limits and the resource governor"):
 *
 * - **Time.** The evaluator is synchronous (one switch per AST node, no
 *   promise per node: the common primary-key and equality queries stay
 *   fast). Work that can be large — a built-in over a big array, a range, an
 *   array expansion, a sort — runs its loop through `loop()`, which checks
 *   the deadline every few hundred iterations and, once the current
 *   synchronous stretch has lasted `SLICE_MS`, returns a `Pending` instead
 *   of a value: the rest of the loop continues after an event-loop turn.
 *   The evaluator passes a `Pending` up unchanged (`andThen()`), and the
 *   executor awaits it. Small inputs never create a promise.
 * - **Memory.** An estimate, charged before or while values are built
 *   (strings 2 bytes per UTF-16 unit, array slots 8 bytes, ...; `sizeOf`),
 *   in two accounts: `scratch`, what the current row's evaluations built
 *   (reset when a step moves on to its next row), and `held`, what
 *   structures that outlive a row hold (SORT and COLLECT buffers, DISTINCT
 *   sets, subquery results, the response). Past `maxMemory` the query fails
 *   with 400 RESOURCE_LIMIT_EXCEEDED.
 * - **Nesting.** Values deeper than `maxDepth` are refused where they enter
 *   (bind parameters, JSON_PARSE, documents written) and where they are
 *   measured, so recursive value code never overflows the stack.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ThemisError } from '../errors.js';
import type { AqlValue } from './ast.js';
import type { StoredTexts } from './stored-texts.js';

/** Longest stretch of synchronous query work between event-loop turns (ms). */
export const SLICE_MS = 10;

/**
 * Queries waiting for their next turn (in `turn()`). Queries that yield in
 * the same event-loop iteration resume one after another without the loop
 * polling for I/O in between, so a query that resumes while others wait
 * takes a share of the slice: SLICE_MS / (1 + waiting). Then n concurrent
 * scans together hold the loop ~SLICE_MS between polls, not n × SLICE_MS
 * (a /health or GET waits behind one slice, not one per running query).
 */
let waiting = 0;

/** A value that is not ready yet: the rest of a computation continues after an event-loop turn. */
export class Pending {
  constructor(readonly promise: Promise<AqlValue>) {}
}

/** What an evaluation step returns: a value, or a Pending one. */
export type Val = AqlValue | Pending;

/** A promise (or value) from a Val, for `Promise.then` chains. */
export function settle(v: Val): AqlValue | Promise<AqlValue> {
  return v instanceof Pending ? v.promise : v;
}

/** `f(v)` now when `v` is ready, else once it is (`f` may itself return a Pending). */
export function andThen(v: Val, f: (x: AqlValue) => Val): Val {
  if (v instanceof Pending) return new Pending(v.promise.then((x) => settle(f(x))));
  return f(v);
}

/** Awaits a Val (for async callers). */
export async function resolveVal(v: Val): Promise<AqlValue> {
  return v instanceof Pending ? v.promise : v;
}

export interface GovernorLimits {
  /** Absolute deadline (ms of `now`, Date.now by default). */
  deadline: number;
  /** Most estimated bytes the query may hold at once. */
  maxMemory: number;
  /** Deepest nesting of arrays and objects a value may have. */
  maxDepth: number;
  /** The clock (ms; Date.now unless a test drives it). */
  now?: () => number;
}

/** Loop bodies return STOP to end a loop early. */
export const STOP = Symbol('stop');

export function timeoutError(): ThemisError {
  return new ThemisError(
    'TIMEOUT',
    'the query ran past its time limit (timeout_ms, THEMIS_QUERY_TIMEOUT_MS); add FILTERs that use an index or a LIMIT, or read it with a cursor',
  );
}

export function memoryError(limit: number): ThemisError {
  return new ThemisError(
    'RESOURCE_LIMIT_EXCEEDED',
    `the query needs more than ${limit} bytes of memory (THEMIS_QUERY_MAX_MEMORY); work on fewer or smaller values (FILTER, LIMIT, smaller ranges) or raise the limit`,
    { details: { field: 'query', limit: 'memory', limit_bytes: limit } },
  );
}

export function depthError(limit: number, what = 'a value'): ThemisError {
  return new ThemisError('RESOURCE_LIMIT_EXCEEDED', `${what} is nested more than ${limit} levels deep (arrays and objects); flatten it`, {
    details: { field: 'query', limit: 'depth', limit_depth: limit },
  });
}

export class Governor {
  deadline: number;
  readonly maxMemory: number;
  readonly maxDepth: number;
  /** Estimated bytes built for the rows in progress. */
  scratch = 0;
  /** Estimated bytes held by buffers that outlive a row. */
  held = 0;
  /** Highest scratch + held seen (for tests and logs). */
  peak = 0;
  /**
   * False while evaluating inside a synchronous callback (a vector search's
   * filter): loops then run to the end in one stretch (still checking the
   * deadline) instead of returning a Pending.
   */
  canYield = true;
  private readonly now: () => number;
  /** When the current synchronous stretch began. */
  private sliceStart: number;
  /** How long it may last: SLICE_MS, or its share while other queries wait (see `waiting`). */
  private sliceMs = SLICE_MS;

  constructor(limits: GovernorLimits) {
    this.now = limits.now ?? Date.now;
    this.sliceStart = this.now();
    this.deadline = limits.deadline;
    this.maxMemory = limits.maxMemory;
    this.maxDepth = limits.maxDepth;
  }

  /** Charge `bytes` to the rows in progress; throws RESOURCE_LIMIT_EXCEEDED past the budget. */
  charge(bytes: number): void {
    this.scratch += bytes;
    this.checkPeak();
  }

  private checkPeak(): void {
    const used = this.scratch + this.held;
    if (used > this.peak) {
      this.peak = used;
      if (used > this.maxMemory) throw memoryError(this.maxMemory);
    }
  }

  /** The scratch level now (a step's rows start here). */
  mark(): number {
    return this.scratch;
  }

  /** Back to a mark: what the finished row built is garbage now. */
  reset(mark: number): void {
    this.scratch = mark;
  }

  /** Charge `bytes` held by a buffer until `release` (see Holding, which keeps the account for one buffer). */
  hold(bytes: number): void {
    this.held += bytes;
    this.checkPeak();
  }

  release(bytes: number): void {
    this.held -= bytes;
  }

  /** An account for one buffer that outlives rows (close it in a `finally`). */
  holding(): Holding {
    return new Holding(this);
  }

  /** Throws TIMEOUT past the deadline. */
  checkTime(): void {
    if (this.now() > this.deadline) throw timeoutError();
  }

  /**
   * Per row: one clock read that throws TIMEOUT past the deadline and tells
   * whether the event loop is due a turn (then `await turn()`).
   */
  due(): boolean {
    const t = this.now();
    if (t > this.deadline) throw timeoutError();
    return this.canYield && t - this.sliceStart >= this.sliceMs;
  }

  /** Whether the current synchronous stretch has lasted its slice (then `await turn()`). */
  get turnDue(): boolean {
    return this.canYield && this.now() - this.sliceStart >= this.sliceMs;
  }

  /** Give the event loop a turn (other requests, timers), then check the deadline. */
  async turn(): Promise<void> {
    waiting++;
    try {
      await yieldToLoop();
    } finally {
      waiting--;
    }
    this.sliceStart = this.now();
    this.sliceMs = waiting === 0 ? SLICE_MS : Math.max(1, SLICE_MS / (1 + waiting));
    this.checkTime();
  }

  /**
   * A checkpoint inside a long loop: throws past the deadline; a promise
   * when the event loop is due a turn, else undefined.
   */
  checkpoint(): Promise<void> | undefined {
    const t = this.now();
    if (t > this.deadline) throw timeoutError();
    if (this.canYield && t - this.sliceStart >= this.sliceMs) return this.turn();
    return undefined;
  }

  /**
   * Runs `body(i)` for i = 0..n-1, then returns `done()`. Every `every`
   * iterations it checkpoints: past the deadline it throws, and when a turn
   * is due it returns a Pending that continues the loop after the turn. A
   * body may return a Pending (the loop continues once it is ready) or STOP.
   */
  loop(n: number, body: (i: number) => unknown, done: () => Val, every = 256): Val {
    let i = 0;
    const run = (): Val => {
      while (i < n) {
        const end = i + every < n ? i + every : n;
        while (i < end) {
          const r = body(i++);
          if (r === STOP) {
            i = n;
            break;
          }
          if (r instanceof Pending) return new Pending(r.promise.then(() => settle(run())));
        }
        if (i < n) {
          const p = this.checkpoint();
          if (p) return new Pending(p.then(() => settle(run())));
        }
      }
      return done();
    };
    return run();
  }

  /**
   * A stable sort that gives the event loop turns: runs of 512 elements are
   * sorted with Array.prototype.sort, then merged pairwise in slices (one
   * Array.prototype.sort over millions of elements would hold the loop for
   * seconds). Sorts `arr` in place; its result is `arr`.
   */
  sort<T>(arr: T[], cmp: (a: T, b: T) => number): T[] | Pending {
    const n = arr.length;
    if (n <= NATIVE_SORT_MAX) {
      // a few milliseconds at most: one native sort is cheaper than runs and merges
      arr.sort(cmp);
      return arr as unknown as T[];
    }
    this.charge(8 * n + 16); // the merge buffer
    let src = arr;
    let dst = new Array<T>(n);
    const runs = Math.ceil(n / RUN);
    const afterRuns = (): Val => mergePass(RUN);
    const mergePass = (width: number): Val => {
      if (width >= n) {
        if (src !== arr) for (let i = 0; i < n; i++) arr[i] = src[i]!;
        return arr as unknown as AqlValue;
      }
      // One merge pass over all pairs of runs, resumable at any element (a pair can be millions long).
      let lo = 0;
      let mid = 0;
      let hi = 0;
      let i = 0;
      let j = 0;
      let k = 0;
      const startPair = (): void => {
        mid = Math.min(lo + width, n);
        hi = Math.min(lo + 2 * width, n);
        i = lo;
        j = mid;
      };
      startPair();
      return this.loop(
        Math.ceil(n / MERGE_CHUNK),
        () => {
          const stop = Math.min(n, k + MERGE_CHUNK);
          while (k < stop) {
            // Stable: the left run wins ties.
            if (i < mid && (j >= hi || cmp(src[j]!, src[i]!) >= 0)) dst[k++] = src[i++]!;
            else dst[k++] = src[j++]!;
            if (k === hi) {
              lo = hi;
              startPair();
            }
          }
        },
        () => {
          const t = src;
          src = dst;
          dst = t;
          return mergePass(width * 2);
        },
        1,
      );
    };
    const r = this.loop(
      runs,
      (r) => {
        const lo = r * RUN;
        const hi = Math.min(lo + RUN, n);
        const part = arr.slice(lo, hi).sort(cmp);
        for (let i = 0; i < part.length; i++) arr[lo + i] = part[i]!;
      },
      afterRuns,
      8,
    );
    return r as T[] | Pending;
  }
}

/**
 * What one buffer (SORT's rows, a DISTINCT set, COLLECT's groups, a
 * subquery's results, a hash join's inner side, a response page) holds
 * against the query's budget: grown with `hold`, shrunk with `free`, and
 * given back whole by `close()` once the buffer is done.
 */
export class Holding {
  bytes = 0;
  constructor(private readonly gov: Governor) {}

  hold(b: number): void {
    this.bytes += b;
    this.gov.hold(b);
  }

  free(b: number): void {
    this.bytes -= b;
    this.gov.release(b);
  }

  /** Release everything still held; returns how much that was. */
  close(): number {
    const b = this.bytes;
    this.gov.release(b);
    this.bytes = 0;
    return b;
  }
}

const RUN = 512;
const NATIVE_SORT_MAX = 4096;
const MERGE_CHUNK = 4096;

// ---------------------------------------------------------------------------
// Size estimates

/** Bytes of a string (UTF-16 units plus a header). */
export function stringBytes(s: string): number {
  return 16 + 2 * s.length;
}

/** Sizes of large arrays and objects already measured (values are immutable). */
const SIZES = new WeakMap<object, number>();
/** Containers smaller than this are measured again rather than cached. */
const CACHE_FROM = 64;

/**
 * Estimated bytes of a value, walking it iteratively (no recursion: any
 * depth is safe); throws RESOURCE_LIMIT_EXCEEDED when it is nested deeper
 * than `maxDepth`. `texts` maps stored documents to their JSON text, whose
 * length stands in for a walk.
 */
export function sizeOf(v: AqlValue | undefined, maxDepth: number, texts?: StoredTexts): number {
  if (v === null || v === undefined || typeof v !== 'object') return typeof v === 'string' ? stringBytes(v) : 8;
  return known(v, texts) ?? measure(v, maxDepth, texts);
}

/** The size of a container without walking it: measured before, or a stored document (its text's length stands in). */
function known(v: object, texts: StoredTexts | undefined): number | undefined {
  const cached = SIZES.get(v);
  if (cached !== undefined) return cached;
  const text = texts?.get(v);
  return text === undefined ? undefined : 64 + 3 * text.length;
}

function measure(root: object, maxDepth: number, texts: StoredTexts | undefined): number {
  let total = 0;
  // Explicit stack of [container, depth]; big containers get their own total cached afterwards.
  const stack: [AqlValue, number][] = [[root as AqlValue, 1]];
  // `scalar`: what a non-string scalar adds (an array slot is already counted in the array's 8 bytes per element).
  const child = (x: AqlValue | undefined, depth: number, scalar: number): void => {
    if (x === null || x === undefined || typeof x !== 'object') {
      total += typeof x === 'string' ? stringBytes(x) : scalar;
      return;
    }
    const c = known(x, texts);
    if (c !== undefined && depth + 1 <= maxDepth) total += c;
    else stack.push([x, depth + 1]);
  };
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > maxDepth) throw depthError(maxDepth);
    if (Array.isArray(v)) {
      total += 16 + 8 * v.length;
      for (let i = 0; i < v.length; i++) child(v[i], depth, 0);
    } else {
      const o = v as Record<string, AqlValue>;
      const names = Object.getOwnPropertyNames(o);
      total += 24;
      for (let i = 0; i < names.length; i++) {
        const k = names[i]!;
        total += 8 + 2 * k.length;
        child(o[k], depth, 8);
      }
    }
  }
  const size = root as { length?: number };
  if ((Array.isArray(root) ? size.length! : 0) >= CACHE_FROM || total >= 64 * CACHE_FROM) SIZES.set(root, total);
  return total;
}

/**
 * Throws RESOURCE_LIMIT_EXCEEDED when a value is nested deeper than
 * `maxDepth` (iteratively; cheap for flat values). `what` names it.
 */
export function checkDepth(v: AqlValue | undefined, maxDepth: number, what?: string): void {
  if (v === null || typeof v !== 'object') return;
  const stack: [AqlValue, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (depth > maxDepth) throw depthError(maxDepth, what);
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        const y = x[i];
        if (y !== null && typeof y === 'object') stack.push([y, depth + 1]);
      }
    } else {
      const o = x as Record<string, AqlValue>;
      for (const k of Object.getOwnPropertyNames(o)) {
        const y = o[k];
        if (y !== null && typeof y === 'object') stack.push([y as AqlValue, depth + 1]);
      }
    }
  }
}

/**
 * `gov.loop(...)`, or a plain loop without a governor (functions called
 * outside a query, as in unit tests: nothing suspends then).
 */
export function loopWith(gov: Governor | undefined, n: number, body: (i: number) => unknown, done: () => Val, every = 256): Val {
  if (gov !== undefined) return gov.loop(n, body, done, every);
  for (let i = 0; i < n; i++) {
    const r = body(i);
    if (r === STOP) break;
    if (r instanceof Pending) throw new TypeError('a loop body suspended without a governor');
  }
  return done();
}

/** `gov.sort(...)`, or Array.prototype.sort without a governor. */
export function sortWith<T>(gov: Governor | undefined, arr: T[], cmp: (a: T, b: T) => number): T[] | Pending {
  return gov !== undefined ? gov.sort(arr, cmp) : arr.sort(cmp);
}
