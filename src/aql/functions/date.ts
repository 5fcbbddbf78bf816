/**
 * AQL date functions. Dates are ISO 8601 strings in UTC
 * (`2026-11-23T03:00:00.000Z`) or numeric millisecond timestamps; an
 * optional IANA time zone argument is supported where ArangoDB has one.
 */
import { ThemisError } from '../../errors.js';
import type { AqlValue } from '../ast.js';
import { WarningCodes } from '../warnings.js';
import { charge, invalidArg, warn } from './helpers.js';
import type { AqlFunction, FnContext } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The date functions, for index.ts to register. */
export const DATE_FUNCTIONS: FunctionTable = table;

const DAY_MS = 86_400_000;
/** Valid timestamps: 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. */
const MIN_DATE_MS = -62_167_219_200_000;
const MAX_DATE_MS = 253_402_300_799_999;

const UNIT_MS = {
  y: 31_556_952_000, // 365.2425 days
  m: 2_629_746_000, // 1/12 year
  w: 604_800_000,
  d: DAY_MS,
  h: 3_600_000,
  i: 60_000,
  s: 1_000,
  f: 1,
} as const;

type DateUnit = keyof typeof UNIT_MS;

const UNIT_NAMES: Record<string, DateUnit> = {
  y: 'y',
  year: 'y',
  years: 'y',
  m: 'm',
  month: 'm',
  months: 'm',
  w: 'w',
  week: 'w',
  weeks: 'w',
  d: 'd',
  day: 'd',
  days: 'd',
  h: 'h',
  hour: 'h',
  hours: 'h',
  i: 'i',
  minute: 'i',
  minutes: 'i',
  s: 's',
  second: 's',
  seconds: 's',
  f: 'f',
  millisecond: 'f',
  milliseconds: 'f',
};

function parseUnit(v: AqlValue | undefined): DateUnit | undefined {
  return typeof v === 'string' ? UNIT_NAMES[v.toLowerCase()] : undefined;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12; day may overflow). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

interface Civil {
  y: number;
  m: number;
  d: number;
  h: number;
  i: number;
  s: number;
  f: number;
  /** 0 = Sunday .. 6 = Saturday */
  dow: number;
}

