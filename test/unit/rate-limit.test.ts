import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { ALL_TABLES } from '../../src/access.js';
import { Authenticator, parseRateLimit, TokenBuckets, type Principal } from '../../src/security/index.js';
import { HttpServer, ipKey, RateLimits, Router, SchemaRegistry } from '../../src/server/index.js';

/** Token buckets (src/security/rate-limit.ts) with a fake clock, and the rate-limit links (src/server/rate-limit.ts). */

describe('TokenBuckets', () => {
  const rule = { limit: 5, windowMs: 1000 };

  it('allows a burst of `limit`, then refuses with the time until one token is back', () => {
    const t = 0;
    const b = new TokenBuckets({ now: () => t });
    for (let i = 0; i < 5; i++) {
      const v = b.take('k', rule);
      expect(v.allowed).toBe(true);
      expect(v.remaining).toBe(4 - i);
      expect(v.limit).toBe(5);
    }
    const no = b.take('k', rule);
    expect(no.allowed).toBe(false);
    expect(no.remaining).toBe(0);
    expect(no.retryAfterMs).toBe(200);
    expect(no.resetMs).toBe(1000);
    // Another key has its own bucket.
    expect(b.take('other', rule).allowed).toBe(true);
  });

  it('refills continuously, never beyond the limit; the reset time is when the bucket is full', () => {
    let t = 0;
    const b = new TokenBuckets({ now: () => t });
    for (let i = 0; i < 5; i++) b.take('k', rule);
    t = 199;
    expect(b.take('k', rule).allowed).toBe(false);
    t = 200;
    const one = b.take('k', rule);
    expect(one.allowed).toBe(true);
    expect(one.remaining).toBe(0);
    expect(one.resetMs).toBe(1000);
    t = 700;
    const v = b.peek('k', rule);
    expect(v.remaining).toBe(2);
    expect(v.resetMs).toBeCloseTo(500);
    t = 100_000;
    const full = b.take('k', rule);
    expect(full.remaining).toBe(4);
    expect(full.resetMs).toBeCloseTo(200);
  });

  it('a refused take costs nothing; peek takes nothing and creates no bucket', () => {
    let t = 0;
    const b = new TokenBuckets({ now: () => t });
    expect(b.peek('k', rule)).toMatchObject({ allowed: true, remaining: 5 });
    expect(b.size).toBe(0);
    for (let i = 0; i < 8; i++) b.take('k', rule);
    t = 200;
    expect(b.take('k', rule).allowed).toBe(true);
  });

  it('peek forgets a bucket that is full again (it stands for no bucket), and keeps one that is not', () => {
    let t = 0;
    const b = new TokenBuckets({ now: () => t });
    b.take('k', rule);
    b.take('k', rule);
    t = 100; // half a token back
    expect(b.peek('k', rule)).toMatchObject({ allowed: true, remaining: 3 });
    expect(b.size).toBe(1);
    t = 1000; // full again
    expect(b.peek('k', rule)).toMatchObject({ allowed: true, remaining: 5 });
    expect(b.size).toBe(0);
    expect(b.take('k', rule).remaining).toBe(4);
  });

  it('a lowered limit caps the saved tokens', () => {
    const b = new TokenBuckets({ now: () => 0 });
    b.take('k', { limit: 100, windowMs: 1000 });
    expect(b.take('k', { limit: 2, windowMs: 1000 }).remaining).toBe(1);
  });

  it('holds at most maxKeys buckets, dropping the least recently used', () => {
    let t = 0;
    const b = new TokenBuckets({ maxKeys: 3, now: () => t });
    for (let i = 0; i < 5; i++) b.take('hot', rule);
    b.take('a', rule);
    b.take('b', rule);
    b.take('hot', rule); // refused, but used: now the most recent
    for (let i = 0; i < 10_000; i++) b.take(`flood-${i}`, rule);
    expect(b.size).toBe(3);
    // A flood of new keys evicts; hot was the most recent before the flood and is gone only after 2 more keys.
    const b2 = new TokenBuckets({ maxKeys: 3, now: () => t });
    for (let i = 0; i < 5; i++) b2.take('hot', rule);
    b2.take('a', rule);
    b2.take('b', rule);
    b2.take('hot', rule);
    b2.take('c', rule); // evicts a
    b2.take('d', rule); // evicts b
    expect(b2.take('hot', rule).allowed).toBe(false);
    b2.take('e', rule); // evicts c (hot was used just now)
    expect(b2.size).toBe(3);
    expect(b2.take('hot', rule).allowed).toBe(false);
    t = 0;
  });
});

