/**
 * Mutation run: does the suite notice when the code is wrong?
 *
 * Each mutant below is one deliberate, plausible bug (an off-by-one, a
 * flipped comparison, a dropped statement, a skipped check) in the commit
 * path, the secondary indexes, AQL's value semantics or the table-scoped
 * permission checks. The script copies
 * the project to a scratch directory, applies one mutant at a time, runs the
 * unit test files that should notice it, and reports whether they did
 * (killed) or not (survived). A survivor is either a gap in the tests (add a
 * test that fails with it) or an equivalent mutant (say why in `why`).
 *
 * A curated list instead of a generated one (Stryker): on our 2-core
 * machines a full generated run over these files takes hours, and most
 * generated mutants change log or error wording, which the tests rightly
 * do not pin. Every mutant here is a bug a reviewer could plausibly miss;
 * the two that first motivated the run (issue 13) are TM-01 and IM-01.
 *
 * Run:   npm run mutation                  (all mutants, ~5 minutes)
 *        npm run mutation -- --only TM-01,IM-01
 *        npm run mutation -- --list        (the mutants, no run)
 *        npm run mutation -- --check       (each mutant still applies, no run)
 *        npm run mutation -- --min-score 90 (exit 1 below 90 %)
 *
 * Only unit tests run (they use src/ directly); the black-box HTTP tests
 * would need a build per mutant. A mutant whose `find` text no longer occurs
 * exactly once is reported as stale and fails the run: update it with the
 * code it mutates.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Mutant {
  id: string;
  file: string;
  /** Exact text, occurring once in `file`. */
  find: string;
  replace: string;
  /** The bug it stands for. */
  why: string;
  /** Unit test files that should notice (relative to the root). */
  tests: readonly string[];
}

const TXN = 'src/txn/transaction-manager.ts';
const GC = 'src/storage/group-commit.ts';
const CL = 'src/cdc/change-log.ts';
const IM = 'src/index/index-manager.ts';
const SEC = 'src/index/secondary.ts';
const EX = 'src/index/extract.ts';
const VAL = 'src/aql/values.ts';

const T = {
  txn: ['test/unit/transaction-manager.test.ts', 'test/unit/index-manager.test.ts', 'test/unit/change-log.test.ts'],
  gc: ['test/unit/group-commit.test.ts', 'test/unit/engine.test.ts', 'test/unit/transaction-manager.test.ts'],
  cl: ['test/unit/change-log.test.ts', 'test/unit/change-stream.test.ts', 'test/unit/transaction-manager.test.ts'],
  idx: ['test/unit/index-manager.test.ts', 'test/unit/index-extract.test.ts', 'test/unit/query-planner.test.ts'],
  val: ['test/unit/aql-values.test.ts', 'test/unit/aql-evaluator.test.ts', 'test/unit/aql-functions.test.ts'],
  scope: ['test/unit/table-scope-services.test.ts', 'test/unit/table-access.test.ts'],
  audit: ['test/unit/audit-log.test.ts', 'test/unit/audit-codec.test.ts'],
  hook: ['test/unit/group-commit.test.ts', 'test/unit/engine.test.ts', 'test/unit/audit-log.test.ts'],
  pii: ['test/unit/pii-vault.test.ts'],
  classify: ['test/unit/pii-classifier.test.ts', 'test/unit/pii-corpus.test.ts'],
  content: ['test/unit/content-store.test.ts', 'test/unit/content-retrieve.test.ts'],
  collect: ['test/unit/aql-column-collect.test.ts', 'test/unit/aql-index-collect.test.ts'],
} as const;
const AL = 'src/audit/audit-log.ts';
const RC = 'src/audit/record-codec.ts';
const BI = 'src/audit/bucket-index.ts';
const VAULT = 'src/pii/vault.ts';
const REC = 'src/pii/record.ts';
const CSVC = 'src/content/service.ts';
const BLOBS = 'src/content/blobs.ts';
const RETR = 'src/content/retrieve.ts';
const CTX = 'src/aql/exec/context.ts';
const COLS = 'src/columns/resident-columns.ts';
const CC = 'src/aql/exec/column-collect.ts';

