import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ANY,
  disallowedCommand,
  extractPage,
  isMaskedName,
  matchFragment,
  matchPattern,
  parseExpectation,
  parsePattern,
  shapeRegex,
  splitShell,
} from '../helpers/docs-examples.js';
import { tempDir } from '../helpers/server.js';

/** The rules test/http/docs-examples.test.ts compares documented responses by (docs/testing.md "Runnable docs"). */

const pat = (s: string) => parsePattern(s).value;

describe('documented responses: matching', () => {
  it('objects: documented fields must match, more fields are fine', () => {
    expect(matchPattern(pat('{"a":1}'), { a: 1, b: 2 })).toBeUndefined();
    expect(matchPattern(pat('{"a":1}'), { a: 2 })).toBe('$.a: expected 1, got 2');
    expect(matchPattern(pat('{"a":{"b":"x"}}'), { a: {} })).toMatch(/^\$\.a\.b: missing/);
    expect(matchPattern(pat('{"a":1,...}'), { a: 1, z: 0 })).toBeUndefined();
    expect(matchPattern(pat('{"a":null}'), { a: 0 })).toMatch(/expected null/);
  });

  it('arrays: same length unless elided; … marks a prefix, a suffix or runs in order', () => {
    expect(matchPattern(pat('[1,2]'), [1, 2])).toBeUndefined();
    expect(matchPattern(pat('[1,2]'), [1, 2, 3])).toMatch(/expected 2 elements, got 3/);
    expect(matchPattern(pat('[1,2,...]'), [1, 2, 3])).toBeUndefined();
    expect(matchPattern(pat('[1,2,…]'), [1, 3, 3])).toBe('$[1]: expected 2, got 3');
    expect(matchPattern(pat('[…,3]'), [1, 2, 3])).toBeUndefined();
    expect(matchPattern(pat('[1,…,3,…,5]'), [1, 2, 3, 4, 5])).toBeUndefined();
    expect(matchPattern(pat('[1,…,4,…,3]'), [1, 2, 3, 4, 5, 3])).toBeUndefined();
    expect(matchPattern(pat('[1,…,9,…]'), [1, 2, 3])).toMatch(/no run of elements/);
    expect(matchPattern(pat('[1,2,3,…]'), [1, 2])).toMatch(/at least 3 elements/);
  });

  it('masked field names need only be present, with the same JSON type', () => {
    for (const n of ['id', 'created_at', 'took_ms', 'transaction_id', 'next_cursor', 'uptime_seconds']) expect(isMaskedName(n)).toBe(true);
    for (const n of ['key', 'count', 'seq', 'blob_size', 'name']) expect(isMaskedName(n)).toBe(false);
    expect(matchPattern(pat('{"took_ms":1.5,"created_at":"2026-01-01T00:00:00.000Z"}'), { took_ms: 9, created_at: 'x' })).toBeUndefined();
    expect(matchPattern(pat('{"took_ms":1.5}'), {})).toMatch(/took_ms: missing/);
    expect(matchPattern(pat('{"took_ms":1.5}'), { took_ms: '1.5' })).toMatch(/expected a number \(value masked\)/);
    expect(matchPattern(pat('{"finished_at":"2026-01-01T00:00:00.000Z"}'), { finished_at: null })).toBeUndefined();
  });

  it('generated parts of strings match by shape: UUIDs, ISO times, backup ids, API key secrets', () => {
    const doc = 'entities:44c8fe5f-a708-43cb-bf86-ec5ba2dd6c02';
    expect(matchPattern(doc, 'entities:0190f3a2-1111-7abc-8def-0123456789ab')).toBeUndefined();
    expect(matchPattern(doc, 'orders:0190f3a2-1111-7abc-8def-0123456789ab')).toMatch(/expected/);
    expect(matchPattern(doc, 'entities:nope')).toMatch(/expected/);
    expect(shapeRegex('at 2026-05-04T10:00:00.000Z')!.test('at 2024-01-31T23:59:59Z')).toBe(true);
    expect(shapeRegex('/b/20260504T100000Z-3f2a9c')!.test('/b/20250101T000000Z-00aa11')).toBe(true);
    expect(shapeRegex('transaction 1795390556524004 is already committed')!.test('transaction 1796596034586003 is already committed')).toBe(
      true,
    );
    expect(shapeRegex('plain text')).toBeUndefined();
    // absolute paths: only the last component counts (the data directory differs)
    expect(matchPattern('/srv/themis/backups/20260504T100000Z-3f2a9c', '/tmp/x/backups/20261206T222644Z-f34d4c')).toBeUndefined();
    expect(matchPattern('/srv/themis/backups/b1', '/tmp/x/backups/b2')).toMatch(/expected/);
  });

  it('numbers: integers exactly, fractions to 1e-6 relative', () => {
    expect(matchPattern(0.4661494316823038, 0.46614945)).toBeUndefined();
    expect(matchPattern(0.4661494316823038, 0.4661)).toMatch(/expected/);
    expect(matchPattern(3, 3.0000001)).toMatch(/expected/);
  });

  it('"..." stands for any value; a string ending in ... or … for a prefix', () => {
    expect(pat('"..."')).toBe(ANY);
    expect(matchPattern(pat('{"a":"..."}'), { a: [1] })).toBeUndefined();
    expect(matchPattern(pat('{"a":"..."}'), {})).toMatch(/missing/);
    expect(matchPattern(pat('{"m":"tsk_..."}'), { m: 'tsk_abc' })).toBeUndefined();
    expect(matchPattern(pat('{"m":"tsk_..."}'), { m: 'abc' })).toMatch(/starting with "tsk_"/);
    expect(matchPattern(pat('"5f0c…"'), '5f0c99')).toBeUndefined();
    // … elsewhere in a string is text (fulltext snippets begin and end with it)
    expect(matchPattern(pat('"…a b…"'), '…a b…')).toBeUndefined();
    expect(matchPattern(pat('"…a b…"'), 'a b…')).toMatch(/starting with "…a b"/);
  });

  it('a fragment matches a field at the top or nested anywhere', () => {
    const f = parseExpectation('"snippet":"x <em>y</em>"', 1)!;
    expect(f.fragment).toBe(true);
    const frag = f.body as Record<string, never>;
    expect(matchFragment(frag, { hits: [{ snippet: 'z' }, { snippet: 'x <em>y</em>' }] })).toBeUndefined();
    expect(matchFragment(frag, { hits: [{ snippet: 'z' }] })).toMatch(/expected "x <em>y<\/em>", got "z"/);
    expect(matchFragment(frag, { hits: [] })).toMatch(/no field "snippet"/);
  });
});

