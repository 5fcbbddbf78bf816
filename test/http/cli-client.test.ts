/**
 * The client subcommands of the `themis` bin (issue 21, docs/cli.md), black box: the built CLI
 * (node dist/src/cli.js) run as a child process against a started server. Import of a JSON Lines
 * file with a bad line (stop, and --skip-invalid), export back and compare, `aql` as a table and as
 * JSON Lines (bind variables, an AQL error), `backup --wait`, and usage errors (exit 2).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandRun, runCommand } from '../../bench/lib/run-command.js';
import { ADMIN_KEY, CLI, freePort, startServer, tempDir, type StartedServer } from '../helpers/server.js';

let s: StartedServer;
let dir: string;

/** `themis <args>` with THEMIS_URL/THEMIS_KEY of the test server (unless `env` overrides them). */
function themis(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CommandRun> {
  return runCommand(process.execPath, [CLI, ...args], {
    env: { ...(process.env as Record<string, string>), THEMIS_URL: s.base, THEMIS_KEY: ADMIN_KEY, ...env },
    ...(stdin === undefined ? {} : { stdin }),
  });
}

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

const USERS = Array.from({ length: 1234 }, (_, i) => ({
  _key: `u${String(i).padStart(5, '0')}`,
  name: `User ${i}`,
  age: 20 + (i % 50),
  tags: i % 3 === 0 ? ['a', 'b'] : [],
  note: i === 7 ? 'line one\nline two ünïcödé' : null,
}));

beforeAll(async () => {
  s = await startServer();
  dir = tempDir('themis-cli-');
}, 60_000);

afterAll(async () => {
  await s?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('themis import / export', () => {
  it('stops at a bad line (exit 1, line number), keeping the batches before it', async () => {
    const file = path.join(dir, 'bad.jsonl');
    const lines = USERS.slice(0, 30).map((u) => JSON.stringify(u));
    lines.splice(25, 0, '{"_key": "broken", "name": ');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await themis(['import', file, '--table', 'stopped', '--batch', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 26: not valid JSON/);
    expect(r.stderr).toMatch(/stopped at line 26; 20 documents were imported/);
    const count = await themis(['aql', 'RETURN LENGTH(FOR d IN stopped RETURN 1)', '--json']);
    expect(count.code).toBe(0);
    expect(jsonLines(count.stdout)).toEqual([20]);
  });

  it('imports with --skip-invalid, reports each bad line, and export gives the documents back', async () => {
    const file = path.join(dir, 'users.jsonl');
    const lines = USERS.map((u) => JSON.stringify(u));
    lines.splice(100, 0, 'not json at all'); // line 101
    lines.splice(500, 0, '[1, 2, 3]'); // line 501
    lines.splice(600, 0, ''); // blank: ignored
    lines.splice(700, 0, '{"_key": {"x": 1}}'); // line 701: bad key
    fs.writeFileSync(file, `${lines.join('\r\n')}\n`);
    const r = await themis(['import', file, '--table', 'users', '--skip-invalid']);
    expect(r.stderr).toMatch(/^themis import: line 101: not valid JSON: .* \(skipped\)$/m);
    expect(r.stderr).toMatch(/^themis import: line 501: expected a JSON object, got an array \(skipped\)$/m);
    expect(r.stderr).toMatch(/^themis import: line 701: field "_key" must be a non-empty string or a number \(skipped\)$/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imported 1,234 documents into users in [\d.]+ s \([\d,]+ documents\/s\); 3 invalid lines skipped\n$/);

    // Stored without the virtual _key, under users:<_key>.
    const got = await s.req('GET', '/entities/users:u00007');
    expect(got.status).toBe(200);
    expect(JSON.parse(((await got.json()) as { blob: string }).blob)).toEqual({
      name: 'User 7',
      age: 27,
      tags: [],
      note: 'line one\nline two ünïcödé',
    });

    const out = await themis(['export', 'users', '--batch', '100']);
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('exported 1,234 documents from users\n');
    const exported = jsonLines(out.stdout) as Array<{ _key: string }>;
    exported.sort((a, b) => a._key.localeCompare(b._key));
    expect(exported).toEqual(USERS);
    // Each line starts with its key, the form import reads.
    expect(out.stdout.startsWith('{"_key":"u')).toBe(true);

    // Round trip: the export imported into another table exports the same.
    const file2 = path.join(dir, 'users-export.jsonl');
    fs.writeFileSync(file2, out.stdout);
    const again = await themis(['import', file2, '--table', 'users_copy', '--batch', '1000']);
    expect(again.code).toBe(0);
    const out2 = await themis(['export', 'users_copy']);
    expect(out2.stdout).toBe(out.stdout);
  });

  it('--key-field id keeps the field; a document without one gets a UUID key; stdin with "-"', async () => {
    const input = ['{"id": 1, "v": "a"}', '{"id": "two", "v": "b"}', '{"v": "c"}'].join('\n');
    const r = await themis(['import', '-', '--table', 'things', '--key-field', 'id'], {}, input);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imported 3 documents into things/);
    const rows = jsonLines((await themis(['export', 'things'])).stdout) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(3);
    expect(rows).toContainEqual({ _key: '1', id: 1, v: 'a' });
    expect(rows).toContainEqual({ _key: 'two', id: 'two', v: 'b' });
    const generated = rows.find((d) => d.v === 'c');
    expect(generated?._key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('export of a table that does not exist fails with the server message (exit 1)', async () => {
    const r = await themis(['export', 'nosuchtable']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^themis export: .*nosuchtable.* \(404 COLLECTION_NOT_FOUND\)\n$/);
  });
});

describe('themis aql', () => {
  beforeAll(async () => {
    const input = [
      '{"_key": "alice", "name": "Alice", "age": 30, "city": "Berlin"}',
      '{"_key": "bob", "name": "Bob", "age": 25, "city": "Paris", "bio": "a very long biography that will certainly not fit into a narrow cell"}',
      '{"_key": "carol", "name": "Carol", "age": 35, "city": "Berlin"}',
    ].join('\n');
    const r = await themis(['import', '-', '--table', 'people'], {}, input);
    expect(r.code).toBe(0);
  });

  it('prints a table: columns from the union of keys, cells cut to --max-width', async () => {
    const r = await themis(['aql', 'FOR p IN people SORT p._key RETURN p', '--max-width', '12']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'name  | age | city   | bio',
        '------+-----+--------+-------------',
        'Alice | 30  | Berlin |',
        'Bob   | 25  | Paris  | a very long…',
        'Carol | 35  | Berlin |',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe('3 rows\n');
  });

  it('--json prints one value per line; --bind and --bind-json are bind variables', async () => {
    const r = await themis([
      'aql',
      'FOR p IN @@t FILTER p.city == @city AND p.age >= @min SORT p.age RETURN {name: p.name, age: p.age}',
      '--bind',
      '@t=people',
      '--bind',
      'city=Berlin',
      '--bind-json',
      '{"min": 31}',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toEqual([{ name: 'Carol', age: 35 }]);
    const docs = await themis(['aql', 'FOR p IN people SORT p.age RETURN p', '--json', '--batch', '1']);
    expect(jsonLines(docs.stdout).map((d) => (d as { name: string }).name)).toEqual(['Bob', 'Alice', 'Carol']);
  });

  it('scalars go into one value column', async () => {
    const r = await themis(['aql', 'FOR x IN [1, "two", [3]] RETURN x']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(['value', '-----', '1', 'two', '[3]', ''].join('\n'));
  });

  it('a modifying query runs without a cursor', async () => {
    const r = await themis(['aql', 'INSERT {_key: "dave", name: "Dave"} INTO people RETURN NEW.name', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toEqual(['Dave']);
  });

  it('an AQL error prints the server message and exits 1', async () => {
    const r = await themis(['aql', 'FOR p IN people RETURN']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^themis aql: .+ \(400 [A-Z_]+\)\n$/);
  });

  it('a wrong key is a server error (exit 1), never printed', async () => {
    const r = await themis(['aql', 'RETURN 1'], { THEMIS_KEY: 'wrong-secret-key' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/401 UNAUTHORIZED/);
    expect(r.stderr).not.toContain('wrong-secret-key');
  });
});

describe('themis backup', () => {
  it('--wait polls until the backup is done', async () => {
    const target = path.join(dir, 'backup-1');
    const r = await themis(['backup', '--path', target, '--wait', '--interval', '50']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backup \S+ started \(seq \d+\) → /);
    expect(r.stdout).toMatch(
      new RegExp(`^backup \\S+ done: [\\d,]+ entries, [\\d,]+ bytes → ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
    );
    expect(fs.existsSync(path.join(target, 'manifest.json')) || fs.readdirSync(target).length > 0).toBe(true);
    // The CLI's restore verifies it.
    const v = await themis(['restore', target, '--verify-only']);
    expect(v.code).toBe(0);
  });

  it('a bad --path is the server validation error (exit 1)', async () => {
    const r = await themis(['backup', '--path', 'relative/dir']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(400 VALIDATION_FAILED\)/);
  });
});

describe('usage errors exit 2', () => {
  const cases: Array<[string[], RegExp, Record<string, string>?]> = [
    [['aql'], /missing the query/],
    [['aql', 'RETURN 1', '--bogus'], /Unknown option '--bogus'/],
    [['aql', 'RETURN 1', '--bind', 'novalue'], /--bind expects name=value/],
    [['aql', 'RETURN 1', '--bind-json', '[1]'], /--bind-json must be a JSON object/],
    [['aql', 'RETURN 1'], /no API key: pass --key <key> or set THEMIS_KEY/, { THEMIS_KEY: '' }],
    [['import', 'x.jsonl'], /missing --table/],
    [['import', '/nonexistent/x.jsonl', '--table', 'users'], /cannot read \/nonexistent\/x.jsonl: ENOENT/],
    [['import', 'x.jsonl', '--table', 'bad table'], /invalid table name/],
    [['import', 'x.jsonl', '--table', 'users', '--batch', '0'], /--batch must be an integer/],
    [['export'], /missing the table/],
    [['export', 'a', 'b'], /unexpected argument "b"/],
    [['backup', '--url', 'ftp://x'], /--url must be an http/],
    [['backup', '/tmp/a', '--path', '/tmp/b'], /give the directory once/],
  ];
  for (const [args, message, env] of cases) {
    it(`themis ${args.join(' ')}`, async () => {
      const r = await themis(args, env);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain(`Run "themis ${args[0]} --help" for usage.`);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
    });
  }

  it('--help of each command prints its usage and exits 0', async () => {
    for (const cmd of ['aql', 'import', 'export', 'backup']) {
      const r = await themis([cmd, '--help'], { THEMIS_KEY: '' });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: themis ${cmd}`));
      expect(r.stdout).toContain('Exit codes: 0 ok, 1 server or request error');
    }
  });

  it('an unreachable server is exit 1 with the reason', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await themis(['aql', 'RETURN 1', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`themis aql: cannot reach the server at ${url}: ECONNREFUSED\n`);
  });
});
