import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AqlValue, BinaryOp, Expr, Pos } from '../../src/aql/ast.js';
import {
  EMPTY_SCOPE,
  evaluate,
  evaluateCondition,
  evaluateIndex,
  scopeOf,
  VarScope,
  type EvalContext,
  type Scope,
} from '../../src/aql/evaluator.js';
import type { FnContext } from '../../src/aql/functions/index.js';
import { compare, equals } from '../../src/aql/values.js';
import { storedDoc, thrown } from '../helpers/aql.js';

// --- AST constructors (no parser dependency) --------------------------------

const P: Pos = { line: 3, column: 7, offset: 20 };
const lit = (value: AqlValue): Expr => ({ type: 'literal', value, pos: P });
const v = (name: string): Expr => ({ type: 'var', name, pos: P });
const bind = (name: string): Expr => ({ type: 'bind', name, pos: P });
const bindCollection = (name: string): Expr => ({ type: 'bindCollection', name, pos: P });
const nameNode = (name: string): Expr => ({ type: 'name', name, pos: P });
const attr = (object: Expr, name: string): Expr => ({ type: 'attr', object, name, pos: P });
const index = (object: Expr, i: Expr): Expr => ({ type: 'index', object, index: i, pos: P });
const un = (op: '-' | '+' | 'NOT', arg: Expr): Expr => ({ type: 'unary', op, arg, pos: P });
const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => ({ type: 'binary', op, left, right, pos: P });
const tern = (cond: Expr, then: Expr | undefined, els: Expr): Expr =>
  then === undefined ? { type: 'ternary', cond, else: els, pos: P } : { type: 'ternary', cond, then, else: els, pos: P };
const arr = (...items: Expr[]): Expr => ({ type: 'array', items, pos: P });
const obj = (...props: [string | Expr, Expr][]): Expr => ({ type: 'object', props: props.map(([key, value]) => ({ key, value })), pos: P });
const call = (name: string, ...args: Expr[]): Expr => ({ type: 'call', name, args, pos: P });
const range = (from: Expr, to: Expr): Expr => ({ type: 'range', from, to, pos: P });
const subquery = (): Expr => ({ type: 'subquery', query: { ops: [], ret: { expr: lit(1), distinct: false, pos: P } }, pos: P });
const expand = (
  array: Expr,
  o: { var?: string; map?: Expr; flatten?: number; filter?: Expr; limit?: { offset: Expr; count: Expr } } = {},
): Expr => {
  const e: Expr = { type: 'expand', array, var: o.var ?? '$CURRENT1', flatten: o.flatten ?? 0, pos: P };
  if (o.map) e.map = o.map;
  if (o.filter) e.filter = o.filter;
  if (o.limit) e.limit = o.limit;
  return e;
};
/** An expression that throws when evaluated (to prove short-circuiting). */
const boom = (): Expr => call('ASSERT', lit(false), lit('must not be evaluated'));
/** What evaluating boom() throws (so a test can tell it from any other error). */
const BOOM = expect.objectContaining({ code: 'VALIDATION_FAILED', message: 'assertion failed: must not be evaluated' });

const NOW = Date.UTC(2026, 10, 23, 3, 0, 0);
const fn: FnContext = { now: () => NOW };

function ctxWith(extra: Partial<EvalContext> = {}): EvalContext {
  return { bind: {}, fn, ...extra };
}

function ev(e: Expr, vars: Record<string, AqlValue> = {}, extra: Partial<EvalContext> = {}): AqlValue {
  return evaluate(e, scopeOf(vars), ctxWith(extra));
}

// ---------------------------------------------------------------------------

