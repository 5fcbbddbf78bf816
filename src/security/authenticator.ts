import { ALL_TABLES } from '../access.js';
import { Unauthorized } from './unauthorized.js';
import type { Permission, Principal } from './principal.js';
import { hashSecret } from './secrets.js';
import type { JwtVerifier } from './jwt.js';

const ALL: ReadonlySet<Permission> = new Set<Permission>(['*', 'admin']);

/**
 * Looks a token up in another credential store (the API keys) by its SHA-256
 * hash; `token` only to tell its shape (never keep or log it). May throw
 * (e.g. UNAVAILABLE while that store is reopening).
 */
export type CredentialResolver = (hash: string, token: string) => Principal | undefined;

/**
 * Resolves bearer tokens to principals. Tokens are looked up by their
 * SHA-256 hash, so the process never keeps a secret it did not just receive.
 */
export class Authenticator {
  private readonly byHash = new Map<string, Principal>();
  /**
   * Recently verified Authorization header values -> principal, so the hash
   * is not recomputed on every request of a keep-alive client. In memory
   * only (never written or logged), bounded, and only for valid tokens, so
   * failed guesses cannot fill it. Cleared whenever credentials change.
   */
  private readonly verified = new Map<string, Principal>();
  private static readonly MAX_VERIFIED = 1024;
  /** Set when JWTs are configured (THEMIS_JWT_*): bearer tokens shaped like a JWT go to it. */
  private jwt: JwtVerifier | undefined;

  /** Accept JWT bearer tokens verified by `verifier`. */
  setJwtVerifier(verifier: JwtVerifier): void {
    this.jwt = verifier;
  }

  private readonly resolvers = new Set<CredentialResolver>();

  /** Consult `resolver` for tokens that are not the admin key; returns the function that removes it again. */
  addResolver(resolver: CredentialResolver): () => void {
    this.resolvers.add(resolver);
    return () => {
      this.resolvers.delete(resolver);
      this.verified.clear();
    };
  }

  /** Forget every cached verification (credentials changed). */
  invalidate(): void {
    this.verified.clear();
  }

  /** Register the admin credential stored in `<data>/admin.key`. */
  addAdminHash(keyId: string, hash: string): void {
    this.verified.clear();
    this.byHash.set(hash, { id: keyId, kind: 'admin', name: 'admin', permissions: ALL, access: ALL_TABLES });
  }

  /** Register a secret given in configuration (THEMIS_ADMIN_KEY); only its hash is kept. */
  addAdminSecret(secret: string): void {
    this.verified.clear();
    this.byHash.set(hashSecret(secret), {
      id: 'env-admin',
      kind: 'admin',
      name: 'admin (THEMIS_ADMIN_KEY)',
      permissions: ALL,
      access: ALL_TABLES,
    });
  }

  /**
   * Principal for an Authorization header value; throws (or rejects with) UNAUTHORIZED.
   * Synchronous for API keys and JWTs verified before; a promise only while a new JWT is verified.
   */
  authenticate(authorization: string): Principal | Promise<Principal> {
    // JWT branch: API keys hold no '.', so this costs them one character scan.
    if (this.jwt !== undefined && authorization.includes('.')) {
      const t = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1];
      if (t !== undefined && this.jwt.isJwt(t)) return this.jwt.principal(t);
    }
    const cached = this.verified.get(authorization);
    if (cached) {
      if (cached.live === undefined || cached.live()) {
        cached.touch?.();
        return cached;
      }
      // Revoked, changed or expired since it was cached: look it up again (a changed key resolves to its new principal).
      this.verified.delete(authorization);
    }
    if (authorization === '') throw new Unauthorized('missing bearer token', false);
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!m) throw new Unauthorized('Authorization header must be "Bearer <token>"', true);
    const token = m[1]!;
    const hash = hashSecret(token);
    let p = this.byHash.get(hash);
    if (!p) {
      for (const r of this.resolvers) {
        p = r(hash, token);
        if (p) break;
      }
    }
    if (!p || (p.live !== undefined && !p.live())) throw new Unauthorized('invalid bearer token', true);
    if (this.verified.size >= Authenticator.MAX_VERIFIED) this.verified.clear();
    this.verified.set(authorization, p);
    p.touch?.();
    return p;
  }
}
