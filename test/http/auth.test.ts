import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectStatus, json, startServer, tempDir } from '../helpers/server.js';

describe('admin key bootstrap', () => {
  it('first start without THEMIS_ADMIN_KEY creates a key, prints it once, stores only its hash (0600)', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir, adminKey: null });
    const m = /Authorization: Bearer (\S+)/.exec(a.stdout());
    expect(m).not.toBeNull();
    const secret = m![1]!;
    expect(secret.length).toBeGreaterThanOrEqual(40);

    const file = path.join(dataDir, 'admin.key');
    const st = fs.statSync(file);
    expect(st.mode & 0o777).toBe(0o600);
    const stored = fs.readFileSync(file, 'utf8');
    expect(stored).not.toContain(secret);
    const rec = JSON.parse(stored);
    expect(rec).toMatchObject({
      algorithm: 'sha256',
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      key_id: expect.stringMatching(/^key_/),
    });
    // The secret never reaches the logs.
    expect(a.stderr()).not.toContain(secret);

    const ok = await a.req('GET', '/stats', undefined, { authorization: `Bearer ${secret}` });
    await expectStatus(ok, 200);
    const bad = await a.req('GET', '/stats', undefined, { authorization: `Bearer ${secret}x` });
    await expectStatus(bad, 401);
    expect(await a.stop()).toBe(0);

    // Second start: the stored key still works and nothing is printed again.
    const b = await startServer({ dataDir, adminKey: null });
    expect(b.stdout()).not.toContain('Bearer');
    await expectStatus(await b.req('PUT', '/entities/t:1', { blob: '{}' }, { authorization: `Bearer ${secret}` }), 201);
    expect(fs.readFileSync(file, 'utf8')).toBe(stored);
    await b.stop();
  });

  it('THEMIS_ADMIN_KEY makes that secret an admin key without creating admin.key', async () => {
    const dataDir = tempDir();
    const a = await startServer({ dataDir, adminKey: 'env-admin-secret-abcdef' });
    expect(a.stdout()).toBe('');
    expect(fs.existsSync(path.join(dataDir, 'admin.key'))).toBe(false);
    const r = await a.req('GET', '/stats', undefined, { authorization: 'Bearer env-admin-secret-abcdef' });
    await expectStatus(r, 200);
    expect(await json(r)).toHaveProperty('server.total_requests');
    const wrong = await a.req('GET', '/entities/t:1', undefined, { authorization: 'Bearer env-admin-secret-abcdeX' });
    await expectStatus(wrong, 401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="themis", error="invalid_token"');
    await a.stop();
  });

  it('refuses to start with a too-short THEMIS_ADMIN_KEY (exit 2, message on stderr)', async () => {
    await expect(startServer({ adminKey: 'short' })).rejects.toThrow(/admin key must be at least 16 characters/);
  });
});
