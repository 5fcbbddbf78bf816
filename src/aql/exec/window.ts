/**
 * WINDOW (ArangoDB's WindowExecutor): every row continues, with the
 * aggregates over its window frame bound.
 *
 * Row-based frames stream: a row leaves once the rows `following` it have
 * arrived, and only the rows a later frame still needs stay buffered
 * (`preceding` + `following` + 1 at most; all of them with "unbounded"
 * following). "unbounded" preceding accumulates instead of re-scanning.
 * Range-based frames take the rows sorted by the range value (the planner
 * puts a SORT before the WINDOW) and buffer them all, as that SORT does.
 * Buffered rows count against the row cap and the query's memory budget.
 */
import type { AqlValue } from '../ast.js';
import type { Holding } from '../governor.js';
import type { IsoDuration, Step } from '../planner.js';
import { WarningCodes } from '../warnings.js';
import { tooMany, type Row } from './context.js';
import { addAgg, aggResult, newAgg, type AggState, type SortCollectContext } from './sort-collect.js';

type WindowStep = Extract<Step, { kind: 'window' }>;

interface Entry {
  row: Row;
  /** The aggregates' input values (null where an aggregate takes none). */
  args: AqlValue[];
  bytes: number;
}

export async function* windowStep(cx: SortCollectContext, s: WindowStep, input: AsyncIterable<Row>): AsyncGenerator<Row> {
  const held = cx.gov.holding();
  try {
    if (s.bounds.type === 'row') yield* rowWindow(cx, s, s.bounds, input, held);
    else yield* rangeWindow(cx, s, input, held);
  } finally {
    held.close();
  }
}

/** Reads a row's aggregate inputs and holds its bytes. */
async function entryOf(cx: SortCollectContext, s: WindowStep, row: Row, held: Holding): Promise<Entry> {
  const args: AqlValue[] = [];
  for (const a of s.op.aggregates) {
    const v = a.arg ? cx.eval(a.arg, row) : null;
    args.push(v instanceof Promise ? await v : v);
  }
  const bytes = cx.rowBytes(row) + 48 + args.reduce<number>((t, v) => t + (v !== null && typeof v === 'object' ? cx.valueBytes(v) : 8), 0);
  held.hold(bytes);
  return { row, args, bytes };
}

function output(s: WindowStep, row: Row, aggs: AggState[]): Row {
  const r = Object.create(row) as Row;
  s.op.aggregates.forEach((a, i) => {
    const v = aggResult(aggs[i]!, a.fn);
    // (PUSH / UNIQUE hand out the state's array, which an accumulating frame goes on growing)
    r[a.var] = Array.isArray(v) ? v.slice() : v;
  });
  return r;
}

function add(s: WindowStep, aggs: AggState[], e: Entry): void {
  const list = s.op.aggregates;
  for (let i = 0; i < list.length; i++) addAgg(aggs[i]!, list[i]!.fn, e.args[i]!);
}

const fresh = (s: WindowStep): AggState[] => s.op.aggregates.map(() => newAgg());

/** A buffer slot whose row no frame needs any more. */
const DROPPED: Entry = { row: Object.create(null) as Row, args: [], bytes: 0 };

async function* rowWindow(
  cx: SortCollectContext,
  s: WindowStep,
  b: { preceding: number; following: number },
  input: AsyncIterable<Row>,
  held: Holding,
): AsyncGenerator<Row> {
  const { preceding, following } = b;
  // buf[0] is row number `base`; rows before `first` are dropped; `next` is the next row to emit; with unbounded
  // preceding, `acc` holds rows [0, accEnd).
  const buf: Entry[] = [];
  let base = 0;
  let first = 0;
  let next = 0;
  let total = 0;
  const unboundedBefore = preceding === Number.POSITIVE_INFINITY;
  const acc = unboundedBefore ? fresh(s) : undefined;
  let accEnd = 0;
  const gov = cx.gov;

  const emitOne = (): Row => {
    const end = Math.min(total, following === Number.POSITIVE_INFINITY ? total : next + following + 1);
    let aggs: AggState[];
    if (acc) {
      for (; accEnd < end; accEnd++) add(s, acc, buf[accEnd - base]!);
      aggs = acc;
    } else {
      aggs = fresh(s);
      for (let j = Math.max(0, next - preceding); j < end; j++) add(s, aggs, buf[j - base]!);
    }
    const out = output(s, buf[next - base]!.row, aggs);
    next++;
    // drop what no later frame needs: rows before next - preceding (all before `next` when accumulating)
    const keepFrom = acc ? Math.min(next, accEnd) : Math.max(0, next - preceding);
    let freed = 0;
    while (first < keepFrom && first - base < buf.length) {
      const k = first - base;
      freed += buf[k]!.bytes;
      buf[k] = DROPPED;
      first++;
    }
    held.free(freed);
    // compact now and then (not per row: the buffer may hold every row with "unbounded" following)
    if (first - base > 1024 && first - base > buf.length / 2) {
      buf.splice(0, first - base);
      base = first;
    }
    return out;
  };

  for await (const row of input) {
    if (gov.due()) await cx.turn();
    buf.push(await entryOf(cx, s, row, held));
    total++;
    if (total - first > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'WINDOW');
    while (next < total && next + following < total) {
      const m = gov.mark();
      const out = emitOne();
      yield out;
      gov.reset(m);
    }
  }
  while (next < total) {
    if (gov.due()) await cx.turn();
    const m = gov.mark();
    const out = emitOne();
    yield out;
    gov.reset(m);
  }
}

