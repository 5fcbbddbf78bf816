import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig } from '../../src/config.js';
import { createLogger, redact } from '../../src/log.js';

describe('loadConfig', () => {
  it('uses documented defaults', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ ...DEFAULTS, dataDir: path.resolve('./data'), help: false });
    expect(c.port).toBe(8765);
    expect(c.durability).toBe('sync');
    expect(c.maxBodyBytes).toBe(10 * 1024 * 1024);
  });

  it('reads every THEMIS_* variable, and a flag wins over its variable', () => {
    const env = {
      THEMIS_PORT: '9000',
      THEMIS_HOST: '0.0.0.0',
      THEMIS_DATA_DIR: '/tmp/x',
      THEMIS_ADMIN_KEY: 'a-very-long-admin-secret',
      THEMIS_DURABILITY: 'relaxed',
      THEMIS_LOG_LEVEL: 'debug',
      THEMIS_MAX_BODY_BYTES: '2048',
    };
    expect(loadConfig([], env)).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/tmp/x',
      adminKey: 'a-very-long-admin-secret',
      durability: 'relaxed',
      logLevel: 'debug',
      maxBodyBytes: 2048,
    });
    const c = loadConfig(
      [
        '--port',
        '9001',
        '--durability=sync',
        '--max-body-bytes',
        '10',
        '--data-dir',
        '/tmp/y',
        '--log-level',
        'error',
        '--host',
        'localhost',
        '--admin-key',
        'flag-admin-secret-123',
      ],
      env,
    );
    expect(c).toMatchObject({
      port: 9001,
      durability: 'sync',
      maxBodyBytes: 10,
      dataDir: '/tmp/y',
      logLevel: 'error',
      host: 'localhost',
      adminKey: 'flag-admin-secret-123',
    });
  });

  it('rejects bad values and unknown flags with ConfigError', () => {
    // ConfigError has no API code (it stops the start with exit 2): the message must name what to fix.
    for (const [argv, env, message] of [
      [['--port', 'abc'], {}, 'port must be an integer, got "abc"'],
      [['--port', '70000'], {}, 'port must be between 0 and 65535, got 70000'],
      [[], { THEMIS_DURABILITY: 'maybe' }, 'durability must be one of sync, relaxed, got "maybe"'],
      [[], { THEMIS_LOG_LEVEL: 'loud' }, 'log level must be one of debug, info, warn, error, silent, got "loud"'],
      [[], { THEMIS_MAX_BODY_BYTES: '0' }, 'max body bytes must be between 1 and 2147483647, got 0'],
      [[], { THEMIS_ADMIN_KEY: 'short' }, 'admin key must be at least 16 characters'],
      [['--bogus'], {}, "Unknown option '--bogus'"],
    ] as const) {
      const what = JSON.stringify([argv, env]);
      expect(() => loadConfig([...argv], env), what).toThrow(ConfigError);
      expect(() => loadConfig([...argv], env), what).toThrow(message);
    }
  });
});

describe('THEMIS_FULLTEXT_WORKERS and THEMIS_FULLTEXT_WORKER_MIN_DOCS', () => {
  it('default to one worker on more than one core and 64 documents, read the variables and flags, and refuse values out of range', () => {
    const c = loadConfig([], {});
    expect([c.fulltextWorkers, c.fulltextWorkerMinDocs]).toEqual([os.availableParallelism() > 1 ? 1 : 0, 64]);
    const d = loadConfig(['--fulltext-worker-min-docs', '500'], { THEMIS_FULLTEXT_WORKERS: '0', THEMIS_FULLTEXT_WORKER_MIN_DOCS: '8' });
    expect([d.fulltextWorkers, d.fulltextWorkerMinDocs]).toEqual([0, 500]);
    expect(() => loadConfig([], { THEMIS_FULLTEXT_WORKERS: '17' })).toThrow('fulltext workers must be between 0 and 16, got 17');
    expect(() => loadConfig(['--fulltext-worker-min-docs', '0'], {})).toThrow(
      'fulltext worker min docs must be between 1 and 1000000, got 0',
    );
  });
});

describe('THEMIS_QUERY_MAX_MEMORY', () => {
  it('defaults to 256 MiB, reads the variable and the flag, and refuses values below 1 MiB', () => {
    expect(loadConfig([], {}).queryMaxMemory).toBe(256 * 1024 * 1024);
    expect(loadConfig([], { THEMIS_QUERY_MAX_MEMORY: '67108864' }).queryMaxMemory).toBe(67_108_864);
    expect(loadConfig(['--query-max-memory', '2097152'], { THEMIS_QUERY_MAX_MEMORY: '67108864' }).queryMaxMemory).toBe(2_097_152);
    for (const v of ['1000', 'lots', '-1']) expect(() => loadConfig([], { THEMIS_QUERY_MAX_MEMORY: v }), v).toThrow(/query max memory/);
  });
});

