import { describe, expect, it } from 'vitest';
import { normalizeBlob, parseEntityKey } from '../../src/entities/index.js';
import { decodeEntityValue, encodeEntityValue } from '../../src/documents/codec.js';
import { codeOfSync as codeOf } from '../helpers/errors.js';

describe('parseEntityKey', () => {
  it('splits at the first colon; the pk may contain anything', () => {
    expect(parseEntityKey('users:123')).toEqual({ key: 'users:123', table: 'users', pk: '123' });
    expect(parseEntityKey('t_1-x:a:b/c d\u0000ü😀')).toMatchObject({ table: 't_1-x', pk: 'a:b/c d\u0000ü😀' });
  });

  it('rejects malformed keys with INVALID_KEY', () => {
    for (const bad of [
      'nocolon',
      ':pk',
      'table:',
      'bad table:1',
      'a.b:1',
      'ü:1',
      `${'t'.repeat(129)}:1`,
      `t:${'x'.repeat(5000)}`,
      't:\ud800',
    ]) {
      expect(
        codeOf(() => parseEntityKey(bad)),
        bad,
      ).toBe('INVALID_KEY');
    }
    expect(codeOf(() => parseEntityKey(42))).toBe('INVALID_KEY');
  });
});

describe('normalizeBlob', () => {
  it('keeps a JSON string byte for byte and measures UTF-8 size', () => {
    const text = '{ "name" : "Zoë" }';
    expect(normalizeBlob(text)).toEqual({ text, size: Buffer.byteLength(text), doc: { name: 'Zoë' } });
    expect(normalizeBlob(text).size).toBe(19);
  });

  it('serialises an object compactly', () => {
    expect(normalizeBlob({ a: [1, 2], b: { c: null } })).toMatchObject({ text: '{"a":[1,2],"b":{"c":null}}', size: 26 });
  });

  it('rejects blobs that are not JSON objects with INVALID_BLOB', () => {
    for (const bad of ['not json', '{"a":', '[1,2]', '42', 'null', '"str"', 42, null, [1], true]) {
      expect(
        codeOf(() => normalizeBlob(bad)),
        String(bad),
      ).toBe('INVALID_BLOB');
    }
  });
});

describe('entity value format', () => {
  it('round-trips and rejects unknown format bytes', () => {
    expect(decodeEntityValue(encodeEntityValue('{"ü":1}'))).toBe('{"ü":1}');
    expect(() => decodeEntityValue(Buffer.from([9, 1]))).toThrow(TypeError);
  });
});
