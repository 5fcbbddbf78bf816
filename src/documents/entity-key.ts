import { ThemisError } from '../errors.js';

/** Table names: letters, digits, `_` and `-` (they become part of the key space and of URLs). */
export const TABLE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** Upper bound on a whole key's UTF-8 size; LevelDB keys stay small and comparable. */
export const MAX_KEY_BYTES = 4096;

export interface EntityKey {
  /** The canonical `table:pk` string, as clients see it. */
  readonly key: string;
  readonly table: string;
  readonly pk: string;
}

/**
 * Parse `table:pk`. The table is everything before the first `:` and must be
 * a valid table name; the pk is the (non-empty) rest and may contain any
 * character, `:` and `/` included. Percent-decoding of URL path segments
 * happens in the server before this is called.
 */
export function parseEntityKey(raw: unknown): EntityKey {
  if (typeof raw !== 'string') throw invalidKey('key must be a string in the form "table:pk"');
  const sep = raw.indexOf(':');
  if (sep <= 0) throw invalidKey(`invalid key "${preview(raw)}": expected "table:pk"`);
  const table = raw.slice(0, sep);
  const pk = raw.slice(sep + 1);
  if (!TABLE_NAME.test(table)) {
    throw invalidKey(`invalid table name "${preview(table)}": use 1-128 of A-Z a-z 0-9 _ -`);
  }
  if (pk.length === 0) throw invalidKey(`invalid key "${preview(raw)}": the primary key after ":" is empty`);
  if (Buffer.byteLength(raw, 'utf8') > MAX_KEY_BYTES) throw invalidKey(`key is longer than ${MAX_KEY_BYTES} bytes`);
  if (!raw.isWellFormed()) throw invalidKey('key contains unpaired UTF-16 surrogates');
  return { key: raw, table, pk };
}

function invalidKey(message: string): ThemisError {
  return new ThemisError('INVALID_KEY', message);
}

function preview(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
