import { ThemisError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Engine, WriteBatch, type Keyspace, type Snapshot } from '../storage/index.js';

/** `building` while the backfill runs; only `ready` indexes serve; `dropping` until a drop has removed what the index wrote. */
export type DefinitionState = 'building' | 'ready' | 'dropping';

/** What every index definition has (secondary, fulltext and vector alike). */
export interface Definition {
  /** Never reused (the counter is stored), so a dropped index's leftovers can't be adopted by a new one. */
  id: number;
  table: string;
  state: DefinitionState;
}

/** Where one kind of index stores its definitions: one JSON value a definition, and the id counter (`{"next_id": n}`). */
export interface DefinitionLayout {
  keyspace: Keyspace;
  key(id: number): Buffer;
  counterKey: Buffer;
  /** The keys holding definitions (default: the whole keyspace); the counter, if it is among them, is skipped. */
  range?: { gte: Buffer; lt: Buffer };
}

/** What the registry needs to know of one kind of index. */
export interface DefinitionKind<D> {
  /** How messages name the kind: `index`, `vector index`. */
  noun: string;
  name(def: D): string;
  /** Remove what the index wrote (entries, counts, checkpoint files); may add deletions to `last`, the batch that then removes the definition. */
  clear(def: D, last: WriteBatch): Promise<void>;
}

/** The stored definitions of one kind, by state, in id order. */
export interface LoadedDefinitions<D> {
  ready: D[];
  building: D[];
  dropping: D[];
}

/**
 * The definitions of one kind of index, durable (their keyspace, the id
 * counter) and live (the indexes commits maintain now, by id and by
 * table), and the life of an index between them:
 *
 *   build:   registered (so commits maintain it) → stored `building` →
 *            backfilled → still registered? → `ready` → stored
 *   discard: unregistered (no longer maintained) → stored `dropping` →
 *            its data removed → definition removed
 *   resume:  at open, an interrupted drop finishes and an interrupted build
 *            is discarded and built again.
 *
 * `L` is the kind's live index (it carries its definition).
 */
