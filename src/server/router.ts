import { ThemisError } from '../errors.js';
import type { Permission } from '../security/index.js';
import type { Handler } from './types.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface RouteSpec {
  method: Method;
  /** Path template; `:name` marks a parameter spanning one path segment. */
  path: string;
  handler: Handler;
  /** Bearer authentication required (default true). */
  auth?: boolean;
  /** Permission the principal needs (checked after authentication). */
  permission?: Permission;
  /** Name of the request-body schema in openapi.yaml (components.schemas); implies a JSON body. */
  body?: string;
  /** An empty body is allowed (the handler sees `body` undefined); a non-empty one is still validated. */
  bodyOptional?: boolean;
  /**
   * The body is raw bytes the handler reads as they arrive (`req.bodyStream()`), not JSON: not
   * collected, parsed or validated. At most `maxBytes` (413 PAYLOAD_TOO_LARGE beyond; a declared
   * Content-Length beyond is refused before the handler runs). Excludes `body`.
   */
  rawBody?: RawBody;
  /** Request headers (lower case) the handler reads beyond the always-captured ones. */
  headers?: readonly string[];
  /**
   * An extra rate limit on top of the principal's: `'audit'` for the audit and report endpoints
   * (THEMIS_RATE_LIMIT_AUDIT per principal, default 100/min; src/server/rate-limit.ts).
   */
  rateLimit?: RouteRateLimit;
  /** The audit verb (openapi.yaml `x-audit-action`; filled in by createHttpServer). */
  action?: string;
  /** The status the route answers on success (its first 2xx response in openapi.yaml). */
  successStatus?: number;
  /**
   * What the audit entry says the request was about, where the defaults (path `key`/`keyId`, body
   * `table`/`key`/`transaction_id`, reply `table`) do not fit: key management's ids and values.
   */
  audit?: (r: AuditedRequest) => AuditSubject;
}

export type RouteRateLimit = 'audit';

/** A route's raw (streamed) request body (`RouteSpec.rawBody`). */
export interface RawBody {
  /** Most bytes accepted. */
  maxBytes: number;
}

/** What a route's `audit` callback sees of a finished request (a `ResponseInfo` is one). */
export interface AuditedRequest {
  readonly status: number;
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly reply: unknown;
}

/** The subject of a request's audit entry (src/server/audit.ts). */
export interface AuditSubject {
  entityType?: string | null;
  entityId?: string | null;
  oldValue?: string | null;
  newValue?: string | null;
}

export interface Route extends Required<Pick<RouteSpec, 'method' | 'path' | 'handler' | 'auth'>> {
  permission: Permission | undefined;
  body: string | undefined;
  rawBody: RawBody | undefined;
  headers: readonly string[] | undefined;
  bodyOptional: boolean;
  rateLimit: RouteRateLimit | undefined;
  action: string;
  successStatus: number;
  audit: ((r: AuditedRequest) => AuditSubject) | undefined;
  readonly segments: readonly string[];
  readonly paramNames: readonly string[];
  /** For templates `/static/.../:param` (one parameter, last): the static prefix, matched without splitting. */
  readonly tailParamPrefix: string | undefined;
  /** Builds the params object of a tail-param route with a fixed shape (no computed keys per request). */
  readonly tailParams: ((value: string) => Record<string, string>) | undefined;
}

export type Match =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allowed: Method[] }
  | { kind: 'not_found' };

/**
 * A small router: exact paths resolve by one Map lookup; templates with
 * parameters are tried in registration order, segment by segment. Path
 * parameters are percent-decoded after splitting, so an encoded `/` (`%2F`)
 * stays inside its parameter.
 */
export class Router {
  private readonly exact = new Map<string, Map<Method, Route>>();
  private readonly templated: Route[] = [];