describe('documented responses: reading comments', () => {
  it('statuses, bodies and fragments; prose is not a response', () => {
    expect(parseExpectation('404 NOT_FOUND', 3)).toMatchObject({ status: 404, code: 'NOT_FOUND', line: 3 });
    expect(parseExpectation('409 CONFLICT {"code":"CONFLICT"}', 1)).toMatchObject({
      status: 409,
      code: 'CONFLICT',
      body: { code: 'CONFLICT' },
    });
    expect(parseExpectation('{"error":true,"status_code":400} (when the key is wrong)', 1)).toMatchObject({ status: 400 });
    expect(parseExpectation('"entities":[1,2]   join_strategy: hash_join', 1)).toMatchObject({
      fragment: true,
      body: { entities: [1, 2] },
    });
    expect(parseExpectation('every table (below)', 1)).toBeUndefined();
    expect(parseExpectation('users:bob {"name":"Bob"}', 1)).toBeUndefined();
    expect(parseExpectation('2 entries', 1)).toBeUndefined();
    expect(() => parseExpectation('{"a":1,', 1)).toThrow(/expected a string/);
  });
});

describe('shell blocks', () => {
  it('splits commands at unquoted line ends: continuations, multi-line quotes, heredocs, pipes', () => {
    const { items, problems } = splitShell(
      [
        'curl -s a \\',
        "  -d '{",
        '  "x": 1}\'   # {"ok":true}',
        '# {"ignored":1}',
        'X=$(curl -s b |',
        '  jq .id)',
        'curl -s c -d @- <<EOF',
        '{"y":2}',
        'EOF',
        'echo "# not a comment" # a comment',
      ],
      10,
    );
    expect(problems).toEqual([]);
    const cmds = items.filter((i) => i.kind === 'cmd');
    expect(cmds.map((c) => [c.line, c.trailing])).toEqual([
      [10, '{"ok":true}'],
      [14, undefined],
      [16, undefined],
      [19, 'a comment'],
    ]);
    expect(cmds[2]!.text).toBe('curl -s c -d @- <<EOF\n{"y":2}\nEOF');
  });

  it('reports a quote left open', () => {
    expect(splitShell(["curl -d '{", 'x'], 1).problems[0]!.message).toMatch(/unterminated '/);
  });

  it('runs only curl, jq, echo, printf, sleep and assignments', () => {
    expect(disallowedCommand('curl -s x | jq .')).toBeUndefined();
    expect(disallowedCommand('TX=$(curl -s x -d \'{"a b":1}\' | jq .id)')).toBeUndefined();
    expect(disallowedCommand('export B=http://127.0.0.1:8765')).toBeUndefined();
    expect(disallowedCommand('npm ci && npm start')).toBe('npm');
    expect(disallowedCommand('THEMIS_ADMIN_KEY=$KEY npm start &')).toBe('npm');
    expect(disallowedCommand('rm -rf data')).toBe('rm');
  });
});

describe('extractPage', () => {
  it('pairs commands with the responses below them and skips no-run blocks', () => {
    const dir = tempDir('themis-docs-unit-');
    fs.writeFileSync(
      path.join(dir, 'p.md'),
      [
        '# Page', // 1
        '```sh no-run', // 2
        'npm start', // 3
        '```', // 4
        '```sh', // 5
        'curl -s a', // 6
        'curl -s b   # 404 NOT_FOUND', // 7
        '```', // 8
        '```json', // 9
        '{"x":1}', // 10
        '```', // 11
        '- item:', // 12
        '  ```sh', // 13
        '  curl -s c', // 14
        '  curl -s d', // 15
        '  ```', // 16
        '', // 17
        '  ```json', // 18
        '  {"c":1}', // 19
        '  {"d":2}', // 20
        '  ```', // 21
        '```sh', // 22
        'curl -s e', // 23
        '```', // 24
        '```json', // 25
        '{"e":1} {"f":2}', // 26
        '```', // 27
      ].join('\n'),
    );
    const page = extractPage(dir, 'p.md');
    expect(page.skipped).toEqual([2]);
    expect(page.commands.map((c) => [c.line, c.text, c.expect.map((e) => [e.status, e.body])])).toEqual([
      [6, 'curl -s a', []],
      [
        7,
        'curl -s b',
        [
          [404, undefined],
          [undefined, { x: 1 }],
        ],
      ],
      [14, 'curl -s c', [[undefined, { c: 1 }]]],
      [15, 'curl -s d', [[undefined, { d: 2 }]]],
      [23, 'curl -s e', []],
    ]);
    expect(page.problems).toEqual([{ page: 'p.md', line: 25, message: expect.stringMatching(/2 responses for the 1 commands/) }]);
  });
});
