/**
 * The query resource governor (src/aql/governor.ts) and what it governs:
 * cooperative loops and sorts, memory charges and their release per row,
 * nesting limits, linear-time LIKE and regular expressions. In-process
 * queries go through a real Database on a temp dir.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULTS } from '../../src/config.js';
import { Database } from '../../src/db.js';
import { ThemisError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import type { AqlValue } from '../../src/aql/ast.js';
import { callFunction } from '../../src/aql/functions/index.js';
import { checkDepth, Governor, Pending, sizeOf, SLICE_MS, STOP } from '../../src/aql/governor.js';
import { exceedsJsonDepth } from '../../src/json-limits.js';
import { compileRegex, like, regexMatch } from '../../src/aql/values.js';
import { BigMap, BigSet } from '../../src/aql/big-collections.js';
import { thrown } from '../helpers/aql.js';
import { tempDir } from '../helpers/inproc.js';
import { Aql } from '../../src/aql/index.js';

const MiB = 1024 * 1024;

function gov(o: Partial<{ deadline: number; maxMemory: number; maxDepth: number; now: () => number }> = {}): Governor {
  const now = o.now ?? Date.now;
  return new Governor({ deadline: o.deadline ?? now() + 60_000, maxMemory: o.maxMemory ?? Infinity, maxDepth: o.maxDepth ?? 256, now });
}

async function caughtAsync(p: Promise<unknown>): Promise<ThemisError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ThemisError) return e;
    throw e;
  }
  throw new Error('expected a ThemisError');
}

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // hold the event loop
  }
}

describe('Governor.loop', () => {
  it('runs a short loop synchronously and returns its value', () => {
    let sum = 0;
    const r = gov().loop(
      1000,
      (i) => void (sum += i),
      () => sum,
    );
    expect(r).toBe(499500);
  });

  it('returns a Pending once a slice is used up, and finishes the loop after an event-loop turn', async () => {
    const g = gov();
    const seen: number[] = [];
    let turns = 0;
    const timer = setImmediate(() => turns++);
    const r = g.loop(
      50,
      (i) => {
        seen.push(i);
        if (i === 5) busy(SLICE_MS + 2);
      },
      () => seen.length,
      1,
    );
    expect(r).toBeInstanceOf(Pending);
    expect(seen.length).toBeLessThan(50); // stopped at the checkpoint after the slow body
    expect(await (r as Pending).promise).toBe(50);
    expect(turns).toBe(1); // the event loop had its turn meanwhile
    clearImmediate(timer);
    expect(seen).toEqual([...Array(50).keys()]);
  });

  it('queries resuming while others wait for a turn share the slice (two back to back hold the loop ~SLICE_MS, not twice)', async () => {
    // A clock the test moves (a busy wait on the wall clock failed when the VM paused the process for a few ms).
    let t = 1_000_000;
    const now = () => t;
    const a = gov({ now });
    const b = gov({ now });
    const pa = a.turn();
    const pb = b.turn();
    await pa; // b still waits: a's share is half a slice
    t += SLICE_MS / 2 - 1;
    expect(a.due()).toBe(false);
    t += 1;
    expect(a.due()).toBe(true);
    await pb; // nobody waits: a whole slice
    t += SLICE_MS / 2 + 1;
    expect(b.due()).toBe(false);
    t += SLICE_MS / 2 - 2;
    expect(b.due()).toBe(false);
    t += 1;
    expect(b.due()).toBe(true);
  });

  it('throws TIMEOUT at a checkpoint past the deadline, not after the whole loop (also where it cannot yield)', async () => {
    const g = gov({ deadline: Date.now() + 20 });
    g.canYield = false; // a synchronous callback: the loop runs on, checking the deadline
    let n = 0;
    const e = thrown(() =>
      g.loop(
        1e9,
        () => void (n++, busy(1)),
        () => n,
        1,
      ),
    );
    expect(e.code).toBe('TIMEOUT');
    expect(n).toBeLessThan(200);
    const g2 = gov({ deadline: Date.now() + 20 });
    let m = 0;
    const r = g2.loop(
      1e9,
      () => void (m++, busy(1)),
      () => m,
      1,
    );
    expect(r).toBeInstanceOf(Pending);
    expect((await caughtAsync((r as Pending).promise)).code).toBe('TIMEOUT');
    expect(m).toBeLessThan(200);
  });

  it('a loop body may return STOP to end early', () => {
    let last = -1;
    const r = gov().loop(
      1e9,
      (i) => ((last = i) === 3 ? STOP : undefined),
      () => 'done',
      2,
    );
    expect(r).toBe('done');
    expect(last).toBe(3);
  });
});

describe('Governor.sort', () => {
  const byK = (a: { k: number }, b: { k: number }) => a.k - b.k;

  it('sorts like a stable Array.prototype.sort, also across many runs and merge passes', async () => {
    await fc.assert(
      // up to 12,000: past the native-sort size (4,096) into several merge passes
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 12_000, size: 'max' }), async (keys) => {
        const items = keys.map((k, i) => ({ k, i }));
        const expected = items.slice().sort((a, b) => a.k - b.k || a.i - b.i);
        const g = gov();
        const arr = items.slice();
        const r = g.sort(arr, byK);
        const out = r instanceof Pending ? ((await r.promise) as unknown as typeof arr) : r;
        expect(out).toBe(arr); // in place
        const at = arr.findIndex((x, i) => x !== expected[i]);
        expect(
          at,
          at < 0 ? '' : `first difference at ${at} of ${arr.length}: ${JSON.stringify(arr[at])} instead of ${JSON.stringify(expected[at])}`,
        ).toBe(-1);
      }),
      // no shrinking: a failing case of thousands of elements would take minutes to shrink
      { numRuns: 40, endOnFailure: true },
    );
  });

  it('gives the event loop turns while sorting a large array, and the result is sorted', async () => {
    const n = 600_000;
    const arr = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    let ticks = 0;
    const iv = setInterval(() => ticks++, 1);
    const t0 = Date.now();
    const r = gov().sort(arr, (a, b) => a - b);
    const out = r instanceof Pending ? await r.promise : r;
    const took = Date.now() - t0;
    clearInterval(iv);
    expect(out).toBe(arr);
    for (let i = 1; i < n; i++) if (arr[i - 1]! > arr[i]!) throw new Error(`not sorted at ${i}`);
    // One Array.prototype.sort would let no timer run; a governed sort lets one run about every slice.
    if (took > 100) expect(ticks, `${ticks} timer ticks in ${took} ms`).toBeGreaterThanOrEqual(Math.floor(took / (10 * SLICE_MS)));
  });
});

describe('BigSet and BigMap (sharded past 32,768 entries: no multi-million-entry rehash)', () => {
  it('hold what a Set and a Map hold, before and after they split into shards', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 0, maxLength: 90_000 }), (xs) => {
        const set = new BigSet();
        const ref = new Set<string>();
        const map = new BigMap<number>();
        const refMap = new Map<string, number>();
        for (const x of xs) {
          const k = `k${x}`;
          set.add(k);
          ref.add(k);
          map.set(k, (map.get(k) ?? 0) + 1);
          refMap.set(k, (refMap.get(k) ?? 0) + 1);
        }
        expect(set.size).toBe(ref.size);
        expect(map.size).toBe(refMap.size);
        expect(new Set(set)).toEqual(ref);
        for (const k of ['k0', 'k1', 'k59999', 'nope']) {
          expect(set.has(k)).toBe(ref.has(k));
          expect(map.has(k)).toBe(refMap.has(k));
          expect(map.get(k)).toBe(refMap.get(k));
        }
        expect([...map.values()].sort((a, b) => a - b)).toEqual([...refMap.values()].sort((a, b) => a - b));
      }),
      { numRuns: 8 },
    );
  });
});

describe('memory accounting', () => {
  it('charge past the budget throws 400 RESOURCE_LIMIT_EXCEEDED naming the limit', () => {
    const g = gov({ maxMemory: 1000 });
    g.charge(600);
    g.hold(300);
    const e = thrown(() => g.charge(200));
    expect(e.code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(e.status).toBe(400);
    expect(e.details).toMatchObject({ limit: 'memory', limit_bytes: 1000 });
  });

  it('reset releases scratch charges, release releases held ones', () => {
    const g = gov({ maxMemory: 1000 });
    const m = g.mark();
    g.charge(900);
    g.reset(m);
    g.charge(900); // fits again
    g.reset(m);
    g.hold(900);
    expect(thrown(() => g.charge(200)).code).toBe('RESOURCE_LIMIT_EXCEEDED');
    g.release(900);
    g.reset(m);
    g.charge(900);
    expect(g.peak).toBeGreaterThanOrEqual(900);
  });

  it('sizeOf estimates strings by UTF-16 length, arrays by slots, documents by their stored text', () => {
    expect(sizeOf('abcd', 10)).toBe(16 + 8);
    expect(sizeOf(5, 10)).toBe(8);
    expect(sizeOf([1, 2, 3], 10)).toBe(16 + 24);
    expect(sizeOf(['ab'], 10)).toBe(16 + 8 + 16 + 4);
    const doc = { a: 1 };
    const texts = new WeakMap<object, string>([[doc, '{"a":1}']]);
    expect(sizeOf(doc, 10, texts)).toBe(64 + 3 * 7);
    expect(sizeOf({ ab: 'x' }, 10)).toBeGreaterThan(24 + 8 + 4);
  });

  it('sizeOf and checkDepth refuse values nested deeper than the limit, at any depth without recursion', () => {
    let deep: AqlValue = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(thrown(() => sizeOf(deep, 256)).details).toMatchObject({ limit: 'depth', limit_depth: 256 });
    expect(thrown(() => checkDepth(deep, 256)).code).toBe('RESOURCE_LIMIT_EXCEEDED');
    let ok: AqlValue = 1;
    for (let i = 0; i < 256; i++) ok = { a: ok };
    expect(() => checkDepth(ok, 256)).not.toThrow();
    expect(thrown(() => checkDepth({ b: ok }, 256)).details).toMatchObject({ limit_depth: 256 });
  });

  it("JSON_PARSE's depth check (exceedsJsonDepth) counts brackets outside strings only", () => {
    expect(exceedsJsonDepth('[[[1]]]', 3)).toBe(false);
    expect(exceedsJsonDepth('[[[[1]]]]', 3)).toBe(true);
    expect(exceedsJsonDepth('["[[[[[", {"a": "]]]]\\"[[[["}]', 2)).toBe(false);
    expect(exceedsJsonDepth('[{"a": [1]}]', 2)).toBe(true);
    expect(exceedsJsonDepth('['.repeat(100_000), 256)).toBe(true);
  });
});

describe('LIKE on a linear-time matcher', () => {
  /** The old backtracking definition, as the reference for short inputs. */
  function reference(text: string, pattern: string, ci: boolean): boolean {
    let src = '^';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === '\\') {
        const n = i + 1 < pattern.length ? pattern[++i]! : '\\';
        src += n.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
      } else if (c === '%') src += '[^]*';
      else if (c === '_') src += '[^]';
      else src += c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    }
    return new RegExp(`${src}$`, ci ? 'iu' : 'u').test(text);
  }

  it('agrees with the backtracking definition (random texts and patterns)', () => {
    const chars = ['a', 'b', 'A', 'B', '%', '_', '\\', '😀'];
    const text = fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((a) => a.join(''));
    const pattern = fc.array(fc.constantFrom(...chars), { maxLength: 8 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, pattern, fc.boolean(), (t, p, ci) => {
        expect(like(t, p, ci), JSON.stringify({ t, p, ci })).toBe(reference(t, p, ci));
      }),
      { numRuns: 2000 },
    );
    // few symbols: repeated literals between % (the segment matcher's case) are common
    const small = (cs: string[], n: number) => fc.array(fc.constantFrom(...cs), { maxLength: n, size: 'max' }).map((a) => a.join(''));
    fc.assert(
      fc.property(small(['a', 'b'], 8), small(['a', 'b', '%', '%'], 6), (t, p) => {
        expect(like(t, p), JSON.stringify({ t, p })).toBe(reference(t, p, false));
      }),
      { numRuns: 3000 },
    );
  });

  it('answers the issue reproduction (300 a, eight %a then %b) at once, as for 100,000 characters', () => {
    const p = '%a%a%a%a%a%a%a%a%b';
    expect(like('a'.repeat(300), p)).toBe(false);
    const t0 = Date.now();
    expect(like('a'.repeat(100_000), p)).toBe(false);
    expect(like(`${'a'.repeat(100_000)}b`, p)).toBe(true);
    expect(like('a'.repeat(100_000), '%a_a%a_%b', true)).toBe(false); // through RE2
    expect(Date.now() - t0).toBeLessThan(2_000); // backtracking would not finish at all
  });
});

