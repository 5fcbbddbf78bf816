import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, json, startServer, type StartedServer } from '../helpers/server.js';

/**
 * Rate limits as a client sees them (issue 15, docs/api.md "Rate limits"):
 * the real server, limits from the environment.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RATE_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

describe('per-principal limit (THEMIS_RATE_LIMIT=5/10s)', () => {
  let s: StartedServer;
  beforeAll(async () => {
    // 5 per 10 s: one token back every 2 s, so a burst of six sequential requests never sees a refill.
    s = await startServer({ env: { THEMIS_RATE_LIMIT: '5/10s' } });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('the 6th request of a burst is 429 in the error format with the headers; 200s carry X-RateLimit-*; it passes again after Retry-After', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await s.req('GET', '/stats');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('5');
      expect(r.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
      const reset = Number(r.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(10);
      await r.arrayBuffer();
    }
    const no = await s.req('GET', '/stats');
    expect(no.status).toBe(429);
    expect(await json(no)).toEqual({ error: true, message: expect.any(String), status_code: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(no.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(no.headers.get('x-ratelimit-limit')).toBe('5');
    expect(no.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(no.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(9);
    // Writes are refused too, and nothing is applied.
    expect((await s.req('PUT', '/entities/rl:1', { blob: '{}' })).status).toBe(429);

    await sleep(retryAfter * 1000 + 100);
    const again = await s.req('GET', '/stats');
    expect(again.status).toBe(200);
    expect(again.headers.get('x-ratelimit-limit')).toBe('5');
  });

  it('public routes are not limited per principal', async () => {
    for (let i = 0; i < 8; i++) {
      const r = await s.req('GET', '/health');
      expect(r.status).toBe(200);
      for (const h of RATE_HEADERS) expect(r.headers.get(h)).toBeNull();
      await r.arrayBuffer();
    }
  });
});

describe('failed authentications per client IP (THEMIS_AUTH_FAIL_LIMIT=3/min)', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_AUTH_FAIL_LIMIT: '3/min' } });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('after 3 refused credentials: 429 for every request needing a key from that address, the valid key included; public routes still answer', async () => {
    // A valid request before does not earn anything, and a missing credential is not a guess.
    expect((await s.req('GET', '/stats')).status).toBe(200);
    expect((await s.req('GET', '/stats', undefined, { authorization: '' })).status).toBe(401);
    for (let i = 0; i < 3; i++) {
      const r = await s.req('GET', '/stats', undefined, { authorization: `Bearer wrong-${i}` });
      expect(r.status).toBe(401);
      await r.arrayBuffer();
    }
    const no = await s.req('GET', '/stats', undefined, { authorization: 'Bearer wrong-4' });
    expect(no.status).toBe(429);
    expect((await json(no)).code).toBe('RATE_LIMITED');
    expect(Number(no.headers.get('retry-after'))).toBe(20);
    expect(no.headers.get('x-ratelimit-limit')).toBe('3');
    expect(no.headers.get('x-ratelimit-remaining')).toBe('0');
    // The right key is not even looked at: a guesser learns nothing while blocked.
    const valid = await s.req('GET', '/stats', undefined, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(valid.status).toBe(429);
    expect((await s.req('GET', '/health')).status).toBe(200);
  });
});

describe('defaults', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('no per-principal or per-IP limit: no X-RateLimit-* headers, no 429 in a burst', async () => {
    const rs = await Promise.all(Array.from({ length: 50 }, () => s.req('GET', '/stats')));
    for (const r of rs) {
      expect(r.status).toBe(200);
      for (const h of RATE_HEADERS) expect(r.headers.get(h)).toBeNull();
      await r.arrayBuffer();
    }
    const h = await s.req('GET', '/health');
    for (const name of RATE_HEADERS) expect(h.headers.get(name)).toBeNull();
  });

  it('the brute-force limit is on (20 refused credentials per minute)', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await s.req('GET', '/stats', undefined, { authorization: `Bearer wrong-${i}` });
      expect(r.status).toBe(401);
      await r.arrayBuffer();
    }
    expect((await s.req('GET', '/stats', undefined, { authorization: 'Bearer wrong-x' })).status).toBe(429);
  });
});

describe('per client IP (THEMIS_RATE_LIMIT_IP=40/min)', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_RATE_LIMIT_IP: '40/min' } });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('every request counts, public and unknown routes included; X-Forwarded-For is not trusted by default', async () => {
    // The start-up readiness polls drew from the same bucket: start from what is left.
    const first = await s.req('GET', '/health');
    expect(first.headers.get('x-ratelimit-limit')).toBe('40');
    const left = Number(first.headers.get('x-ratelimit-remaining'));
    expect(left).toBeGreaterThan(5);
    const paths = ['/no-such-route', '/metrics', '/stats', '/health'];
    for (let i = 0; i < left; i++) {
      const r = await s.req('GET', paths[i % paths.length]!, undefined, { 'x-forwarded-for': `10.9.8.${i}` });
      expect(r.status).toBeLessThan(429);
      await r.arrayBuffer();
    }
    const no = await s.req('GET', '/health', undefined, { 'x-forwarded-for': '10.9.9.9' });
    expect(no.status).toBe(429);
    expect((await json(no)).code).toBe('RATE_LIMITED');
    expect(['1', '2']).toContain(no.headers.get('retry-after'));
  });
});
