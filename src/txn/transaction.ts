import type { EntityKey } from '../documents/index.js';
import type { Snapshot } from '../storage/index.js';

export interface BufferedWrite {
  readonly k: EntityKey;
  readonly op: 'put' | 'delete';
  /** JSON text for put, null for delete. */
  readonly value: string | null;
  /** The parsed document of a put, when the writer had it (handed to the commit's participants). */
  readonly doc?: unknown;
  /** Create semantics: the commit fails with CONFLICT if the key exists by then. */
  readonly mustNotExist: boolean;
}

export type Isolation = 'read_committed' | 'snapshot';

export type TxnState = 'active' | 'committing' | 'committed' | 'rolled_back' | 'aborted';

/**
 * A transaction's private state: its isolation, the sequence number and
 * LevelDB snapshot it reads from (snapshot isolation), and its buffered
 * writes in first-write order (later writes to the same key replace earlier
 * ones). Plain data; the TransactionManager implements the behaviour.
 */
/**
 * The request a commit serves, set on its transaction by whoever began (or
 * commits) it: what the audit log records in the commit's own batch. Absent
 * for commits nobody asked for over the API (recovery, tools).
 */
export interface CommitOrigin {
  readonly requestId: string;
  /** The route's audit verb (`PUT_ENTITY`, `AQL`, ...). */
  readonly action: string;
  /** Principal name and id. */
  readonly user: string | null;
  readonly userId: string | null;
  readonly ipAddress: string | null;
  readonly method: string;
  /** Route template. */
  readonly route: string;
  /** The status the request answers when its write succeeds. */
  readonly successStatus: number;
  /** Set by the audit log once an entry for this request is in a commit's batch (the request then needs no entry of its own). */
  recordedId?: number;
  /**
   * What the commit is about, when the service that commits knows better than its changes say (a content
   * import writes a metadata document and many chunks: its subject is the content). Default: the one
   * changed key, or `multiple` / `transaction:<id>`.
   */
  subject?: { entityType: string; entityId: string };
}

export class Transaction {
  state: TxnState = 'active';
  readonly writes = new Map<string, BufferedWrite>();
  /** Bumped by every change to `writes`: views derived from them (a query's edge overlay) compare it. */
  version = 0;
  bytes = 0;
  lastActivity: number;
  readonly startedAt: number;
  /** The principal that began it (`Caller.id`); only it may use, commit or roll back the transaction. */
  owner: string | undefined = undefined;
  /** The request the commit serves (its audit entry goes into the commit's batch); set before commit. */
  origin: CommitOrigin | undefined = undefined;

  constructor(
    readonly id: string,
    readonly isolation: Isolation,
    /** Highest sequence number durable when the transaction began. */
    readonly beginSeq: number,
    /** Read view for snapshot isolation; undefined for read_committed. */
    readonly snapshot: Snapshot | undefined,
    /** One request's own transaction (no X-Transaction-Id), not counted in the explicit stats. */
    readonly implicit: boolean,
    now = Date.now(),
  ) {
    this.startedAt = now;
    this.lastActivity = now;
  }
}
