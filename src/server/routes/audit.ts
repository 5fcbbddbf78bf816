import { Audit, type AuditEntry, type AuditQuery, csvHeader, csvRows } from '../../audit/index.js';
import { ThemisError } from '../../errors.js';
import type { ServiceHost } from '../../kernel/index.js';
import type { Logger } from '../../log.js';
import { boolParam, intParam, stringParam, timeParam } from '../query-params.js';
import type { RouteArea } from '../route-area.js';
import type { RouteSpec } from '../router.js';
import type { ApiRequest, ResponseStream, StreamReply } from '../types.js';

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
export function auditRoutes(db: ServiceHost, log?: Logger): RouteSpec[] {
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
      path: '/api/audit/export/csv',
      rateLimit: 'audit',
      handler: (req) => csvExport(db, req, log),
    },
    {
      method: 'GET',
      path: '/api/audit/verify',
      rateLimit: 'audit',
      handler: async () => ({ json: await db.get(Audit).verify() }),
    },
  ];
}

/** Rows per CSV chunk: one `write` each (a few tens of KB), so memory stays bounded whatever the export's size. */
const CSV_CHUNK_ROWS = 256;
/** page_size of the export: at most and by default (the contract's 10,000). */
const CSV_MAX_PAGE_SIZE = 10_000;

/** `20261206T091522Z`: a file-name-safe UTC timestamp. */
function fileStamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * GET /api/audit/export/csv: a page (newest first, like GET /api/audit) or,
 * with `all=true`, every matching entry, streamed in chunks with
 * backpressure (docs/audit.md, "CSV export"). Parameters are checked and the
 * first rows read before the status is sent, so a bad request or a storage
 * error is an ordinary JSON error.
 */
async function csvExport(db: ServiceHost, req: ApiRequest, log: Logger | undefined): Promise<StreamReply> {
  const q = req.query;
  const filters = auditFilters(q);
  const all = boolParam(q, 'all', false);
  if (all && (q.has('page') || q.has('page_size')))
    throw new ThemisError('VALIDATION_FAILED', 'query parameter "all" exports every entry: leave out "page" and "page_size"', {
      details: { field: 'all' },
    });
  const page = intParam(q, 'page', { min: 1, max: 1_000_000, fallback: 1 });
  const pageSize = intParam(q, 'page_size', { min: 1, max: CSV_MAX_PAGE_SIZE, fallback: CSV_MAX_PAGE_SIZE });
  const headers: Record<string, string> = {
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="audit-${fileStamp(Date.now())}.csv"`,
    'Cache-Control': 'no-store',
  };
  let source: AsyncIterator<AuditEntry>;
  if (all) {
    source = db.get(Audit).entries(filters, true);
  } else {
    // A page is at most 10,000 entries: read as one (bounded), written in chunks.
    const p = await db.get(Audit).query({ ...filters, page, pageSize });
    headers['X-Total-Count'] = String(p.totalCount);
    headers['X-Has-More'] = String(p.hasMore);
    source = fromArray(p.entries);
  }
  const first = await source.next();
  // A client gone before the stream starts: the stream function never runs, so release the log scan here.
  let started = false;
  req.onAborted(() => {
    if (!started) void source.return?.();
  });
  // HEAD: the headers only; the scan is not needed.
  if (req.method === 'HEAD') void source.return?.();
  const { 'Content-Type': contentType, ...rest } = headers;
  return {
    stream: (out) => {
      started = true;
      void pumpCsv(out, req, source, first, headers, log);
    },
    head: { contentType: contentType!, headers: rest },
  };
}

async function* fromArray<T>(a: readonly T[]): AsyncGenerator<T> {
  yield* a;
}

async function pumpCsv(
  out: ResponseStream,
  req: ApiRequest,
  source: AsyncIterator<AuditEntry>,
  first: IteratorResult<AuditEntry>,
  headers: Record<string, string>,
  log: Logger | undefined,
): Promise<void> {
  // One waiter at a time: woken when the socket drains or the stream closes (client gone, shutdown).
  let wake: (() => void) | undefined;
  const stop = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  out.onClose(stop);
  req.onAborted(stop);
  const drained = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      out.onWritable(stop);
    });
  const write = async (chunk: string) => {
    if (!out.write(chunk) && !out.closed) await drained();
  };
  try {
    out.start(200, headers);
    await write(csvHeader());
    let batch: AuditEntry[] = [];
    for (let r = first; !r.done && !out.closed; r = await source.next()) {
      batch.push(r.value);
      if (batch.length >= CSV_CHUNK_ROWS) {
        const chunk = csvRows(batch);
        batch = [];
        await write(chunk);
      }
    }
    if (!out.closed) out.end(csvRows(batch));
  } catch (err) {
    // Rows are out already: close the connection without ending the reply, so the client sees an incomplete export, not a short one.
    log?.error('audit CSV export failed', { request_id: req.requestId, error: err });
    out.abort();
  } finally {
    await source.return?.();
  }
}

export const auditArea: RouteArea = { name: 'audit', routes: (ctx) => auditRoutes(ctx.db, ctx.log) };
