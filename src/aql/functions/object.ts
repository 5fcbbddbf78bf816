/**
 * AQL document and object functions: attributes, KEEP/UNSET, MERGE,
 * MATCHES, and document identifiers (PARSE_IDENTIFIER and friends).
 */
import type { AqlValue } from '../ast.js';
import { sizeOf, STOP } from '../governor.js';
import { type AqlObject, compareStrings, equals, getAttribute, hasAttribute, isObject, setAttribute, truthy } from '../values.js';
import { charge, hashEntryBytes, invalidArg, loop, str, strOf, warn } from './helpers.js';
import type { AqlFunction, FnContext } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The document and object functions, for index.ts to register. */
export const OBJECT_FUNCTIONS: FunctionTable = table;

function isSystemAttribute(name: string): boolean {
  return name.charCodeAt(0) === 95; // '_'
}

/** Names from `KEEP(doc, "a", "b")` or `KEEP(doc, ["a", "b"])`. */
function attributeNameArgs(args: AqlValue[], from: number, ctx: FnContext): string[] {
  const out: string[] = [];
  const add = (x: AqlValue | undefined): void => {
    const n = strOf(x, ctx);
    charge(ctx, hashEntryBytes(n));
    out.push(n);
  };
  for (let i = from; i < args.length; i++) {
    const a = args[i];
    if (Array.isArray(a)) for (const x of a) add(x);
    else add(a);
  }
  return out;
}

function objectArg(ctx: FnContext, fn: string, v: AqlValue | undefined): AqlObject | null {
  return isObject(v) ? v : invalidArg(ctx, fn);
}

def('HAS', 2, 2, (a, ctx) => {
  const o = a[0];
  return isObject(o) ? hasAttribute(o, strOf(a[1], ctx)) : false;
});

def(['ATTRIBUTES', 'KEYS'], 1, 3, (a, ctx) => {
  const o = objectArg(ctx, 'ATTRIBUTES', a[0]);
  if (o === null) return null;
  let names = Object.getOwnPropertyNames(o);
  if (truthy(a[1])) names = names.filter((n) => !isSystemAttribute(n));
  if (truthy(a[2])) names.sort(compareStrings);
  return names;
});

def('VALUES', 1, 2, (a, ctx) => {
  const o = objectArg(ctx, 'VALUES', a[0]);
  if (o === null) return null;
  const skip = truthy(a[1]);
  const out: AqlValue[] = [];
  for (const n of Object.getOwnPropertyNames(o)) if (!skip || !isSystemAttribute(n)) out.push(o[n] as AqlValue);
  return out;
});

def('ENTRIES', 1, 1, (a, ctx) => {
  const o = objectArg(ctx, 'ENTRIES', a[0]);
  if (o === null) return null;
  const names = Object.getOwnPropertyNames(o);
  charge(ctx, 16 + 56 * names.length);
  return names.map((n) => [n, o[n] as AqlValue]);
});

def('KEEP', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'KEEP', a[0]);
  if (o === null) return null;
  const keep = new Set(attributeNameArgs(a, 1, ctx));
  const out: AqlObject = {};
  for (const n of Object.getOwnPropertyNames(o)) if (keep.has(n)) setAttribute(out, n, o[n] as AqlValue);
  return out;
});

def('UNSET', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'UNSET', a[0]);
  if (o === null) return null;
  const drop = new Set(attributeNameArgs(a, 1, ctx));
  const out: AqlObject = {};
  for (const n of Object.getOwnPropertyNames(o)) if (!drop.has(n)) setAttribute(out, n, o[n] as AqlValue);
  return out;
});

function keepRecursive(v: AqlValue, names: Set<string>, keep: boolean): AqlValue {
  if (Array.isArray(v)) return v.map((x) => keepRecursive(x, names, keep));
  if (!isObject(v)) return v;
  const out: AqlObject = {};
  for (const n of Object.getOwnPropertyNames(v))
    if (names.has(n) === keep) setAttribute(out, n, keepRecursive(v[n] as AqlValue, names, keep));
  return out;
}

def('KEEP_RECURSIVE', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'KEEP_RECURSIVE', a[0]);
  if (o !== null && ctx.gov !== undefined) ctx.gov.charge(sizeOf(o, ctx.gov.maxDepth, ctx.texts));
  return o === null ? null : keepRecursive(o, new Set(attributeNameArgs(a, 1, ctx)), true);
});

def('UNSET_RECURSIVE', 2, Infinity, (a, ctx) => {
  const o = objectArg(ctx, 'UNSET_RECURSIVE', a[0]);
  if (o !== null && ctx.gov !== undefined) ctx.gov.charge(sizeOf(o, ctx.gov.maxDepth, ctx.texts));
  return o === null ? null : keepRecursive(o, new Set(attributeNameArgs(a, 1, ctx)), false);
});

function mergeInto(out: AqlObject, o: AqlObject, recursive: boolean): void {
  for (const n of Object.getOwnPropertyNames(o)) {
    const v = o[n] as AqlValue;
    if (recursive && isObject(v) && hasAttribute(out, n) && isObject(out[n])) {
      const inner: AqlObject = {};
      mergeInto(inner, out[n] as AqlObject, false);
      mergeInto(inner, v, true);
      setAttribute(out, n, inner);
    } else setAttribute(out, n, v);
  }
}

