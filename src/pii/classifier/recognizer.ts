import type { BuiltinCategory, Language } from './types.js';
import type { Found, Scan } from './text.js';

/** A built-in recognizer: one rule of docs/pii-classifier-quality.md. */
export interface Recognizer {
  id: string;
  category: BuiltinCategory;
  /** How it decides, in words (RuleInfo.method). */
  method: string;
  /** Its core regular expression, where it has one (RuleInfo.pattern). */
  pattern?: string;
  /** The confidence of a match without context words. */
  confidence: number;
  /** Context words (Presidio-style enhancer) per language. */
  context: Record<Language, readonly string[]>;
  /** Languages whose text it runs on (default: both). */
  languages?: readonly Language[];
  /**
   * A cheap necessary condition on the text's character profile: when it is
   * false the recognizer cannot find anything and is skipped (most field
   * values of a document need two or three of the eleven recognizers).
   */
  mayMatch?(p: TextProfile): boolean;
  find(scan: Scan): Found[];
}

/** Counts of the characters recognizers need, taken in one pass over the text. */
export interface TextProfile {
  digits: number;
  /** ASCII letters plus every character from U+00C0 on (letters of other scripts, and some symbols). */
  letters: number;
  /** Characters that may start a capitalised word: A-Z, and every character from U+00C0 on. */
  upper: number;
  at: boolean;
  dot: boolean;
  colon: boolean;
}

export function textProfile(text: string): TextProfile {
  let digits = 0;
  let letters = 0;
  let upper = 0;
  let at = false;
  let dot = false;
  let colon = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c >= 97 && c <= 122) letters++;
    else if (c >= 65 && c <= 90) {
      letters++;
      upper++;
    } else if (c >= 0xc0) {
      letters++;
      upper++;
    } else if (c === 64) at = true;
    else if (c === 46) dot = true;
    else if (c === 58) colon = true;
  }
  return { digits, letters, upper, at, dot, colon };
}
