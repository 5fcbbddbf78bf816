import { prefixUpperBound } from './codec.js';

/**
 * One LevelDB holds every subsystem's data; each subsystem owns a keyspace,
 * i.e. a one-byte prefix. The byte values are part of the on-disk format:
 * never renumber, only add. Gaps are left so related keyspaces can be added
 * next to each other.
 */
export const KEYSPACE_IDS = {
  meta: 0x01, // format version, instance id, counters
  entity: 0x10, // primary documents: table 0x00 pk -> value
  tables: 0x12, // table catalogue: per-table document counts and sizes, running drops and truncates (src/tables/)
  index: 0x20, // secondary/range index entries (issue: indexes)
  indexMeta: 0x21, // index definitions
  graph: 0x24, // edge adjacency (out and in), maintained by a commit hook
  fulltext: 0x28,
  vector: 0x30,
  cdc: 0x40, // change log: seq -> entry
  txn: 0x48,
  content: 0x50,
  cache: 0x58,
  llm: 0x60,
  security: 0x68, // reserved: roles and other security state
  apiKeys: 0x69, // API keys: key id -> record JSON (the secret's SHA-256 hash, never the secret)
  pii: 0x70,
  audit: 0x78,
  retention: 0x7c, // retention policies (p/<collection>) and cleanup runs (r/<collection>, h/<time>/<collection>)
} as const;

export type KeyspaceName = keyof typeof KEYSPACE_IDS;

export class Keyspace {
  readonly prefix: Buffer;
  constructor(
    readonly name: KeyspaceName,
    readonly id: number,
  ) {
    this.prefix = Buffer.of(id);
  }

  /** Full LevelDB key for a key inside this keyspace. */
  key(inner: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(1 + inner.length);
    out[0] = this.id;
    out.set(inner, 1);
    return out;
  }

  /** The key inside this keyspace, given a full LevelDB key. */
  strip(full: Uint8Array): Buffer {
    if (full[0] !== this.id) throw new TypeError(`key does not belong to keyspace ${this.name}`);
    return Buffer.from(full.buffer, full.byteOffset + 1, full.length - 1);
  }

  /** Range covering every key in this keyspace, or every key starting with `innerPrefix`. */
  range(innerPrefix?: Uint8Array): { gte: Buffer; lt: Buffer } {
    if (!innerPrefix || innerPrefix.length === 0) return { gte: this.prefix, lt: Buffer.of(this.id + 1) };
    const gte = this.key(innerPrefix);
    return { gte, lt: prefixUpperBound(gte) };
  }
}

const all = new Map<KeyspaceName, Keyspace>();
for (const [name, id] of Object.entries(KEYSPACE_IDS) as [KeyspaceName, number][]) {
  all.set(name, new Keyspace(name, id));
}

export function keyspace(name: KeyspaceName): Keyspace {
  return all.get(name)!;
}

export function allKeyspaces(): Keyspace[] {
  return [...all.values()];
}
