/** The 4-byte big-endian index id that prefixes every entry of one index (secondary and fulltext keyspaces alike). */
export function idPrefix(id: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(id);
  return b;
}
