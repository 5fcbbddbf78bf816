import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { ThemisError } from '../errors.js';
import { loadOpenApi } from './route-permissions.js';

const REF_PREFIX = '#/components/schemas/';

/**
 * Request-body validators compiled once at start from `openapi.yaml`
 * (components.schemas), so the published contract and the server's checks
 * cannot drift apart. `$ref`s between components are rewritten to schema ids.
 */
export class SchemaRegistry {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly schemas: Record<string, unknown>) {
    // strict: false lets OpenAPI annotations (example, ...) pass as unknown keywords.
    this.ajv = new Ajv2020({ allErrors: false, strict: false, coerceTypes: false });
    for (const [name, schema] of Object.entries(schemas)) {
      this.ajv.addSchema(rewriteRefs(schema) as object, name);
    }
  }

  static fromOpenApi(file?: string): SchemaRegistry {
    return new SchemaRegistry(loadOpenApi(file).components?.schemas ?? {});
  }

  has(name: string): boolean {
    return Object.hasOwn(this.schemas, name);
  }

  /** Compile (once) and return the validator; throws TypeError for unknown names (a programming error). */
  validator(name: string): ValidateFunction {
    let v = this.compiled.get(name);
    if (!v) {
      v = this.ajv.getSchema(name);
      if (!v) throw new TypeError(`no schema named ${name} in openapi.yaml`);
      this.compiled.set(name, v);
    }
    return v;
  }

  /** Throws VALIDATION_FAILED naming the offending field. */
  validate(name: string, value: unknown): void {
    const v = this.validator(name);
    if (!v(value)) throw new ThemisError('VALIDATION_FAILED', describeError(v.errors?.[0]), { details: { field: fieldOf(v.errors?.[0]) } });
  }
}

function fieldOf(e: ErrorObject | undefined): string {
  if (!e) return '';
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : undefined;
  const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
  // A `propertyNames` failure (e.g. a filter field that is not a field path) names the key itself.
  const leaf = missing ?? extra ?? e.propertyName;
  return leaf ? (base ? `${base}.${leaf}` : leaf) : base;
}

function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'request body is invalid';
  const field = fieldOf(e);
  switch (e.keyword) {
    case 'required':
      return `missing required field "${field}"`;
    case 'additionalProperties':
      return `unknown field "${field}"`;
    case 'type':
      return field === ''
        ? `request body must be ${article((e.params as { type: string | string[] }).type)}`
        : `field "${field}" must be ${article((e.params as { type: string | string[] }).type)}`;
    default:
      return field === '' ? `request body ${e.message ?? 'is invalid'}` : `field "${field}" ${e.message ?? 'is invalid'}`;
  }
}

function article(t: string | string[]): string {
  const types = Array.isArray(t) ? t : t.split(',');
  const words = types.map((x) => (/^[aeiou]/.test(x) ? `an ${x}` : `a ${x}`));
  return words.join(' or ');
}

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith(REF_PREFIX) ? v.slice(REF_PREFIX.length) : rewriteRefs(v);
    }
    return out;
  }
  return node;
}