describe('scopes', () => {
  it('VarScope binds, re-binds and layers over a parent', () => {
    const outer = new VarScope().set('a', 1).set('b', 2);
    const inner = outer.child().set('b', 20).set('c', null);
    expect(inner.get('a')).toBe(1);
    expect(inner.get('b')).toBe(20);
    expect(inner.get('c')).toBeNull();
    expect(inner.get('d')).toBeUndefined();
    expect(outer.get('b')).toBe(2);
    expect(inner.has('b')).toBe(true);
    expect(inner.has('a')).toBe(false);
    inner.set('b', 21);
    expect(inner.get('b')).toBe(21);
    expect(inner.parent).toBe(outer);
  });

  it('scopeOf and EMPTY_SCOPE', () => {
    const s = scopeOf({ x: 1, y: null }, scopeOf({ z: 3 }));
    expect(s.get('x')).toBe(1);
    expect(s.get('y')).toBeNull();
    expect(s.get('z')).toBe(3);
    expect(EMPTY_SCOPE.get('x')).toBeUndefined();
  });

  it('any object with get() is a scope', () => {
    const custom: Scope = { get: (n) => (n === 'magic' ? 42 : undefined) };
    expect(evaluate(bin('+', v('magic'), lit(1)), custom, ctxWith())).toBe(43);
  });
});

describe('literal, var, bind', () => {
  it('literals evaluate to their value', () => {
    for (const x of [null, true, 0, -1.5, '', 'abc', [1, [2]], { a: { b: 1 } }] as AqlValue[]) expect(ev(lit(x))).toEqual(x);
  });

  it('variables come from the scope', () => {
    expect(ev(v('x'), { x: 5 })).toBe(5);
    expect(ev(v('x'), { x: null })).toBeNull();
  });

  it('unknown variables are VALIDATION_FAILED naming the variable', () => {
    const e = thrown(() => ev(v('nope')));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.details).toEqual({ variable: 'nope', line: 3, column: 7 });
  });

  it('bind parameters come from ctx.bind', () => {
    expect(ev(bind('x'), {}, { bind: { x: [1, 2] } })).toEqual([1, 2]);
    expect(ev(bind('n'), {}, { bind: { n: null } })).toBeNull();
  });

  it('a missing bind parameter is VALIDATION_FAILED', () => {
    const e = thrown(() => ev(bind('x'), {}, { bind: { y: 1 } }));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.details).toMatchObject({ bind: 'x' });
    // Object.prototype members are not bind parameters.
    expect(thrown(() => ev(bind('constructor')))).toMatchObject({ code: 'VALIDATION_FAILED', details: { bind: 'constructor' } });
    expect(thrown(() => ev(bind('toString'))).code).toBe('VALIDATION_FAILED');
  });
});

describe('attribute and index access', () => {
  const doc = { name: 'Jane', address: { city: 'Berlin' }, tags: ['a', 'b', 'c'], n: null, '1': 'one' };

  it('reads attributes, null when missing or not an object', () => {
    expect(ev(attr(v('d'), 'name'), { d: doc })).toBe('Jane');
    expect(ev(attr(attr(v('d'), 'address'), 'city'), { d: doc })).toBe('Berlin');
    expect(ev(attr(v('d'), 'missing'), { d: doc })).toBeNull();
    expect(ev(attr(attr(v('d'), 'missing'), 'deeper'), { d: doc })).toBeNull();
    expect(ev(attr(v('d'), 'n'), { d: doc })).toBeNull();
    for (const x of [null, 1, 'str', true, [1, 2]] as AqlValue[]) expect(ev(attr(lit(x), 'length'))).toBeNull();
  });

  it('never reads prototype members', () => {
    expect(ev(attr(lit({}), 'constructor'))).toBeNull();
    expect(ev(attr(lit({}), '__proto__'))).toBeNull();
    expect(ev(attr(lit({}), 'toString'))).toBeNull();
    expect(ev(index(lit({}), lit('hasOwnProperty')))).toBeNull();
  });

  it('sees the hidden _key / _id of stored documents', () => {
    const d = storedDoc('k1', { a: 1 });
    expect(ev(attr(v('d'), '_key'), { d })).toBe('k1');
    expect(ev(attr(v('d'), '_id'), { d })).toBe('users/k1');
    expect(ev(index(v('d'), lit('_key')), { d })).toBe('k1');
    expect(ev(call('HAS', v('d'), lit('_key')), { d })).toBe(true);
  });

  it('indexes arrays by position (negative from the end)', () => {
    const t = attr(v('d'), 'tags');
    expect(ev(index(t, lit(0)), { d: doc })).toBe('a');
    expect(ev(index(t, lit(2)), { d: doc })).toBe('c');
    expect(ev(index(t, lit(3)), { d: doc })).toBeNull();
    expect(ev(index(t, lit(-1)), { d: doc })).toBe('c');
    expect(ev(index(t, lit(-3)), { d: doc })).toBe('a');
    expect(ev(index(t, lit(-4)), { d: doc })).toBeNull();
    expect(ev(index(t, lit(1.7)), { d: doc })).toBe('b');
    expect(ev(index(t, lit('1')), { d: doc })).toBe('b');
    expect(ev(index(t, lit('x')), { d: doc })).toBeNull();
    expect(ev(index(t, lit(null)), { d: doc })).toBeNull();
    expect(ev(index(t, lit([0])), { d: doc })).toBeNull();
    expect(ev(index(t, bin('+', lit(0), lit(1))), { d: doc })).toBe('b');
  });

  it('indexes objects by attribute name', () => {
    expect(ev(index(v('d'), lit('name')), { d: doc })).toBe('Jane');
    expect(ev(index(v('d'), lit(1)), { d: doc })).toBe('one');
    expect(ev(index(v('d'), lit('missing')), { d: doc })).toBeNull();
    expect(ev(index(v('d'), lit(true)), { d: doc })).toBeNull();
    expect(ev(index(lit(null), lit(0)))).toBeNull();
    expect(ev(index(lit('abc'), lit(0)))).toBeNull();
    expect(evaluateIndex(5, 0)).toBeNull();
  });
});

