import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePiiKey } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { loadMasterKey, PII_KEY_FILE, VaultKeys } from '../../src/pii/master-key.js';
import { decodeRecord, encodeRecord, open, seal } from '../../src/pii/record.js';
import { mapStrings, parsePath, replaceMatches } from '../../src/pii/rewrite.js';
import { riskLevel } from '../../src/pii/risk.js';
import { pseudonym, TOKEN, tokenOf, uuidBytes, uuidString } from '../../src/pii/tokens.js';
import { Vault } from '../../src/pii/vault.js';
import { Engine, keyspace } from '../../src/storage/index.js';
import { codeOf } from '../helpers/errors.js';
import { dataBytes } from '../helpers/files.js';

const log = createLogger('silent');
const key = () => new VaultKeys(randomBytes(32), 'env');

describe('vault records', () => {
  it('seal/open round-trips; another key, uuid or category, or a flipped bit, fails', () => {
    const k = key();
    const id = randomBytes(16);
    const sealed = seal('max@example.com', id, 'email', k.wrap);
    expect(sealed.includes(Buffer.from('max@example.com'))).toBe(false);
    expect(open(sealed, id, 'email', k.wrap)).toBe('max@example.com');
    expect(() => open(sealed, id, 'email', key().wrap)).toThrow();
    expect(() => open(sealed, randomBytes(16), 'email', k.wrap)).toThrow();
    expect(() => open(sealed, id, 'phone', k.wrap)).toThrow();
    for (const at of [0, 20, 40, 70, sealed.length - 1]) {
      const t = Buffer.from(sealed);
      t[at]! ^= 1;
      expect(() => open(t, id, 'email', k.wrap), `bit at ${at}`).toThrow();
    }
    // every value has its own data key: the same value sealed twice differs
    expect(seal('x', id, 'email', k.wrap).equals(seal('x', id, 'email', k.wrap))).toBe(false);
  });

  it('encode/decode keep state, category and times; a shredded record keeps only the header', () => {
    const sealed = seal('v', randomBytes(16), 'credit_card', key().wrap);
    const r = { state: 'soft_deleted' as const, category: 'credit_card', createdMs: 1.7e12, changedMs: 1.8e12, sealed };
    expect(decodeRecord(encodeRecord(r))).toEqual(r);
    const gone = encodeRecord({ ...r, state: 'shredded' });
    expect(decodeRecord(gone)).toEqual({ state: 'shredded', category: 'credit_card', createdMs: 1.7e12, changedMs: 1.8e12 });
    expect(gone.length).toBe(3 + 'credit_card'.length + 16);
    expect(() => decodeRecord(Buffer.of(9, 0, 0))).toThrow();
  });
});

