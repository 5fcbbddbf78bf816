/**
 * Document sources of a FOR: full scans, primary-key reads, index scans,
 * fulltext and vector searches, arrays, and the hash join's inner side; and
 * DOCUMENT(). Every document is read as the query sees it: through the
 * query's snapshot with the transaction's own writes over it; stored
 * documents come from the DocumentStore (`readEntity` and the full-scan
 * case of `sourceDocs`).
 */
import { deepFreeze, parseEntityKey, type EntityKey } from '../../documents/index.js';
import { assertRead, tableOf } from '../../access.js';
import { ThemisError } from '../../errors.js';
import type { ScalarValue } from '../../storage/index.js';
import type { AqlValue } from '../ast.js';
import type { StoredTexts } from '../stored-texts.js';
import { BigMap } from '../big-collections.js';
import { evaluateVal } from '../evaluator.js';
import { Pending, type Holding } from '../governor.js';
import type { Source, Step } from '../planner.js';
import { hashKey, toNumber, truthy } from '../values.js';
import { extend, IndexOrderUnusable, scopeOf, tooMany, type ExecContext, type Row } from './context.js';

/** What reading a document needs: the storage and snapshot, the transaction (its writes overlay the snapshot), the stored-text map. */
export type EntityReader = Pick<ExecContext, 'deps' | 'snapshot' | 'opts' | 'texts'>;

/** What the FOR step and its sources need besides reading documents. */
export type SourceContext = EntityReader &
  Pick<ExecContext, 'gov' | 'scores' | 'evalCtx' | 'eval' | 'evalSync' | 'turnDue' | 'turn' | 'valueBytes'>;

const FULLTEXT_LIMIT = 10_000;

// ------------------------------------------------------------------ reading documents

/** What of a stored document AQL builds besides its attributes: `_key`, `_id`, and its stored text (for RETURN and sizes). */
export interface DocumentParts {
  key: boolean;
  id: boolean;
  text: boolean;
}

const WHOLE: DocumentParts = { key: true, id: true, text: true };

/**
 * Stored document as AQL sees it: parsed JSON with non-enumerable `_key` and
 * `_id` (so JSON.stringify gives the stored text) and its stored text; a
 * query that reads only some attributes asks for fewer `parts`.
 */
export function documentOf(key: string, pkStart: number, text: string, texts: StoredTexts, parts: DocumentParts = WHOLE): AqlValue {
  const doc = JSON.parse(text) as AqlValue;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    if (parts.key) Object.defineProperty(doc, '_key', { value: key.slice(pkStart), enumerable: false });
    if (parts.id) Object.defineProperty(doc, '_id', { value: key, enumerable: false });
    if (parts.text) texts.set(doc, text);
  }
  return doc;
}

/** The transaction's writes to `table`, when the query runs inside one (its puts join the source; its keys are skipped in storage). */
export function overlay(cx: EntityReader, table: string): { written: Set<string>; puts: [string, string][] } | undefined {
  const t = cx.opts.txn;
  if (!t || t.writes.size === 0) return undefined;
  const written = new Set<string>();
  const puts: [string, string][] = [];
  for (const w of t.writes.values()) {
    if (w.k.table !== table) continue;
    written.add(w.k.key);
    if (w.op === 'put' && w.value !== null) puts.push([w.k.key, w.value]);
  }
  return written.size === 0 ? undefined : { written, puts };
}

/**
 * Where the query finds entity `key` (after the access check): the text of
 * its transaction's own write (null: deleted there), else the key to read
 * through the snapshot (undefined: not an entity key).
 */
function locate(cx: EntityReader, key: string): string | null | EntityKey | undefined {
  const access = cx.opts.access;
  if (access !== undefined && !access.readsAll) assertRead(access, tableOf(key));
  const w = cx.opts.txn?.writes.get(key);
  if (w) return w.value;
  try {
    return parseEntityKey(key);
  } catch {
    return undefined;
  }
}

/** Read one entity as the query sees it (the transaction's own write first, else the snapshot). */
export function readEntity(cx: EntityReader, key: string): string | undefined {
  const at = locate(cx, key);
  if (at === null || at === undefined) return undefined;
  return typeof at === 'string' ? at : cx.deps.documents.read(at, cx.snapshot);
}