export class DefinitionRegistry<D extends Definition, L extends { readonly def: D }> {
  private nextId = 1;
  private readonly byId = new Map<number, L>();
  private readonly byTable = new Map<string, L[]>();

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly layout: DefinitionLayout,
    private readonly kind: DefinitionKind<D>,
  ) {}

  /** Read the stored definitions; the id counter continues past every one of them. */
  async load(): Promise<LoadedDefinitions<D>> {
    const { keyspace: ks, counterKey, range } = this.layout;
    const out: LoadedDefinitions<D> = { ready: [], building: [], dropping: [] };
    const counter = this.engine.getSync(ks, counterKey);
    if (counter) this.nextId = Math.max(this.nextId, (JSON.parse(counter.toString('utf8')) as { next_id: number }).next_id);
    for await (const [k, v] of this.engine.scan(ks, range ?? {})) {
      if (k.equals(counterKey)) continue;
      const def = JSON.parse(v.toString('utf8')) as D;
      this.nextId = Math.max(this.nextId, def.id + 1);
      if (def.state === 'building') out.building.push(def);
      else if (def.state === 'dropping') out.dropping.push(def);
      else out.ready.push(def);
    }
    return out;
  }

  /** Ids of the definitions `snapshot` holds as ready (and `keep`): the indexes a server opening a copy of it loads (an online backup). */
  async readyAt(snapshot: Snapshot, keep: (def: D) => boolean = () => true): Promise<Set<number>> {
    const { keyspace: ks, counterKey, range } = this.layout;
    const out = new Set<number>();
    for await (const [k, v] of this.engine.scan(ks, { ...(range ?? {}), snapshot })) {
      if (k.equals(counterKey)) continue;
      const def = JSON.parse(v.toString('utf8')) as D;
      if (def.state === 'ready' && keep(def)) out.add(def.id);
    }
    return out;
  }

  /** At open, after the ready indexes are loaded: finish interrupted drops, then discard interrupted builds and build them again (a failing rebuild is logged; the index is gone). */
  async resume(loaded: LoadedDefinitions<D>, rebuild: (def: D) => Promise<unknown>): Promise<void> {
    for (const def of loaded.dropping) await this.discard(def);
    for (const def of loaded.building) {
      await this.discard(def);
      try {
        await rebuild(def);
      } catch (e) {
        this.log.error(`rebuilding an interrupted ${this.kind.noun} failed; it was dropped`, { index: this.kind.name(def), error: e });
      }
    }
  }

  /** An id for a new definition (never handed out again). */
  newId(): number {
    return this.nextId++;
  }

  /** Store a definition, with the id counter. */
  async save(def: D): Promise<void> {
    const b = this.put(new WriteBatch(), def);
    b.put(this.layout.keyspace, this.layout.counterKey, Buffer.from(JSON.stringify({ next_id: this.nextId }), 'utf8'));
    await this.engine.commit(b);
  }

  /** Add a definition's new value to `batch` (a setting changed at run time). */
  put(batch: WriteBatch, def: D): WriteBatch {
    return batch.put(this.layout.keyspace, this.layout.key(def.id), Buffer.from(JSON.stringify(def), 'utf8'));
  }

  // ------------------------------------------------------------------ live indexes

  /** Maintain `live` in commits from now on. */
  register(live: L): L {
    this.byId.set(live.def.id, live);
    this.byTable.set(live.def.table, [...(this.byTable.get(live.def.table) ?? []), live]);
    return live;
  }

  private unregister(id: number): void {
    const l = this.byId.get(id);
    if (!l) return;
    this.byId.delete(id);
    const rest = (this.byTable.get(l.def.table) ?? []).filter((x) => x !== l);
    if (rest.length === 0) this.byTable.delete(l.def.table);
    else this.byTable.set(l.def.table, rest);
  }

  get(id: number): L | undefined {
    return this.byId.get(id);
  }

  /** Every live index (any state). */
  all(): IterableIterator<L> {
    return this.byId.values();
  }

  /** The live indexes over `table` (any state). */
  onTable(table: string): readonly L[] {
    return this.byTable.get(table) ?? [];
  }

  /** No live index at all (a commit has nothing to maintain). */
  get empty(): boolean {
    return this.byTable.size === 0;
  }

  /** Whether `live` is still the registered index of its id (not dropped meanwhile). */
  isCurrent(live: L): boolean {
    return this.byId.get(live.def.id) === live;
  }

  /** CONFLICT when `live` was dropped while it was being built (checked between backfill batches and at the end). */
  assertCurrent(live: L): void {
    if (!this.isCurrent(live))
      throw new ThemisError('CONFLICT', `${this.kind.noun} ${this.kind.name(live.def)} was dropped while it was being built`);
  }

  // ------------------------------------------------------------------ build / discard

  /**
   * Register `live` (its definition `building`) and store it, backfill it
   * (`fill`), mark it `ready` and run `verify` (checks that hold only from
   * `ready` on); any failure discards it. Registered before the definition is
   * queued: every commit that did not maintain it is queued before the
   * definition, hence durable before the backfill scans. The caller stores
   * the `ready` definition.
   */
  async build(live: L, fill: () => Promise<void>, verify?: () => Promise<void>): Promise<void> {
    const def = live.def;
    this.register(live);
    try {
      await this.save(def);
      await fill();
      this.assertCurrent(live);
      def.state = 'ready';
      if (verify) await verify();
    } catch (e) {
      await this.discard(def);
      throw e;
    }
  }

  /**
   * Stop maintaining an index at once, then remove what it wrote and its
   * definition. The definition stays (`dropping`) until its data is gone, so
   * a crash in between resumes the drop at the next open.
   */
  async discard(def: D): Promise<void> {
    this.unregister(def.id);
    await this.save({ ...def, state: 'dropping' });
    const last = new WriteBatch();
    await this.kind.clear(def, last);
    await this.engine.commit(last.del(this.layout.keyspace, this.layout.key(def.id)));
  }
}
