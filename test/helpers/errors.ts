import { expect } from 'vitest';
import { ThemisError } from '../../src/errors.js';

const describeError = (e: unknown, withStatus: boolean): string =>
  e instanceof ThemisError ? (withStatus ? `${e.status} ${e.code}` : e.code) : `non-themis: ${String(e)}`;

/** The ThemisError code a promise rejects with ('no error' if it resolves). `withStatus` prefixes the HTTP status. */
export async function codeOf(p: Promise<unknown>, withStatus = false): Promise<string> {
  try {
    await p;
  } catch (e) {
    return describeError(e, withStatus);
  }
  return 'no error';
}

/** The ThemisError code a synchronous call throws ('no error' if it returns). */
export function codeOfSync(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return describeError(e, false);
  }
  return 'no error';
}

/** The ThemisError a promise rejects with (fails the test when it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<ThemisError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ThemisError);
  return err as ThemisError;
}

/** The ThemisError a promise rejects with, checked to carry `code` and a message matching `message` (`label` names the case). */
export async function refusal(p: Promise<unknown>, code: string, message: RegExp, label?: string): Promise<ThemisError> {
  const e = await rejection(p);
  expect(e.code, label).toBe(code);
  expect(e.message, label).toMatch(message);
  return e;
}