function civil(ms: number): Civil {
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  let z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const i = Math.floor(rest / 60_000);
  rest -= i * 60_000;
  const s = Math.floor(rest / 1000);
  const f = rest - s * 1000;
  z = ((days % 7) + 7 + 4) % 7; // 1970-01-01 was a Thursday
  return { y, m, d, h, i, s, f, dow: z };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

function civilToMs(y: number, m: number, d: number, h = 0, i = 0, s = 0, f = 0): number {
  return daysFromCivil(y, m, d) * DAY_MS + h * 3_600_000 + i * 60_000 + s * 1000 + f;
}

function validMs(ms: number): boolean {
  return ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
}

/** ISO 8601 in UTC with milliseconds, or null outside the valid range. */
function isoString(ms: number): string | null {
  return validMs(ms) ? new Date(ms).toISOString() : null;
}

/**
 * Parses a date string as ArangoDB does (lib/Basics/datetime.cpp):
 * surrounding whitespace is ignored, a leading `+` skipped (a `-` is
 * invalid); then `Y[-M[-D]]` (year 0..9999, month 1..12, day 1..31, a day
 * past the month's end carrying over into the next), an optional time
 * `(T| )HH:MM[:SS[.fff...]]` (two digits each, as documented; fractions
 * past milliseconds cut off), and an optional `Z` or `±H:M` offset
 * (ArangoDB's parser accepts one-digit hours and minutes too; its
 * documentation requires two). Returns ms, or null.
 */
function parseDateString(input: string): number | null {
  let p = 0;
  let end = input.length;
  const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  while (p < end && isSpace(input[p])) p++;
  if (input[p] === '+') p++;
  else if (input[p] === '-') return null;
  while (end > p && isSpace(input[end - 1])) end--;
  const s = input.slice(p, end);
  let i = 0;
  /** Digits at i: [value, count]. */
  const number = (): [number, number] => {
    const start = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    return [i === start ? 0 : Number(s.slice(start, i)), i - start];
  };
  const [y, yLen] = number();
  if (yLen === 0 || y > 9999) return null;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  let sec = 0;
  let ms = 0;
  let len: number;
  if (s[i] === '-') {
    i++;
    [mo, len] = number();
    if (len === 0 || len > 2 || mo < 1 || mo > 12) return null;
    if (s[i] === '-') {
      i++;
      [d, len] = number();
      if (len === 0 || len > 2 || d < 1 || d > 31) return null;
    }
  }
  if (s[i] === ' ' || s[i] === 'T') {
    i++;
    [h, len] = number();
    if (len !== 2 || h > 23) return null;
    if (s[i] !== ':') return null;
    i++;
    [mi, len] = number();
    if (len !== 2 || mi > 59) return null;
    if (s[i] === ':') {
      i++;
      [sec, len] = number();
      if (len !== 2 || sec > 59) return null;
      if (s[i] === '.') {
        i++;
        const start = i;
        number();
        if (i === start) return null;
        ms = Number(s.slice(start, Math.min(i, start + 3)).padEnd(3, '0'));
      }
    }
  }
  let offset = 0;
  if (s[i] === 'z' || s[i] === 'Z') i++;
  else if (s[i] === '+' || s[i] === '-') {
    const sign = s[i] === '+' ? 1 : -1;
    i++;
    const [oh, ohLen] = number();
    if (ohLen === 0 || ohLen > 2 || oh > 23) return null;
    if (s[i] !== ':') return null;
    i++;
    const [om, omLen] = number();
    if (omLen === 0 || omLen > 2 || om > 59) return null;
    offset = sign * (oh * 60 + om) * 60_000;
  }
  if (i !== s.length) return null;
  const out = civilToMs(y, mo, d, h, mi, sec, ms) - offset;
  return validMs(out) ? out : null;
}

/** Whether a string is a date string ArangoDB accepts (IS_DATESTRING). */
export function isDateString(s: string): boolean {
  return parseDateString(s) !== null;
}

/** A date argument (ms timestamp or ISO 8601 string) as ms, or null (with a warning). */
function dateArg(ctx: FnContext, fn: string, v: AqlValue | undefined): number | null {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && validMs(v)) return Math.trunc(v);
  } else if (typeof v === 'string') {
    const ms = parseDateString(v);
    if (ms !== null) return ms;
  } else {
    // warning: ArangoDB 1542 (function argument type mismatch)
    return warn(ctx, fn, 'invalid argument type');
  }
  // warning: ArangoDB 1572 (invalid date value)
  return warn(ctx, fn, 'invalid date value', WarningCodes.INVALID_DATE_VALUE);
}

// Time zones (IANA names through Intl). Offsets are local minus UTC, in ms.

const tzFormatters = new Map<string, Intl.DateTimeFormat>();
const UTC_NAMES = new Set(['UTC', 'ETC/UTC', 'Z', 'GMT', 'ETC/GMT', 'UCT', 'ZULU', 'UNIVERSAL', 'ETC/UNIVERSAL', 'ETC/ZULU']);

/**
 * A time zone argument: undefined for UTC (or an absent argument), else the
 * zone name; null (with a warning) for a present argument that is not a
 * string, null included, as in ArangoDB. An unknown zone name fails the
 * query (ArangoDB: "Throws an error if the timezone is not known").
 */
function tzArg(ctx: FnContext, fn: string, v: AqlValue | undefined): string | undefined | null {
  if (v === undefined) return undefined;
  // warning: ArangoDB 1542 (function argument type mismatch): the time zone must be a string
  if (typeof v !== 'string') return warn(ctx, fn, 'time zone must be a string');
  if (UTC_NAMES.has(v.toUpperCase())) return undefined;
  if (!tzFormatters.has(v)) {
    let f: Intl.DateTimeFormat;
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: v,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch {
      throw new ThemisError('VALIDATION_FAILED', `${fn}(): unknown time zone '${v}'`, { details: { timezone: v } });
    }
    tzFormatters.set(v, f);
  }
  return v;
}

