/**
 * The PII classifier: built-in recognizers (email, phone, IBAN, credit card,
 * name, address, IP address, date of birth) plus custom RE2 rules, a
 * Presidio-style context enhancer and overlap resolution. How each category is
 * recognized, the precedence and the measured quality: docs/pii-classifier-quality.md.
 */
import { englishAddressRecognizer, germanAddressRecognizer } from './address.js';
import { creditCardRecognizer } from './credit-card.js';
import { type CompiledCustom, CATEGORY_RE, compileCustom, findCustom } from './custom.js';
import { dateOfBirthRecognizer } from './dob.js';
import { emailRecognizer } from './email.js';
import { gazetteers } from './gazetteers.js';
import { ibanRecognizer } from './iban.js';
import { ipAddressRecognizer } from './ip.js';
import { contextNameRecognizer, gazetteerNameRecognizer, titledNameRecognizer } from './names.js';
import { phoneRecognizer } from './phone.js';
import { type Recognizer, type TextProfile, textProfile } from './recognizer.js';
import { CONTEXT_WINDOW_WORDS, type ContextMatcher, contextHit, contextMatcher, enhance, Scan } from './text.js';
import type { ClassifyOptions, Language, PiiMatch, RuleConfig, RuleInfo } from './types.js';
import { LANGUAGES, RuleConfigError } from './types.js';

export * from './types.js';

/** The built-in rules, in the stable order rules() lists them. */
export const BUILTIN_RULES: readonly Recognizer[] = [
  emailRecognizer,
  phoneRecognizer,
  ibanRecognizer,
  creditCardRecognizer,
  titledNameRecognizer,
  gazetteerNameRecognizer,
  contextNameRecognizer,
  germanAddressRecognizer,
  englishAddressRecognizer,
  ipAddressRecognizer,
  dateOfBirthRecognizer,
];

const BUILTIN_BY_ID = new Map(BUILTIN_RULES.map((r) => [r.id, r]));
/** Categories with several built-in rules: config.builtin may switch them all with the category as id (a rule id entry wins). */
const CATEGORY_ALIASES = new Set(['name', 'address']);

/**
 * Overlap precedence, most specific first: checksum-validated values, then
 * structured ones, custom rules, phone, and last the heuristic address and
 * name. Of two overlapping matches the one of the more specific category
 * stays; within a category, the longer, then the more confident.
 */
export const PRECEDENCE: readonly string[] = [
  'iban',
  'credit_card',
  'email',
  'ip_address',
  'date_of_birth',
  '*custom*',
  'phone',
  'address',
  'name',
];

function rank(category: string, builtin: boolean): number {
  const i = builtin ? PRECEDENCE.indexOf(category) : -1;
  return i >= 0 ? i : PRECEDENCE.indexOf('*custom*');
}

interface ActiveRule {
  id: string;
  category: string;
  builtin: boolean;
  rank: number;
  /** Context matchers for de, en. */
  context: Record<Language, ContextMatcher>;
  languages: readonly Language[];
  mayMatch: ((p: TextProfile) => boolean) | undefined;
  find(scan: Scan): { start: number; end: number; confidence: number }[];
}

interface Candidate {
  rule: ActiveRule;
  start: number;
  end: number;
  confidence: number;
}

export class Classifier {
  private readonly info: RuleInfo[];
  private readonly active: ActiveRule[];

