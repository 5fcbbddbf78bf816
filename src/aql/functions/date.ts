/**
 * AQL date functions. Dates are ISO 8601 strings in UTC
 * (`2026-11-23T03:00:00.000Z`) or numeric millisecond timestamps; an
 * optional IANA time zone argument is supported where ArangoDB has one.
 */
import { ThemisError } from '../../errors.js';
import type { AqlValue } from '../ast.js';
import { truthy } from '../values.js';
import { charge, num, strOf, warn } from './helpers.js';
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

/** Date strings ArangoDB accepts: YYYY[-MM[-DD[(T| )HH:MM[:SS[.fff]]]]][Z|±HH[:]MM]. */
export const DATE_STRING =
  /^(\d{1,4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?)?([zZ]|[+-]\d{2}(?::?\d{2})?)?$/;

function parseDateString(s: string): number | null {
  const m = DATE_STRING.exec(s);
  if (m === null) return null;
  const y = Number(m[1]);
  const mo = m[2] !== undefined ? Number(m[2]) : 1;
  const d = m[3] !== undefined ? Number(m[3]) : 1;
  const h = m[4] !== undefined ? Number(m[4]) : 0;
  const i = m[5] !== undefined ? Number(m[5]) : 0;
  const sec = m[6] !== undefined ? Number(m[6]) : 0;
  const f = m[7] !== undefined ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || i > 59 || sec > 59) return null;
  let ms = civilToMs(y, mo, d, h, i, sec, f);
  const tz = m[8];
  if (tz !== undefined && tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  return validMs(ms) ? ms : null;
}

/** A date argument (ms timestamp or ISO 8601 string) as ms, or null (with a warning). */
function dateArg(ctx: FnContext, fn: string, v: AqlValue | undefined): number | null {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && validMs(v)) return Math.trunc(v);
  } else if (typeof v === 'string') {
    const ms = parseDateString(v);
    if (ms !== null) return ms;
  }
  return warn(ctx, fn, 'invalid date value');
}

// Time zones (IANA names through Intl). Offsets are local minus UTC, in ms.

const tzFormatters = new Map<string, Intl.DateTimeFormat>();
const UTC_NAMES = new Set(['UTC', 'ETC/UTC', 'Z', 'GMT', 'ETC/GMT', 'UCT', 'ZULU', 'UNIVERSAL', 'ETC/UNIVERSAL', 'ETC/ZULU']);

/** Validates a time zone argument: undefined for UTC (or absent/null), else the zone name. */
function tzArg(fn: string, v: AqlValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ThemisError('VALIDATION_FAILED', `${fn}(): time zone must be a string`);
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
  return civil(toLocal(ms, a.length > tzIndex ? tzArg(fn, a[tzIndex]) : undefined));
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
    if (!Number.isFinite(n) || n < 0) return warn(ctx, fn, 'invalid date component');
    parts.push(Math.trunc(n));
  }
  const [y, mo, d, h, i, s, f] = parts as [number, number, number, number, number, number, number];
  // Overflowing components carry into the larger ones (month 13 = January of the next year).
  const months = y * 12 + (mo - 1);
  const ms =
    daysFromCivil(Math.floor(months / 12), (months % 12) + 1, 1) * DAY_MS + (d - 1) * DAY_MS + h * 3_600_000 + i * 60_000 + s * 1000 + f;
  return validMs(ms) ? ms : warn(ctx, fn, 'date out of range');
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

/** Adds `amount` units to a local (wall-clock) timestamp; months and years by the calendar. */
function addUnits(local: number, amount: number, unit: DateUnit): number {
  if (unit === 'y' || unit === 'm') {
    const n = Math.trunc(amount) * (unit === 'y' ? 12 : 1);
    const c = civil(local);
    const months = c.y * 12 + (c.m - 1) + n;
    const y = Math.floor(months / 12);
    const m = months - y * 12 + 1;
    // Day overflow carries into the next month (Jan 31 + 1 month = Mar 3 in 2023).
    return civilToMs(y, m, 1) + (c.d - 1) * DAY_MS + (local - civilToMs(c.y, c.m, c.d));
  }
  return local + Math.round(amount * UNIT_MS[unit]);
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
      if (unit === undefined) return warn(ctx, name, 'invalid unit');
      const n = typeof amount === 'number' ? amount : typeof amount === 'string' && amount.trim() !== '' ? Number(amount) : NaN;
      if (!Number.isFinite(n)) return warn(ctx, name, 'invalid amount');
      steps = [[n, unit]];
      tzIndex = 3;
    }
    const tz = a.length > tzIndex ? tzArg(name, a[tzIndex]) : undefined;
    let local = toLocal(ms, tz);
    for (const [n, unit] of steps) local = addUnits(local, sign * n, unit);
    const out = fromLocal(local, tz);
    return validMs(out) ? isoString(out) : warn(ctx, name, 'date out of range');
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
  const tz = tzArg('DATE_TRUNC', a[2]);
  return isoString(fromLocal(truncLocal(toLocal(ms, tz), unit), tz));
});