function tzOffset(ms: number, tz: string | undefined): number {
  if (tz === undefined) return 0;
  const f = tzFormatters.get(tz)!;
  let y = 0;
  let mo = 1;
  let d = 1;
  let h = 0;
  let i = 0;
  let s = 0;
  let bc = false;
  for (const p of f.formatToParts(new Date(ms))) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        i = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  if (bc) y = 1 - y;
  const wall = civilToMs(y, mo, d, h, i, s, 0);
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

function toLocal(ms: number, tz: string | undefined): number {
  return tz === undefined ? ms : ms + tzOffset(ms, tz);
}

function fromLocal(local: number, tz: string | undefined): number {
  if (tz === undefined) return local;
  const guess = local - tzOffset(local, tz);
  return local - tzOffset(guess, tz);
}

/** Date components of a date argument in an optional time zone, or null. */
function partsArg(ctx: FnContext, fn: string, a: AqlValue[], tzIndex: number): Civil | null {
  const ms = dateArg(ctx, fn, a[0]);
  if (ms === null) return null;
  const tz = tzArg(ctx, fn, a[tzIndex]);
  return tz === null ? null : civil(toLocal(ms, tz));
}

function dayOfYear(c: Civil): number {
  return daysFromCivil(c.y, c.m, c.d) - daysFromCivil(c.y, 1, 1) + 1;
}

function isoWeek(c: Civil): { week: number; year: number } {
  const days = daysFromCivil(c.y, c.m, c.d);
  const isoDow = c.dow === 0 ? 7 : c.dow;
  const thursday = civil((days + 4 - isoDow) * DAY_MS);
  return { week: Math.floor((dayOfYear(thursday) - 1) / 7) + 1, year: thursday.y };
}

def('DATE_NOW', 0, 0, (_a, ctx) => ctx.now());

/** DATE_TIMESTAMP/DATE_ISO8601 argument(s) as ms, or null. */
function dateFromArgs(ctx: FnContext, fn: string, a: AqlValue[]): number | null {
  if (a.length === 1) return dateArg(ctx, fn, a[0]);
  const parts: number[] = [];
  for (let k = 0; k < 7; k++) {
    if (k >= a.length) {
      parts.push(k < 3 ? 1 : 0);
      continue;
    }
    const v = a[k];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < 0) return warn(ctx, fn, 'invalid date component', WarningCodes.INVALID_DATE_VALUE);
    parts.push(Math.trunc(n));
  }
  const [y, mo, d, h, i, s, f] = parts as [number, number, number, number, number, number, number];
  // Overflowing components carry into the larger ones (month 13 = January of the next year).
  const months = y * 12 + (mo - 1);
  const ms =
    daysFromCivil(Math.floor(months / 12), (months % 12) + 1, 1) * DAY_MS + (d - 1) * DAY_MS + h * 3_600_000 + i * 60_000 + s * 1000 + f;
  return validMs(ms) ? ms : warn(ctx, fn, 'date out of range', WarningCodes.INVALID_DATE_VALUE);
}

def('DATE_TIMESTAMP', 1, 7, (a, ctx) => dateFromArgs(ctx, 'DATE_TIMESTAMP', a));
def('DATE_ISO8601', 1, 7, (a, ctx) => {
  const ms = dateFromArgs(ctx, 'DATE_ISO8601', a);
  return ms === null ? null : isoString(ms);
});

function componentFn(name: string, pick: (c: Civil) => AqlValue, withTz = true): void {
  def(name, 1, withTz ? 2 : 1, (a, ctx) => {
    const c = partsArg(ctx, name, a, 1);
    return c === null ? null : pick(c);
  });
}
componentFn('DATE_DAYOFWEEK', (c) => c.dow);
componentFn('DATE_YEAR', (c) => c.y);
componentFn('DATE_MONTH', (c) => c.m);
componentFn('DATE_DAY', (c) => c.d);
componentFn('DATE_HOUR', (c) => c.h);
componentFn('DATE_MINUTE', (c) => c.i);
componentFn('DATE_SECOND', (c) => c.s, false);
componentFn('DATE_MILLISECOND', (c) => c.f, false);
componentFn('DATE_DAYOFYEAR', dayOfYear);
componentFn('DATE_ISOWEEK', (c) => isoWeek(c).week);
componentFn('DATE_ISOWEEKYEAR', (c) => isoWeek(c));
componentFn('DATE_LEAPYEAR', (c) => isLeap(c.y));
componentFn('DATE_QUARTER', (c) => Math.floor((c.m - 1) / 3) + 1);
componentFn('DATE_DAYS_IN_MONTH', (c) => daysInMonth(c.y, c.m));

