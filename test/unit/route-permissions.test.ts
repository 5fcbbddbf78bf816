import { describe, expect, it } from 'vitest';
import { RoutePermissions, type OpenApiDoc } from '../../src/server/route-permissions.js';

/** openapi.yaml's `x-permission` is where every route's requirement comes from (src/server/route-permissions.ts). */
const doc = (paths: Record<string, unknown>): OpenApiDoc => ({ paths }) as OpenApiDoc;

describe('RoutePermissions', () => {
  it('reads each operation requirement; router templates map to spec paths', () => {
    const r = new RoutePermissions(
      doc({
        '/health': { get: { 'x-permission': 'public', 'x-audit-action': 'HEALTH_CHECK', security: [] } },
        '/api/whoami': { get: { 'x-permission': 'authenticated', 'x-audit-action': 'WHOAMI' } },
        '/entities/{key}': {
          get: { 'x-permission': 'data:read', 'x-audit-action': 'GET_ENTITY' },
          put: { 'x-permission': 'data:write', 'x-audit-action': 'PUT_ENTITY', responses: { '400': {}, '201': {} } },
        },
      }),
    );
    expect(r.of('GET', '/health')).toEqual({ auth: false, permission: undefined, action: 'HEALTH_CHECK', successStatus: 200 });
    // Any valid credential: authentication, no permission.
    expect(r.of('GET', '/api/whoami')).toEqual({ auth: true, permission: undefined, action: 'WHOAMI', successStatus: 200 });
    expect(r.of('GET', '/entities/:key')).toEqual({ auth: true, permission: 'data:read', action: 'GET_ENTITY', successStatus: 200 });
    expect(r.of('PUT', '/entities/:key')).toEqual({ auth: true, permission: 'data:write', action: 'PUT_ENTITY', successStatus: 201 });
  });

  it('a route without an operation in the spec is a start-up error', () => {
    const r = new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'admin', 'x-audit-action': 'A_THING' } } }));
    expect(() => r.of('POST', '/a')).toThrow(TypeError);
    expect(() => r.of('GET', '/b')).toThrow(/no operation in openapi.yaml/);
  });

  it('an operation without x-permission, with an unknown one, with *, or public without security: [] (and the reverse), or without an audit verb, is refused', () => {
    expect(() => new RoutePermissions(doc({ '/a': { get: {} } }))).toThrow(/declares no x-permission/);
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'admin' } } }))).toThrow(/declares no x-audit-action/);
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'admin', 'x-audit-action': 'lower' } } }))).toThrow(
      /declares no x-audit-action/,
    );
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'data:read:users' } } }))).toThrow(/not a permission/);
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'root' } } }))).toThrow(/not a permission/);
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': '*' } } }))).toThrow(/not a permission/);
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'public' } } }))).toThrow(/disagrees/);
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'admin', security: [] } } }))).toThrow(/disagrees/);
    expect(() => new RoutePermissions(doc({ '/a': { get: { 'x-permission': 'authenticated', security: [] } } }))).toThrow(/disagrees/);
  });

  it('the shipped openapi.yaml declares a valid permission for every operation', () => {
    expect(() => RoutePermissions.fromOpenApi()).not.toThrow();
  });
});