describe('parseRateLimit and configuration', () => {
  it('parses counts per window', () => {
    expect(parseRateLimit('1000/s')).toEqual({ limit: 1000, windowMs: 1000 });
    expect(parseRateLimit('60000/min')).toEqual({ limit: 60000, windowMs: 60_000 });
    expect(parseRateLimit('100/m')).toEqual({ limit: 100, windowMs: 60_000 });
    expect(parseRateLimit('5000/h')).toEqual({ limit: 5000, windowMs: 3_600_000 });
    expect(parseRateLimit(' 20 / 10s ')).toEqual({ limit: 20, windowMs: 10_000 });
    expect(parseRateLimit('off')).toBeUndefined();
    for (const bad of ['1000', '/s', '10/fortnight', '-1/s', '1.5/s', '0/s', '5/0s', 'abc'])
      expect(() => parseRateLimit(bad), bad).toThrow();
  });

  it('defaults: principal and IP limits off, audit 100/min, auth failures 20/min, no proxy trusted', () => {
    const c = loadConfig([], {});
    expect(c.rateLimit).toBeUndefined();
    expect(c.rateLimitIp).toBeUndefined();
    expect(c.rateLimitAudit).toEqual({ limit: 100, windowMs: 60_000 });
    expect(c.authFailLimit).toEqual({ limit: 20, windowMs: 60_000 });
    expect(c.trustProxy).toBe(false);
  });

  it('reads the environment and flags; refuses bad values', () => {
    const c = loadConfig(['--rate-limit-ip', '50/s'], {
      THEMIS_RATE_LIMIT: '1000/s',
      THEMIS_RATE_LIMIT_AUDIT: 'off',
      THEMIS_AUTH_FAIL_LIMIT: 'off',
      THEMIS_TRUST_PROXY: 'true',
    });
    expect(c.rateLimit).toEqual({ limit: 1000, windowMs: 1000 });
    expect(c.rateLimitIp).toEqual({ limit: 50, windowMs: 1000 });
    expect(c.rateLimitAudit).toBeUndefined();
    expect(c.authFailLimit).toBeUndefined();
    expect(c.trustProxy).toBe(true);
    expect(() => loadConfig([], { THEMIS_RATE_LIMIT: 'fast' })).toThrow(ConfigError);
    expect(() => loadConfig([], { THEMIS_TRUST_PROXY: 'maybe' })).toThrow(ConfigError);
  });
});

