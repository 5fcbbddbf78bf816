export { Audit } from './module.js';
export { CSV_COLUMNS, csvHeader, csvRows, csvSafeText, csvUnescapeText } from './csv.js';
export {
  AuditLog,
  AUDIT_FILTERS,
  type AuditFilterField,
  type AuditLogOptions,
  type AuditPage,
  type AuditQuery,
  type VerifyResult,
} from './audit-log.js';
export {
  type AuditEntry,
  type AuditRecord,
  type StoredEntry,
  GENESIS_HASH,
  REDACTED,
  canonical,
  chainHash,
  parseStored,
  storedText,
  storedTimeMs,
  redactText,
  redactedJson,
} from './entry.js';
