/**
 * Key codecs (the entity key codec lives with the documents, src/documents/codec.ts). LevelDB orders keys bytewise, so every codec here is chosen so
 * that byte order is the order a reader wants:
 *  - sequence numbers: fixed-width big-endian, so they sort numerically;
 *  - index values: an order-preserving, self-delimiting tuple encoding where
 *    null < false < true < numbers (numerically) < strings (by code point),
 *    the order AQL compares values in.
 */

const utf8d = new TextDecoder('utf-8', { fatal: true });

export function encodeUtf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

export function decodeUtf8(b: Uint8Array): string {
  return utf8d.decode(b);
}

// ---------------------------------------------------------------- sequence numbers

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Fixed-width 8-byte big-endian unsigned integers (up to 2^53-1), so they sort numerically. */
export const seqCodec = {
  encode(n: number): Buffer {
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`sequence number out of range: ${n}`);
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32BE(Math.floor(n / 2 ** 32), 0);
    b.writeUInt32BE(n >>> 0, 4);
    return b;
  },
  decode(b: Uint8Array): number {
    if (b.length !== 8) throw new TypeError(`sequence number must be 8 bytes, got ${b.length}`);
    const buf = Buffer.from(b.buffer, b.byteOffset, 8);
    const n = buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4);
    if (n > MAX_SAFE) throw new TypeError('sequence number exceeds 2^53-1');
    return n;
  },
};

// ---------------------------------------------------------------- ordered values

export type ScalarValue = null | boolean | number | string;

const TAG_NULL = 0x01;
const TAG_FALSE = 0x02;
const TAG_TRUE = 0x03;
const TAG_NUMBER = 0x04;
const TAG_STRING = 0x05;

/**
 * Order-preserving encoding of a tuple of scalars. Each element is
 * self-delimiting, so a tuple's encoding is the concatenation of its
 * elements' and a prefix of a tuple is a byte prefix (composite indexes scan
 * by leading columns).
 *
 * Numbers: IEEE-754 big-endian with the sign bit flipped for non-negatives
 * and all bits flipped for negatives (the classic trick that makes the bytes
 * sort numerically). -0 is normalised to 0. NaN/Infinity are refused (JSON
 * cannot carry them).
 * Strings: UTF-8 (whose byte order is code-point order), 0x00 escaped as
 * 0x00 0xFF, terminated by 0x00 0x01, so "a" < "a\0" < "ab".
 */
export const orderedCodec = {
  encode(values: readonly ScalarValue[]): Buffer {
    return encodeTuple(NO_PREFIX, values);
  },
  /**
   * `prefix` followed by the encoding of `values` (and of `last`, when
   * given), in one allocation: what an index entry key is, built for every
   * entry a write or an index build makes.
   */
  encodePrefixed(prefix: Uint8Array, values: readonly ScalarValue[], last?: ScalarValue): Buffer {
    return encodeTuple(prefix, values, last);
  },
  decode(b: Uint8Array): ScalarValue[] {
    const out: ScalarValue[] = [];
    let i = 0;
    while (i < b.length) {
      const tag = b[i++];
      switch (tag) {
        case TAG_NULL:
          out.push(null);
          break;
        case TAG_FALSE:
          out.push(false);
          break;
        case TAG_TRUE:
          out.push(true);
          break;
        case TAG_NUMBER: {
          if (i + 8 > b.length) throw new TypeError('truncated number');
          const nb = Buffer.from(b.subarray(i, i + 8));
          if (nb[0]! & 0x80) nb[0] = nb[0]! ^ 0x80;
          else for (let k = 0; k < 8; k++) nb[k] = ~nb[k]! & 0xff;
          out.push(nb.readDoubleBE(0));
          i += 8;
          break;
        }
        case TAG_STRING: {
          // Find the terminator; without escaped NULs (the common case) the bytes decode in place.
          let j = i;
          let escapes = 0;
          for (;;) {
            if (j >= b.length) throw new TypeError('unterminated string');
            if (b[j] !== 0) {
              j++;
              continue;
            }
            const next = b[j + 1];
            if (next === 0x01) break;
            if (next !== 0xff) throw new TypeError('invalid string escape');
            escapes++;
            j += 2;
          }
          if (escapes === 0) out.push(Buffer.isBuffer(b) ? b.toString('utf8', i, j) : utf8d.decode(b.subarray(i, j)));
          else {
            const bytes = new Uint8Array(j - i - escapes);
            let o = 0;
            for (let k = i; k < j; k++) {
              bytes[o++] = b[k]!;
              if (b[k] === 0) k++; // 0x00 0xFF
            }
            out.push(utf8d.decode(bytes));
          }
          i = j + 2;
          break;
        }
        default:
          throw new TypeError(`unknown value tag ${tag}`);
      }
    }
    return out;
  },
};

const NO_PREFIX = new Uint8Array(0);

/** `prefix`, then each of `values` (and `last`) encoded, sized first and written into one buffer. */
function encodeTuple(prefix: Uint8Array, values: readonly ScalarValue[], last?: ScalarValue): Buffer {
  const n = values.length + (last === undefined ? 0 : 1);
  let size = prefix.length;
  for (let i = 0; i < n; i++) size += encodedSize(i < values.length ? values[i]! : last!);
  const out = Buffer.allocUnsafe(size);
  out.set(prefix, 0);
  let o = prefix.length;
  for (let i = 0; i < n; i++) o = writeOne(out, o, i < values.length ? values[i]! : last!);
  return out;
}

