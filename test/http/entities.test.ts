import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, json, startServer, type StartedServer } from '../helpers/server.js';

let s: StartedServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s.stop();
});

const enc = encodeURIComponent;

describe('entities CRUD', () => {
  it('PUT creates (201, blob_size = UTF-8 bytes), GET returns the blob byte for byte', async () => {
    const blob = '{"name":"Alice","age":30,"email":"alice@example.com"}';
    const put = await s.req('PUT', '/entities/users:123', { blob });
    await expectStatus(put, 201);
    expect(await json(put)).toEqual({ success: true, key: 'users:123', blob_size: Buffer.byteLength(blob), created: true });
    const get = await s.req('GET', '/entities/users:123');
    await expectStatus(get, 200);
    expect(await json(get)).toEqual({ key: 'users:123', blob });
  });

  it('PUT replaces (upsert) and reports created=false', async () => {
    await s.req('PUT', '/entities/users:up', { blob: '{"v":1}' });
    const r = await s.req('PUT', '/entities/users:up', { blob: '{"v":2, "ü":"é"}' });
    await expectStatus(r, 201);
    expect(await json(r)).toEqual({ success: true, key: 'users:up', blob_size: Buffer.byteLength('{"v":2, "ü":"é"}'), created: false });
    expect(await json(await s.req('GET', '/entities/users:up'))).toEqual({ key: 'users:up', blob: '{"v":2, "ü":"é"}' });
  });

  it('accepts a JSON object as blob and stores its compact serialisation', async () => {
    const r = await s.req('PUT', '/entities/docs:obj', { blob: { a: 1, nested: { b: [true, null] } } });
    expect(await json(r)).toMatchObject({ blob_size: Buffer.byteLength('{"a":1,"nested":{"b":[true,null]}}'), created: true });
    expect(await json(await s.req('GET', '/entities/docs:obj'))).toEqual({ key: 'docs:obj', blob: '{"a":1,"nested":{"b":[true,null]}}' });
  });

  it('GET of a missing entity is 404 NOT_FOUND in the error format', async () => {
    const r = await s.req('GET', '/entities/users:missing');
    await expectStatus(r, 404);
    expect(await json(r)).toEqual({ error: true, message: expect.any(String), status_code: 404, code: 'NOT_FOUND' });
  });

  it('DELETE removes (200) and is idempotent, telling whether the entity existed', async () => {
    await s.req('PUT', '/entities/users:del', { blob: '{}' });
    const d1 = await s.req('DELETE', '/entities/users:del');
    await expectStatus(d1, 200);
    expect(await json(d1)).toEqual({ success: true, key: 'users:del', deleted: true });
    await expectStatus(await s.req('GET', '/entities/users:del'), 404);
    const d2 = await s.req('DELETE', '/entities/users:del');
    await expectStatus(d2, 200);
    expect(await json(d2)).toEqual({ success: true, key: 'users:del', deleted: false });
  });

  it('percent-decodes keys: the pk may hold ":", "/", spaces and any Unicode', async () => {
    const key = 'files:a/b:c d?#ü😀';
    const put = await s.req('PUT', `/entities/${enc(key)}`, { blob: '{"p":1}' });
    expect(await json(put)).toMatchObject({ key, created: true });
    expect(await json(await s.req('GET', `/entities/${enc(key)}`))).toEqual({ key, blob: '{"p":1}' });
    // a different pk that only differs in encoding-sensitive characters is a different entity
    await expectStatus(await s.req('GET', `/entities/${enc('files:a/b:c d?#ü')}`), 404);
  });

  it('keeps tables apart: same pk in two tables', async () => {
    await s.req('PUT', '/entities/t1:same', { blob: '{"t":1}' });
    await s.req('PUT', '/entities/t2:same', { blob: '{"t":2}' });
    expect(await json(await s.req('GET', '/entities/t1:same'))).toMatchObject({ blob: '{"t":1}' });
    expect(await json(await s.req('GET', '/entities/t2:same'))).toMatchObject({ blob: '{"t":2}' });
  });

  it('POST with a key creates it (201); POST of an existing key is 409 and changes nothing', async () => {
    const r = await s.req('POST', '/entities', { key: 'users:124', blob: '{"name":"Bob","age":25}' });
    await expectStatus(r, 201);
    expect(await json(r)).toEqual({ success: true, key: 'users:124', blob_size: 23, created: true });
    const again = await s.req('POST', '/entities', { key: 'users:124', blob: '{"name":"Eve"}' });
    await expectStatus(again, 409);
    expect(await json(again)).toMatchObject({ error: true, status_code: 409, code: 'CONFLICT' });
    expect(await json(await s.req('GET', '/entities/users:124'))).toMatchObject({ blob: '{"name":"Bob","age":25}' });
  });

  it('POST without a key generates <table>:<uuid v4> (table from the body, default "entities")', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const a = await json<{ key: string }>(await s.req('POST', '/entities', { blob: '{"x":1}' }));
    expect(a.key.startsWith('entities:')).toBe(true);
    expect(a.key.slice('entities:'.length)).toMatch(uuid);
    const b = await json<{ key: string }>(await s.req('POST', '/entities', { table: 'orders', blob: { x: 2 } }));
    expect(b.key).toMatch(/^orders:/);
    expect(b.key.slice(7)).toMatch(uuid);
    expect(await json(await s.req('GET', `/entities/${enc(b.key)}`))).toEqual({ key: b.key, blob: '{"x":2}' });
  });

  it('POST rejects a table that contradicts the key', async () => {
    const r = await s.req('POST', '/entities', { key: 'users:9', table: 'orders', blob: '{}' });
    await expectStatus(r, 400);
    expect(await json(r)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'table' });
    await expectStatus(await s.req('GET', '/entities/users:9'), 404);
  });

  it('concurrent POSTs of one key: exactly one wins', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => s.req('POST', '/entities', { key: 'race:1', blob: `{"i":${i}}` })));
    const bodies = await Promise.all(rs.map((r) => r.text()));
    const statuses = rs.map((r) => r.status).sort();
    expect(
      statuses.filter((x) => x === 201),
      bodies.join('\n'),
    ).toHaveLength(1);
    expect(
      statuses.filter((x) => x === 409),
      bodies.join('\n'),
    ).toHaveLength(19);
  });

  it('concurrent PUTs of one new key: exactly one reports created=true', async () => {
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.req('PUT', '/entities/race:put', { blob: `{"i":${i}}` }).then((r) => json<{ created: boolean }>(r)),
      ),
    );
    expect(rs.filter((r) => r.created)).toHaveLength(1);
  });

  it('POST racing a PUT of the same key never reports 201 over an acknowledged PUT', async () => {
    for (let round = 0; round < 10; round++) {
      const key = `race:pp${round}`;
      const [put, post] = await Promise.all([
        s.req('PUT', `/entities/${key}`, { blob: '{"by":"put"}' }),
        s.req('POST', '/entities', { key, blob: '{"by":"post"}' }),
      ]);
      await expectStatus(put, 201);
      const stored = JSON.parse((await json<{ blob: string }>(await s.req('GET', `/entities/${key}`))).blob).by;
      if (post.status === 201) {
        // the POST was first: the PUT replaced it and must say so
        expect((await json<{ created: boolean }>(put)).created).toBe(false);
        expect(stored).toBe('put');
      } else {
        await expectStatus(post, 409);
        expect(stored).toBe('put');
      }
    }
  });

  it('concurrent PUTs to distinct keys are all acknowledged and all readable', async () => {
    const n = 200;
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => s.req('PUT', `/entities/many:${i}`, { blob: `{"i":${i}}` })));
    expect(rs.every((r) => r.status === 201)).toBe(true);
    const gets = await Promise.all(
      Array.from({ length: n }, (_, i) => s.req('GET', `/entities/many:${i}`).then((r) => json<{ blob: string }>(r))),
    );
    expect(gets.map((g) => JSON.parse(g.blob).i)).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});
