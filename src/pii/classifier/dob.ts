import { MONTH_ABBR_DE, MONTH_ABBR_EN, MONTHS_DE, MONTHS_EN } from './gazetteers.js';
import type { Recognizer } from './recognizer.js';
import type { Found, Scan } from './text.js';

const MONTH_NUMBER = new Map<string, number>();
for (const list of [MONTHS_DE, MONTHS_EN]) for (const [i, m] of list.entries()) MONTH_NUMBER.set(m.toLowerCase(), i + 1);
MONTH_NUMBER.set('jänner', 1);
MONTH_NUMBER.set('maerz', 3);
const ABBR: [string, number][] = [
  ['jan', 1],
  ['feb', 2],
  ['mär', 3],
  ['mrz', 3],
  ['mar', 3],
  ['apr', 4],
  ['jun', 6],
  ['jul', 7],
  ['aug', 8],
  ['sep', 9],
  ['sept', 9],
  ['okt', 10],
  ['oct', 10],
  ['nov', 11],
  ['dez', 12],
  ['dec', 12],
];
for (const [a, n] of ABBR) MONTH_NUMBER.set(a, n);

const monthNames = [...new Set([...MONTHS_DE, ...MONTHS_EN, 'Jänner', 'Maerz'])].sort((a, b) => b.length - a.length);
const monthAbbr = [...new Set([...MONTH_ABBR_DE, ...MONTH_ABBR_EN])].sort((a, b) => b.length - a.length);
const MONTH = `(?:${monthNames.join('|')}|(?:${monthAbbr.join('|')})\\.?)`;

/**
 * Dates, each alternative bounded (linear): d.m.yyyy (German), yyyy-mm-dd
 * (ISO), d/m/yyyy or m/d/yyyy, d-m-yyyy, "12. März 1985", "12 March 1985",
 * "March 12, 1985", "12th of March 1985".
 */
const DATE = new RegExp(
  [
    '(?<![\\p{N}.])(?<d1>\\d{1,2})\\. ?(?<m1>\\d{1,2})\\. ?(?<y1>\\d{4}|\\d{2})(?![\\p{N}]|\\.\\d)',
    '(?<![\\p{N}-])(?<y2>\\d{4})-(?<m2>\\d{1,2})-(?<d2>\\d{1,2})(?![\\p{N}-])',
    '(?<![\\p{N}/])(?<a3>\\d{1,2})/(?<b3>\\d{1,2})/(?<y3>\\d{4}|\\d{2})(?![\\p{N}/])',
    '(?<![\\p{N}-])(?<d4>\\d{1,2})-(?<m4>\\d{1,2})-(?<y4>\\d{4})(?![\\p{N}-])',
    `(?<![\\p{N}])(?<d5>\\d{1,2})(?:\\.|st|nd|rd|th)? ?(?:of )?(?<m5>${MONTH}),? (?<y5>\\d{4})(?!\\p{N})`,
    `(?<![\\p{L}])(?<m6>${MONTH}) (?<d6>\\d{1,2})(?:st|nd|rd|th)?,? (?<y6>\\d{4})(?!\\p{N})`,
  ].join('|'),
  'gu',
);

/** Words that make a date a date of birth. */
const DOB_WORDS =
  /(?<![\p{L}])(?:geburtsdatum|geb\.-datum|geb\.datum|geburtstag|geboren|geb\.|date of birth|birth date|birthdate|birthday|born|d\.o\.b\.|dob)(?![\p{L}])/giu;
/** Of these, the ones that may follow the date ("am 3. April 1992 geboren"). */
const AFTER_WORDS = new Set(['geboren', 'born']);

const MAX_GAP_BEFORE = 40;
const MAX_GAP_AFTER = 20;

function plausible(d: number, m: number, y: number): boolean {
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  const now = new Date();
  if (y < 1900 || y > now.getFullYear()) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}

function year(s: string): number {
  const y = Number(s);
  if (s.length === 4) return y;
  const yy = new Date().getFullYear() % 100;
  return y > yy ? 1900 + y : 2000 + y;
}

interface DateSpan {
  start: number;
  end: number;
  valid: boolean;
}