describe('regular expressions on RE2', () => {
  it('match in linear time: the (a*)*b bomb of the issue is immediate', () => {
    const t0 = Date.now();
    expect(regexMatch(`${'a'.repeat(25)}!`, '(a*)*b')).toBe(false);
    expect(regexMatch(`${'a'.repeat(100_000)}!`, '(a*)*b')).toBe(false);
    expect(callFunction('REGEX_REPLACE', [`${'a'.repeat(25)}!`, '(a*)*b', 'x'], { now: Date.now })).toBe(`${'a'.repeat(25)}!`);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('refuse backreferences and lookaround with 400 VALIDATION_FAILED that says why', () => {
    for (const p of ['(a)\\1', '(?=a)b', '(?!a)b', '(?<=a)b', '(?<!a)b']) {
      const e = thrown(() => compileRegex(p));
      expect(e.code, p).toBe('VALIDATION_FAILED');
      expect(e.message, p).toMatch(/RE2/);
      expect(e.details).toEqual({ pattern: p });
    }
    const long = '('.repeat(1000);
    expect(String(thrown(() => compileRegex(long)).details?.pattern).length).toBeLessThan(210);
  });

  it('accept JavaScript spellings RE2 writes differently (\\uXXXX, (?<name>))', () => {
    expect(regexMatch('é', '^\\u00e9$')).toBe(true);
    expect(callFunction('REGEX_MATCHES', ['ab', '(?<x>a)b'], { now: Date.now })).toEqual(['ab', 'a']);
  });

  const ctx = { now: Date.now };
  const patterns = ['a', 'a*', 'b+', '(a)', '(a)|(b)', '', 'x?', '(a*)', '[ab]', 'a|', '(?:ab)*', '(b)(a)?', '😀', '.', '^a', 'c$'];
  const templates = ['-', '$&', '[$1]', '$$', '$`', "$'", '$2', '$10', '<$<n>>', '$0', '$'];

  it('REGEX_SPLIT and REGEX_REPLACE give what String.prototype.split and replace give', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', '😀'), { maxLength: 10 }).map((a) => a.join('')),
        fc.constantFrom(...patterns),
        fc.constantFrom(...templates),
        (text, p, r) => {
          const js = new RegExp(p, 'u');
          expect(callFunction('REGEX_SPLIT', [text, p], ctx), JSON.stringify({ text, p })).toEqual(text.split(js).map((x) => x ?? ''));
          expect(callFunction('REGEX_REPLACE', [text, p, r], ctx), JSON.stringify({ text, p, r })).toBe(
            text.replace(new RegExp(p, 'gu'), r),
          );
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('governed queries (in process)', () => {
  let dir: string;
  let db: Database;
  const run = (query: string, extra: Record<string, unknown> = {}) => db.get(Aql).run({ query, ...extra });
  const value = async (query: string, extra: Record<string, unknown> = {}) => {
    const r = (await run(query, extra)) as { entities: AqlValue[] };
    return r.entities[0];
  };

  beforeAll(async () => {
    dir = tempDir('themis-aqlgov-');
    db = new Database({ ...DEFAULTS, dataDir: dir, durability: 'relaxed', queryMaxMemory: 16 * MiB }, createLogger('silent'));
    await db.open();
  });

  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a value over the memory budget is refused with RESOURCE_LIMIT_EXCEEDED before it is built', async () => {
    // 2,000,000 distinct hashes take far more than 16 MiB
    const e = await caughtAsync(run('RETURN LENGTH(UNIQUE(1..2000000))'));
    expect(e.code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(e.details).toMatchObject({ limit: 'memory', limit_bytes: 16 * MiB });
    // the range alone is refused before allocation: 10M slots are 80 MB
    expect((await caughtAsync(run('RETURN LENGTH(1..10000000)'))).code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(await value('RETURN LENGTH(1..1000000)')).toBe(1_000_000);
  });

  it('what one row builds is released at the next row (cumulative work is not a budget)', async () => {
    // each row builds ~1 MB; 300 rows together would be ~300 MB
    expect(await value('FOR i IN 1..300 LET s = CONCAT_SEPARATOR(",", 1..20000) COLLECT WITH COUNT INTO n RETURN n')).toBe(300);
    expect(await value('RETURN LENGTH(FOR i IN 1..300 LET s = CONCAT_SEPARATOR(",", 1..20000) RETURN LENGTH(s))')).toBe(300);
  });

  it('rows held by SORT, subquery results and COLLECT INTO count against the budget; SORT ... LIMIT keeps it bounded', async () => {
    expect((await caughtAsync(run('FOR i IN 1..200000 LET s = CONCAT("row-", i, "-", i * 3) SORT s DESC RETURN 1'))).code).toBe(
      'RESOURCE_LIMIT_EXCEEDED',
    );
    expect(await value('FOR i IN 1..200000 LET s = CONCAT("row-", i, "-", i * 3) SORT s DESC LIMIT 1 RETURN s')).toBe('row-99999-299997');
    expect((await caughtAsync(run('LET a = (FOR i IN 1..400000 RETURN CONCAT("x", i)) RETURN LENGTH(a)'))).code).toBe(
      'RESOURCE_LIMIT_EXCEEDED',
    );
    expect(
      (await caughtAsync(run('FOR i IN 1..300000 COLLECT g = i % 2 INTO items = CONCAT("value-", i, "-", i) RETURN LENGTH(items)'))).code,
    ).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(await value('RETURN LENGTH(FOR i IN 1..300000 COLLECT g = i % 2 WITH COUNT INTO n RETURN n)')).toBe(2);
  });

  it('a single expression stops at the deadline (408), not after it finishes', async () => {
    const t0 = Date.now();
    const e = await caughtAsync(run('RETURN LENGTH(SORTED(FOR i IN 1..400000 RETURN -i))', { timeout_ms: 30 }));
    const took = Date.now() - t0;
    expect(e.code).toBe('TIMEOUT');
    expect(took, `408 after ${took} ms`).toBeLessThan(30 + 1_000);
  });

  it('the event loop keeps getting turns while one expression works for long', async () => {
    let ticks = 0;
    const iv = setInterval(() => ticks++, 2);
    const t0 = Date.now();
    expect(await value('RETURN SORTED(FOR i IN 1..400000 RETURN -i)[0]')).toBe(-400_000);
    const took = Date.now() - t0;
    clearInterval(iv);
    // Without turns no timer would fire until the end; with them roughly one every slice.
    if (took > 200) expect(ticks, `${ticks} ticks in ${took} ms`).toBeGreaterThanOrEqual(Math.floor(took / (10 * SLICE_MS)));
  });

  it('refuses bind values nested deeper than the limit (any depth, given in-process) with 400 naming the parameter', async () => {
    let d: AqlValue = 1;
    for (let i = 0; i < 10_000; i++) d = [d];
    const e = await caughtAsync(run('RETURN @d', { bind_vars: { d } }));
    expect(e.code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(e.details).toMatchObject({ limit: 'depth', limit_depth: 256, field: 'bind_vars', parameter: 'd' });
    let ok: AqlValue = 1;
    for (let i = 0; i < 255; i++) ok = [ok];
    expect(await value('RETURN LENGTH(@d)', { bind_vars: { d: ok } })).toBe(1);
  });

  it('JSON_PARSE refuses deep input before building it; values it accepts stay within the limit', async () => {
    const e = await caughtAsync(run('RETURN JSON_PARSE(@s)', { bind_vars: { s: '['.repeat(100_000) + ']'.repeat(100_000) } }));
    expect(e.code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(e.details).toMatchObject({ limit: 'depth' });
    expect(await value('RETURN LENGTH(JSON_PARSE(@s))', { bind_vars: { s: '['.repeat(256) + ']'.repeat(256) } })).toBe(1);
    expect((await caughtAsync(run('RETURN JSON_PARSE(@s)', { bind_vars: { s: '['.repeat(257) + ']'.repeat(257) } }))).code).toBe(
      'RESOURCE_LIMIT_EXCEEDED',
    );
  });

  it('a document nested deeper than the limit is not written (nothing half-applied)', async () => {
    const s = '['.repeat(256) + ']'.repeat(256);
    // The collection exists (a FOR over a missing one is 404), holding one shallow document.
    await run('INSERT {_key: "shallow"} INTO deepdocs');
    const e = await caughtAsync(run('INSERT {_key: "deep", a: JSON_PARSE(@s)} INTO deepdocs RETURN NEW._key', { bind_vars: { s } }));
    expect(e.code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(await value('RETURN (FOR d IN deepdocs RETURN d._key)')).toEqual(['shallow']);
  });
});