describe('pseudonyms and tokens', () => {
  it('a keyed, deterministic version-8 uuid per scope, category, value and generation', () => {
    const k = randomBytes(32);
    const u = uuidString(pseudonym(k, 'default', 'email', 'a@b.de', 0));
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidString(pseudonym(k, 'default', 'email', 'a@b.de', 0))).toBe(u);
    for (const other of [
      pseudonym(randomBytes(32), 'default', 'email', 'a@b.de', 0),
      pseudonym(k, 'tenant', 'email', 'a@b.de', 0),
      pseudonym(k, 'default', 'name', 'a@b.de', 0),
      pseudonym(k, 'default', 'email', 'a@b.de ', 0),
      pseudonym(k, 'default', 'email', 'a@b.de', 1),
    ])
      expect(uuidString(other)).not.toBe(u);
    expect(uuidString(uuidBytes(u)!)).toBe(u);
    expect(uuidBytes('nope')).toBeUndefined();
    const t = tokenOf('credit_card', u);
    expect(t).toBe(`[CREDIT_CARD:${u}]`);
    expect([...`a ${t} b`.matchAll(TOKEN)].map((m) => m[2])).toEqual([u]);
  });

  it('replaceMatches puts tokens where the values were and reports both positions', () => {
    const text = 'x a@b.de y c@d.de';
    const m = (value: string, start: number) => ({
      category: 'email',
      value,
      confidence: 1,
      start,
      end: start + value.length,
      rule: 'email',
    });
    let n = 0;
    const out = replaceMatches(text, [m('a@b.de', 2), m('c@d.de', 11)], () => ({ uuid: `00000000-0000-8000-8000-00000000000${n++}` }));
    expect(out.text).toBe('x [EMAIL:00000000-0000-8000-8000-000000000000] y [EMAIL:00000000-0000-8000-8000-000000000001]');
    for (const r of out.replacements) {
      expect(out.text.slice(r.start_pos, r.end_pos)).toBe(`[EMAIL:${r.uuid}]`);
      expect(['a@b.de', 'c@d.de']).toContain(text.slice(r.original_start_pos, r.original_end_pos));
    }
  });

  it('mapStrings rewrites the named paths (arrays on the way) or every string, copying only what changed', () => {
    const doc = { a: 'x', keep: { deep: 'x' }, list: [{ p: 'x' }, { p: 1 }, { q: 'x' }], arr: ['x', 'y'] };
    const frozen = structuredClone(doc);
    const up = (s: string) => (s === 'x' ? 'X' : undefined);
    const out = mapStrings(doc, ['a', 'list.p', 'arr', 'missing.path'].map(parsePath), up) as typeof doc;
    expect(out).toEqual({ a: 'X', keep: { deep: 'x' }, list: [{ p: 'X' }, { p: 1 }, { q: 'x' }], arr: ['X', 'y'] });
    expect(doc).toEqual(frozen);
    expect(out.keep).toBe(doc.keep);
    expect(out.list[1]).toBe(doc.list[1]);
    const all = mapStrings(doc, 'auto', up);
    expect(all).toEqual({ a: 'X', keep: { deep: 'X' }, list: [{ p: 'X' }, { p: 1 }, { q: 'X' }], arr: ['X', 'y'] });
    expect(mapStrings(doc, 'auto', () => undefined)).toBe(doc);
    const paths: string[] = [];
    mapStrings(doc, 'auto', (_s, p) => void paths.push(p));
    expect(paths).toEqual(['a', 'keep.deep', 'list.0.p', 'list.2.q', 'arr.0', 'arr.1']);
  });

  it('risk levels follow the documented rules', () => {
    const m = (...cats: string[]) => cats.map((category) => ({ category, value: 'v', confidence: 1, start: 0, end: 1, rule: category }));
    expect(riskLevel([])).toBe('none');
    expect(riskLevel(m('ip_address'))).toBe('low');
    expect(riskLevel(m('employee_id'))).toBe('low');
    expect(riskLevel(m('email'))).toBe('medium');
    expect(riskLevel(m('name'))).toBe('medium');
    expect(riskLevel(m('email', 'phone'))).toBe('medium');
    expect(riskLevel(m('iban'))).toBe('high');
    expect(riskLevel(m('credit_card'))).toBe('high');
    expect(riskLevel(m('name', 'email'))).toBe('high');
    expect(riskLevel(m('email', 'phone', 'address'))).toBe('high');
  });
});

describe('master key', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-pii-key-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('THEMIS_PII_KEY as hex or base64; else a generated 0600 file, read back the next time; never generated over a vault with values', () => {
    const raw = randomBytes(32);
    expect(parsePiiKey(raw.toString('hex'))).toEqual(raw);
    expect(parsePiiKey(` ${raw.toString('base64')}\n`)).toEqual(raw);
    expect(parsePiiKey(raw.toString('base64url'))).toEqual(raw);
    for (const bad of ['', 'abc', randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), 'z'.repeat(64)])
      expect(() => parsePiiKey(bad)).toThrow(/32 bytes/);
    const env = loadMasterKey({ dataDir: dir, piiKey: raw.toString('hex'), mayGenerate: true });
    expect(env.source).toBe('env');
    expect(env.matches(new VaultKeys(raw, 'file').fingerprint)).toBe(true);
    expect(fs.existsSync(path.join(dir, PII_KEY_FILE))).toBe(false);
    expect(() => loadMasterKey({ dataDir: dir, mayGenerate: false })).toThrow(/master key is missing/);
    const made = loadMasterKey({ dataDir: dir, mayGenerate: true });
    expect(made.source).toBe('generated');
    expect(fs.statSync(path.join(dir, PII_KEY_FILE)).mode & 0o777).toBe(0o600);
    const again = loadMasterKey({ dataDir: dir, mayGenerate: false });
    expect(again.source).toBe('data-dir');
    expect(again.fingerprint).toBe(made.fingerprint);
    const file = path.join(dir, 'elsewhere.key');
    fs.writeFileSync(file, raw.toString('base64'));
    expect(loadMasterKey({ dataDir: dir, piiKeyFile: file, mayGenerate: false }).fingerprint).toBe(env.fingerprint);
    fs.writeFileSync(file, 'garbage');
    expect(() => loadMasterKey({ dataDir: dir, piiKeyFile: file, mayGenerate: false })).toThrow(/does not hold a 32-byte key/);
    expect(() => loadMasterKey({ dataDir: dir, piiKeyFile: path.join(dir, 'none'), mayGenerate: false })).toThrow(/cannot read/);
  });
});

