import type { ServiceHost } from '../../kernel/index.js';
import { Llm } from '../../llm/index.js';
import { enumParam, intParam, stringParam, timeParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { AuditedRequest, RouteSpec } from '../router.js';
import { callerOf, tablesOf } from '../types.js';
import { withBody } from '../typed-body.js';

/** The audit subject of an interaction request: its id (of the path, or the one a create answered with). */
const interactionEntry = (r: AuditedRequest) => ({
  entityType: 'llm_interaction',
  entityId: (r.params.id ?? (r.reply as { json?: { id?: string } } | undefined)?.json?.id ?? null)?.slice(0, 256) ?? null,
});

/** LLM Integration (contract) and its additions: filters, order, delete (docs/llm.md). */
export function llmRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/llm/interaction',
      body: 'LlmInteractionRequest',
      handler: async (req) => ({ status: 201, json: await db.get(Llm).create(req.body, callerOf(req)) }),
      audit: interactionEntry,
    }),
    {
      method: 'GET',
      path: '/llm/interaction',
      handler: async (req) => {
        const after = stringParam(req.query, 'after', 256);
        const model = stringParam(req.query, 'model', 256);
        const sessionId = stringParam(req.query, 'session_id', 256);
        const start = timeParam(req.query, 'start');
        const end = timeParam(req.query, 'end');
        return {
          json: await db.get(Llm).list(
            {
              limit: intParam(req.query, 'limit', { min: 1, max: 1000, fallback: 50 }),
              order: enumParam(req.query, 'order', ['desc', 'asc'], 'desc'),
              ...(after !== '' ? { after } : {}),
              ...(model !== '' ? { model } : {}),
              ...(sessionId !== '' ? { sessionId } : {}),
              ...(start !== undefined ? { start } : {}),
              ...(end !== undefined ? { end } : {}),
            },
            tablesOf(req),
          ),
        };
      },
    },
    {
      method: 'GET',
      path: '/llm/interaction/:id',
      handler: (req) => ({ json: db.get(Llm).read(req.params.id!, tablesOf(req)) }),
      audit: interactionEntry,
    },
    {
      method: 'DELETE',
      path: '/llm/interaction/:id',
      handler: async (req) => ({ json: await db.get(Llm).delete(req.params.id!, callerOf(req)) }),
      audit: interactionEntry,
    },
  ];
}

export const llmArea: RouteArea = { name: 'llm', routes: (ctx) => llmRoutes(ctx.db) };
