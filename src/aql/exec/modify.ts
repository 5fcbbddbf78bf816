/**
 * Data modification: INSERT, UPDATE, REPLACE and REMOVE write through the
 * transaction manager into the query's transaction (the request's, or the
 * implicit one of a modifying query); reads of the current document see
 * that transaction's writes.
 */
import { v4 as uuidv4 } from 'uuid';
import { parseEntityKey } from '../../documents/index.js';
import { ThemisError } from '../../errors.js';
import type { Transaction } from '../../txn/index.js';
import type { AqlValue } from '../ast.js';
import { checkDepth } from '../governor.js';
import { equals, getAttribute, hashKey } from '../values.js';
import type { Step } from '../planner.js';
import { extend, type ExecContext, type Row } from './context.js';
import { toDoc } from './sources.js';

/** What the modification step needs: the entity store (`deps.entities`, the one write path), the transactions (`opts`), evaluation, the nesting limit and deadline. */
export type ModifyContext = Pick<ExecContext, 'deps' | 'opts' | 'texts' | 'gov' | 'eval' | 'tick'>;

/** The transaction the query's writes go into: the request's, else the implicit one. */
function modTxn(cx: Pick<ExecContext, 'opts'>): Transaction {
  const t = cx.opts.txn ?? cx.opts.writeTxn;
  if (!t) throw new Error('a modifying query needs a transaction');
  return t;
}

/** INSERT, UPDATE, REPLACE, REMOVE: each row's write goes into the transaction; the row gets OLD and NEW. */
export async function* modifyStep(cx: ModifyContext, s: Extract<Step, { kind: 'modify' }>, input: AsyncIterable<Row>): AsyncGenerator<Row> {
  const op = s.op;
  const table = s.table;
  const txn = modTxn(cx);
  const store = cx.deps.entities;
  // UPSERT with an object-literal search: the documents it wrote, by search values (the lookup reads the query's snapshot)
  const own = op.type === 'upsert' && op.match ? new Map<string, string>() : undefined;
  for await (const row of input) {
    cx.tick();
    let OLD: AqlValue = null;
    let NEW: AqlValue = null;
    if (op.type === 'insert') {
      NEW = insertDoc(cx, txn, table, await cx.eval(op.doc, row), 'INSERT');
    } else if (op.type === 'upsert') {
      // the lookup (a LET before this step) found a document: update or replace it (as it is now); else insert
      const found = row[op.found];
      let pk = found !== null && typeof found === 'object' && !Array.isArray(found) ? (found as Record<string, AqlValue>)._key : undefined;
      let values: AqlValue[] | undefined;
      let sig: string | undefined;
      if (own && op.match) {
        values = [];
        for (const m of op.match) values.push(await cx.eval(m.value, row));
        sig = values.map(hashKey).join('\u0000');
        pk = own.get(sig) ?? pk;
      }
      const k = typeof pk === 'string' ? parseEntityKey(`${table}:${pk}`) : undefined;
      const current = k === undefined ? undefined : store.read(k, txn);
      if (k === undefined || current === undefined) NEW = insertDoc(cx, txn, table, await cx.eval(op.insert, row), 'UPSERT ... INSERT');
      else {
        OLD = toDoc(cx, k.key, table, current);
        const what = op.replace ? 'UPSERT ... REPLACE' : 'UPSERT ... UPDATE';
        const patch = await cx.eval(op.update, extend(row, 'OLD', OLD));
        if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
          throw new ThemisError('VALIDATION_FAILED', `${what} needs an object with the new values, got ${typeName(patch)}`);
        checkDepth(patch, cx.gov.maxDepth, `the document of ${what}`);
        const { _key: _k, _id: _i, ...fields } = patch as Record<string, AqlValue>;
        void _k;
        void _i;
        const next = op.replace ? fields : mergePatch(JSON.parse(current) as Record<string, AqlValue>, fields);
        const text = JSON.stringify(next);
        store.putIn(txn, k, { text });
        NEW = toDoc(cx, k.key, table, text);
      }
      if (own && sig !== undefined && NEW !== null && typeof NEW === 'object') {
        // remember the written document under its search values while it matches them
        const key = (NEW as Record<string, AqlValue>)._key as string;
        if (op.match!.every((m, i) => equals(pathValue(NEW, m.path), values![i]!))) own.set(sig, key);
        else if (own.get(sig) === key) own.delete(sig);
      }
    } else {
      const keyVal = await cx.eval(op.key, row);
      const pk =
        typeof keyVal === 'string'
          ? keyVal
          : keyVal !== null && typeof keyVal === 'object' && !Array.isArray(keyVal)
            ? ((keyVal as Record<string, AqlValue>)._key ?? null)
            : null;
      if (typeof pk !== 'string' || pk === '')
        throw new ThemisError(
          'VALIDATION_FAILED',
          `${op.type.toUpperCase()}: the key must be a string or an object with _key, got ${typeName(keyVal)}`,
        );
      const k = parseEntityKey(`${table}:${pk}`);
      const current = store.read(k, txn);
      if (current === undefined) throw new ThemisError('NOT_FOUND', `${op.type.toUpperCase()}: document ${k.key} not found`);
      OLD = toDoc(cx, k.key, table, current);
      if (op.type === 'remove') {
        store.deleteIn(txn, k);
      } else {
        const patch = op.with ? await cx.eval(op.with, row) : keyVal;
        if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
          throw new ThemisError(
            'VALIDATION_FAILED',
            `${op.type.toUpperCase()} needs an object with the new values, got ${typeName(patch)}`,
          );
        checkDepth(patch, cx.gov.maxDepth, `the document to ${op.type.toUpperCase()}`);
        const { _key: _k, _id: _i, ...fields } = patch as Record<string, AqlValue>;
        void _k;
        void _i;
        const next = op.type === 'update' ? mergePatch(JSON.parse(current) as Record<string, AqlValue>, fields) : fields;
        const text = JSON.stringify(next);
        store.putIn(txn, k, { text });
        NEW = toDoc(cx, k.key, table, text);
      }
    }
    yield extend(extend(row, 'OLD', OLD), 'NEW', NEW);
  }
}

