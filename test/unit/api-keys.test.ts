import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ApiKeyStore, Authenticator, hashSecret, type Principal } from '../../src/security/index.js';
import { Engine } from '../../src/storage/index.js';
import { tempDir } from '../helpers/server.js';

const log = createLogger('silent');

describe('ApiKeyStore', () => {
  const engines: Engine[] = [];
  afterEach(async () => {
    for (const e of engines.splice(0)) if (e.isOpen) await e.close();
  });
  const open = async (dir = tempDir()) => {
    const e = await Engine.open(dir, { sync: false });
    engines.push(e);
    return e;
  };

  it('last_used_at: many requests, one write per flush interval; nothing written when unused; written at close', async () => {
    const engine = await open();
    let t = 1_000_000;
    const store = await ApiKeyStore.open(engine, log, { usageFlushMs: 60_000, now: () => t });
    const k = await store.create({ name: 'a', permissions: ['stats:read'] });
    const commit = vi.spyOn(engine, 'commit');
    const authenticator = new Authenticator();
    authenticator.addResolver((h) => store.resolve(h));
    // Without a JWT verifier authentication is synchronous (a principal, never a promise).
    const auth = { authenticate: (a: string) => authenticator.authenticate(a) as Principal };
    for (let i = 0; i < 500; i++) {
      t++;
      auth.authenticate(`Bearer ${k.secret}`);
    }
    expect(commit).not.toHaveBeenCalled();
    expect(store.get(k.keyId).last_used_at).toBe(new Date(t).toISOString());
    await store.flushUsage();
    await store.flushUsage(); // nothing new since: no second write
    expect(commit).toHaveBeenCalledTimes(1);
    auth.authenticate(`Bearer ${k.secret}`);
    await store.close();
    expect(commit).toHaveBeenCalledTimes(2);
    const again = await ApiKeyStore.open(engine, log);
    expect(again.get(k.keyId).last_used_at).toBe(new Date(t).toISOString());
    await again.close();
  });

  it('onEnd: told once on update (changed), on revoke (revoked) and at expires_at (expired); not after unregistering, not at store close', async () => {
    const engine = await open();
    const store = await ApiKeyStore.open(engine, log);
    const ends: string[] = [];
    const listen = async (extra: { expires_in_days?: number } = {}) => {
      const k = await store.create({ name: 'k', permissions: ['data:read'], ...extra });
      const p = store.resolve(hashSecret(k.secret))!;
      return { k, p };
    };
    const a = await listen();
    a.p.onEnd!((why) => ends.push(`a:${why}`));
    const gone = a.p.onEnd!((why) => ends.push(`a2:${why}`));
    gone();
    await store.update(a.k.keyId, { name: 'a2' });
    const a2 = store.resolve(hashSecret(a.k.secret))!;
    a2.onEnd!((why) => ends.push(`a2:${why}`));
    await store.revoke(a.k.keyId);
    const b = await listen({ expires_in_days: 0.2 / 86_400 }); // 200 ms
    b.p.onEnd!((why) => ends.push(`b:${why}`));
    const c = await listen();
    c.p.onEnd!((why) => ends.push(`c:${why}`));
    expect(ends).toEqual(['a:changed', 'a2:revoked']);
    await new Promise((r) => setTimeout(r, 400));
    expect(ends).toEqual(['a:changed', 'a2:revoked', 'b:expired']);
    // Registering on an ended principal: told at once (asynchronously).
    const late: string[] = [];
    a.p.onEnd!((why) => late.push(why));
    b.p.onEnd!((why) => late.push(why));
    expect(late).toEqual([]);
    await new Promise((r) => setTimeout(r, 10));
    expect(late).toEqual(['changed', 'expired']);
    await store.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(ends).toEqual(['a:changed', 'a2:revoked', 'b:expired']);
  });

  it('a cached principal stops being live on revoke, on update, on expiry and when the store closes', async () => {
    const engine = await open();
    let t = 1_000_000;
    const store = await ApiKeyStore.open(engine, log, { now: () => t });
    const authenticator = new Authenticator();
    authenticator.addResolver((h) => store.resolve(h));
    // Without a JWT verifier authentication is synchronous (a principal, never a promise).
    const auth = { authenticate: (a: string) => authenticator.authenticate(a) as Principal };
    const a = await store.create({ name: 'a', permissions: ['stats:read'] });
    const p1 = auth.authenticate(`Bearer ${a.secret}`);
    expect(p1).toMatchObject({ id: a.keyId, kind: 'api_key', name: 'a' });
    await store.update(a.keyId, { name: 'b', permissions: ['data:read'] });
    expect(p1.live!()).toBe(false);
    const p2 = auth.authenticate(`Bearer ${a.secret}`);
    expect(p2.name).toBe('b');
    expect([...p2.permissions]).toEqual(['data:read']);
    await store.revoke(a.keyId);
    expect(() => auth.authenticate(`Bearer ${a.secret}`)).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }));

    const e = await store.create({ name: 'e', permissions: [], expires_in_days: 1 });
    auth.authenticate(`Bearer ${e.secret}`);
    t += 86_400_000 + 10;
    expect(() => auth.authenticate(`Bearer ${e.secret}`)).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }));
    expect(store.resolve(hashSecret(e.secret))).toBeUndefined();

    const c = await store.create({ name: 'c', permissions: [] });
    const pc = auth.authenticate(`Bearer ${c.secret}`);
    await store.close();
    expect(pc.live!()).toBe(false);
    expect(() => auth.authenticate(`Bearer ${c.secret}`)).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }));
  });

  it('a revocation is not undone by a concurrent update or usage flush', async () => {
    const engine = await open();
    const store = await ApiKeyStore.open(engine, log);
    const a = await store.create({ name: 'a', permissions: [] });
    store.resolve(hashSecret(a.secret))!.touch!();
    const results = await Promise.allSettled([store.revoke(a.keyId), store.update(a.keyId, { name: 'z' }), store.flushUsage()]);
    expect(results[1]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ code: 'CONFLICT' }) });
    await store.close();
    const again = await ApiKeyStore.open(engine, log);
    expect(again.get(a.keyId)).toMatchObject({ revoked: true, name: 'a' });
    expect(again.resolve(hashSecret(a.secret))).toBeUndefined();
    await again.close();
  });
});
