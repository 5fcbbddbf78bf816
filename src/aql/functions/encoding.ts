/**
 * AQL hash, encoding and random-value functions: MD5/SHA*, TO_BASE64,
 * TO_HEX, ENCODE_URI_COMPONENT, UUID and RANDOM_TOKEN.
 */
import { createHash, randomUUID, randomBytes } from 'node:crypto';
import { charge, int, strOf, warn } from './helpers.js';
import type { AqlFunction } from './registry.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The hash, encoding and random-value functions, for index.ts to register. */
export const ENCODING_FUNCTIONS: FunctionTable = table;

function hashFn(algorithm: string): AqlFunction {
  return (a, ctx) => createHash(algorithm).update(strOf(a[0], ctx), 'utf8').digest('hex');
}
def('MD5', 1, 1, hashFn('md5'));
def('SHA1', 1, 1, hashFn('sha1'));
def('SHA256', 1, 1, hashFn('sha256'));
def('SHA512', 1, 1, hashFn('sha512'));
def('TO_BASE64', 1, 1, (a, ctx) => {
  const s = strOf(a[0], ctx);
  charge(ctx, 8 * s.length); // UTF-8 bytes, then base64 text
  return Buffer.from(s, 'utf8').toString('base64');
});
def('TO_HEX', 1, 1, (a, ctx) => {
  const s = strOf(a[0], ctx);
  charge(ctx, 12 * s.length);
  return Buffer.from(s, 'utf8').toString('hex');
});
def('ENCODE_URI_COMPONENT', 1, 1, (a, ctx) => {
  const s = strOf(a[0], ctx);
  charge(ctx, 18 * s.length); // up to %XX%XX%XX per UTF-16 unit
  try {
    return encodeURIComponent(s);
  } catch {
    return null;
  }
});
def('UUID', 0, 0, () => randomUUID());

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
def('RANDOM_TOKEN', 1, 1, (a, ctx) => {
  const n = int(a[0]);
  if (n < 0 || n > 65536) return warn(ctx, 'RANDOM_TOKEN', 'length must be between 0 and 65536');
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += TOKEN_ALPHABET[bytes[i]! % TOKEN_ALPHABET.length];
  return s;
});
