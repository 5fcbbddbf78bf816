import { tableOf } from '../access.js';
import { Audit, type AuditLog, type AuditRecord, redactText } from '../audit/index.js';
import type { ServiceHost } from '../kernel/index.js';
import type { Link, ResponseHook, ResponseInfo } from './middleware.js';
import type { AuditSubject } from './router.js';
import type { Reply } from './types.js';

/**
 * Auditing every request (docs/audit.md), as two pieces of the request
 * path:
 *
 * - the `audit` link, after `permission`: it makes the request the origin
 *   of the commits it causes, so a write's entry is in the write's own
 *   batch (the audit module's commit participant);
 * - a response hook: every other request — reads, refusals (401, 403, 404,
 *   429...), failed writes, aborts — is recorded once it is answered,
 *   without the request waiting for it.
 */
export function auditLink(): Link {
  return {
    name: 'audit',
    remoteAddress: true,
    run: (ctx, next) => {
      const r = ctx.matched;
      // GET and HEAD never commit: their entries come from the response hook (no origin to build).
      if (r !== undefined && r.method !== 'GET') {
        const p = ctx.principal;
        ctx.origin = {
          requestId: ctx.requestId,
          action: r.action,
          user: p?.name ?? null,
          userId: p?.id ?? null,
          ipAddress: clientAddress(ctx.remoteAddress),
          method: ctx.method,
          route: r.path,
          successStatus: r.successStatus,
        };
      }
      return next();
    },
  };
}

/**
 * Routes that change state, and access to original PII values: what
 * `THEMIS_AUDIT=writes` records besides committed writes and refused logins.
 */
const WRITE_PERMISSIONS = new Set(['data:write', 'admin', 'pii:reveal', 'pii:delete']);

/** The response hook that records a finished request (unless one of its commits already did), at the audit log's level. */
export function auditHook(db: ServiceHost): ResponseHook {
  return (info) => {
    if (info.origin?.recordedId !== undefined) return;
    let log: AuditLog;
    try {
      log = db.get(Audit);
    } catch {
      return; // storage closed or reopening: nothing to record into
    }
    const level = log.level;
    if (level === 'off') return;
    const r = info.matched;
    if (level === 'writes' && info.status !== 401 && !(r?.permission !== undefined && WRITE_PERMISSIONS.has(r.permission))) return;
    log.record(recordOf(info));
  };
}

/** The entry of a finished request. */
export function recordOf(info: ResponseInfo): AuditRecord {
  const r = info.matched;
  const p = info.principal;
  const status = info.status;
  const subject = r === undefined ? {} : safeSubject(info);
  const action =
    status === 401 ? 'LOGIN_FAILED' : r === undefined ? (status === 404 || status === 405 ? 'UNKNOWN_ROUTE' : 'REQUEST_REFUSED') : r.action;
  return {
    user: p?.name ?? null,
    userId: p?.id ?? null,
    action,
    entityType: subject.entityType ?? (r === undefined ? null : resourceOf(r.path)),
    entityId: subject.entityId ?? (r === undefined ? `${info.method} ${info.path.slice(0, 200)}` : null),
    oldValue: subject.oldValue ?? null,
    newValue: subject.newValue ?? null,
    success: status > 0 && status < 400,
    statusCode: status,
    ipAddress: info.origin?.ipAddress ?? clientAddress(info.remoteAddress),
    sessionId: info.requestId || null,
    errorMessage:
      info.errorMessage === undefined ? (status === 0 ? 'client went away before the answer' : null) : redactText(info.errorMessage),
    seq: null,
    method: info.method,
    route: r?.path ?? null,
  };
}

/** The route's own description, or the defaults; never throws (a hook must not). */
function safeSubject(info: ResponseInfo): AuditSubject {
  try {
    return info.matched!.audit?.(info) ?? defaultSubject(info);
  } catch {
    return {};
  }
}

/**
 * What a request was about, by convention: the path's entity key or key id,
 * the body's entity key, table, transaction id, vector index or start
 * vertex, or the table the reply names (AQL, POST /query).
 */
function defaultSubject(info: ResponseInfo): AuditSubject {
  const p = info.params;
  if (p.key !== undefined) return { entityType: tableOf(p.key), entityId: p.key };
  if (p.keyId !== undefined) return { entityType: 'api_key', entityId: p.keyId };
  const b = info.body !== null && typeof info.body === 'object' ? (info.body as Record<string, unknown>) : undefined;
  if (b !== undefined) {
    if (b.transaction_id !== undefined) return { entityType: 'transaction', entityId: String(b.transaction_id) };
    if (typeof b.key === 'string') return { entityType: tableOf(b.key), entityId: b.key };
    if (typeof b.start_vertex === 'string') return { entityType: tableOf(b.start_vertex), entityId: b.start_vertex };
    if (typeof b.from === 'string') return { entityType: tableOf(b.from), entityId: b.from };
    if (typeof b.table === 'string') return { entityType: b.table, entityId: null };
    if (typeof b.index === 'string') return { entityType: 'vector_index', entityId: b.index };
    if (typeof b.name === 'string' && info.matched!.path.startsWith('/vector/index'))
      return { entityType: 'vector_index', entityId: b.name };
  }
  const reply = info.reply as Reply | undefined;
  const json = reply?.json;
  if (json !== null && typeof json === 'object' && typeof (json as { table?: unknown }).table === 'string')
    return { entityType: (json as { table: string }).table, entityId: null };
  return {};
}

/** The resource kind of a route without a more specific subject: its first path segment (`/changefeed/stream` -> `changefeed`). */
function resourceOf(route: string): string {
  const parts = route.split('/').filter((x) => x !== '' && x !== 'api');
  return parts[0] ?? 'server';
}

/** The peer address as people write it: IPv4-mapped IPv6 (how uWS reports IPv4 peers) as dotted IPv4, zero runs shortened. */
export function clientAddress(raw: string): string | null {
  if (raw === '') return null;
  if (raw.indexOf(':') < 0) return raw; // IPv4 (the HTTP adapter formats mapped addresses so already)
  const t = raw.toLowerCase();
  const mapped = /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(t) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(t);
  if (mapped) {
    const hi = Number.parseInt(mapped[1]!, 16);
    const lo = Number.parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  if (/^(?:0{1,4}:){7}0{0,3}1$/.test(t)) return '::1';
  return t;
}
