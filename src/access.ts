import { ThemisError } from './errors.js';
import type { CommitOrigin } from './txn/index.js';

/**
 * Which tables a caller may read and write: the table-scoped half of the
 * permission model (docs/api.md, "Table-scoped permissions"). The security
 * module builds one per principal from its permissions (`data:read`,
 * `data:write:orders`, `data:read:logs_*`, ...); every service that touches
 * documents checks the tables it reads or writes against it. Unscoped
 * callers (admins, `data:read`) get objects whose checks are one boolean.
 */
export interface TableAccess {
  /** Every table may be read (`data:read`, `admin`, `*`). */
  readonly readsAll: boolean;
  /** Every table may be written (`data:write`, `admin`, `*`). */
  readonly writesAll: boolean;
  /** At least one table may be read (the route-level `data:read` is satisfied). */
  readonly readsAny: boolean;
  /** At least one table may be written. */
  readonly writesAny: boolean;
  canRead(table: string): boolean;
  canWrite(table: string): boolean;
}

/**
 * Who is asking, as services see it: its table access and, for requests,
 * the principal's id (transactions and AQL cursors belong to the principal
 * that opened them). A security `Principal` is one.
 */
export interface Caller {
  readonly access: TableAccess;
  /** The principal's id; absent for in-process callers. */
  readonly id?: string;
  /** The principal's name (AQL CURRENT_USER()); absent for in-process callers. */
  readonly name?: string;
  /** The request, for the audit entry its commits carry; absent for in-process callers. */
  readonly origin?: CommitOrigin;
}

/** Full access: internal callers, admins. */
export const ALL_TABLES: TableAccess = Object.freeze({
  readsAll: true,
  writesAll: true,
  readsAny: true,
  writesAny: true,
  canRead: () => true,
  canWrite: () => true,
});

/** No table at all (a request without a principal). */
export const NO_TABLES: TableAccess = Object.freeze({
  readsAll: false,
  writesAll: false,
  readsAny: false,
  writesAny: false,
  canRead: () => false,
  canWrite: () => false,
});

/** In-process callers (tools, tests): every table, no principal. */
export const INTERNAL: Caller = Object.freeze({ access: ALL_TABLES });

/** 403 FORBIDDEN unless `access` may read `table`. */
export function assertRead(access: TableAccess, table: string): void {
  if (!access.readsAll && !access.canRead(table)) throw forbidden('read', table);
}

/** 403 FORBIDDEN unless `access` may write `table`. */
export function assertWrite(access: TableAccess, table: string): void {
  if (!access.writesAll && !access.canWrite(table)) throw forbidden('write', table);
}

/** The table of an entity key `table:pk` (the whole string when it has no colon; such keys are refused elsewhere). */
export function tableOf(key: string): string {
  const i = key.indexOf(':');
  return i < 0 ? key : key.slice(0, i);
}

/** Whether `access` may read the entity `key` (`table:pk`). */
export function canReadKey(access: TableAccess, key: string): boolean {
  return access.readsAll || access.canRead(tableOf(key));
}

function forbidden(what: 'read' | 'write', table: string): ThemisError {
  return new ThemisError('FORBIDDEN', `this key may not ${what} table "${table}": it needs data:${what} or data:${what}:${table}`, {
    details: { table, permission: `data:${what}:${table}` },
  });
}