describe('unary operators', () => {
  it.each<[string, AqlValue, AqlValue]>([
    ['-', 5, -5],
    ['-', '5', -5],
    ['-', [8], -8],
    ['-', [8, 9], 0],
    ['-', {}, 0],
    ['-', null, 0],
    ['-', true, -1],
    ['+', '5', 5],
    ['+', [8], 8],
    ['+', 'x', 0],
    ['+', 3, 3],
    ['NOT', true, false],
    ['NOT', 0, true],
    ['NOT', '', true],
    ['NOT', [], false],
    ['NOT', null, true],
  ])('%s %j → %j', (op, x, r) => {
    expect(ev(un(op as '-', lit(x)))).toBe(r);
  });

  it('double negation casts to bool', () => {
    expect(ev(un('NOT', un('NOT', lit(1))))).toBe(true);
    expect(ev(un('NOT', un('NOT', lit(-0))))).toBe(false);
  });

  it('negating zero gives 0, not -0', () => {
    expect(Object.is(ev(un('-', lit(0))), 0)).toBe(true);
  });
});

describe('binary operators', () => {
  it.each<[BinaryOp, AqlValue, AqlValue, AqlValue]>([
    ['+', 1, 2, 3],
    ['+', '1', '2', 3],
    ['+', 'a', 'b', 0],
    ['+', null, 5, 5],
    ['+', 1e308, 1e308, null],
    ['-', 10, 4, 6],
    ['-', [10], '4', 6],
    ['*', 3, 4, 12],
    ['*', '3', true, 3],
    ['/', 7, 2, 3.5],
    ['/', 1, 0, null],
    ['/', 0, 0, null],
    ['%', 7, 3, 1],
    ['%', 7, 0, null],
    ['%', -7, 2, -1],
    ['==', 1, 1, true],
    ['==', 1, '1', false],
    ['==', null, null, true],
    ['==', null, false, false],
    ['==', [1, { a: 2 }], [1, { a: 2 }], true],
    ['==', { a: 1, b: 2 }, { b: 2, a: 1 }, true],
    ['!=', 1, '1', true],
    ['!=', [1], [1], false],
    ['<', 1, 2, true],
    ['<', 2, 1, false],
    ['<', null, false, true],
    ['<', 1, '0', true],
    ['<', 'abc', 'abd', true],
    ['<', '\uffff', '😀', true],
    ['<', [1, 2], [2], true],
    ['<', [], {}, true],
    ['<', 'x', [], true],
    ['<=', 1, 1, true],
    ['<=', 'b', 'a', false],
    ['>', 2, 1, true],
    ['>', {}, [], true],
    ['>', null, 0, false],
    ['>=', 2, 2, true],
    ['>=', 'a', 'b', false],
    ['IN', 2, [1, 2, 3], true],
    ['IN', 4, [1, 2, 3], false],
    ['IN', '2', [1, 2, 3], false],
    ['IN', [1], [[1], [2]], true],
    ['IN', 1, 'not an array', false],
    ['IN', 1, null, false],
    ['NOT IN', 4, [1, 2, 3], true],
    ['NOT IN', 2, [1, 2, 3], false],
    ['NOT IN', 1, null, true],
    ['LIKE', 'cart', 'ca_t', true],
    ['LIKE', 'carrot', 'ca_t', false],
    ['LIKE', 'foo bar', '%bar', true],
    ['LIKE', 123, '1%', true],
    ['LIKE', null, '', true],
    ['NOT LIKE', 'carrot', 'ca_t', true],
    ['NOT LIKE', 'cart', 'ca_t', false],
    ['=~', 'the quick brown fox', 'qu.ck', true],
    ['=~', 'the quick brown fox', '^quick', false],
    ['=~', 42, '^4\\d$', true],
    ['!~', 'abc', 'x', true],
    ['!~', 'abc', 'b', false],
  ])('%j %s %j → %j', (op, a, b, r) => {
    expect(ev(bin(op, lit(a), lit(b)))).toEqual(r);
  });

  it('an invalid regular expression is null (=~) / true (!~) with warning 1543, as ArangoDB (REGEX_TEST)', () => {
    const warnings: [string, number][] = [];
    const fn = { now: () => 0, warn: (m: string, code: number) => warnings.push([m, code]) };
    expect(evaluate(bin('=~', lit('x'), lit('((')), EMPTY_SCOPE, { bind: {}, fn })).toBeNull();
    expect(evaluate(bin('!~', lit('x'), lit('[')), EMPTY_SCOPE, { bind: {}, fn })).toBe(true);
    expect(warnings.map(([, c]) => c)).toEqual([1543, 1543]);
    expect(warnings[0]![0]).toMatch(/^REGEX_TEST\(\): invalid regex value/);
  });

  it('division and modulo by zero are null with warning 1562', () => {
    const warnings: [string, number][] = [];
    const fn = { now: () => 0, warn: (m: string, code: number) => warnings.push([m, code]) };
    expect(evaluate(bin('/', lit(1), lit(0)), EMPTY_SCOPE, { bind: {}, fn })).toBeNull();
    expect(evaluate(bin('%', lit(1), lit('0')), EMPTY_SCOPE, { bind: {}, fn })).toBeNull();
    expect(warnings).toEqual([
      ['division by zero', 1562],
      ['division by zero', 1562],
    ]);
  });

  it('AND returns the left operand when falsy, else the right one', () => {
    expect(ev(bin('AND', lit(1), lit('x')))).toBe('x');
    expect(ev(bin('AND', lit(0), lit('x')))).toBe(0);
    expect(ev(bin('AND', lit(''), lit('x')))).toBe('');
    expect(ev(bin('AND', lit(null), lit(true)))).toBeNull();
    expect(ev(bin('AND', lit([]), lit(false)))).toBe(false);
    expect(ev(bin('AND', lit(true), lit(true)))).toBe(true);
  });

  it('OR returns the left operand when truthy, else the right one', () => {
    expect(ev(bin('OR', lit(1), lit('x')))).toBe(1);
    expect(ev(bin('OR', lit(0), lit('x')))).toBe('x');
    expect(ev(bin('OR', lit(null), lit(false)))).toBe(false);
    expect(ev(bin('OR', lit({}), lit(false)))).toEqual({});
    expect(ev(bin('OR', lit(''), lit(null)))).toBeNull();
  });

  it('AND / OR short-circuit', () => {
    expect(() => ev(boom())).toThrow(BOOM);
    expect(ev(bin('AND', lit(false), boom()))).toBe(false);
    expect(ev(bin('AND', lit(null), v('undefinedVariable')))).toBeNull();
    expect(ev(bin('OR', lit(true), boom()))).toBe(true);
    expect(ev(bin('OR', lit('yes'), v('undefinedVariable')))).toBe('yes');
    expect(() => ev(bin('AND', lit(true), boom()))).toThrow(BOOM);
    expect(() => ev(bin('OR', lit(false), boom()))).toThrow(BOOM);
  });

  it('comparisons agree with values.compare / equals on random values', () => {
    const value = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<AqlValue>;
    fc.assert(
      fc.property(value, value, (a, b) => {
        const c = compare(a, b);
        expect(ev(bin('==', lit(a), lit(b)))).toBe(equals(a, b));
        expect(ev(bin('!=', lit(a), lit(b)))).toBe(!equals(a, b));
        expect(ev(bin('<', lit(a), lit(b)))).toBe(c < 0);
        expect(ev(bin('<=', lit(a), lit(b)))).toBe(c <= 0);
        expect(ev(bin('>', lit(a), lit(b)))).toBe(c > 0);
        expect(ev(bin('>=', lit(a), lit(b)))).toBe(c >= 0);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('ternary', () => {
  it('picks a branch by truthiness', () => {
    expect(ev(tern(lit(true), lit('a'), lit('b')))).toBe('a');
    expect(ev(tern(lit(0), lit('a'), lit('b')))).toBe('b');
    expect(ev(tern(lit([]), lit('a'), lit('b')))).toBe('a');
  });

  it('`c ?: e` yields the condition value when truthy', () => {
    expect(ev(tern(lit('cond'), undefined, lit('else')))).toBe('cond');
    expect(ev(tern(lit(null), undefined, lit('else')))).toBe('else');
    expect(ev(tern(attr(v('d'), 'x'), undefined, lit(0)), { d: { x: 5 } })).toBe(5);
  });

  it('evaluates only the chosen branch', () => {
    expect(ev(tern(lit(true), lit(1), boom()))).toBe(1);
    expect(ev(tern(lit(false), boom(), lit(2)))).toBe(2);
    expect(ev(tern(lit(1), undefined, boom()))).toBe(1);
  });
});

describe('array and object literals', () => {
  it('builds arrays', () => {
    expect(ev(arr())).toEqual([]);
    expect(ev(arr(lit(1), bin('+', lit(1), lit(1)), arr(v('x'))), { x: 'x' })).toEqual([1, 2, ['x']]);
  });

  it('builds objects with static and computed keys', () => {
    expect(ev(obj())).toEqual({});
    expect(ev(obj(['a', lit(1)], ['b', v('x')]), { x: [2] })).toEqual({ a: 1, b: [2] });
    expect(ev(obj([v('k'), lit(1)]), { k: 'dyn' })).toEqual({ dyn: 1 });
    expect(ev(obj([lit(1), lit('n')], [lit(null), lit('null')], [lit(true), lit('t')], [lit([1, 2]), lit('a')]))).toEqual({
      '1': 'n',
      '': 'null',
      true: 't',
      '[1,2]': 'a',
    });
  });

  it('later duplicate keys win', () => {
    expect(ev(obj(['a', lit(1)], ['b', lit(2)], ['a', lit(3)]))).toEqual({ a: 3, b: 2 });
    expect(ev(obj(['a', lit(1)], [lit('a'), lit(4)]))).toEqual({ a: 4 });
  });

  it('a "__proto__" key is an ordinary own attribute', () => {
    const o = ev(obj(['__proto__', obj(['polluted', lit(true)])], [lit('__proto__'), lit(1)])) as Record<string, AqlValue>;
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect(JSON.stringify(o)).toBe('{"__proto__":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(ev(attr(lit(o), '__proto__'))).toBe(1);
  });
});

describe('function calls', () => {
  it('calls built-in functions with evaluated arguments', () => {
    expect(ev(call('CONCAT', lit('a'), v('x'), lit(1)), { x: 'b' })).toBe('ab1');
    expect(ev(call('LENGTH', arr(lit(1), lit(2))))).toBe(2);
    expect(ev(call('UPPER', call('LOWER', lit('AbC'))))).toBe('ABC');
  });

  it('accepts lower-case names', () => {
    expect(ev(call('length', lit('abc')))).toBe(3);
  });

  it('passes ctx.fn to functions (DATE_NOW)', () => {
    expect(ev(call('DATE_NOW'))).toBe(NOW);
    expect(ev(call('DATE_ISO8601', call('DATE_NOW')))).toBe('2026-11-23T03:00:00.000Z');
  });

  it('routes warnings to ctx.fn.warn', () => {
    const warnings: [string, number][] = [];
    const r = evaluate(call('SUM', lit('x')), EMPTY_SCOPE, { bind: {}, fn: { now: () => 0, warn: (m, code) => warnings.push([m, code]) } });
    expect(r).toBeNull();
    expect(warnings).toEqual([['SUM(): invalid argument type', 1542]]);
  });

  it('unknown functions are VALIDATION_FAILED with a suggestion', () => {
    const e = thrown(() => ev(call('FOO', lit(1))));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.details).toMatchObject({ function: 'FOO' });
    expect(thrown(() => ev(call('LENGHT', lit(1)))).details).toMatchObject({ function: 'LENGHT', suggestion: 'LENGTH' });
  });

  it('wrong argument counts are VALIDATION_FAILED', () => {
    const e = thrown(() => ev(call('LENGTH')));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.details).toMatchObject({ function: 'LENGTH', minArgs: 1, maxArgs: 1, got: 0 });
    expect(thrown(() => ev(call('CONCAT'))).details).toMatchObject({ function: 'CONCAT', minArgs: 1, got: 0 });
  });

  it('does not evaluate arguments of a call with the wrong argument count', () => {
    expect(thrown(() => ev(call('PI', boom())))).toMatchObject({ code: 'VALIDATION_FAILED', details: { function: 'PI', got: 1 } });
  });

  it('engine functions go to ctx.engineCall', () => {
    const calls: { name: string; args: AqlValue[]; expr: Expr }[] = [];
    const engineCall = (name: string, args: AqlValue[], expr: Expr): AqlValue => {
      calls.push({ name, args, expr });
      return ['result'];
    };
    const e = call('FULLTEXT', v('articles'), lit('text'), bin('+', lit(1), lit(1)), v('q'));
    expect(ev(e, { q: 'search' }, { engineCall })).toEqual(['result']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.name).toBe('FULLTEXT');
    // An identifier naming no variable is passed as its name (a collection).
    expect(calls[0]!.args).toEqual(['articles', 'text', 2, 'search']);
    expect(calls[0]!.expr).toBe(e);
    ev(call('DOCUMENT', nameNode('users'), lit('k1')), {}, { engineCall });
    expect(calls[1]!.args).toEqual(['users', 'k1']);
    ev(call('NEAR', bindCollection('coll'), lit(1)), {}, { engineCall, bind: { '@coll': 'places' } });
    expect(calls[2]!.args).toEqual(['places', 1]);
    ev(call('BM25', v('doc')), { doc: { a: 1 } }, { engineCall });
    expect(calls[3]!.args).toEqual([{ a: 1 }]);
    ev(call('similarity', lit(1)), {}, { engineCall });
    expect(calls[4]!.name).toBe('SIMILARITY');
    expect(thrown(() => ev(call('NEAR', bindCollection('coll')), {}, { engineCall }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { bind: '@coll' },
    });
  });

  it('engine functions without ctx.engineCall are an error', () => {
    const e = thrown(() => ev(call('BM25', lit(1))));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.details).toMatchObject({ function: 'BM25' });
  });
});

describe('subqueries', () => {
  it('runs a subquery through ctx.subquery when evaluation reaches it', () => {
    const s = subquery();
    const runs: Expr[] = [];
    const subquery_ = (x: Expr) => {
      runs.push(x);
      return [1, 2, 3];
    };
    expect(ev(s, {}, { subquery: subquery_ })).toEqual([1, 2, 3]);
    expect(ev(call('LENGTH', s), {}, { subquery: subquery_ })).toBe(3);
    expect(runs).toEqual([s, s]);
  });

  it('a subquery in an untaken ?: branch or a short-circuited AND/OR operand does not run', () => {
    const runs: Expr[] = [];
    const subquery_ = (x: Expr) => {
      runs.push(x);
      return [1];
    };
    const s = subquery();
    expect(ev({ type: 'ternary', cond: lit(false), then: s, else: lit(2), pos: P }, {}, { subquery: subquery_ })).toBe(2);
    expect(ev({ type: 'ternary', cond: lit(1), else: s, pos: P }, {}, { subquery: subquery_ })).toBe(1);
    expect(ev(bin('AND', lit(false), s), {}, { subquery: subquery_ })).toBe(false);
    expect(ev(bin('OR', lit(true), s), {}, { subquery: subquery_ })).toBe(true);
    expect(runs).toEqual([]);
    expect(ev(bin('OR', lit(false), s), {}, { subquery: subquery_ })).toEqual([1]);
    expect(runs).toEqual([s]);
  });

  it('without ctx.subquery a subquery is an internal error', () => {
    const s = subquery();
    expect(thrown(() => ev(s)).code).toBe('INTERNAL');
  });
});

describe('ranges', () => {
  it('produces the integers from..to', () => {
    expect(ev(range(lit(1), lit(5)))).toEqual([1, 2, 3, 4, 5]);
    expect(ev(range(lit(3), lit(1)))).toEqual([3, 2, 1]);
    expect(ev(range(lit(2), lit(2)))).toEqual([2]);
    expect(ev(range(lit(-1), lit(1)))).toEqual([-1, 0, 1]);
    expect(ev(range(lit('2'), lit(4)))).toEqual([2, 3, 4]);
    expect(ev(range(lit(1.9), lit(3.2)))).toEqual([1, 2, 3]);
    expect(ev(range(lit(null), lit(2)))).toEqual([0, 1, 2]);
    expect(ev(range(v('a'), bin('+', v('a'), lit(2))), { a: 10 })).toEqual([10, 11, 12]);
  });

  it('caps ranges at 10,000,000 elements', () => {
    expect((ev(range(lit(1), lit(10_000_000))) as number[]).length).toBe(10_000_000);
    const e = thrown(() => ev(range(lit(0), lit(10_000_000))));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(thrown(() => ev(range(lit(0), lit(1e300)))).code).toBe('VALIDATION_FAILED');
  });
});

describe('array expansion', () => {
  const users: AqlValue = [
    { name: 'ann', age: 30, friends: [{ name: 'bob' }, { name: 'cid' }] },
    { name: 'bob', age: 15, friends: [] },
    { name: 'cid', age: 42, friends: [{ name: 'ann' }] },
  ];
  const cur = (name = '$CURRENT1'): Expr => v(name);

  it('maps each element (array[*].name)', () => {
    expect(ev(expand(v('u'), { map: attr(cur(), 'name') }), { u: users })).toEqual(['ann', 'bob', 'cid']);
  });

  it('without projection returns the elements', () => {
    expect(ev(expand(lit([1, 2, 3])))).toEqual([1, 2, 3]);
  });

  it('a non-array gives []', () => {
    for (const x of [null, 1, 'abc', { a: 1 }] as AqlValue[]) expect(ev(expand(lit(x), { map: attr(cur(), 'a') }))).toEqual([]);
  });

  it('missing attributes project to null', () => {
    expect(ev(expand(lit([{ a: 1 }, {}, 5]), { map: attr(cur(), 'a') }))).toEqual([1, null, null]);
  });

  it('inline FILTER, LIMIT and RETURN', () => {
    const adults = bin('>=', attr(cur(), 'age'), lit(18));
    expect(ev(expand(v('u'), { filter: adults, map: attr(cur(), 'name') }), { u: users })).toEqual(['ann', 'cid']);
    expect(
      ev(expand(v('u'), { filter: adults, limit: { offset: lit(0), count: lit(1) }, map: attr(cur(), 'name') }), { u: users }),
    ).toEqual(['ann']);
    expect(
      ev(expand(v('u'), { filter: adults, limit: { offset: lit(1), count: lit(5) }, map: attr(cur(), 'name') }), { u: users }),
    ).toEqual(['cid']);
    expect(ev(expand(v('u'), { limit: { offset: lit(0), count: lit(0) } }), { u: users })).toEqual([]);
    expect(ev(expand(lit([1, 2, 3, 4]), { limit: { offset: lit(1), count: lit(2) } }))).toEqual([2, 3]);
    expect(ev(expand(lit([1, 2, 3, 4]), { filter: bin('>', cur(), lit(2)) }))).toEqual([3, 4]);
  });

  it('CURRENT refers to the element', () => {
    expect(ev(expand(lit([1, 2, 3]), { map: bin('*', v('CURRENT'), lit(10)) }))).toEqual([10, 20, 30]);
    expect(ev(expand(lit([1, 2, 3]), { filter: bin('!=', v('CURRENT'), lit(2)) }))).toEqual([1, 3]);
  });

  it('sees outer variables', () => {
    expect(ev(expand(lit([1, 2]), { map: bin('+', cur(), v('k')) }), { k: 100 })).toEqual([101, 102]);
  });

  it('nests (users[*].friends[*].name)', () => {
    const inner = expand(attr(cur('$C1'), 'friends'), { var: '$C2', map: attr(v('$C2'), 'name') });
    expect(ev(expand(v('u'), { var: '$C1', map: inner }), { u: users })).toEqual([['bob', 'cid'], [], ['ann']]);
    // CURRENT in the inner expansion is the inner element.
    const inner2 = expand(attr(v('CURRENT'), 'friends'), { var: '$C2', map: attr(v('CURRENT'), 'name') });
    expect(ev(expand(v('u'), { var: '$C1', map: inner2 }), { u: users })).toEqual([['bob', 'cid'], [], ['ann']]);
  });

  it('[**] flattens the input before projecting', () => {
    expect(ev(expand(lit([[1, 2], [3], 4]), { flatten: 1 }))).toEqual([1, 2, 3, 4]);
    expect(ev(expand(lit([[1, [2]], [3]]), { flatten: 1 }))).toEqual([1, [2], 3]);
    expect(ev(expand(lit([[1, [2]], [3]]), { flatten: 2 }))).toEqual([1, 2, 3]);
    expect(ev(expand(lit([[{ a: 1 }], [{ a: 2 }, { a: 3 }]]), { flatten: 1, map: attr(cur(), 'a') }))).toEqual([1, 2, 3]);
    // A flattened nested expansion: users[**] over the friends lists.
    const friends = expand(v('u'), { var: '$C1', map: attr(cur('$C1'), 'friends') });
    expect(ev(expand(friends, { flatten: 1, map: attr(cur(), 'name') }), { u: users })).toEqual(['bob', 'cid', 'ann']);
  });

  it('does not mutate its input', () => {
    const input: AqlValue = [[1], [2]];
    ev(expand(lit(input), { flatten: 1 }));
    expect(input).toEqual([[1], [2]]);
  });
});

describe('collection names as values', () => {
  it('a `name` that is a variable evaluates to it', () => {
    expect(ev(nameNode('x'), { x: [1] })).toEqual([1]);
  });

  it('a collection name or @@param is not a value', () => {
    expect(thrown(() => ev(nameNode('users'))).code).toBe('VALIDATION_FAILED');
    expect(thrown(() => ev(bindCollection('c'), {}, { bind: { '@c': 'users' } })).code).toBe('VALIDATION_FAILED');
  });
});

describe('evaluateCondition', () => {
  it('applies AQL truthiness', () => {
    const s = scopeOf({ d: { age: 20, tags: [] } });
    const c = ctxWith();
    expect(evaluateCondition(bin('>', attr(v('d'), 'age'), lit(18)), s, c)).toBe(true);
    expect(evaluateCondition(attr(v('d'), 'tags'), s, c)).toBe(true);
    expect(evaluateCondition(attr(v('d'), 'missing'), s, c)).toBe(false);
    expect(evaluateCondition(bin('AND', lit(1), lit('')), s, c)).toBe(false);
  });
});

describe('a realistic filter over many rows', () => {
  it('evaluates per row against a re-bound scope', () => {
    // FILTER d.age >= @min AND LIKE(d.name, "user1%") RETURN {n: d.name, tags: d.tags[* FILTER CURRENT != "x"]}
    const filter = bin('AND', bin('>=', attr(v('d'), 'age'), bind('min')), call('LIKE', attr(v('d'), 'name'), lit('user1%')));
    const ret = obj(['n', attr(v('d'), 'name')], ['tags', expand(attr(v('d'), 'tags'), { filter: bin('!=', v('CURRENT'), lit('x')) })]);
    const scope = new VarScope();
    const c = ctxWith({ bind: { min: 50 } });
    const out: AqlValue[] = [];
    for (let i = 0; i < 20_000; i++) {
      scope.set('d', { name: `user${i}`, age: i % 100, tags: ['x', 'y'] });
      if (evaluateCondition(filter, scope, c)) out.push(evaluate(ret, scope, c));
    }
    expect(out.length).toBe(5550);
    expect(out[0]).toEqual({ n: 'user150', tags: ['y'] });
  });
});