function mergeFn(name: string, recursive: boolean): AqlFunction {
  return (a, ctx) => {
    const docs = a.length === 1 && Array.isArray(a[0]) ? (a[0] as AqlValue[]) : a;
    const out: AqlObject = {};
    let bad = false;
    return loop(
      ctx,
      docs.length,
      (i) => {
        const d = docs[i];
        if (!isObject(d)) {
          bad = true;
          return STOP;
        }
        const gov = ctx.gov;
        // Recursive merges copy nested objects; plain ones add one slot per attribute.
        if (gov !== undefined) gov.charge(recursive ? sizeOf(d, gov.maxDepth, ctx.texts) : 16 * Object.getOwnPropertyNames(d).length);
        mergeInto(out, d, recursive);
        return undefined;
      },
      () => (bad ? invalidArg(ctx, name) : out),
      64,
    );
  };
}
def('MERGE', 1, Infinity, mergeFn('MERGE', false));
def('MERGE_RECURSIVE', 1, Infinity, mergeFn('MERGE_RECURSIVE', true));

def('ZIP', 2, 2, (a, ctx) => {
  const keys = a[0];
  const values = a[1];
  if (!Array.isArray(keys) || !Array.isArray(values) || keys.length !== values.length) return invalidArg(ctx, 'ZIP');
  charge(ctx, 24 + 48 * keys.length);
  const out: AqlObject = {};
  for (let i = 0; i < keys.length; i++) {
    const k = str(keys[i]);
    if (!hasAttribute(out, k)) setAttribute(out, k, values[i]!);
  }
  return out;
});

def('TRANSLATE', 2, 3, (a, ctx) => {
  const lookup = objectArg(ctx, 'TRANSLATE', a[1]);
  if (lookup === null) return null;
  const k = strOf(a[0], ctx);
  if (hasAttribute(lookup, k)) return lookup[k] as AqlValue;
  return a.length > 2 ? a[2]! : a[0]!;
});

def('VALUE', 2, 2, (a, ctx) => {
  const path = a[1];
  if (!isObject(a[0]) || !Array.isArray(path)) return invalidArg(ctx, 'VALUE');
  let cur: AqlValue = a[0];
  for (const p of path) {
    if (typeof p === 'number' && Array.isArray(cur)) {
      const i: number = Math.trunc(p) < 0 ? cur.length + Math.trunc(p) : Math.trunc(p);
      cur = i >= 0 && i < cur.length ? cur[i]! : null;
    } else if (typeof p === 'string' && isObject(cur)) cur = getAttribute(cur, p);
    else return null;
  }
  return cur;
});

function matchesExample(doc: AqlObject, example: AqlObject): boolean {
  for (const k of Object.getOwnPropertyNames(example)) {
    if (!equals(getAttribute(doc, k), example[k] as AqlValue)) return false;
  }
  return true;
}

def('MATCHES', 2, 3, (a, ctx) => {
  const doc = a[0];
  const ret = truthy(a[2]);
  const examples = Array.isArray(a[1]) ? a[1] : [a[1]!];
  if (!isObject(doc)) return ret ? -1 : false;
  if (examples.length === 0) return invalidArg(ctx, 'MATCHES');
  for (let i = 0; i < examples.length; i++) {
    const ex = examples[i];
    if (!isObject(ex)) return invalidArg(ctx, 'MATCHES');
    if (matchesExample(doc, ex)) return ret ? i : true;
  }
  return ret ? -1 : false;
});

/** Where a document id splits: ThemisTS ids are `table:pk`; ArangoDB's `collection/key` is accepted too (whichever comes first). */
function idSeparator(id: string): number {
  const colon = id.indexOf(':');
  const slash = id.indexOf('/');
  return colon < 0 ? slash : slash < 0 ? colon : Math.min(colon, slash);
}

/**
 * A document identifier's collection and key, or null with ArangoDB's
 * warning 1542 (invalid argument type) for anything else.
 */
function documentId(ctx: FnContext, fn: string, v: AqlValue | undefined): [string, string] | null {
  let id: AqlValue | undefined = v;
  if (isObject(v)) id = getAttribute(v, '_id');
  if (typeof id === 'string') {
    const sep = idSeparator(id);
    if (sep > 0 && sep < id.length - 1) return [id.slice(0, sep), id.slice(sep + 1)];
  }
  return warn(ctx, fn, "expects a document identifier ('collection:key', or ArangoDB's 'collection/key') or a document with an _id");
}

def('PARSE_IDENTIFIER', 1, 1, (a, ctx) => {
  const id = documentId(ctx, 'PARSE_IDENTIFIER', a[0]);
  return id === null ? null : { collection: id[0], key: id[1] };
});
def('PARSE_COLLECTION', 1, 1, (a, ctx) => documentId(ctx, 'PARSE_COLLECTION', a[0])?.[0] ?? null);
def('PARSE_KEY', 1, 1, (a, ctx) => documentId(ctx, 'PARSE_KEY', a[0])?.[1] ?? null);
def('IS_SAME_COLLECTION', 2, 2, (a, ctx) => {
  const v = a[1];
  const id = isObject(v) ? getAttribute(v, '_id') : v;
  if (typeof id !== 'string') return invalidArg(ctx, 'IS_SAME_COLLECTION');
  const sep = idSeparator(id);
  return (sep < 0 ? id : id.slice(0, sep)) === strOf(a[0], ctx);
});
