import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { Classifier } from '../../src/pii/index.js';
import { BODY_ID, detectTool, nodeLoadResult } from '../lib/load.js';
import { applyBaselines, median, mergeRounds, runScenario, rotation, roundRatioMetrics } from '../lib/scenario.js';
import { AUTH_HEADER, startThemis, type ThemisServer } from '../lib/server.js';
import type { Area, BenchSettings, ReportTable, ScenarioResult } from '../lib/types.js';
import { envNumber, log, prng } from '../lib/util.js';

/**
 * Area `pii` (issue 17, "Tests and benchmark"; bench/README.md):
 *
 * 1. Durable PUT /entities throughput with a `pseudonymize` policy vs none:
 *    four servers side by side (no policy; the issue's example policy on
 *    email and contact.phone, goal >= 0.7; `auto` over every string;
 *    `detect` on the example's fields), slots alternating in rounds;
 *    per-round ratio, median over rounds. The goal's bodies carry a new
 *    email each (a new vault value per request: the worst case) and a
 *    repeated phone number; `known` sends the same email and phone every
 *    time (pseudonyms of values the vault holds: no new record, no
 *    encryption), which separates the cost of sealing new values from the
 *    rest of the policy.
 * 2. Classification throughput in process (KB/s) over mixed German/English
 *    text (the sentences of test/fixtures/pii/corpus.jsonl in 2 KB chunks),
 *    median of 3 runs; the ceiling is one email regular expression over the
 *    same chunks (the cheapest recognizer there is).
 * 3. POST /api/classify with those 2 KB chunks over HTTP (KB/s), against
 *    POST /api/classify of an empty text on the same server (the HTTP,
 *    auth, validation and audit cost alone).
 */

const ROUTE = '/entities/:key';

/**
 * The body of every PUT: a customer record. `run` makes the emails of one
 * round distinct from every other round's (the load tool's ids restart per
 * run), so every PUT brings a value the vault does not hold yet.
 */
const putTemplate = (run: string) =>
  JSON.stringify({
    blob: {
      name: 'Kundin',
      email: `kunde.${run}-${BODY_ID}@example.com`,
      contact: { phone: '+49 30 1234567', city: 'Berlin' },
      note: `Rückruf erbeten, Antwort an kunde.${run}-${BODY_ID}@example.com`,
      tier: 'gold',
      n: 12345,
    },
  });

/**
 * The same customer record with one email for every request: after the
 * first PUT the vault holds both values, so a write computes their
 * pseudonyms and finds them known (no new vault record, no encryption) —
 * a table of recurring customers, and the cost of a policy without its
 * sealing.
 */
const repeatTemplate = () =>
  JSON.stringify({
    blob: {
      name: 'Kundin',
      email: 'kunde.stamm@example.com',
      contact: { phone: '+49 30 1234567', city: 'Berlin' },
      note: 'Rückruf erbeten, Antwort an kunde.stamm@example.com',
      tier: 'gold',
      n: 12345,
    },
  });

type PolicySpec = { fields: string[] | 'auto'; action: 'pseudonymize' | 'detect' };

/** The servers of the PUT comparison: no policy (the reference), the issue's example policy, `auto` over every string, and `detect` on the example's fields. */
interface Variant {
  name: string;
  /** The server it runs against (its policy); default: its own. */
  server: string;
  policy: PolicySpec | undefined;
  /** Bodies with the same PII every time (values the vault holds) instead of a new email per request. */
  repeat?: boolean;
  /** The scenario its ratio is taken against (same round). */
  ref?: string;
  connections?: number;
  goal?: boolean;
}
/**
 * Servers: no policy, the issue's example policy, `auto`, `detect`. Beside
 * the goal's scenario: `auto`; `known` (the example policy with values the
 * vault holds: pseudonyms without new records); `detect` (classification
 * and counting, nothing replaced); and the first two again at 8 clients.
 */
