import { describe, expect, it } from 'vitest';
import { Router } from '../../src/server/index.js';
import { ThemisError } from '../../src/errors.js';

const h = () => ({});
const router = new Router()
  .add({ method: 'GET', path: '/health', handler: h })
  .add({ method: 'GET', path: '/entities/:key', handler: h })
  .add({ method: 'PUT', path: '/entities/:key', handler: h })
  .add({ method: 'POST', path: '/entities', handler: h })
  .add({ method: 'GET', path: '/a/:x/b/:y', handler: h });

describe('Router', () => {
  it('matches exact paths and ignores one trailing slash', () => {
    expect(router.match('GET', '/health')).toMatchObject({ kind: 'route', route: { path: '/health' }, params: {} });
    expect(router.match('GET', '/health/')).toMatchObject({ kind: 'route', route: { path: '/health' } });
  });

  it('extracts and percent-decodes parameters after splitting, so %2F stays inside', () => {
    expect(router.match('GET', '/entities/users%3A1%2Fx%20y')).toMatchObject({ kind: 'route', params: { key: 'users:1/x y' } });
    expect(router.match('GET', '/a/1/b/2')).toMatchObject({ kind: 'route', params: { x: '1', y: '2' } });
  });

  it('answers method_not_allowed with the allowed methods for a known path', () => {
    expect(router.match('DELETE', '/entities/x:1')).toEqual({ kind: 'method_not_allowed', allowed: ['GET', 'PUT'] });
    expect(router.match('GET', '/entities')).toEqual({ kind: 'method_not_allowed', allowed: ['POST'] });
  });

  it('answers not_found for unknown paths and empty parameters', () => {
    expect(router.match('GET', '/nope')).toEqual({ kind: 'not_found' });
    expect(router.match('GET', '/entities/x:1/extra')).toEqual({ kind: 'not_found' });
    expect(router.match('GET', '/a//b/2')).toEqual({ kind: 'not_found' });
  });

  it('throws BAD_REQUEST on malformed percent-encoding', () => {
    try {
      router.match('GET', '/entities/%E0%A4%A');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ThemisError);
      expect((e as ThemisError).code).toBe('BAD_REQUEST');
    }
  });

  it('refuses duplicate routes', () => {
    expect(() => new Router().add({ method: 'GET', path: '/x', handler: h }).add({ method: 'GET', path: '/x', handler: h })).toThrow(
      TypeError,
    );
  });
});