describe('THEMIS_DOCUMENT_CACHE_MB', () => {
  it('defaults to 64, reads the variable and the flag, takes 0 (off), and refuses negative or non-integer values', () => {
    expect(loadConfig([], {}).documentCacheMb).toBe(64);
    expect(loadConfig([], { THEMIS_DOCUMENT_CACHE_MB: '0' }).documentCacheMb).toBe(0);
    expect(loadConfig(['--document-cache-mb', '512'], { THEMIS_DOCUMENT_CACHE_MB: '0' }).documentCacheMb).toBe(512);
    for (const v of ['-1', 'big', '1.5', '70000'])
      expect(() => loadConfig([], { THEMIS_DOCUMENT_CACHE_MB: v }), v).toThrow(/document cache mb/);
  });
});

describe('THEMIS_QUERY_FAIL_ON_WARNING', () => {
  it('defaults to false; true or false from the variable or the flag; anything else is refused', () => {
    expect(loadConfig([], {}).queryFailOnWarning).toBe(false);
    expect(loadConfig([], { THEMIS_QUERY_FAIL_ON_WARNING: 'true' }).queryFailOnWarning).toBe(true);
    expect(loadConfig(['--query-fail-on-warning', 'false'], { THEMIS_QUERY_FAIL_ON_WARNING: '1' }).queryFailOnWarning).toBe(false);
    expect(() => loadConfig([], { THEMIS_QUERY_FAIL_ON_WARNING: 'maybe' })).toThrow(/query fail on warning/);
  });
});

describe('THEMIS_RETENTION_INTERVAL_MS and THEMIS_RETENTION_BATCH', () => {
  it('default to 1 h and 500, read variable and flag, take off for the interval, and refuse values out of range', () => {
    const d = loadConfig([], {});
    expect([d.retentionIntervalMs, d.retentionBatchSize]).toEqual([3_600_000, 500]);
    const c = loadConfig(['--retention-batch', '20'], { THEMIS_RETENTION_INTERVAL_MS: '250', THEMIS_RETENTION_BATCH: '7' });
    expect([c.retentionIntervalMs, c.retentionBatchSize]).toEqual([250, 20]);
    expect(loadConfig([], { THEMIS_RETENTION_INTERVAL_MS: 'OFF' }).retentionIntervalMs).toBeUndefined();
    for (const v of ['99', 'hourly', '-5', String(8 * 86_400_000)])
      expect(() => loadConfig([], { THEMIS_RETENTION_INTERVAL_MS: v }), v).toThrow(/retention interval/);
    for (const v of ['0', '10001', 'x']) expect(() => loadConfig([], { THEMIS_RETENTION_BATCH: v }), v).toThrow(/retention batch/);
  });
});

describe('logger', () => {
  it('writes JSON lines, filters by level and redacts secret fields', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l));
    log.debug('hidden');
    log.info('hello', { token: 'abc', nested: { password: 'p', ok: 1 }, authorization: 'Bearer x' });
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({ level: 'info', msg: 'hello', token: '***', nested: { password: '***', ok: 1 }, authorization: '***' });
    expect(lines[0]).not.toContain('abc');
    expect(redact({ api_key: 'k', list: [{ secret: 's' }] })).toEqual({ api_key: '***', list: [{ secret: '***' }] });
  });

  it('serialises errors with name, message, stack and cause', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    log.error('failed', { error: new TypeError('bad thing', { cause: new Error('root cause') }) });
    const rec = JSON.parse(lines[0]!);
    expect(rec.error).toMatchObject({ name: 'TypeError', message: 'bad thing', cause: { message: 'root cause' } });
    expect(rec.error.stack).toContain('config.test.ts');
  });
});

describe('THEMIS_PII_KEY, THEMIS_PII_KEY_FILE, THEMIS_CLASSIFY_MAX_BYTES', () => {
  it('parses them and refuses malformed keys and sizes', () => {
    const hex = 'ab'.repeat(32);
    const c = loadConfig(['--classify-max-bytes', '2048'], { THEMIS_PII_KEY: ` ${hex} `, THEMIS_PII_KEY_FILE: '/etc/themis/pii.key' });
    expect(c.piiKey).toBe(hex);
    expect(c.piiKeyFile).toBe('/etc/themis/pii.key');
    expect(c.classifyMaxBytes).toBe(2048);
    expect(loadConfig([], {}).classifyMaxBytes).toBe(1024 * 1024);
    expect(loadConfig([], {}).piiKey).toBeUndefined();
    for (const v of ['ab'.repeat(31), 'not a key'])
      expect(() => loadConfig([], { THEMIS_PII_KEY: v }), v).toThrow(/pii key must be 32 bytes/);
    for (const v of ['0', 'x']) expect(() => loadConfig([], { THEMIS_CLASSIFY_MAX_BYTES: v }), v).toThrow(/classify max bytes/);
  });
});
