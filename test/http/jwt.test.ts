import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { base64url, SignJWT, type JWTPayload } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, call, expectStatus, type StartedServer, startServer, tempDir } from '../helpers/server.js';

/** These tests send many refused tokens from one address; the brute-force limit (THEMIS_AUTH_FAIL_LIMIT) has its own tests. */
const NO_AUTH_FAIL_LIMIT = { THEMIS_AUTH_FAIL_LIMIT: 'off' };

const SECRET = 'jwt-test-secret-0123456789abcdef-0123456789';
const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'themis';
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token signed with `secret`. */
function hs256(claims: JWTPayload, secret = SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(secret));
}

/** A token with alg "none" (unsigned): header and payload, empty signature. */
function unsigned(claims: JWTPayload): string {
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}

const valid = (extra: JWTPayload = {}): JWTPayload => ({
  sub: 'alice',
  iss: ISSUER,
  aud: AUDIENCE,
  exp: now() + 600,
  permissions: ['data:read'],
  ...extra,
});

async function expectInvalidToken(s: StartedServer, token: string, route = '/entities/t:1'): Promise<void> {
  const r = await call(s, 'GET', route, undefined, { authorization: `Bearer ${token}` });
  await expectStatus(r, 401);
  expect(r.body).toMatchObject({ error: true, status_code: 401, code: 'UNAUTHORIZED' });
  const again = await s.req('GET', route, undefined, { authorization: `Bearer ${token}` });
  expect(again.headers.get('www-authenticate')).toBe('Bearer realm="themis", error="invalid_token"');
}

