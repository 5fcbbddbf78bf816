import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Engine, keyspace, prefixUpperBound, WriteBatch } from '../storage/index.js';
import type { VaultKeys } from './master-key.js';
import { decodeRecord, encodeRecord, open, seal, stateOf, type VaultRecord, type VaultState } from './record.js';
import { pseudonym, uuidBytes, uuidString } from './tokens.js';
import { UuidFilter } from './uuid-filter.js';

const ks = keyspace('pii');
/** Vault records: 'v' + uuid (16 bytes). */
const RECORD = 0x76;
/** The master key's fingerprint: 'k'. */
const FINGERPRINT = Buffer.from('k');

const recordKey = (uuid: Buffer): Buffer => Buffer.concat([Buffer.of(RECORD), uuid]);
/** Every record (keys inside the keyspace, as scans take them). */
const RECORDS = { gte: Buffer.of(RECORD), lt: prefixUpperBound(Buffer.of(RECORD)) };

/** Most uuids whose state is remembered (beyond: read from LevelDB). */
const KNOWN_MAX = 50_000;
/** A value shredded this many times in one scope and category gets no further pseudonym (a bound, not a policy). */
const MAX_GENERATION = 64;

/** A value's pseudonym, and the record to write when the vault does not hold it yet. */
export interface Pseudonym {
  uuid: string;
  /** The new record (encrypted) when the value is not in the vault yet; it is stored with the write that uses it. */
  fresh?: Buffer;
}

/**
 * The pseudonyms of one text or document: a value that recurs in it (an
 * email in a field and again in a note) is looked up once, and the records
 * of values new to the vault gather in `fresh`, to be stored with the write.
 */
export class PseudonymBatch {
  readonly fresh = new Map<string, Buffer>();
  private readonly seen = new Map<string, Pseudonym>();

  constructor(
    private readonly vault: Vault,
    private readonly scope: string,
  ) {}

  readonly of = (m: { category: string; value: string }): Pseudonym => {
    const key = `${m.category}\0${m.value}`;
    let p = this.seen.get(key);
    if (p === undefined) {
      p = this.vault.pseudonymize(m.category, m.value, this.scope);
      this.seen.set(key, p);
      if (p.fresh) this.fresh.set(p.uuid, p.fresh);
    }
    return p;
  };
}

export interface VaultCounts {
  active: number;
  soft_deleted: number;
  shredded: number;
}

/**
 * The pseudonymization vault (docs/pii.md): values encrypted at rest under
 * per-value data keys, addressed by keyed-HMAC uuids. Records are written
 * either by the commit that stores a document holding their tokens (table
 * policies) or by POST /pii/pseudonymize; reveal, soft delete, restore and
 * hard delete (crypto-shredding) act on one uuid.
 */
export class Vault {
  /** uuid -> state, for uuids seen lately (a cache of LevelDB). */
  private readonly known = new Map<string, VaultState>();
  private readonly counts: VaultCounts = { active: 0, soft_deleted: 0, shredded: 0 };
  /** Serializes state changes of one uuid (delete, restore) with each other. */
  private chain: Promise<unknown> = Promise.resolve();
  private filter = new UuidFilter(0);