/** `months` calendar months after a local timestamp; day overflow carries into the next month (Jan 31 + 1 month = Mar 3 in 2023). */
function addMonths(local: number, months: number): number {
  const c = civil(local);
  const total = c.y * 12 + (c.m - 1) + months;
  const y = Math.floor(total / 12);
  const m = total - y * 12 + 1;
  return civilToMs(y, m, 1) + (c.d - 1) * DAY_MS + (local - civilToMs(c.y, c.m, c.d));
}

/**
 * Adds `amount` units to a local (wall-clock) timestamp, as ArangoDB does:
 * years and months by the calendar, a fraction of a year continuing in
 * months and a fraction of a month in days of 30 (DATE_ADD(d, 1.5,
 * "years") is 1 year and 6 months); durations truncated to whole ms.
 */
function addUnits(local: number, amount: number, unit: DateUnit): number {
  const sign = amount < 0 ? -1 : 1;
  let rest = Math.abs(amount);
  if (unit === 'y' || unit === 'm') {
    let months = 0;
    if (unit === 'y') {
      const years = Math.trunc(rest);
      months = years * 12;
      rest = (rest - years) * 12;
    }
    const whole = Math.trunc(rest);
    months += whole;
    rest -= whole;
    return addMonths(local, sign * months) + sign * Math.trunc(rest * 30 * DAY_MS);
  }
  return local + sign * Math.trunc(rest * UNIT_MS[unit]);
}

const ISO_DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,3}))?S)?)?$/;

function dateAddFn(name: string, sign: 1 | -1): AqlFunction {
  return (a, ctx) => {
    const ms = dateArg(ctx, name, a[0]);
    if (ms === null) return null;
    const amountArg = a[1];
    let steps: [number, DateUnit][];
    let tzIndex: number;
    const duration = typeof amountArg === 'string' ? ISO_DURATION.exec(amountArg) : null;
    if (duration !== null && amountArg !== 'P' && !(amountArg as string).endsWith('T')) {
      const units: DateUnit[] = ['y', 'm', 'w', 'd', 'h', 'i', 's'];
      steps = [];
      for (let k = 0; k < units.length; k++) if (duration[k + 1] !== undefined) steps.push([Number(duration[k + 1]), units[k]!]);
      if (duration[8] !== undefined) steps.push([Number(duration[8].padEnd(3, '0')), 'f']);
      tzIndex = 2;
    } else {
      if (a.length < 3) return warn(ctx, name, 'expects a unit or an ISO 8601 duration');
      let amount = amountArg;
      let unitArg = a[2];
      // Legacy argument order DATE_ADD(date, "month", 1).
      if (parseUnit(amount) !== undefined && parseUnit(unitArg) === undefined && typeof unitArg === 'number') {
        [amount, unitArg] = [unitArg, amount];
      }
      const unit = parseUnit(unitArg);
      if (unit === undefined) return warn(ctx, name, 'invalid unit', WarningCodes.INVALID_DATE_VALUE);
      const n = typeof amount === 'number' ? amount : typeof amount === 'string' && amount.trim() !== '' ? Number(amount) : NaN;
      if (!Number.isFinite(n)) return warn(ctx, name, 'invalid amount');
      steps = [[n, unit]];
      tzIndex = 3;
    }
    const tz = tzArg(ctx, name, a[tzIndex]);
    if (tz === null) return null;
    let local = toLocal(ms, tz);
    for (const [n, unit] of steps) local = addUnits(local, sign * n, unit);
    const out = fromLocal(local, tz);
    return validMs(out) ? isoString(out) : warn(ctx, name, 'date out of range', WarningCodes.INVALID_DATE_VALUE);
  };
}
def('DATE_ADD', 2, 4, dateAddFn('DATE_ADD', 1));
def(['DATE_SUBTRACT', 'DATE_SUB'], 2, 4, dateAddFn('DATE_SUBTRACT', -1));

function truncLocal(local: number, unit: DateUnit): number {
  const c = civil(local);
  switch (unit) {
    case 'y':
      return civilToMs(c.y, 1, 1);
    case 'm':
      return civilToMs(c.y, c.m, 1);
    case 'w':
      return civilToMs(c.y, c.m, c.d) - ((c.dow + 6) % 7) * DAY_MS; // back to Monday
    case 'd':
      return civilToMs(c.y, c.m, c.d);
    case 'h':
      return civilToMs(c.y, c.m, c.d, c.h);
    case 'i':
      return civilToMs(c.y, c.m, c.d, c.h, c.i);
    case 's':
      return civilToMs(c.y, c.m, c.d, c.h, c.i, c.s);
    case 'f':
      return local;
  }
}

