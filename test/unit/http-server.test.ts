import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { Authenticator } from '../../src/security/index.js';
import { HttpServer, Router, SchemaRegistry, createHttpServer } from '../../src/server/index.js';
import { tempDir } from '../helpers/server.js';

/** The adapter in-process, with routes that fail in ways the real routes should never fail. */
describe('HttpServer: unexpected exceptions', () => {
  const lines: string[] = [];
  let server: HttpServer;
  let base: string;
  beforeAll(async () => {
    const router = new Router()
      .add({
        method: 'GET',
        path: '/boom',
        auth: false,
        handler: () => {
          throw new TypeError('secret internal detail');
        },
      })
      .add({
        method: 'GET',
        path: '/boom-async',
        auth: false,
        handler: async () => {
          await Promise.resolve();
          throw new RangeError('async internal detail');
        },
      })
      .add({ method: 'GET', path: '/ok', auth: false, handler: () => ({ json: { fine: true } }) });
    server = new HttpServer(
      router,
      SchemaRegistry.fromOpenApi(),
      new Authenticator(),
      createMetrics(),
      createLogger('info', (l) => lines.push(l)),
      {
        host: '127.0.0.1',
        port: 0,
        maxBodyBytes: 1024,
      },
    );
    base = `http://127.0.0.1:${await server.listen()}`;
  });
  afterAll(async () => {
    await server.close(1000);
  });

  for (const path of ['/boom', '/boom-async']) {
    it(`${path}: 500 in the contract format, no stack or internal message, logged with the request id; server keeps serving`, async () => {
      const r = await fetch(base + path, { headers: { 'x-request-id': `req-${path.slice(1)}` } });
      expect(r.status).toBe(500);
      const body = await r.json();
      expect(body).toEqual({
        error: true,
        message: `internal server error (request id req-${path.slice(1)})`,
        status_code: 500,
        code: 'INTERNAL',
      });
      expect(JSON.stringify(body)).not.toMatch(/detail|at .*\.js/);
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.request_id === `req-${path.slice(1)}`);
      expect(logged).toMatchObject({ level: 'error', msg: 'unexpected error', route: path });
      expect(logged.error.stack).toContain('internal detail');
      expect((await fetch(`${base}/ok`)).status).toBe(200);
    });
  }
});

describe('system endpoints before storage is open', () => {
  let server: HttpServer;
  let base: string;
  let db: Database;
  beforeAll(async () => {
    const log = createLogger('silent');
    db = new Database({ ...DEFAULTS, dataDir: tempDir() }, log);
    const auth = new Authenticator();
    auth.addAdminSecret('unit-admin-secret-123');
    server = createHttpServer({
      db,
      auth,
      metrics: createMetrics(),
      log,
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      startedAt: Date.now(),
    });
    base = `http://127.0.0.1:${await server.listen()}`;
  });
  afterAll(async () => {
    await server.close(1000);
    await db.close();
  });

  it('health is 503, readiness is 503 naming the state, data endpoints are 503; all become ready after open', async () => {
    const h = await fetch(`${base}/health`);
    expect(h.status).toBe(503);
    expect(await h.json()).toMatchObject({ error: true, status_code: 503, code: 'UNAVAILABLE', status: 'unhealthy', database: 'leveldb' });
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not_ready', state: 'created', code: 'UNAVAILABLE' });
    const auth = { authorization: 'Bearer unit-admin-secret-123' };
    const get = await fetch(`${base}/entities/t:1`, { headers: auth });
    expect(get.status).toBe(503);
    expect(await get.json()).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('starting') });
    expect((await fetch(`${base}/stats`, { headers: auth })).status).toBe(503);

    await db.open();
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/entities/t:1`, { headers: auth })).status).toBe(404);

    await db.close();
    const after = await fetch(`${base}/health`);
    expect(after.status).toBe(503);
    expect(await after.json()).toMatchObject({ status: 'unhealthy', message: expect.stringContaining('closed') });
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
  });
});
