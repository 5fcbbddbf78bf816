import type { components } from '../api/types.js';
import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Engine, keyspace, WriteBatch } from '../storage/index.js';
import { BUILTIN_CATEGORIES, Classifier, LANGUAGES, type RuleConfig, RuleConfigError } from './classifier/index.js';
import type { VaultKeys } from './master-key.js';
import { Policies } from './policies.js';
import { outsideTokens, replaceMatches } from './rewrite.js';
import { riskLevel } from './risk.js';
import { PseudonymBatch, Vault } from './vault.js';

const ks = keyspace('pii');
/** The rule configuration (PUT /api/classify/rules): 'r' -> JSON RuleConfig. */
const RULES = Buffer.from('r');

export type ClassifyRequest = components['schemas']['ClassifyRequest'];
export type ClassifyResponse = components['schemas']['ClassifyResponse'];
export type ClassifyRules = components['schemas']['ClassifyRulesResponse'];
export type RulesRequest = components['schemas']['ClassifyRulesRequest'];
export type PseudonymizeRequest = components['schemas']['PseudonymizeRequest'];
export type PseudonymizeResponse = components['schemas']['PseudonymizeResponse'];

/** What the compliance report says of PII (figures, no values). */
export interface PiiFacts {
  /** Values the vault holds (active and soft-deleted). */
  records: number;
  shredded: number;
  soft_deleted: number;
  policies: number;
  pseudonymization_active: boolean;
  /** Vault values are always encrypted (AES-256-GCM, per-value data keys). */
  encryption_enabled: true;
  key_source: string;
  /** Matches counted in writes to `detect` tables, per table. */
  detected_in_writes: Record<string, { documents: number; matches: Record<string, number> }>;
}

/**
 * The PII module's service (docs/pii.md): classification with configurable
 * rules, the encrypted pseudonymization vault, and table policies.
 */
export class PiiService {
  private current: Classifier;

  private constructor(
    private readonly engine: Engine,
    readonly vault: Vault,
    private ruleConfig: RuleConfig,
    classifier: Classifier,
    private readonly maxTextBytes: number,
    readonly policies: Policies,
  ) {
    this.current = classifier;
  }

  static async open(engine: Engine, keys: VaultKeys, log: Logger, opts: { maxTextBytes: number }): Promise<PiiService> {
    const vault = await Vault.open(engine, keys, log);
    const raw = await engine.get(ks, RULES);
    let config: RuleConfig = raw === undefined ? { builtin: {}, custom: [] } : (JSON.parse(raw.toString('utf8')) as RuleConfig);
    let classifier: Classifier | undefined;
    // A stored rule this version refuses (a built-in renamed, say) is dropped with a warning, not fatal.
    for (;;) {
      try {
        classifier = new Classifier(config);
        break;
      } catch (e) {
        if (!(e instanceof RuleConfigError)) throw e;
        log.warn('a stored classification rule is not valid here and is ignored', { rule: e.ruleId, reason: e.message });
        const { [e.ruleId]: _gone, ...builtin } = config.builtin;
        config = { builtin, custom: config.custom.filter((r) => r.id !== e.ruleId) };
      }
    }
    let s: PiiService | undefined;
    const policies = await Policies.open(engine, vault, () => s!.current);
    s = new PiiService(engine, vault, config, classifier, opts.maxTextBytes, policies);
    return s;
  }

  get classifier(): Classifier {
    return this.current;
  }

  /** Every category a request may name: the built-ins and those of custom rules. */
  categories(): Set<string> {
    return new Set<string>([...BUILTIN_CATEGORIES, ...this.ruleConfig.custom.map((r) => r.category)]);
  }

  classify(req: ClassifyRequest): ClassifyResponse {
    this.checkText(req.text);
    const matches = this.current.classify(req.text, this.options(req));
    const positions = req.include_positions !== false;
    return {
      contains_pii: matches.length > 0,
      matches: matches.map((m) =>
        positions
          ? { category: m.category, value: m.value, confidence: m.confidence, start_pos: m.start, end_pos: m.end }
          : { category: m.category, value: m.value, confidence: m.confidence },
      ),
      summary: {
        total_matches: matches.length,
        categories_found: [...new Set(matches.map((m) => m.category))],
        risk_level: riskLevel(matches),
      },
    };
  }

