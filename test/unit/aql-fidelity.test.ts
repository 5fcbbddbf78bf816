/**
 * AQL behaviours as ArangoDB (3.12) documents them, in-process: lazy
 * evaluation (subqueries in ?: branches and AND/OR operands run only when
 * needed), comma-separated LET, WITH declarations, where RETURN DISTINCT is
 * refused, COLLECT ... INTO ... KEEP, the question-mark inline filter and the
 * array comparison operators. Expected values are the documentation's
 * examples (site/content/arangodb/3.12/aql/... in arangodb/docs-hugo) or
 * ArangoDB's own tests (tests/js/client/aql/... in arangodb/arangodb).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AqlValue } from '../../src/aql/ast.js';
import { Aql } from '../../src/aql/index.js';
import type { Database } from '../../src/db.js';
import { Entities } from '../../src/entities/index.js';
import type { ThemisError } from '../../src/errors.js';
import { refusal } from '../helpers/errors.js';
import { openDb, tempDir } from '../helpers/inproc.js';

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tempDir('themis-aql-fidelity-');
  db = await openDb(dir);
  await db.get(Entities).applyBatch([
    { op: 'put', key: 'users:a', blob: { name: 'Ann', city: 'Rome', value1: 1, value2: 2 } },
    { op: 'put', key: 'users:b', blob: { name: 'Bob', city: 'Oslo', value1: 3, value2: 4 } },
    { op: 'put', key: 'users:c', blob: { name: 'Cid', city: 'Rome', value1: 5, value2: 6 } },
    { op: 'put', key: 'orders:1', blob: { user: 'a' } },
  ]);
});

afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rows = async (query: string, bind_vars: Record<string, unknown> = {}): Promise<AqlValue[]> => {
  const r = await db.get(Aql).run({ query, bind_vars });
  if (!('entities' in r)) throw new Error('no entities');
  return r.entities;
};
const one = async (query: string): Promise<AqlValue> => (await rows(query))[0]!;

const refused = (query: string, code: string, message: RegExp): Promise<ThemisError> =>
  refusal(db.get(Aql).run({ query, bind_vars: {} }), code, message, query);

// ---------------------------------------------------------------------------------------------

describe('lazy evaluation (fundamentals/subqueries.md "Evaluation of subqueries", from v3.12.1)', () => {
  it('AND / OR: a subquery operand runs only when the outcome is still open (the documentation examples)', async () => {
    expect(await rows('RETURN false AND (RETURN ASSERT(false, "executed"))')).toEqual([false]);
    expect(await rows('RETURN true OR (RETURN ASSERT(false, "executed"))')).toEqual([true]);
    // ... and does run when it decides the result
    await refused('RETURN true AND (RETURN ASSERT(false, "executed"))', 'VALIDATION_FAILED', /executed/);
    await refused('RETURN false || (RETURN ASSERT(false, "executed"))', 'VALIDATION_FAILED', /executed/);
  });

  it('?: runs only the branch taken (the documentation example with DOCUMENT() of a missing document)', async () => {
    const q = `LET maybe = DOCUMENT("users/does_not_exist")
      LET dependent = maybe ? (FOR attr IN ATTRIBUTES(maybe) RETURN attr) : "document not found"
      RETURN dependent`;
    expect(await rows(q)).toEqual(['document not found']);
    expect(
      await rows('LET maybe = DOCUMENT("users/a") RETURN maybe ? (FOR attr IN ATTRIBUTES(maybe) SORT attr RETURN attr) : "no"'),
    ).toEqual([['_id', '_key', 'city', 'name', 'value1', 'value2']]);
    expect(await rows('RETURN RAND() > 2 ? (RETURN ASSERT(false, "untaken")) : 0')).toEqual([0]);
    expect(await rows('RETURN RAND() < 2 ? 1 : (RETURN ASSERT(false, "untaken"))')).toEqual([1]);
    // the shortcut form: the condition's value when truthy, else the right side
    expect(await rows('RETURN 1 ?: (RETURN ASSERT(false, "untaken"))')).toEqual([1]);
    expect(await rows('RETURN 0 ?: (RETURN 5)')).toEqual([[5]]);
  });

  it('NOT and nested conditions short-circuit too; per row, only for the rows that need it', async () => {
    expect(await rows('RETURN NOT (false AND (RETURN ASSERT(false, "executed")))')).toEqual([true]);
    expect(
      await rows('FOR i IN [0, 1, 2] FILTER i > 0 AND LENGTH(FOR x IN [1] RETURN ASSERT(i > 0, "ran for i = 0")) > 0 RETURN i'),
    ).toEqual([1, 2]);
    expect(await rows('FOR i IN [0, 1] RETURN i == 0 ? "zero" : FIRST(FOR x IN [i] RETURN ASSERT(x > 0, "ran for 0"))')).toEqual([
      'zero',
      true,
    ]);
  });

  it('a data-modifying subquery in an untaken branch writes nothing', async () => {
    expect(await rows('FOR i IN [1, 2, 3] LET r = i == 2 ? (INSERT {i} INTO lazywrites RETURN NEW.i) : [] RETURN r')).toEqual([
      [],
      [2],
      [],
    ]);
    expect(await rows('FOR d IN lazywrites RETURN d.i')).toEqual([2]);
    expect(await rows('FOR i IN [1, 2] RETURN i > 5 ? (FOR d IN lazywrites REMOVE d IN lazywrites) : false')).toEqual([false, false]);
    expect(await rows('LET r = true OR (FOR d IN lazywrites REMOVE d IN lazywrites) RETURN r')).toEqual([true]);
    expect(await rows('FOR d IN lazywrites RETURN d.i')).toEqual([2]);
  });

  it("ArangoDB's side-effect tests (tests/js/client/aql/aql-ternary.js, TernarySideEffectsTestSuite)", async () => {
    // testQueryWithAssertionFailure
    expect(
      await rows(`FOR i IN 1..10
        LET x = (i >= 5 ? (FOR x IN 1..5 RETURN ASSERT(i >= 5, 'ass 1')) : (FOR y IN 1..2 RETURN ASSERT(i < 5, 'ass 2')))
        RETURN x`),
    ).toEqual([...Array(4).fill([true, true]), ...Array(6).fill([true, true, true, true, true])]);
    // testNestedQueryWithAssertionFailureIndependentVars
    const nested = await rows(`FOR i IN 1..10 FOR j IN 1..10
      LET x = (i >= 5
        ? (j >= 5 ? (RETURN ASSERT(i >= 5 && j >= 5, 'ass 1')) : (RETURN ASSERT(i >= 5 && j < 5, 'ass 2')))
        : (j >= 5 ? (RETURN ASSERT(i < 5 && j >= 5, 'ass 3')) : (RETURN ASSERT(i < 5 && j < 5, 'ass 4'))))
      RETURN x`);
    expect(nested).toEqual(Array(100).fill([true]));
    // testTernaryWithNonDeterministicCondition: each row inserts or not
    await rows('FOR i IN 1..200 RETURN RAND() >= 0.5 ? (INSERT {value: true} INTO nondeterministic) : (null)');
    const n = (await one('FOR d IN nondeterministic COLLECT WITH COUNT INTO n RETURN n')) as number;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(200);
    // testConditionalInsert: the INSERT runs only while the document is missing
    const q = `LET maybeExists = DOCUMENT(condinsert, "foo")
      LET upsertDoc = !IS_NULL(maybeExists) ? maybeExists : FIRST(INSERT { bar: "baz" } INTO condinsert RETURN NEW)
      RETURN upsertDoc`;
    expect(await rows(q)).toEqual([{ bar: 'baz' }]);
    await rows('INSERT { _key: "foo" } INTO condinsert');
    expect(await rows(q)).toEqual([{}]);
    expect(await one('FOR d IN condinsert COLLECT WITH COUNT INTO n RETURN n')).toBe(2);
    // testTernaryLet1/2/3 (with a LET list)
    expect(await rows('LET a = 1, b = 2, c = 3 RETURN [true ? a : b, false ? a : b, true ? false ? a : b : c]')).toEqual([[1, 2, 2]]);
    // testTernaryShortcut
    expect(await rows("FOR i IN [ 1, 2, 3, 4 ] RETURN i ?: ASSERT(false, 'peng')")).toEqual([1, 2, 3, 4]);
  });

  it('a subquery inside an array expansion sees the element (CURRENT)', async () => {
    expect(await rows('RETURN [1, 2][* RETURN (FOR y IN [CURRENT] RETURN y * 2)]')).toEqual([[[2], [4]]]);
  });
});

describe('LET with several assignments (grammar: let_list)', () => {
  it('LET a = 1, b = 2 declares both, in order (b sees a)', async () => {
    expect(await rows('LET a = 1, b = 2 RETURN a + b')).toEqual([3]);
    expect(await rows('LET a = 1, b = a + 1, c = [a, b] RETURN c')).toEqual([[1, 2]]);
    expect(await rows('FOR u IN users LET n = u.name, v = u.value1 + u.value2 SORT v RETURN [n, v]')).toEqual([
      ['Ann', 3],
      ['Bob', 7],
      ['Cid', 11],
    ]);
  });

  it('a dangling comma is a syntax error naming what is expected', async () => {
    await refused('LET a = 1, RETURN a', 'VALIDATION_FAILED', /syntax error.*expected a name/);
  });
});

describe('WITH collection declarations (high-level-operations/with.md)', () => {
  it('WITH c1, c2 at the start of a query is accepted', async () => {
    expect(await rows('WITH users, orders FOR u IN users FILTER u.city == "Oslo" RETURN u.name', {})).toEqual(['Bob']);
    expect(await rows('WITH @@c FOR u IN users FILTER u.name == "Ann" RETURN u.city', { '@c': 'users' })).toEqual(['Rome']);
  });

  it('an unknown collection there answers like any unknown collection: 404 COLLECTION_NOT_FOUND', async () => {
    const e = await refused('WITH users, nosuchcollection FOR u IN users RETURN u', 'COLLECTION_NOT_FOUND', /not found: nosuchcollection/);
    expect(e.details).toMatchObject({ collection: 'nosuchcollection' });
  });

  it('WITH is only valid at the start of the query', async () => {
    await refused('FOR u IN users WITH users RETURN u', 'VALIDATION_FAILED', /syntax error/);
  });
});

describe('RETURN DISTINCT where ArangoDB refuses it (tests/js/client/aql/aql-distinct.js, testDistinctUsageFail)', () => {
  it('outside a FOR loop of its (sub)query: "cannot use DISTINCT modifier on top-level query element"', async () => {
    for (const q of [
      'RETURN DISTINCT 1',
      'LET a = 1 COLLECT x = a RETURN DISTINCT x',
      'LET x = (FOR i IN 1..100 RETURN i) RETURN DISTINCT x',
      'LET values = (RETURN DISTINCT 1) RETURN values',
      'FOR i IN DISTINCT 1..10 RETURN i',
      'FOR i IN 1..10 LET a = DISTINCT i RETURN a',
    ])
      await refused(q, 'VALIDATION_FAILED', /syntax error/);
    const e = await refused('LET a = 1 COLLECT x = a RETURN DISTINCT x', 'VALIDATION_FAILED', /DISTINCT modifier on top-level/);
    expect(e.details).toMatchObject({ line: 1, column: 32, token: 'DISTINCT' });
  });

  it('inside a FOR, also after its COLLECT, it works (testDistinctWithCollect1/2, testDistinctInSubquery)', async () => {
    expect(await rows('FOR i IN 1..20 COLLECT x = i % 11 RETURN DISTINCT x % 3')).toEqual([0, 1, 2]);
    expect(await rows('FOR i IN [1, 2, 1, 3] RETURN DISTINCT i')).toEqual([1, 2, 3]);
    expect(await rows('LET values = (FOR u IN users RETURN DISTINCT u.city) RETURN SORTED(values)')).toEqual([['Oslo', 'Rome']]);
  });
});

describe('COLLECT ... INTO g KEEP (high-level-operations/collect.md)', () => {
  it('the group entries hold only the KEEP variables (the documentation example)', async () => {
    const q = `FOR u IN users
      LET name = u.name
      LET someCalculation = u.value1 + u.value2
      COLLECT city = u.city INTO groups KEEP name
      RETURN { "city" : city, "userNames" : groups[*].name, "entries": groups }`;
    expect(await rows(q)).toEqual([
      { city: 'Oslo', userNames: ['Bob'], entries: [{ name: 'Bob' }] },
      { city: 'Rome', userNames: ['Ann', 'Cid'], entries: [{ name: 'Ann' }, { name: 'Cid' }] },
    ]);
    expect(await rows('FOR u IN users LET a = u.value1, b = u.value2 COLLECT c = u.city INTO g KEEP a, b SORT c RETURN g')).toEqual([
      [{ a: 3, b: 4 }],
      [
        { a: 1, b: 2 },
        { a: 5, b: 6 },
      ],
    ]);
  });

  it('KEEP names variables declared before the COLLECT, and needs INTO without an expression', async () => {
    await refused('FOR u IN users COLLECT c = u.city INTO g KEEP nope RETURN g', 'VALIDATION_FAILED', /unknown variable 'nope' for KEEP/);
    await refused('FOR u IN users COLLECT c = u.city INTO g KEEP c RETURN g', 'VALIDATION_FAILED', /unknown variable 'c' for KEEP/);
    await refused('FOR u IN users COLLECT c = u.city KEEP u RETURN c', 'VALIDATION_FAILED', /syntax error/);
    await refused('FOR u IN users COLLECT c = u.city INTO g = u.name KEEP u RETURN g', 'VALIDATION_FAILED', /KEEP cannot be combined/);
  });
});

describe('question mark operator (operators.md "Question mark operator")', () => {
  it('the documentation example: two even numbers', async () => {
    expect(await rows('LET arr = [ 1, 2, 3, 4 ] RETURN arr[? 2 FILTER CURRENT % 2 == 0]')).toEqual([true]);
  });

  it('each quantifier is the inline filter with the length check from the documentation table', async () => {
    const arr = '[1, 2, 3, 4]';
    const cases: [string, boolean][] = [
      [`${arr}[? FILTER CURRENT > 2]`, true], // LENGTH(...) > 0
      [`${arr}[? FILTER CURRENT > 9]`, false],
      [`${arr}[? ANY FILTER CURRENT > 3]`, true],
      [`${arr}[? ANY FILTER CURRENT > 4]`, false],
      [`${arr}[? ALL FILTER CURRENT > 0]`, true], // == LENGTH(arr)
      [`${arr}[? ALL FILTER CURRENT > 1]`, false],
      [`${arr}[? NONE FILTER CURRENT > 4]`, true], // == 0
      [`${arr}[? NONE FILTER CURRENT > 3]`, false],
      [`${arr}[? 2 FILTER CURRENT > 2]`, true], // == 2
      [`${arr}[? 3 FILTER CURRENT > 2]`, false],
      [`${arr}[? 1..3 FILTER CURRENT > 2]`, true], // IN_RANGE(..., 1, 3, true, true)
      [`${arr}[? 3..4 FILTER CURRENT > 2]`, false],
      [`${arr}[? AT LEAST (2) FILTER CURRENT > 2]`, true], // >= 2
      [`${arr}[? AT LEAST (3) FILTER CURRENT > 2]`, false],
      [`${arr}[? at least (1 + 1) FILTER CURRENT % 2 == 0]`, true],
      [`${arr}[?]`, true], // LENGTH(arr[*]) > 0
      ['[][?]', false],
      ['null[?]', false], // not an array
      ['"abc"[? ANY FILTER true]', false],
      ['[][? ALL FILTER CURRENT]', true],
      ['[][? NONE FILTER CURRENT]', true],
    ];
    const got = await one(`RETURN [${cases.map(([q]) => q).join(', ')}]`);
    expect(got).toEqual(cases.map(([, v]) => v));
  });

  it('works on attributes and per element after an expansion; CURRENT is the element', async () => {
    expect(await rows('FOR u IN users FILTER [u.value1, u.value2][? ANY FILTER CURRENT >= 5] SORT u.name RETURN u.name')).toEqual(['Cid']);
    expect(await rows('RETURN [[1], [], [2, 3]][*][? FILTER CURRENT > 1]')).toEqual([[false, false, true]]);
    expect(await rows('LET n = 2 RETURN [1, 2, 3][? n FILTER CURRENT >= n]')).toEqual([true]);
  });

  it('a quantifier needs a FILTER', async () => {
    await refused('RETURN [1][? ANY]', 'VALIDATION_FAILED', /syntax error.*expected "FILTER"|syntax error/);
  });
});

describe('array comparison operators (operators.md "Array comparison operators")', () => {
  it('the documentation examples', async () => {
    const cases: [string, boolean][] = [
      ['[ 1, 2, 3 ]  ALL IN  [ 2, 3, 4 ]', false],
      ['[ 1, 2, 3 ]  ALL IN  [ 1, 2, 3 ]', true],
      ['[ 1, 2, 3 ]  NONE IN  [ 3 ]', false],
      ['[ 1, 2, 3 ]  NONE IN  [ 23, 42 ]', true],
      ['[ 1, 2, 3 ]  ANY IN  [ 4, 5, 6 ]', false],
      ['[ 1, 2, 3 ]  ANY IN  [ 1, 42 ]', true],
      ['[ 1, 2, 3 ]  ANY ==  2', true],
      ['[ 1, 2, 3 ]  ANY ==  4', false],
      ['[ 1, 2, 3 ]  ANY >  0', true],
      ['[ 1, 2, 3 ]  ANY <=  1', true],
      ['[ 1, 2, 3 ]  NONE <  99', false],
      ['[ 1, 2, 3 ]  NONE >  10', true],
      ['[ 1, 2, 3 ]  ALL >  2', false],
      ['[ 1, 2, 3 ]  ALL >  0', true],
      ['[ 1, 2, 3 ]  ALL >=  3', false],
      ['["foo", "bar"]  ALL !=  "moo"', true],
      ['["foo", "bar"]  NONE ==  "bar"', false],
      ['["foo", "bar"]  ANY ==  "foo"', true],
      ['[ 1, 2, 3 ]  AT LEAST (2) IN  [ 2, 3, 4 ]', true],
      ['["foo", "bar"]  AT LEAST (1+1) ==  "foo"', false],
    ];
    const got = await one(`RETURN [${cases.map(([q]) => `(${q})`).join(', ')}]`);
    expect(got).toEqual(cases.map(([, v]) => v));
  });

  it('edge cases as ArangoDB evaluates them: empty arrays, non-arrays, NOT IN', async () => {
    const cases: [string, boolean][] = [
      ['[] ALL == 1', true], // [] ALL / NONE ... is true
      ['[] NONE == 1', true],
      ['[] ANY == 1', false],
      ['null ANY == null', false], // the left side must be an array
      ['"abc" ALL != 1', false],
      ['[1] ANY IN 1', false], // IN needs an array on the right
      ['[1, 2] ALL NOT IN [3]', true],
      ['[1, 2] ANY NOT IN [1]', true],
      ['[1, 2] NONE NOT IN [1, 2]', true],
    ];
    const got = await one(`RETURN [${cases.map(([q]) => `(${q})`).join(', ')}]`);
    expect(got).toEqual(cases.map(([, v]) => v));
  });

  it('precedence: like the plain comparison (ANY == binds tighter than AND, looser than +)', async () => {
    expect(await rows('RETURN [1, 2] ANY == 1 + 1 AND true')).toEqual([true]);
    expect(await rows('RETURN [1, 2] ALL < 3 == true')).toEqual([true]);
    expect(await rows('FOR u IN users FILTER [u.value1, u.value2] ALL > 2 SORT u.name RETURN u.name')).toEqual(['Bob', 'Cid']);
  });

  it('ALL, NONE and KEEP stay usable as names; ANY is still a traversal direction', async () => {
    expect(await rows('LET all = 1, none = 2, keep = 3 RETURN [all, none, keep]')).toEqual([[1, 2, 3]]);
    expect(await rows('LET x = {all: 1, any: 2} RETURN x.all + x.any')).toEqual([3]);
  });
});

describe('UPSERT (high-level-operations/upsert.md)', () => {
  it('the documentation example: insert when nothing matches, then update with OLD', async () => {
    const q = `UPSERT { name: 'superuser' }
      INSERT { name: 'superuser', logins: 1, dateCreated: 1 }
      UPDATE { logins: OLD.logins + 1 } IN accounts
      RETURN { new: NEW, old: OLD }`;
    expect(await rows(q)).toEqual([{ new: { name: 'superuser', logins: 1, dateCreated: 1 }, old: null }]);
    expect(await rows(q)).toEqual([
      { new: { name: 'superuser', logins: 2, dateCreated: 1 }, old: { name: 'superuser', logins: 1, dateCreated: 1 } },
    ]);
    expect(await rows('FOR a IN accounts RETURN a.logins')).toEqual([2]);
  });

  it('REPLACE (repsert) replaces the found document; the filter syntax with CURRENT', async () => {
    expect(
      await rows(
        `UPSERT FILTER CURRENT.name == 'superuser' INSERT { name: 'superuser' } REPLACE { name: 'superuser', level: OLD.logins * 10 } IN accounts RETURN NEW`,
      ),
    ).toEqual([{ name: 'superuser', level: 20 }]);
    expect(
      await rows(`UPSERT FILTER CURRENT.level < 30 AND (STARTS_WITH(CURRENT.name, "Jo") OR CURRENT.level > 10)
        INSERT { name: 'Jordan' } UPDATE { seen: true } IN accounts RETURN [NEW.name, NEW.seen]`),
    ).toEqual([['superuser', true]]);
    expect(
      await rows(`UPSERT FILTER CURRENT.level > 100 INSERT { name: 'Jordan' } UPDATE { seen: true } IN accounts RETURN [NEW.name, OLD]`),
    ).toEqual([['Jordan', null]]);
  });

  it('nested search objects match attribute paths; a bind parameter works too; per row in a loop', async () => {
    await rows('INSERT { _key: "n1", profile: { city: "Rome", zip: 1 } } INTO upserts');
    expect(await rows('UPSERT { profile: { city: "Rome" } } INSERT {} UPDATE { hit: 1 } IN upserts RETURN NEW._key')).toEqual(['n1']);
    expect(await rows('UPSERT @s INSERT @s UPDATE { hit: 2 } IN upserts RETURN [NEW._key, NEW.hit]', { s: { _key: 'n1' } })).toEqual([
      ['n1', 2],
    ]);
    expect(await rows('FOR i IN [1, 2, 1] UPSERT { k: i } INSERT { k: i, c: 1 } UPDATE { c: OLD.c + 1 } IN counters RETURN NEW.c')).toEqual(
      [1, 1, 2],
    ); // the third finds the document the first inserted
    expect(
      await rows('FOR i IN [1, 2] UPSERT { k: i } INSERT { k: i, c: 1 } UPDATE { c: OLD.c + 1 } IN counters SORT NEW.c RETURN NEW.c'),
    ).toEqual([2, 3]);
    expect(await rows('FOR c IN counters SORT c.k RETURN [c.k, c.c]')).toEqual([
      [1, 3],
      [2, 2],
    ]);
  });

  it('refuses what ArangoDB refuses: a search that is no object literal or bind parameter, a missing UPDATE/REPLACE', async () => {
    await refused(
      'LET s = {a: 1} UPSERT s INSERT s UPDATE {} IN upserts',
      'VALIDATION_FAILED',
      /must be an object literal or a bind parameter/,
    );
    await refused('UPSERT {[CONCAT("a")]: 1} INSERT {} UPDATE {} IN upserts', 'VALIDATION_FAILED', /computed attribute names/);
    await refused('UPSERT {a: 1} INSERT {a: 1} IN upserts', 'VALIDATION_FAILED', /expected UPDATE or REPLACE/);
    await refused('UPSERT {a: 1} INSERT OLD UPDATE {} IN upserts', 'VALIDATION_FAILED', /variable "OLD" is not declared/);
  });
});

describe('LIKE: the operator and the function read a pattern the same way (ArangoDB buildLikePattern)', () => {
  it.each([
    // [text, pattern, ArangoDB's answer]
    ['a%b', 'a\\%b', true], // \% is a literal percent sign
    ['axb', 'a\\%b', false],
    ['a_b', 'a\\_b', true],
    ['a\\b', 'a\\\\b', true], // \\ is one literal backslash
    ['\\a', '\\a', true], // a backslash before an ordinary character stays a literal backslash
    ['a', '\\a', false],
    ['a.c', 'a\\.c', true], // a backslash before a regex special character is dropped: "." is literal
    ['abc', 'abc\\', true], // a trailing lone backslash is dropped
  ])('%j LIKE %j → %j', async (text, pattern, expected) => {
    const q = 'RETURN [@t LIKE @p, LIKE(@t, @p), @t NOT LIKE @p]';
    expect(await rows(q, { t: text, p: pattern })).toEqual([[expected, expected, !expected]]);
  });
});