describe('ipKey', () => {
  it('keys IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
    expect(ipKey('127.0.0.1')).toBe('127.0.0.1');
    expect(ipKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(ipKey('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(ipKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:0db8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(ipKey('::1')).toBe('0:0:0:0::/64');
  });
});

// ------------------------------------------------------------------ the links, in process, with a fake clock

const ADMIN = 'Bearer rate-admin-secret-1234';
const OWN: Principal = {
  id: 'own-limit',
  kind: 'api_key',
  name: 'own',
  permissions: new Set(['*']),
  access: ALL_TABLES,
  rateLimit: { limit: 2, windowMs: 1000 },
};

class TestAuthenticator extends Authenticator {
  constructor() {
    super();
    this.addAdminSecret(ADMIN.slice('Bearer '.length));
  }
  override authenticate(authorization: string): Principal | Promise<Principal> {
    return authorization === 'Bearer own' ? OWN : super.authenticate(authorization);
  }
}

describe('rate-limit links', () => {
  let t = 0;
  let server: HttpServer;
  let base: string;
  beforeAll(async () => {
    const router = new Router()
      .add({ method: 'GET', path: '/health', auth: false, handler: () => ({ json: { ok: true } }) })
      .add({ method: 'GET', path: '/data', permission: 'data:read', handler: () => ({ json: { ok: true } }) })
      .add({ method: 'GET', path: '/audit/test', permission: 'audit:read', rateLimit: 'audit', handler: () => ({ json: { ok: true } }) });
    server = new HttpServer(router, SchemaRegistry.fromOpenApi(), new TestAuthenticator(), createMetrics(), createLogger('silent'), {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      rateLimits: new RateLimits({
        principal: { limit: 4, windowMs: 1000 },
        audit: { limit: 3, windowMs: 60_000 },
        authFail: { limit: 2, windowMs: 60_000 },
        ip: { limit: 1000, windowMs: 1000 },
        now: () => t,
      }),
    });
    base = `http://127.0.0.1:${await server.listen()}`;
  });
  afterAll(async () => {
    await server.close(1000);
  });
  const get = (path: string, auth?: string) => fetch(`${base}${path}`, { headers: auth ? { authorization: auth } : {} });

  it('puts the links where they belong', () => {
    expect(server.chain()).toEqual([
      'request-id',
      'admit',
      'ip-limit',
      'route',
      'auth-guard',
      'authenticate',
      'rate-limit',
      'permission',
      'body',
      'handler',
    ]);
  });

  it('per principal: the default limit, then 429 in the error format with the headers', async () => {
    t = 0;
    for (let i = 0; i < 4; i++) {
      const r = await get('/data', ADMIN);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('4');
      expect(r.headers.get('x-ratelimit-remaining')).toBe(String(3 - i));
      expect(r.headers.get('x-ratelimit-reset')).toBe('1');
    }
    const no = await get('/data', ADMIN);
    expect(no.status).toBe(429);
    expect(no.headers.get('retry-after')).toBe('1');
    expect(no.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await no.json()).toEqual({ error: true, message: expect.any(String), status_code: 429, code: 'RATE_LIMITED' });
    t = 250;
    expect((await get('/data', ADMIN)).status).toBe(200);
    expect((await get('/data', ADMIN)).status).toBe(429);
    // A principal with its own limit uses it instead of the default.
    expect((await get('/data', 'Bearer own')).headers.get('x-ratelimit-limit')).toBe('2');
    expect((await get('/data', 'Bearer own')).status).toBe(200);
    expect((await get('/data', 'Bearer own')).status).toBe(429);
  });

  it("routes declaring rateLimit: 'audit' also draw from the audit limit; its headers when it is the tighter one", async () => {
    t = 10_000;
    for (let i = 0; i < 3; i++) {
      const r = await get('/audit/test', ADMIN);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('3');
      expect(r.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
    }
    t = 20_000; // the principal's bucket is full again, the audit one is not
    const no = await get('/audit/test', ADMIN);
    expect(no.status).toBe(429);
    expect(no.headers.get('x-ratelimit-limit')).toBe('3');
    expect(Number(no.headers.get('retry-after'))).toBeGreaterThanOrEqual(10);
    expect((await get('/data', ADMIN)).status).toBe(200);
  });

  it('public routes carry only the IP limit', async () => {
    const r = await get('/health');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ratelimit-limit')).toBe('1000');
  });

  it('failed authentications from one address: 429 after the limit, for every key, public routes unaffected; passes with time', async () => {
    t = 100_000;
    expect((await get('/data', 'Bearer wrong-1')).status).toBe(401);
    // No credential at all guesses nothing and is not counted.
    expect((await get('/data')).status).toBe(401);
    expect((await get('/data', 'Bearer wrong-2')).status).toBe(401);
    const no = await get('/data', 'Bearer wrong-3');
    expect(no.status).toBe(429);
    expect(no.headers.get('retry-after')).toBe('30');
    expect(((await no.json()) as { code: string }).code).toBe('RATE_LIMITED');
    // The valid key from the same address too: the guess is not even looked at (no oracle).
    expect((await get('/data', ADMIN)).status).toBe(429);
    expect((await get('/health')).status).toBe(200);
    t = 130_000;
    expect((await get('/data', ADMIN)).status).toBe(200);
    // A success does not reset the count of failures.
    expect((await get('/data', 'Bearer wrong-4')).status).toBe(401);
    expect((await get('/data', ADMIN)).status).toBe(429);
  });
});

describe('IP limit', () => {
  let t = 0;
  let server: HttpServer;
  let base: string;
  beforeAll(async () => {
    const router = new Router().add({ method: 'GET', path: '/health', auth: false, handler: () => ({ json: { ok: true } }) });
    server = new HttpServer(router, SchemaRegistry.fromOpenApi(), new TestAuthenticator(), createMetrics(), createLogger('silent'), {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      rateLimits: new RateLimits({ ip: { limit: 2, windowMs: 1000 }, trustProxy: true, now: () => t }),
    });
    base = `http://127.0.0.1:${await server.listen()}`;
  });
  afterAll(async () => {
    await server.close(1000);
  });

  it('limits every request per client address, unknown paths included; behind a trusted proxy by X-Forwarded-For', async () => {
    const from = (ip: string, path = '/health') => fetch(`${base}${path}`, { headers: { 'x-forwarded-for': `1.1.1.1, ${ip}` } });
    expect(server.chain()).not.toContain('auth-guard');
    expect((await from('10.0.0.1')).status).toBe(200);
    expect((await from('10.0.0.1', '/nope')).status).toBe(404);
    const no = await from('10.0.0.1');
    expect(no.status).toBe(429);
    expect(no.headers.get('x-ratelimit-limit')).toBe('2');
    expect((await from('10.0.0.2')).status).toBe(200);
    t = 500;
    expect((await from('10.0.0.1')).status).toBe(200);
  });
});
