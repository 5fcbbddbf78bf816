import type { components } from '../api/types.js';
import type { RouteSpec } from './router.js';
import type { AnyReply, ApiRequest } from './types.js';

/** A request schema of openapi.yaml (components.schemas). */
export type SchemaName = keyof components['schemas'];

/** The TypeScript type of a schema, generated from openapi.yaml (`npm run gen:types` writes src/api/types.ts). */
export type Body<N extends SchemaName> = components['schemas'][N];

/** What a route with a body schema sees: `body` already validated against that schema. */
export interface ValidatedRequest<B> extends ApiRequest {
  readonly body: B;
}

type Reply_ = AnyReply | Promise<AnyReply>;

type BodyRouteSpec<N extends SchemaName, B> = Omit<RouteSpec, 'body' | 'handler' | 'bodyOptional'> & {
  body: N;
  handler: (req: ValidatedRequest<B>) => Reply_;
};

/**
 * A route whose handler receives its body typed by the schema it names. The
 * dispatcher validates the body against `body` before the handler runs (one
 * place, ajv from openapi.yaml), so the schema name and the handler's type
 * cannot drift apart and the handler does not check what the schema says.
 */
/** `bodyOptional: true`: an empty body reaches the handler as undefined. */
export function withBody<N extends SchemaName>(spec: BodyRouteSpec<N, Body<N> | undefined> & { bodyOptional: true }): RouteSpec;
export function withBody<N extends SchemaName>(spec: BodyRouteSpec<N, Body<N>>): RouteSpec;
export function withBody(spec: RouteSpec): RouteSpec {
  return spec;
}
