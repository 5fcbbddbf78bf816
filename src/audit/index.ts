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
export { type AuditEntry, type AuditRecord, REDACTED, redactText, redactedJson } from './entry.js';
export {
  decodeBody,
  encodeSegment,
  GENESIS,
  HASH_BYTES,
  recordHash,
  Segment,
  SegmentWriter,
  segmentKey,
  segmentKeyId,
} from './record-codec.js';
