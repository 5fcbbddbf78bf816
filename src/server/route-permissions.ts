import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../paths.js';
import { PERMISSIONS, type Permission } from '../security/index.js';

/** The openapi.yaml of the package: parsed once per file. */
const docs = new Map<string, OpenApiDoc>();

export interface OpenApiDoc {
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
}

export function loadOpenApi(file = path.join(PACKAGE_ROOT, 'openapi.yaml')): OpenApiDoc {
  let doc = docs.get(file);
  if (!doc) docs.set(file, (doc = YAML.parse(fs.readFileSync(file, 'utf8')) as OpenApiDoc));
  return doc;
}

/**
 * What openapi.yaml says of a route: what it requires (`auth: false` for the
 * public routes, `x-permission: public`), its audit verb (`x-audit-action`)
 * and the status it answers on success (its first 2xx response).
 */
export interface Requirement {
  auth: boolean;
  permission: Permission | undefined;
  action: string;
  successStatus: number;
}

const ACTION = /^[A-Z][A-Z0-9_]{1,63}$/;

/** The value of `x-permission` for a route anyone may call (no Authorization needed). */
export const PUBLIC = 'public';
/** The value of `x-permission` for a route any valid credential may call, whatever its permissions (GET /api/whoami). */
export const AUTHENTICATED = 'authenticated';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * Every operation of openapi.yaml declares the permission it needs
 * (`x-permission`: a name of the `Permission` schema, `authenticated` or `public`), and the
 * server takes each route's requirement from there: the published contract
 * and the enforced one cannot drift apart. Each also names its audit verb
 * (`x-audit-action`). A route without an operation, an operation without
 * `x-permission` or `x-audit-action`, an unknown name, or `public` without
 * `security: []` (and the reverse) is a programming error found at start.
 */
export class RoutePermissions {
  private readonly byRoute = new Map<string, Requirement>();

  constructor(doc: OpenApiDoc) {
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
      for (const m of METHODS) {
        const op = item[m] as
          | { 'x-permission'?: unknown; 'x-audit-action'?: unknown; security?: unknown[]; responses?: Record<string, unknown> }
          | undefined;
        if (op === undefined) continue;
        const where = `openapi.yaml ${m.toUpperCase()} ${p}`;
        const x = op['x-permission'];
        if (x === undefined) throw new TypeError(`${where} declares no x-permission`);
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        if ((x === PUBLIC) !== isPublic) throw new TypeError(`${where}: x-permission "${String(x)}" disagrees with its security list`);
        if (x !== PUBLIC && x !== AUTHENTICATED && (typeof x !== 'string' || !(PERMISSIONS as readonly string[]).includes(x) || x === '*'))
          throw new TypeError(`${where}: x-permission "${String(x)}" is not a permission`);
        const action = op['x-audit-action'];
        if (typeof action !== 'string' || !ACTION.test(action))
          throw new TypeError(`${where} declares no x-audit-action (an UPPER_SNAKE verb)`);
        const ok = Object.keys(op.responses ?? {})
          .map(Number)
          .filter((c) => c >= 200 && c < 300)
          .sort((a, b) => a - b);
        const successStatus = ok[0] ?? 200;
        this.byRoute.set(
          `${m.toUpperCase()} ${p}`,
          x === PUBLIC
            ? { auth: false, permission: undefined, action, successStatus }
            : { auth: true, permission: x === AUTHENTICATED ? undefined : (x as Permission), action, successStatus },
        );
      }
    }
  }

  static fromOpenApi(file?: string): RoutePermissions {
    return new RoutePermissions(loadOpenApi(file));
  }

  /** The requirement of `method` on the router template `path` (`/entities/:key`); TypeError when openapi.yaml has no such operation. */
  of(method: string, routePath: string): Requirement {
    const p = routePath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const r = this.byRoute.get(`${method} ${p}`);
    if (!r) throw new TypeError(`route ${method} ${routePath} has no operation in openapi.yaml (and so no x-permission)`);
    return r;
  }
}