def('DATE_TRUNC', 2, 3, (a, ctx) => {
  const ms = dateArg(ctx, 'DATE_TRUNC', a[0]);
  if (ms === null) return null;
  const unit = parseUnit(a[1]);
  if (unit === undefined || unit === 'w') return warn(ctx, 'DATE_TRUNC', 'invalid unit');
  const tz = tzArg(ctx, 'DATE_TRUNC', a[2]);
  if (tz === null) return null;
  return isoString(fromLocal(truncLocal(toLocal(ms, tz), unit), tz));
});

/** DATE_ROUND's units. */
const ROUND_UNITS: Record<string, DateUnit> = {
  milliseconds: 'f',
  millisecond: 'f',
  f: 'f',
  seconds: 's',
  second: 's',
  s: 's',
  minutes: 'i',
  minute: 'i',
  i: 'i',
  hours: 'h',
  hour: 'h',
  h: 'h',
  days: 'd',
  day: 'd',
  d: 'd',
};

def('DATE_ROUND', 3, 4, (a, ctx) => {
  const ms = dateArg(ctx, 'DATE_ROUND', a[0]);
  if (ms === null) return null;
  // warning: ArangoDB 1542 (function argument type mismatch) for a non-numeric amount or a non-string unit
  if (typeof a[1] !== 'number' || typeof a[2] !== 'string') return invalidArg(ctx, 'DATE_ROUND');
  const tz = tzArg(ctx, 'DATE_ROUND', a[3]);
  if (tz === null) return null;
  const amount = a[1];
  const unit = ROUND_UNITS[a[2].toLowerCase()]; // case-insensitive, as documented
  // warning: ArangoDB 1542 for an unknown unit or an amount that is not a positive integer (documented)
  if (unit === undefined || !(amount >= 1) || !Number.isInteger(amount)) return invalidArg(ctx, 'DATE_ROUND');
  const bucket = amount * UNIT_MS[unit];
  const local = toLocal(ms, tz);
  // Integer division, as ArangoDB's: toward zero (dates before 1970 round up).
  const rounded = Math.trunc(local / bucket) * bucket;
  return isoString(fromLocal(rounded === 0 ? 0 : rounded, tz));
});

def('DATE_DIFF', 3, 6, (a, ctx) => {
  const d1 = dateArg(ctx, 'DATE_DIFF', a[0]);
  if (d1 === null) return null;
  const d2 = dateArg(ctx, 'DATE_DIFF', a[1]);
  if (d2 === null) return null;
  // warning: ArangoDB 1542 (function argument type mismatch) for a non-string unit
  if (typeof a[2] !== 'string') return invalidArg(ctx, 'DATE_DIFF');
  const unit = parseUnit(a[2]);
  // DATE_DIFF(d1, d2, unit, asFloat, tz1, tz2), or DATE_DIFF(d1, d2, unit, tz1, tz2):
  // the fourth argument is a boolean (asFloat) or a time zone (anything else: a warning).
  let asFloat = false;
  let tz1: string | undefined | null;
  let tz2: string | undefined | null;
  if (a.length > 3) {
    const p4 = a[3];
    if (typeof p4 === 'boolean') asFloat = p4;
    else if (typeof p4 === 'string') tz1 = tz2 = tzArg(ctx, 'DATE_DIFF', p4);
    // warning: ArangoDB 1542
    else return invalidArg(ctx, 'DATE_DIFF');
    if (a.length > 4) {
      const tz = tzArg(ctx, 'DATE_DIFF', a[4] ?? null);
      if (tz === null) return null;
      if (typeof p4 === 'boolean') tz1 = tz2 = tz;
      else tz2 = tz;
      if (a.length > 5) tz2 = tzArg(ctx, 'DATE_DIFF', a[5] ?? null);
    }
  }
  if (tz1 === null || tz2 === null) return null;
  // warning: ArangoDB 1572 (invalid date value) for an unknown unit
  if (unit === undefined) return warn(ctx, 'DATE_DIFF', 'invalid unit', WarningCodes.INVALID_DATE_VALUE);
  const diff = (toLocal(d2, tz2) - toLocal(d1, tz1)) / UNIT_MS[unit];
  if (asFloat) return diff;
  const r = Math.sign(diff) * Math.round(Math.abs(diff)); // std::round: half away from zero
  return r === 0 ? 0 : r;
});

