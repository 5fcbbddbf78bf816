import { describe, expect, it } from 'vitest';
import { aql, isAqlQuery } from '../src/index.js';

// The tag alone (no server): what text and bind variables it produces. client.test.ts runs such
// queries against a real server.
describe('aql template tag', () => {
  it('turns interpolations into bind variables, never into query text', () => {
    const minAge = 30;
    const name = '" || true || "';
    const q = aql`FOR u IN users FILTER u.age > ${minAge} AND u.name != ${name} RETURN u`;
    expect(q.query).toBe('FOR u IN users FILTER u.age > @value0 AND u.name != @value1 RETURN u');
    expect(q.bindVars).toEqual({ value0: 30, value1: name });
    expect(isAqlQuery(q)).toBe(true);
  });

  it('binds a collection as @@valueN with its name under "@valueN"', () => {
    const q = aql`FOR u IN ${aql.collection('users')} FILTER u.city == ${'Berlin'} RETURN u`;
    expect(q.query).toBe('FOR u IN @@value0 FILTER u.city == @value1 RETURN u');
    expect(q.bindVars).toEqual({ '@value0': 'users', value1: 'Berlin' });
  });

  it('binds the same value once and keeps objects and arrays as JSON values', () => {
    const tags = ['a', 'b'];
    const q = aql`RETURN [${tags}, ${tags}, ${{ x: 1 }}, ${null}, ${7}, ${7}]`;
    expect(q.query).toBe('RETURN [@value0, @value0, @value1, @value2, @value3, @value3]');
    expect(q.bindVars).toEqual({ value0: tags, value1: { x: 1 }, value2: null, value3: 7 });
  });

  it('splices nested fragments and renumbers their values; undefined leaves a fragment out', () => {
    const city = aql`FILTER u.city == ${'Berlin'}`;
    const age = aql`FILTER u.age >= ${18}`;
    const q = aql`FOR u IN ${aql.collection('users')} ${city} ${undefined} ${age} RETURN ${aql.literal('u.name')}`;
    expect(q.query).toBe('FOR u IN @@value0 FILTER u.city == @value1  FILTER u.age >= @value2 RETURN u.name');
    expect(q.bindVars).toEqual({ '@value0': 'users', value1: 'Berlin', value2: 18 });
  });

  it('joins fragments with a separator', () => {
    const filters = [aql`FILTER u.a == ${1}`, aql`FILTER u.b == ${2}`];
    const q = aql`FOR u IN users ${aql.join(filters, '\n')} RETURN u`;
    expect(q.query).toBe('FOR u IN users FILTER u.a == @value0\nFILTER u.b == @value1 RETURN u');
    expect(q.bindVars).toEqual({ value0: 1, value1: 2 });
    expect(aql.join([]).query).toBe('');
  });

  it('refuses an empty collection name (a programmer mistake: TypeError)', () => {
    expect(() => aql.collection('')).toThrow(TypeError);
  });
});
