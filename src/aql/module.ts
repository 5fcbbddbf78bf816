import { type Caller, INTERNAL } from '../access.js';
import { Columns } from '../columns/index.js';
import { DEFAULTS } from '../config.js';
import type { EntityStore } from '../entities/entity-store.js';
import { Entities } from '../entities/module.js';
import { Graph } from '../graph/module.js';
import { Indexes } from '../index/module.js';
import { Vectors } from '../index/vector/module.js';
import type { Module, ModuleContext } from '../kernel/index.js';
import { Tables } from '../tables/index.js';
import type { Catalogue, TableCatalogue } from './planner.js';
import { AqlService, type AqlRequest, type AqlResponse } from './service.js';

/** LevelDB's approximate size of a table, cached for a few seconds (plan estimates only). */
function tableSizes(ctx: ModuleContext): (table: string) => Promise<number> {
  const cache = new Map<string, { bytes: number; at: number }>();
  return async (table) => {
    const c = cache.get(table);
    if (c && Date.now() - c.at < 5_000) return c.bytes;
    const bytes = await ctx.documents.tableBytes(table);
    if (cache.size > 10_000) cache.clear();
    cache.set(table, { bytes, at: Date.now() });
    return bytes;
  };
}

/** AQL over every model: what the executor reads through (one snapshot per query; fulltext, vector and graph from their latest state). */
function aqlService(ctx: ModuleContext): AqlService {
  const indexes = ctx.get(Indexes);
  const vectors = ctx.get(Vectors).manager;
  const graph = ctx.get(Graph);
  const tables = ctx.get(Tables);
  const bytesOf = tableSizes(ctx);
  const deps = {
    engine: ctx.engine,
    transactions: ctx.transactions,
    documents: ctx.documents,
    entities: ctx.get(Entities),
    scanKeys: indexes.scanKeyChunks.bind(indexes),
    valueRuns: indexes.valueRuns.bind(indexes),
    compoundKeys: indexes.compoundKeys.bind(indexes),
    columns: ctx.get(Columns),
    fulltext: (table: string, column: string, query: string, limit: number) =>
      indexes.fulltext(table, column).search(query, { limit, offset: 0 }).hits,
    vector: (index: string, vector: unknown, k: number, filter?: (key: string) => boolean) => vectors.get(index).search(vector, k, filter),
    neighbors: graph.neighbors.bind(graph),
    tables: { exists: (t: string) => tables.exists(t), count: (t: string) => tables.count(t), names: () => tables.names() },
    catalogue: async (names: string[]): Promise<Catalogue> => {
      const cats = new Map<string, TableCatalogue>();
      for (const t of names) {
        const bytes = await bytesOf(t);
        cats.set(t, {
          indexes: indexes.readyDefs(t).map((d) => ({ id: d.id, columns: d.columns, type: d.type, unique: d.unique, sparse: d.sparse })),
          fulltext: indexes.fulltextColumns(t),
          vector: vectors
            .onTable(t)
            .filter((x) => x.def.state !== 'dropping')
            .map((x) => ({ name: x.def.name, field: x.def.field, metric: x.def.metric })),
          rows: Math.round(bytes / 200),
          exists: tables.exists(t),
        });
      }
      return (table: string) => cats.get(table) ?? { indexes: [], fulltext: [], vector: [], rows: 0, exists: tables.exists(table) };
    },
  };
  const c = ctx.config;
  return new AqlService(
    () => deps,
    {
      timeoutMs: c.queryTimeoutMs ?? DEFAULTS.queryTimeoutMs,
      maxResults: c.queryMaxResults ?? DEFAULTS.queryMaxResults,
      maxIntermediate: c.queryMaxIntermediate ?? DEFAULTS.queryMaxIntermediate,
      cursorTtlMs: c.cursorTtlMs ?? DEFAULTS.cursorTtlMs,
      maxMemory: c.queryMaxMemory ?? DEFAULTS.queryMaxMemory,
      // Values an AQL query builds or parses (JSON_PARSE) nest no deeper than the request bodies they came from may.
      maxDepth: c.maxJsonDepth ?? DEFAULTS.maxJsonDepth,
      failOnWarning: c.queryFailOnWarning ?? DEFAULTS.queryFailOnWarning,
    },
    ctx.log,
  );
}

/** POST /query/aql (see docs/aql.md); with X-Transaction-Id it reads and writes in that transaction. */
export class AqlQueries {
  constructor(
    readonly service: AqlService,
    private readonly entities: EntityStore,
  ) {}

  /** `caller`: the requester (its table access; it must own the transaction); absent: in-process, every table. */
  run(body: AqlRequest, txnId?: string, internal: { naive?: boolean } = {}, caller: Caller = INTERNAL): Promise<AqlResponse> {
    return this.service.run(body, this.entities.joined(txnId, caller), internal, caller);
  }
}

export const Aql: Module<AqlQueries> = {
  name: 'aql',
  after: [Indexes, Vectors, Graph, Entities, Tables, Columns],
  open: (ctx) => new AqlQueries(aqlService(ctx), ctx.get(Entities)),
  close: (a) => a.service.close(),
};