const COMPARE_UNITS: Exclude<DateUnit, 'w'>[] = ['y', 'm', 'd', 'h', 'i', 's', 'f'];

/**
 * DATE_COMPARE(d1, d2, unitRangeStart, unitRangeEnd, tz1, tz2): whether
 * the dates agree from unitRangeStart down to unitRangeEnd. As in
 * ArangoDB, a fourth argument that is not a unit is the time zone (then a
 * fifth is the second date's); an end unit before the start unit (years
 * before days) fails the query, as documented.
 */
def('DATE_COMPARE', 3, 6, (a, ctx) => {
  const d1 = dateArg(ctx, 'DATE_COMPARE', a[0]);
  if (d1 === null) return null;
  const d2 = dateArg(ctx, 'DATE_COMPARE', a[1]);
  if (d2 === null) return null;
  const start = parseUnit(a[2]);
  // warning: ArangoDB 1542 (function argument type mismatch) for an invalid unit
  if (start === undefined || start === 'w') return invalidArg(ctx, 'DATE_COMPARE');
  let end: DateUnit = start;
  let tz1: string | undefined | null;
  let tz2: string | undefined | null;
  if (a.length > 3) {
    const e = parseUnit(a[3]);
    let startTz = 0;
    let endTz = 0;
    if (e === undefined) {
      startTz = 3;
      if (a.length === 4) endTz = 3;
      else if (a.length === 5) endTz = 4;
      // warning: ArangoDB 1542
      else return invalidArg(ctx, 'DATE_COMPARE');
    } else {
      // warning: ArangoDB 1542 (a week unit is not supported)
      if (e === 'w') return invalidArg(ctx, 'DATE_COMPARE');
      end = e;
      if (a.length > 4) {
        startTz = 4;
        endTz = a.length === 6 ? 5 : 4;
      }
    }
    if (startTz > 0) {
      tz1 = tzArg(ctx, 'DATE_COMPARE', a[startTz] ?? null);
      if (tz1 === null) return null;
      tz2 = endTz === startTz ? tz1 : tzArg(ctx, 'DATE_COMPARE', a[endTz] ?? null);
      if (tz2 === null) return null;
    }
  }
  const from = COMPARE_UNITS.indexOf(start);
  const to = COMPARE_UNITS.indexOf(end);
  const c1 = civil(toLocal(d1, tz1 ?? undefined));
  const c2 = civil(toLocal(d2, tz2 ?? undefined));
  // Documented: "An error is raised if unitRangeEnd is a unit before unitRangeStart."
  if (to < from) throw new ThemisError('VALIDATION_FAILED', 'DATE_COMPARE(): unitRangeEnd must not come before unitRangeStart');
  for (let k = from; k <= to; k++) {
    const u = COMPARE_UNITS[k]!;
    if (c1[u] !== c2[u]) return false;
  }
  return true;
});

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

/** DATE_FORMAT placeholders, longest first. */
const FORMAT_TOKENS = [
  'yyyyyy',
  'yyyy',
  'yy',
  'y',
  'mmmm',
  'mmm',
  'mm',
  'm',
  'dd',
  'd',
  'hh',
  'h',
  'ii',
  'i',
  'ss',
  's',
  'fff',
  'f',
  'xxx',
  'x',
  'kk',
  'k',
  'wwww',
  'www',
  'w',
  't',
  'z',
  'l',
  'q',
  'a',
  '&',
  '%',
];

