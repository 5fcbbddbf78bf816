/**
 * Miscellaneous AQL functions: NOT_NULL/COALESCE, FIRST_LIST,
 * FIRST_DOCUMENT, ASSERT and WARN; PASSTHRU and the optimizer hints, FAIL,
 * SLEEP, CALL/APPLY, MIN_MATCH, CHECK_DOCUMENT, DECODE_REV, HASH, VERSION,
 * CURRENT_USER/CURRENT_DATABASE, MINHASH_COUNT/MINHASH_ERROR and
 * SCHEMA_VALIDATE.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { ThemisError } from '../../errors.js';
import type { AqlValue } from '../ast.js';
import { Pending, sizeOf, timeoutError, type Val } from '../governor.js';
import { hashKey, isObject, numberOrNull, toJson, truthy } from '../values.js';
import { invalidArg, strOf } from './helpers.js';
import { WarningCodes } from '../warnings.js';
import { checkFunction, ENGINE_FUNCTIONS, type FnContext, FUNCTIONS, functionTable, type FunctionTable } from './registry.js';
import { fnv1a64 } from './string-extra.js';

const { table, def } = functionTable();

/** The miscellaneous functions, for index.ts to register. */
export const MISC_FUNCTIONS: FunctionTable = table;

def(['NOT_NULL', 'COALESCE'], 1, Infinity, (a, ctx) => {
  for (const v of a) if (v !== null && v !== undefined) return v;
  return null;
});
def('FIRST_LIST', 1, Infinity, (a, ctx) => {
  for (const v of a) if (Array.isArray(v)) return v;
  return null;
});
def('FIRST_DOCUMENT', 1, Infinity, (a, ctx) => {
  for (const v of a) if (isObject(v)) return v;
  return null;
});
def('ASSERT', 2, 2, (a, ctx) => {
  if (!truthy(a[0])) throw new ThemisError('VALIDATION_FAILED', `assertion failed: ${strOf(a[1], ctx)}`);
  return true;
});
/** WARN(expr, message): false with warning 1594 (ERROR_QUERY_USER_WARN, the message as given) for a falsy expr, else true; a message that is not a string: null with warning 1542. */
def('WARN', 2, 2, (a, ctx) => {
  const message = a[1];
  if (typeof message !== 'string') return invalidArg(ctx, 'WARN');
  if (truthy(a[0])) return true;
  ctx.warn?.(message, WarningCodes.USER_WARN);
  return false;
});

// ---------------------------------------------------------------------------
// ArangoDB 3.12's other miscellaneous functions.

/** PASSTHRU, NOOPT, NOEVAL and V8 return their argument (the optimizer hints have no effect here). */
def(['PASSTHRU', 'NOOPT', 'NOEVAL', 'V8'], 1, 1, (a) => a[0]!);

/** FAIL(reason): fails the query (ArangoDB error 1569, "FAIL(reason) called"). */
def('FAIL', 0, 1, (a, ctx) => {
  const reason = a.length > 0 ? strOf(a[0], ctx) : '';
  throw new ThemisError('VALIDATION_FAILED', `FAIL(${reason}) called`, { details: { function: 'FAIL' } });
});

/**
 * SLEEP(seconds): waits, then returns null. Inside a query the wait gives
 * the event loop its turn; a sleep past the query's deadline ends it there
 * with the query timeout.
 */
def('SLEEP', 1, 1, (a, ctx) => {
  const v = a[0];
  // warning: ArangoDB 1542 (function argument type mismatch) for a non-number or a negative one
  if (typeof v !== 'number' || !(v >= 0)) return invalidArg(ctx, 'SLEEP');
  const ms = v * 1000;
  if (ms === 0) return null;
  const gov = ctx.gov;
  // Outside a query (no governor, no deadline) there is nothing to wait for.
  if (gov === undefined) return null;
  const remaining = Math.max(0, gov.deadline - Date.now());
  const wait = Math.min(ms, remaining, 2_147_483_647);
  const late = ms > remaining;
  if (gov.canYield) {
    return new Pending(
      new Promise<AqlValue>((resolve, reject) => {
        setTimeout(() => (late ? reject(timeoutError()) : resolve(null)), wait);
      }),
    );
  }
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  if (late) throw timeoutError();
  return null;
});

