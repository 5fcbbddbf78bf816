/**
 * Issue 13, item 2 over HTTP: the hostile queries that stalled the server
 * (a LIKE and a regex bomb, big string building, UNIQUE over a huge range,
 * five subqueries over a 10M range) now answer — a correct result, 408 or
 * 400 RESOURCE_LIMIT_EXCEEDED — within bounded time and memory, while
 * /health keeps answering promptly. Runs against the default limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../helpers/server.js';

type Body = Record<string, unknown> & { entities?: unknown[]; code?: string };

let s: StartedServer;

beforeAll(async () => {
  s = await startServer();
});

afterAll(async () => {
  await s?.stop();
});

async function aql(query: string, extra: Record<string, unknown> = {}): Promise<{ status: number; body: Body; ms: number }> {
  const t0 = Date.now();
  const r = await s.req('POST', '/query/aql', { query, ...extra });
  const body = (await r.json()) as Body;
  return { status: r.status, body, ms: Date.now() - t0 };
}

async function rss(): Promise<number> {
  const text = await (await s.req('GET', '/metrics')).text();
  const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  if (!m) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(m[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  const a = xs.slice().sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)]!;
}

/**
 * Polls /health one request at a time (every ~10 ms) and the server's RSS
 * (every ~100 ms) until `stop()`; latencies and the largest RSS since the
 * last `resetRss()`.
 */
function watch() {
  const latencies: number[] = [];
  let maxRss = 0;
  let running = true;
  const health = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await fetch(`${s.base}/health`);
      await r.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`/health answered ${r.status}`);
      await sleep(10);
    }
  })();
  const memory = (async () => {
    while (running) {
      maxRss = Math.max(maxRss, await rss());
      await sleep(100);
    }
  })();
  return {
    latencies,
    maxRss: () => maxRss,
    resetRss: () => (maxRss = 0),
    stop: async () => {
      running = false;
      await Promise.all([health, memory]);
    },
  };
}

const A300 = 'a'.repeat(300);
const HOSTILE: [name: string, query: string, extra: Record<string, unknown>, check: (status: number, body: Body) => void][] = [
  [
    'LIKE(<300 × "a">, "%a%a%a%a%a%a%a%a%b") with timeout_ms 100',
    `RETURN LIKE("${A300}", "%a%a%a%a%a%a%a%a%b")`,
    { timeout_ms: 100 },
    (status, body) => {
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.entities).toEqual([false]);
    },
  ],
  [
    'REGEX_REPLACE(<25 × "a">+"!", "(a*)*b", "x")',
    `RETURN REGEX_REPLACE("${'a'.repeat(25)}!", "(a*)*b", "x")`,
    {},
    (status, body) => {
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.entities).toEqual([`${'a'.repeat(25)}!`]);
    },
  ],
  [
    'LENGTH(CONCAT_SEPARATOR(",", 1..10000000)) with timeout_ms 2000',
    'RETURN LENGTH(CONCAT_SEPARATOR(",", 1..10000000))',
    { timeout_ms: 2000 },
    (status, body) => {
      // the exact answer (78,888,896 characters: 68,888,897 digits and 9,999,999 commas), the deadline, or the memory budget
      if (status === 200) expect(body.entities).toEqual([78_888_896]);
      else expect([408, 400], JSON.stringify(body)).toContain(status);
      if (status === 400) expect(body.code).toBe('RESOURCE_LIMIT_EXCEEDED');
      if (status === 408) expect(body.code).toBe('TIMEOUT');
    },
  ],
  [
    'LENGTH(UNIQUE(1..10000000))',
    'RETURN LENGTH(UNIQUE(1..10000000))',
    {},
    (status, body) => {
      // ten million distinct hashes are far beyond the default 256 MiB budget
      expect(status, JSON.stringify(body)).toBe(400);
      expect(body).toMatchObject({
        error: true,
        status_code: 400,
        code: 'RESOURCE_LIMIT_EXCEEDED',
        limit: 'memory',
        limit_bytes: 256 * 1024 * 1024,
      });
    },
  ],
  [
    'five subqueries over a 10M range',
    'LET a = (FOR x IN 1..10000000 FILTER x % 2 == 0 RETURN x) LET b = (FOR x IN 1..10000000 FILTER x % 3 == 0 RETURN x) LET c = (FOR x IN 1..10000000 FILTER x % 5 == 0 RETURN x) LET d = (FOR x IN 1..10000000 FILTER x % 7 == 0 RETURN x) LET e = (FOR x IN 1..10000000 FILTER x % 11 == 0 RETURN x) RETURN LENGTH(a) + LENGTH(b) + LENGTH(c) + LENGTH(d) + LENGTH(e)',
    { timeout_ms: 10_000 },
    (status, body) => {
      // a subquery of 5,000,000 rows is over THEMIS_QUERY_MAX_INTERMEDIATE (and its memory over the budget)
      expect(status, JSON.stringify(body)).toBe(400);
      expect(['VALIDATION_FAILED', 'RESOURCE_LIMIT_EXCEEDED']).toContain(body.code);
    },
  ],
];