export function findDates(scan: Scan): DateSpan[] {
  return scan.once('dates', () => {
    const out: DateSpan[] = [];
    DATE.lastIndex = 0;
    for (let m = DATE.exec(scan.text); m !== null; m = DATE.exec(scan.text)) {
      const g = m.groups!;
      let valid = false;
      if (g.d1 !== undefined) valid = plausible(Number(g.d1), Number(g.m1), year(g.y1!));
      else if (g.y2 !== undefined) valid = plausible(Number(g.d2), Number(g.m2), Number(g.y2));
      else if (g.a3 !== undefined) {
        const y = year(g.y3!);
        valid = plausible(Number(g.a3), Number(g.b3), y) || plausible(Number(g.b3), Number(g.a3), y);
      } else if (g.d4 !== undefined) valid = plausible(Number(g.d4), Number(g.m4), Number(g.y4));
      else if (g.d5 !== undefined)
        valid = plausible(Number(g.d5), MONTH_NUMBER.get(g.m5!.replace('.', '').toLowerCase()) ?? 0, Number(g.y5));
      else if (g.m6 !== undefined)
        valid = plausible(Number(g.d6), MONTH_NUMBER.get(g.m6.replace('.', '').toLowerCase()) ?? 0, Number(g.y6));
      out.push({ start: m.index, end: m.index + m[0].length, valid });
    }
    return out;
  });
}

/**
 * Dates of birth: a plausible past date (1900..this year) with a birth word
 * ("geboren", "geb.", "Geburtsdatum", "born", "DOB", "date of birth",
 * "birthday") at most 40 characters before it, or "geboren"/"born" at most 20
 * characters after it, and no other date in between.
 */
export function findDatesOfBirth(scan: Scan): Found[] {
  const text = scan.text;
  const dates = findDates(scan);
  if (dates.length === 0) return [];
  const words: { start: number; end: number; after: boolean }[] = [];
  DOB_WORDS.lastIndex = 0;
  for (let m = DOB_WORDS.exec(text); m !== null; m = DOB_WORDS.exec(text)) {
    words.push({ start: m.index, end: m.index + m[0].length, after: AFTER_WORDS.has(m[0].toLowerCase()) });
  }
  if (words.length === 0) return [];
  const out: Found[] = [];
  let w = 0;
  for (let i = 0; i < dates.length; i++) {
    const d = dates[i]!;
    // The last birth word before the date.
    while (w < words.length && words[w]!.end <= d.start) w++;
    const before = w > 0 ? words[w - 1] : undefined;
    const prevDateEnd = i > 0 ? dates[i - 1]!.end : -1;
    const nextDateStart = i + 1 < dates.length ? dates[i + 1]!.start : Number.POSITIVE_INFINITY;
    let hit = before !== undefined && d.start - before.end <= MAX_GAP_BEFORE && before.end > prevDateEnd;
    if (!hit) {
      let k = w;
      while (k < words.length && words[k]!.start < d.end) k++;
      const after = words[k];
      hit = after?.after === true && after.start - d.end <= MAX_GAP_AFTER && after.start < nextDateStart;
    }
    if (hit && d.valid) out.push({ start: d.start, end: d.end, confidence: 0.6 });
  }
  return out;
}

export const dateOfBirthRecognizer: Recognizer = {
  mayMatch: (p) => p.digits >= 2,
  id: 'date_of_birth',
  category: 'date_of_birth',
  method:
    "date formats (d.m.yyyy, d. Monat yyyy, yyyy-mm-dd, d/m/yyyy, m/d/yyyy, 'March 12, 1985', '12 March 1985') with a valid past date, within 40 characters after a birth word (geboren, geb., Geburtsdatum, born, DOB, date of birth, birthday) or 20 before 'geboren'/'born'",
  confidence: 0.6,
  context: {
    de: ['geboren', 'geb', 'geburtsdatum', 'geb.-datum', 'geburtstag', 'geburt'],
    en: ['born', 'dob', 'd.o.b', 'date of birth', 'birth', 'birthday', 'birthdate'],
  },
  find: findDatesOfBirth,
};