  /**
   * Throws RuleConfigError naming the rule for: an unknown built-in id in
   * config.builtin, a custom id colliding with a built-in id or another custom
   * rule's, a category not /^[a-z][a-z0-9_]{0,31}$/, a pattern longer than
   * 1000 characters, not compilable by RE2 or matching the empty string, a
   * confidence outside [0, 1].
   */
  constructor(config?: RuleConfig) {
    const builtinCfg = config?.builtin ?? {};
    for (const id of Object.keys(builtinCfg)) {
      if (!BUILTIN_BY_ID.has(id) && !CATEGORY_ALIASES.has(id)) {
        throw new RuleConfigError(
          id,
          `unknown built-in rule '${id}' (built-in rules: ${BUILTIN_RULES.map((r) => r.id).join(', ')}; or name, address for all rules of the category)`,
        );
      }
    }
    this.info = [];
    this.active = [];
    for (const r of BUILTIN_RULES) {
      const enabled = builtinCfg[r.id]?.enabled ?? builtinCfg[r.category]?.enabled ?? true;
      this.info.push({
        id: r.id,
        category: r.category,
        ...(r.pattern !== undefined ? { pattern: r.pattern } : {}),
        method: r.method,
        enabled,
        confidence: r.confidence,
        builtin: true,
        context: [...new Set([...r.context.de, ...r.context.en])],
      });
      if (!enabled) continue;
      this.active.push({
        id: r.id,
        category: r.category,
        builtin: true,
        rank: rank(r.category, true),
        context: { de: contextMatcher(r.context.de), en: contextMatcher(r.context.en) },
        languages: r.languages ?? LANGUAGES,
        mayMatch: r.mayMatch?.bind(r),
        find: (scan) => r.find(scan),
      });
    }
    const seen = new Set<string>();
    for (const rule of config?.custom ?? []) {
      const id = rule.id;
      if (typeof id !== 'string' || id === '') throw new RuleConfigError(String(id), 'custom rule without an id');
      if (BUILTIN_BY_ID.has(id)) throw new RuleConfigError(id, `custom rule '${id}' has the id of a built-in rule`);
      if (seen.has(id)) throw new RuleConfigError(id, `custom rule id '${id}' is used twice`);
      seen.add(id);
      if (typeof rule.category !== 'string' || !CATEGORY_RE.test(rule.category)) {
        throw new RuleConfigError(id, `rule '${id}': category '${String(rule.category)}' must match ^[a-z][a-z0-9_]{0,31}$`);
      }
      if (typeof rule.confidence !== 'number' || !(rule.confidence >= 0 && rule.confidence <= 1)) {
        throw new RuleConfigError(id, `rule '${id}': confidence ${String(rule.confidence)} is not in [0, 1]`);
      }
      const compiled: CompiledCustom = compileCustom(rule);
      const enabled = rule.enabled !== false;
      const context = rule.context ?? [];
      this.info.push({
        id,
        category: rule.category,
        pattern: rule.pattern,
        enabled,
        confidence: rule.confidence,
        builtin: false,
        ...(context.length > 0 ? { context: [...context] } : {}),
      });
      if (!enabled) continue;
      const cm = contextMatcher(context);
      this.active.push({
        id,
        category: rule.category,
        builtin: false,
        rank: rank(rule.category, false),
        context: { de: cm, en: cm },
        languages: LANGUAGES,
        mayMatch: undefined,
        find: (scan) => findCustom(compiled, scan),
      });
    }
  }

  /** Every rule (built-ins first, in a stable order, then custom), with its effective enabled state. */
  rules(): RuleInfo[] {
    return this.info.map((r) => ({ ...r, ...(r.context !== undefined ? { context: [...r.context] } : {}) }));
  }

  /**
   * Matches sorted by start; of overlapping matches only the most specific
   * stays (PRECEDENCE). `categories` filters the resolved matches (so a
   * category left out still shadows what it overlaps). Pure and synchronous.
   */
  classify(text: string, opts?: ClassifyOptions): PiiMatch[] {
    const language = opts?.language ?? 'auto';
    const de = language === 'auto' || language === 'de';
    const en = language === 'auto' || language === 'en';
    if (text.length === 0) return [];
    const scan = new Scan(text, de, en);
    const profile = textProfile(text);
    const candidates: Candidate[] = [];
    for (const rule of this.active) {
      if (!rule.languages.some((l) => (l === 'de' ? de : en))) continue;
      if (rule.mayMatch !== undefined && !rule.mayMatch(profile)) continue;
      for (const f of rule.find(scan)) {
        if (f.end <= f.start) continue;
        const window = scan.wordsBefore(f.start, CONTEXT_WINDOW_WORDS);
        const hit = (de && contextHit(window, rule.context.de)) || (en && contextHit(window, rule.context.en));
        candidates.push({ rule, start: f.start, end: f.end, confidence: enhance(f.confidence, hit) });
      }
    }
    const kept = resolveOverlaps(candidates, text.length);
    const only = opts?.categories !== undefined ? new Set(opts.categories) : undefined;
    const out: PiiMatch[] = [];
    for (const c of kept) {
      if (only !== undefined && !only.has(c.rule.category)) continue;
      out.push({
        category: c.rule.category,
        value: text.slice(c.start, c.end),
        confidence: c.confidence,
        start: c.start,
        end: c.end,
        rule: c.rule.id,
      });
    }
    return out;
  }
}

/** Greedy by precedence: each candidate stays unless it overlaps one that stayed before it. */
function resolveOverlaps(candidates: Candidate[], length: number): Candidate[] {
  candidates.sort(
    (a, b) => a.rule.rank - b.rule.rank || b.end - b.start - (a.end - a.start) || b.confidence - a.confidence || a.start - b.start,
  );
  // Occupied offsets; each candidate checks and marks only its own span, so the
  // total work is the summed length of the candidates.
  const taken = new Uint8Array(length);
  const kept: Candidate[] = [];
  for (const c of candidates) {
    let free = true;
    for (let i = c.start; i < c.end && free; i++) if (taken[i] === 1) free = false;
    if (!free) continue;
    taken.fill(1, c.start, c.end);
    kept.push(c);
  }
  kept.sort((a, b) => a.start - b.start || a.end - b.end);
  return kept;
}

/** Loads the name gazetteers now rather than on the first classify call (e.g. at server start). */
export function warmUp(): void {
  gazetteers();
}
