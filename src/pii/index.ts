export { BUILTIN_CATEGORIES, Classifier, type PiiMatch } from './classifier/index.js';
export { PII_KEY_FILE, VaultKeys } from './master-key.js';
export { DEFAULT_CLASSIFY_MAX_BYTES, Pii } from './module.js';
export type { DetectionCounts, PolicyInput, PolicyView } from './policies.js';
export { riskLevel, type RiskLevel } from './risk.js';
export { type PiiFacts, PiiService } from './service.js';
export { TOKEN, tokenOf } from './tokens.js';
export type { VaultCounts } from './vault.js';
