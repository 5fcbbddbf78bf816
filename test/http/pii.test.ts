import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Body, call, expectError, ok, type StartedServer, startServer } from '../helpers/server.js';
import { dataBytes } from '../helpers/files.js';

/**
 * PII (issue 17, docs/pii.md), black-box: classification and its rules,
 * the vault (pseudonymize, reveal, soft/hard delete, restore), table
 * policies on every write path, restart persistence, and that no value
 * reaches the data directory or the logs in clear.
 */

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const TOKEN = (label: string) => new RegExp(`^\\[${label}:(${UUID})\\]$`);
/** An email nobody else writes (grep-able; no repeats for LevelDB's compression to fold). */
const email = () => `p${randomBytes(6).toString('hex')}@mail-${randomBytes(3).toString('hex')}.de`;
const uuidOf = (token: string) => /:([0-9a-f-]{36})\]/.exec(token)?.[1] ?? '';

async function keyWith(s: StartedServer, permissions: string[]): Promise<Record<string, string>> {
  const b = await ok(call(s, 'POST', '/api/keys', { name: `k-${permissions.join('-')}`, permissions }), 201);
  return { authorization: `Bearer ${b.secret as string}` };
}

const doc = async (s: StartedServer, key: string) => JSON.parse((await ok(call(s, 'GET', `/entities/${key}`))).blob as string);