export const MUTANTS: readonly Mutant[] = [
  // ---------------------------------------------------------------- commit path: transaction manager
  {
    id: 'TM-01',
    file: TXN,
    find: '      this.nextSeq = info.changes[0]!.seq;\n',
    replace: '',
    why: 'a refused commit keeps the sequence numbers it took (the feed skips numbers)',
    tests: T.txn,
  },
  {
    id: 'TM-02',
    file: TXN,
    find: '      this.nextSeq = info.changes[0]!.seq;',
    replace: '      this.nextSeq = info.changes[info.changes.length - 1]!.seq;',
    why: 'a refused commit hands back all but one of its numbers',
    tests: T.txn,
  },
  {
    id: 'TM-03',
    file: TXN,
    find: 'if (last !== undefined && last > txn.beginSeq) {',
    replace: 'if (last !== undefined && last >= txn.beginSeq) {',
    why: 'a write committed just before begin counts as a conflict',
    tests: T.txn,
  },
  {
    id: 'TM-04',
    file: TXN,
    find: "      if (txn.isolation === 'snapshot') {\n        const last",
    replace: "      if (txn.isolation !== 'snapshot') {\n        const last",
    why: 'first-committer-wins checked for the wrong isolation level',
    tests: T.txn,
  },
  {
    id: 'TM-05',
    file: TXN,
    find: '      this.lastWrite.set(c.key, c.seq);\n',
    replace: '',
    why: 'commits are not tracked for conflict detection',
    tests: T.txn,
  },
  {
    id: 'TM-06',
    file: TXN,
    find: '      this.pending.set(c.key, { seq: c.seq, value: c.value });\n',
    replace: '',
    why: 'writes in flight are invisible to create checks and prev',
    tests: T.txn,
  },
  {
    id: 'TM-07',
    file: TXN,
    find: '    const p = this.pending.get(k.key);\n    if (p) return p.value;',
    replace: '    const p = undefined as { value: string | null } | undefined;\n    if (p) return p.value;',
    why: 'latest() ignores writes still in group commit',
    tests: T.txn,
  },
  {
    id: 'TM-08',
    file: TXN,
    find: "      if (w.op === 'delete' && prev === null) continue; // deleting nothing changes nothing\n",
    replace: '',
    why: 'deleting a missing key writes a change-log entry',
    tests: T.txn,
  },
  {
    id: 'TM-09',
    file: TXN,
    find: "      if (w.mustNotExist && w.op === 'put' && this.latest(w.k) !== null) {",
    replace: "      if (w.mustNotExist && w.op === 'put' && this.readLatest(w.k) !== undefined) {",
    why: 'create checks only durable data, not commits in flight',
    tests: T.txn,
  },
  {
    id: 'TM-10',
    file: TXN,
    find: '    if (w) return w.value ?? undefined;',
    replace: '    if (w && w.value !== null) return w.value;',
    why: "a transaction's own delete does not hide the key from its reads",
    tests: T.txn,
  },
  {
    id: 'TM-11',
    file: TXN,
    find: '    if (!prev && txn.writes.size >= this.opts.maxOps) {',
    replace: '    if (!prev && txn.writes.size > this.opts.maxOps) {',
    why: 'THEMIS_TXN_MAX_OPS off by one',
    tests: T.txn,
  },
  {
    id: 'TM-12',
    file: TXN,
    find: '    if (bytes > this.opts.maxBytes) {',
    replace: '    if (bytes > this.opts.maxBytes + 64) {',
    why: 'THEMIS_TXN_MAX_BYTES with slack',
    tests: T.txn,
  },
  {
    id: 'TM-13',
    file: TXN,
    find: "(w.value === null ? 0 : Buffer.byteLength(w.value, 'utf8'))",
    replace: '(w.value === null ? 0 : w.value.length)',
    why: 'size limits count UTF-16 units, not bytes',
    tests: T.txn,
  },
  {
    id: 'TM-14',
    file: TXN,
    find: 'now - t.lastActivity > this.opts.idleTimeoutMs) {\n',
    replace: 'now - t.startedAt > this.opts.idleTimeoutMs) {\n',
    why: 'the idle timeout ignores activity',
    tests: T.txn,
  },
  {
    id: 'TM-15',
    file: TXN,
    find: "if (t.isolation === 'snapshot' && t.beginSeq < bound) bound = t.beginSeq;",
    replace: "if (t.isolation === 'snapshot' && t.beginSeq > bound) bound = t.beginSeq;",
    why: 'pruning forgets writes an old snapshot can still conflict with',
    tests: T.txn,
  },
  {
    id: 'TM-16',
    file: TXN,
    find: "      this.broken = e instanceof Error ? e : new Error(String(e));\n      this.opts.log.error('commit failed; refusing further writes'",
    replace: "      this.opts.log.error('commit failed; refusing further writes'",
    why: 'writes go on after a failed commit (a gap in the change log)',
    tests: T.txn,
  },
  {
    id: 'TM-18',
    file: TXN,
    find: "      this.each('aborted', info, plans, this.participants.length);\n",
    replace: '',
    why: 'participants are not told that a batch they wrote into failed (claims and tickets stay reserved)',
    tests: [...T.txn, 'test/unit/commit-protocol.test.ts'],
  },
  {
    id: 'TM-19',
    file: TXN,
    find: "    this.each('applied', info, plans, this.participants.length);",
    replace: "    this.each('applied', info, plans, this.participants.length - 1);",
    why: 'the last participant never learns its batch is durable',
    tests: [...T.txn, 'test/unit/commit-protocol.test.ts'],
  },
  {
    id: 'TM-17',
    file: TXN,
    find: '    if (lastSeq > this.appliedSeqRef) this.appliedSeqRef = lastSeq;',
    replace: '    if (lastSeq > this.appliedSeqRef) this.appliedSeqRef = lastSeq - 1;',
    why: 'appliedSeq lags the last durable commit (snapshots miss it)',
    tests: T.txn,
  },

  // ---------------------------------------------------------------- commit path: group commit
  {
    id: 'GC-01',
    file: GC,
    find: '          for (const p of group) p.reject(e);',
    replace: '          group[0]!.reject(e);',
    why: 'only the first commit of a failed group hears of the failure',
    tests: T.gc,
  },
  {
    id: 'GC-02',
    file: GC,
    find: '          await this.writer(ops, this.opts.sync);',
    replace: '          void this.writer(ops, this.opts.sync);',
    why: 'commits are acknowledged before their batch is written',
    tests: T.gc,
  },
  {
    id: 'GC-03',
    file: GC,
    find: '          await this.writer(ops, this.opts.sync);',
    replace: '          await this.writer(ops, true);',
    why: 'relaxed durability fsyncs anyway (the mode is ignored)',
    tests: T.gc,
  },
  {
    id: 'GC-04',
    file: GC,
    find: '    return this.queue.splice(0, n);',
    replace: '    return this.queue.splice(0, n).reverse();',
    why: 'a group is written out of arrival order (an older write wins)',
    tests: T.gc,
  },
  {
    id: 'GC-05',
    file: GC,
    find: '(n === 0 || ops + this.queue[n]!.ops.length <= this.maxGroupOps)',
    replace: '(n === 0 || ops <= this.maxGroupOps)',
    why: 'a group may exceed maxGroupOps by a whole commit',
    tests: T.gc,
  },

  // ---------------------------------------------------------------- commit path: change log
  {
    id: 'CL-01',
    file: CL,
    find: '    if (last > this.lastSeqRef) this.lastSeqRef = last;',
    replace: '    this.lastSeqRef = last;',
    why: 'a commit applied out of order moves last_seq backwards',
    tests: T.cl,
  },
  {
    id: 'CL-02',
    file: CL,
    find: '      if (info.changes.some((c) => c.seq > w.fromSeq && c.key.startsWith(w.keyPrefix))) {',
    replace: '      if (info.changes.some((c) => c.seq > w.fromSeq)) {',
    why: 'long polls wake for changes outside their key prefix',
    tests: T.cl,
  },
  {
    id: 'CL-03',
    file: CL,
    find: '      if (seq > this.lastSeqRef) break; // only what listeners were told about',
    replace: '',
    why: 'readers see entries not yet durable/announced',
    tests: T.cl,
  },
  {
    id: 'CL-04',
    file: CL,
    find: '    if (fromSeq + 1 < this.firstSeqRef) {',
    replace: '    if (fromSeq < this.firstSeqRef - 2) {',
    why: 'reading just below the retained range is not GONE (silently skips an entry)',
    tests: T.cl,
  },
  {
    id: 'CL-05',
    file: CL,
    find: '      cutoff = Math.max(cutoff, this.lastSeqRef - r.entries);',
    replace: '      cutoff = Math.max(cutoff, this.lastSeqRef - r.entries + 1);',
    why: 'entry retention keeps one entry too few',
    tests: T.cl,
  },
  {
    id: 'CL-06',
    file: CL,
    find: '    if (this.closed || this.draining || this.lastSeqRef > fromSeq) return Promise.resolve();',
    replace: '    if (this.closed || this.draining) return Promise.resolve();',
    why: 'a long poll waits although entries already exist',
    tests: T.cl,
  },
  {
    id: 'CL-07',
    file: CL,
    find: '        if (ts >= oldest) break;',
    replace: '        if (ts > oldest) break;',
    why: 'age retention removes an entry exactly as old as the window',
    tests: T.cl,
  },

  // ---------------------------------------------------------------- indexes
  {
    id: 'IM-01',
    file: SEC,
    find: '      const claim = this.claims.get(hex);',
    replace: '      const claim = undefined as { key: string; seq: number } | undefined;',
    why: 'unique check ignores claims of commits in flight (two explicit transactions win one value)',
    tests: T.idx,
  },
  {
    id: 'IM-02',
    file: SEC,
    find: '        const released = this.releases.get(hex);',
    replace: '        const released = undefined as { key: string; seq: number } | undefined;',
    why: 'a value released by a commit in flight cannot be claimed',
    tests: T.idx,
  },
  {
    id: 'IM-03',
    file: SEC,
    find: '        if (l.def.unique) for (const h of removed) localReleases.set(h, c.key);\n',
    replace: '',
    why: 'moving a unique value between entities in one transaction is refused',
    tests: T.idx,
  },
  {
    id: 'IM-04',
    file: SEC,
    find: "        if (p.l.def.state === 'ready') this.checkUnique(p.l, hex, t, p.key, localClaims, localReleases);",
    replace: "        if (p.l.def.state !== 'ready') this.checkUnique(p.l, hex, t, p.key, localClaims, localReleases);",
    why: 'unique violations are checked only while the index is building',
    tests: T.idx,
  },
  {
    id: 'IM-05',
    file: SEC,
    find: '        localClaims.set(hex, p.key);\n',
    replace: '',
    why: 'two entities in one transaction may claim one unique value',
    tests: T.idx,
  },
  {
    id: 'IM-06',
    file: SEC,
    find: "        batch.del(idxKs, k);\n        ops?.push([false, k.toString('latin1')]);",
    replace: "        ops?.push([false, k.toString('latin1')]);",
    why: 'updates and deletes leave stale index entries',
    tests: T.idx,
  },
  {
    id: 'IM-07',
    file: SEC,
    find: '      p.l.entries += p.added.length - p.removed.length;',
    replace: '      p.l.entries += p.added.length;',
    why: 'entry counts ignore removals',
    tests: T.idx,
  },
  {
    id: 'IM-08',
    file: SEC,
    find: '    for (const m of [this.claims, this.releases]) for (const [hex, v] of m) if (v.seq <= last) m.delete(hex);',
    replace: '    for (const m of [this.claims, this.releases]) for (const [hex, v] of m) if (v.seq < last) m.delete(hex);',
    why: "a durable commit's own claims linger (a freed value stays taken)",
    tests: T.idx,
  },
  {
    id: 'IM-09',
    file: IM,
    find: 'def.unique ? () => this.secondary.verifyUnique(live) : undefined',
    replace: 'undefined',
    why: 'duplicates written while a unique index was building go unnoticed',
    tests: T.idx,
  },
  {
    id: 'IM-10',
    file: SEC,
    find: '    lt = r.includeUpper === false ? hi : prefixUpperBound(hi);',
    replace: '    lt = r.includeUpper === false ? prefixUpperBound(hi) : hi;',
    why: 'range scans get the upper bound inclusive/exclusive backwards',
    tests: [...T.idx, 'test/unit/aql-engine.test.ts'],
  },
  {
    id: 'IM-11',
    file: SEC,
    find: '    if (owner !== undefined && owner !== entityKey) {',
    replace: '    if (owner !== undefined) {',
    why: 'an entity re-creating a unique value its own commit in flight still claims is refused',
    tests: T.idx,
  },
  {
    id: 'IM-12',
    file: SEC,
    // the removals loop runs on into the additions (one loop: each change's removals, then its additions)
    find: '      }\n    }\n    for (const p of plan) {\n      const ops = p.l.def.unique || (p.marker',
    replace: '      }\n      const ops2 = p.l.def.unique || (p.marker',
    why: 'a unique value taken and given up within one commit loses its entry (written change by change)',
    tests: [...T.idx, 'test/unit/unique-value-moving-within-a-commit.test.ts'],
  },
  {
    id: 'IM-13',
    file: SEC,
    find: '      if (p.l.def.unique && p.removed.length > 0) p.removed = p.removed.filter((hex) => this.uniqueOwner(hex) === p.key);',
    replace: '      if (p.l.def.unique && p.removed.length > 0) p.removed = p.removed.slice();',
    why: 'a document giving up a unique value deletes the entry of another holder (while the index is built)',
    tests: [...T.idx, 'test/unit/unique-index-built-while-values-move.test.ts'],
  },
  {
    id: 'IM-14',
    file: SEC,
    find: "      if (p.l.def.state === 'building') p.l.touchedWhileBuilding = true;",
    replace: '      void 0;',
    why: "an index built while commits change its entries reports the backfill's count (an entry written twice counted twice)",
    tests: ['test/unit/index-manager.test.ts'],
  },
  {
    id: 'EX-01',
    file: EX,
    find: '    if (raw === undefined) vals = sparse ? undefined : [null];',
    replace: '    if (raw === undefined) vals = sparse ? [null] : undefined;',
    why: 'sparse and non-sparse swap how a missing column is indexed',
    tests: T.idx,
  },
  {
    id: 'EX-02',
    file: EX,
    find: '        if (!seen.has(e)) {',
    replace: '        if (seen.size >= 0) {',
    why: 'repeated array elements produce duplicate entries',
    tests: T.idx,
  },
  {
    id: 'EX-03',
    file: EX,
    find: "    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;",
    replace: "    if (cur === null || typeof cur !== 'object') return undefined;",
    why: 'a path descends into arrays by index name',
    tests: T.idx,
  },
  {
    id: 'EX-04',
    file: EX,
    find: "  if (typeof v === 'number') return Number.isFinite(v) ? [v] : undefined;",
    replace: "  if (typeof v === 'number') return [v];",
    why: 'non-finite numbers reach the order-preserving codec',
    tests: T.idx,
  },

  // ---------------------------------------------------------------- AQL values
  {
    id: 'VAL-01',
    file: VAL,
    find: "    case 'string':\n      return 3;",
    replace: "    case 'string':\n      return 2;",
    why: 'strings and numbers share a rank in the type order',
    tests: T.val,
  },
  {
    id: 'VAL-02',
    file: VAL,
    find: '      return a === b ? 0 : a === false ? -1 : 1;',
    replace: '      return a === b ? 0 : a === true ? -1 : 1;',
    why: 'true sorts before false',
    tests: T.val,
  },
  {
    id: 'VAL-03',
    file: VAL,
    find: '        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;',
    replace: '        x = x >= 0xe000 ? x : x + 0x2000;',
    why: 'astral characters sort wrongly against U+E000..U+FFFF',
    tests: T.val,
  },
  {
    id: 'VAL-04',
    file: VAL,
    find: '  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;\n}',
    replace: '  return 0;\n}',
    why: 'a string equals its extensions ("ab" == "abc")',
    tests: T.val,
  },
  {
    id: 'VAL-05',
    file: VAL,
    find: '    const c = compare(i < a.length ? a[i] : null, i < b.length ? b[i] : null);',
    replace: '    if (i >= a.length || i >= b.length) return a.length - b.length < 0 ? -1 : 1;\n    const c = compare(a[i], b[i]);',
    why: 'missing array elements do not count as null ([1] vs [1, null])',
    tests: T.val,
  },
  {
    id: 'VAL-06',
    file: VAL,
    find: '  keys.sort(compareStrings);',
    replace: '',
    why: 'objects compare attributes in insertion order, not sorted',
    tests: T.val,
  },
  {
    id: 'VAL-07',
    file: VAL,
    find: '    while (end > 0 && (v[end - 1] === null || v[end - 1] === undefined)) end--;',
    replace: '',
    why: 'hashKey keeps trailing nulls ([1, null] and [1] group apart)',
    tests: T.val,
  },
  {
    id: 'VAL-08',
    file: VAL,
    find: '    if (x === null || x === undefined) continue;\n    if (!first)',
    replace: '    if (x === undefined) continue;\n    if (!first)',
    why: 'hashKey keeps null attributes ({a: null} and {} group apart)',
    tests: T.val,
  },
  {
    id: 'VAL-09',
    file: VAL,
    find: '      return v.length > 0;',
    replace: '      return true;',
    why: 'the empty string is truthy',
    tests: T.val,
  },
  {
    id: 'VAL-10',
    file: VAL,
    find: '  if (Array.isArray(v)) return v.length === 1 ? toNumber(v[0]) : 0;',
    replace: '  if (Array.isArray(v)) return v.length >= 1 ? toNumber(v[0]) : 0;',
    why: 'TO_NUMBER of a longer array takes its first element',
    tests: T.val,
  },
  {
    id: 'VAL-11',
    file: VAL,
    find: '  if (Number.isFinite(n)) return n === 0 ? 0 : n;',
    replace: '  if (!Number.isNaN(n)) return n === 0 ? 0 : n;',
    why: 'an overflowing result is Infinity, not null',
    tests: T.val,
  },
  {
    id: 'VAL-12',
    file: VAL,
    find: '  return n === 0 ? 0 : -n;',
    replace: '  return -n;',
    why: 'unary minus of 0 gives -0 (which prints and hashes like 0, but divides differently)',
    tests: T.val,
  },
  {
    id: 'VAL-13',
    file: VAL,
    find: '  for (let i = 0; i < haystack.length; i++) if (equals(needle, haystack[i])) return true;',
    replace: '  for (let i = 0; i < haystack.length; i++) if (needle === haystack[i]) return true;',
    why: 'IN compares arrays and objects by identity',
    tests: T.val,
  },
  {
    id: 'SCOPE-01',
    file: 'src/access.ts',
    find: "  if (!access.readsAll && !access.canRead(table)) throw forbidden('read', table);",
    replace: "  if (!access.readsAny) throw forbidden('read', table);",
    why: 'a table-scoped reader passes every read check once it may read any table',
    tests: T.scope,
  },
  {
    id: 'SCOPE-02',
    file: 'src/access.ts',
    find: "  if (!access.writesAll && !access.canWrite(table)) throw forbidden('write', table);",
    replace: "  if (!access.writesAll && !access.canRead(table)) throw forbidden('write', table);",
    why: 'the write check asks the read scope (data:read:follows lets one write follows)',
    tests: T.scope,
  },
  {
    id: 'SCOPE-03',
    file: 'src/security/principal.ts',
    find: "    if (pattern.includes('*')) globs.push(new RegExp(`^${pattern.replaceAll('*', '[A-Za-z0-9_-]*')}$`));",
    replace: "    if (pattern.includes('*')) globs.push(new RegExp(`^${pattern.replaceAll('*', '[A-Za-z0-9_-]*')}`));",
    why: 'a table pattern is not anchored at its end (a*c would match acd)',
    tests: T.scope,
  },
  {
    id: 'SCOPE-04',
    file: 'src/security/principal.ts',
    find: "  if (needed === 'data:read') return p.access.readsAny;",
    replace: "  if (needed === 'data:read') return p.access.writesAny || p.access.readsAny;",
    why: 'a write-only scope satisfies the route data:read',
    tests: T.scope,
  },
  {
    id: 'SCOPE-05',
    file: 'src/entities/entity-store.ts',
    find: '        assertWrite(caller.access, k.table);\n        if (o.op',
    replace: '        if (o.op',
    why: 'a batch operation on a foreign table is not checked',
    tests: T.scope,
  },
  {
    id: 'SCOPE-06',
    file: 'src/aql/exec/sources.ts',
    find: '  if (access !== undefined && !access.readsAll) assertRead(access, tableOf(key));',
    replace: '',
    why: 'DOCUMENT() and traversal ends reach documents of any table',
    tests: T.scope,
  },
  {
    id: 'SCOPE-07',
    file: 'src/aql/exec/graph.ts',
    find: 'all.filter((x) => canReadKey(a, x.edge) && canReadKey(a, x.vertex))',
    replace: 'all.filter((x) => canReadKey(a, x.edge))',
    why: 'an AQL traversal crosses vertices of unreadable tables',
    tests: T.scope,
  },
  {
    id: 'SCOPE-08',
    file: 'src/aql/service.ts',
    find: '    for (const t of plan.reads) assertRead(access, t);',
    replace: '',
    why: 'the collections a query reads are not checked',
    tests: T.scope,
  },
  {
    id: 'SCOPE-09',
    file: 'src/graph/module.ts',
    find: '    if (access.readsAll) return this.source;',
    replace: '    if (access.readsAny) return this.source;',
    why: 'the graph service walks the whole graph for any reader',
    tests: T.scope,
  },
  {
    id: 'SCOPE-10',
    file: 'src/changefeed/module.ts',
    find: "    if (keyPrefix.includes(':')) assertRead(access, tableOf(keyPrefix));",
    replace: '',
    why: 'a change-feed prefix naming a foreign table is an empty feed instead of 403',
    tests: T.scope,
  },
  {
    id: 'SCOPE-11',
    file: TXN,
    find: '    if (owner !== undefined && txn.owner !== undefined && txn.owner !== owner)',
    replace: '    if (owner !== undefined && txn.owner === undefined && txn.owner !== owner)',
    why: "another principal's transaction can be joined, committed or rolled back",
    tests: T.scope,
  },
  {
    id: 'VAL-14',
    file: VAL,
    find: "  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;",
    replace: "  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a == b;",
    why: 'equality coerces across types ("1" == 1, 0 == false)',
    tests: T.val,
  },
  // ---------------------------------------------------------------- audit log: storage, chain, group hook
  {
    id: 'AUD-01',
    file: RC,
    find: '  if (p === s) {',
    replace: '  if (p.length === s.length) {',
    why: 'a field is stored as "same as the previous entry" when only its length is the same',
    tests: T.audit,
  },
  {
    id: 'AUD-02',
    file: RC,
    find: '    if (c > 0x7f || c !== p.charCodeAt(k)) break;',
    replace: '    if (c > 0x7f || c !== p.charCodeAt(k + 1)) break;',
    why: 'the shared prefix with the previous entry is measured wrongly (request ids, keys decode wrong)',
    tests: T.audit,
  },
  {
    id: 'AUD-03',
    file: AL,
    find: '          if (!seg.hashAt(i).equals(hash))',
    replace: '          if (seg.hashAt(i).length !== hash.length)',
    why: 'verify compares hash lengths, not hashes: altered entries pass',
    tests: T.audit,
  },
  {
    id: 'AUD-04',
    file: AL,
    find: '          anchor = recordHash(anchor, seg.framed(i));',
    replace: '          anchor = recordHash(anchor, seg.framed(Math.max(0, i - 1)));',
    why: "retention keeps the wrong entry's hash as the anchor: the chain breaks after a cleanup",
    tests: T.audit,
  },
  {
    id: 'AUD-05',
    file: AL,
    find: '          if (seg.timeAt(m - seg.firstId) < ms) x = m + 1;',
    replace: '          if (seg.timeAt(m - seg.firstId) <= ms) x = m + 1;',
    why: "a time range starting at an entry's own millisecond misses it (binary search inside a segment)",
    tests: T.audit,
  },
  {
    id: 'AUD-06',
    file: RC,
    find: '    for (let i = 0; i < n; i++) this.append(Date.parse(staged[i]!.timestamp), staged[i]!);',
    replace: '    for (let i = 0; i <= n; i++) this.append(Date.parse(staged[i]!.timestamp), staged[i]!);',
    why: "a group split before a commit writes that commit's entry ahead of its batch (and twice)",
    tests: T.audit,
  },
  {
    id: 'AUD-07',
    file: GC,
    find: '          if (extra !== undefined && extra.length > 0) ops = ops.concat(extra);',
    replace: '',
    why: "a group hook's operations are dropped (audit entries of writes never stored)",
    tests: T.hook,
  },
  {
    id: 'AUD-08',
    file: RC,
    find: '    let o = writeVarint(b, start + 8, key ? t : t - this.prevMs);',
    replace: '    let o = writeVarint(b, start + 8, t - this.prevMs);',
    why: "a segment's first entry stores its time as a delta too: read alone, the segment's times are wrong",
    tests: T.audit,
  },
  {
    id: 'AUD-09',
    file: RC,
    find: '        this.times.push(this.offsets.length % KEY_EVERY === 1 ? t : this.times[this.times.length - 1]! + t);',
    replace: '        this.times.push(t);',
    why: 'entry times are read as stored (deltas), not summed: timestamps and time ranges are wrong',
    tests: T.audit,
  },
  {
    id: 'AUD-10',
    file: BI,
    find: '      if (long ? v.length >= want.length / 3 && this.cut(v).equals(want) : v === value) take(this.idList[i]!);',
    replace: '      if (long ? v.length >= want.length / 3 && this.cut(v).equals(want) : false) take(this.idList[i]!);',
    why: 'entity_id postings still in memory are not found: recent entries missing from an entity filter',
    tests: T.audit,
  },
  {
    id: 'PII-01',
    file: VAULT,
    find: '      await this.engine.compact(ks, { gte: key, lt: Buffer.concat([key, Buffer.of(0)]) });',
    replace: '      void key;',
    why: 'hard delete writes the tombstone but does not compact: the wrapped data key and ciphertext stay in old LevelDB files',
    tests: T.pii,
  },
  {
    id: 'PII-02',
    file: VAULT,
    find: "    if (rec.state !== 'active')",
    replace: "    if (rec.state === 'shredded')",
    why: 'a soft-deleted value can still be revealed',
    tests: T.pii,
  },
  {
    id: 'PII-03',
    file: VAULT,
    find: "      if (state === 'shredded') continue;\n      if (state !== undefined) return { uuid };",
    replace: "      if (state === 'shredded') return { uuid };\n      if (state !== undefined) return { uuid };",
    why: 'a value written again after its erasure gets the erased uuid back (old tokens would be revealable again)',
    tests: T.pii,
  },
  {
    id: 'PII-04',
    file: VAULT,
    find: '    if (!this.filter.mayHold(id)) return undefined;',
    replace: '    if (this.filter.mayHold(id)) return undefined;',
    why: 'the uuid filter answers the wrong way round: existing values get a second record, new ones a LevelDB read',
    tests: T.pii,
  },
  {
    id: 'PII-05',
    file: REC,
    find: "  const ct = v.update(value, 'utf8');",
    replace: "  const ct = Buffer.from(value, 'utf8');",
    why: 'the value is stored in clear instead of encrypted',
    tests: T.pii,
  },
  {
    id: 'PII-06',
    file: 'src/pii/classifier/email.ts',
    find: '  mayMatch: (p) => p.at,',
    replace: '  mayMatch: (p) => p.at && p.digits > 0,',
    why: 'the email prefilter skips texts the recognizer would have matched (emails without digits)',
    tests: T.classify,
  },
  // ---------------------------------------------------------------- content (issue 18)
  {
    id: 'CONTENT-01',
    file: CSVC,
    find: '        for (const k of old) if (!keep.has(k.key)) txm.delete(txn, k);',
    replace: '        void old;',
    why: 're-importing a content keeps the chunks the new version lacks (orphaned chunks, still searchable)',
    tests: T.content,
  },
  {
    id: 'CONTENT-02',
    file: BLOBS,
    find: '        this.deletePieces(batch, cur.blobId, cur.size);\n        batch.del(ks, hashKey',
    replace: '        batch.del(ks, hashKey',
    why: 'the last reference to a blob goes but its pieces stay (orphaned blob bytes)',
    tests: T.content,
  },
  {
    id: 'CONTENT-03',
    file: BLOBS,
    find: '      for (let n = first; n <= last; n++) {',
    replace: '      for (let n = first; n < last; n++) {',
    why: 'a blob read stops one piece early (truncated downloads and ranges)',
    tests: T.content,
  },
  {
    id: 'CONTENT-04',
    file: CSVC,
    find: '        if (!this.owned.has(info.txnId))',
    replace: '        if (info.txnId === "never")',
    why: 'writes to _content/_chunks by other paths are applied (chunks without a content, forged text)',
    tests: T.content,
  },
  {
    id: 'CONTENT-05',
    file: RETR,
    find: '      textHits = filtered ? hits.filter((h) => accept(h.key)) : hits;',
    replace: '      textHits = hits;',
    why: 'the BM25 list of retrieval ignores the metadata filter',
    tests: T.content,
  },
  {
    id: 'CONTENT-06',
    file: CSVC,
    find: '      if (plan) for (const c of info.changes) if (c.table === CONTENT_TABLE) this.metas.delete(c.pk);',
    replace: '      void plan;',
    why: 'retrieval filters keep seeing the metadata a content had before it was re-imported or deleted',
    tests: T.content,
  },
  // ---------------------------------------------------------------- AQL: COLLECT batches, resident columns' group codes
  {
    id: 'COL-01',
    file: CTX,
    find: '  if (b.length > 0) yield b;',
    replace: '  void b;',
    why: "a COLLECT's last, partial batch of rows is lost",
    tests: T.collect,
  },
  {
    id: 'COL-02',
    file: COLS,
    find: '      if (!setCode(g, s, values[i])) codes[i] = null;',
    replace: "      if (values[i] !== null && typeof values[i] === 'object') codes[i] = null;",
    why: 'the group codes do not follow the commits (a document moved to another group still counts in the old one)',
    tests: T.collect,
  },
  {
    id: 'COL-03',
    file: CC,
    find: '      const s = slots[i]!;\n      const v = col[s];\n      if (v === null) continue;\n      const g = codes[s]!;\n      acc.sum',
    replace:
      '      const s = slots[to - 1 - (i - from)]!;\n      const v = col[s];\n      if (v === null) continue;\n      const g = codes[s]!;\n      acc.sum',
    why: 'the coded SUM adds in another order than a scan (floating-point sums differ)',
    tests: T.collect,
  },
  {
    id: 'COL-04',
    file: CC,
    find: "      if (typeof v !== 'number') return false;",
    replace: "      if (typeof v !== 'number') continue;",
    why: 'MIN/MAX over a column with strings or booleans skips them instead of ordering across types',
    tests: T.collect,
  },
  {
    id: 'COL-05',
    file: CC,
    find: '      if (!cx.deps.columns!.unchanged(table, copy, version)) copy = undefined;',
    replace: '      void version;',
    why: 'a COLLECT whose columns changed while the coded passes paused answers from the changed columns',
    tests: T.collect,
  },
];

