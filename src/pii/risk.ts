import type { PiiMatch } from './classifier/index.js';

export type RiskLevel = 'none' | 'low' | 'medium' | 'high';

/** Categories that identify a person directly, or put one at financial risk, on their own. */
const FINANCIAL = new Set(['iban', 'credit_card']);
/** Categories that point at one person (alone: medium; with a name: high). */
const PERSONAL = new Set(['name', 'email', 'phone', 'address', 'date_of_birth']);
/** Attributes that, next to a name, make a text identify a person. */
const IDENTIFYING = new Set(['email', 'phone', 'address', 'date_of_birth']);

/**
 * The risk level of a text's matches (docs/pii.md, "Risk level"):
 * - `high`: a bank account or card number (iban, credit_card); or a name
 *   together with an email, phone, address or date of birth; or three or
 *   more different personal categories.
 * - `medium`: any other personal category (name, email, phone, address,
 *   date_of_birth).
 * - `low`: only ip_address or custom categories.
 * - `none`: no match.
 */
export function riskLevel(matches: readonly PiiMatch[]): RiskLevel {
  if (matches.length === 0) return 'none';
  const cats = new Set(matches.map((m) => m.category));
  if ([...cats].some((c) => FINANCIAL.has(c))) return 'high';
  const personal = [...cats].filter((c) => PERSONAL.has(c));
  if (cats.has('name') && personal.some((c) => IDENTIFYING.has(c))) return 'high';
  if (personal.length >= 3) return 'high';
  if (personal.length > 0) return 'medium';
  return 'low';
}
