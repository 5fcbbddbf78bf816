import type { components } from '../api/types.js';
import { type EntityKey, TABLE_NAME } from '../documents/index.js';
import { ThemisError } from '../errors.js';
import { type Engine, keyspace, prefixUpperBound, WriteBatch } from '../storage/index.js';
import type { CommitInfo, CommitParticipant, DocumentValue, Transaction, WriteTransform } from '../txn/index.js';
import type { Classifier, PiiMatch } from './classifier/index.js';
import { type FieldPath, mapStrings, outsideTokens, parsePath, replaceMatches } from './rewrite.js';
import { TOKEN } from './tokens.js';
import { PseudonymBatch, type Vault } from './vault.js';

const ks = keyspace('pii');
/** Policies: 'p' + table -> JSON. */
const POLICY = 'p';
/** Detection counts of `detect` tables: 'c' + table -> JSON. */
const COUNTS = 'c';

export type PolicyInput = components['schemas']['PiiPolicyRequest'];
export type PolicyView = components['schemas']['PiiPolicy'];

/** Per table: documents written with PII found, and matches per category (cumulative, `detect` tables). */
export interface DetectionCounts {
  documents: number;
  matches: Record<string, number>;
}

interface Policy {
  view: PolicyView;
  paths: readonly FieldPath[] | 'auto';
}

/** What a transaction's writes to policy tables left for its commit. */
interface Pending {
  txn: Transaction;
  /** New vault records by uuid. */
  fresh: Map<string, Buffer>;
  /** Matches found in `detect` tables, by entity key (the last write of a key counts). */
  detected: Map<string, { table: string; matches: Record<string, number> }>;
}

/** A document after its policy: what to store, new vault records (pseudonymize), matches per category (detect). */
interface Outcome {
  value: DocumentValue;
  fresh?: Map<string, Buffer>;
  detected?: Record<string, number>;
}

/** Shorter strings are not classified (no PII fits in two characters). */
const MIN_LENGTH = 3;

interface Plan {
  fresh: Map<string, Buffer>;
  counts: Map<string, DetectionCounts>;
}

/**
 * PII policies on tables (docs/pii.md, "Policies"): the write transform
 * that pseudonymizes, refuses or counts PII in documents before they are
 * buffered, and the commit participant that writes the new vault records
 * and detection counts in the batch of the commit storing the document —
 * a rolled-back write leaves no vault record behind.
 */
export class Policies {
  private readonly byTable = new Map<string, Policy>();
  private readonly counts = new Map<string, DetectionCounts>();
  private readonly pending = new Map<string, Pending>();
  private readonly sweeper: NodeJS.Timeout;

