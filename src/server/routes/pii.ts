import type { ServiceHost } from '../../kernel/index.js';
import { Pii, tokenOf } from '../../pii/index.js';
import { enumParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { AuditedRequest, RouteSpec } from '../router.js';
import { withBody } from '../typed-body.js';

/** The audit subject of a vault request: the uuid (a pseudonym), never the value. */
const vaultEntry = (r: AuditedRequest) => ({ entityType: 'pii', entityId: r.params.uuid?.slice(0, 64) ?? null });
const policyEntry = (r: AuditedRequest) => ({ entityType: 'pii_policy', entityId: r.params.table ?? null });
/** Classification and pseudonymization: what was asked is the text itself, which the audit log must not hold. */
const textEntry = () => ({ entityType: 'pii', entityId: null });

/** Classification (contract: Classification & Reports), the vault (PII Operations) and table policies (docs/pii.md). */
export function piiRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/api/classify',
      body: 'ClassifyRequest',
      handler: (req) => ({ json: db.get(Pii).classify(req.body) }),
      audit: textEntry,
    }),
    { method: 'GET', path: '/api/classify', handler: () => ({ json: db.get(Pii).rules() }) },
    withBody({
      method: 'PUT',
      path: '/api/classify/rules',
      body: 'ClassifyRulesRequest',
      handler: async (req) => ({ json: await db.get(Pii).putRules(req.body) }),
      audit: () => ({ entityType: 'classify_rules', entityId: null }),
    }),
    withBody({
      method: 'POST',
      path: '/pii/pseudonymize',
      body: 'PseudonymizeRequest',
      handler: async (req) => ({ json: await db.get(Pii).pseudonymize(req.body) }),
      audit: textEntry,
    }),
    withBody({
      method: 'POST',
      path: '/pii/lookup',
      body: 'PiiLookupRequest',
      handler: (req) => {
        const { category, value } = req.body;
        const scope = req.body.scope ?? 'default';
        const found = db.get(Pii).vault.find(category, value, scope);
        return { json: { ...found, category, scope, token: tokenOf(category, found.uuid) } };
      },
      // The subject is the value itself: the entry names the uuid found, never the value.
      audit: (r) => ({ entityType: 'pii', entityId: (r.reply as { json?: { uuid?: string } } | undefined)?.json?.uuid ?? null }),
    }),
    { method: 'GET', path: '/pii/stats', handler: () => ({ json: db.get(Pii).facts() }) },
    { method: 'GET', path: '/pii/policy', handler: () => ({ json: { policies: db.get(Pii).policies.list() } }) },
    {
      method: 'GET',
      path: '/pii/policy/:table',
      handler: (req) => ({ json: db.get(Pii).policies.get(req.params.table!) }),
      audit: policyEntry,
    },
    withBody({
      method: 'PUT',
      path: '/pii/policy/:table',
      body: 'PiiPolicyRequest',
      handler: async (req) => {
        const s = db.get(Pii);
        return { json: await s.policies.put(req.params.table!, req.body, s.categories()) };
      },
      audit: policyEntry,
    }),
    {
      method: 'DELETE',
      path: '/pii/policy/:table',
      handler: async (req) => ({ json: await db.get(Pii).policies.remove(req.params.table!) }),
      audit: policyEntry,
    },
    {
      method: 'GET',
      path: '/pii/:uuid',
      handler: async (req) => ({ json: await db.get(Pii).vault.reveal(req.params.uuid!) }),
      audit: vaultEntry,
    },
    {
      method: 'DELETE',
      path: '/pii/:uuid',
      handler: async (req) => {
        const uuid = req.params.uuid!;
        const mode = enumParam(req.query, 'mode', ['soft', 'hard'] as const, 'soft');
        const vault = db.get(Pii).vault;
        if (mode === 'soft') return { json: { status: 'ok', mode, uuid, updated: (await vault.softDelete(uuid)).updated } };
        return { json: { status: 'ok', mode, uuid, deleted: (await vault.hardDelete(uuid)).deleted } };
      },
      audit: vaultEntry,
    },
    {
      method: 'POST',
      path: '/pii/:uuid/restore',
      handler: async (req) => ({
        json: { status: 'ok', uuid: req.params.uuid!, restored: (await db.get(Pii).vault.restore(req.params.uuid!)).restored },
      }),
      audit: vaultEntry,
    },
  ];
}

export const piiArea: RouteArea = { name: 'pii', routes: (ctx) => piiRoutes(ctx.db) };
