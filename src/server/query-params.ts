import { ThemisError } from '../errors.js';

/** Integer query parameter within [min, max]; `fallback` when absent (undefined fallback = required). */
export function intParam(q: URLSearchParams, name: string, opts: { min: number; max: number; fallback?: number }): number {
  const raw = q.get(name);
  if (raw === null || raw === '') {
    if (opts.fallback === undefined) throw invalid(name, `query parameter "${name}" is required`);
    return opts.fallback;
  }
  if (!/^-?\d+$/.test(raw)) throw invalid(name, `query parameter "${name}" must be an integer, got "${raw.slice(0, 40)}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < opts.min || n > opts.max) {
    throw invalid(name, `query parameter "${name}" must be between ${opts.min} and ${opts.max}, got ${raw.slice(0, 40)}`);
  }
  return n;
}

/** Boolean query parameter: true/false/1/0. */
export function boolParam(q: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  const t = raw.toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw invalid(name, `query parameter "${name}" must be true or false, got "${raw.slice(0, 40)}"`);
}

export function stringParam(q: URLSearchParams, name: string, maxLength = 4096): string {
  const raw = q.get(name) ?? '';
  if (raw.length > maxLength) throw invalid(name, `query parameter "${name}" is longer than ${maxLength} characters`);
  return raw;
}

/** A time query parameter: epoch milliseconds or ISO 8601 (the contract allows both); undefined when absent. */
export function timeParam(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  const ms = /^-?\d{1,16}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms))
    throw invalid(name, `query parameter "${name}" must be epoch milliseconds or an ISO 8601 time, got "${raw.slice(0, 40)}"`);
  return ms;
}

/** One of `allowed`; `fallback` when absent. */
export function enumParam<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw invalid(name, `query parameter "${name}" must be one of ${allowed.join(', ')}, got "${raw.slice(0, 40)}"`);
  return raw as T;
}

function invalid(field: string, message: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', message, { details: { field } });
}