describe('JWT with an HS256 secret', () => {
  let s: StartedServer;
  beforeAll(async () => {
    s = await startServer({
      env: {
        ...NO_AUTH_FAIL_LIMIT,
        THEMIS_JWT_SECRET: SECRET,
        THEMIS_JWT_ISSUER: ISSUER,
        THEMIS_JWT_AUDIENCE: AUDIENCE,
        THEMIS_JWT_CLOCK_SKEW_S: '1',
      },
    });
    await expectStatus(await call(s, 'PUT', '/entities/t:1', { blob: '{"a":1}' }), 201);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('a valid token may use the routes its permissions allow (200) and no others (403)', async () => {
    const token = await hs256(valid());
    const auth = { authorization: `Bearer ${token}` };
    await expectStatus(await call(s, 'GET', '/entities/t:1', undefined, auth), 200);
    // Again on the same connection: served from the verified-token cache, same outcome.
    await expectStatus(await call(s, 'GET', '/entities/t:1', undefined, auth), 200);
    const w = await call(s, 'PUT', '/entities/t:2', { blob: '{}' }, auth);
    await expectStatus(w, 403);
    expect(w.body.code).toBe('FORBIDDEN');
    await expectStatus(await call(s, 'GET', '/stats', undefined, auth), 403);
  });

  it('permissions may come from an OAuth scope string; unknown names grant nothing', async () => {
    const token = await hs256(valid({ permissions: undefined, scope: 'openid profile data:write stats:read' }));
    const auth = { authorization: `Bearer ${token}` };
    await expectStatus(await call(s, 'PUT', '/entities/t:3', { blob: '{}' }, auth), 201);
    await expectStatus(await call(s, 'GET', '/stats', undefined, auth), 200);
    await expectStatus(await call(s, 'GET', '/entities/t:3', undefined, auth), 403);
  });

  it('a token without permissions is authenticated but may do nothing (403)', async () => {
    const token = await hs256(valid({ permissions: undefined }));
    await expectStatus(await call(s, 'GET', '/entities/t:1', undefined, { authorization: `Bearer ${token}` }), 403);
  });

  it('the admin key keeps working next to JWTs', async () => {
    await expectStatus(await call(s, 'GET', '/stats'), 200);
  });

  it('expired, not yet valid, wrong signature, wrong issuer or audience, alg none: 401 invalid_token', async () => {
    await expectInvalidToken(s, await hs256(valid({ exp: now() - 60 })));
    await expectInvalidToken(s, await hs256(valid({ nbf: now() + 120 })));
    await expectInvalidToken(s, await hs256(valid(), `${SECRET}-other`));
    await expectInvalidToken(s, await hs256(valid({ iss: 'https://evil.example.test' })));
    await expectInvalidToken(s, await hs256(valid({ aud: 'another-service' })));
    await expectInvalidToken(s, unsigned(valid()));
    // A good signature with a tampered payload.
    const [h, , sig] = (await hs256(valid())).split('.');
    const forged = base64url.encode(JSON.stringify(valid({ permissions: ['admin'] })));
    await expectInvalidToken(s, `${h}.${forged}.${sig}`);
    // Algorithms are pinned: HS512 with the same secret is not accepted when HS256 is the configured one.
    await expectInvalidToken(s, await hs256(valid(), SECRET, 'HS512'));
  });

  it('a token without sub or without exp, or with claims of the wrong type: 401 invalid_token', async () => {
    await expectInvalidToken(s, await hs256(valid({ sub: undefined })));
    await expectInvalidToken(s, await hs256(valid({ exp: undefined })));
    await expectInvalidToken(s, await hs256(valid({ permissions: 'data:read' as unknown as string[] })));
    await expectInvalidToken(s, await hs256(valid({ sub: 'x'.repeat(300) })));
  });

  it('a cached token stops working when it expires', async () => {
    const token = await hs256(valid({ exp: now() + 2 }));
    const auth = { authorization: `Bearer ${token}` };
    await expectStatus(await call(s, 'GET', '/entities/t:1', undefined, auth), 200);
    // exp (whole seconds) + the configured 1 s tolerance
    await new Promise((r) => setTimeout(r, 4_500));
    await expectInvalidToken(s, token);
  }, 20_000);

  it('a JWT is accepted on the change-feed WebSocket upgrade too; a bad one is 401, one without the permission 403', async () => {
    /** Status of the upgrade: 101 when it opened, else the refusal's status. */
    const upgrade = (token: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/changefeed/ws?from_seq=0&token=${token}`);
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
    expect(await upgrade(await hs256(valid()))).toBe(101);
    expect(await upgrade(await hs256(valid(), `${SECRET}-x`))).toBe(401);
    expect(await upgrade(await hs256(valid({ permissions: ['stats:read'] })))).toBe(403);
  });
});

describe('JWT with a public key file', () => {
  const dir = tempDir('themis-jwt-');
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = crypto.generateKeyPairSync('ed25519');
  const rsaPem = path.join(dir, 'rsa.pub.pem');
  const edPem = path.join(dir, 'ed.pub.pem');
  fs.writeFileSync(rsaPem, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
  fs.writeFileSync(edPem, ed.publicKey.export({ type: 'spki', format: 'pem' }));
  const sign = (claims: JWTPayload, key: crypto.KeyObject, alg: string) => new SignJWT(claims).setProtectedHeader({ alg }).sign(key);

  describe('RS256', () => {
    let s: StartedServer;
    beforeAll(async () => {
      s = await startServer({ env: { THEMIS_JWT_PUBLIC_KEY: rsaPem, THEMIS_JWT_AUDIENCE: AUDIENCE, ...NO_AUTH_FAIL_LIMIT } });
      await expectStatus(await call(s, 'PUT', '/entities/t:1', { blob: '{}' }), 201);
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('an RS256 token is accepted (200 where permitted, 403 elsewhere)', async () => {
      const auth = { authorization: `Bearer ${await sign(valid(), rsa.privateKey, 'RS256')}` };
      await expectStatus(await call(s, 'GET', '/entities/t:1', undefined, auth), 200);
      await expectStatus(await call(s, 'DELETE', '/entities/t:1', undefined, auth), 403);
    });

    it('algorithm confusion: an HS256 token keyed with the public key PEM is refused (401 invalid_token)', async () => {
      await expectInvalidToken(s, await hs256(valid(), fs.readFileSync(rsaPem, 'utf8')));
    });

    it('a token signed by another key, or with another algorithm of the key type, or alg none: 401 invalid_token', async () => {
      const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      await expectInvalidToken(s, await sign(valid(), other.privateKey, 'RS256'));
      await expectInvalidToken(s, await sign(valid(), rsa.privateKey, 'PS256'));
      await expectInvalidToken(s, await sign(valid({ exp: now() - 3600 }), rsa.privateKey, 'RS256'));
      await expectInvalidToken(s, unsigned(valid()));
    });
  });

  describe('EdDSA', () => {
    let s: StartedServer;
    beforeAll(async () => {
      s = await startServer({ env: { THEMIS_JWT_PUBLIC_KEY: edPem, ...NO_AUTH_FAIL_LIMIT } });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('an EdDSA token is accepted; an RS256 one is refused', async () => {
      const auth = { authorization: `Bearer ${await sign(valid({ scope: 'stats:read' }), ed.privateKey, 'EdDSA')}` };
      await expectStatus(await call(s, 'GET', '/stats', undefined, auth), 200);
      await expectInvalidToken(s, await sign(valid(), rsa.privateKey, 'RS256'), '/stats');
    });
  });

  describe('JWKS file', () => {
    let s: StartedServer;
    beforeAll(async () => {
      const jwks = path.join(dir, 'jwks.json');
      const jwk = { ...ed.publicKey.export({ format: 'jwk' }), kid: 'k1' };
      fs.writeFileSync(jwks, JSON.stringify({ keys: [jwk] }));
      s = await startServer({ env: { THEMIS_JWT_JWKS_FILE: jwks, ...NO_AUTH_FAIL_LIMIT } });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('a token whose kid names a key of the set is accepted; another key is refused', async () => {
      const good = await new SignJWT(valid({ scope: 'stats:read' })).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).sign(ed.privateKey);
      await expectStatus(await call(s, 'GET', '/stats', undefined, { authorization: `Bearer ${good}` }), 200);
      const other = crypto.generateKeyPairSync('ed25519');
      const bad = await new SignJWT(valid()).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).sign(other.privateKey);
      await expectInvalidToken(s, bad, '/stats');
    });
  });

  describe('refused configurations (exit 2)', () => {
    const start = (env: Record<string, string>) =>
      spawnSync(process.execPath, [CLI], {
        env: { ...process.env, THEMIS_PORT: '0', THEMIS_DATA_DIR: tempDir(), ...env },
        encoding: 'utf8',
        timeout: 20_000,
      });

    it('a short secret, a private key, a pinned algorithm the key cannot do, two key sources, a missing file', () => {
      const priv = path.join(dir, 'rsa.key.pem');
      fs.writeFileSync(priv, rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const envs: Record<string, string>[] = [
        { THEMIS_JWT_SECRET: 'too-short-secret' },
        { THEMIS_JWT_PUBLIC_KEY: priv },
        { THEMIS_JWT_PUBLIC_KEY: rsaPem, THEMIS_JWT_ALGORITHMS: 'HS256' },
        { THEMIS_JWT_PUBLIC_KEY: rsaPem, THEMIS_JWT_ALGORITHMS: 'none' },
        { THEMIS_JWT_PUBLIC_KEY: edPem, THEMIS_JWT_ALGORITHMS: 'RS256' },
        { THEMIS_JWT_PUBLIC_KEY: rsaPem, THEMIS_JWT_SECRET: SECRET },
        { THEMIS_JWT_PUBLIC_KEY: path.join(dir, 'missing.pem') },
        { THEMIS_JWT_ISSUER: ISSUER },
      ];
      for (const env of envs) {
        const r = start(env);
        expect(r.status, `${JSON.stringify(env)}: ${r.stderr}`).toBe(2);
      }
    });
  });
});