/** CALL/APPLY: a built-in function by name (case-insensitive); unknown names and wrong argument counts fail the query. */
function dynamicCall(fn: string, nameArg: AqlValue | undefined, args: AqlValue[], ctx: FnContext): Val {
  if (typeof nameArg !== 'string')
    throw new ThemisError('VALIDATION_FAILED', `${fn}(): the function name must be a string`, { details: { function: fn } });
  const name = nameArg.toUpperCase();
  if (name.includes('::'))
    throw new ThemisError(
      'VALIDATION_FAILED',
      `${fn}(): user-defined function ${name}() not found (user-defined functions are not supported)`,
      {
        details: { function: name },
      },
    );
  if (ENGINE_FUNCTIONS.has(name))
    throw new ThemisError('VALIDATION_FAILED', `${fn}(): ${name}() must be called directly, not through ${fn}()`, {
      details: { function: name },
    });
  checkFunction(name, args.length); // unknown function or wrong argument count: a query error
  return FUNCTIONS.get(name)!.fn(args, ctx);
}

def('CALL', 1, Infinity, (a, ctx) => dynamicCall('CALL', a[0], a.slice(1), ctx));
def('APPLY', 1, 2, (a, ctx) => {
  const args = a.length > 1 ? a[1] : null;
  // warning: ArangoDB 1542 (function argument type mismatch) for arguments that are not an array
  if (args !== null && args !== undefined && !Array.isArray(args)) return invalidArg(ctx, 'APPLY');
  return dynamicCall('APPLY', a[0], Array.isArray(args) ? args : [], ctx);
});

/** MIN_MATCH(expr1, ..., exprN, minMatchCount): whether at least minMatchCount of the expressions are truthy. */
def('MIN_MATCH', 2, Infinity, (a, ctx) => {
  const min = a[a.length - 1];
  // warning: ArangoDB 1542 (function argument type mismatch) for a non-numeric count
  if (typeof min !== 'number') return invalidArg(ctx, 'MIN_MATCH');
  let need = Math.trunc(min);
  if (need <= 0) return true;
  for (let i = 0; i < a.length - 1; i++) if (truthy(a[i]) && --need === 0) return true;
  return false;
});

/** CHECK_DOCUMENT: true for an object (values here never hold duplicate attribute names), false otherwise. */
def('CHECK_DOCUMENT', 1, 1, (a) => isObject(a[0]));

/** The alphabet of ArangoDB's `_rev` strings (hybrid logical clock values, 6 bits a character). */
const REV_ALPHABET = '-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** DECODE_REV(rev): `{date, count}` of an ArangoDB revision string (ms timestamp << 20 | counter). */
def('DECODE_REV', 1, 1, (a, ctx) => {
  const rev = a[0];
  // warning: ArangoDB 1542 (function argument type mismatch) for anything that is not a revision string
  if (typeof rev !== 'string' || rev === '' || rev.length > 11) return invalidArg(ctx, 'DECODE_REV');
  let value = 0n;
  for (const c of rev) {
    const digit = REV_ALPHABET.indexOf(c);
    if (digit < 0) return invalidArg(ctx, 'DECODE_REV');
    value = (value << 6n) | BigInt(digit);
  }
  const ms = Number(value >> 20n);
  const count = Number(value & 0xfffffn);
  if (value === 0n || ms > 253_402_300_799_999) return invalidArg(ctx, 'DECODE_REV');
  return { date: new Date(ms).toISOString(), count };
});

/**
 * HASH(value): a number (below 2^52) that is equal for equal values, by
 * type (1 and "1" differ) and regardless of attribute order. Not
 * ArangoDB's numbers: its algorithm is unspecified and may change.
 */
