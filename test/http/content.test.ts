import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY as ADMIN, type Body, call, expectError, ok, type StartedServer, startServer } from '../helpers/server.js';

/**
 * Content for RAG (issue 18, docs/content.md), black-box: import with
 * chunks, embeddings and blob; metadata, chunks (paged, seq order), blob
 * download; validation naming the field; replace and delete leaving
 * nothing behind in the indexes; chunks searchable through the ordinary
 * search endpoints and AQL; retrieval by BM25, vector and both; the
 * content tables refusing other writers; PII policies on chunk text.
 */

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Chunk {
  id: string;
  content_id: string;
  seq_num: number;
  text: string;
  embedding?: number[];
}

/** A content of `texts.length` chunks, each with a 4-d embedding pointing mostly along axis `i % 4`. */
function doc(id: string, texts: string[], extra: Record<string, unknown> = {}, blob = `bytes of ${id}`) {
  return {
    content: {
      id,
      mime_type: 'text/plain',
      category: 'manual',
      original_filename: `${id}.txt`,
      size_bytes: Buffer.byteLength(blob),
      ...extra,
    },
    chunks: texts.map((text, i) => ({
      id: `${id}-c${i}`,
      content_id: id,
      seq_num: i,
      text,
      embedding: [0, 1, 2, 3].map((d) => (d === i % 4 ? 1 : 0.1 * (d + 1))),
    })),
    blob: b64(blob),
  };
}

