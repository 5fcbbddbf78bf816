import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import type { Recognizer } from './recognizer.js';
import type { Found, Scan } from './text.js';

// Country code + check digits at the start of a word.
const IBAN_START = /(?<![\p{L}\p{N}])[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])/gu;

function isIbanChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
}

interface IbanShape {
  start: number;
  /** Where the candidate may end, longest first: after the last character, or after a group of 4 (spaced form). */
  ends: number[];
  /** End of the whole IBAN-shaped run. */
  end: number;
}

/** IBAN-shaped runs: 2 letters, 2 digits, then up to 30 capitals/digits, compact or in groups of 4 separated by single spaces. */
function ibanShapes(scan: Scan): IbanShape[] {
  return scan.once('iban-shapes', () => {
    const text = scan.text;
    const out: IbanShape[] = [];
    IBAN_START.lastIndex = 0;
    for (let m = IBAN_START.exec(text); m !== null; m = IBAN_START.exec(text)) {
      const start = m.index;
      let i = start + 4;
      let n = 4;
      const ends: number[] = [];
      while (n < 34 && i < text.length) {
        const c = text.charCodeAt(i);
        if (isIbanChar(c)) {
          i++;
          n++;
        } else if (c === 32 && n % 4 === 0 && i + 1 < text.length && isIbanChar(text.charCodeAt(i + 1))) {
          ends.push(i);
          i++;
        } else break;
      }
      const tail = i < text.length ? text.charCodeAt(i) : 32;
      if (!isLetterOrDigitAscii(tail)) ends.push(i);
      if (n >= 12) out.push({ start, ends: ends.reverse(), end: i });
      IBAN_START.lastIndex = i;
    }
    return out;
  });
}

function isLetterOrDigitAscii(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Spans of IBAN-shaped text (valid or not): the phone and card recognizers do not look inside them. */
export function ibanShapedSpans(scan: Scan): [number, number][] {
  return scan.once('iban-spans', () => ibanShapes(scan).map((s): [number, number] => [s.start, s.end]));
}

export function findIbans(scan: Scan): Found[] {
  const out: Found[] = [];
  for (const shape of ibanShapes(scan)) {
    for (const end of shape.ends) {
      const candidate = scan.text.slice(shape.start, end);
      const compact = electronicFormatIBAN(candidate);
      if (compact !== null && compact.length >= 15 && isValidIBAN(compact)) {
        out.push({ start: shape.start, end, confidence: 0.95 });
        break;
      }
    }
  }
  return out;
}

export const ibanRecognizer: Recognizer = {
  mayMatch: (p) => p.digits >= 8 && p.letters >= 2,
  id: 'iban',
  category: 'iban',
  method:
    'regex (country code, 2 check digits, BBAN compact or in groups of 4) + ISO 13616 mod-97 checksum and country BBAN format (ibantools)',
  pattern: '[A-Z]{2}[0-9]{2}( ?[A-Z0-9]{4}){2,7}( ?[A-Z0-9]{1,3})?',
  confidence: 0.95,
  context: {
    de: ['iban', 'konto', 'kontonummer', 'bankverbindung', 'überweisung', 'überweisen', 'lastschrift', 'sepa', 'bank', 'zahlung'],
    en: ['iban', 'account', 'bank', 'transfer', 'wire', 'payment', 'pay', 'remit', 'payee', 'beneficiary', 'debit'],
  },
  find: findIbans,
};
