import type { Recognizer } from './recognizer.js';
import type { Found, Scan } from './text.js';

const LETTER = /\p{L}/u;
/** A non-ASCII letter (internationalized addresses, RFC 6531: `jörg@müller.de`); astral letters are not taken. */
function isWideLetter(c: number): boolean {
  return c >= 0xc0 && (c < 0xd800 || c > 0xdfff) && LETTER.test(String.fromCharCode(c));
}
// a-z A-Z 0-9 . _ % + - and non-ASCII letters
function isLocalChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 46 ||
    c === 95 ||
    c === 37 ||
    c === 43 ||
    c === 45 ||
    isWideLetter(c)
  );
}
function isLabelChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || isWideLetter(c);
}
function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isWideLetter(c);
}

/** File extensions that look like top-level domains in names such as "logo@2x.png". */
const FILE_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'pdf',
  'js',
  'ts',
  'css',
  'html',
  'json',
  'zip',
  'txt',
  'csv',
]);

/**
 * Email addresses, found by scanning outwards from each '@' (at most 64
 * characters of local part, 253 of domain): linear in the text, whatever it is.
 */
export function findEmails(scan: Scan): Found[] {
  const text = scan.text;
  const out: Found[] = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let s = at;
    while (s > 0 && at - s <= 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    if (at - s > 64) continue;
    while (s < at && (text.charCodeAt(s) === 46 || text.charCodeAt(s) === 45)) s++;
    if (s === at || text.charCodeAt(at - 1) === 46) continue;
    // Domain: labels of [A-Za-z0-9-], 1..63 characters, separated by single dots.
    let i = at + 1;
    let end = -1;
    let labels = 0;
    while (i - at <= 253) {
      const ls = i;
      while (i < text.length && i - ls < 64 && isLabelChar(text.charCodeAt(i))) i++;
      const len = i - ls;
      if (len === 0 || len > 63 || text.charCodeAt(ls) === 45 || text.charCodeAt(i - 1) === 45) break;
      labels++;
      if (labels >= 2) {
        let alpha = len >= 2;
        for (let k = ls; alpha && k < i; k++) alpha = isAlpha(text.charCodeAt(k));
        if (alpha && !FILE_EXTENSIONS.has(text.slice(ls, i).toLowerCase())) end = i;
      }
      if (text.charCodeAt(i) === 46 && i + 1 < text.length && isLabelChar(text.charCodeAt(i + 1))) i++;
      else break;
    }
    if (end < 0) continue;
    out.push({ start: s, end, confidence: 0.9 });
    at = end - 1;
  }
  return out;
}

export const emailRecognizer: Recognizer = {
  mayMatch: (p) => p.at,
  id: 'email',
  category: 'email',
  method:
    "scan around each '@': dot-atom local part (≤ 64 chars; letters of any script, RFC 6531) + dotted domain with an alphabetic top-level domain",
  pattern: '[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}',
  confidence: 0.9,
  context: { de: ['e-mail', 'email', 'mail', 'kontakt', 'adresse'], en: ['email', 'e-mail', 'mail', 'contact', 'address'] },
  find: findEmails,
};
