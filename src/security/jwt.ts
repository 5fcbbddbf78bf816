import crypto from 'node:crypto';
import fs from 'node:fs';
import {
  createLocalJWKSet,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import { Unauthorized } from './unauthorized.js';
import { timerAt } from './credential-end.js';
import { isGrant, tableAccessOf, type Grant, type Principal } from './principal.js';

/**
 * JWT bearer tokens (issue 15, "JWT"), for deployments with an identity
 * provider. One key source from configuration: an HMAC secret, a PEM public
 * key, or a local JWKS file (never fetched over the network). Algorithms are
 * pinned to what that key can do; `exp` and `sub` are required; `nbf`, `iss`
 * and `aud` are checked (the latter two when configured) with a small clock
 * tolerance. Verified tokens are cached until they expire, so a keep-alive
 * client presenting the same token is verified once.
 */
export interface JwtOptions {
  /** HMAC secret (HS256/384/512), at least 32 bytes. */
  secret?: string | undefined;
  /** PEM file with an SPKI (or PKCS#1 RSA) public key. */
  publicKeyFile?: string | undefined;
  /** Local JWKS JSON file of public keys. */
  jwksFile?: string | undefined;
  /** Accepted `alg` values; default: inferred from the key. */
  algorithms?: readonly string[] | undefined;
  issuer?: string | undefined;
  audience?: readonly string[] | undefined;
  /** Clock tolerance for `exp` and `nbf`, in seconds. */
  clockSkewS: number;
}

export const MIN_JWT_SECRET_BYTES = 32;
/** Longest `sub` accepted: it becomes the principal's name and id, which appear in logs. */
export const MAX_JWT_SUBJECT_LENGTH = 256;

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const PSS_ALGS = ['PS256', 'PS384', 'PS512'] as const;
const ED_ALGS = ['EdDSA', 'Ed25519'] as const;
const EC_ALG: Record<string, string> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };
const EC_CURVE_OID: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
/** Every algorithm THEMIS_JWT_ALGORITHMS may name. `none` is not one of them. */
export const JWT_ALGORITHMS: readonly string[] = [...HMAC_ALGS, ...RSA_ALGS, 'ES256', 'ES384', 'ES512', ...ED_ALGS];

/** What a key may verify, and what is accepted when THEMIS_JWT_ALGORITHMS is not set. */
interface KeyAlgs {
  allowed: readonly string[];
  defaults: readonly string[];
}

function keyObjectAlgs(key: crypto.KeyObject, where: string): KeyAlgs {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { allowed: RSA_ALGS, defaults: ['RS256'] };
    case 'rsa-pss':
      return { allowed: PSS_ALGS, defaults: ['PS256'] };
    case 'ec': {
      const crv = EC_CURVE_OID[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (crv === undefined) throw new Error(`${where}: unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}`);
      return { allowed: [EC_ALG[crv]!], defaults: [EC_ALG[crv]!] };
    }
    case 'ed25519':
      return { allowed: ED_ALGS, defaults: ED_ALGS };
    default:
      throw new Error(`${where}: unsupported key type ${key.asymmetricKeyType} (use RSA, EC P-256/384/521 or Ed25519)`);
  }
}

function jwkAlgs(jwk: JWK, where: string): KeyAlgs {
  if (jwk.kty === 'oct') throw new Error(`${where}: symmetric (kty "oct") keys are not accepted from a JWKS file; use THEMIS_JWT_SECRET`);
  if (jwk.d !== undefined || jwk.p !== undefined || jwk.k !== undefined)
    throw new Error(`${where}: holds private key material; the server needs only public keys`);
  let algs: KeyAlgs;
  if (jwk.kty === 'RSA') algs = { allowed: RSA_ALGS, defaults: ['RS256'] };
  else if (jwk.kty === 'EC' && jwk.crv !== undefined && EC_ALG[jwk.crv] !== undefined)
    algs = { allowed: [EC_ALG[jwk.crv]!], defaults: [EC_ALG[jwk.crv]!] };
  else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') algs = { allowed: ED_ALGS, defaults: ED_ALGS };
  else throw new Error(`${where}: unsupported key (kty ${jwk.kty}, crv ${jwk.crv}); use RSA, EC P-256/384/521 or Ed25519`);
  if (jwk.alg !== undefined) {
    if (!algs.allowed.includes(jwk.alg)) throw new Error(`${where}: alg ${jwk.alg} does not fit a ${jwk.kty} key`);
    algs = { allowed: [jwk.alg], defaults: [jwk.alg] };
  }
  return algs;
}

