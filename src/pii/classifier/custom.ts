import { RE2JS } from 're2js';
import type { Found, Scan } from './text.js';
import { type CustomRule, RuleConfigError } from './types.js';

export const MAX_PATTERN_LENGTH = 1000;
export const CATEGORY_RE = /^[a-z][a-z0-9_]{0,31}$/;

/** A custom rule, compiled (RE2: linear time in the text, whatever the pattern). */
export interface CompiledCustom {
  rule: CustomRule;
  re: RE2JS;
}

/** Validates and compiles a custom rule; throws RuleConfigError naming it. */
export function compileCustom(rule: CustomRule): CompiledCustom {
  const id = rule.id;
  if (typeof rule.pattern !== 'string') throw new RuleConfigError(id, `rule '${id}': pattern must be a string`);
  if (rule.pattern.length > MAX_PATTERN_LENGTH) {
    throw new RuleConfigError(id, `rule '${id}': pattern is ${rule.pattern.length} characters long (at most ${MAX_PATTERN_LENGTH})`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(rule.pattern, rule.case_insensitive === true ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    throw new RuleConfigError(id, `rule '${id}': invalid pattern (RE2 syntax; backreferences and lookaround are not supported): ${reason}`);
  }
  if (re.matcher('').find()) throw new RuleConfigError(id, `rule '${id}': pattern matches the empty string`);
  return { rule, re };
}

/** All non-overlapping matches, leftmost first; empty matches are skipped. Offsets are UTF-16 code units. */
export function findCustom(c: CompiledCustom, scan: Scan): Found[] {
  const out: Found[] = [];
  const m = c.re.matcher(scan.text);
  let pos = 0;
  while (pos <= scan.text.length && m.find(pos)) {
    const s = m.start();
    const e = m.end();
    if (e > s) {
      out.push({ start: s, end: e, confidence: c.rule.confidence });
      pos = e;
    } else pos = s + 1;
  }
  return out;
}