def('DATE_ROUND', 3, 4, (a, ctx) => {
  const ms = dateArg(ctx, 'DATE_ROUND', a[0]);
  if (ms === null) return null;
  const amount = num(a[1]);
  const unit = parseUnit(a[2]);
  if (unit === undefined || unit === 'y' || unit === 'm' || unit === 'w') return warn(ctx, 'DATE_ROUND', 'invalid unit');
  if (!(amount >= 1) || !Number.isInteger(amount)) return warn(ctx, 'DATE_ROUND', 'amount must be a positive integer');
  const tz = tzArg('DATE_ROUND', a[3]);
  const bucket = amount * UNIT_MS[unit];
  const local = toLocal(ms, tz);
  return isoString(fromLocal(Math.floor(local / bucket) * bucket, tz));
});

def('DATE_DIFF', 3, 6, (a, ctx) => {
  const d1 = dateArg(ctx, 'DATE_DIFF', a[0]);
  const d2 = dateArg(ctx, 'DATE_DIFF', a[1]);
  if (d1 === null || d2 === null) return null;
  const unit = parseUnit(a[2]);
  if (unit === undefined) return warn(ctx, 'DATE_DIFF', 'invalid unit');
  // DATE_DIFF(d1, d2, unit, asFloat, tz1, tz2); a string in the asFloat
  // position is taken as tz1 (the form ArangoDB's own examples use).
  const tzAt = typeof a[3] === 'string' ? 3 : 4;
  const asFloat = tzAt === 4 && truthy(a[3]);
  const tz1 = tzArg('DATE_DIFF', a[tzAt]);
  const tz2 = a.length > tzAt + 1 && a[tzAt + 1] !== null ? tzArg('DATE_DIFF', a[tzAt + 1]) : tz1;
  const diff = (toLocal(d2, tz2) - toLocal(d1, tz1)) / UNIT_MS[unit];
  if (asFloat) return diff;
  const r = Math.sign(diff) * Math.round(Math.abs(diff)); // std::round: half away from zero
  return r === 0 ? 0 : r;
});

const COMPARE_UNITS: Exclude<DateUnit, 'w'>[] = ['y', 'm', 'd', 'h', 'i', 's', 'f'];
def('DATE_COMPARE', 3, 6, (a, ctx) => {
  const d1 = dateArg(ctx, 'DATE_COMPARE', a[0]);
  const d2 = dateArg(ctx, 'DATE_COMPARE', a[1]);
  if (d1 === null || d2 === null) return null;
  const start = parseUnit(a[2]);
  const end = a.length > 3 && a[3] !== null ? parseUnit(a[3]) : start;
  if (start === undefined || end === undefined || start === 'w' || end === 'w') return warn(ctx, 'DATE_COMPARE', 'invalid unit');
  const from = COMPARE_UNITS.indexOf(start);
  const to = COMPARE_UNITS.indexOf(end);
  if (to < from) throw new ThemisError('VALIDATION_FAILED', 'DATE_COMPARE(): unitRangeEnd must not come before unitRangeStart');
  const tz1 = tzArg('DATE_COMPARE', a[4]);
  const tz2 = a.length > 5 && a[5] !== null ? tzArg('DATE_COMPARE', a[5]) : tz1;
  const c1 = civil(toLocal(d1, tz1));
  const c2 = civil(toLocal(d2, tz2));
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

function formatDate(ms: number, local: number, format: string): string {
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
        out += String(ms);
        break;
      case 'z':
        out += isoString(ms) ?? '';
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
  const tz = tzArg('DATE_FORMAT', a[2]);
  const format = strOf(a[1], ctx);
  charge(ctx, 24 * format.length); // a placeholder expands to at most ~12 times its length
  return formatDate(ms, toLocal(ms, tz), format);
});
