import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { Authenticator, type Principal } from '../../src/security/index.js';

describe('FastHistogram in the prom-client registry', () => {
  it('exposes cumulative buckets, +Inf, _sum and _count per label set', async () => {
    const m = createMetrics();
    const s = m.requestDuration.seriesFor({ route: '/entities/:key', method: 'GET', status: '200' });
    expect(m.requestDuration.seriesFor({ route: '/entities/:key', method: 'GET', status: '200' })).toBe(s);
    for (const v of [0.00005, 0.0005, 0.0007, 0.02, 99]) s.observe(v);
    const text = await m.registry.metrics();
    const line = (le: string) =>
      new RegExp(
        `^themis_http_request_duration_seconds_bucket\\{le="${le.replace('+', '\\+')}",route="/entities/:key",method="GET",status="200"\\} (\\S+)$`,
        'm',
      ).exec(text)?.[1];
    expect(line('0.0005')).toBe('2'); // le is inclusive: 0.00005 and 0.0005
    expect(line('0.001')).toBe('3');
    expect(line('0.025')).toBe('4');
    expect(line('10')).toBe('4');
    expect(line('+Inf')).toBe('5');
    expect(text).toMatch(/^themis_http_request_duration_seconds_count\{route="\/entities\/:key",method="GET",status="200"\} 5$/m);
    const sum = Number(/^themis_http_request_duration_seconds_sum\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
    expect(sum).toBeCloseTo(99.02125, 6);
    expect(text).toContain('# TYPE themis_http_request_duration_seconds histogram');
  });

  it('the request-duration histogram has 14 buckets from 0.5 ms to 10 s, each 2-2.5 times the one before', async () => {
    const m = createMetrics();
    m.requestDuration.seriesFor({ route: '/health', method: 'GET', status: '200' }).observe(0.001);
    const text = await m.registry.metrics();
    const les = [...text.matchAll(/^themis_http_request_duration_seconds_bucket\{le="([^"]+)"/gm)].map((x) => x[1]);
    expect(les).toEqual([
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    const b = m.requestDuration.buckets;
    for (let i = 1; i < b.length; i++) {
      expect(b[i]! / b[i - 1]!).toBeGreaterThan(1.99);
      expect(b[i]! / b[i - 1]!).toBeLessThan(2.51);
    }
  });

  it('reads the request counters from their source at scrape time', async () => {
    const m = createMetrics();
    let totals = { totalRequests: 7, totalErrors: 2 };
    m.countRequestsFrom(() => totals);
    expect(await m.registry.metrics()).toMatch(/^vccdb_requests_total 7$/m);
    totals = { totalRequests: 9, totalErrors: 3 };
    const text = await m.registry.metrics();
    expect(text).toMatch(/^vccdb_requests_total 9$/m);
    expect(text).toMatch(/^vccdb_errors_total 3$/m);
  });

  it('labeled gauges read one series per label value at scrape time; vanished series are dropped', async () => {
    const m = createMetrics();
    let series: [string, number][] | undefined = [
      ['a', 3],
      ['b', 0],
    ];
    m.addLabeledGauge('themis_test_items', 'Items', 'index', () => series);
    let text = await m.registry.metrics();
    expect(text).toMatch(/^themis_test_items\{index="a"\} 3$/m);
    expect(text).toMatch(/^themis_test_items\{index="b"\} 0$/m);
    series = [['a', 5]];
    text = await m.registry.metrics();
    expect(text).toMatch(/^themis_test_items\{index="a"\} 5$/m);
    expect(text).not.toContain('index="b"');
    series = undefined;
    expect(await m.registry.metrics()).not.toMatch(/^themis_test_items\{/m);
  });
});

describe('Authenticator', () => {
  it('accepts the admin secret (cached or not) and rejects others, with the right challenge', () => {
    const a = new Authenticator();
    a.addAdminSecret('the-admin-secret-123');
    for (let i = 0; i < 3; i++) expect((a.authenticate('Bearer the-admin-secret-123') as Principal).kind).toBe('admin');
    expect((a.authenticate('bearer   the-admin-secret-123 ') as Principal).kind).toBe('admin');
    for (const bad of ['Bearer the-admin-secret-12', 'Basic the-admin-secret-123', 'the-admin-secret-123', 'Bearer', '']) {
      expect(() => a.authenticate(bad), bad).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }));
    }
    try {
      a.authenticate('');
    } catch (e) {
      expect(e).toMatchObject({ code: 'UNAUTHORIZED', invalidToken: false });
    }
  });
});
