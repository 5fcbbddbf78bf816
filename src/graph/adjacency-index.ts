import { parseEntityKey, type DocumentStore } from '../documents/index.js';
import type { Logger } from '../log.js';
import {
  type Engine,
  type Snapshot,
  WriteBatch,
  decodeUtf8,
  encodeUtf8,
  keyspace,
  orderedCodec,
  prefixUpperBound,
} from '../storage/index.js';
import type { CommitInfo, CommitParticipant } from '../txn/index.js';

const graphKs = keyspace('graph');
const metaKs = keyspace('meta');

/** Meta key recording that the adjacency index covers every entity (written once, after the first build). */
export const GRAPH_INDEX_VERSION_KEY = Buffer.from('graph_index_version');
export const GRAPH_INDEX_VERSION = 1;

/**
 * Adjacency key layout inside the `graph` keyspace:
 *   0x01 ‹from, edgeKey› -> to     (out-adjacency)
 *   0x02 ‹to, edgeKey›   -> from   (in-adjacency)
 * ‹…› is orderedCodec: self-delimiting strings with 0x00 escaped, so vertex
 * keys may hold any character (pks can contain 0x00) and all edges of one
 * vertex are the byte range with prefix `dir ‹vertex›`, ordered by edge key.
 */
const OUT = 0x01;
const IN = 0x02;

/** Operations per batch when (re)building the index from existing data. */
const REBUILD_BATCH_OPS = 10_000;

export type Direction = 'outbound' | 'inbound' | 'any';
export const DIRECTIONS: readonly Direction[] = ['outbound', 'inbound', 'any'];

/** An edge as stored in the index, seen from one vertex. */
export interface Adjacent {
  /** The edge entity's key (`table:pk`). */
  readonly edge: string;
  /** The vertex at the other end. */
  readonly vertex: string;
}

export interface EdgeEnds {
  readonly from: string;
  readonly to: string;
}

/**
 * The ends of an edge document, or undefined if it is not an edge. An edge is
 * a JSON object whose `_from` and `_to` are both valid entity keys
 * (`table:pk`); anything else (missing, not a string, malformed key) is an
 * ordinary document, so a typo never fails a write.
 */
export function edgeEnds(text: string | null, parsed?: () => unknown): EdgeEnds | undefined {
  // Fast path: most documents are not edges. A `_from` field is either spelled
  // literally or hidden behind a \u escape.
  if (text === null || (!text.includes('_from') && !text.includes('\\u'))) return undefined;
  let doc: unknown;
  try {
    doc = parsed ? parsed() : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { _from: from, _to: to } = doc as { _from?: unknown; _to?: unknown };
  if (typeof from !== 'string' || typeof to !== 'string' || !isEntityKey(from) || !isEntityKey(to)) return undefined;
  return { from, to };
}

function isEntityKey(s: string): boolean {
  try {
    parseEntityKey(s);
    return true;
  } catch {
    return false;
  }
}

/** The table of an entity key (everything before the first `:`). */
export function tableOf(key: string): string {
  return key.slice(0, key.indexOf(':'));
}

function adjacencyKey(dir: number, vertex: string, edge: string): Buffer {
  return Buffer.concat([Buffer.of(dir), orderedCodec.encode([vertex, edge])]);
}

function vertexPrefix(dir: number, vertex: string): Buffer {
  return Buffer.concat([Buffer.of(dir), orderedCodec.encode([vertex])]);
}

function addEdge(batch: WriteBatch, edge: string, e: EdgeEnds): void {
  batch.put(graphKs, adjacencyKey(OUT, e.from, edge), encodeUtf8(e.to));
  batch.put(graphKs, adjacencyKey(IN, e.to, edge), encodeUtf8(e.from));
}

function removeEdge(batch: WriteBatch, edge: string, e: EdgeEnds): void {
  batch.del(graphKs, adjacencyKey(OUT, e.from, edge));
  batch.del(graphKs, adjacencyKey(IN, e.to, edge));
}

/**
 * Out- and in-adjacency of every edge entity, kept in the `graph` keyspace.
 * Its commit participant writes the entries into the commit's own batch, so the
 * index agrees with the data after updates, deletes, rollbacks (nothing is
 * written) and crashes (all of the batch or none of it).
 */
export class AdjacencyIndex {
  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly log: Logger,
  ) {}

  /**
   * Recovery: build the index once for data written before it existed
   * (meta key missing). Runs before the database serves requests, so no
   * commit races the scan. Partial builds (crash midway) are redone from
   * scratch: the keyspace is cleared first.
   */
  async open(): Promise<void> {
    if (this.engine.getSync(metaKs, GRAPH_INDEX_VERSION_KEY) !== undefined) return;
    const started = Date.now();
    let batch = new WriteBatch();
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.engine.commit(batch);
      batch = new WriteBatch();
    };
    for await (const [k] of this.engine.scan(graphKs)) {
      batch.del(graphKs, k);
      if (batch.length >= REBUILD_BATCH_OPS) await flush();
    }
    await flush();
    let edges = 0;
    for await (const rows of this.documents.scan()) {
      for (const [key, text] of rows) {
        const ends = edgeEnds(text);
        if (!ends) continue;
        addEdge(batch, key, ends);
        edges++;
      }
      if (batch.length >= REBUILD_BATCH_OPS) await flush();
    }
    batch.put(metaKs, GRAPH_INDEX_VERSION_KEY, encodeUtf8(String(GRAPH_INDEX_VERSION)));
    await flush();
    this.log.info('graph adjacency index built', { edges, ms: Date.now() - started });
  }

  /** Commit participation: drop the entries of the previous version of each entity, add those of the new one. */
  readonly participant: CommitParticipant = {
    name: 'graph',
    write: (info, _plan, batch) => this.write(info, batch),
  };

  private write(info: CommitInfo, batch: WriteBatch): void {
    for (const c of info.changes) {
      const before = edgeEnds(c.prev, () => c.prevDoc);
      const after = edgeEnds(c.value, () => c.doc);
      if (before && after && before.from === after.from && before.to === after.to) continue;
      if (before) removeEdge(batch, c.key, before);
      if (after) addEdge(batch, c.key, after);
    }
  }

  /**
   * Edges at `vertex` in the latest committed state (or as of `snapshot`:
   * the entries are written in the commit's batch, so a snapshot holds the
   * adjacency of exactly the documents it holds), ordered by edge key
   * (outbound before inbound for `any`), optionally only those whose entity
   * is in `edgeTable`.
   */
  async neighbors(vertex: string, direction: Direction, edgeTable?: string, snapshot?: Snapshot): Promise<Adjacent[]> {
    const out: Adjacent[] = [];
    if (direction !== 'inbound') await this.collect(OUT, vertex, edgeTable, out, snapshot);
    if (direction !== 'outbound') await this.collect(IN, vertex, edgeTable, out, snapshot);
    return out;
  }

  private async collect(dir: number, vertex: string, edgeTable: string | undefined, out: Adjacent[], snapshot?: Snapshot): Promise<void> {
    const prefix = vertexPrefix(dir, vertex);
    const range = { gte: prefix, lt: prefixUpperBound(prefix), ...(snapshot ? { snapshot } : {}) };
    for await (const [k, v] of this.engine.scan(graphKs, range)) {
      const [, edge] = orderedCodec.decode(k.subarray(1)) as [string, string];
      if (edgeTable !== undefined && tableOf(edge) !== edgeTable) continue;
      out.push({ edge, vertex: decodeUtf8(v) });
    }
  }
}