type Verify = (token: string, opts: JWTVerifyOptions) => Promise<JWTPayload>;

interface KeySource {
  verify: Verify;
  algs: KeyAlgs;
}

function keySource(o: JwtOptions): KeySource {
  const given = [o.secret, o.publicKeyFile, o.jwksFile].filter((v) => v !== undefined).length;
  if (given !== 1) throw new Error('set exactly one of THEMIS_JWT_SECRET, THEMIS_JWT_PUBLIC_KEY and THEMIS_JWT_JWKS_FILE');
  if (o.secret !== undefined) {
    const key = new TextEncoder().encode(o.secret);
    if (key.length < MIN_JWT_SECRET_BYTES) throw new Error(`THEMIS_JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
    return { verify: async (t, opts) => (await jwtVerify(t, key, opts)).payload, algs: { allowed: HMAC_ALGS, defaults: ['HS256'] } };
  }
  if (o.publicKeyFile !== undefined) {
    const where = `THEMIS_JWT_PUBLIC_KEY (${o.publicKeyFile})`;
    let pem: string;
    try {
      pem = fs.readFileSync(o.publicKeyFile, 'utf8');
    } catch (e) {
      throw new Error(`${where}: cannot read: ${(e as Error).message}`);
    }
    // createPublicKey would derive the public half of a private key; a private key has no business on this server.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error(`${where}: is a private key; give the public key (SPKI PEM)`);
    let key: crypto.KeyObject;
    try {
      key = crypto.createPublicKey(pem);
    } catch (e) {
      throw new Error(`${where}: not a PEM public key: ${(e as Error).message}`);
    }
    return { verify: async (t, opts) => (await jwtVerify(t, key, opts)).payload, algs: keyObjectAlgs(key, where) };
  }
  const where = `THEMIS_JWT_JWKS_FILE (${o.jwksFile})`;
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(fs.readFileSync(o.jwksFile!, 'utf8')) as JSONWebKeySet;
  } catch (e) {
    throw new Error(`${where}: cannot read a JSON file: ${(e as Error).message}`);
  }
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys) || jwks.keys.length === 0)
    throw new Error(`${where}: must be a JWKS object with a non-empty "keys" array`);
  const allowed = new Set<string>();
  const defaults = new Set<string>();
  jwks.keys.forEach((k, i) => {
    const a = jwkAlgs(k, `${where} key ${i}`);
    for (const x of a.allowed) allowed.add(x);
    for (const x of a.defaults) defaults.add(x);
  });
  let getKey: ReturnType<typeof createLocalJWKSet>;
  try {
    getKey = createLocalJWKSet(jwks);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  return {
    verify: async (t, opts) => (await jwtVerify(t, getKey, opts)).payload,
    algs: { allowed: [...allowed], defaults: [...defaults] },
  };
}

/** The accepted algorithms: the pinned list, each of which the key must support, or the key's defaults. */
function pinAlgorithms(algs: KeyAlgs, pinned: readonly string[] | undefined): string[] {
  if (pinned === undefined || pinned.length === 0) return [...algs.defaults];
  for (const a of pinned) {
    if (!algs.allowed.includes(a))
      throw new Error(`THEMIS_JWT_ALGORITHMS: ${a} cannot be verified with the configured key (it allows ${algs.allowed.join(', ')})`);
  }
  return [...pinned];
}

/**
 * Permissions from the claims: a `permissions` array of names and/or an
 * OAuth `scope` string (space-separated), united. Names this server does not
 * know are ignored: identity providers put other services' scopes (`openid`,
 * `profile`...) in the same claim, and an unknown name grants nothing. A claim
 * of the wrong type makes the token invalid.
 */
export function permissionsFromClaims(claims: JWTPayload): Set<Grant> {
  const names: unknown[] = [];
  const { permissions, scope } = claims;
  if (permissions !== undefined) {
    if (!Array.isArray(permissions)) throw new Unauthorized('JWT claim "permissions" must be an array of strings', true);
    names.push(...permissions);
  }
  if (scope !== undefined) {
    if (typeof scope !== 'string') throw new Unauthorized('JWT claim "scope" must be a space-separated string', true);
    names.push(...scope.split(' '));
  }
  const out = new Set<Grant>();
  for (const n of names) {
    if (typeof n !== 'string') throw new Unauthorized('JWT claim "permissions" must be an array of strings', true);
    if (isGrant(n)) out.add(n);
  }
  return out;
}

/** The principal a verified token stands for; `sub` names it. */
export function principalFromClaims(claims: JWTPayload): Principal {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') throw new Unauthorized('JWT has no "sub" claim', true);
  if (sub.length > MAX_JWT_SUBJECT_LENGTH) throw new Unauthorized(`JWT "sub" is longer than ${MAX_JWT_SUBJECT_LENGTH} characters`, true);
  const permissions = permissionsFromClaims(claims);
  return { id: `jwt:${sub}`, kind: 'jwt', name: sub, permissions, access: tableAccessOf(permissions) };
}

/** A bearer token shaped like a JWS compact serialization: three base64url segments (the last may be empty, as with alg none). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** Why jose refused a token, in words safe to send (never the token). */
function refusal(e: unknown): Unauthorized {
  if (e instanceof Unauthorized) return e;
  if (e instanceof joseErrors.JWTExpired) return new Unauthorized('JWT has expired', true);
  if (e instanceof joseErrors.JWTClaimValidationFailed) return new Unauthorized(`JWT claim "${e.claim}" is invalid (${e.reason})`, true);
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return new Unauthorized('JWT algorithm is not accepted', true);
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return new Unauthorized('JWT signature is invalid', true);
  if (e instanceof joseErrors.JWKSNoMatchingKey) return new Unauthorized('no configured key matches the JWT', true);
  return new Unauthorized('invalid JWT', true);
}

export class JwtVerifier {
  private readonly verifyOpts: JWTVerifyOptions;
  private readonly verifyFn: Verify;
  /** token -> principal and the time (ms) its `exp` is reached. Only verified tokens, so guesses cannot fill it. */
  private readonly cache = new Map<string, { principal: Principal; untilMs: number }>();
  static readonly MAX_CACHED = 1024;
  readonly algorithms: readonly string[];
  private readonly clockSkewMs: number;

  /** Throws an Error naming the setting at fault (the caller makes it a configuration error). */
  constructor(o: JwtOptions) {
    const src = keySource(o);
    this.verifyFn = src.verify;
    this.algorithms = pinAlgorithms(src.algs, o.algorithms);
    this.clockSkewMs = o.clockSkewS * 1000;
    this.verifyOpts = {
      algorithms: [...this.algorithms],
      clockTolerance: o.clockSkewS,
      requiredClaims: ['exp', 'sub'],
      ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
      ...(o.audience !== undefined && o.audience.length > 0 ? { audience: [...o.audience] } : {}),
    };
  }

  /** The token is shaped like a JWT (and is this verifier's to judge). */
  isJwt(token: string): boolean {
    return JWT_SHAPE.test(token);
  }

  /** The principal for a token: synchronous when the token was verified before and has not expired, else a promise. */
  principal(token: string): Principal | Promise<Principal> {
    const hit = this.cache.get(token);
    if (hit !== undefined) {
      if (Date.now() < hit.untilMs) return hit.principal;
      this.cache.delete(token);
    }
    return this.verify(token);
  }

  private async verify(token: string): Promise<Principal> {
    let claims: JWTPayload;
    try {
      claims = await this.verifyFn(token, this.verifyOpts);
    } catch (e) {
      throw refusal(e);
    }
    // Cached only until `exp` (required, so set): an expired token is verified again, and refused.
    const untilMs = claims.exp! * 1000;
    // Requests are accepted until `exp` plus the clock tolerance; so are open connections (Principal.onEnd).
    const endsMs = untilMs + this.clockSkewMs;
    const principal: Principal = {
      ...principalFromClaims(claims),
      onEnd: (l) => timerAt(endsMs, () => l('expired')),
    };
    if (untilMs > Date.now()) {
      if (this.cache.size >= JwtVerifier.MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(token, { principal, untilMs });
    }
    return principal;
  }
}