describe('PII over HTTP', () => {
  let s: StartedServer;
  /** Every PII value written to the server by these tests (must never be found in clear). */
  const secrets: string[] = [];
  beforeAll(async () => {
    s = await startServer({ env: { THEMIS_CLASSIFY_MAX_BYTES: '4096', THEMIS_LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  describe('classification', () => {
    it('answers the contract example: categories, values, UTF-16 offsets, summary', async () => {
      const text = 'Kontakt: Max Mustermann, max@example.com, +49 30 1234567';
      const b = await ok(call(s, 'POST', '/api/classify', { text, include_positions: true }));
      expect(b.contains_pii).toBe(true);
      const matches = b.matches as { category: string; value: string; confidence: number; start_pos: number; end_pos: number }[];
      expect(matches.map((m) => [m.category, m.value])).toEqual([
        ['name', 'Max Mustermann'],
        ['email', 'max@example.com'],
        ['phone', '+49 30 1234567'],
      ]);
      for (const m of matches) {
        expect(text.slice(m.start_pos, m.end_pos)).toBe(m.value);
        expect(m.confidence).toBeGreaterThan(0.5);
        expect(m.confidence).toBeLessThanOrEqual(1);
      }
      expect(b.summary).toEqual({ total_matches: 3, categories_found: ['name', 'email', 'phone'], risk_level: 'high' });
    });

    it('offsets count UTF-16 units (emoji and umlauts before a value)', async () => {
      const text = 'Grüße 😀😀 — schreib an joerg.müller@example.org bitte';
      const b = await ok(call(s, 'POST', '/api/classify', { text }));
      const m = (b.matches as { value: string; start_pos: number; end_pos: number }[])[0]!;
      expect(text.slice(m.start_pos, m.end_pos)).toBe(m.value);
      expect(m.value).toBe('joerg.müller@example.org');
    });

    it('include_positions false, categories, language; risk levels none/low/medium/high', async () => {
      const b = await ok(call(s, 'POST', '/api/classify', { text: 'mail an a.b@example.com', include_positions: false }));
      expect(b.matches).toEqual([{ category: 'email', value: 'a.b@example.com', confidence: expect.any(Number) }]);
      expect((b.summary as Body).risk_level).toBe('medium');
      const only = await ok(call(s, 'POST', '/api/classify', { text: 'IBAN DE89 3704 0044 0532 0130 00, a@b.de', categories: ['iban'] }));
      expect((only.matches as Body[]).map((m) => m.category)).toEqual(['iban']);
      expect((only.summary as Body).risk_level).toBe('high');
      const none = await ok(call(s, 'POST', '/api/classify', { text: 'Die Rechnung 2024-118 kommt im Mai.', language: 'de' }));
      expect(none).toMatchObject({
        contains_pii: false,
        matches: [],
        summary: { total_matches: 0, categories_found: [], risk_level: 'none' },
      });
      const low = await ok(call(s, 'POST', '/api/classify', { text: 'request from 192.168.17.4 refused' }));
      expect((low.summary as Body).risk_level).toBe('low');
    });

    it('bad input: 400 for missing/non-string text, unknown category or language; 413 over THEMIS_CLASSIFY_MAX_BYTES', async () => {
      expectError(await call(s, 'POST', '/api/classify', {}), 400, 'VALIDATION_FAILED', 'text');
      expectError(await call(s, 'POST', '/api/classify', { text: 42 }), 400, 'VALIDATION_FAILED', 'text');
      expectError(await call(s, 'POST', '/api/classify', { text: 'x', categories: ['shoe_size'] }), 400, 'VALIDATION_FAILED', 'categories');
      expectError(await call(s, 'POST', '/api/classify', { text: 'x', language: 'fr' }), 400, 'VALIDATION_FAILED', 'language');
      expectError(await call(s, 'POST', '/api/classify', '{"text": '), 400, 'INVALID_JSON');
      expectError(await call(s, 'POST', '/api/classify', { text: 'ä'.repeat(2049) }), 413, 'PAYLOAD_TOO_LARGE');
      expect((await ok(call(s, 'POST', '/api/classify', { text: 'a'.repeat(4096) }))).contains_pii).toBe(false);
    });

    it('permissions: classify:read classifies and lists rules; other keys get 403; rules PUT is admin only', async () => {
      const reader = await keyWith(s, ['classify:read']);
      const other = await keyWith(s, ['data:read']);
      await ok(call(s, 'POST', '/api/classify', { text: 'a@b.de' }, reader));
      await ok(call(s, 'GET', '/api/classify', undefined, reader));
      expectError(await call(s, 'POST', '/api/classify', { text: 'a@b.de' }, other), 403, 'FORBIDDEN');
      expectError(await call(s, 'PUT', '/api/classify/rules', { rules: [] }, reader), 403, 'FORBIDDEN');
    });

    it('GET lists the rules; PUT disables a built-in and adds a custom RE2 rule; bad rules are 400 and change nothing', async () => {
      const g = await ok(call(s, 'GET', '/api/classify'));
      expect(g.supported_languages).toEqual(['de', 'en']);
      expect(g.nlp_enabled).toBe(false);
      const rules = g.rules as { id: string; category: string; enabled: boolean; builtin: boolean; pattern?: string; method?: string }[];
      const cats = new Set(rules.map((r) => r.category));
      for (const c of ['email', 'phone', 'iban', 'credit_card', 'name', 'address', 'ip_address', 'date_of_birth'])
        expect(cats).toContain(c);
      for (const r of rules) {
        expect(r.builtin).toBe(true);
        expect(r.enabled).toBe(true);
        expect(r.pattern ?? r.method).toBeTruthy();
      }
      const phoneRules = rules.filter((r) => r.category === 'phone').map((r) => ({ id: r.id, enabled: false }));
      const put = await ok(
        call(s, 'PUT', '/api/classify/rules', {
          rules: [...phoneRules, { id: 'employee_id', category: 'employee_id', pattern: 'EMP-[0-9]{6}', confidence: 0.9 }],
        }),
      );
      const after = put.rules as { id: string; enabled: boolean; builtin: boolean; category: string }[];
      expect(after.find((r) => r.id === 'employee_id')).toMatchObject({ builtin: false, enabled: true, category: 'employee_id' });
      for (const p of phoneRules) expect(after.find((r) => r.id === p.id)?.enabled).toBe(false);
      const text = 'Ruf an: +49 30 1234567, Ausweis EMP-123456.';
      const b = await ok(call(s, 'POST', '/api/classify', { text }));
      expect(b.matches).toEqual([{ category: 'employee_id', value: 'EMP-123456', confidence: 0.9, start_pos: 32, end_pos: 42 }]);
      expect((b.summary as Body).risk_level).toBe('low');
      for (const bad of [
        { rules: [{ id: 'nope_not_a_rule', enabled: false }] },
        { rules: [{ id: 'x1', category: 'x', pattern: '(a' }] },
        { rules: [{ id: 'x2', category: 'x', pattern: '(a)\\1' }] },
        { rules: [{ id: 'x3', category: 'x', pattern: 'a*' }] },
        { rules: [{ id: 'x4', pattern: 'abc' }] },
        { rules: [{ id: 'email', category: 'x', pattern: 'abc' }] },
        {
          rules: [
            { id: 'x5', category: 'x', pattern: 'a' },
            { id: 'x5', category: 'x', pattern: 'b' },
          ],
        },
      ]) {
        const r = await call(s, 'PUT', '/api/classify/rules', bad);
        expectError(r, 400, 'VALIDATION_FAILED', 'rules');
      }
      const still = (await ok(call(s, 'GET', '/api/classify'))).rules as { id: string }[];
      expect(still.map((r) => r.id)).toEqual(after.map((r) => r.id));
      // A pathological pattern runs in linear time (RE2): the server answers at once.
      await ok(call(s, 'PUT', '/api/classify/rules', { rules: [{ id: 'evil', category: 'x', pattern: '(a+)+$' }] }));
      const t0 = Date.now();
      await ok(call(s, 'POST', '/api/classify', { text: `${'a'.repeat(4000)}!` }));
      expect(Date.now() - t0).toBeLessThan(2000);
      await ok(call(s, 'PUT', '/api/classify/rules', { rules: [] }));
      expect(((await ok(call(s, 'GET', '/api/classify'))).rules as { builtin: boolean }[]).every((r) => r.builtin)).toBe(true);
    });
  });

  describe('vault', () => {
    it('pseudonymize replaces values by tokens; equal values share a uuid per scope; GET reveals (pii:reveal), audited', async () => {
      const a = email();
      secrets.push(a);
      const text = `Bitte an ${a} schreiben, Kopie an ${a}.`;
      const b = await ok(call(s, 'POST', '/pii/pseudonymize', { text }));
      const reps = b.replacements as {
        uuid: string;
        category: string;
        start_pos: number;
        end_pos: number;
        original_start_pos: number;
        original_end_pos: number;
      }[];
      expect(reps).toHaveLength(2);
      expect(reps[0]!.uuid).toBe(reps[1]!.uuid);
      expect(reps[0]!.uuid).toMatch(new RegExp(`^${UUID}$`));
      const out = b.text as string;
      expect(out).toBe(`Bitte an [EMAIL:${reps[0]!.uuid}] schreiben, Kopie an [EMAIL:${reps[0]!.uuid}].`);
      for (const r of reps) {
        expect(out.slice(r.start_pos, r.end_pos)).toBe(`[EMAIL:${r.uuid}]`);
        expect(text.slice(r.original_start_pos, r.original_end_pos)).toBe(a);
      }
      expect(b.scope).toBe('default');
      // the same value again: the same uuid; another scope: another uuid; tokens in the text stay as they are
      const again = await ok(call(s, 'POST', '/pii/pseudonymize', { text: `${out} ${a}` }));
      expect(again.text).toBe(`${out} [EMAIL:${reps[0]!.uuid}]`);
      const other = await ok(call(s, 'POST', '/pii/pseudonymize', { text: a, scope: 'tenant-b' }));
      expect((other.replacements as { uuid: string }[])[0]!.uuid).not.toBe(reps[0]!.uuid);

      const revealer = await keyWith(s, ['pii:reveal']);
      const writer = await keyWith(s, ['data:write']);
      expect(await ok(call(s, 'GET', `/pii/${reps[0]!.uuid}`, undefined, revealer))).toEqual({
        uuid: reps[0]!.uuid,
        category: 'email',
        value: a,
      });
      expectError(await call(s, 'GET', `/pii/${reps[0]!.uuid}`, undefined, writer), 403, 'FORBIDDEN');
      await ok(call(s, 'POST', '/pii/pseudonymize', { text: 'x@y.de' }, writer));
      expectError(await call(s, 'POST', '/pii/pseudonymize', { text: 'x@y.de' }, revealer), 403, 'FORBIDDEN');
      // the reveal is in the audit log, with the uuid and never the value
      const log = await ok(call(s, 'GET', '/api/audit?action=PII_REVEAL&page_size=100'));
      const entries = log.entries as Body[];
      expect(entries.some((e) => e.entityId === reps[0]!.uuid && e.entityType === 'pii' && e.success === true)).toBe(true);
      expect(entries.some((e) => e.entityId === reps[0]!.uuid && e.statusCode === 403)).toBe(true);
      expect(JSON.stringify(await ok(call(s, 'GET', '/api/audit?page_size=1000')))).not.toContain(a);
    });

    it('soft delete hides (404), restore brings back (admin), hard delete erases for good; a re-written value gets a new uuid', async () => {
      const a = email();
      secrets.push(a);
      const uuid = ((await ok(call(s, 'POST', '/pii/pseudonymize', { text: a }))).replacements as { uuid: string }[])[0]!.uuid;
      const deleter = await keyWith(s, ['pii:delete']);
      expect(await ok(call(s, 'DELETE', `/pii/${uuid}`, undefined, deleter))).toEqual({ status: 'ok', mode: 'soft', uuid, updated: true });
      expect(await ok(call(s, 'DELETE', `/pii/${uuid}?mode=soft`, undefined, deleter))).toMatchObject({ updated: false });
      expectError(await call(s, 'GET', `/pii/${uuid}`), 404, 'NOT_FOUND');
      // pseudonymizing the value again keeps the (hidden) uuid
      expect((await ok(call(s, 'POST', '/pii/pseudonymize', { text: a }))).text).toBe(`[EMAIL:${uuid}]`);
      expectError(await call(s, 'POST', `/pii/${uuid}/restore`, undefined, deleter), 403, 'FORBIDDEN');
      expect(await ok(call(s, 'POST', `/pii/${uuid}/restore`))).toEqual({ status: 'ok', uuid, restored: true });
      expect((await ok(call(s, 'GET', `/pii/${uuid}`))).value).toBe(a);
      const before = await ok(call(s, 'GET', '/pii/stats'));
      expect(await ok(call(s, 'DELETE', `/pii/${uuid}?mode=hard`, undefined, deleter))).toEqual({
        status: 'ok',
        mode: 'hard',
        uuid,
        deleted: true,
      });
      expectError(await call(s, 'GET', `/pii/${uuid}`), 404, 'NOT_FOUND');
      expectError(await call(s, 'DELETE', `/pii/${uuid}?mode=hard`), 404, 'NOT_FOUND');
      expectError(await call(s, 'POST', `/pii/${uuid}/restore`), 404, 'NOT_FOUND');
      const after = await ok(call(s, 'GET', '/pii/stats'));
      expect(after.shredded).toBe((before.shredded as number) + 1);
      expect(after.records).toBe((before.records as number) - 1);
      const fresh = ((await ok(call(s, 'POST', '/pii/pseudonymize', { text: a }))).replacements as { uuid: string }[])[0]!.uuid;
      expect(fresh).not.toBe(uuid);
      expect((await ok(call(s, 'GET', `/pii/${fresh}`))).value).toBe(a);
      // the deletes are audited as PII_DELETE
      const log = (await ok(call(s, 'GET', '/api/audit?action=PII_DELETE&page_size=100'))).entries as Body[];
      expect(log.filter((e) => e.entityId === uuid && e.success === true).length).toBe(3);
    });

    it('unknown uuid 404, malformed uuid 400, bad mode 400', async () => {
      expectError(await call(s, 'GET', '/pii/00000000-0000-8000-8000-000000000000'), 404, 'NOT_FOUND');
      expectError(await call(s, 'DELETE', '/pii/00000000-0000-8000-8000-000000000000'), 404, 'NOT_FOUND');
      expectError(await call(s, 'GET', '/pii/not-a-uuid'), 400, 'VALIDATION_FAILED');
      expectError(await call(s, 'DELETE', '/pii/00000000-0000-8000-8000-000000000000?mode=gone'), 400, 'VALIDATION_FAILED', 'mode');
    });
  });

  describe('table policies', () => {
    it('PUT/GET/DELETE a policy; validation; admin only', async () => {
      const p = await ok(call(s, 'PUT', '/pii/policy/crud', { fields: ['email', 'contact.phone'], action: 'pseudonymize' }));
      expect(p).toMatchObject({
        table: 'crud',
        fields: ['email', 'contact.phone'],
        action: 'pseudonymize',
        categories: null,
        scope: 'default',
        language: 'auto',
      });
      expect(await ok(call(s, 'GET', '/pii/policy/crud'))).toEqual(p);
      expect(((await ok(call(s, 'GET', '/pii/policy'))).policies as Body[]).some((x) => x.table === 'crud')).toBe(true);
      expectError(await call(s, 'PUT', '/pii/policy/crud', { fields: [], action: 'pseudonymize' }), 400, 'VALIDATION_FAILED');
      expectError(await call(s, 'PUT', '/pii/policy/crud', { fields: 'all', action: 'pseudonymize' }), 400, 'VALIDATION_FAILED');
      expectError(await call(s, 'PUT', '/pii/policy/crud', { fields: 'auto', action: 'encrypt' }), 400, 'VALIDATION_FAILED', 'action');
      expectError(
        await call(s, 'PUT', '/pii/policy/crud', { fields: 'auto', action: 'detect', categories: ['shoe'] }),
        400,
        'VALIDATION_FAILED',
        'categories',
      );
      expectError(await call(s, 'PUT', '/pii/policy/bad%20name', { fields: 'auto', action: 'detect' }), 400, 'VALIDATION_FAILED', 'table');
      expectError(
        await call(s, 'PUT', '/pii/policy/crud', { fields: 'auto', action: 'detect' }, await keyWith(s, ['data:write'])),
        403,
        'FORBIDDEN',
      );
      expect(await ok(call(s, 'DELETE', '/pii/policy/crud'))).toEqual({ status: 'ok', table: 'crud', deleted: true });
      expectError(await call(s, 'GET', '/pii/policy/crud'), 404, 'NOT_FOUND');
      expectError(await call(s, 'DELETE', '/pii/policy/crud'), 404, 'NOT_FOUND');
    });

    it('pseudonymize applies on every write path; reads, indexes and the change feed see tokens; reveal gives the value', async () => {
      await ok(call(s, 'PUT', '/pii/policy/people', { fields: ['email', 'contact.phone', 'notes'], action: 'pseudonymize' }));
      await ok(call(s, 'POST', '/index/create', { table: 'people', column: 'email' }));

      const e = Array.from({ length: 8 }, email);
      secrets.push(...e);
      // 1. PUT /entities/{key}
      await ok(
        call(s, 'PUT', '/entities/people:put', {
          blob: JSON.stringify({ email: e[0], contact: { phone: '+49 30 1234567' }, city: 'Berlin' }),
        }),
        201,
      );
      // 2. POST /entities
      await ok(
        call(s, 'POST', '/entities', { key: 'people:post', blob: JSON.stringify({ email: e[1], notes: `Rückruf an ${e[2]} erbeten` }) }),
        201,
      );
      // 3. a batch transaction
      await ok(call(s, 'POST', '/transaction', { operations: [{ op: 'put', key: 'people:batch', blob: { email: e[3] } }] }));
      // 4. an explicit transaction
      const txn = (await ok(call(s, 'POST', '/transaction/begin', {}))).transaction_id as number;
      await ok(call(s, 'PUT', '/entities/people:txn', { blob: JSON.stringify({ email: e[4] }) }, { 'X-Transaction-Id': String(txn) }), 201);
      await ok(call(s, 'POST', '/transaction/commit', { transaction_id: txn }));
      // 5. AQL INSERT and UPDATE
      await ok(call(s, 'POST', '/query/aql', { query: 'INSERT { _key: "aql", email: @e } INTO people', bind_vars: { e: e[5] } }));
      await ok(
        call(s, 'POST', '/query/aql', { query: 'UPDATE { _key: "put" } WITH { notes: @n } IN people', bind_vars: { n: `neu: ${e[6]}` } }),
      );
      // 6. vector inserts
      await ok(call(s, 'POST', '/vector/index/create', { name: 'people_vec', table: 'people', dimension: 2 }), 201);
      const v = await ok(
        call(s, 'POST', '/vector/batch_insert', { index: 'people_vec', items: [{ pk: 'vec', vector: [1, 0], fields: { email: e[7] } }] }),
      );
      expect(v.inserted).toBe(1);

      const keys = ['put', 'post', 'batch', 'txn', 'aql', 'vec'];
      const docs = Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await doc(s, `people:${k}`)])));
      expect(docs.put.email).toMatch(TOKEN('EMAIL'));
      expect(docs.put.contact.phone).toMatch(TOKEN('PHONE'));
      expect(docs.put.city).toBe('Berlin');
      expect(docs.put.notes).toMatch(new RegExp(`^neu: \\[EMAIL:${UUID}\\]$`));
      expect(docs.post.email).toMatch(TOKEN('EMAIL'));
      expect(docs.post.notes).toMatch(new RegExp(`^Rückruf an \\[EMAIL:${UUID}\\] erbeten$`));
      for (const k of ['batch', 'txn', 'aql', 'vec']) expect(docs[k].email, k).toMatch(TOKEN('EMAIL'));
      // each token reveals its value
      const pairs: [string, string][] = [
        [docs.put.email, e[0]!],
        [docs.post.email, e[1]!],
        [docs.batch.email, e[3]!],
        [docs.txn.email, e[4]!],
        [docs.aql.email, e[5]!],
        [docs.vec.email, e[7]!],
        [docs.put.contact.phone, '+49 30 1234567'],
      ];
      for (const [token, value] of pairs) expect((await ok(call(s, 'GET', `/pii/${uuidOf(token)}`))).value).toBe(value);
      // an equality query on the token (deterministic pseudonyms) finds the document through the index
      const q = await ok(
        call(s, 'POST', '/query', { table: 'people', predicates: [{ column: 'email', value: docs.batch.email }], return: 'keys' }),
      );
      expect(q.keys).toEqual(['people:batch']);
      const again = await ok(
        call(s, 'POST', '/query/aql', { query: 'FOR p IN people FILTER p.email == @t RETURN p._key', bind_vars: { t: docs.aql.email } }),
      );
      expect(again.entities).toEqual(['aql']);
      // the change feed carries tokens only
      const feed = JSON.stringify(await ok(call(s, 'GET', '/changefeed?from_seq=0&limit=10000&long_poll_ms=0')));
      expect(feed).toContain('[EMAIL:');
      for (const x of e) expect(feed).not.toContain(x);
    });

    it("lookup: the pseudonym of a data subject's value finds their documents; erasing it makes all of them unrevealable", async () => {
      const a = email();
      secrets.push(a);
      await ok(call(s, 'PUT', '/entities/people:subject1', { blob: JSON.stringify({ email: a }) }), 201);
      await ok(call(s, 'PUT', '/entities/people:subject2', { blob: JSON.stringify({ notes: `Kopie an ${a}` }) }), 201);
      const revealer = await keyWith(s, ['pii:reveal']);
      const found = await ok(call(s, 'POST', '/pii/lookup', { category: 'email', value: a }, revealer));
      const token = (await doc(s, 'people:subject1')).email as string;
      expect(found).toEqual({ uuid: uuidOf(token), state: 'active', category: 'email', scope: 'default', token });
      const hits = await ok(
        call(s, 'POST', '/query/aql', {
          query: 'FOR p IN people FILTER p.email == @t OR CONTAINS(p.notes, @t) SORT p._key RETURN p._key',
          bind_vars: { t: found.token },
        }),
      );
      expect(hits.entities).toEqual(['subject1', 'subject2']);
      expectError(
        await call(s, 'POST', '/pii/lookup', { category: 'email', value: a }, await keyWith(s, ['data:write'])),
        403,
        'FORBIDDEN',
      );
      expectError(await call(s, 'POST', '/pii/lookup', { category: 'email', value: email() }), 404, 'NOT_FOUND');
      expectError(await call(s, 'POST', '/pii/lookup', { category: 'Email', value: a }), 400, 'VALIDATION_FAILED', 'category');
      expectError(await call(s, 'POST', '/pii/lookup', { category: 'email' }), 400, 'VALIDATION_FAILED', 'value');
      await ok(call(s, 'DELETE', `/pii/${found.uuid as string}?mode=hard`));
      expectError(await call(s, 'POST', '/pii/lookup', { category: 'email', value: a }), 404, 'NOT_FOUND');
      expectError(await call(s, 'GET', `/pii/${found.uuid as string}`), 404, 'NOT_FOUND');
      const log = (await ok(call(s, 'GET', '/api/audit?action=PII_LOOKUP&page_size=100'))).entries as Body[];
      expect(log.some((e) => e.entityId === found.uuid && e.success === true)).toBe(true);
    });

    it('a rolled-back transaction leaves no vault record; a key written twice keeps only its last value', async () => {
      await ok(call(s, 'PUT', '/pii/policy/rb', { fields: ['email'], action: 'pseudonymize' }));
      const before = (await ok(call(s, 'GET', '/pii/stats'))).records as number;
      const a = email();
      const b = email();
      const c = email();
      secrets.push(a, b, c);
      const txn = (await ok(call(s, 'POST', '/transaction/begin', {}))).transaction_id as number;
      await ok(call(s, 'PUT', '/entities/rb:1', { blob: JSON.stringify({ email: a }) }, { 'X-Transaction-Id': String(txn) }), 201);
      await ok(call(s, 'POST', '/transaction/rollback', { transaction_id: txn }));
      expect((await ok(call(s, 'GET', '/pii/stats'))).records).toBe(before);
      await ok(
        call(s, 'POST', '/transaction', {
          operations: [
            { op: 'put', key: 'rb:2', blob: { email: b } },
            { op: 'put', key: 'rb:2', blob: { email: c } },
          ],
        }),
      );
      expect((await ok(call(s, 'GET', '/pii/stats'))).records).toBe(before + 1);
      expect((await ok(call(s, 'GET', `/pii/${uuidOf((await doc(s, 'rb:2')).email)}`))).value).toBe(c);
    });

    it('reject refuses with 422 naming field and category (never the value); nothing of the request is applied', async () => {
      await ok(call(s, 'PUT', '/pii/policy/strict', { fields: 'auto', action: 'reject', categories: ['email', 'iban'] }));
      const a = email();
      secrets.push(a);
      const r = await call(s, 'PUT', '/entities/strict:1', {
        blob: JSON.stringify({ note: 'ok', nested: { list: ['fine', `mail ${a}`] } }),
      });
      expectError(r, 422, 'PII_DETECTED');
      expect(r.body).toMatchObject({ field: 'nested.list.1', category: 'email', table: 'strict' });
      expect(JSON.stringify(r.body)).not.toContain(a);
      expect((await call(s, 'GET', '/entities/strict:1')).status).toBe(404);
      const batch = await call(s, 'POST', '/transaction', {
        operations: [
          { op: 'put', key: 'strict:2', blob: { note: 'clean' } },
          { op: 'put', key: 'strict:3', blob: { iban: 'DE89 3704 0044 0532 0130 00' } },
        ],
      });
      expectError(batch, 422, 'PII_DETECTED');
      expect((await call(s, 'GET', '/entities/strict:2')).status).toBe(404);
      const aql = await call(s, 'POST', '/query/aql', { query: 'INSERT { x: @e } INTO strict', bind_vars: { e: a } });
      expectError(aql, 422, 'PII_DETECTED');
      await ok(call(s, 'PUT', '/entities/strict:4', { blob: JSON.stringify({ phone: '+49 30 1234567', note: 'no mail here' }) }), 201);
      expect((await doc(s, 'strict:4')).phone).toBe('+49 30 1234567');
    });

    it('detect stores as is and counts; /pii/stats and the compliance report show the figures', async () => {
      await ok(call(s, 'PUT', '/pii/policy/watch', { fields: 'auto', action: 'detect' }));
      await ok(call(s, 'PUT', '/entities/watch:1', { blob: JSON.stringify({ a: 'call +49 30 1234567', b: 'mail x@example.org' }) }), 201);
      await ok(call(s, 'PUT', '/entities/watch:2', { blob: JSON.stringify({ a: 'nothing personal' }) }), 201);
      await ok(call(s, 'PUT', '/entities/watch:3', { blob: JSON.stringify({ a: 'y@example.org' }) }), 201);
      expect((await doc(s, 'watch:1')).b).toBe('mail x@example.org');
      const st = await ok(call(s, 'GET', '/pii/stats'));
      expect((st.detected_in_writes as Body).watch).toEqual({ documents: 2, matches: { phone: 1, email: 2 } });
      expect(st).toMatchObject({ encryption_enabled: true, pseudonymization_active: true, key_source: 'generated' });
      const rep = await ok(call(s, 'GET', '/api/reports/compliance'));
      expect(rep.pii_processing).toMatchObject({
        total_pii_records: st.records,
        erased_records: st.shredded,
        pii_policies: st.policies,
        detected_in_writes: 2,
        pseudonymization_active: true,
        encryption_enabled: true,
      });
      expect((rep.pii_processing as Body).pii_access_events).toBeGreaterThan(0);
      expect((rep.pii_processing as Body).pii_deletion_events).toBeGreaterThan(0);
    });
  });

  it('after a restart: policies, rules, vault values and counts are back; the key file is 0600', async () => {
    await ok(call(s, 'PUT', '/api/classify/rules', { rules: [{ id: 'ticket', category: 'ticket', pattern: 'TCK-[0-9]{4}' }] }));
    const a = email();
    secrets.push(a);
    await ok(call(s, 'PUT', '/entities/people:restart', { blob: JSON.stringify({ email: a }) }), 201);
    const token = (await doc(s, 'people:restart')).email as string;
    const stats = await ok(call(s, 'GET', '/pii/stats'));
    expect(await s.stop()).toBe(0);
    const keyFile = path.join(s.dataDir, 'pii-master.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const logs = s.stdout() + s.stderr();
    s = await startServer({ dataDir: s.dataDir, env: { THEMIS_CLASSIFY_MAX_BYTES: '4096', THEMIS_LOG_LEVEL: 'debug' } });
    expect((await ok(call(s, 'GET', `/pii/${uuidOf(token)}`))).value).toBe(a);
    const st2 = await ok(call(s, 'GET', '/pii/stats'));
    expect({ ...st2, key_source: 'x' }).toEqual({ ...stats, key_source: 'x' });
    expect(st2.key_source).toBe('data-dir');
    expect((await ok(call(s, 'GET', '/pii/policy/people'))).fields).toEqual(['email', 'contact.phone', 'notes']);
    expect((await ok(call(s, 'POST', '/api/classify', { text: 'see TCK-1234' }))).matches).toMatchObject([
      { category: 'ticket', value: 'TCK-1234' },
    ]);
    // written again with the same value: the same token (the pseudonym key is derived from the same master key)
    await ok(call(s, 'PUT', '/entities/people:restart2', { blob: JSON.stringify({ email: a }) }), 201);
    expect((await doc(s, 'people:restart2')).email).toBe(token);
    expect(logs).toMatch(/PII master key is kept in the data directory/);
  });

  it('no PII value is in the data directory or the logs in clear (control: an unprotected value is found)', async () => {
    const control = email();
    await ok(call(s, 'PUT', '/entities/plain:1', { blob: JSON.stringify({ email: control }) }), 201);
    // Malformed JSON holding a value: the error (in the answer, the log and the audit entry) does not quote the input.
    for (const [body, code] of [
      [`{"blob": "{\\"email\\": LEAK}"}`, 'INVALID_BLOB'],
      ['{"text": LEAK}', 'INVALID_JSON'],
    ] as const) {
      // Short, so that V8 would quote all of it.
      const leak = `z${randomBytes(4).toString('hex')}`;
      secrets.push(`${leak}@x`);
      const r = await call(
        s,
        body.startsWith('{"blob"') ? 'PUT' : 'POST',
        body.startsWith('{"blob"') ? '/entities/people:bad' : '/api/classify',
        body.replace('LEAK', leak),
      );
      expectError(r, 400, code);
      expect(JSON.stringify(r.body)).not.toContain(leak);
    }
    expect(await s.stop()).toBe(0);
    const bytes = dataBytes(s.dataDir);
    const logs = s.stdout() + s.stderr();
    expect(bytes.includes(Buffer.from(control))).toBe(true);
    expect(secrets.length).toBeGreaterThanOrEqual(15);
    for (const x of secrets) {
      const local = x.split('@')[0]!;
      expect(bytes.includes(Buffer.from(local)), x).toBe(false);
      expect(logs.includes(local), x).toBe(false);
    }
    s = await startServer({ dataDir: s.dataDir });
  });
});

describe('PII master key', () => {
  it('THEMIS_PII_KEY: a vault written under one key refuses to start under another; a malformed key is refused', async () => {
    const key = randomBytes(32).toString('base64');
    const s = await startServer({ env: { THEMIS_PII_KEY: key } });
    try {
      await ok(call(s, 'POST', '/pii/pseudonymize', { text: 'a@example.com' }));
      expect((await ok(call(s, 'GET', '/pii/stats'))).key_source).toBe('env');
      expect(fs.existsSync(path.join(s.dataDir, 'pii-master.key'))).toBe(false);
      expect(await s.stop()).toBe(0);
      await expect(startServer({ dataDir: s.dataDir, env: { THEMIS_PII_KEY: randomBytes(32).toString('hex') } })).rejects.toThrow(
        /not the key this vault was written with/,
      );
      await expect(startServer({ dataDir: s.dataDir })).rejects.toThrow(/master key is missing/);
      await expect(startServer({ dataDir: s.dataDir, env: { THEMIS_PII_KEY: 'short' } })).rejects.toThrow(/pii key must be 32 bytes/);
      const back = await startServer({ dataDir: s.dataDir, env: { THEMIS_PII_KEY: key } });
      expect((await ok(call(back, 'GET', '/pii/stats'))).records).toBe(1);
      await back.stop();
    } finally {
      await s.stop();
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});
