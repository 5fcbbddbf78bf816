/** The pure parts of the client subcommands (src/client-cli/format.ts): bind variables, rows, the table. */
import { describe, expect, it } from 'vitest';
import { UsageError, asRow, cell, parseBinds, renderTable } from '../../src/client-cli/format.js';

describe('parseBinds', () => {
  it('reads JSON values where they parse, else the text; --bind wins over --bind-json', () => {
    expect(
      parseBinds(['age=30', 'city=Berlin', 'ok=true', 'tags=["a"]', '@coll=users', 'eq=a=b', 'empty='], '{"age": 1, "x": null}'),
    ).toEqual({
      age: 30,
      x: null,
      city: 'Berlin',
      ok: true,
      tags: ['a'],
      '@coll': 'users',
      eq: 'a=b',
      empty: '',
    });
  });

  it('refuses malformed input as usage errors', () => {
    expect(() => parseBinds(['novalue'], undefined)).toThrow(UsageError);
    expect(() => parseBinds(['=1'], undefined)).toThrow(/name=value/);
    expect(() => parseBinds([], '{')).toThrow(/not valid JSON/);
    expect(() => parseBinds([], '[1]')).toThrow(/must be a JSON object/);
  });
});

describe('asRow', () => {
  it('parses a document text into its object and leaves other values alone', () => {
    expect(asRow('{"a":1}')).toEqual({ a: 1 });
    expect(asRow('{not json')).toBe('{not json');
    expect(asRow('plain')).toBe('plain');
    expect(asRow(5)).toBe(5);
    expect(asRow(['{"a":1}'])).toEqual(['{"a":1}']);
  });
});

describe('cell', () => {
  it('shows strings raw, other values as JSON, on one line, cut with an ellipsis', () => {
    expect(cell('abc', 10)).toBe('abc');
    expect(cell(null, 10)).toBe('null');
    expect(cell(undefined, 10)).toBe('');
    expect(cell({ a: [1] }, 10)).toBe('{"a":[1]}');
    expect(cell('a\nb\tc', 10)).toBe('a\\nb c');
    expect(cell('abcdefghijkl', 6)).toBe('abcde…');
    expect(cell('ääääääää', 4)).toBe('äää…');
  });
});

describe('renderTable', () => {
  it('takes the columns from the union of the object keys, in first-seen order', () => {
    expect(
      renderTable([
        { a: 1, b: 'x' },
        { c: true, a: 22 },
      ]),
    ).toBe(['a  | b | c', '---+---+-----', '1  | x |', '22 |   | true', ''].join('\n'));
  });

  it('puts scalars into a value column, also beside objects', () => {
    expect(renderTable([1, 'two'])).toBe(['value', '-----', '1', 'two', ''].join('\n'));
    expect(renderTable([{ a: 1 }, 7])).toBe(['a | value', '--+------', '1 |', '  | 7', ''].join('\n'));
    expect(renderTable([{ value: 1 }, 2])).toBe(['value | (value)', '------+--------', '1     |', '      | 2', ''].join('\n'));
  });
});
