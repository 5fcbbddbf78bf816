import { Audit, type AuditQuery } from '../../audit/index.js';
import { ThemisError } from '../../errors.js';
import type { ServiceHost } from '../../kernel/index.js';
import { boolParam, intParam, stringParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { RouteSpec } from '../router.js';

/** A time query parameter: epoch milliseconds or ISO 8601 (the contract allows both). */
export function timeParam(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  const ms = /^-?\d{1,16}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new ThemisError(
      'VALIDATION_FAILED',
      `query parameter "${name}" must be epoch milliseconds or an ISO 8601 time, got "${raw.slice(0, 40)}"`,
      {
        details: { field: name },
      },
    );
  return ms;
}

/** The filters of GET /api/audit and its CSV export (the contract's, plus `user_id`). */
export function auditFilters(q: URLSearchParams): Omit<AuditQuery, 'page' | 'pageSize'> {
  const startMs = timeParam(q, 'start');
  const endMs = timeParam(q, 'end');
  if (startMs !== undefined && endMs !== undefined && startMs > endMs)
    throw new ThemisError('VALIDATION_FAILED', 'query parameter "start" is after "end"', { details: { field: 'start' } });
  const eq: AuditQuery['eq'] = {};
  const str = (name: string) => stringParam(q, name, 1024) || undefined;
  const user = str('user');
  const userId = str('user_id');
  const action = str('action');
  const entityType = str('entity_type');
  const entityId = str('entity_id');
  if (user !== undefined) eq.user = user;
  if (userId !== undefined) eq.userId = userId;
  if (action !== undefined) eq.action = action;
  if (entityType !== undefined) eq.entityType = entityType;
  if (entityId !== undefined) eq.entityId = entityId;
  const success = q.get('success');
  if (success !== null && success !== '') eq.success = boolParam(q, 'success', true);
  return { ...(startMs !== undefined ? { startMs } : {}), ...(endMs !== undefined ? { endMs } : {}), eq };
}

/** Audit & Compliance (contract section): the log, newest first, and its hash-chain check (docs/audit.md). */
export function auditRoutes(db: ServiceHost): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/api/audit',
      rateLimit: 'audit',
      handler: async (req) => {
        const q = req.query;
        const filters = auditFilters(q);
        const page = intParam(q, 'page', { min: 1, max: 1_000_000, fallback: 1 });
        const pageSize = intParam(q, 'page_size', { min: 1, max: 1000, fallback: 100 });
        return { json: await db.get(Audit).query({ ...filters, page, pageSize }) };
      },
    },
    {
      method: 'GET',
      path: '/api/audit/verify',
      rateLimit: 'audit',
      handler: async () => ({ json: await db.get(Audit).verify() }),
    },
  ];
}

export const auditArea: RouteArea = { name: 'audit', routes: (ctx) => auditRoutes(ctx.db) };
