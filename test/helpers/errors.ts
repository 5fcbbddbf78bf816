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
