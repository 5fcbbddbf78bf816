import { describe, expect, it } from 'vitest';
import { ALL_TABLES, assertRead, assertWrite } from '../../src/access.js';
import { ThemisError } from '../../src/errors.js';
import { can, isGrant, tableAccessOf, type Principal } from '../../src/security/index.js';

/** Table-scoped grants (src/security/principal.ts): which names are grants, and what they reach. */
describe('table-scoped grants', () => {
  it('isGrant: the known permissions and data:read|write:<pattern>', () => {
    for (const ok of ['admin', '*', 'data:read', 'data:write:orders', 'data:read:logs_*', 'data:read:*', 'data:read:a-b_9', 'pii:reveal'])
      expect(isGrant(ok), ok).toBe(true);
    for (const bad of [
      'root',
      'data:read:',
      'data:delete:x',
      'data:read:a b',
      'data:read:a:b',
      'query:execute:x',
      'data:read:é',
      `data:read:${'t'.repeat(129)}`,
    ])
      expect(isGrant(bad), bad).toBe(false);
  });

  it('tableAccessOf: exact names, patterns, unscoped and admin', () => {
    const a = tableAccessOf(['data:read:users', 'data:read:logs_*', 'data:write:orders']);
    expect([a.readsAll, a.writesAll, a.readsAny, a.writesAny]).toEqual([false, false, true, true]);
    expect(['users', 'logs_', 'logs_2024', 'orders', 'logs', 'users2', 'xlogs_a'].map((t) => a.canRead(t))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    expect(['orders', 'users'].map((t) => a.canWrite(t))).toEqual([true, false]);
    expect(tableAccessOf(['data:read:*']).readsAll).toBe(true);
    expect(tableAccessOf(['data:read', 'data:write'])).toBe(ALL_TABLES);
    expect(tableAccessOf(['admin'])).toBe(ALL_TABLES);
    expect(tableAccessOf(['*'])).toBe(ALL_TABLES);
    const none = tableAccessOf(['stats:read']);
    expect([none.readsAny, none.writesAny, none.canRead('users')]).toEqual([false, false, false]);
    const mid = tableAccessOf(['data:read', 'data:write:a*c']);
    expect([mid.readsAll, mid.writesAll]).toEqual([true, false]);
    expect(['abc', 'ac', 'abd', 'acd', 'xac', 'abcc'].map((t) => mid.canWrite(t))).toEqual([true, true, false, false, false, true]);
  });

  it('can(): a scoped grant satisfies the route data:read / data:write, nothing else', () => {
    const p = (grants: string[]): Principal => ({
      id: 'k',
      kind: 'api_key',
      name: 'k',
      permissions: new Set(grants as never[]),
      access: tableAccessOf(grants),
    });
    expect(can(p(['data:read:users']), 'data:read')).toBe(true);
    expect(can(p(['data:read:users']), 'data:write')).toBe(false);
    expect(can(p(['data:write:users']), 'data:write')).toBe(true);
    expect(can(p(['data:write:users']), 'data:read')).toBe(false);
    expect(can(p(['data:read:users']), 'query:execute')).toBe(false);
    expect(can(p(['admin']), 'stats:read')).toBe(true);
  });

  it('assertRead / assertWrite: 403 FORBIDDEN naming the table and the permission that would allow it', () => {
    const a = tableAccessOf(['data:read:users']);
    expect(() => assertRead(a, 'users')).not.toThrow();
    for (const [f, what] of [
      [() => assertRead(a, 'orders'), 'read'],
      [() => assertWrite(a, 'orders'), 'write'],
    ] as const) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ThemisError);
        expect((e as ThemisError).code).toBe('FORBIDDEN');
        expect((e as ThemisError).details).toEqual({ table: 'orders', permission: `data:${what}:orders` });
      }
    }
  });
});
