/**
 * Query warnings (ArangoDB's model): a function or operator given input it
 * cannot work with evaluates to null and records a warning `{code, message}`
 * instead of failing the query. Codes are ArangoDB's (lib/Basics/errors.dat);
 * the answer lists at most `max_warning_count` of them (`extra.warnings`)
 * and counts them all (`extra.warnings_total`). With `fail_on_warning` the
 * first warning fails the query instead (QUERY_WARNING, 400).
 */
import { ThemisError } from '../errors.js';

/** ArangoDB's numbers for the warnings ThemisTS raises. */
export const WarningCodes = {
  /** ERROR_BAD_PARAMETER: an argument outside what the function accepts. */
  BAD_PARAMETER: 10,
  /** ERROR_RESOURCE_LIMIT: a result was cut to a size limit (REPEAT). */
  RESOURCE_LIMIT: 32,
  /** ERROR_QUERY_NUMBER_OUT_OF_RANGE. */
  NUMBER_OUT_OF_RANGE: 1504,
  /** ERROR_QUERY_FUNCTION_ARGUMENT_TYPE_MISMATCH: "invalid argument type in call to function". */
  INVALID_ARGUMENT_TYPE: 1542,
  /** ERROR_QUERY_INVALID_REGEX. */
  INVALID_REGEX: 1543,
  /** ERROR_QUERY_INVALID_ARITHMETIC_VALUE. */
  INVALID_ARITHMETIC_VALUE: 1561,
  /** ERROR_QUERY_DIVISION_BY_ZERO. */
  DIVISION_BY_ZERO: 1562,
  /** ERROR_QUERY_ARRAY_EXPECTED. */
  ARRAY_EXPECTED: 1563,
  /** ERROR_QUERY_INVALID_DATE_VALUE. */
  INVALID_DATE_VALUE: 1572,
  /** ERROR_QUERY_USER_WARN: WARN(expr, message) with a falsy expr. */
  USER_WARN: 1594,
} as const;

export interface QueryWarning {
  code: number;
  message: string;
}

/** ArangoDB's default `maxWarningCount`. */
export const DEFAULT_MAX_WARNING_COUNT = 10;
/** The largest `max_warning_count` a request may ask for. */
export const MAX_WARNING_COUNT_LIMIT = 1000;

/** One query's warnings: listed up to `max`, all counted; or the first one thrown (`failOnWarning`). */
export class QueryWarnings {
  private readonly list: QueryWarning[] = [];
  /** Listed warnings already handed out (a cursor's earlier pages). */
  private taken = 0;
  /** Every warning raised, listed or not. */
  total = 0;

  constructor(
    readonly max: number = DEFAULT_MAX_WARNING_COUNT,
    readonly failOnWarning = false,
  ) {}

  /** Records a warning, or fails the query with it (`failOnWarning`). */
  add(message: string, code: number): void {
    if (this.failOnWarning) {
      throw new ThemisError('QUERY_WARNING', `${message} (warning ${code}; the query runs with fail_on_warning)`, {
        details: { warning: { code, message } },
      });
    }
    this.total++;
    if (this.list.length < this.max) this.list.push({ code, message });
  }

  /** Every listed warning. */
  all(): QueryWarning[] {
    return this.list.slice();
  }

  /** The listed warnings raised since the last call (a cursor page's). */
  take(): QueryWarning[] {
    const out = this.list.slice(this.taken);
    this.taken = this.list.length;
    return out;
  }
}
