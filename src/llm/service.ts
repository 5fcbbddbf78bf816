import { v7 as uuidv7 } from 'uuid';
import { assertRead, assertWrite, type Caller, type TableAccess } from '../access.js';
import type { components } from '../api/types.js';
import type { DocumentStore, EntityKey } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import type { IndexManager } from '../index/index.js';
import type { RetentionTarget } from '../retention/index.js';
import type { CommitInfo, CommitParticipant, DocumentValue, Transaction, TransactionManager, WriteTransform } from '../txn/index.js';
import { idTimeMs, interactionKey, LLM_TABLE, LLM_TEXT, type LlmInteraction, timeBound, UUID_V7 } from './keys.js';

type Schemas = components['schemas'];
export type LlmInteractionRequest = Schemas['LlmInteractionRequest'];
export type LlmInteractionCreated = Schemas['LlmInteractionCreated'];
export type LlmInteractionList = Schemas['LlmInteractionList'];
export type LlmInteractionDeleted = Schemas['LlmInteractionDeleted'];

/** What GET /llm/interaction filters and pages by. */
export interface LlmListOptions {
  limit: number;
  /** The previous page's `next`: the page continues after it (older with `desc`, newer with `asc`). */
  after?: string;
  order: 'desc' | 'asc';
  model?: string;
  sessionId?: string;
  /** Epoch ms, inclusive. */
  start?: number;
  /** Epoch ms, inclusive. */
  end?: number;
}

interface Ports {
  documents: DocumentStore;
  transactions: TransactionManager;
  indexes: IndexManager;
}

const notFound = (id: string) => new ThemisError('NOT_FOUND', `LLM interaction ${id} does not exist`);

/**
 * The LLM interaction store (docs/llm.md): interactions are documents of
 * `_llm_interactions` keyed by UUID v7 (creation order), written through the
 * ordinary commit path (indexes, change feed, audit log, PII policies), read
 * back by key-range scans in either direction, immutable once written.
 */
export class LlmService {
  /** Transactions this service runs: the only ones that may put documents into the table. */
  private readonly owned = new Set<string>();
  private ensuring: Promise<void> | undefined;
  private inserted = 0;

  constructor(private readonly p: Ports) {}

  // ---------------------------------------------------------------- writes

  async create(req: LlmInteractionRequest, caller: Caller): Promise<LlmInteractionCreated> {
    assertWrite(caller.access, LLM_TABLE);
    // Checks the schema cannot state: a tool message answers a call; names are not empty.
    req.messages.forEach((m, i) => {
      if (m.role === 'tool' && m.tool_call_id === undefined)
        throw bad(`messages.${i}.tool_call_id`, `messages.${i} has role "tool" and needs tool_call_id (the call it answers)`);
    });
    await this.ensureIndex();
    const id = uuidv7();
    const created_at = new Date(idTimeMs(id)).toISOString();
    const doc: Record<string, unknown> = { id, created_at, ...req };
    // `content` is derived by this module's write transform (after PII policies rewrote the messages).
    await this.write(caller, id, (txn) => this.p.transactions.put(txn, interactionKey(id), { text: JSON.stringify(doc), doc }));
    this.inserted++;
    return { id, success: true, created_at };
  }

  async delete(id: string, caller: Caller): Promise<LlmInteractionDeleted> {
    assertWrite(caller.access, LLM_TABLE);
    if (!UUID_V7.test(id) || this.p.documents.read(interactionKey(id)) === undefined) throw notFound(id.slice(0, 256));
    await this.write(caller, id, (txn) => this.p.transactions.delete(txn, interactionKey(id)));
    return { success: true, id, deleted: true };
  }

  /** Run `fill` in a transaction of this service and commit it (audited as the interaction `id`, if given). */
  private async write(caller: Caller | undefined, id: string | undefined, fill: (txn: Transaction) => void): Promise<void> {
    const txm = this.p.transactions;
    const txn = txm.begin('read_committed', true);
    if (caller?.origin && id !== undefined) caller.origin.subject = { entityType: 'llm_interaction', entityId: id };
    txn.origin = caller?.origin;
    this.owned.add(txn.id);
    try {
      fill(txn);
      await txm.commit(txn);
    } finally {
      this.owned.delete(txn.id);
      if (txn.state === 'active') txm.rollback(txn);
    }
  }

  /** The fulltext index on `_llm_interactions.content`, made on the first insert (one that exists is used as it is). */
  private ensureIndex(): Promise<void> {
    if (!this.fulltextMissing()) return Promise.resolve();
    const run = (this.ensuring ?? Promise.resolve()).then(async () => {
      if (this.fulltextMissing()) await this.p.indexes.create({ table: LLM_TABLE, column: LLM_TEXT, type: 'fulltext' }).catch(ignoreExists);
    });
    this.ensuring = run.catch(() => undefined);
    return run;
  }

  private fulltextMissing(): boolean {
    return !this.p.indexes.fulltextColumns(LLM_TABLE).includes(LLM_TEXT);
  }

  // ---------------------------------------------------------------- reads

  read(id: string, access: TableAccess): LlmInteraction {
    assertRead(access, LLM_TABLE);
    const text = UUID_V7.test(id) ? this.p.documents.read(interactionKey(id)) : undefined;
    if (text === undefined) throw notFound(id.slice(0, 256));
    return view(text);
  }