/** Bytes of one element's encoding; throws for what JSON cannot carry (non-finite numbers, non-scalars). */
function encodedSize(v: ScalarValue): number {
  if (v === null || v === false || v === true) return 1;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`cannot encode non-finite number ${v}`);
    return 9;
  }
  if (typeof v === 'string') {
    // U+0000 is the only character whose UTF-8 holds a 0x00 byte: one escape byte each.
    let zeros = 0;
    for (let i = v.indexOf('\u0000'); i >= 0; i = v.indexOf('\u0000', i + 1)) zeros++;
    return 3 + Buffer.byteLength(v, 'utf8') + zeros;
  }
  throw new TypeError(`cannot encode value of type ${typeof v}`);
}

/** Write one element's encoding at `o` (room sized by encodedSize); returns the offset after it. */
function writeOne(out: Buffer, o: number, v: ScalarValue): number {
  if (v === null || v === false || v === true) {
    out[o] = v === null ? TAG_NULL : v ? TAG_TRUE : TAG_FALSE;
    return o + 1;
  }
  if (typeof v === 'number') {
    out[o] = TAG_NUMBER;
    out.writeDoubleBE(v === 0 ? 0 : v, o + 1);
    if (out[o + 1]! & 0x80) for (let k = o + 1; k < o + 9; k++) out[k] = ~out[k]! & 0xff;
    else out[o + 1] = out[o + 1]! ^ 0x80;
    return o + 9;
  }
  out[o++] = TAG_STRING;
  if (v.indexOf('\u0000') < 0) o += out.write(v, o, 'utf8');
  else {
    // Each U+0000 becomes 0x00 0xFF, so the terminator 0x00 0x01 stays unambiguous.
    const parts = v.split('\u0000');
    for (let p = 0; p < parts.length; p++) {
      if (p > 0) {
        out[o++] = 0x00;
        out[o++] = 0xff;
      }
      o += out.write(parts[p]!, o, 'utf8');
    }
  }
  out[o++] = 0x00;
  out[o++] = 0x01;
  return o;
}

/**
 * Where the orderedCodec element starting at `i` ends (the index after it),
 * without decoding it: index-only scans compare encoded values byte-wise.
 */
export function elementEnd(b: Uint8Array, i: number): number {
  const tag = b[i];
  if (tag === TAG_NULL || tag === TAG_FALSE || tag === TAG_TRUE) return i + 1;
  if (tag === TAG_NUMBER) {
    if (i + 9 > b.length) throw new TypeError('truncated number');
    return i + 9;
  }
  if (tag !== TAG_STRING) throw new TypeError(`unknown value tag ${tag}`);
  for (let j = i + 1; j + 1 < b.length; j++) {
    if (b[j] !== 0) continue;
    if (b[j + 1] === 0x01) return j + 2;
    j++; // 0x00 0xFF: an escaped NUL
  }
  throw new TypeError('unterminated string');
}

/** Smallest key strictly greater than every key with this prefix (for `lt` bounds). */
export function prefixUpperBound(prefix: Uint8Array): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i] = b[i]! + 1;
      return b.subarray(0, i + 1);
    }
  }
  throw new TypeError('prefix of only 0xff bytes has no upper bound');
}

/** Write `x` (0 <= x < 2^53) at `o` as an unsigned LEB128 varint (no 32-bit operations); returns where it ends. */
export function writeVarint(b: Uint8Array, o: number, x: number): number {
  while (x >= 0x80) {
    b[o++] = (x % 0x80) | 0x80;
    x = Math.floor(x / 0x80);
  }
  b[o] = x;
  return o + 1;
}

/** The varint at `at.o` (advanced past it); throws when it runs past the end or over 8 bytes. */
export function readVarint(b: Uint8Array, at: { o: number }): number {
  let x = 0;
  let mul = 1;
  for (let i = 0; i < 8 && at.o < b.length; i++) {
    const v = b[at.o++]!;
    x += (v & 0x7f) * mul;
    if (v < 0x80) return x;
    mul *= 0x80;
  }
  throw new TypeError('truncated or overlong varint');
}

/**
 * Copy `s` to `b` at `o` when it is all ASCII (one byte per character, no
 * native call: the common case for keys and ids); returns where it ends,
 * or -1 at the first non-ASCII character (the bytes written are garbage).
 */
export function writeAscii(b: Uint8Array, o: number, s: string): number {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c > 0x7f) return -1;
    b[o + k] = c;
  }
  return o + s.length;
}

/**
 * Ascending integers as unsigned LEB128 deltas, the first from `base`
 * (fulltext positions from 0; audit index chunks from their first id, which
 * their key holds). Safe up to 2^53: no 32-bit bit operations.
 */
export function encodeAscending(values: readonly number[], base = 0): Buffer {
  const out = Buffer.allocUnsafe(values.length * 8);
  let o = 0;
  let prev = base;
  for (const v of values) {
    o = writeVarint(out, o, v - prev);
    prev = v;
  }
  return Buffer.from(out.subarray(0, o));
}

/** The integers `encodeAscending` wrote (with the same `base`). */
export function decodeAscending(b: Uint8Array, base = 0): number[] {
  const out: number[] = [];
  const at = { o: 0 };
  let prev = base;
  while (at.o < b.length) {
    prev += readVarint(b, at);
    out.push(prev);
  }
  return out;
}
