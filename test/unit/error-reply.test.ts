import { describe, expect, it } from 'vitest';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Authenticator } from '../../src/security/index.js';
import { HttpError, toErrorReply } from '../../src/server/error-reply.js';

/** Subsystems state facts on ThemisError; the error reply (server/) makes the HTTP headers from them. */
describe('toErrorReply: headers come from server/', () => {
  const reply = (err: unknown) => toErrorReply(err, 'req-1', createLogger('silent'), '/x');

  it('retryAfterMs becomes Retry-After in whole seconds, rounded up, at least 1', () => {
    for (const [ms, seconds] of [
      [1000, '1'],
      [1500, '2'],
      [10_000, '10'],
      [1, '1'],
      [0, '1'],
    ] as const) {
      expect(reply(new ThemisError('UNAVAILABLE', 'busy', { retryAfterMs: ms })).headers, String(ms)).toEqual({ 'Retry-After': seconds });
    }
    expect(reply(new ThemisError('UNAVAILABLE', 'shutting down')).headers).toBeUndefined();
  });

  it('retryAfterMs stays out of the body', () => {
    const r = reply(new ThemisError('INSUFFICIENT_STORAGE', 'disk full', { retryAfterMs: 10_000, details: { storage: 'disk_full' } }));
    expect(r.body).toEqual({ error: true, message: 'disk full', status_code: 507, code: 'INSUFFICIENT_STORAGE', storage: 'disk_full' });
  });

  it('an HttpError carries its own headers (405 Allow, 426 Upgrade), not in the body', () => {
    const r = reply(new HttpError('METHOD_NOT_ALLOWED', 'no', { Allow: 'GET, HEAD' }));
    expect(r).toMatchObject({ status: 405, headers: { Allow: 'GET, HEAD' } });
    expect(Object.keys(r.body).sort()).toEqual(['code', 'error', 'message', 'status_code']);
    expect(reply(new HttpError('UPGRADE_REQUIRED', 'ws only', { Upgrade: 'websocket' }))).toMatchObject({
      status: 426,
      headers: { Upgrade: 'websocket' },
    });
  });

  it('a 401 from the authenticator gets the RFC 6750 challenge: error="invalid_token" only when a credential was presented', () => {
    const a = new Authenticator();
    a.addAdminSecret('the-admin-secret-123');
    const challengeFor = (authorization: string) => {
      try {
        a.authenticate(authorization);
      } catch (e) {
        const r = reply(e);
        expect(r.body).toMatchObject({ code: 'UNAUTHORIZED', status_code: 401 });
        expect(Object.keys(r.body).sort()).toEqual(['code', 'error', 'message', 'status_code']);
        return r.headers;
      }
      throw new Error('expected UNAUTHORIZED');
    };
    expect(challengeFor('')).toEqual({ 'WWW-Authenticate': 'Bearer realm="themis"' });
    for (const bad of ['Bearer wrong', 'Basic abc', 'Bearer'])
      expect(challengeFor(bad), bad).toEqual({ 'WWW-Authenticate': 'Bearer realm="themis", error="invalid_token"' });
  });
});