/**
 * Read one document as the query sees it, as an object: the transaction's
 * own write (parsed for this query), else the snapshot's state through the
 * document cache, which keeps the parsed document with the text once it is
 * read again, so later reads do not parse. Such a document is shared by
 * every query that reads that state, so it is deep-frozen (AQL never
 * changes a value in place; a change builds a new one).
 */
export function readDocument(cx: EntityReader, key: string, table: string): AqlValue | undefined {
  const at = locate(cx, key);
  if (at === null || at === undefined) return undefined;
  if (typeof at === 'string') return toDoc(cx, key, table, at);
  const texts = cx.texts;
  const pkStart = table.length + 1;
  const parse = (text: string) => documentOf(key, pkStart, text, texts);
  return cx.deps.documents.readDerived(at, cx.snapshot, (text) => deepFreeze(parse(text)), parsedBytes, parse);
}

/** Estimated memory of a parsed document beside its text (a flat 90-character document measured ~170 bytes on V8). */
const parsedBytes = (text: string): number => 64 + 2 * text.length;

/** The document of `key` in `table` from its stored text. */
export function toDoc(cx: Pick<ExecContext, 'texts'>, key: string, table: string, text: string): AqlValue {
  return documentOf(key, table.length + 1, text, cx.texts);
}

/**
 * DOCUMENT(id), DOCUMENT([ids]), DOCUMENT(collection, key | [keys]): documents
 * as the query sees them (its snapshot, its transaction's writes); null /
 * left out when absent. Ids are `table:pk` (ArangoDB's `collection/key` too).
 */
export function documentCall(cx: EntityReader, args: AqlValue[]): AqlValue {
  const one = (id: AqlValue, table?: string): AqlValue => {
    if (typeof id !== 'string' || id === '') return null;
    let key = id;
    if (table !== undefined)
      key = id.startsWith(`${table}:`) || id.startsWith(`${table}/`) ? `${table}:${id.slice(table.length + 1)}` : `${table}:${id}`;
    else {
      const colon = id.indexOf(':');
      const slash = id.indexOf('/');
      if (colon < 0 && slash > 0) key = `${id.slice(0, slash)}:${id.slice(slash + 1)}`;
    }
    return readDocument(cx, key, key.slice(0, key.indexOf(':'))) ?? null;
  };
  const table = args.length > 1 ? args[0] : undefined;
  if (table !== undefined && typeof table !== 'string')
    throw new ThemisError('VALIDATION_FAILED', 'DOCUMENT(collection, key): the collection must be a name');
  const ids = args.length > 1 ? args[1]! : (args[0] ?? null);
  if (Array.isArray(ids)) return ids.map((x) => one(x, table as string | undefined)).filter((d) => d !== null);
  return one(ids, table as string | undefined);
}

// ------------------------------------------------------------------ FOR

export async function* forStep(cx: SourceContext, s: Extract<Step, { kind: 'for' }>, input: AsyncIterable<Row>): AsyncGenerator<Row> {
  const src = s.source;
  const gov = cx.gov;
  const held = gov.holding();
  try {
    const hash = src.kind === 'hash_join' ? await buildHash(cx, s, src, held) : undefined;
    for await (const row of input) {
      // Memory marks: m0 before this row's source, m1 once the source is built; each new
      // document releases what the rows below built for the previous one.
      const m0 = gov.mark();
      let m1 = -1;
      for await (const doc of sourceDocs(cx, s, src, row, hash)) {
        if (m1 < 0) m1 = gov.mark();
        else gov.reset(m1);
        if (cx.gov.due()) await cx.turn();
        const r = extend(row, s.var, doc);
        // Inline (no promise per row): a filter awaits only when its evaluation suspended.
        let ok = true;
        for (const f of s.filters) {
          let c = evaluateVal(f, scopeOf(r), cx.evalCtx);
          if (c instanceof Pending) c = await c.promise;
          if (!truthy(c)) {
            ok = false;
            break;
          }
        }
        if (ok) yield r;
      }
      gov.reset(m0);
    }
  } finally {
    held.close();
  }
}

