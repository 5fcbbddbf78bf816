import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { redact } from '../../src/log.js';
import { Authenticator, JwtVerifier, permissionsFromClaims, principalFromClaims, Unauthorized } from '../../src/security/index.js';

const SECRET = 'unit-test-jwt-secret-0123456789abcdef';
const now = () => Math.floor(Date.now() / 1000);

describe('JWT claims → principal', () => {
  it('takes permissions from a "permissions" array and a "scope" string, united', () => {
    expect([...permissionsFromClaims({ permissions: ['data:read', 'stats:read'] })].sort()).toEqual(['data:read', 'stats:read']);
    expect([...permissionsFromClaims({ scope: 'data:write  query:execute' })].sort()).toEqual(['data:write', 'query:execute']);
    expect([...permissionsFromClaims({ permissions: ['data:read'], scope: 'admin' })].sort()).toEqual(['admin', 'data:read']);
    expect(permissionsFromClaims({}).size).toBe(0);
  });

  it('ignores names it does not know (they grant nothing)', () => {
    expect([...permissionsFromClaims({ scope: 'openid profile email data:read Data:Write data:*' })]).toEqual(['data:read']);
    expect(permissionsFromClaims({ permissions: ['superuser', 'root'] }).size).toBe(0);
  });

  it('refuses claims of the wrong type as an invalid token', () => {
    for (const claims of [{ permissions: 'data:read' }, { permissions: [1] }, { scope: ['data:read'] }, { permissions: { a: 1 } }]) {
      let err: unknown;
      try {
        permissionsFromClaims(claims as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Unauthorized);
      expect((err as Unauthorized).invalidToken).toBe(true);
    }
  });

  it('names the principal after sub (kind jwt, id jwt:<sub>) and requires sub', () => {
    expect(principalFromClaims({ sub: 'alice', permissions: ['data:read'] })).toMatchObject({
      id: 'jwt:alice',
      kind: 'jwt',
      name: 'alice',
    });
    expect(() => principalFromClaims({})).toThrow(Unauthorized);
    expect(() => principalFromClaims({ sub: '' })).toThrow(Unauthorized);
    expect(() => principalFromClaims({ sub: 'x'.repeat(257) })).toThrow(Unauthorized);
  });
});

describe('JwtVerifier', () => {
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

  it('verifies once, then answers the same token synchronously from its cache', async () => {
    const v = new JwtVerifier({ secret: SECRET, clockSkewS: 30 });
    const token = await sign({ sub: 'bob', exp: now() + 60, scope: 'data:read' });
    const first = v.principal(token);
    expect(first).toBeInstanceOf(Promise);
    expect((await first).name).toBe('bob');
    const second = v.principal(token);
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as { name: string }).name).toBe('bob');
  });

  it('does not cache refused tokens', async () => {
    const v = new JwtVerifier({ secret: SECRET, clockSkewS: 0 });
    const token = await sign({ sub: 'bob', exp: now() - 10 });
    await expect(v.principal(token)).rejects.toBeInstanceOf(Unauthorized);
    const again = v.principal(token);
    expect(again).toBeInstanceOf(Promise);
    await expect(again).rejects.toBeInstanceOf(Unauthorized);
  });

  it('pins HS256 for a secret, and the key type decides for a public key', () => {
    expect(new JwtVerifier({ secret: SECRET, clockSkewS: 0 }).algorithms).toEqual(['HS256']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-jwt-unit-'));
    const write = (name: string, key: crypto.KeyObject) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, key.export({ type: 'spki', format: 'pem' }));
      return f;
    };
    const rsa = write('rsa.pem', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    const ec = write('ec.pem', crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
    const ed = write('ed.pem', crypto.generateKeyPairSync('ed25519').publicKey);
    expect(new JwtVerifier({ publicKeyFile: rsa, clockSkewS: 0 }).algorithms).toEqual(['RS256']);
    expect(new JwtVerifier({ publicKeyFile: rsa, algorithms: ['PS256', 'RS512'], clockSkewS: 0 }).algorithms).toEqual(['PS256', 'RS512']);
    expect(new JwtVerifier({ publicKeyFile: ec, clockSkewS: 0 }).algorithms).toEqual(['ES384']);
    expect(new JwtVerifier({ publicKeyFile: ed, clockSkewS: 0 }).algorithms).toEqual(['EdDSA', 'Ed25519']);
    expect(() => new JwtVerifier({ publicKeyFile: rsa, algorithms: ['HS256'], clockSkewS: 0 })).toThrow(/cannot be verified/);
    expect(() => new JwtVerifier({ publicKeyFile: ec, algorithms: ['ES256'], clockSkewS: 0 })).toThrow(/cannot be verified/);
    expect(() => new JwtVerifier({ secret: SECRET, algorithms: ['RS256'], clockSkewS: 0 })).toThrow(/cannot be verified/);
  });

  it('refuses a JWKS file with symmetric or private keys', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-jwt-unit-'));
    const f = path.join(dir, 'jwks.json');
    fs.writeFileSync(f, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    expect(() => new JwtVerifier({ jwksFile: f, clockSkewS: 0 })).toThrow(/symmetric/);
    const priv = crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    fs.writeFileSync(f, JSON.stringify({ keys: [priv] }));
    expect(() => new JwtVerifier({ jwksFile: f, clockSkewS: 0 })).toThrow(/private/);
    fs.writeFileSync(f, JSON.stringify({ keys: [] }));
    expect(() => new JwtVerifier({ jwksFile: f, clockSkewS: 0 })).toThrow(/non-empty/);
  });

  it('the Authenticator hands JWT-shaped bearer tokens to the verifier and API keys to the hash lookup', async () => {
    const auth = new Authenticator();
    auth.addAdminSecret('an-admin-secret-0123456789');
    auth.setJwtVerifier(new JwtVerifier({ secret: SECRET, clockSkewS: 0 }));
    expect(auth.authenticate('Bearer an-admin-secret-0123456789')).toMatchObject({ kind: 'admin' });
    const token = await sign({ sub: 'carol', exp: now() + 60 });
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ kind: 'jwt', id: 'jwt:carol' });
    await expect(Promise.resolve().then(() => auth.authenticate(`Bearer ${token}x`))).rejects.toMatchObject({ invalidToken: true });
  });
});