function formatDate(local: number, format: string): string {
  const c = civil(local);
  let out = '';
  for (let p = 0; p < format.length; p++) {
    const ch = format[p]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const rest = format.slice(p + 1).toLowerCase();
    const token = FORMAT_TOKENS.find((t) => rest.startsWith(t));
    if (token === undefined) continue; // a lone '%' is dropped
    p += token.length;
    switch (token) {
      case 'yyyyyy':
        out += (c.y < 0 ? '-' : '+') + pad(Math.abs(c.y), 6);
        break;
      case 'yyyy':
        out += c.y >= 0 && c.y <= 9999 ? pad(c.y, 4) : (c.y < 0 ? '-' : '+') + pad(Math.abs(c.y), 6);
        break;
      case 'yy':
        out += pad(c.y % 100, 2);
        break;
      case 'y':
        out += String(c.y);
        break;
      case 'mmmm':
        out += MONTH_NAMES[c.m - 1]!;
        break;
      case 'mmm':
        out += MONTH_NAMES[c.m - 1]!.slice(0, 3);
        break;
      case 'mm':
        out += pad(c.m, 2);
        break;
      case 'm':
        out += String(c.m);
        break;
      case 'dd':
        out += pad(c.d, 2);
        break;
      case 'd':
        out += String(c.d);
        break;
      case 'hh':
        out += pad(c.h, 2);
        break;
      case 'h':
        out += String(c.h);
        break;
      case 'ii':
        out += pad(c.i, 2);
        break;
      case 'i':
        out += String(c.i);
        break;
      case 'ss':
        out += pad(c.s, 2);
        break;
      case 's':
        out += String(c.s);
        break;
      case 'fff':
        out += pad(c.f, 3);
        break;
      case 'f':
        out += String(c.f);
        break;
      case 'xxx':
        out += pad(dayOfYear(c), 3);
        break;
      case 'x':
        out += String(dayOfYear(c));
        break;
      case 'kk':
        out += pad(isoWeek(c).week, 2);
        break;
      case 'k':
        out += String(isoWeek(c).week);
        break;
      case 'wwww':
        out += DAY_NAMES[c.dow]!;
        break;
      case 'www':
        out += DAY_NAMES[c.dow]!.slice(0, 3);
        break;
      case 'w':
        out += String(c.dow);
        break;
      case 't':
        // ArangoDB formats the localized time point: with a time zone, the local wall time in ms
        out += String(local);
        break;
      case 'z':
        // The local date and time, still with a 'Z' (ArangoDB's "%FT%TZ" of the localized time point)
        out += `${c.y >= 0 && c.y <= 9999 ? pad(c.y, 4) : String(c.y)}-${pad(c.m, 2)}-${pad(c.d, 2)}T${pad(c.h, 2)}:${pad(c.i, 2)}:${pad(c.s, 2)}.${pad(c.f, 3)}Z`;
        break;
      case 'l':
        out += isLeap(c.y) ? '1' : '0';
        break;
      case 'q':
        out += String(Math.floor((c.m - 1) / 3) + 1);
        break;
      case 'a':
        out += String(daysInMonth(c.y, c.m));
        break;
      case '&':
        break;
      case '%':
        out += '%';
        break;
    }
  }
  return out;
}

def('DATE_FORMAT', 2, 3, (a, ctx) => {
  const ms = dateArg(ctx, 'DATE_FORMAT', a[0]);
  if (ms === null) return null;
  const format = a[1];
  // warning: ArangoDB 1542 (function argument type mismatch) for a format that is not a string
  if (typeof format !== 'string') return invalidArg(ctx, 'DATE_FORMAT');
  const tz = tzArg(ctx, 'DATE_FORMAT', a[2]);
  if (tz === null) return null;
  charge(ctx, 24 * format.length); // a placeholder expands to at most ~12 times its length
  return formatDate(toLocal(ms, tz), format);
});

// ---------------------------------------------------------------------------
// Time zone conversions (ArangoDB 3.8+).

/** ISO 8601 of a (local or UTC) timestamp, with or without the trailing Z; null outside 0000..9999. */
function isoLocal(ms: number, utc: boolean): string | null {
  const s = isoString(ms);
  return s === null || utc ? s : s.slice(0, -1);
}

const abbrevFormatters = new Map<string, Intl.DateTimeFormat>();

/** A zone's abbreviation at an instant ("EST", "CET"), or ICU's "GMT+1" where it knows none. */
function tzAbbrev(ms: number, tz: string): string {
  let name = '';
  for (const locale of ['en-US', 'en-GB']) {
    const key = `${locale} ${tz}`;
    let f = abbrevFormatters.get(key);
    if (f === undefined) {
      f = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: 'short' });
      abbrevFormatters.set(key, f);
    }
    name = f.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (!/^(GMT|UTC)[+-]/.test(name)) break;
  }
  return name === 'GMT' && tzOffset(ms, tz) !== 0 ? tz : name;
}