async function* sourceDocs(
  cx: SourceContext,
  s: Extract<Step, { kind: 'for' }>,
  src: Source,
  row: Row,
  hash: BigMap<AqlValue[]> | undefined,
): AsyncGenerator<AqlValue> {
  switch (src.kind) {
    case 'expr': {
      const v = await cx.eval(src.expr, row);
      if (!Array.isArray(v))
        throw new ThemisError(
          'VALIDATION_FAILED',
          `FOR ${s.var} IN ...: expected an array to iterate, got ${v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`} (line ${s.pos.line}, column ${s.pos.column})`,
        );
      let n = 0;
      for (const x of v) {
        yield x;
        if (++n % 64 === 0 && cx.turnDue) await cx.turn();
      }
      return;
    }
    case 'full_scan': {
      const ov = overlay(cx, src.table);
      const pkStart = src.table.length + 1;
      const attrs = s.docAttrs;
      // A query that reads only some attributes of the documents gets them without the stored text and
      // without the _key/_id it does not read (the planner's attributeUse).
      const parts = attrs === undefined ? WHOLE : { key: attrs.includes('_key'), id: attrs.includes('_id'), text: false };
      for await (const chunk of cx.deps.documents.scan({ table: src.table, snapshot: cx.snapshot, size: 256 })) {
        for (const [key, text] of chunk) {
          if (ov?.written.has(key)) continue;
          yield documentOf(key, pkStart, text, cx.texts, parts);
        }
      }
      if (ov) for (const [key, text] of ov.puts) yield toDoc(cx, key, src.table, text);
      return;
    }
    case 'primary': {
      const v = await cx.eval(src.keys, row);
      const keys = src.many ? (Array.isArray(v) ? v : []) : [v];
      const seen = new Set<string>();
      for (const pk of keys) {
        if (typeof pk !== 'string' || pk === '' || seen.has(pk)) continue;
        seen.add(pk);
        const d = readDocument(cx, `${src.table}:${pk}`, src.table);
        if (d !== undefined) yield d;
      }
      return;
    }
    case 'index_eq': {
      const v = await cx.eval(src.values, row);
      const vals = src.many ? (Array.isArray(v) ? v : []) : [v];
      // Objects and arrays are not index values (an indexed array is stored as its elements), and a
      // sparse index holds no nulls: `==` can still match such documents, so scan the table (the
      // FOR's filters keep the condition).
      if (vals.some((x) => (x !== null && typeof x === 'object') || (x === null && src.sparse))) {
        yield* sourceDocs(cx, s, { kind: 'full_scan', table: src.table }, row, undefined);
        return;
      }
      yield* indexedDocs(
        cx,
        src.table,
        vals.map((x) => () => cx.deps.scanKeys(src.indexId, { eq: x as ScalarValue }, cx.snapshot)),
      );
      return;
    }
    case 'index_range': {
      const r: Parameters<SourceContext['deps']['scanKeys']>[1] = { reverse: src.reverse };
      if (src.hint) {
        // A read-size hint only: values a LIMIT would refuse leave the default read size.
        const offset = cx.eval(src.hint.offset, row);
        const count = cx.eval(src.hint.count, row);
        if (typeof offset === 'number' && typeof count === 'number' && offset >= 0 && count >= 0) r.first = offset + count;
      }
      if (src.lower) {
        r.lower = (await cx.eval(src.lower.expr, row)) as ScalarValue;
        r.includeLower = src.lower.inclusive;
      }
      if (src.upper) {
        r.upper = (await cx.eval(src.upper.expr, row)) as ScalarValue;
        r.includeUpper = src.upper.inclusive;
      }
      // With a transaction's own writes the order is no longer the index's (they follow the
      // index's rows, where a SORT's LIMIT may never reach them): a SORT relying on it re-plans.
      if (src.ordered && overlay(cx, src.table)) throw new IndexOrderUnusable('overlay');
      yield* indexedDocs(cx, src.table, [() => cx.deps.scanKeys(src.indexId, r, cx.snapshot)]);
      return;
    }
    case 'hash_join': {
      const k = await cx.eval(src.outerKey, row);
      const hits = hash!.get(hashKey(k));
      if (hits) yield* hits;
      return;
    }
    case 'fulltext': {
      const q = await cx.eval(src.query, row);
      if (typeof q !== 'string') throw new ThemisError('VALIDATION_FAILED', 'FULLTEXT(): the query must be a string');
      for (const h of cx.deps.fulltext(src.table, src.column, q, FULLTEXT_LIMIT)) {
        const text = readEntity(cx, h.key);
        if (text === undefined) continue;
        const d = toDoc(cx, h.key, src.table, text);
        if (d !== null && typeof d === 'object') cx.scores.set(d, h.score);
        yield d;
      }
      return;
    }
    case 'vector': {
      const vec = await cx.eval(src.vector, row);
      const k = toNumber(await cx.eval(src.k, row));
      if (!Number.isInteger(k) || k < 0 || k > 10_000)
        throw new ThemisError('VALIDATION_FAILED', `the number of nearest neighbours must be an integer from 0 to 10000, got ${k}`);
      if (k === 0) return;
      // The FOR's other conditions run inside the graph walk, so k hits come back whenever k match.
      const cache = new Map<string, AqlValue | undefined>();
      const load = (key: string) => {
        if (!cache.has(key)) {
          const text = readEntity(cx, key);
          cache.set(key, text === undefined ? undefined : toDoc(cx, key, src.table, text));
        }
        return cache.get(key);
      };
      const filter =
        s.filters.length === 0
          ? (key: string) => load(key) !== undefined
          : (key: string) => {
              const d = load(key);
              if (d === undefined) return false;
              const r = extend(row, s.var, d);
              return s.filters.every((f) => truthy(cx.evalSync(f, r)));
            };
      for (const h of cx.deps.vector(src.index, vec, k, filter)) {
        const d = load(h.key);
        if (d === undefined) continue;
        if (d !== null && typeof d === 'object') cx.scores.set(d, 1 - h.distance);
        yield d;
      }
      return;
    }
  }
}

/**
 * Documents of the keys some index scans yield, each once, as the query
 * sees them; with a transaction, its written keys are skipped in the scans
 * and its own puts to the table follow (filters decide whether they match).
 */
async function* indexedDocs(cx: SourceContext, table: string, scans: (() => AsyncGenerator<string[]>)[]): AsyncGenerator<AqlValue> {
  const ov = overlay(cx, table);
  const seen = new Set<string>();
  for (const scan of scans) {
    for await (const keys of scan()) {
      for (const key of keys) {
        if (seen.has(key) || ov?.written.has(key)) continue;
        seen.add(key);
        const d = readDocument(cx, key, table);
        if (d !== undefined) yield d;
      }
    }
  }
  if (ov) for (const [key, text] of ov.puts) yield toDoc(cx, key, table, text);
}

// ------------------------------------------------------------------ hash join

/** The inner side of a hash join: the table's documents (filtered by conditions on them alone) by join key. */
async function buildHash(
  cx: SourceContext,
  s: Extract<Step, { kind: 'for' }>,
  src: Extract<Source, { kind: 'hash_join' }>,
  held: Holding,
): Promise<BigMap<AqlValue[]>> {
  const map = new BigMap<AqlValue[]>();
  let n = 0;
  const empty = Object.create(null) as Row;
  const gov = cx.gov;
  for await (const d of sourceDocs(cx, s, { kind: 'full_scan', table: src.table }, empty, undefined)) {
    if (gov.due()) await cx.turn();
    const m = gov.mark();
    let k = cx.eval(src.innerKey, extend(empty, s.var, d));
    if (k instanceof Promise) k = await k;
    const h = hashKey(k);
    gov.reset(m);
    held.hold(48 + 2 * h.length + cx.valueBytes(d));
    const list = map.get(h);
    if (list) list.push(d);
    else map.set(h, [d]);
    if (++n > cx.opts.maxIntermediate) throw tooMany(cx.opts.maxIntermediate, `the hash join over ${src.table}`);
  }
  return map;
}
