import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';

/** Where a vault value stands: revealable, hidden (soft delete, restorable), or destroyed (crypto-shredded). */
export type VaultState = 'active' | 'soft_deleted' | 'shredded';
const STATES: readonly VaultState[] = ['active', 'soft_deleted', 'shredded'];

const VERSION = 1;
const IV = 12;
const TAG = 16;
const DEK = 32;

/**
 * A vault record as stored under its uuid (binary, little to parse):
 *
 *   version(1) state(1) categoryLength(1) category createdMs(f64) changedMs(f64)
 *   [keyIv(12) keyTag(16) wrappedDataKey(32) valueIv(12) valueTag(16) ciphertext]
 *
 * The bracketed part exists while the value is active or soft-deleted; a
 * shredded record keeps only the header (so the uuid is known to be gone
 * and is never handed out again). Both encryptions are AES-256-GCM: the
 * value under its own random data key, bound to its uuid and category
 * (additional data); the data key under the vault's wrap key, bound to the
 * uuid. Neither ciphertext can be moved to another uuid undetected.
 */
export interface VaultRecord {
  state: VaultState;
  category: string;
  createdMs: number;
  changedMs: number;
  /** keyIv..ciphertext (absent once shredded). */
  sealed?: Buffer;
}

export function encodeRecord(r: VaultRecord): Buffer {
  const cat = Buffer.from(r.category, 'latin1');
  if (cat.length === 0 || cat.length > 64) throw new TypeError('vault category must be 1..64 characters');
  const head = 3 + cat.length + 16;
  const sealed = r.state === 'shredded' ? undefined : r.sealed;
  const out = Buffer.allocUnsafe(head + (sealed?.length ?? 0));
  out[0] = VERSION;
  out[1] = STATES.indexOf(r.state);
  out[2] = cat.length;
  cat.copy(out, 3);
  out.writeDoubleBE(r.createdMs, 3 + cat.length);
  out.writeDoubleBE(r.changedMs, 11 + cat.length);
  sealed?.copy(out, head);
  return out;
}

export function decodeRecord(b: Buffer): VaultRecord {
  if (b.length < 19 || b[0] !== VERSION) throw new TypeError(`unknown vault record format ${b[0]}`);
  const state = STATES[b[1]!];
  if (state === undefined) throw new TypeError(`unknown vault record state ${b[1]}`);
  const n = b[2]!;
  const category = b.toString('latin1', 3, 3 + n);
  const createdMs = b.readDoubleBE(3 + n);
  const changedMs = b.readDoubleBE(11 + n);
  const rest = b.subarray(19 + n);
  return state === 'shredded'
    ? { state, category, createdMs, changedMs }
    : { state, category, createdMs, changedMs, sealed: Buffer.from(rest) };
}

/** Just the state (start-up counts read only this byte). */
export function stateOf(b: Buffer): VaultState | undefined {
  return b[0] === VERSION ? STATES[b[1]!] : undefined;
}

/** Random bytes for data keys and IVs, drawn from the CSPRNG 64 values at a time (one call instead of 64); each slice is used once, then zeroed. */
const POOL_VALUES = 64;
const PER_VALUE = DEK + 2 * IV;
const pool = Buffer.alloc(POOL_VALUES * PER_VALUE);
let poolAt = POOL_VALUES;

function freshRandom(): Buffer {
  if (poolAt === POOL_VALUES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool.subarray(poolAt * PER_VALUE, ++poolAt * PER_VALUE);
}

/** Encrypt `value` under a fresh data key, and the data key under `wrapKey` (see VaultRecord). */
export function seal(value: string, uuid: Buffer, category: string, wrapKey: Buffer): Buffer {
  const rnd = freshRandom();
  const dek = rnd.subarray(0, DEK);
  const keyIv = rnd.subarray(DEK, DEK + IV);
  const valueIv = rnd.subarray(DEK + IV);
  const v = createCipheriv('aes-256-gcm', dek, valueIv);
  v.setAAD(Buffer.concat([uuid, Buffer.from(category, 'latin1')]));
  const ct = v.update(value, 'utf8');
  v.final(); // GCM is a stream mode: final() adds no bytes, it computes the tag
  const k = createCipheriv('aes-256-gcm', wrapKey, keyIv);
  k.setAAD(uuid);
  const wrapped = k.update(dek);
  k.final();
  const out = Buffer.allocUnsafe(IV + TAG + DEK + IV + TAG + ct.length);
  let o = keyIv.copy(out, 0);
  o += k.getAuthTag().copy(out, o);
  o += wrapped.copy(out, o);
  o += valueIv.copy(out, o);
  o += v.getAuthTag().copy(out, o);
  ct.copy(out, o);
  rnd.fill(0);
  return out;
}

/** The value of a sealed record; throws when the key, uuid or category does not fit (tampering, a wrong key). */
export function open(sealed: Buffer, uuid: Buffer, category: string, wrapKey: Buffer): string {
  let o = 0;
  const keyIv = sealed.subarray(o, (o += IV));
  const keyTag = sealed.subarray(o, (o += TAG));
  const wrapped = sealed.subarray(o, (o += DEK));
  const valueIv = sealed.subarray(o, (o += IV));
  const valueTag = sealed.subarray(o, (o += TAG));
  const ct = sealed.subarray(o);
  const k = createDecipheriv('aes-256-gcm', wrapKey, keyIv);
  k.setAAD(uuid);
  k.setAuthTag(keyTag);
  const dek = Buffer.concat([k.update(wrapped), k.final()]);
  try {
    const v = createDecipheriv('aes-256-gcm', dek, valueIv);
    v.setAAD(Buffer.concat([uuid, Buffer.from(category, 'latin1')]));
    v.setAuthTag(valueTag);
    return Buffer.concat([v.update(ct), v.final()]).toString('utf8');
  } finally {
    dek.fill(0);
  }
}