  /**
   * One page, newest first (`desc`) or oldest first (`asc`): a key-range
   * scan of the table bounded by the cursor and by `start`/`end` (ids carry
   * their creation time, so the time filter is part of the range, not a
   * filter over every document). `next` is the last id of the page when
   * another matching interaction follows it.
   */
  async list(o: LlmListOptions, access: TableAccess): Promise<LlmInteractionList> {
    assertRead(access, LLM_TABLE);
    if (o.after !== undefined && !UUID_V7.test(o.after))
      throw bad('after', 'after must be an interaction id (a UUID v7, the `next` of the previous page)');
    let lower: EntityKey | undefined = o.start === undefined ? undefined : timeBound(o.start);
    let upper: EntityKey | undefined = o.end === undefined ? undefined : timeBound(o.end + 1);
    if (o.after !== undefined) {
      const cursor = interactionKey(o.after);
      if (o.order === 'desc') upper = upper === undefined || cursor.key < upper.key ? cursor : upper;
      else lower = lower === undefined || cursor.key > lower.key ? cursor : lower;
    }
    const items: LlmInteraction[] = [];
    if (lower !== undefined && upper !== undefined && lower.key >= upper.key) return { items };
    const filtered = o.model !== undefined || o.sessionId !== undefined;
    const scan = this.p.documents.scan({
      table: LLM_TABLE,
      ...(lower ? { after: lower } : {}),
      ...(upper ? { before: upper } : {}),
      reverse: o.order === 'desc',
      size: filtered ? 256 : Math.min(o.limit + 1, 1024),
    });
    for await (const rows of scan) {
      for (const [, text] of rows) {
        const it = view(text);
        if (o.model !== undefined && it.model !== o.model) continue;
        if (o.sessionId !== undefined && it.metadata?.session_id !== o.sessionId) continue;
        if (items.length === o.limit) return { items, next: items[items.length - 1]!.id };
        items.push(it);
      }
    }
    return { items };
  }

  // ---------------------------------------------------------------- retention

  /** The table as a built-in retention collection: expiry by the time in the ids, deletes from the oldest key on. */
  retentionTarget(): RetentionTarget {
    return {
      name: LLM_TABLE,
      count: async () => this.countBefore(undefined),
      expiredCount: (cutoffMs) => this.countBefore(cutoffMs),
      oldestMs: async () => {
        for await (const rows of this.p.documents.scan({ table: LLM_TABLE, size: 1 })) {
          if (rows.length > 0) return idTimeMs(rows[0]![0].slice(LLM_TABLE.length + 1));
        }
        return undefined;
      },
      deleteExpired: (cutoffMs, max) => this.deleteOlderThan(cutoffMs, max),
    };
  }

  /** Interactions created before `cutoffMs` (all without one). */
  private async countBefore(cutoffMs: number | undefined): Promise<number> {
    let n = 0;
    for await (const rows of this.p.documents.scan({
      table: LLM_TABLE,
      ...(cutoffMs === undefined ? {} : { before: timeBound(cutoffMs) }),
      size: 1024,
    }))
      n += rows.length;
    return n;
  }

  /** Delete up to `max` of the oldest interactions created before `cutoffMs`, in one commit; how many it deleted. */
  async deleteOlderThan(cutoffMs: number, max: number): Promise<number> {
    const keys: EntityKey[] = [];
    scan: for await (const rows of this.p.documents.scan({ table: LLM_TABLE, before: timeBound(cutoffMs), size: Math.min(max, 1024) })) {
      for (const [key] of rows) {
        keys.push(interactionKey(key.slice(LLM_TABLE.length + 1)));
        if (keys.length === max) break scan;
      }
    }
    if (keys.length === 0) return 0;
    await this.write(undefined, undefined, (txn) => {
      for (const k of keys) this.p.transactions.delete(txn, k);
    });
    return keys.length;
  }

  // ---------------------------------------------------------------- kernel hooks

  /**
   * The write transform: every interaction put gets `content`, its messages'
   * text joined by newlines, derived from the messages as stored (this
   * module's transform runs after the PII module's, so a pseudonymized
   * message is indexed pseudonymized).
   */
  readonly transform: WriteTransform = {
    name: 'llm',
    put: (k: EntityKey, value: DocumentValue): DocumentValue => {
      if (k.table !== LLM_TABLE) return value;
      const doc = (value.doc ?? JSON.parse(value.text)) as Record<string, unknown>;
      if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.messages)) return value;
      const content = (doc.messages as { content?: unknown }[])
        .map((m) => (typeof m?.content === 'string' ? m.content : ''))
        .filter((s) => s !== '')
        .join('\n');
      const next = { ...doc, [LLM_TEXT]: content };
      return { text: JSON.stringify(next), doc: next };
    },
  };

  /**
   * The commit participant: interactions are immutable. Only this service's
   * transactions put documents into the table (creation); a put from any
   * other writer (PUT /entities, batches, AQL, explicit transactions) is
   * refused with 403 FORBIDDEN. Deletes are allowed from every writer
   * (DELETE /entities, AQL REMOVE, retention, erasure requests).
   */
  readonly participant: CommitParticipant = {
    name: 'llm',
    prepare: (info: CommitInfo) => {
      for (const c of info.changes) {
        if (c.table !== LLM_TABLE || c.op !== 'put' || this.owned.has(info.txnId)) continue;
        throw new ThemisError(
          'FORBIDDEN',
          `table ${LLM_TABLE} holds immutable LLM interactions: create them with POST /llm/interaction (deletes are allowed) (${c.key})`,
          { details: { table: LLM_TABLE } },
        );
      }
      return undefined;
    },
  };

  /** Figures for /metrics. */
  stats(): { inserted: number } {
    return { inserted: this.inserted };
  }
}

/** The API's view of a stored interaction: without the derived `content`. */
function view(text: string): LlmInteraction {
  const doc = JSON.parse(text) as LlmInteraction & { [LLM_TEXT]?: unknown };
  delete doc[LLM_TEXT];
  return doc;
}

function bad(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}

function ignoreExists(e: unknown): void {
  if (e instanceof ThemisError && e.code === 'INDEX_EXISTS') return;
  throw e;
}