// ------------------------------------------------------------------ runner

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The project root: this file runs compiled from dist/scripts/. */
const ROOT = path.resolve(HERE, path.basename(path.dirname(HERE)) === 'dist' ? '../..' : '..');
/** What the unit tests need from the project (node_modules is linked, not copied). */
const COPY = ['src', 'test', 'openapi.yaml', 'package.json', 'tsconfig.json', 'tsconfig.test.json', 'vitest.config.ts'];

interface Result {
  mutant: Mutant;
  outcome: 'killed' | 'survived' | 'timeout' | 'stale';
  seconds: number;
  detail: string;
}

function parseArgs(argv: string[]): { only?: Set<string>; list: boolean; check: boolean; minScore?: number; json?: string } {
  const out: { only?: Set<string>; list: boolean; check: boolean; minScore?: number; json?: string } = { list: false, check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') out.only = new Set(argv[++i]!.split(',').map((s) => s.trim()));
    else if (a === '--list') out.list = true;
    else if (a === '--check') out.check = true;
    else if (a === '--min-score') out.minScore = Number(argv[++i]);
    else if (a === '--json') out.json = argv[++i];
    else throw new Error(`unknown argument ${a}; see the comment at the top of scripts/mutation.ts`);
  }
  return out;
}

/** The file with the mutant applied, or undefined when `find` does not occur exactly once. */
function apply(text: string, m: Mutant): string | undefined {
  const at = text.indexOf(m.find);
  if (at < 0 || text.indexOf(m.find, at + 1) >= 0) return undefined;
  return text.slice(0, at) + m.replace + text.slice(at + m.find.length);
}