  private constructor(
    private readonly engine: Engine,
    readonly keys: VaultKeys,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** The vault of `engine`; refuses a master key other than the one the vault was written with. */
  static async open(engine: Engine, keys: VaultKeys, log: Logger, now: () => number = Date.now): Promise<Vault> {
    const v = new Vault(engine, keys, log, now);
    // One pass over the records: counts by state, and the uuids (16 bytes each, copied out per chunk) for the filter.
    const idChunks: Buffer[] = [];
    let records = 0;
    for await (const chunk of engine.scanChunks(ks, RECORDS)) {
      const ids = Buffer.allocUnsafe(16 * chunk.length);
      chunk.forEach(([key, value], i) => {
        const s = stateOf(value);
        if (s !== undefined) v.counts[s]++;
        key.copy(ids, 16 * i, 1);
      });
      idChunks.push(ids);
      records += chunk.length;
    }
    v.filter = new UuidFilter(records);
    for (const ids of idChunks) for (let o = 0; o < ids.length; o += 16) v.filter.add(ids.subarray(o, o + 16));
    const stored = (await engine.get(ks, FINGERPRINT))?.toString('utf8');
    if (stored === undefined || !keys.matches(stored)) {
      if (stored !== undefined && records > 0)
        throw new Error('the PII master key is not the key this vault was written with (THEMIS_PII_KEY / key file); restore the right key');
      if (stored !== undefined) log.warn('the PII master key changed; the vault holds no values yet, so the new key is taken');
      await engine.commit(new WriteBatch().put(ks, FINGERPRINT, Buffer.from(keys.fingerprint, 'utf8')));
    }
    return v;
  }

  /** Whether the vault holds any record (a lost key then cannot be replaced by a new one). */
  static async holdsValues(engine: Engine): Promise<boolean> {
    for await (const _ of engine.scan(ks, { ...RECORDS, limit: 1 })) return true;
    return false;
  }

  get size(): VaultCounts {
    return { ...this.counts };
  }

  /**
   * The uuid under which the vault holds `value` (active or soft-deleted) in
   * `scope` and `category`, for a data subject's request: its token finds
   * the documents that hold it, and erasing the uuid makes every one of them
   * unrevealable. 404 when the vault does not hold the value (never held, or
   * erased).
   */
  find(category: string, value: string, scope: string): { uuid: string; state: VaultState } {
    for (let gen = 0; gen < MAX_GENERATION; gen++) {
      const id = pseudonym(this.keys.pseudonym, scope, category, value, gen);
      const uuid = uuidString(id);
      const state = this.stateOf(id, uuid);
      if (state === 'shredded') continue;
      if (state === undefined) break;
      return { uuid, state };
    }
    throw new ThemisError('NOT_FOUND', `the vault holds no such ${category} value in scope ${scope}`);
  }

  /**
   * The pseudonym of `value` in `scope` and `category`. A value the vault
   * holds (active or soft-deleted) keeps its uuid; a new one gets a sealed
   * record in `fresh`, and a uuid that was shredded is skipped for the next
   * generation.
   */
  pseudonymize(category: string, value: string, scope: string): Pseudonym {
    for (let gen = 0; gen < MAX_GENERATION; gen++) {
      const id = pseudonym(this.keys.pseudonym, scope, category, value, gen);
      const uuid = uuidString(id);
      const state = this.stateOf(id, uuid);
      if (state === 'shredded') continue;
      if (state !== undefined) return { uuid };
      const now = this.now();
      return {
        uuid,
        fresh: encodeRecord({
          state: 'active',
          category,
          createdMs: now,
          changedMs: now,
          sealed: seal(value, id, category, this.keys.wrap),
        }),
      };
    }
    throw new ThemisError(
      'CONFLICT',
      `a ${category} value was erased ${MAX_GENERATION} times in scope ${scope}; it gets no further pseudonym`,
    );
  }

  /** Add fresh records to `batch` (the commit that stores the tokens). */
  write(batch: WriteBatch, fresh: ReadonlyMap<string, Buffer>): void {
    for (const [uuid, rec] of fresh) {
      // Erased while the write that uses it was open: the erasure stands (the token stays dead).
      if (this.known.get(uuid) === 'shredded') continue;
      const id = uuidBytes(uuid)!;
      // Added before the batch is durable: a "maybe" for a record that then fails to commit only costs a read.
      this.filter.add(id);
      batch.put(ks, recordKey(id), rec);
    }
  }

  /** After the batch of `write` is durable. */
  written(fresh: ReadonlyMap<string, Buffer>): void {
    for (const uuid of fresh.keys()) {
      if (this.known.get(uuid) === undefined) this.counts.active++;
      this.remember(uuid, 'active');
    }
  }

  /** Store fresh records now (POST /pii/pseudonymize). */
  async store(fresh: ReadonlyMap<string, Buffer>): Promise<void> {
    if (fresh.size === 0) return;
    const b = new WriteBatch();
    this.write(b, fresh);
    await this.engine.commit(b);
    this.written(fresh);
  }

  /** The value of `uuid`: 404 unless it is active. */
  async reveal(uuid: string): Promise<{ uuid: string; category: string; value: string }> {
    const id = this.parse(uuid);
    const rec = await this.read(id, uuid);
    if (rec.state !== 'active')
      throw new ThemisError(
        'NOT_FOUND',
        `PII value ${uuid} was deleted (${rec.state === 'soft_deleted' ? 'soft; an admin can restore it' : 'hard'})`,
      );
    try {
      return { uuid: uuidString(id), category: rec.category, value: open(rec.sealed!, id, rec.category, this.keys.wrap) };
    } catch (e) {
      this.log.error('a vault record does not decrypt (tampered, or written under another key)', { uuid: uuidString(id) });
      throw new ThemisError('INTERNAL', `PII value ${uuid} cannot be decrypted`, { cause: e });
    }
  }

  /** Hide `uuid` from reveal (kept for legal hold); `updated` is false when it was hidden already. */
  softDelete(uuid: string): Promise<{ updated: boolean; category: string }> {
    return this.change(uuid, async (id, rec) => {
      if (rec.state === 'soft_deleted') return { updated: false, category: rec.category };
      await this.put(id, { ...rec, state: 'soft_deleted', changedMs: this.now() }, rec.state);
      return { updated: true, category: rec.category };
    });
  }

  /** Make a soft-deleted value revealable again (admin). */
  restore(uuid: string): Promise<{ restored: boolean; category: string }> {
    return this.change(uuid, async (id, rec) => {
      if (rec.state === 'active') return { restored: false, category: rec.category };
      await this.put(id, { ...rec, state: 'active', changedMs: this.now() }, rec.state);
      return { restored: true, category: rec.category };
    });
  }

  /**
   * Crypto-shredding: replace the record by its header (the wrapped data key
   * and the ciphertext are gone), then compact the record's key range, so
   * LevelDB rewrites the files that held the old version and deletes them
   * (docs/pii.md: what this does and does not reach).
   */
  hardDelete(uuid: string): Promise<{ deleted: boolean; category: string }> {
    return this.change(uuid, async (id, rec) => {
      await this.put(id, { state: 'shredded', category: rec.category, createdMs: rec.createdMs, changedMs: this.now() }, rec.state);
      const key = recordKey(id);
      await this.engine.compact(ks, { gte: key, lt: Buffer.concat([key, Buffer.of(0)]) });
      return { deleted: true, category: rec.category };
    });
  }

  private change<T>(uuid: string, f: (id: Buffer, rec: VaultRecord) => Promise<T>): Promise<T> {
    const id = this.parse(uuid);
    const run = this.chain.then(async () => f(id, await this.read(id, uuid)));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async put(id: Buffer, rec: VaultRecord, was: VaultState): Promise<void> {
    await this.engine.commit(new WriteBatch().put(ks, recordKey(id), encodeRecord(rec)));
    this.counts[was]--;
    this.counts[rec.state]++;
    this.remember(uuidString(id), rec.state);
  }

  /** The record of `id`; 404 for an unknown or shredded uuid. */
  private async read(id: Buffer, shown: string): Promise<VaultRecord> {
    const raw = await this.engine.get(ks, recordKey(id));
    if (raw === undefined) throw new ThemisError('NOT_FOUND', `no PII value with uuid ${shown}`);
    const rec = decodeRecord(raw);
    if (rec.state === 'shredded') throw new ThemisError('NOT_FOUND', `PII value ${shown} was erased (hard delete)`);
    return rec;
  }

  private parse(uuid: string): Buffer {
    const id = uuidBytes(uuid);
    if (id === undefined) throw new ThemisError('VALIDATION_FAILED', 'uuid must be a UUID (8-4-4-4-12 hex digits)');
    return id;
  }

  private stateOf(id: Buffer, uuid: string): VaultState | undefined {
    if (!this.filter.mayHold(id)) return undefined;
    const s = this.known.get(uuid);
    if (s !== undefined) return s;
    const raw = this.engine.getSync(ks, recordKey(id));
    if (raw === undefined) return undefined;
    const state = stateOf(raw);
    if (state !== undefined) this.remember(uuid, state);
    return state;
  }

  private remember(uuid: string, s: VaultState): void {
    if (this.known.size >= KNOWN_MAX && !this.known.has(uuid)) this.known.clear();
    this.known.set(uuid, s);
  }
}