  add(spec: RouteSpec): this {
    if (spec.rawBody !== undefined) {
      if (spec.body !== undefined) throw new TypeError(`route ${spec.method} ${spec.path}: body and rawBody exclude each other`);
      const m = spec.rawBody.maxBytes;
      if (!Number.isSafeInteger(m) || m < 0)
        throw new TypeError(`route ${spec.method} ${spec.path}: rawBody.maxBytes must be a byte count`);
    }
    const segments = split(spec.path);
    const paramNames = segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1));
    const route: Route = {
      method: spec.method,
      path: spec.path,
      handler: spec.handler,
      auth: spec.auth ?? true,
      permission: spec.permission,
      body: spec.body,
      rawBody: spec.rawBody,
      headers: spec.headers,
      bodyOptional: spec.bodyOptional ?? false,
      rateLimit: spec.rateLimit,
      action: spec.action ?? `${spec.method}_${spec.path}`,
      successStatus: spec.successStatus ?? 200,
      audit: spec.audit,
      segments,
      paramNames,
      tailParamPrefix:
        paramNames.length === 1 && segments[segments.length - 1]!.startsWith(':')
          ? `/${segments
              .slice(0, -1)
              .map((x) => `${x}/`)
              .join('')}`
          : undefined,
      tailParams: paramNames.length === 1 ? paramObject(paramNames[0]!) : undefined,
    };
    if (paramNames.length === 0) {
      const key = `/${segments.join('/')}`;
      let byMethod = this.exact.get(key);
      if (!byMethod) this.exact.set(key, (byMethod = new Map()));
      if (byMethod.has(spec.method)) throw new TypeError(`duplicate route ${spec.method} ${spec.path}`);
      byMethod.set(spec.method, route);
    } else {
      this.templated.push(route);
    }
    return this;
  }

  routes(): Route[] {
    return [...[...this.exact.values()].flatMap((m) => [...m.values()]), ...this.templated];
  }

  match(method: string, rawPath: string): Match {
    const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
    const allowed = new Set<Method>();
    const byMethod = this.exact.get(path);
    if (byMethod) {
      const r = byMethod.get(method as Method);
      if (r) return { kind: 'route', route: r, params: {} };
      for (const m of byMethod.keys()) allowed.add(m);
    }
    if (this.templated.length > 0) {
      let segs: string[] | undefined;
      for (const r of this.templated) {
        const pre = r.tailParamPrefix;
        if (pre !== undefined) {
          // Fast path: static prefix, then one non-empty segment.
          if (path.length > pre.length && path.startsWith(pre) && path.indexOf('/', pre.length) < 0) {
            if (r.method === method) return { kind: 'route', route: r, params: r.tailParams!(decodeSegment(path.slice(pre.length))) };
            allowed.add(r.method);
          }
          continue;
        }
        segs ??= split(path);
        if (r.segments.length !== segs.length) continue;
        const params = matchSegments(r, segs);
        if (!params) continue;
        if (r.method === method) return { kind: 'route', route: r, params };
        allowed.add(r.method);
      }
    }
    if (allowed.size > 0) return { kind: 'method_not_allowed', allowed: [...allowed] };
    return { kind: 'not_found' };
  }
}

/** A params factory whose objects all share one hidden class. */
function paramObject(name: string): (value: string) => Record<string, string> {
  if (name === 'key') return (value) => ({ key: value });
  if (name === 'id') return (value) => ({ id: value });
  return (value) => {
    const o: Record<string, string> = {};
    o[name] = value;
    return o;
  };
}

function split(path: string): string[] {
  return path.split('/').filter((s, i) => i > 0 || s !== '');
}

function matchSegments(r: Route, segs: string[]): Record<string, string> | null {
  let params: Record<string, string> | null = null;
  for (let i = 0; i < segs.length; i++) {
    const t = r.segments[i]!;
    const s = segs[i]!;
    if (t.charCodeAt(0) === 58 /* : */) {
      if (s === '') return null;
      (params ??= {})[t.slice(1)] = decodeSegment(s);
    } else if (t !== s) {
      return null;
    }
  }
  return params ?? {};
}

function decodeSegment(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ThemisError('BAD_REQUEST', `malformed percent-encoding in path segment "${s.slice(0, 80)}"`);
  }
}
