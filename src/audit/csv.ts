import { stringify } from 'csv-stringify/sync';
import type { AuditEntry } from './entry.js';

/**
 * CSV of audit entries (GET /api/audit/export/csv; docs/audit.md, "CSV export").
 *
 * RFC 4180 via csv-stringify: CRLF line ends; a field containing a comma, a
 * double quote, CR or LF is quoted and its quotes doubled.
 *
 * CSV injection (OWASP, "CSV Injection"): a spreadsheet runs a cell that
 * starts with `=`, `+`, `-` or `@` as a formula (tab and carriage return can
 * smuggle one in front of it; Apple Numbers also reads their full-width forms
 * `＝ ＋ － ＠`). Every text cell starting with one of those is
 * prefixed with a single quote `'`, which spreadsheets take as "this is
 * text". A text cell that itself starts with `'` is prefixed too, so the
 * escaping is reversible: strip exactly one leading `'` from a text cell that
 * starts with one and the original value is back. Numbers (`id`,
 * `statusCode`, `seq`) and booleans (`success`) are written as they are —
 * they are produced by the server, never text from a user.
 */

/** Columns: the contract's first seven in its order, then the remaining entry fields. */
export const CSV_COLUMNS = [
  'id',
  'timestamp',
  'user',
  'userId',
  'action',
  'entityType',
  'entityId',
  'success',
  'statusCode',
  'ipAddress',
  'sessionId',
  'errorMessage',
  'seq',
  'method',
  'route',
  'oldValue',
  'newValue',
] as const satisfies readonly (keyof AuditEntry)[];

/**
 * First characters a spreadsheet may read as a formula (with their full-width
 * forms, which Apple Numbers normalises), and `'` (so the escaping can be undone).
 */
const FORMULA_START = /^[=+\-@\t\r'\uFF1D\uFF0B\uFF0D\uFF20]/;

/** A text cell made safe to open in a spreadsheet: prefixed with `'` when it starts with = + - @ tab CR ' (or a full-width = + - @). */
export function csvSafeText(s: string): string {
  return FORMULA_START.test(s) ? `'${s}` : s;
}

/** The inverse of `csvSafeText` (for readers of the export that want the stored values back). */
export function csvUnescapeText(s: string): string {
  return s.startsWith("'") ? s.slice(1) : s;
}

type Cell = string | number | null;

function row(e: AuditEntry): Cell[] {
  return CSV_COLUMNS.map((c) => {
    const v = e[c];
    if (v === null || v === undefined) return null;
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return v;
    return csvSafeText(String(v));
  });
}

// quote_record_delimiter: also quote a field with a bare LF or CR (csv-stringify quotes only CRLF once a record delimiter is set).
export const CSV_OPTIONS = { record_delimiter: 'windows', quote_record_delimiter: true, eof: true } as const;
const OPTIONS = CSV_OPTIONS;

/** The header line (CRLF-terminated). */
export function csvHeader(): string {
  return stringify([CSV_COLUMNS as readonly string[] as string[]], OPTIONS);
}

/** CSV lines for a chunk of entries (each CRLF-terminated). */
export function csvRows(entries: readonly AuditEntry[]): string {
  return entries.length === 0 ? '' : stringify(entries.map(row), OPTIONS);
}