/** The last instant before `ms` (backward) or the first after it (forward) where the zone's offset changes, or null. */
function tzTransition(ms: number, tz: string, forward: boolean): number | null {
  const STEP = 30 * DAY_MS;
  const offset = tzOffset(ms, tz);
  let inside = ms;
  for (let k = 0; k < 12 * 250; k++) {
    const probe = forward ? inside + STEP : inside - STEP;
    if (!validMs(probe)) return null;
    if (tzOffset(probe, tz) !== offset) {
      // Binary search between `inside` (same offset) and `probe` (another).
      let lo = inside;
      let hi = probe;
      while (Math.abs(hi - lo) > 1000) {
        const mid = Math.floor((lo + hi) / 2000) * 1000;
        if (mid === lo || mid === hi) break;
        if (tzOffset(mid, tz) === offset) lo = mid;
        else hi = mid;
      }
      // The period begins at the first second with this offset, and ends where the next begins.
      return forward ? hi : lo;
    }
    inside = probe;
  }
  return null;
}

/** The zone information DATE_UTCTOLOCAL/DATE_LOCALTOUTC report for an instant. */
function zoneInfo(ms: number, tz: string | undefined): AqlValue {
  if (tz === undefined) return { name: 'UTC', begin: null, end: null, dst: false, offset: 0 };
  const offset = tzOffset(ms, tz);
  const y = civil(ms).y;
  const standard = Math.min(tzOffset(civilToMs(y, 1, 1), tz), tzOffset(civilToMs(y, 7, 1), tz));
  const begin = tzTransition(ms, tz, false);
  const end = tzTransition(ms, tz, true);
  return {
    name: tzAbbrev(ms, tz),
    begin: begin === null ? null : isoString(begin),
    end: end === null ? null : isoString(end),
    dst: offset !== standard,
    offset: Math.round(offset / 1000),
  };
}

/** The tz database version behind the time zone functions (Node's ICU). */
function tzdbVersion(): string {
  return process.versions.tz ?? 'unknown';
}

function zoneConversion(name: string, toLocalTime: boolean): void {
  def(name, 2, 3, (a, ctx) => {
    const ms = dateArg(ctx, name, a[0]);
    if (ms === null) return null;
    // warning: ArangoDB 1542 (function argument type mismatch): the time zone must be a string
    if (typeof a[1] !== 'string') return invalidArg(ctx, name);
    // warning: ArangoDB 1542: zoneinfo must be a boolean
    if (a.length > 2 && typeof a[2] !== 'boolean') return invalidArg(ctx, name);
    const tz = tzArg(ctx, name, a[1]);
    if (tz === null) return null;
    const detail = a[2] === true;
    let result: string | null;
    let instant: number;
    if (toLocalTime) {
      instant = ms;
      const offset = tz === undefined ? 0 : tzOffset(ms, tz);
      // The result has a 'Z' only where the zone's offset is 0 (ArangoDB: "unqualified local time").
      result = isoLocal(ms + offset, offset === 0);
    } else {
      instant = fromLocal(ms, tz);
      result = isoString(instant);
    }
    // warning: ArangoDB 1572 (invalid date value) for a result outside 0000..9999
    if (result === null) return warn(ctx, name, 'invalid date value', WarningCodes.INVALID_DATE_VALUE);
    if (!detail) return result;
    return { [toLocalTime ? 'local' : 'utc']: result, tzdb: tzdbVersion(), zoneInfo: zoneInfo(instant, tz) };
  });
}
zoneConversion('DATE_UTCTOLOCAL', true);
zoneConversion('DATE_LOCALTOUTC', false);

/** DATE_TIMEZONE(): the server's time zone (the process's, as Intl resolves it). */
def('DATE_TIMEZONE', 0, 0, () => Intl.DateTimeFormat().resolvedOptions().timeZone ?? null);

/** DATE_TIMEZONES(): the IANA zone names this server knows (Intl's canonical names, and UTC). */
def('DATE_TIMEZONES', 0, 0, (_a, ctx) => {
  const names = new Set<string>(Intl.supportedValuesOf('timeZone'));
  names.add('UTC');
  names.add('Etc/UTC');
  charge(ctx, 48 * names.size);
  return [...names];
});