const VARIANTS: readonly Variant[] = [
  { name: 'put-plain', server: 'put-plain', policy: undefined },
  {
    name: 'put-policy-fields',
    server: 'put-policy-fields',
    policy: { fields: ['email', 'contact.phone'], action: 'pseudonymize' },
    ref: 'put-plain',
    goal: true,
  },
  { name: 'put-policy-auto', server: 'put-policy-auto', policy: { fields: 'auto', action: 'pseudonymize' }, ref: 'put-plain' },
  { name: 'put-policy-known', server: 'put-policy-fields', policy: undefined, repeat: true, ref: 'put-plain' },
  { name: 'put-detect', server: 'put-detect', policy: { fields: ['email', 'contact.phone'], action: 'detect' }, ref: 'put-plain' },
  { name: 'put-plain-8c', server: 'put-plain', policy: undefined, connections: 8 },
  { name: 'put-policy-fields-8c', server: 'put-policy-fields', policy: undefined, ref: 'put-plain-8c', connections: 8 },
];
const SERVERS = VARIANTS.filter((v) => v.server === v.name);
const policyOf = (server: string) => VARIANTS.find((v) => v.name === server)!.policy;
const serverLabel = (server: string): string => {
  const p = policyOf(server);
  if (p === undefined) return 'no policy';
  return `${p.action} ${Array.isArray(p.fields) ? 'fields' : 'auto'}`;
};

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export const piiArea: Area = {
  name: 'pii',
  description: 'durable PUT with a pseudonymize policy vs without (ratio); classify KB/s in process and over HTTP',
  async run({ settings }) {
    const tool = detectTool();
    const results: ScenarioResult[] = [];
    const tables: ReportTable[] = [];
    const only = process.env.BENCH_PII_ONLY;
    if (only !== 'classify') {
      const tp = await policyThroughput(settings);
      results.push(...tp.results);
      tables.push(tp.table);
    }
    if (only !== 'put') {
      const c = await classifyThroughput(settings);
      results.push(...c.results);
      tables.push(c.table);
    }
    applyBaselines(results);
    return {
      title: 'pii (PUT with a pseudonymize policy vs without; classification throughput)',
      tool: tool.version,
      scenarios: results,
      tables,
      notes: [
        "PUT rows: ratio = median over rounds of (req/s with the policy ÷ req/s without, same round); goal >= 0.70 (issue 17) for the issue's example policy (`fields: [email, contact.phone]`, a new email per request). Beside it: `auto` (every string, the free-text note too); `known` (the example policy, the same email and phone every time: values the vault holds, so no new record is sealed); `detect` (classification and counting on the example's fields, nothing replaced). The servers run side by side, THEMIS_DURABILITY=sync, THEMIS_AUDIT=all; slots alternate. The -8c rows repeat plain and fields with 8 clients.",
        'Classify rows: KB of UTF-8 text classified per second; ratio = that ÷ the ceiling in the same run (in process: one email regex over the same chunks; HTTP: POST /api/classify of an empty text, req/s × 2 KB).',
      ],
    };
  },
};

// ------------------------------------------------------------------ 1. PUT with a policy