interface RangeRow {
  value: number;
  low: number;
  high: number;
  valid: boolean;
}

async function* rangeWindow(cx: SortCollectContext, s: WindowStep, input: AsyncIterable<Row>, held: Holding): AsyncGenerator<Row> {
  const b = s.bounds;
  const entries: Entry[] = [];
  const ranges: RangeRow[] = [];
  const gov = cx.gov;
  for await (const row of input) {
    if (gov.due()) await cx.turn();
    entries.push(await entryOf(cx, s, row, held));
    ranges.push(rangeRow(cx, b, row[s.rangeVar!] ?? null));
    if (entries.length > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, 'WINDOW');
  }
  // ArangoDB's scan: from the first row not below an earlier frame's low bound up to the first value above the high bound.
  // (A row whose range value is not usable gets null aggregates; its value counts as 0 in other rows' frames, as in ArangoDB.)
  let offset = 0;
  const n = entries.length;
  for (let k = 0; k < n; k++) {
    if (gov.due()) await cx.turn();
    const m = gov.mark();
    const cur = ranges[k]!;
    let out: Row;
    if (!cur.valid) {
      out = Object.create(entries[k]!.row) as Row;
      for (const a of s.op.aggregates) out[a.var] = null;
    } else {
      const aggs = fresh(s);
      for (let i = offset; i < n; i++) {
        const v = ranges[i]!.value;
        if (cur.low <= v) {
          if (cur.high < v) break;
          add(s, aggs, entries[i]!);
        } else offset = i + 1;
      }
      out = output(s, entries[k]!.row, aggs);
    }
    yield out;
    gov.reset(m);
  }
}

/** The current row's value and frame bounds (ArangoDB's WindowBounds::calcRow). */
function rangeRow(cx: SortCollectContext, b: WindowStep['bounds'], v: AqlValue): RangeRow {
  if (b.type === 'duration') {
    if (typeof v !== 'number') {
      cx.opts.warnings?.add('invalid date value', WarningCodes.INVALID_DATE_VALUE);
      return { value: 0, low: 0, high: 0, valid: false };
    }
    const t = Math.trunc(v);
    if (t < -62167219200000 || t > 253402300799999) {
      cx.opts.warnings?.add('range value is not a valid timepoint (out of range)', WarningCodes.INVALID_DATE_VALUE);
      return { value: 0, low: 0, high: 0, valid: false };
    }
    return { value: t, low: shift(t, b.preceding, -1), high: shift(t, b.following, 1), valid: true };
  }
  if (b.type !== 'range') throw new Error('not a range WINDOW');
  const x = toDouble(v);
  if (x === undefined) {
    cx.opts.warnings?.add('invalid arithmetic value', WarningCodes.INVALID_ARITHMETIC_VALUE);
    return { value: 0, low: 0, high: 0, valid: false };
  }
  return { value: x, low: x - b.preceding, high: x + b.following, valid: true };
}

const NUMERIC_TEXT = /^[ \t\n\r\f\v]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\f\v]*$/;

/** ArangoDB's AqlValue::toDouble(failed): undefined where it fails. */
function toDouble(v: AqlValue): number | undefined {
  if (v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    if (v.trim() === '') return 0;
    return NUMERIC_TEXT.test(v) ? Number(v) : undefined;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return 0;
    if (v.length === 1) return toDouble(v[0]!);
  }
  return undefined;
}

const DAY_MS = 86_400_000;

/** `t` (ms, UTC) plus or minus a duration: years and months by the calendar (as ArangoDB's date library), the rest in ms. */
function shift(t: number, d: IsoDuration, sign: 1 | -1): number {
  const dayStart = Math.floor(t / DAY_MS) * DAY_MS;
  const timeOfDay = t - dayStart;
  let ms = dayStart;
  if (d.years !== 0 || d.months !== 0) {
    const date = new Date(dayStart);
    const months = date.getUTCFullYear() * 12 + date.getUTCMonth() + sign * (d.years * 12 + d.months);
    const y = Math.floor(months / 12);
    const probe = new Date(0);
    probe.setUTCFullYear(y, months - y * 12, date.getUTCDate());
    ms = probe.getTime();
  }
  const rest = ((d.weeks * 7 + d.days) * 24 + d.hours) * 3_600_000 + d.minutes * 60_000 + d.seconds * 1000 + d.milliseconds;
  return ms + timeOfDay + sign * rest;
}
