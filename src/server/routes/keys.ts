import { redactedJson } from '../../audit/index.js';
import type { ServiceHost } from '../../kernel/index.js';
import { type ApiKeyInfo, ApiKeys } from '../../security/index.js';
import { boolParam, intParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { AuditedRequest, RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** A key as the audit log shows it: what identifies and empowers it, never its secret. */
const shown = (k: Partial<ApiKeyInfo> & { name?: string }) =>
  redactedJson({ name: k.name, permissions: k.permissions, expires_at: k.expires_at, rate_limit: k.rate_limit, metadata: k.metadata });

/**
 * API Key Management (contract section): admin only. Only the create answer
 * carries the secret. The audit entries of key changes carry the key before
 * and after (never the secret).
 */
export function keyRoutes(db: ServiceHost): RouteSpec[] {
  /** The key as it was before a request changed it (for that request's audit entry). */
  const before = new WeakMap<object, ApiKeyInfo>();
  const keep = (req: object, keyId: string) => {
    try {
      before.set(req, db.get(ApiKeys).get(keyId));
    } catch {
      // unknown key: the request answers 404 itself
    }
  };
  const changed = (r: AuditedRequest) => {
    const old = before.get(r);
    const reply = r.reply as { json?: ApiKeyInfo } | undefined;
    return {
      entityType: 'api_key',
      entityId: r.params.keyId ?? null,
      oldValue: old ? shown(old) : null,
      newValue: reply?.json && r.status < 300 ? shown(reply.json) : null,
    };
  };
  return [
    {
      // Who the caller is (any valid credential): the web console signs in with it and shows what the key may do.
      method: 'GET',
      path: '/api/whoami',
      handler: (req) => {
        const p = req.principal!;
        return { json: { id: p.id, kind: p.kind, name: p.name, permissions: [...p.permissions].sort() } };
      },
    },
    withBody({
      method: 'POST',
      path: '/api/keys',
      body: 'ApiKeyCreateRequest',
      handler: async (req) => ({ status: 201, json: await db.get(ApiKeys).create(req.body) }),
      audit: (r) => {
        const created = (r.reply as { json?: { keyId?: string } } | undefined)?.json;
        const body = r.body as Partial<ApiKeyInfo> | undefined;
        return { entityType: 'api_key', entityId: created?.keyId ?? null, newValue: body ? shown(body) : null };
      },
    }),
    {
      method: 'GET',
      path: '/api/keys',
      handler: (req) => {
        const q = req.query;
        const includeRevoked = boolParam(q, 'include_revoked', false);
        const page = intParam(q, 'page', { min: 1, max: 1_000_000, fallback: 1 });
        const pageSize = intParam(q, 'page_size', { min: 1, max: 100, fallback: 50 });
        return { json: db.get(ApiKeys).list({ includeRevoked, page, pageSize }) };
      },
    },
    {
      method: 'GET',
      path: '/api/keys/:keyId',
      handler: (req) => ({ json: db.get(ApiKeys).get(req.params.keyId!) }),
    },
    withBody({
      method: 'PUT',
      path: '/api/keys/:keyId',
      body: 'ApiKeyUpdateRequest',
      handler: async (req) => {
        keep(req, req.params.keyId!);
        return { json: await db.get(ApiKeys).update(req.params.keyId!, req.body) };
      },
      audit: changed,
    }),
    {
      method: 'DELETE',
      path: '/api/keys/:keyId',
      handler: async (req) => {
        keep(req, req.params.keyId!);
        return { json: await db.get(ApiKeys).revoke(req.params.keyId!) };
      },
      audit: (r) => ({ ...changed(r), newValue: null }),
    },
  ];
}

export const keysArea: RouteArea = { name: 'keys', routes: (ctx) => keyRoutes(ctx.db) };