/** Inserts `d` (an object; `_key` optional, else a UUID) into the transaction; the new document. */
function insertDoc(cx: ModifyContext, txn: Transaction, table: string, d: AqlValue, what: string): AqlValue {
  if (d === null || typeof d !== 'object' || Array.isArray(d))
    throw new ThemisError('VALIDATION_FAILED', `${what} needs an object, got ${typeName(d)}`);
  const { _key, _id, ...rest } = { ...(d as Record<string, AqlValue>), _key: (d as Record<string, AqlValue>)._key, _id: undefined };
  void _id;
  checkDepth(d, cx.gov.maxDepth, `the document to ${what}`);
  const pk = _key === undefined || _key === null ? uuidv4() : _key;
  if (typeof pk !== 'string' || pk === '')
    throw new ThemisError('VALIDATION_FAILED', `${what}: _key must be a non-empty string, got ${JSON.stringify(pk)}`);
  const k = parseEntityKey(`${table}:${pk}`);
  const text = JSON.stringify(rest);
  cx.deps.entities.putIn(txn, k, { text }, true);
  return toDoc(cx, k.key, table, text);
}

/** The value at an attribute path (null when missing). */
function pathValue(v: AqlValue, path: string[]): AqlValue {
  let cur = v;
  for (const name of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return null;
    cur = getAttribute(cur, name);
  }
  return cur;
}

function typeName(v: AqlValue): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** UPDATE semantics (ArangoDB keepNull true, mergeObjects true): nested objects merge, other values replace. */
function mergePatch(target: Record<string, AqlValue>, patch: Record<string, AqlValue>): Record<string, AqlValue> {
  const out: Record<string, AqlValue> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] =
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      cur !== null &&
      typeof cur === 'object' &&
      !Array.isArray(cur) &&
      cur !== undefined
        ? mergePatch(cur as Record<string, AqlValue>, v as Record<string, AqlValue>)
        : v;
  }
  return out;
}