describe('content over HTTP', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('imports a content with chunks and blob, and answers metadata, chunks and blob as imported', async () => {
    const blob = 'Hello blob – äöü';
    const r = await ok(
      call(
        s,
        'POST',
        '/content/import',
        doc('doc1', ['Erster Absatz über Füchse.', 'Second part on rivers.', 'Third: release notes.'], { lang: 'de' }, blob),
      ),
    );
    expect(r).toMatchObject({ status: 'ok', content_id: 'doc1', chunk_count: 3, hash_sha256: sha(blob), replaced: false });

    const meta = await ok(call(s, 'GET', '/content/doc1'));
    expect(meta).toMatchObject({
      id: 'doc1',
      mime_type: 'text/plain',
      category: 'manual',
      original_filename: 'doc1.txt',
      size_bytes: Buffer.byteLength(blob),
      hash_sha256: sha(blob),
      chunk_count: 3,
      lang: 'de',
    });
    expect(typeof meta.created_at).toBe('number');
    expect(Math.abs((meta.created_at as number) - Date.now())).toBeLessThan(60_000);

    const ch = await ok(call(s, 'GET', '/content/doc1/chunks'));
    expect(ch.count).toBe(3);
    const chunks = ch.chunks as Chunk[];
    expect(chunks.map((c) => [c.id, c.seq_num, c.content_id])).toEqual([
      ['doc1-c0', 0, 'doc1'],
      ['doc1-c1', 1, 'doc1'],
      ['doc1-c2', 2, 'doc1'],
    ]);
    expect(chunks[0]!.text).toBe('Erster Absatz über Füchse.');
    expect(chunks[1]!.embedding).toEqual([0.1, 1, 0.30000000000000004, 0.4]);

    const page = await ok(call(s, 'GET', '/content/doc1/chunks?offset=1&limit=1'));
    expect(page.count).toBe(3);
    expect((page.chunks as Chunk[]).map((c) => c.seq_num)).toEqual([1]);

    const res = await s.req('GET', '/content/doc1/blob');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe(blob);
  });

  it('serves the blob with ETag and HTTP Range requests (206, suffix, open end, 416, If-None-Match, If-Range, HEAD)', async () => {
    const blob = randomBytes(300_000);
    // An empty chunk list: stored as it is, no text extraction (the bytes are no PDF).
    await ok(
      call(s, 'POST', '/content/import', {
        content: { id: 'rng', mime_type: 'application/pdf' },
        chunks: [],
        blob: blob.toString('base64'),
      }),
    );
    const etag = `"${sha(blob)}"`;
    const full = await s.req('GET', '/content/rng/blob');
    expect(full.status).toBe(200);
    expect(full.headers.get('etag')).toBe(etag);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('content-length')).toBe(String(blob.length));
    expect(full.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await full.arrayBuffer()).equals(blob)).toBe(true);

    const get = async (range: string, extra: Record<string, string> = {}) => {
      const r = await s.req('GET', '/content/rng/blob', undefined, { range, ...extra });
      return { r, bytes: Buffer.from(await r.arrayBuffer()) };
    };
    const first = await get('bytes=0-99');
    expect(first.r.status).toBe(206);
    expect(first.r.headers.get('content-range')).toBe(`bytes 0-99/${blob.length}`);
    expect(first.bytes.equals(blob.subarray(0, 100))).toBe(true);
    // Across the 256 KiB piece boundary.
    const across = await get('bytes=262000-262299');
    expect(across.bytes.equals(blob.subarray(262000, 262300))).toBe(true);
    const suffix = await get('bytes=-500');
    expect(suffix.r.headers.get('content-range')).toBe(`bytes ${blob.length - 500}-${blob.length - 1}/${blob.length}`);
    expect(suffix.bytes.equals(blob.subarray(blob.length - 500))).toBe(true);
    const open = await get('bytes=299990-');
    expect(open.bytes.equals(blob.subarray(299990))).toBe(true);
    const beyond = await s.req('GET', '/content/rng/blob', undefined, { range: 'bytes=400000-400010' });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${blob.length}`);
    expect(((await beyond.json()) as Body).code).toBe('RANGE_NOT_SATISFIABLE');
    const notModified = await s.req('GET', '/content/rng/blob', undefined, { 'if-none-match': etag });
    expect(notModified.status).toBe(304);
    expect((await notModified.arrayBuffer()).byteLength).toBe(0);
    const stale = await get('bytes=0-9', { 'if-range': '"other"' });
    expect(stale.r.status).toBe(200);
    expect(stale.bytes.length).toBe(blob.length);
    const failed = await s.req('GET', '/content/rng/blob', undefined, { 'if-match': '"other"' });
    expect(failed.status).toBe(412);
    const head = await s.req('HEAD', '/content/rng/blob');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(blob.length));
    expect(head.headers.get('etag')).toBe(etag);
  });

  it('puts an import in the change feed and the audit log (one commit: metadata, chunks, audit entry)', async () => {
    const before = (await ok(call(s, 'GET', '/changefeed/stats'))).last_seq as number;
    await ok(call(s, 'POST', '/content/import', doc('feed1', ['one', 'two'])));
    const feed = await ok(call(s, 'GET', `/changefeed?from_seq=${before}&limit=100`));
    const keys = (feed.entries as { key: string; op: string }[]).filter((c) => c.key.includes('feed1')).map((c) => `${c.op} ${c.key}`);
    expect(keys).toEqual(['put _content:feed1', 'put _chunks:feed1:0000000000', 'put _chunks:feed1:0000000001']);
    await ok(call(s, 'DELETE', '/content/feed1'));
    const audit = await ok(call(s, 'GET', '/api/audit?entity_id=feed1&page_size=10'));
    const actions = (audit.entries as { action: string; entityType: string; success: boolean }[]).map((e) => [
      e.action,
      e.entityType,
      e.success,
    ]);
    expect(actions).toEqual([
      ['CONTENT_DELETE', 'content', true],
      ['CONTENT_IMPORT', 'content', true],
    ]);
  });

  it('generates an id when none is given, and keeps chunks in seq_num order however they arrive', async () => {
    const r = await ok(
      call(s, 'POST', '/content/import', {
        content: { mime_type: 'text/plain' },
        chunks: [
          { seq_num: 10, text: 'ten' },
          { seq_num: 2, text: 'two' },
          { seq_num: 7, text: 'seven' },
        ],
      }),
    );
    const id = r.content_id as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ch = await ok(call(s, 'GET', `/content/${id}/chunks`));
    expect((ch.chunks as Chunk[]).map((c) => [c.seq_num, c.text, c.id])).toEqual([
      [2, 'two', `${id}#2`],
      [7, 'seven', `${id}#7`],
      [10, 'ten', `${id}#10`],
    ]);
    const meta = await ok(call(s, 'GET', `/content/${id}`));
    expect(meta).toMatchObject({ hash_sha256: null, chunk_count: 3 });
    expectError(await call(s, 'GET', `/content/${id}/blob`), 404, 'NOT_FOUND');
  });

  it('refuses bad imports naming the field, and stores nothing of them', async () => {
    const base = doc('bad1', ['a', 'b']);
    const cases: [unknown, string][] = [
      [{ ...base, chunks: [{ ...base.chunks[0], content_id: 'other' }] }, 'chunks.0.content_id'],
      [{ ...base, chunks: [base.chunks[0], { ...base.chunks[1], seq_num: 0 }] }, 'chunks.1.seq_num'],
      [{ ...base, chunks: [base.chunks[0], { ...base.chunks[1], id: 'bad1-c0' }] }, 'chunks.1.id'],
      [{ ...base, blob: 'not base64!' }, 'blob'],
      [{ ...base, blob: 'QUJD=' }, 'blob'],
      [{ ...base, content: { ...base.content, size_bytes: 3 } }, 'content.size_bytes'],
      [{ ...base, chunks: [base.chunks[0], { ...base.chunks[1], embedding: [1, 2, 3] }] }, 'chunks.1.embedding'],
      [{ ...base, content: { ...base.content, chunk_count: 5 } }, 'content.chunk_count'],
      [{ ...base, content: { ...base.content, id: 'has:colon' } }, 'content.id'],
      [{ ...base, chunks: [{ ...base.chunks[0], seq_num: -1 }] }, 'chunks.0.seq_num'],
      [{ content: base.content, chunks: [{ seq_num: 0 }] }, 'chunks.0.text'],
    ];
    for (const [body, field] of cases) expectError(await call(s, 'POST', '/content/import', body), 400, 'VALIDATION_FAILED', field);
    expectError(await call(s, 'GET', '/content/bad1'), 404, 'NOT_FOUND');
    expectError(await call(s, 'GET', '/content/bad1/chunks'), 404, 'NOT_FOUND');
    // An embedding of another dimension than the index's (4, from the first import).
    const wrongDim = doc('bad2', ['x']);
    wrongDim.chunks[0]!.embedding = [1, 2, 3, 4, 5];
    expectError(await call(s, 'POST', '/content/import', wrongDim), 400, 'VALIDATION_FAILED', 'chunks.0.embedding');
    expectError(await call(s, 'GET', '/content/bad2'), 404, 'NOT_FOUND');
  });

  it('replaces a content completely on re-import: old chunks are gone from reads and from search', async () => {
    await ok(call(s, 'POST', '/content/import', doc('rep', ['zebra alpha', 'zebra beta', 'zebra gamma', 'zebra delta'])));
    const before = await ok(call(s, 'POST', '/search/fulltext', { table: '_chunks', column: 'text', query: 'zebra' }));
    expect(before.total).toBe(4);
    const r = await ok(call(s, 'POST', '/content/import', doc('rep', ['okapi one'], {}, 'other bytes')));
    expect(r.replaced).toBe(true);
    const ch = await ok(call(s, 'GET', '/content/rep/chunks'));
    expect((ch.chunks as Chunk[]).map((c) => c.text)).toEqual(['okapi one']);
    const after = await ok(call(s, 'POST', '/search/fulltext', { table: '_chunks', column: 'text', query: 'zebra' }));
    expect(after.total).toBe(0);
    const okapi = await ok(call(s, 'POST', '/search/fulltext', { table: '_chunks', column: 'text', query: 'okapi' }));
    expect((okapi.hits as { key: string }[]).map((h) => h.key)).toEqual(['_chunks:rep:0000000000']);
    // The vector index holds only the new chunk of `rep`.
    const v = await ok(call(s, 'POST', '/vector/search', { index: 'content_chunks', vector: [1, 0.2, 0.3, 0.4], k: 100 }));
    const keys = (v.results as { pk: string }[]).map((x) => x.pk).filter((pk) => pk.startsWith('rep:'));
    expect(keys).toEqual(['rep:0000000000']);
    const blob = await s.req('GET', '/content/rep/blob');
    expect(await blob.text()).toBe('other bytes');
  });

  it('deletes a content with its chunks; a blob shared by two contents stays until the last goes', async () => {
    const shared = 'shared bytes';
    await ok(call(s, 'POST', '/content/import', doc('sh1', ['yak one'], {}, shared)));
    await ok(call(s, 'POST', '/content/import', doc('sh2', ['yak two'], {}, shared)));
    const d1 = await ok(call(s, 'DELETE', '/content/sh1'));
    expect(d1).toEqual({ status: 'ok', content_id: 'sh1', chunks_deleted: 1, blob_deleted: false });
    expectError(await call(s, 'GET', '/content/sh1'), 404, 'NOT_FOUND');
    expectError(await call(s, 'GET', '/content/sh1/chunks'), 404, 'NOT_FOUND');
    expectError(await call(s, 'GET', '/content/sh1/blob'), 404, 'NOT_FOUND');
    expect(await (await s.req('GET', '/content/sh2/blob')).text()).toBe(shared);
    const yak = await ok(call(s, 'POST', '/search/fulltext', { table: '_chunks', column: 'text', query: 'yak' }));
    expect((yak.hits as { key: string }[]).map((h) => h.key)).toEqual(['_chunks:sh2:0000000000']);
    const d2 = await ok(call(s, 'DELETE', '/content/sh2'));
    expect(d2).toEqual({ status: 'ok', content_id: 'sh2', chunks_deleted: 1, blob_deleted: true });
    expectError(await call(s, 'DELETE', '/content/sh2'), 404, 'NOT_FOUND');
    const stats = await ok(call(s, 'GET', '/stats'));
    expect(JSON.stringify(stats)).not.toContain(sha(shared));
  });

  it('makes chunks searchable through AQL, /vector/search and /search/hybrid', async () => {
    await ok(call(s, 'POST', '/content/import', doc('srch', ['quokka in the sun', 'wombat at night'])));
    const aql = await ok(
      call(s, 'POST', '/query/aql', {
        query: 'FOR c IN _chunks FILTER c.content_id == @id SORT c.seq_num RETURN c.text',
        bind_vars: { id: 'srch' },
      }),
    );
    expect(aql.entities).toEqual(['quokka in the sun', 'wombat at night']);
    const hy = await ok(
      call(s, 'POST', '/search/hybrid', {
        table: '_chunks',
        text: { column: 'text', query: 'wombat' },
        vector: { index: 'content_chunks', vector: [0.1, 1, 0.3, 0.4] },
        k: 3,
      }),
    );
    expect((hy.results as { key: string }[])[0]!.key).toBe('_chunks:srch:0000000001');
  });

  it('refuses writes to the content tables by any other path (403), without applying them', async () => {
    await ok(call(s, 'POST', '/content/import', doc('guard', ['guarded text'])));
    expectError(await call(s, 'PUT', '/entities/_chunks:guard:0000000000', { blob: '{"text":"forged"}' }), 403, 'FORBIDDEN');
    expectError(await call(s, 'DELETE', '/entities/_content:guard'), 403, 'FORBIDDEN');
    expectError(
      await call(s, 'POST', '/query/aql', { query: 'FOR c IN _chunks FILTER c.content_id == "guard" REMOVE c IN _chunks' }),
      403,
      'FORBIDDEN',
    );
    const ch = await ok(call(s, 'GET', '/content/guard/chunks'));
    expect((ch.chunks as Chunk[]).map((c) => c.text)).toEqual(['guarded text']);
    await ok(call(s, 'GET', '/content/guard'));
  });

  it('retrieves by BM25, by vector and fused, with filters, content metadata and neighbouring chunks', async () => {
    await ok(
      call(
        s,
        'POST',
        '/content/import',
        doc('ret-a', ['The lighthouse keeper lit the lamp.', 'Storms hit the lighthouse often.', 'Gulls nest on cliffs.'], {
          team: 'blue',
        }),
      ),
    );
    await ok(
      call(
        s,
        'POST',
        '/content/import',
        doc('ret-b', ['A lighthouse manual for keepers.', 'Maintenance of lamps.'], { team: 'red', category: 'guide' }),
      ),
    );
    const text = await ok(call(s, 'POST', '/content/retrieve', { query: 'lighthouse', k: 2 }));
    expect(text.mode).toBe('text');
    const tr = text.results as { chunk: Chunk; content: Body; score: number; text: { rank: number } }[];
    expect(tr).toHaveLength(2);
    expect(tr.every((r) => r.chunk.text.toLowerCase().includes('lighthouse'))).toBe(true);
    expect(tr[0]!.score).toBeGreaterThanOrEqual(tr[1]!.score);
    expect(tr[0]!.chunk.embedding).toBeUndefined();

    const filtered = await ok(call(s, 'POST', '/content/retrieve', { query: 'lighthouse', k: 5, filter: { team: 'red' } }));
    const fr = filtered.results as { chunk: Chunk; content: Body }[];
    expect(fr.map((r) => r.chunk.id)).toEqual(['ret-b-c0']);
    expect(fr[0]!.content).toMatchObject({ id: 'ret-b', team: 'red', category: 'guide' });

    const byIds = await ok(call(s, 'POST', '/content/retrieve', { query: 'lighthouse', k: 5, filter: { content_ids: ['ret-a'] } }));
    expect((byIds.results as { chunk: Chunk }[]).map((r) => r.chunk.id).sort()).toEqual(['ret-a-c0', 'ret-a-c1']);

    // Vector: axis 2 is chunk seq 2 of each content (ret-a-c2); filtered to ret-b, its nearest.
    const vec = await ok(call(s, 'POST', '/content/retrieve', { embedding: [0.1, 0.2, 1, 0.4], k: 1, filter: { content_ids: ['ret-a'] } }));
    const vr = vec.results as { chunk: Chunk; score: number; vector: { distance: number } }[];
    expect(vec.mode).toBe('vector');
    expect(vr[0]!.chunk.id).toBe('ret-a-c2');
    expect(vr[0]!.score).toBeCloseTo(1 - vr[0]!.vector.distance, 10);

    const win = await ok(call(s, 'POST', '/content/retrieve', { query: 'storms', k: 1, window: 1, filter: { content_ids: ['ret-a'] } }));
    const w = (win.results as { chunk: Chunk; context: { before: Chunk[]; after: Chunk[] } }[])[0]!;
    expect(w.chunk.id).toBe('ret-a-c1');
    expect(w.context.before.map((c) => c.id)).toEqual(['ret-a-c0']);
    expect(w.context.after.map((c) => c.id)).toEqual(['ret-a-c2']);

    const hybrid = await ok(
      call(s, 'POST', '/content/retrieve', {
        query: 'lamp',
        embedding: [0.1, 1, 0.3, 0.4],
        k: 3,
        filter: { content_ids: ['ret-a', 'ret-b'] },
      }),
    );
    expect(hybrid.mode).toBe('hybrid');
    const hr = hybrid.results as { chunk: Chunk; text: { rank: number } | null; vector: { rank: number } | null; score: number }[];
    expect(hr.length).toBe(3);
    // A chunk in both lists outranks one in a single list at the same rank (RRF).
    const both = hr.filter((r) => r.text && r.vector);
    expect(both.length).toBeGreaterThan(0);
    expect(hr[0]!.score).toBeCloseTo(
      (hr[0]!.text ? 1 / (60 + hr[0]!.text.rank) : 0) + (hr[0]!.vector ? 1 / (60 + hr[0]!.vector.rank) : 0),
      12,
    );

    expectError(await call(s, 'POST', '/content/retrieve', { k: 3 }), 400, 'VALIDATION_FAILED', 'query');
    expectError(await call(s, 'POST', '/content/retrieve', { embedding: [1, 2, 3] }), 400, 'VALIDATION_FAILED', 'embedding');
    expectError(await call(s, 'POST', '/content/retrieve', { query: 'x', k: 0 }), 400, 'VALIDATION_FAILED', 'k');
  });

  it('sets one chunk embedding later, indexed at once', async () => {
    await ok(call(s, 'POST', '/content/import', { content: { id: 'late' }, chunks: [{ id: 'only', seq_num: 0, text: 'no vector yet' }] }));
    const none = await ok(call(s, 'POST', '/content/retrieve', { embedding: [0.3, 0.3, 0.3, 5], k: 1, filter: { content_ids: ['late'] } }));
    expect(none.count).toBe(0);
    const put = await ok(call(s, 'PUT', '/content/late/chunks/only/embedding', { embedding: [0.3, 0.3, 0.3, 5] }));
    expect(put).toMatchObject({ id: 'only', embedding: [0.3, 0.3, 0.3, 5] });
    const found = await ok(
      call(s, 'POST', '/content/retrieve', { embedding: [0.3, 0.3, 0.3, 5], k: 1, filter: { content_ids: ['late'] } }),
    );
    expect((found.results as { chunk: Chunk }[])[0]!.chunk.id).toBe('only');
    expectError(await call(s, 'PUT', '/content/late/chunks/nope/embedding', { embedding: [1, 1, 1, 1] }), 404, 'NOT_FOUND');
    expectError(await call(s, 'PUT', '/content/late/chunks/only/embedding', { embedding: [1, 1] }), 400, 'VALIDATION_FAILED', 'embedding');
  });

  it('lists contents in id order with paging and filters', async () => {
    for (const id of ['list-a', 'list-b', 'list-c']) {
      await ok(
        call(s, 'POST', '/content/import', { content: { id, mime_type: id === 'list-b' ? 'text/html' : 'text/plain', category: 3 } }),
      );
    }
    const p1 = await ok(call(s, 'GET', '/content?after=list-&limit=2'));
    expect((p1.contents as Body[]).map((c) => c.id)).toEqual(['list-a', 'list-b']);
    expect(p1.next).toBe('list-b');
    const p2 = await ok(call(s, 'GET', `/content?after=${p1.next as string}&limit=2`));
    expect((p2.contents as Body[])[0]!.id).toBe('list-c');
    const html = await ok(call(s, 'GET', '/content?mime_type=text/html&category=3'));
    expect((html.contents as Body[]).map((c) => c.id)).toEqual(['list-b']);
    expect(html.next).toBeNull();
  });

  it('applies a PII policy on _chunks to chunk text on import', async () => {
    await ok(call(s, 'PUT', '/pii/policy/_chunks', { fields: ['text'], action: 'pseudonymize' }));
    const mail = `rag.${randomBytes(4).toString('hex')}@example.org`;
    await ok(
      call(s, 'POST', '/content/import', { content: { id: 'pii1' }, chunks: [{ seq_num: 0, text: `Contact ${mail} for details.` }] }),
    );
    const ch = await ok(call(s, 'GET', '/content/pii1/chunks'));
    const text = (ch.chunks as Chunk[])[0]!.text;
    expect(text).not.toContain(mail);
    expect(text).toMatch(/^Contact \[EMAIL:[0-9a-f-]{36}\] for details\.$/);
    await ok(call(s, 'DELETE', '/pii/policy/_chunks'));
  });

  it('uploads a blob as raw bytes (PUT), creating the content or replacing only its blob; same bytes stored once', async () => {
    const bytes = randomBytes(700_000);
    const put = (id: string, b: Buffer, type = 'image/png', q = '') =>
      fetch(`${s.base}/content/${id}/blob${q}`, {
        method: 'PUT',
        body: b,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': type },
      });
    const r1 = await put('up1', bytes, 'image/png', '?filename=pic.png');
    expect(r1.status).toBe(200);
    expect(await r1.json()).toEqual({
      status: 'ok',
      content_id: 'up1',
      hash_sha256: sha(bytes),
      size_bytes: bytes.length,
      created: true,
      deduplicated: false,
    });
    expect(await ok(call(s, 'GET', '/content/up1'))).toMatchObject({
      mime_type: 'image/png',
      original_filename: 'pic.png',
      size_bytes: bytes.length,
      chunk_count: 0,
    });
    const got = await s.req('GET', '/content/up1/blob');
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

    // Chunks imported later without a blob: the uploaded blob stays.
    await ok(
      call(s, 'POST', '/content/import', {
        content: { id: 'up1', mime_type: 'image/png' },
        chunks: [{ seq_num: 0, text: 'a picture of a heron' }],
      }),
    );
    expect(await ok(call(s, 'GET', '/content/up1'))).toMatchObject({ hash_sha256: sha(bytes), size_bytes: bytes.length, chunk_count: 1 });

    // The same bytes again under another id: stored once.
    const r2 = await put('up2', bytes);
    expect(await r2.json()).toMatchObject({ created: true, deduplicated: true });
    // Replacing only the blob of up1 keeps its chunks.
    const other = randomBytes(1000);
    const r3 = await put('up1', other, 'application/octet-stream');
    expect(await r3.json()).toMatchObject({ created: false, deduplicated: false, size_bytes: 1000 });
    expect(await ok(call(s, 'GET', '/content/up1'))).toMatchObject({
      chunk_count: 1,
      hash_sha256: sha(other),
      mime_type: 'application/octet-stream',
    });
    expect(Buffer.from(await (await s.req('GET', '/content/up2/blob')).arrayBuffer()).equals(bytes)).toBe(true);
    const bad = await fetch(`${s.base}/content/has:colon/blob`, {
      method: 'PUT',
      body: other,
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(bad.status).toBe(400);
  });

  it('extracts and chunks the text of PDF, DOCX, HTML and Markdown blobs imported without chunks', async () => {
    const fixtures: [string, string, RegExp][] = [
      ['sample.pdf', 'application/pdf', /[Ää]/],
      ['sample.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', /\w/],
      ['sample.html', 'text/html', /\w/],
      ['sample.md', 'text/markdown', /\w/],
    ];
    for (const [file, type, shape] of fixtures) {
      const bytes = fs.readFileSync(new URL(`../fixtures/content/${file}`, import.meta.url));
      const id = `ex-${file.replace('.', '-')}`;
      const r = await ok(
        call(s, 'POST', '/content/import', {
          content: { id, mime_type: type, original_filename: file },
          blob: bytes.toString('base64'),
          chunking: { size: 200, overlap: 20 },
        }),
      );
      expect(r.chunk_count as number, file).toBeGreaterThan(0);
      const ch = await ok(call(s, 'GET', `/content/${id}/chunks`));
      const texts = (ch.chunks as Chunk[]).map((c) => c.text);
      expect(texts.join(' '), file).toMatch(shape);
      for (const t of texts) {
        expect(t.length, file).toBeLessThanOrEqual(200);
        expect(t, file).not.toMatch(/<[a-z]+[ >]|^#+ |\*\*/);
      }
    }
    // Found by BM25 right away.
    const all = await ok(
      call(s, 'POST', '/content/retrieve', {
        query: 'the',
        k: 50,
        filter: { content_ids: fixtures.map(([f]) => `ex-${f.replace('.', '-')}`) },
      }),
    );
    expect(all.count as number).toBeGreaterThan(0);
    // A readable type whose bytes are not readable: 400 naming the blob; nothing stored.
    expectError(
      await call(s, 'POST', '/content/import', { content: { id: 'ex-bad', mime_type: 'application/pdf' }, blob: b64('not a pdf') }),
      400,
      'VALIDATION_FAILED',
      'blob',
    );
    expectError(await call(s, 'GET', '/content/ex-bad'), 404, 'NOT_FOUND');
  });

  it('survives a restart: contents, chunks, blobs and search', async () => {
    await ok(call(s, 'POST', '/content/import', doc('persist', ['narwhal tusk'], {}, 'persisted bytes')));
    await s.stop();
    s = await startServer({ dataDir: s.dataDir });
    expect(await ok(call(s, 'GET', '/content/persist'))).toMatchObject({ chunk_count: 1, hash_sha256: sha('persisted bytes') });
    expect(await (await s.req('GET', '/content/persist/blob')).text()).toBe('persisted bytes');
    const r = await ok(call(s, 'POST', '/content/retrieve', { query: 'narwhal', k: 1 }));
    expect((r.results as { chunk: Chunk }[])[0]!.chunk.id).toBe('persist-c0');
  });
});