describe('AQL queries that used to stall the server (issue 13, item 2)', () => {
  it('each answers in bounded time and memory, the server stays up, and /health stays responsive while they run', async () => {
    // Baseline, in this run: /health while the server does ordinary heavy work, a long scan whose
    // rows the executor interleaves with other requests. On a busy machine (other processes on the
    // same two cores) both this and the hostile phase slow down alike.
    const idle = watch();
    const benign = await aql('FOR i IN 1..2500000 FILTER i * 2 == -1 RETURN i');
    await idle.stop();
    expect(benign.status, JSON.stringify(benign.body)).toBe(200);
    const baseP99 = percentile(idle.latencies, 99);
    const baseMax = Math.max(...idle.latencies);
    const w = watch();
    try {
      for (const [name, query, extra, check] of HOSTILE) {
        await sleep(300); // let the previous query's garbage go before the baseline
        const base = await rss();
        w.resetRss();
        const timeout = (extra.timeout_ms as number | undefined) ?? 30_000;
        const polls = w.latencies.length;
        const r = await aql(query, extra);
        await sleep(150); // one more RSS sample
        const grew = Math.round((Math.max(w.maxRss(), base) - base) / 1024 / 1024);
        const mine = w.latencies.slice(polls);
        console.log(
          `${name}: ${r.status} in ${r.ms} ms; /health max ${Math.max(0, ...mine).toFixed(1)} ms over ${mine.length} polls; RSS +${grew} MiB`,
        );
        check(r.status, r.body);
        // the deadline plus slack (the old server took 7.7-40 s or never answered)
        expect(r.ms, `${name}: answered after ${r.ms} ms`).toBeLessThan(Math.min(timeout, 10_000) + 3_000);
        // budget (256 MiB) plus slack for garbage not yet collected; the old server grew by 1-2.3 GB
        expect(grew, `${name}: RSS grew by ${grew} MiB`).toBeLessThan(256 + 256);
        const ok = await aql('RETURN 1 + 1');
        expect(ok.status, JSON.stringify(ok.body)).toBe(200);
        expect(ok.body.entities).toEqual([2]);
      }
    } finally {
      await w.stop();
    }
    const p99 = percentile(w.latencies, 99);
    const max = Math.max(...w.latencies);
    const seen = `/health p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${w.latencies.length} polls while hostile queries ran; baseline (a long ordinary scan, ${benign.ms} ms) p99 ${baseP99.toFixed(1)} ms, max ${baseMax.toFixed(1)} ms over ${idle.latencies.length} polls`;
    console.log(seen);
    expect(w.latencies.length).toBeGreaterThan(200);
    // Hostile queries keep /health about as responsive as ordinary heavy work: under 50 ms p99 on a
    // quiet machine (measured: p99 ~40 ms, max ~60 ms), plus what the machine adds (the baseline).
    // The old server stalled for 7-40 s.
    expect(p99, seen).toBeLessThan(50 + 2 * baseP99);
    // One long stall hides in a p99 of sequential polls: bound the longest too. The bound leaves room for
    // what the governor does not control — a major GC after a query held 100+ MiB, the OS scheduling the
    // server out while other test files load both cores (a fresh-clone CI run saw one 573 ms poll) — and
    // still fails on any query that runs synchronously for a second (the old stalls were 7-40 s).
    expect(max, seen).toBeLessThan(1_000 + 2 * baseMax);
  });
});