describe('Vault over LevelDB', () => {
  let dir: string;
  let engine: Engine;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-pii-vault-'));
    engine = await Engine.open(dir, { sync: true });
  });
  afterEach(async () => {
    if (engine.isOpen) await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const store = async (v: Vault, category: string, value: string, scope = 'default') => {
    const p = v.pseudonymize(category, value, scope);
    await v.store(new Map(p.fresh ? [[p.uuid, p.fresh]] : []));
    return p.uuid;
  };

  it('stores, reveals, soft-deletes, restores; counts by state survive a reopen; a wrong key refuses to open', async () => {
    const keys = key();
    const v = await Vault.open(engine, keys, log);
    const u = await store(v, 'email', 'max@example.com');
    expect(v.pseudonymize('email', 'max@example.com', 'default')).toEqual({ uuid: u });
    expect(await v.reveal(u)).toEqual({ uuid: u, category: 'email', value: 'max@example.com' });
    expect(await v.reveal(u.toUpperCase())).toMatchObject({ uuid: u });
    await store(v, 'phone', '+49 30 1234567');
    expect(await v.softDelete(u)).toEqual({ updated: true, category: 'email' });
    expect(await codeOf(v.reveal(u))).toBe('NOT_FOUND');
    expect(v.size).toEqual({ active: 1, soft_deleted: 1, shredded: 0 });
    expect(await v.restore(u)).toEqual({ restored: true, category: 'email' });
    expect(await v.restore(u)).toEqual({ restored: false, category: 'email' });
    expect(await codeOf(v.reveal('00000000-0000-8000-8000-000000000000'))).toBe('NOT_FOUND');
    expect(await codeOf(v.reveal('zz'))).toBe('VALIDATION_FAILED');
    await engine.close();
    engine = await Engine.open(dir, { sync: true });
    const back = await Vault.open(engine, keys, log);
    expect(back.size).toEqual({ active: 2, soft_deleted: 0, shredded: 0 });
    expect((await back.reveal(u)).value).toBe('max@example.com');
    await expect(Vault.open(engine, key(), log)).rejects.toThrow(/not the key this vault was written with/);
  });

  it('hard delete crypto-shreds: wrapped key and ciphertext are gone from every LevelDB file; the uuid is never handed out again', async () => {
    const keys = key();
    const v = await Vault.open(engine, keys, log);
    const value = `secret-${randomBytes(8).toString('hex')}@example.com`;
    const u = await store(v, 'email', value);
    // many other records around it, and a flush to table files, so the record lives in an .ldb file too
    for (let i = 0; i < 2000; i++) await store(v, 'email', `other${i}@example.com`);
    await engine.compact(keyspace('pii'));
    const raw = (await engine.get(keyspace('pii'), Buffer.concat([Buffer.from('v'), uuidBytes(u)!])))!;
    const sealed = decodeRecord(raw).sealed!;
    const wrappedKey = sealed.subarray(28, 60);
    const ciphertext = sealed.subarray(88);
    const before = dataBytes(dir);
    // control: the search finds them while the value exists
    expect(before.includes(wrappedKey)).toBe(true);
    expect(before.includes(ciphertext)).toBe(true);
    expect(before.includes(Buffer.from(value))).toBe(false);
    expect(await v.hardDelete(u)).toEqual({ deleted: true, category: 'email' });
    expect(await codeOf(v.reveal(u))).toBe('NOT_FOUND');
    expect(await codeOf(v.hardDelete(u))).toBe('NOT_FOUND');
    expect(await codeOf(v.softDelete(u))).toBe('NOT_FOUND');
    expect(await codeOf(v.restore(u))).toBe('NOT_FOUND');
    await engine.close();
    const after = dataBytes(dir);
    expect(after.includes(wrappedKey)).toBe(false);
    expect(after.includes(ciphertext)).toBe(false);
    engine = await Engine.open(dir, { sync: true });
    const back = await Vault.open(engine, keys, log);
    expect(back.size).toEqual({ active: 2000, soft_deleted: 0, shredded: 1 });
    const next = back.pseudonymize('email', value, 'default');
    expect(next.uuid).not.toBe(u);
    expect(next.fresh).toBeDefined();
  });
});
