import { ibanShapedSpans } from './iban.js';
import type { Recognizer } from './recognizer.js';
import { type Found, overlapsAny, type Scan } from './text.js';

// A run of digit groups separated by single spaces or dashes, at the start of a
// word. The separator is disjoint from the digits: no backtracking.
const DIGIT_RUN = /(?<![\p{L}\p{N}.,])\d+(?:[ -]\d+)*/gu;

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The card network of a number by issuer prefix (IIN) and length, or undefined. */
export function cardNetwork(d: string): string | undefined {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === '4' && (n === 13 || n === 16 || n === 19)) return 'visa';
  if (n === 16 && ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))) return 'mastercard';
  if (n === 15 && (p2 === 34 || p2 === 37)) return 'amex';
  if (n >= 16 && n <= 19 && (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925))) return 'discover';
  if (n === 14 && (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p4 === 3095)) return 'diners';
  if (n >= 16 && n <= 19 && p4 >= 3528 && p4 <= 3589) return 'jcb';
  if (n >= 16 && n <= 19 && p2 === 62) return 'unionpay';
  if (n === 16 && p4 >= 2200 && p4 <= 2204) return 'mir';
  if (n >= 16 && n <= 19 && [5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4)) return 'maestro';
  return undefined;
}

export function findCreditCards(scan: Scan): Found[] {
  const text = scan.text;
  const ibanSpans = ibanShapedSpans(scan);
  const out: Found[] = [];
  DIGIT_RUN.lastIndex = 0;
  for (let m = DIGIT_RUN.exec(text); m !== null; m = DIGIT_RUN.exec(text)) {
    const run = m[0];
    if (run.length < 13) continue;
    // Groups of the run: [start, end) offsets in the text, and the separator before each.
    const starts: number[] = [];
    const ends: number[] = [];
    const seps: string[] = [];
    let i = 0;
    while (i < run.length) {
      const s = i;
      while (i < run.length && run.charCodeAt(i) >= 48 && run.charCodeAt(i) <= 57) i++;
      starts.push(m.index + s);
      ends.push(m.index + i);
      seps.push(s === 0 ? '' : run[s - 1]!);
      i++;
    }
    let g = 0;
    while (g < starts.length) {
      let found = -1;
      let digits = '';
      const candidates: [number, string][] = [];
      for (let h = g; h < starts.length; h++) {
        const len = ends[h]! - starts[h]!;
        if (h > g && (seps[h] !== seps[g + 1] || len < 3 || len > 6)) break;
        digits += text.slice(starts[h], ends[h]);
        if (digits.length > 19) break;
        if (h > g && ends[g]! - starts[g]! !== 4) break;
        if (digits.length >= 13) candidates.push([h, digits]);
      }
      for (let k = candidates.length - 1; k >= 0; k--) {
        const [h, d] = candidates[k]!;
        if (luhn(d) && cardNetwork(d) !== undefined && !overlapsAny(ibanSpans, starts[g]!, ends[h]!)) {
          found = h;
          break;
        }
      }
      if (found >= 0) {
        out.push({ start: starts[g]!, end: ends[found]!, confidence: 0.85 });
        g = found + 1;
      } else g++;
    }
  }
  return out;
}

export const creditCardRecognizer: Recognizer = {
  mayMatch: (p) => p.digits >= 12,
  id: 'credit_card',
  category: 'credit_card',
  method:
    'digit groups (compact, or 4 + groups of 3-6 separated by spaces or dashes) + Luhn checksum + issuer prefix and length (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Mir, Maestro)',
  pattern: '[0-9]{4}([ -]?[0-9]{3,6}){1,4}|[0-9]{13,19}',
  confidence: 0.85,
  context: {
    de: ['kreditkarte', 'karte', 'kartennummer', 'karteninhaber', 'visa', 'mastercard', 'amex', 'zahlung', 'belastung'],
    en: ['card', 'credit', 'visa', 'mastercard', 'amex', 'discover', 'debit', 'payment', 'charge', 'charged'],
  },
  find: findCreditCards,
};
