/**
 * @themis-ts/client: a typed client for ThemisTS. `ThemisClient.api` is the raw openapi-fetch client
 * over every operation of openapi.yaml (types in ./schema.ts, generated); the rest are conveniences
 * where types alone are clumsy: the `aql` tag, cursors, transactions with retry, the change feed.
 */
export { aql, AqlCollection, AqlLiteral, isAqlQuery, type AqlQuery, type AqlTag } from './aql.js';
export {
  AqlCursor,
  ThemisClient,
  ThemisSession,
  Transaction,
  unwrap,
  type AqlRequest,
  type AqlResponse,
  type ChangeEvent,
  type ChangeFeedOptions,
  type CursorOptions,
  type EntityResponse,
  type EntityWriteResponse,
  type Isolation,
  type QueryOptions,
  type SessionInit,
  type ThemisApi,
  type ThemisClientOptions,
  type TransactionOptions,
} from './client.js';
export { ThemisError, isConflict, type ThemisErrorBody } from './errors.js';
export type { components, operations, paths } from './schema.js';