async function policyThroughput(settings: BenchSettings): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const rounds = Math.round(envNumber('BENCH_PII_ROUNDS', 6));
  const slotS = envNumber('BENCH_PII_SLOT_S', 3);
  const servers = new Map<string, ThemisServer>();
  try {
    for (const v of SERVERS) {
      const s = await startThemis({ durability: 'sync' });
      servers.set(v.name, s);
      if (v.policy) {
        const r = await s.req('PUT', '/pii/policy/people', JSON.stringify(v.policy));
        if (r.status !== 200) throw new Error(`setting the policy: ${r.status} ${await r.text()}`);
      }
    }
    const slot = new Map<string, ScenarioResult[]>();
    for (let round = 0; round < rounds; round++) {
      for (const v of rotation(VARIANTS, round)) {
        const server = servers.get(v.server)!;
        const list = slot.get(v.name) ?? [];
        slot.set(v.name, list);
        log(`pii: round ${round + 1}/${rounds}: ${v.name}`);
        const prefix = `/entities/people:${v.name}-r${round}-`;
        list.push(
          await runScenario(
            {
              name: v.name,
              description: `PUT /entities/people:<n> (distinct key${v.repeat ? '; the same email and phone every time' : ' and email per request'}), THEMIS_DURABILITY=sync, ${policyOf(v.server) ? `policy ${JSON.stringify(policyOf(v.server))}` : 'no PII policy'}, ${v.connections ?? settings.connections} connections; ${rounds} rounds of ${slotS} s alternating.`,
              server: `themis (sync, ${serverLabel(v.server)})`,
              load: {
                base: server.base,
                method: 'PUT',
                path: prefix,
                distinctPathPrefix: prefix,
                headers: { Authorization: AUTH_HEADER, 'Content-Type': 'application/json' },
                bodyTemplate: v.repeat ? repeatTemplate() : putTemplate(`${v.name}-r${round}`),
              },
              warmupPathPrefix: `/entities/people:warm-${v.name}-r${round}-`,
              themis: { server, route: ROUTE },
              warmupS: list.length === 0 ? settings.warmupS : 0,
              ...(v.connections !== undefined ? { connections: v.connections } : {}),
              ...(v.ref
                ? {
                    baseline: v.ref,
                    ...(v.goal ? { target: { kind: 'ratio' as const, min: 0.7, label: '>= 70% of PUT without policy' } } : {}),
                  }
                : {}),
            },
            { ...settings, durationS: slotS },
          ),
        );
      }
    }
    const results: ScenarioResult[] = [];
    const rows: string[][] = [];
    const checked = new Set<string>();
    for (const v of VARIANTS) {
      const rs = slot.get(v.name)!;
      const m = mergeRounds(rs);
      const ref = v.ref ? slot.get(v.ref)! : rs;
      const ratios = rs.map((r, i) => r.load.rps / ref[i]!.load.rps);
      if (v.ref) {
        m.metrics = { ...m.metrics, ...roundRatioMetrics(ratios) };
      }
      const policy = policyOf(v.server);
      if (policy && !checked.has(v.server)) {
        checked.add(v.server);
        // The policy really applied: each round's emails are its own, so a pseudonymizing server's vault holds at
        // least one value per measured PUT with a new email, and a detecting server counted a document per PUT.
        const stats = (await (await servers.get(v.name)!.req('GET', '/pii/stats')).json()) as {
          records?: number;
          detected_in_writes?: Record<string, { documents: number }>;
        };
        const written = VARIANTS.filter((x) => x.server === v.server && !x.repeat).reduce(
          (a, x) => a + slot.get(x.name)!.reduce((b, r) => b + r.load.requests, 0),
          0,
        );
        const seen = policy.action === 'detect' ? (stats.detected_in_writes?.people?.documents ?? 0) : (stats.records ?? 0);
        m.metrics = {
          ...m.metrics,
          [policy.action === 'detect' ? 'documents_detected_after_run' : 'vault_records_after_run']: seen,
          measured_puts_on_server: written,
        };
        if (seen < written)
          m.problems.push(
            policy.action === 'detect'
              ? `${seen} documents counted with PII after ${written} PUTs holding an email`
              : `the vault holds ${seen} values after ${written} PUTs with distinct emails`,
          );
        m.valid = m.problems.length === 0;
      }
      results.push(m);
      rows.push([
        v.name,
        ...rs.map((r, i) => `${fmt(r.load.rps)}${v.ref ? ` (${pct(ratios[i]!)})` : ''}`),
        v.ref ? `**${pct(median(ratios))}**` : '(reference)',
        m.serverMainThreadCores?.toFixed(2) ?? '',
        m.serverCpuCores?.toFixed(2) ?? '',
      ]);
    }
    return {
      results,
      table: {
        title: 'Durable PUT per round (req/s, and with a policy: ratio to without in the same round)',
        columns: [
          'scenario',
          ...Array.from({ length: rounds }, (_, i) => `round ${i + 1}`),
          'median ratio',
          'server event loop (cores)',
          'server all threads (cores)',
        ],
        rows,
        notes: [`${slotS} s per slot; the order rotates every round.`],
      },
    };
  } finally {
    await Promise.allSettled([...servers.values()].map((s) => s.stop()));
  }
}

// ------------------------------------------------------------------ 2. + 3. classification

/** Mixed German/English text from the corpus, shuffled deterministically, cut into ~`size`-byte chunks at sentence ends. */
function chunks(size: number): string[] {
  const file = path.join(PACKAGE_ROOT, 'test/fixtures/pii/corpus.jsonl');
  const sentences = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const rnd = prng(17);
  const out: string[] = [];
  for (let pass = 0; pass < 8; pass++) {
    const order = [...sentences].sort(() => rnd() - 0.5);
    let cur = '';
    for (const s of order) {
      cur += (cur === '' ? '' : ' ') + s;
      if (Buffer.byteLength(cur) >= size) {
        out.push(cur);
        cur = '';
      }
    }
  }
  return out;
}