describe('JWT configuration', () => {
  it('reads the THEMIS_JWT_* variables', () => {
    const c = loadConfig([], {
      THEMIS_JWT_SECRET: SECRET,
      THEMIS_JWT_ISSUER: 'https://idp',
      THEMIS_JWT_AUDIENCE: 'themis, themis-staging',
      THEMIS_JWT_ALGORITHMS: 'HS256,HS512',
      THEMIS_JWT_CLOCK_SKEW_S: '10',
    });
    expect(c).toMatchObject({
      jwtSecret: SECRET,
      jwtIssuer: 'https://idp',
      jwtAudience: ['themis', 'themis-staging'],
      jwtAlgorithms: ['HS256', 'HS512'],
      jwtClockSkewS: 10,
    });
    expect(loadConfig([], {}).jwtClockSkewS).toBe(30);
  });

  it('refuses a short secret, an unknown algorithm, a skew beyond 300 s, and issuer/audience without a key', () => {
    expect(() => loadConfig([], { THEMIS_JWT_SECRET: 'x'.repeat(31) })).toThrow(ConfigError);
    expect(() => loadConfig([], { THEMIS_JWT_SECRET: SECRET, THEMIS_JWT_ALGORITHMS: 'none' })).toThrow(ConfigError);
    expect(() => loadConfig([], { THEMIS_JWT_SECRET: SECRET, THEMIS_JWT_CLOCK_SKEW_S: '301' })).toThrow(ConfigError);
    expect(() => loadConfig([], { THEMIS_JWT_AUDIENCE: 'themis' })).toThrow(ConfigError);
    expect(() => loadConfig([], { THEMIS_JWT_SECRET: SECRET, THEMIS_JWT_JWKS_FILE: '/nonexistent.json' })).toThrow(ConfigError);
  });

  it('the secret is redacted if a config object is ever logged', () => {
    expect(redact({ jwtSecret: SECRET })).toEqual({ jwtSecret: '***' });
  });
});
