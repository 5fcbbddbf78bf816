import { describe, expect, it } from 'vitest';
import { expectStatus, json, startServer } from '../helpers/server.js';

describe('uWS native binary check', () => {
  it('the native binary loads here (uws_native: true, no warning)', async () => {
    const s = await startServer({ env: { THEMIS_LOG_LEVEL: 'info' } });
    const listening = s
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'listening');
    expect(listening.uws_native).toBe(true);
    expect(s.stderr()).not.toContain('native binary did not load');
    await s.stop();
  });

  it('on the pure-JS fallback the server warns at start and still serves correctly', async () => {
    const s = await startServer({ env: { UWS_USE_FALLBACK: '1', THEMIS_LOG_LEVEL: 'info' } });
    const lines = s
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.find((l) => l.level === 'warn' && /native binary did not load/.test(l.msg))).toBeDefined();
    expect(lines.find((l) => l.msg === 'listening').uws_native).toBe(false);
    await expectStatus(await s.req('PUT', '/entities/fb:1', { blob: '{"a":1}' }), 201);
    expect(await json(await s.req('GET', '/entities/fb:1'))).toEqual({ key: 'fb:1', blob: '{"a":1}' });
    await expectStatus(await s.req('GET', '/entities/fb:1?x=1', undefined, { authorization: '' }), 401);
    expect(await s.stop()).toBe(0);
  });
});
