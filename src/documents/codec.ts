/**
 * How documents are stored: the only place that knows the byte layout of an
 * entity's LevelDB key and value.
 *
 * - Key: `table 0x00 pk`. Table names cannot contain 0x00, so one table's
 *   keys are one contiguous range; the pk may contain any character
 *   (including 0x00) because it comes last.
 * - Value: a format byte (VALUE_V1) followed by the document's JSON text, so
 *   later versions can change the layout without migrating old rows.
 */
import { decodeUtf8 } from '../storage/index.js';

export interface EntityKeyParts {
  table: string;
  pk: string;
}

export const entityKeyCodec = {
  encode({ table, pk }: EntityKeyParts): Buffer {
    // One allocation, strings written in place (this is on every entity read and write).
    // table is [A-Za-z0-9_-]+ (validated upstream), so its length is its byte length.
    const out = Buffer.allocUnsafe(table.length + 1 + Buffer.byteLength(pk, 'utf8'));
    out.write(table, 0, 'latin1');
    out[table.length] = 0;
    out.write(pk, table.length + 1, 'utf8');
    return out;
  },
  decode(b: Uint8Array): EntityKeyParts {
    const sep = b.indexOf(0);
    if (sep < 0) throw new TypeError('entity key without table separator');
    return { table: Buffer.from(b.subarray(0, sep)).toString('latin1'), pk: decodeUtf8(b.subarray(sep + 1)) };
  },
  /**
   * The `table:pk` key of an entity key read as UTF-8 text (a text scan).
   * With `table` given (a scan of that table), the pk starts at a fixed offset.
   */
  keyOfText(k: string, table?: string): string {
    if (table !== undefined) return `${table}:${k.slice(table.length + 1)}`;
    const sep = k.indexOf('\u0000');
    if (sep < 0) throw new TypeError('entity key without table separator');
    return `${k.slice(0, sep)}:${k.slice(sep + 1)}`;
  },
  /** Bounds of all keys of one table, for range scans. */
  tableRange(table: string): { gte: Buffer; lt: Buffer } {
    const t = Buffer.from(table, 'latin1');
    return { gte: Buffer.concat([t, Buffer.of(0)]), lt: Buffer.concat([t, Buffer.of(1)]) };
  },
};

/** Value format byte of stored entities. */
const VALUE_V1 = 0x01;

export function encodeEntityValue(text: string): Buffer {
  const len = Buffer.byteLength(text, 'utf8');
  const b = Buffer.allocUnsafe(1 + len);
  b[0] = VALUE_V1;
  b.write(text, 1, 'utf8');
  return b;
}

/** decodeEntityValue for a value read as UTF-8 text (a text scan): the format character, then the JSON. */
export function decodeEntityText(v: string): string {
  if (v.charCodeAt(0) !== VALUE_V1) throw new TypeError(`unknown entity value format ${v.charCodeAt(0)}`);
  return v.slice(1);
}

export function decodeEntityValue(b: Buffer): string {
  if (b[0] !== VALUE_V1) throw new TypeError(`unknown entity value format ${b[0]}`);
  return b.toString('utf8', 1);
}