def('HASH', 1, 1, (a, ctx) => {
  const v = a[0];
  const gov = ctx.gov;
  if (gov !== undefined && v !== null && typeof v === 'object') gov.charge(sizeOf(v, gov.maxDepth, ctx.texts));
  return Number(fnv1a64(Buffer.from(hashKey(v), 'utf8')) & 0xfffffffffffffn);
});

/** VERSION(): the ArangoDB version whose AQL this implements (docs/aql.md). */
export const ARANGO_VERSION = '3.12.0';
def('VERSION', 0, 0, () => ARANGO_VERSION);

def('CURRENT_USER', 0, 0, (_a, ctx) => ctx.user ?? null);
def('CURRENT_DATABASE', 0, 0, (_a, ctx) => ctx.database ?? '_system');

/** MINHASH_COUNT(error): the MinHash signature size for at most `error` (0 < error < 1). */
def('MINHASH_COUNT', 1, 1, (a, ctx) => {
  const e = a[0];
  // warning: ArangoDB 1542 / 1504 for a non-number or one outside (0, 1)
  if (typeof e !== 'number' || !(e > 0 && e < 1)) return invalidArg(ctx, 'MINHASH_COUNT');
  return numberOrNull(Math.ceil(1 / (e * e)));
});

/** MINHASH_ERROR(numHashes): the error a MinHash signature of that size allows (1/sqrt(n)). */
def('MINHASH_ERROR', 1, 1, (a, ctx) => {
  const n = a[0];
  // warning: ArangoDB 1542 / 1504 for a non-number or one below 1
  if (typeof n !== 'number' || !(Math.trunc(n) >= 1)) return invalidArg(ctx, 'MINHASH_ERROR');
  return 1 / Math.sqrt(Math.trunc(n));
});

const schemaCache = new Map<string, ValidateFunction>();
let ajv: Ajv | undefined;

/**
 * SCHEMA_VALIDATE(doc, schema): `{valid: true}`, or `{valid: false,
 * errorMessage}` (the schema's `message`), for a schema as ArangoDB's
 * collections take it (`{rule, level, message}`, `rule` a JSON Schema). A
 * null or empty schema accepts every object; a document that is not an
 * object is null with a warning; an invalid rule fails the query.
 */
def('SCHEMA_VALIDATE', 2, 2, (a, ctx): AqlValue => {
  const doc = a[0];
  const schema = a[1];
  // warning: ArangoDB 1542 (function argument type mismatch): "expecting document object"
  if (!isObject(doc)) return invalidArg(ctx, 'SCHEMA_VALIDATE');
  if (schema === null || schema === undefined || (isObject(schema) && Object.keys(schema).length === 0)) return { valid: true };
  // warning: ArangoDB 1542: "expecting schema object"
  if (!isObject(schema)) return invalidArg(ctx, 'SCHEMA_VALIDATE');
  const rule = schema.rule;
  if (!isObject(rule)) throw new ThemisError('VALIDATION_FAILED', "SCHEMA_VALIDATE(): the schema needs a 'rule' object (a JSON Schema)");
  const key = toJson(rule);
  let validate = schemaCache.get(key);
  if (validate === undefined) {
    ajv ??= new Ajv({ strict: false, allErrors: false });
    try {
      validate = ajv.compile(rule as object);
    } catch (err) {
      throw new ThemisError('VALIDATION_FAILED', `SCHEMA_VALIDATE(): invalid schema rule: ${(err as Error).message}`);
    }
    if (schemaCache.size >= 64) schemaCache.delete(schemaCache.keys().next().value!);
    schemaCache.set(key, validate);
  }
  if (validate(JSON.parse(toJson(doc)))) return { valid: true };
  const message = typeof schema.message === 'string' ? schema.message : 'Schema violation';
  return { valid: false, errorMessage: message };
});
