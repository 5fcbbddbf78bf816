import type { components } from '../../api/types.js';

/** The categories the classifier knows without configuration (docs/pii.md). */
export const BUILTIN_CATEGORIES = ['email', 'phone', 'iban', 'credit_card', 'name', 'address', 'ip_address', 'date_of_birth'] as const;
export type BuiltinCategory = (typeof BUILTIN_CATEGORIES)[number];

/** Languages with their own gazetteers and context words; `auto` runs both. */
export const LANGUAGES = ['de', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** One detected value. Offsets are UTF-16 code units: `text.slice(start, end) === value`. */
export interface PiiMatch {
  /** A built-in category or a custom rule's category. */
  category: string;
  value: string;
  /** 0..1, two decimals. */
  confidence: number;
  start: number;
  end: number;
  /** Id of the rule that found it. */
  rule: string;
}

/** A rule as GET /api/classify lists it (openapi.yaml `ClassifyRule`). */
export type RuleInfo = components['schemas']['ClassifyRule'];

/** A user-defined rule: an RE2 expression (linear time) for a category. */
export interface CustomRule {
  id: string;
  category: string;
  pattern: string;
  confidence: number;
  enabled: boolean;
  case_insensitive?: boolean;
  context?: string[];
}

/** What PUT /api/classify/rules sets: built-in rules switched on/off by id, and the custom rules. */
export interface RuleConfig {
  builtin: Record<string, { enabled: boolean }>;
  custom: CustomRule[];
}

export interface ClassifyOptions {
  language?: Language | 'auto';
  /** Only these categories (undefined: all enabled ones). */
  categories?: readonly string[];
}

/** A rule configuration the classifier refuses (unknown built-in id, a pattern RE2 cannot compile, ...). */
export class RuleConfigError extends Error {
  constructor(
    readonly ruleId: string,
    message: string,
  ) {
    super(message);
    this.name = 'RuleConfigError';
  }
}
