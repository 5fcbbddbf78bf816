import { type CountryCode, type PhoneNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { ibanShapedSpans } from './iban.js';
import type { Recognizer } from './recognizer.js';
import { type ContextMatcher, contextHit, contextMatcher, type Found, overlapsAny, type Scan } from './text.js';

/**
 * Phone-number candidates: an optional '+' or '(', a digit, up to 24 digits and
 * separators (space - / . ( )), a digit. The repetition is bounded, so a
 * failed start costs at most 24 steps; starts are limited to word starts.
 * libphonenumber-js's own findNumbers is not run on the whole text: it is
 * superlinear on long digit/space runs (5 s on '1 '.repeat(5e5)); it validates
 * each short candidate window instead.
 */
const CANDIDATE = /(?<![\p{L}\p{N}+@._/\\=?&#%-])(?:\+|\(\+?)?\d[\d \-/.()]{4,24}\d(?!\p{N})/gu;

const NANP = /^(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}$/;
const DATE_SHAPES = [/^\d{1,2}\.\d{1,2}\.\d{2,4}$/, /^\d{4}-\d{1,2}-\d{1,2}$/, /^\d{1,2}\/\d{1,2}\/\d{2,4}$/, /^\d{1,2}-\d{1,2}-\d{4}$/];
const UNIT_AFTER = /^\s?(?:€|EUR\b|Euro\b|\$|USD\b|£|GBP\b|CHF\b|%|Uhr\b|kg\b|km\b|Stück\b|Prozent\b|Stk\b|Tage\b|days\b)/;
const CURRENCY_BEFORE = /(?:€|\$|£|EUR|USD|CHF|GBP)\s?$/;

/** Words that introduce a number that is not a phone number (order, invoice, ticket numbers...). */
const NOT_PHONE_WORDS = new Set(
  (
    'nr no bestellung bestellnummer bestellnr auftrag auftragsnummer rechnung rechnungsnummer kundennummer kundennr ' +
    'artikel artikelnummer artikelnr order invoice ticket ref referenz reference po sendungsnummer tracking serial seriennummer ' +
    'lieferschein vertrag vertragsnummer id iban konto kontonummer blz plz steuernummer steuer-id ust-id versicherungsnummer code ' +
    'pin tan sku mandatsreferenz abo abo-nummer version build retoure retourennummer vorgang vorgangsnummer aktenzeichen az ' +
    'case sku item isbn ean batch charge lot'
  ).split(' '),
);

const PHONE_CONTEXT_DE = [
  'whatsapp',
  'sms',
  'tel',
  'telefon',
  'telefonnummer',
  'telefonisch',
  'handy',
  'mobil',
  'mobilnummer',
  'fax',
  'rufnummer',
  'rückruf',
  'rückrufnummer',
  'erreichbar',
  'hotline',
  'anrufen',
  'festnetz',
  'durchwahl',
  'anrufer',
  'ruf',
];
const PHONE_CONTEXT_EN = [
  'phone',
  'tel',
  'telephone',
  'mobile',
  'cell',
  'fax',
  'call',
  'calls',
  'hotline',
  'line',
  'contact',
  'reach',
  'dial',
  'ring',
  'toll-free',
  'freephone',
  'landline',
  'whatsapp',
  'sms',
  'text',
];
const phoneContextAll: ContextMatcher = contextMatcher([...PHONE_CONTEXT_DE, ...PHONE_CONTEXT_EN]);

/** `valid`: a number of an assigned range; `possible`: the right length for its country, in no known range. */
type NumberState = 'valid' | 'possible' | 'no';

/**
 * Verdicts of recent candidates, across classify calls: parsing with the
 * full metadata costs ~10 µs, and the same numbers recur (a company's
 * switchboard in every ticket, a field written again). Keyed by a 53-bit
 * hash of country and candidate, so the cache holds no phone number; a
 * collision (~1e-8 at the cache's size) could only misjudge one candidate.
 */
const VERDICTS_MAX = 8192;
const verdicts = new Map<number, NumberState>();

/** cyrb53 (a fast 53-bit string hash; not cryptographic). */
function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function numberState(raw: string, country: CountryCode): NumberState {
  const key = hash53(`${country}|${raw}`);
  let p = verdicts.get(key);
  if (p === undefined) {
    let parsed: PhoneNumber | undefined;
    try {
      parsed = parsePhoneNumberFromString(raw, country);
    } catch {
      parsed = undefined;
    }
    p = parsed === undefined ? 'no' : parsed.isValid() ? 'valid' : parsed.isPossible() ? 'possible' : 'no';
    if (verdicts.size >= VERDICTS_MAX) verdicts.clear();
    verdicts.set(key, p);
  }
  return p;
}

const validNumber = (raw: string, country: CountryCode): boolean => numberState(raw, country) === 'valid';

/**
 * An explicitly international number (`+49 …`, `0049 …`): 0.7 when valid;
 * 0.4 when only possible (the right length, in a range the metadata does
 * not know, e.g. the contract's example `+49 123 456789`), so context words
 * lift it over a threshold and plain text keeps it low.
 */
function international(raw: string): number {
  const s = numberState(raw, 'DE');
  return s === 'valid' ? 0.7 : s === 'possible' ? 0.4 : 0;
}

interface Window {
  start: number;
  end: number;
  raw: string;
}

/** Whether the window's text is a valid phone number, and with what confidence (0 if not). */
function judge(scan: Scan, w: Window, digitCount: number): number {
  const raw = w.raw;
  if (digitCount < 7 || digitCount > 15) return 0;
  for (const re of DATE_SHAPES) if (re.test(raw)) return 0;
  // More than one slash is a path or a date ("02/08/29/193225"), not a number.
  if (raw.indexOf('/') !== raw.lastIndexOf('/')) return 0;
  const nanp = NANP.test(raw);
  if (raw.includes('.') && !nanp && !raw.startsWith('+')) return 0;
  if (raw.startsWith('+')) return international(raw);
  if (raw.startsWith('00')) {
    if (raw[2] === '0') return 0;
    return international(raw);
  }
  if (raw.startsWith('0') || raw.startsWith('(0')) {
    if (validNumber(raw, 'DE')) return 0.7;
    if (scan.en && validNumber(raw, 'GB')) return 0.7;
    return 0;
  }
  if (nanp && scan.en && validNumber(raw, 'US')) return 0.6;
  return 0;
}

/** Words around the candidate that say it is an amount, an order number, ... */
function unwantedNeighbourhood(scan: Scan, start: number, end: number): boolean {
  const text = scan.text;
  if (UNIT_AFTER.test(text.slice(end, end + 8))) return true;
  if (CURRENCY_BEFORE.test(text.slice(Math.max(0, start - 5), start))) return true;
  const before = scan.wordsBefore(start, 5);
  const near = before.slice(-2);
  if (near.some((w) => NOT_PHONE_WORDS.has(w)) && !contextHit(before, phoneContextAll)) return true;
  return false;
}

export function findPhones(scan: Scan): Found[] {
  const text = scan.text;
  const ibanSpans = ibanShapedSpans(scan);
  const out: Found[] = [];
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m !== null; m = CANDIDATE.exec(text)) {
    const cs = m.index;
    const ce = cs + m[0].length;
    if (overlapsAny(ibanSpans, cs, ce)) continue;
    // Digit groups of the candidate.
    const gs: number[] = [];
    const ge: number[] = [];
    for (let i = cs; i < ce; ) {
      while (i < ce && !(text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57)) i++;
      const s = i;
      while (i < ce && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      if (i > s) {
        gs.push(s);
        ge.push(i);
      }
    }
    let g = 0;
    while (g < gs.length) {
      let accepted = false;
      let start = g === 0 ? cs : gs[g]!;
      if (g > 0 && text[start - 1] === '(') start--;
      const first = text[start];
      // The digits after an international prefix ("+1 800 ...") are not a national number of their own.
      const afterPrefix = g === 1 && (text[cs] === '+' || text.startsWith('00', cs));
      const plausibleStart = !afterPrefix && (first === '+' || first === '(' || first === '0' || (scan.en && ge[g]! - gs[g]! === 3));
      if (plausibleStart) {
        // Longest window first; a window ends at the end of a digit group.
        let digits = 0;
        const windowEnds: [number, number][] = [];
        let singles = 0;
        for (let h = g; h < gs.length && h - g < 7; h++) {
          if (h > g && ge[h]! - gs[h]! === 1 && ++singles > 2) break;
          if (h > g && gs[h]! - ge[h - 1]! > 3) break;
          digits += ge[h]! - gs[h]!;
          if (digits > 15) break;
          windowEnds.push([h, digits]);
        }
        for (let k = windowEnds.length - 1; k >= 0 && !accepted; k--) {
          const [h, digitCount] = windowEnds[k]!;
          let end = ge[h]!;
          let raw = text.slice(start, end);
          if (text[end] === ')' && raw.lastIndexOf('(') > raw.lastIndexOf(')')) {
            end++;
            raw = text.slice(start, end);
          }
          if (raw.startsWith('(') && !raw.includes(')')) continue;
          const confidence = judge(scan, { start, end, raw }, digitCount);
          if (confidence > 0 && !unwantedNeighbourhood(scan, start, end)) {
            out.push({ start, end, confidence });
            g = h + 1;
            accepted = true;
          }
        }
      }
      if (!accepted) g++;
    }
  }
  return out;
}

export const phoneRecognizer: Recognizer = {
  mayMatch: (p) => p.digits >= 7,
  id: 'phone',
  category: 'phone',
  method:
    "candidate digit runs (+, 00, trunk 0, or US (xxx) xxx-xxxx) validated by libphonenumber-js (max metadata; default country DE, in English text GB/US for national numbers; international numbers of the right length outside known ranges at 0.4); not dates, amounts, times, IBAN digits or numbers after 'order/invoice/Nr.'",
  pattern: '(\\+|\\(\\+?)?[0-9][0-9 \\-/.()]{4,24}[0-9]',
  confidence: 0.7,
  context: { de: PHONE_CONTEXT_DE, en: PHONE_CONTEXT_EN },
  find: findPhones,
};
