import type { AuditEntry } from '../../src/audit/index.js';

/** An audit entry for tests: a successful GET of `t:1`, with `over` applied. */
export const auditEntry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  id: 1,
  timestamp: '2026-01-02T03:04:05.678Z',
  user: 'u',
  userId: 'k1',
  action: 'GET_ENTITY',
  entityType: 't',
  entityId: 't:1',
  oldValue: null,
  newValue: null,
  success: true,
  statusCode: 200,
  ipAddress: '10.0.0.1',
  sessionId: 'r',
  errorMessage: null,
  seq: null,
  method: 'GET',
  route: '/entities/:key',
  ...over,
});
