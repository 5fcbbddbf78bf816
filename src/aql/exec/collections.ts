/**
 * COLLECTIONS(), COLLECTION_COUNT(coll) and LENGTH(coll) (ArangoDB's
 * database functions) over the table catalogue. Figures are the latest
 * committed ones, like the fulltext and vector indexes': not the query's
 * snapshot, and not the uncommitted writes of its transaction (a table the
 * transaction created does exist for it, with the committed count).
 */
import { assertRead } from '../../access.js';
import { TABLE_NAME } from '../../documents/index.js';
import { ThemisError } from '../../errors.js';
import type { Transaction } from '../../txn/index.js';
import type { AqlValue } from '../ast.js';
import { collectionNotFound } from '../planner.js';
import type { ExecContext } from './context.js';

type CatalogueReader = Pick<ExecContext, 'deps' | 'opts'>;

/** Tables the transaction has put documents into (they exist for it before it commits). */
function writtenTables(txn: Transaction | undefined): Set<string> {
  const out = new Set<string>();
  if (txn) for (const w of txn.writes.values()) if (w.op === 'put') out.add(w.k.table);
  return out;
}

/** COLLECTION_COUNT(coll): documents in the collection; 403 for one the caller may not read, 404 for one that does not exist. */
export function collectionCount(cx: CatalogueReader, name: AqlValue): number {
  if (typeof name !== 'string' || !TABLE_NAME.test(name))
    throw new ThemisError('VALIDATION_FAILED', `COLLECTION_COUNT(collection): expected a collection name, got ${JSON.stringify(name)}`, {
      details: { field: 'query', function: 'COLLECTION_COUNT' },
    });
  const access = cx.opts.access;
  if (access !== undefined && !access.readsAll) assertRead(access, name);
  const tables = cx.deps.tables;
  if (!tables.exists(name) && !writtenTables(cx.opts.txn).has(name)) throw collectionNotFound(name);
  return tables.count(name);
}

/** COLLECTIONS(): `[{_id, name}]` of every collection the caller may read, by name (`_id` is the name: tables have no numeric ids). */
export function collectionList(cx: CatalogueReader): AqlValue {
  const access = cx.opts.access;
  const names = new Set(cx.deps.tables.names());
  for (const t of writtenTables(cx.opts.txn)) names.add(t);
  return [...names]
    .filter((n) => access === undefined || access.readsAll || access.canRead(n))
    .sort()
    .map((n) => ({ _id: n, name: n }));
}
