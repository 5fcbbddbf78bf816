import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Body, call, expectError, ok, type StartedServer, sleep, startServer } from '../helpers/server.js';

/**
 * The LLM interaction store (issue 19, docs/llm.md), black-box: create,
 * read, delete, 404s; validation naming the field; paging over many pages
 * in both orders with concurrent inserts; filters; fulltext search over
 * message text; PII policies and retention applying to the table;
 * immutability against other writers; restart persistence.
 */

interface Interaction {
  id: string;
  created_at: string;
  model: string;
  messages: { role: string; content: string }[];
  metadata?: Record<string, unknown>;
  [k: string]: unknown;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const body = (model: string, text: string, metadata: Record<string, unknown> = {}) => ({
  model,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: text },
    { role: 'assistant', content: `About ${text}: fine.` },
  ],
  metadata,
});

describe('LLM interactions over HTTP', () => {
  let s: StartedServer;
  const create = async (b: unknown): Promise<Body> => ok(call(s, 'POST', '/llm/interaction', b), 201);
  const page = async (q: string): Promise<{ items: Interaction[]; next?: string }> =>
    (await ok(call(s, 'GET', `/llm/interaction?${q}`))) as unknown as { items: Interaction[]; next?: string };

  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('pages over 250 interactions in both orders while others are inserted: none skipped, none repeated, in id order', async () => {
    const first: string[] = [];
    for (let i = 0; i < 250; i += 25) {
      const ids = await Promise.all(Array.from({ length: 25 }, (_, j) => create(body('pager', `item ${i + j}`))));
      first.push(...ids.map((r) => r.id as string));
    }
    expect(new Set(first).size).toBe(250);
    const sorted = [...first].sort();
    for (const order of ['desc', 'asc'] as const) {
      const seen: string[] = [];
      const inserts: Promise<Body>[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const p = await page(`limit=37&order=${order}${after ? `&after=${after}` : ''}`);
        pages++;
        expect(p.items.length).toBeLessThanOrEqual(37);
        seen.push(...p.items.map((x) => x.id));
        // Three inserts race with every page read.
        for (let k = 0; k < 3; k++) inserts.push(create(body('pager', `late ${order} ${pages} ${k}`)));
        if (p.next === undefined) break;
        expect(p.items).toHaveLength(37);
        expect(p.next).toBe(p.items[36]!.id);
        after = p.next;
        expect(pages).toBeLessThan(100);
      }
      const late = (await Promise.all(inserts)).map((r) => r.id as string);
      expect(new Set(seen).size, 'no repeats').toBe(seen.length);
      expect(seen, 'in id order').toEqual(order === 'desc' ? [...seen].sort().reverse() : [...seen].sort());
      const seenSet = new Set(seen);
      expect(
        sorted.filter((id) => !seenSet.has(id)),
        'none of those present at the start skipped',
      ).toEqual([]);
      // desc: later inserts are newer than the first page, never on a later one; asc: they may appear only at the end.
      if (order === 'desc') expect(seen.length).toBeLessThan(250 + late.length + 10);
      first.push(...late);
      sorted.splice(0, sorted.length, ...[...first].sort());
    }
    // Default order is newest first, default limit 50.
    const d = await page('');
    expect(d.items).toHaveLength(50);
    expect(d.items[0]!.id).toBe([...first].sort().at(-1));
    // Ids sort by creation time: created_at never decreases along ids.
    const all: Interaction[] = [];
    let after: string | undefined;
    do {
      const p = await page(`limit=1000&order=asc${after ? `&after=${after}` : ''}`);
      all.push(...p.items);
      after = p.next;
    } while (after);
    expect(all).toHaveLength(first.length);
    for (let i = 1; i < all.length; i++) expect(Date.parse(all[i]!.created_at)).toBeGreaterThanOrEqual(Date.parse(all[i - 1]!.created_at));
  });

  it('creates (201 with a UUID v7 id and created_at), reads back as sent, deletes; 404 for unknown ids', async () => {
    const req = {
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'Erkläre MVCC kurz' },
        { role: 'assistant', content: 'MVCC erlaubt paralleles Lesen/Schreiben...', name: 'bot' },
        { role: 'tool', content: '{"ok":true}', tool_call_id: 'call_1' },
      ],
      reasoning_steps: [
        { type: 'chain_of_thought', content: ['MVCC erlaubt paralleles Lesen/Schreiben', 'Versionen pro Tx'] },
        'plain step',
      ],
      metadata: { session_id: 'abc', user: 'u1', tags: ['x'] },
      usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
    };
    const before = Date.now();
    const r = await create(req);
    expect(Object.keys(r).sort()).toEqual(['created_at', 'id', 'success']);
    expect(r.success).toBe(true);
    expect(r.id).toMatch(UUID_V7);
    const at = Date.parse(r.created_at as string);
    expect(r.created_at).toBe(new Date(at).toISOString());
    expect(at).toBeGreaterThanOrEqual(before - 5);
    expect(at).toBeLessThanOrEqual(Date.now() + 5);
    const got = await ok(call(s, 'GET', `/llm/interaction/${r.id}`));
    expect(got).toEqual({ id: r.id, created_at: r.created_at, ...req });
    expect(await ok(call(s, 'DELETE', `/llm/interaction/${r.id}`))).toEqual({ success: true, id: r.id, deleted: true });
    expectError(await call(s, 'GET', `/llm/interaction/${r.id}`), 404, 'NOT_FOUND');
    expectError(await call(s, 'DELETE', `/llm/interaction/${r.id}`), 404, 'NOT_FOUND');
    expectError(await call(s, 'GET', '/llm/interaction/not-an-id'), 404, 'NOT_FOUND');
    expectError(await call(s, 'GET', '/llm/interaction/0190a0a0-0000-7000-8000-000000000000'), 404, 'NOT_FOUND');
  });

  it('refuses invalid shapes with 400 VALIDATION_FAILED naming the field', async () => {
    const good = body('m', 'hi');
    const cases: [unknown, string][] = [
      [{ messages: good.messages }, 'model'],
      [{ ...good, model: '' }, 'model'],
      [{ ...good, model: 'x'.repeat(257) }, 'model'],
      [{ model: 'm' }, 'messages'],
      [{ ...good, messages: [] }, 'messages'],
      [{ ...good, messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role'],
      [{ ...good, messages: [{ role: 'user' }] }, 'messages.0.content'],
      [{ ...good, messages: [{ role: 'user', content: 5 }] }, 'messages.0.content'],
      [
        {
          ...good,
          messages: [
            { role: 'user', content: 'x' },
            { role: 'tool', content: 'r' },
          ],
        },
        'messages.1.tool_call_id',
      ],
      [{ ...good, usage: { prompt_tokens: -1 } }, 'usage.prompt_tokens'],
      [{ ...good, usage: { total_tokens: 1.5 } }, 'usage.total_tokens'],
      [{ ...good, metadata: 'abc' }, 'metadata'],
      [{ ...good, metadata: { session_id: 7 } }, 'metadata.session_id'],
      [{ ...good, reasoning_steps: [1] }, 'reasoning_steps.0'],
      [{ ...good, id: 'mine' }, 'id'],
      [{ ...good, created_at: '2020-01-01T00:00:00Z' }, 'created_at'],
    ];
    for (const [b, field] of cases) expectError(await call(s, 'POST', '/llm/interaction', b), 400, 'VALIDATION_FAILED', field);
    expectError(await call(s, 'GET', '/llm/interaction?limit=0'), 400, 'VALIDATION_FAILED', 'limit');
    expectError(await call(s, 'GET', '/llm/interaction?limit=1001'), 400, 'VALIDATION_FAILED', 'limit');
    expectError(await call(s, 'GET', '/llm/interaction?order=sideways'), 400, 'VALIDATION_FAILED', 'order');
    expectError(await call(s, 'GET', '/llm/interaction?after=nope'), 400, 'VALIDATION_FAILED', 'after');
    expectError(await call(s, 'GET', '/llm/interaction?start=yesterday'), 400, 'VALIDATION_FAILED', 'start');
  });

  it('filters by model, session_id and creation time (start/end inclusive, epoch ms or ISO)', async () => {
    const tag = randomBytes(3).toString('hex');
    const a = await create(body(`fm-${tag}`, 'a', { session_id: `s1-${tag}` }));
    await sleep(15);
    const b = await create(body(`fm-${tag}`, 'b', { session_id: `s2-${tag}` }));
    await sleep(15);
    const c = await create(body(`other-${tag}`, 'c', { session_id: `s1-${tag}` }));
    const ids = (p: { items: Interaction[] }) => p.items.map((x) => x.id);
    expect(ids(await page(`model=fm-${tag}`))).toEqual([b.id, a.id]);
    expect(ids(await page(`model=fm-${tag}&order=asc`))).toEqual([a.id, b.id]);
    expect(ids(await page(`session_id=s1-${tag}`))).toEqual([c.id, a.id]);
    expect(ids(await page(`session_id=s1-${tag}&model=other-${tag}`))).toEqual([c.id]);
    expect(ids(await page('session_id=no-such-session'))).toEqual([]);
    const bMs = Date.parse(b.created_at as string);
    expect(ids(await page(`start=${bMs}&end=${bMs}`))).toEqual([b.id]);
    expect(ids(await page(`start=${encodeURIComponent(b.created_at as string)}&model=fm-${tag}`))).toEqual([b.id]);
    expect(ids(await page(`end=${bMs}&model=fm-${tag}&order=asc`))).toEqual([a.id, b.id]);
    expect(ids(await page(`start=${bMs}`))).toEqual([c.id, b.id]);
    expect(ids(await page(`start=${bMs + 1}&end=${bMs}`))).toEqual([]);
    // A filtered page of 1 still pages: next leads to the rest.
    const p1 = await page(`model=fm-${tag}&limit=1`);
    expect(ids(p1)).toEqual([b.id]);
    expect(p1.next).toBe(b.id);
    const p2 = await page(`model=fm-${tag}&limit=1&after=${p1.next}`);
    expect(ids(p2)).toEqual([a.id]);
    expect(p2.next).toBeUndefined();
  });

  it('finds interactions by message text with /search/fulltext (index made on first use)', async () => {
    const r = await create(body('ft', 'Explain MVCC snapshots to a platypus'));
    const ix = await ok(call(s, 'GET', '/index/stats'));
    expect(JSON.stringify(ix)).toContain('_llm_interactions');
    const hits = await ok(call(s, 'POST', '/search/fulltext', { table: '_llm_interactions', column: 'content', query: 'platypus' }));
    expect((hits.hits as { key: string }[]).map((h) => h.key)).toEqual([`_llm_interactions:${r.id}`]);
    const both = await ok(call(s, 'POST', '/search/fulltext', { table: '_llm_interactions', column: 'content', query: 'platypus MVCC' }));
    expect(both.total).toBe(1);
    // The derived field is not part of the API's view.
    expect((await ok(call(s, 'GET', `/llm/interaction/${r.id}`))).content).toBeUndefined();
    await ok(call(s, 'DELETE', `/llm/interaction/${r.id}`));
    const gone = await ok(call(s, 'POST', '/search/fulltext', { table: '_llm_interactions', column: 'content', query: 'platypus' }));
    expect(gone.total).toBe(0);
  });

  it('applies a PII policy on the table to message content (stored, indexed and returned pseudonymized)', async () => {
    await ok(call(s, 'PUT', '/pii/policy/_llm_interactions', { fields: ['messages.content'], action: 'pseudonymize' }));
    const local = `wombat${randomBytes(3).toString('hex')}`;
    const mail = `${local}@example.org`;
    const r = await create(body('pii', `Mail ${mail} the summary`));
    const got = (await ok(call(s, 'GET', `/llm/interaction/${r.id}`))) as unknown as Interaction;
    expect(got.messages[1]!.content).toMatch(/^Mail \[EMAIL:[0-9a-f-]{36}\] the summary$/);
    expect(JSON.stringify(got)).not.toContain(mail);
    // The indexed `content` derives from the pseudonymized messages: the raw value is nowhere in the document.
    const raw = await ok(call(s, 'GET', `/entities/_llm_interactions:${r.id}`));
    expect(raw.blob as string).not.toContain(local);
    expect(raw.blob as string).toContain('[EMAIL:');
    const hits = await ok(call(s, 'POST', '/search/fulltext', { table: '_llm_interactions', column: 'content', query: local }));
    expect(hits.total).toBe(0);
    await ok(call(s, 'DELETE', '/pii/policy/_llm_interactions'));
  });

  it('keeps interactions immutable: other writers cannot put into the table (403), deletes are allowed', async () => {
    const r = await create(body('imm', 'immutable'));
    const key = `_llm_interactions:${r.id}`;
    const put = await call(s, 'PUT', `/entities/${key}`, { blob: JSON.stringify({ model: 'forged', messages: [] }) });
    expectError(put, 403, 'FORBIDDEN');
    expect(put.body.table).toBe('_llm_interactions');
    expectError(await call(s, 'POST', '/entities', { key: `_llm_interactions:forged`, blob: '{}' }), 403, 'FORBIDDEN');
    expectError(
      await call(s, 'POST', '/query/aql', { query: `UPDATE "${r.id}" WITH {model: "forged"} IN _llm_interactions` }),
      403,
      'FORBIDDEN',
    );
    expect(((await ok(call(s, 'GET', `/llm/interaction/${r.id}`))) as unknown as Interaction).model).toBe('imm');
    await ok(call(s, 'DELETE', `/entities/${key}`));
    expectError(await call(s, 'GET', `/llm/interaction/${r.id}`), 404, 'NOT_FOUND');
  });

  it('audits creates and reads under the interaction id', async () => {
    const r = await create(body('audited', 'audit me'));
    await ok(call(s, 'GET', `/llm/interaction/${r.id}`));
    const entries = await waitFor(async () => {
      const a = await ok(call(s, 'GET', `/api/audit?entity_id=${r.id}`));
      return (a.entries ?? a.items ?? a.logs) as Body[] | undefined;
    });
    const actions = (entries ?? []).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['LLM_INTERACTION_CREATE', 'LLM_INTERACTION_READ']));
  });

  it('is a built-in retention collection: a policy deletes interactions older than its age, by their creation time', async () => {
    expectError(
      await call(s, 'PUT', '/api/retention/_llm_interactions', { retention_days: 1, timestamp_field: 'created_at', auto_deletion: false }),
      400,
      'VALIDATION_FAILED',
      'timestamp_field',
    );
    const old = await create(body('ret', 'old one'));
    await sleep(3_500);
    const young = await create(body('ret', 'young one'));
    const total = (await page('limit=1000&order=asc')).items.length; // < 1000 here
    const p = await ok(call(s, 'PUT', '/api/retention/_llm_interactions', { retention_days: 3 / 86_400, auto_deletion: false }));
    expect(p).toMatchObject({ collection: '_llm_interactions', kind: 'builtin' });
    const run = await ok(call(s, 'POST', '/api/retention/_llm_interactions/run'));
    expect(run.deleted).toBe(total - 1);
    expectError(await call(s, 'GET', `/llm/interaction/${old.id}`), 404, 'NOT_FOUND');
    expect((await ok(call(s, 'GET', `/llm/interaction/${young.id}`))).id).toBe(young.id);
    expect((await page('')).items.map((x) => x.id)).toEqual([young.id]);
    await ok(call(s, 'DELETE', '/api/retention/_llm_interactions'));
  });

  it('keeps interactions, order and the fulltext index across a restart', async () => {
    const a = await create(body('restart', 'quokka before the restart'));
    const b = await create(body('restart', 'second quokka'));
    expect(await s.stop()).toBe(0);
    s = await startServer({ dataDir: s.dataDir });
    expect((await ok(call(s, 'GET', `/llm/interaction/${a.id}`))).model).toBe('restart');
    expect((await page('model=restart')).items.map((x) => x.id)).toEqual([b.id, a.id]);
    const hits = await ok(call(s, 'POST', '/search/fulltext', { table: '_llm_interactions', column: 'content', query: 'quokka' }));
    expect(hits.total).toBe(2);
    const c = await create(body('restart', 'after'));
    expect((await page('model=restart')).items.map((x) => x.id)).toEqual([c.id, b.id, a.id]);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  let v: T | undefined;
  while (Date.now() < end) {
    v = await probe();
    if (Array.isArray(v) && v.length >= 2) return v;
    await sleep(50);
  }
  return v;
}
