/**
 * Which uuids the vault may hold: a Bloom filter over the uuids (4 probes
 * taken straight from the uuid's bytes, which are HMAC output and so
 * uniformly random). "No" is certain, so a new value — the common case of
 * a write — is known to be new without a LevelDB read; "maybe" asks LevelDB.
 * Sized at start for 16 bits per record (at least 8 Mbit = 1 MiB): about
 * 0.2 % false positives until the vault has doubled since the start.
 */
export class UuidFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;

  /** A filter sized for `records` vault records. */
  constructor(records: number) {
    let size = 1 << 23;
    while (size < records * 16 && size < 1 << 30) size *= 2;
    this.bits = new Uint32Array(size >>> 5);
    this.mask = size - 1;
  }

  add(id: Buffer): void {
    for (let i = 0; i < 16; i += 4) {
      const b = id.readUInt32LE(i) & this.mask;
      this.bits[b >>> 5]! |= 1 << (b & 31);
    }
  }

  mayHold(id: Buffer): boolean {
    for (let i = 0; i < 16; i += 4) {
      const b = id.readUInt32LE(i) & this.mask;
      if ((this.bits[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    }
    return true;
  }
}
