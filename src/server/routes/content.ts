import { Content, type OpenBlob } from '../../content/index.js';
import { ThemisError } from '../../errors.js';
import type { ServiceHost } from '../../kernel/index.js';
import { HttpError } from '../error-reply.js';
import { intParam, stringParam } from '../query-params.js';
import { contentRange, readPlan, strongETag } from '../range.js';
import type { RouteArea } from '../route-area.js';
import type { AuditedRequest, RouteSpec } from '../router.js';
import { type AnyReply, type ApiRequest, callerOf, tablesOf } from '../types.js';
import { withBody } from '../typed-body.js';

/** The audit subject of a content request: the content id (of the path, or the one an import answered with). */
const contentEntry = (r: AuditedRequest) => ({
  entityType: 'content',
  entityId: (r.params.id ?? (r.reply as { json?: { content_id?: string } } | undefined)?.json?.content_id ?? null)?.slice(0, 256) ?? null,
});

/** The blob's bytes [start, end), closing its read view when the download ends (completed, failed or abandoned). */
async function* bytesOf(blob: OpenBlob, start: number, end: number): AsyncGenerator<Buffer> {
  try {
    yield* blob.read(start, end);
  } finally {
    blob.close();
  }
}

/**
 * GET /content/{id}/blob: the bytes streamed from storage with their
 * Content-Type, Content-Length and ETag (the sha256); Range (206, 416),
 * If-Range, If-None-Match (304) and If-Match (412) as RFC 9110 says.
 */
function blobReply(req: ApiRequest, blob: OpenBlob): AnyReply {
  const etag = strongETag(blob.hash);
  const headers: Record<string, string> = { ETag: etag, 'Accept-Ranges': 'bytes', 'Cache-Control': 'private, no-cache' };
  const plan = readPlan(req, blob.size, etag);
  // HEAD never reads the body: its read view is released now.
  if (req.method === 'HEAD' && (plan.kind === 'full' || plan.kind === 'range')) {
    blob.close();
    return { sized: { status: 200, contentType: blob.mimeType, headers, length: blob.size, body: [] } };
  }
  switch (plan.kind) {
    case 'precondition_failed':
      blob.close();
      throw new ThemisError('PRECONDITION_FAILED', `the blob's ETag is ${etag}; If-Match does not hold`);
    case 'not_modified':
      blob.close();
      return { status: 304, headers };
    case 'unsatisfiable':
      blob.close();
      throw new HttpError('RANGE_NOT_SATISFIABLE', `no byte of the range is inside the blob (${blob.size} bytes)`, {
        'Content-Range': contentRange(blob.size),
      });
    case 'range':
      return {
        sized: {
          status: 206,
          contentType: blob.mimeType,
          headers: { ...headers, 'Content-Range': contentRange(blob.size, plan) },
          length: plan.end - plan.start + 1,
          body: bytesOf(blob, plan.start, plan.end + 1),
        },
      };
    case 'full':
      return { sized: { status: 200, contentType: blob.mimeType, headers, length: blob.size, body: bytesOf(blob, 0, blob.size) } };
  }
}

/** Content Management (contract) and its additions: list, delete, retrieve, embeddings (docs/content.md). */
export function contentRoutes(db: ServiceHost): RouteSpec[] {
  return [
    withBody({
      method: 'POST',
      path: '/content/import',
      body: 'ContentImportRequest',
      handler: async (req) => ({ json: await db.get(Content).import(req.body, callerOf(req)) }),
      audit: contentEntry,
    }),
    {
      method: 'GET',
      path: '/content',
      handler: async (req) => {
        const mimeType = stringParam(req.query, 'mime_type', 255);
        const category = stringParam(req.query, 'category', 255);
        const after = stringParam(req.query, 'after', 256);
        return {
          json: await db.get(Content).list(
            {
              limit: intParam(req.query, 'limit', { min: 1, max: 1000, fallback: 100 }),
              ...(after !== '' ? { after } : {}),
              ...(mimeType !== '' ? { mimeType } : {}),
              ...(category !== '' ? { category } : {}),
            },
            tablesOf(req),
          ),
        };
      },
    },
    withBody({
      method: 'POST',
      path: '/content/retrieve',
      body: 'ContentRetrieveRequest',
      handler: (req) => ({ json: db.get(Content).retrieve(req.body, tablesOf(req)) }),
    }),
    {
      method: 'GET',
      path: '/content/:id',
      handler: (req) => ({ json: db.get(Content).meta(req.params.id!, tablesOf(req)) }),
      audit: contentEntry,
    },
    {
      method: 'GET',
      path: '/content/:id/blob',
      handler: (req) => blobReply(req, db.get(Content).openBlob(req.params.id!, tablesOf(req))),
      audit: contentEntry,
    },
    {
      method: 'PUT',
      path: '/content/:id/blob',
      // The content module enforces THEMIS_MAX_BLOB_BYTES while the bytes arrive; this is only the adapter's outer bound.
      rawBody: { maxBytes: 2 ** 50 },
      handler: async (req) => {
        const filename = stringParam(req.query, 'filename', 1024);
        const type = req.header('content-type');
        const length = req.header('content-length');
        return {
          json: await db.get(Content).uploadBlob(
            req.params.id!,
            {
              ...(type !== '' ? { mimeType: type } : {}),
              ...(filename !== '' ? { filename } : {}),
              ...(/^\d+$/.test(length) ? { declaredBytes: Number(length) } : {}),
            },
            req.bodyStream(),
            callerOf(req),
          ),
        };
      },
      audit: contentEntry,
    },
    {
      method: 'DELETE',
      path: '/content/:id',
      handler: async (req) => ({ json: await db.get(Content).delete(req.params.id!, callerOf(req)) }),
      audit: contentEntry,
    },
    {
      method: 'GET',
      path: '/content/:id/chunks',
      handler: async (req) => ({
        json: await db.get(Content).chunks(
          req.params.id!,
          {
            offset: intParam(req.query, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
            limit: intParam(req.query, 'limit', { min: 1, max: 10_000, fallback: 1000 }),
          },
          tablesOf(req),
        ),
      }),
      audit: contentEntry,
    },
    withBody({
      method: 'PUT',
      path: '/content/:id/chunks/:chunk_id/embedding',
      body: 'ContentEmbeddingRequest',
      handler: async (req) => ({
        json: await db.get(Content).putEmbedding(req.params.id!, req.params.chunk_id!, req.body.embedding, callerOf(req)),
      }),
      audit: contentEntry,
    }),
  ];
}

export const contentArea: RouteArea = { name: 'content', routes: (ctx) => contentRoutes(ctx.db) };