  private constructor(
    private readonly engine: Engine,
    private readonly vault: Vault,
    private readonly classifier: () => Classifier,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  static async open(engine: Engine, vault: Vault, classifier: () => Classifier): Promise<Policies> {
    const p = new Policies(engine, vault, classifier);
    for await (const [k, v] of engine.scan(ks, prefixRange(POLICY))) {
      const view = JSON.parse(v.toString('utf8')) as PolicyView;
      p.byTable.set(k.toString('utf8', 1), compile(view));
    }
    for await (const [k, v] of engine.scan(ks, prefixRange(COUNTS))) {
      p.counts.set(k.toString('utf8', 1), JSON.parse(v.toString('utf8')) as DetectionCounts);
    }
    return p;
  }

  list(): PolicyView[] {
    return [...this.byTable.values()].map((p) => p.view).sort((a, b) => (a.table < b.table ? -1 : 1));
  }

  get(table: string): PolicyView {
    const p = this.byTable.get(table);
    if (!p) throw new ThemisError('NOT_FOUND', `table ${table} has no PII policy`);
    return p.view;
  }

  get size(): number {
    return this.byTable.size;
  }

  /** Whether any table pseudonymizes. */
  get pseudonymizing(): boolean {
    for (const p of this.byTable.values()) if (p.view.action === 'pseudonymize') return true;
    return false;
  }

  detections(): Record<string, DetectionCounts> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  async put(table: string, input: PolicyInput, knownCategories: ReadonlySet<string>, now = Date.now()): Promise<PolicyView> {
    if (!TABLE_NAME.test(table))
      throw new ThemisError('VALIDATION_FAILED', `"${table.slice(0, 80)}" is not a table name (1-128 of A-Z a-z 0-9 _ -)`, {
        details: { field: 'table' },
      });
    for (const c of input.categories ?? [])
      if (!knownCategories.has(c))
        throw new ThemisError('VALIDATION_FAILED', `categories: unknown category ${c}`, { details: { field: 'categories' } });
    const at = new Date(now).toISOString();
    const view: PolicyView = {
      table,
      fields: input.fields,
      action: input.action,
      categories: input.categories ?? null,
      scope: input.scope ?? 'default',
      language: input.language ?? 'auto',
      created_at: this.byTable.get(table)?.view.created_at ?? at,
      updated_at: at,
    };
    const p = compile(view);
    await this.engine.commit(new WriteBatch().put(ks, Buffer.from(POLICY + table, 'utf8'), Buffer.from(JSON.stringify(view), 'utf8')));
    this.byTable.set(table, p);
    return view;
  }

  async remove(table: string): Promise<{ status: 'ok'; table: string; deleted: true }> {
    this.get(table);
    await this.engine.commit(new WriteBatch().del(ks, Buffer.from(POLICY + table, 'utf8')));
    this.byTable.delete(table);
    return { status: 'ok', table, deleted: true };
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  // ---------------------------------------------------------------- writes

  readonly transform: WriteTransform = {
    name: 'pii-policy',
    put: (k: EntityKey, value: DocumentValue, txn: Transaction): DocumentValue => {
      const policy = this.byTable.get(k.table);
      if (policy === undefined) return value;
      const out = this.evaluate(policy, k, value);
      this.register(out, k, txn);
      return out.value;
    },
  };

  /** A document through its table's policy: refused (reject), counted (detect) or rewritten (pseudonymize). */
  private evaluate(policy: Policy, k: EntityKey, value: DocumentValue): Outcome {
    const v = policy.view;
    const doc = value.doc !== undefined ? value.doc : JSON.parse(value.text);
    const classifier = this.classifier();
    const opts = { language: v.language, ...(v.categories ? { categories: v.categories } : {}) };
    // Tokens already in a string (a document written again) are not classified again.
    const matchesOf = (s: string): PiiMatch[] => (s.length < MIN_LENGTH ? [] : outsideTokens(s, classifier.classify(s, opts)));
    if (v.action === 'reject') {
      mapStrings(doc, policy.paths, (s, path) => {
        const m = matchesOf(s)[0];
        if (m)
          throw new ThemisError('PII_DETECTED', `field ${path} of ${k.key} holds PII (${m.category}); table ${k.table} refuses PII`, {
            details: { field: path, category: m.category, table: k.table },
          });
        return undefined;
      });
      return { value: { text: value.text, doc } };
    }
    if (v.action === 'detect') {
      const detected: Record<string, number> = {};
      mapStrings(doc, policy.paths, (s) => {
        for (const m of matchesOf(s)) detected[m.category] = (detected[m.category] ?? 0) + 1;
        return undefined;
      });
      return { value: { text: value.text, doc }, detected };
    }
    const pseudonyms = new PseudonymBatch(this.vault, v.scope);
    const out = mapStrings(doc, policy.paths, (s) => {
      const matches = matchesOf(s);
      return matches.length === 0 ? undefined : replaceMatches(s, matches, pseudonyms.of).text;
    });
    return {
      value: out === doc ? { text: value.text, doc } : { text: JSON.stringify(out), doc: out },
      fresh: pseudonyms.fresh,
    };
  }

  /** What a document's pass left for its commit, under its transaction. */
  private register(o: Outcome, k: EntityKey, txn: Transaction): void {
    if (o.fresh !== undefined && o.fresh.size > 0) {
      const p = this.pendingOf(txn);
      for (const [uuid, rec] of o.fresh) p.fresh.set(uuid, rec);
    }
    if (o.detected !== undefined) {
      const any = Object.keys(o.detected).length > 0;
      if (any) this.pendingOf(txn).detected.set(k.key, { table: k.table, matches: o.detected });
      else this.pending.get(txn.id)?.detected.delete(k.key);
    }
  }

  private pendingOf(txn: Transaction): Pending {
    let p = this.pending.get(txn.id);
    if (p === undefined || p.txn !== txn) this.pending.set(txn.id, (p = { txn, fresh: new Map(), detected: new Map() }));
    return p;
  }

  /** Forget what transactions that ended without a commit left (rolled back, timed out, refused). */
  private sweep(): void {
    for (const [id, p] of this.pending) if (p.txn.state !== 'active' && p.txn.state !== 'committing') this.pending.delete(id);
  }

  readonly participant: CommitParticipant<Plan> = {
    name: 'pii',
    prepare: (info: CommitInfo): Plan | undefined => {
      const p = this.pending.get(info.txnId);
      if (p === undefined) return undefined;
      this.pending.delete(info.txnId);
      // Only records whose token the committed documents hold (a key written twice keeps its last value).
      const fresh = new Map<string, Buffer>();
      if (p.fresh.size * info.changes.length <= 64) {
        for (const [uuid, rec] of p.fresh) if (info.changes.some((c) => c.value?.includes(uuid))) fresh.set(uuid, rec);
      } else {
        const present = new Set<string>();
        for (const c of info.changes) if (c.value?.includes('[')) for (const m of c.value.matchAll(TOKEN)) present.add(m[2]!);
        for (const [uuid, rec] of p.fresh) if (present.has(uuid)) fresh.set(uuid, rec);
      }
      const counts = new Map<string, DetectionCounts>();
      for (const c of info.changes) {
        const d = c.op === 'put' ? p.detected.get(c.key) : undefined;
        if (d === undefined) continue;
        let t = counts.get(d.table);
        if (!t) counts.set(d.table, (t = { documents: 0, matches: {} }));
        t.documents++;
        for (const [cat, n] of Object.entries(d.matches)) t.matches[cat] = (t.matches[cat] ?? 0) + n;
      }
      return fresh.size === 0 && counts.size === 0 ? undefined : { fresh, counts };
    },
    write: (_info, plan, batch) => {
      if (!plan) return;
      this.vault.write(batch, plan.fresh);
      for (const [table, add] of plan.counts) {
        const t = this.addCounts(table, add, 1);
        batch.put(ks, Buffer.from(COUNTS + table, 'utf8'), Buffer.from(JSON.stringify(t), 'utf8'));
      }
    },
    applied: (_info, plan) => {
      if (plan) this.vault.written(plan.fresh);
    },
    aborted: (_info, plan) => {
      if (plan) for (const [table, add] of plan.counts) this.addCounts(table, add, -1);
    },
  };

  private addCounts(table: string, add: DetectionCounts, sign: 1 | -1): DetectionCounts {
    let t = this.counts.get(table);
    if (!t) this.counts.set(table, (t = { documents: 0, matches: {} }));
    t.documents += sign * add.documents;
    for (const [cat, n] of Object.entries(add.matches)) t.matches[cat] = (t.matches[cat] ?? 0) + sign * n;
    return t;
  }
}

/** The keys inside the keyspace starting with `prefix`. */
function prefixRange(prefix: string): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.from(prefix, 'utf8');
  return { gte, lt: prefixUpperBound(gte) };
}

function compile(view: PolicyView): Policy {
  return { view, paths: view.fields === 'auto' ? 'auto' : view.fields.map(parsePath) };
}