  rules(): ClassifyRules {
    return {
      rules: this.current.rules(),
      nlp_enabled: false,
      nlp_model: null,
      name_recognition: 'gazetteers (German and English first and last names) with surname shape, honorifics and context words',
      supported_languages: [...LANGUAGES],
    };
  }

  /** Replace the rule configuration (built-ins switched by id, custom rules); persisted before it applies. */
  async putRules(req: RulesRequest): Promise<ClassifyRules> {
    const config: RuleConfig = { builtin: {}, custom: [] };
    const seen = new Set<string>();
    for (const r of req.rules) {
      if (seen.has(r.id)) throw invalid(`rules: rule ${r.id} is listed twice`);
      seen.add(r.id);
      if (r.pattern === undefined) {
        if (r.category !== undefined || r.confidence !== undefined || r.case_insensitive !== undefined || r.context !== undefined)
          throw invalid(`rules: ${r.id} has no pattern: a built-in rule can only be enabled or disabled`);
        config.builtin[r.id] = { enabled: r.enabled ?? true };
      } else {
        if (r.category === undefined) throw invalid(`rules: custom rule ${r.id} needs a category`);
        config.custom.push({
          id: r.id,
          category: r.category,
          pattern: r.pattern,
          confidence: r.confidence ?? 0.8,
          enabled: r.enabled ?? true,
          ...(r.case_insensitive !== undefined ? { case_insensitive: r.case_insensitive } : {}),
          ...(r.context !== undefined ? { context: r.context } : {}),
        });
      }
    }
    let classifier: Classifier;
    try {
      classifier = new Classifier(config);
    } catch (e) {
      if (e instanceof RuleConfigError) throw invalid(`rules: ${e.ruleId}: ${e.message}`);
      throw e;
    }
    await this.engine.commit(new WriteBatch().put(ks, RULES, Buffer.from(JSON.stringify(config), 'utf8')));
    this.ruleConfig = config;
    this.current = classifier;
    return this.rules();
  }

  /** Replace every detected value of `text` by its token, storing new values in the vault (durable before the answer). */
  async pseudonymize(req: PseudonymizeRequest): Promise<PseudonymizeResponse> {
    this.checkText(req.text);
    const scope = req.scope ?? 'default';
    const matches = outsideTokens(req.text, this.current.classify(req.text, this.options(req)));
    const pseudonyms = new PseudonymBatch(this.vault, scope);
    const out = replaceMatches(req.text, matches, pseudonyms.of);
    await this.vault.store(pseudonyms.fresh);
    return { text: out.text, replacements: out.replacements, scope };
  }

  facts(): PiiFacts {
    const n = this.vault.size;
    return {
      records: n.active + n.soft_deleted,
      shredded: n.shredded,
      soft_deleted: n.soft_deleted,
      policies: this.policies.size,
      pseudonymization_active: this.policies.pseudonymizing || n.active + n.soft_deleted > 0,
      encryption_enabled: true,
      key_source: this.vault.keys.source,
      detected_in_writes: this.policies.detections(),
    };
  }

  close(): void {
    this.policies.close();
  }

  private options(req: { language?: 'de' | 'en' | 'auto'; categories?: string[] }) {
    if (req.categories !== undefined) {
      const known = this.categories();
      for (const c of req.categories)
        if (!known.has(c)) throw invalid(`categories: unknown category ${c} (known: ${[...known].join(', ')})`, 'categories');
    }
    return { language: req.language ?? 'auto', ...(req.categories ? { categories: req.categories } : {}) };
  }

  private checkText(text: string): void {
    if (text.length > this.maxTextBytes || (text.length * 3 > this.maxTextBytes && Buffer.byteLength(text, 'utf8') > this.maxTextBytes))
      throw new ThemisError(
        'PAYLOAD_TOO_LARGE',
        `text is longer than ${this.maxTextBytes} bytes (THEMIS_CLASSIFY_MAX_BYTES); classify it in parts`,
      );
  }
}

function invalid(message: string, field = 'rules'): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}