async function classifyThroughput(settings: BenchSettings): Promise<{ results: ScenarioResult[]; table: ReportTable }> {
  const texts = chunks(2048);
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
  const kb = bytes / 1024;
  const classifier = new Classifier();
  const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
  let found = 0;
  /** Seconds per pass over the chunks: whole passes for at least a second, after a second of warm-up passes (the JIT). */
  const perPass = (pass: () => void): number => {
    for (const end = performance.now() + 1000; performance.now() < end; ) pass();
    let passes = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1000 || passes === 0) {
      pass();
      passes++;
    }
    return (performance.now() - t0) / 1000 / passes;
  };
  const full: number[] = [];
  const ceiling: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    full.push(
      perPass(() => {
        for (const t of texts) found += classifier.classify(t).length;
      }),
    );
    ceiling.push(
      perPass(() => {
        for (const t of texts) found += t.match(email)?.length ?? 0;
      }),
    );
  }
  const fullKBs = kb / median(full);
  const ceilKBs = kb / median(ceiling);
  const inProcess = (name: string, s: number, what: string, ratio?: number): ScenarioResult => ({
    name,
    description: what,
    server: 'in process',
    method: 'classify',
    path: `${texts.length} chunks, ${fmt(kb)} KB`,
    load: nodeLoadResult({ latencies: [s * 1000], durationS: s, requests: texts.length, toolVersion: 'in process', raw: what }),
    valid: found > 0,
    problems: found > 0 ? [] : ['nothing found'],
    warnings: [],
    ...(ratio !== undefined ? { ratio } : {}),
    metrics: { kb_per_s: Math.round(name === 'classify-inproc' ? fullKBs : ceilKBs), seconds_per_pass: r3(s) },
  });
  const results: ScenarioResult[] = [
    inProcess(
      'classify-inproc',
      median(full),
      'Classifier.classify over the chunks (all categories, language auto), median of 3 runs',
      fullKBs / ceilKBs,
    ),
    inProcess('classify-email-regex-ceiling', median(ceiling), 'one email regex over the same chunks, median of 3 runs'),
  ];

  // Over HTTP: the chunks rotate as request bodies.
  const server = await startThemis({ durability: 'sync' });
  try {
    const bodies = texts.slice(0, 200).map((t) => JSON.stringify({ text: t }));
    const avgKB = bodies.reduce((a, b) => a + Buffer.byteLength(JSON.parse(b).text), 0) / bodies.length / 1024;
    const http: ScenarioResult[] = [];
    for (const [name, bs] of [
      ['classify-http-empty', [JSON.stringify({ text: '' })]],
      ['classify-http-2k', bodies],
    ] as const) {
      log(`pii: ${name}`);
      http.push(
        await runScenario(
          {
            name,
            description:
              name === 'classify-http-2k'
                ? `POST /api/classify, ${bodies.length} different ~2 KB texts rotating (avg ${avgKB.toFixed(2)} KB)`
                : 'POST /api/classify {"text": ""}: the HTTP, auth, validation and audit cost alone',
            server: 'themis (sync, audit all)',
            load: {
              base: server.base,
              method: 'POST',
              path: '/api/classify',
              headers: { Authorization: AUTH_HEADER, 'Content-Type': 'application/json' },
              bodies: [...bs],
            },
            themis: { server, route: '/api/classify' },
            ...(name === 'classify-http-2k' ? { baseline: 'classify-http-empty' } : {}),
          },
          settings,
        ),
      );
    }
    http[1]!.metrics = { ...http[1]!.metrics, kb_per_s: Math.round(http[1]!.load.rps * avgKB) };
    results.push(...http);
    return {
      results,
      table: {
        title: 'Classification throughput',
        columns: ['scenario', 'KB/s', 'ratio'],
        rows: [
          ['in process, all categories', fmt(fullKBs), `${pct(fullKBs / ceilKBs)} of one email regex`],
          ['in process, one email regex (ceiling)', fmt(ceilKBs), ''],
          ['HTTP POST /api/classify, ~2 KB texts', fmt(http[1]!.load.rps * avgKB), `${fmt(http[1]!.load.rps)} req/s`],
          ['HTTP POST /api/classify, empty text', '', `${fmt(http[0]!.load.rps)} req/s`],
        ],
        notes: [`${texts.length} chunks of mixed German/English corpus sentences, ${fmt(kb)} KB in all.`],
      },
    };
  } finally {
    await server.stop();
  }
}
