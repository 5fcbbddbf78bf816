export { Authenticator, type CredentialResolver } from './authenticator.js';
export { Unauthorized } from './unauthorized.js';
export { bootstrapAdminKey, ADMIN_KEY_FILE, type AdminKeyRecord, type AdminKeyBootstrap } from './admin-key.js';
export { timerAt, type CredentialEnd, type CredentialEndListener } from './credential-end.js';
export { can, isGrant, tableAccessOf, PERMISSIONS, type Grant, type Permission, type Principal, type ScopedGrant } from './principal.js';
export { hashSecret, generateSecret, generateKeyId } from './secrets.js';
export {
  JwtVerifier,
  JWT_ALGORITHMS,
  MIN_JWT_SECRET_BYTES,
  permissionsFromClaims,
  principalFromClaims,
  looksLikeJwt,
  type JwtOptions,
} from './jwt.js';
export { TokenBuckets, parseRateLimit, formatRateLimit, DEFAULT_MAX_KEYS, type RateLimit, type Verdict } from './rate-limit.js';
export { API_KEY_PREFIX, ApiKeyStore, type ApiKeyInfo, type CreatedApiKey, type ApiKeyStoreOptions } from './api-keys.js';
export { ApiKeys } from './module.js';