/** Run vitest on `files` in `dir`; resolves with its exit code (null on timeout) and the tail of its output. */
function runTests(dir: string, files: readonly string[], timeoutMs: number): Promise<{ code: number | null; tail: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=dot', ...files], {
      cwd: dir,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    const keep = (c: Buffer) => {
      out = (out + c.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the whole group: vitest and its workers
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? null : code, tail: out });
    });
  });
}

/** vitest's "Tests  2 failed | 40 passed (42)" line → "2 failed | 40 passed". */
function summary(tail: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes, which start with ESC
  const plain = tail.replace(/\x1b\[[0-9;]*m/g, '');
  return /^\s*Tests\s+(\d+ (?:failed|passed)[^\n(]*)/m.exec(plain)?.[1]?.trim() ?? plain.trim().split('\n').slice(-3).join(' | ');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const chosen = MUTANTS.filter((m) => !args.only || args.only.has(m.id));
  if (args.only) for (const id of args.only) if (!MUTANTS.some((m) => m.id === id)) throw new Error(`no mutant ${id}`);
  const ids = new Set<string>();
  for (const m of MUTANTS) {
    if (ids.has(m.id)) throw new Error(`duplicate mutant id ${m.id}`);
    ids.add(m.id);
  }
  if (args.list) {
    for (const m of chosen) process.stdout.write(`${m.id.padEnd(7)} ${m.file.padEnd(34)} ${m.why}\n`);
    return;
  }
  const stale = chosen.filter((m) => apply(fs.readFileSync(path.join(ROOT, m.file), 'utf8'), m) === undefined);
  for (const m of stale) process.stdout.write(`stale   ${m.id}: its text no longer occurs exactly once in ${m.file}\n`);
  if (args.check) {
    process.stdout.write(`${chosen.length - stale.length} of ${chosen.length} mutants apply\n`);
    process.exitCode = stale.length > 0 ? 1 : 0;
    return;
  }

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-mutation-'));
  try {
    for (const e of COPY) fs.cpSync(path.join(ROOT, e), path.join(scratch, e), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
    const allTests = [...new Set(chosen.flatMap((m) => m.tests))];
    process.stdout.write(`scratch copy ${scratch}\nbaseline: ${allTests.length} test files without mutants...\n`);
    const t0 = Date.now();
    const base = await runTests(scratch, allTests, 600_000);
    if (base.code !== 0) throw new Error(`the unmutated tests fail; fix them first:\n${base.tail}`);
    const baseSeconds = (Date.now() - t0) / 1000;
    process.stdout.write(`baseline green in ${baseSeconds.toFixed(0)} s\n\n`);

    const results: Result[] = stale.map((mutant) => ({ mutant, outcome: 'stale' as const, seconds: 0, detail: 'text not found once' }));
    for (const m of chosen) {
      if (stale.includes(m)) continue;
      const target = path.join(scratch, m.file);
      const original = fs.readFileSync(target, 'utf8');
      fs.writeFileSync(target, apply(original, m)!);
      const started = Date.now();
      // A mutant that makes the tests hang counts as killed (a hang is noticed), after a generous limit.
      const r = await runTests(scratch, m.tests, Math.max(60_000, baseSeconds * 4000));
      fs.writeFileSync(target, original);
      const seconds = (Date.now() - started) / 1000;
      const outcome: Result['outcome'] = r.code === null ? 'timeout' : r.code === 0 ? 'survived' : 'killed';
      const result = { mutant: m, outcome, seconds, detail: outcome === 'timeout' ? 'tests hung' : summary(r.tail) };
      results.push(result);
      process.stdout.write(`${outcome.padEnd(8)} ${m.id.padEnd(7)} ${m.why} (${result.detail}, ${seconds.toFixed(0)} s)\n`);
    }

    const scored = results.filter((r) => r.outcome !== 'stale');
    const killed = scored.filter((r) => r.outcome !== 'survived').length;
    const score = scored.length === 0 ? 0 : (100 * killed) / scored.length;
    process.stdout.write('\nper file:\n');
    for (const file of [...new Set(scored.map((r) => r.mutant.file))]) {
      const rs = scored.filter((r) => r.mutant.file === file);
      process.stdout.write(`  ${file.padEnd(34)} ${rs.filter((r) => r.outcome !== 'survived').length}/${rs.length} killed\n`);
    }
    const survivors = scored.filter((r) => r.outcome === 'survived');
    if (survivors.length > 0) process.stdout.write(`\nsurvived: ${survivors.map((r) => r.mutant.id).join(', ')}\n`);
    process.stdout.write(
      `\nmutation score: ${killed}/${scored.length} killed = ${score.toFixed(1)} %${stale.length ? `; ${stale.length} stale` : ''}\n`,
    );
    if (args.json)
      fs.writeFileSync(
        args.json,
        JSON.stringify(
          {
            score,
            killed,
            total: scored.length,
            results: results.map((r) => ({
              id: r.mutant.id,
              file: r.mutant.file,
              why: r.mutant.why,
              outcome: r.outcome,
              seconds: r.seconds,
              detail: r.detail,
            })),
          },
          null,
          2,
        ),
      );
    if (stale.length > 0 || (args.minScore !== undefined && score < args.minScore)) process.exitCode = 1;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`mutation run failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
