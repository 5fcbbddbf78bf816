import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Query } from '../../src/aql/ast.js';
import { parseAql } from '../../src/aql/parse.js';
import { ThemisError } from '../../src/errors.js';
import { prng } from '../helpers/random.js';
import { strip } from '../helpers/aql.js';

/**
 * Property tests for the AQL parser:
 *  1. expressions generated as ASTs and printed with minimal parentheses
 *     (an independent precedence table) parse back to the same AST;
 *  2. grammar-generated queries (every operation, expansions, subqueries,
 *     random keyword case, comments, whitespace) parse, with the expected
 *     operation sequence;
 *  3. mutations of valid queries and random strings either parse or fail
 *     with a 400 VALIDATION_FAILED whose line/column/offset/token describe a
 *     real place in the text; never another error, never slowly.
 * ~2,000 inputs by default; THEMIS_SLOW=1 runs ≥ 100,000.
 */
const SLOW = Boolean(process.env.THEMIS_SLOW);
const runs = (fast: number, slow: number): number => (SLOW ? slow : fast);
/** Per-input time limit (ms) for the never-hang checks. */
const SLOWEST_MS = 250;

type E = Record<string, unknown> & { type: string };

// ---- an AST generator and a printer ------------------------------------------

const RESERVED = new Set([
  'FOR',
  'LET',
  'FILTER',
  'RETURN',
  'COLLECT',
  'SORT',
  'LIMIT',
  'DISTINCT',
  'AGGREGATE',
  'WINDOW',
  'ASC',
  'DESC',
  'NOT',
  'AND',
  'OR',
  'IN',
  'INTO',
  'WITH',
  'REMOVE',
  'INSERT',
  'UPDATE',
  'REPLACE',
  'UPSERT',
  'SHORTEST_PATH',
  'K_SHORTEST_PATHS',
  'K_PATHS',
  'ALL_SHORTEST_PATHS',
  'OUTBOUND',
  'INBOUND',
  'ANY',
  'LIKE',
  'NULL',
  'TRUE',
  'FALSE',
]);
const VAR_NAMES = ['a', 'b', 'doc', 'u', 'x1', '_y', '$z', 'count', 'to', 'options', 'NEW', 'my-var', 'sp ace', 'é', 'back`tick'];
const ATTR_NAMES = [...VAR_NAMES, 'FOR', 'in', 'return', 'null', 'Like', 'filter', '_key', 'a.b'];
const FUNCS = ['LENGTH', 'CONCAT', 'MY::FN', 'LIKE', 'COUNT', 'SUM', 'TO_STRING', 'F'];
const BINARY_OPS = ['OR', 'AND', '==', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'LIKE', 'NOT LIKE', '=~', '!~', '+', '-', '*', '/', '%'];
const PREC: Record<string, number> = {
  OR: 1,
  AND: 2,
  '==': 3,
  '!=': 3,
  LIKE: 3,
  'NOT LIKE': 3,
  '=~': 3,
  '!~': 3,
  IN: 4,
  'NOT IN': 4,
  '<': 5,
  '<=': 5,
  '>': 5,
  '>=': 5,
  '..': 6,
  '+': 7,
  '-': 7,
  '*': 8,
  '/': 8,
  '%': 8,
};

const plainName = (s: string): boolean => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s);
const quoteName = (s: string): string => `\`${s.replace(/[\\`]/g, '\\$&')}\``;

const numberArb = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.integer({ min: -1000, max: -1 }),
  fc.double({ min: 0, max: 1e25, noNaN: true, noDefaultInfinity: true }).map((d) => (d === 0 ? 0 : d)),
);

const leafArb: fc.Arbitrary<E> = fc.oneof(
  numberArb.map((value) => ({ type: 'literal', value })),
  fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 })).map((value) => ({ type: 'literal', value })),
  fc.constantFrom(true, false, null).map((value) => ({ type: 'literal', value })),
  fc.constantFrom(...VAR_NAMES).map((name) => ({ type: 'var', name })),
  fc.constantFrom('p', '_x1', '0', 'value').map((name) => ({ type: 'bind', name })),
  fc.constantFrom('c', 'coll_2').map((name) => ({ type: 'bindCollection', name })),
);

const { expr: exprArb } = fc.letrec<{ expr: E }>((tie) => ({
  expr: fc.oneof(
    { maxDepth: 4, depthSize: 'small' },
    leafArb,
    fc.tuple(fc.constantFrom(...BINARY_OPS), tie('expr'), tie('expr')).map(([op, left, right]) => ({ type: 'binary', op, left, right })),
    fc.tuple(tie('expr'), tie('expr')).map(([from, to]) => ({ type: 'range', from, to })),
    fc
      .tuple(fc.constantFrom('NOT', '-', '+'), tie('expr'))
      // unary +/- on a number literal folds into the literal
      .filter(([op, arg]) => op === 'NOT' || !(arg.type === 'literal' && typeof arg.value === 'number'))
      .map(([op, arg]) => ({ type: 'unary', op, arg })),
    fc
      .tuple(tie('expr'), fc.option(tie('expr'), { nil: undefined }), tie('expr'))
      .map(([cond, then, els]) => (then ? { type: 'ternary', cond, then, else: els } : { type: 'ternary', cond, else: els })),
    fc.tuple(tie('expr'), fc.constantFrom(...ATTR_NAMES)).map(([object, name]) => ({ type: 'attr', object, name })),
    fc.tuple(tie('expr'), tie('expr')).map(([object, index]) => ({ type: 'index', object, index })),
    fc.array(tie('expr'), { maxLength: 3 }).map((items) => ({ type: 'array', items })),
    fc
      .array(
        fc.oneof(
          fc.tuple(fc.constantFrom(...ATTR_NAMES, 'k y', ''), tie('expr')).map(([key, value]) => ({ key, value })),
          fc.tuple(tie('expr'), tie('expr')).map(([key, value]) => ({ key, value })),
        ),
        { maxLength: 3 },
      )
      .map((props) => ({ type: 'object', props })),
    fc.tuple(fc.constantFrom(...FUNCS), fc.array(tie('expr'), { maxLength: 3 })).map(([name, args]) => ({ type: 'call', name, args })),
  ),
}));

/** Operator-heavy expressions over names and small literals (precedence and associativity). */
const { op: operatorExprArb } = fc.letrec<{ op: E }>((tie) => ({
  op: fc.oneof(
    { maxDepth: 5, depthSize: 'medium' },
    fc.oneof(
      fc.constantFrom('a', 'b', 'c').map((name): E => ({ type: 'var', name })),
      fc.integer({ min: 0, max: 9 }).map((value): E => ({ type: 'literal', value })),
    ),
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...BINARY_OPS), tie('op'), tie('op'))
        .map(([op, left, right]): E => ({ type: 'binary', op, left, right })),
    },
    fc.tuple(tie('op'), tie('op')).map(([from, to]): E => ({ type: 'range', from, to })),
    fc
      .tuple(fc.constantFrom('NOT', '-'), tie('op'))
      .filter(([op, arg]) => op === 'NOT' || arg.type !== 'literal')
      .map(([op, arg]): E => ({ type: 'unary', op, arg })),
    fc
      .tuple(tie('op'), fc.option(tie('op'), { nil: undefined }), tie('op'))
      .map(([cond, then, els]): E => (then ? { type: 'ternary', cond, then, else: els } : { type: 'ternary', cond, else: els })),
    fc.tuple(tie('op'), fc.constantFrom('x', 'in')).map(([object, name]): E => ({ type: 'attr', object, name })),
  ),
}));

/** Prints an AST as AQL with the fewest parentheses, in a random but deterministic style. */
class Printer {
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = prng(seed);
  }

  private pick<T>(...xs: T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  /** A keyword in random case. */
  kw(k: string): string {
    const r = this.rnd();
    if (r < 0.6) return k;
    if (r < 0.8) return k.toLowerCase();
    return [...k].map((c) => (this.rnd() < 0.5 ? c.toLowerCase() : c)).join('');
  }

  /** Whitespace, sometimes with a comment. */
  ws(): string {
    const r = this.rnd();
    if (r < 0.75) return ' ';
    if (r < 0.85) return '\n  ';
    if (r < 0.9) return '\t';
    if (r < 0.95) return ' /* c */ ';
    return ' // c\n';
  }

  name(n: string): string {
    return plainName(n) && !RESERVED.has(n.toUpperCase()) ? n : quoteName(n);
  }

  private str(s: string): string {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear in a quoted literal
    if (!/['"\\]/.test(s) && !/[\u0000-\u001f\ud800-\udfff]/.test(s) && this.rnd() < 0.3) return `'${s}'`;
    return JSON.stringify(s);
  }

  private prec(e: E): number {
    switch (e.type) {
      case 'ternary':
        return 0;
      case 'binary':
        return PREC[e.op as string]!;
      case 'range':
        return 6;
      case 'unary':
        return 9;
      case 'literal':
        return typeof e.value === 'number' && e.value < 0 ? 9 : 10;
      default:
        return 10;
    }
  }

  expr(e: E, min = 0): string {
    const s = this.bare(e);
    return this.prec(e) < min ? `(${this.ws()}${s}${this.ws()})` : s;
  }

  private bare(e: E): string {
    const w = () => this.ws();
    switch (e.type) {
      case 'literal': {
        const v = e.value;
        if (v === null) return this.kw('NULL');
        if (typeof v === 'boolean') return this.kw(v ? 'TRUE' : 'FALSE');
        if (typeof v === 'number') return v < 0 ? `-${String(-v)}` : String(v);
        return this.str(v as string);
      }
      case 'var':
        return this.name(e.name as string);
      case 'bind':
        return `@${e.name as string}`;
      case 'bindCollection':
        return `@@${e.name as string}`;
      case 'binary': {
        const op = e.op as string;
        const p = PREC[op]!;
        const sym =
          op === 'AND'
            ? this.pick(this.kw('AND'), '&&')
            : op === 'OR'
              ? this.pick(this.kw('OR'), '||')
              : /^[A-Z ]+$/.test(op)
                ? op
                    .split(' ')
                    .map((k) => this.kw(k))
                    .join(' ')
                : op;
        return `${this.expr(e.left as E, p)}${w()}${sym}${w()}${this.expr(e.right as E, p + 1)}`;
      }
      case 'range':
        return `${this.expr(e.from as E, 6)}${w()}..${w()}${this.expr(e.to as E, 7)}`;
      case 'unary': {
        const op = e.op === 'NOT' ? this.pick(`${this.kw('NOT')} `, '!') : `${e.op as string}${w()}`;
        return `${op}${this.expr(e.arg as E, 9)}`;
      }
      case 'ternary': {
        const cond = this.expr(e.cond as E, 1);
        return e.then
          ? `${cond}${w()}?${w()}${this.expr(e.then as E, 0)}${w()}:${w()}${this.expr(e.else as E, 0)}`
          : `${cond}${w()}?${this.pick('', ' ')}:${w()}${this.expr(e.else as E, 0)}`;
      }
      case 'attr': {
        const n = e.name as string;
        return `${this.expr(e.object as E, 10)}.${plainName(n) ? n : quoteName(n)}`;
      }
      case 'index':
        return `${this.expr(e.object as E, 10)}[${w()}${this.expr(e.index as E)}${w()}]`;
      case 'array':
        return `[${w()}${(e.items as E[]).map((x) => this.expr(x)).join(`,${w()}`)}${w()}]`;
      case 'object': {
        const props = (e.props as { key: string | E; value: E }[]).map(({ key, value }) => {
          if (typeof key !== 'string') return `[${w()}${this.expr(key)}${w()}]:${w()}${this.expr(value)}`;
          if (value.type === 'var' && value.name === key && plainName(key) && !RESERVED.has(key.toUpperCase()) && this.rnd() < 0.5)
            return key;
          const k = plainName(key) ? key : JSON.stringify(key);
          return `${k}:${w()}${this.expr(value)}`;
        });
        return `{${w()}${props.join(`,${w()}`)}${w()}}`;
      }
      case 'call': {
        const name = (e.name as string)
          .split('::')
          .map((p) => this.kw(p))
          .join('::');
        return `${name}(${w()}${(e.args as E[]).map((x) => this.expr(x)).join(`,${w()}`)}${w()})`;
      }
    }
    throw new TypeError(`cannot print ${e.type}`);
  }
}

// ---- a query generator (text + expected operation types) -------------------------

interface Piece {
  text: string;
  types: string[];
}

const seedArb = fc.integer({ min: 0, max: 0x7fffffff });
const varName = fc.constantFrom('x', 'y', 'doc', 'count', '`v-1`', 'to');
const collName = fc.constantFrom('users', 'orders', '`my-coll`', '@@coll', '"quoted"');

/** An expression as text: a printed AST, possibly wrapped in expansions or subqueries. */
const exprText = fc.tuple(exprArb, seedArb, fc.nat(13)).map(([e, seed, form]) => {
  const p = new Printer(seed);
  const s = p.expr(e, 10);
  switch (form) {
    case 6:
      // question-mark inline filter with a quantifier
      return `${s}[? ${['', 'ANY ', 'all ', 'NONE ', '2 ', '1..3 ', 'AT LEAST (1) ', 'at  least(x) '][seed % 8]}${p.kw('FILTER')} CURRENT > 1]`;
    case 7:
      return `${s}[?]`;
    case 8:
      // array comparison operators
      return `${s} ${['ALL', 'any', 'NONE', 'AT LEAST (2)'][seed % 4]} ${['==', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN'][(seed >> 2) % 8]} ${p.expr(e, 10)}`;
    case 0:
      return `${s}[*].a.b`;
    case 1:
      return `${s}[** ${p.kw('FILTER')} CURRENT.a > 1 ${p.kw('LIMIT')} 1, 2 ${p.kw('RETURN')} CURRENT.b]`;
    case 2:
      return `${s}[* ${p.kw('RETURN')} CURRENT[*].c][0]`;
    case 3:
      return `(${p.kw('FOR')} q ${p.kw('IN')} ${s} ${p.kw('FILTER')} q ${p.kw('RETURN')} q)`;
    case 4:
      return `${p.kw('LENGTH')}(${p.kw('FOR')} q ${p.kw('IN')} ${s} ${p.kw('RETURN')} q)`;
    case 5:
      return `(${p.kw('LET')} q = ${s} ${p.kw('RETURN')} q)`;
    default:
      return p.expr(e);
  }
});
/** An expression text that is safe where a top-level IN would end it (data-modification documents). */
const docText = exprText.map((s) => `(${s})`);

const dirArb = fc.constantFrom('OUTBOUND', 'INBOUND', 'ANY', 'outbound', 'Any');
/** An edge collection list: one or more collections, each with its own direction or not. */
const collList = fc
  .array(fc.tuple(fc.option(dirArb), collName), { minLength: 1, maxLength: 3 })
  .map((cs) => cs.map(([d, c]) => (d === null ? c : `${d} ${c}`)).join(', '));

const opArb: fc.Arbitrary<Piece> = fc.oneof(
  fc
    .tuple(
      varName,
      fc.oneof(
        collName.filter((c) => !c.startsWith('"')),
        exprText,
      ),
    )
    .map(([v, src]) => ({ text: `FOR ${v} IN ${src}`, types: ['for'] })),
  fc
    .tuple(
      varName,
      fc.option(fc.constantFrom('1', '2', '0..3', '1..1')),
      dirArb,
      exprText,
      collList,
      // PRUNE [var =] condition, then OPTIONS (ArangoDB's order of the two clauses)
      fc.option(fc.tuple(fc.option(fc.constantFrom('stop', 'cond', 'count')), exprText, fc.constantFrom('PRUNE', 'prune', 'Prune'))),
      fc.option(
        fc.constantFrom(
          '{order: "bfs"}',
          '{order: "dfs", uniqueEdges: "none"}',
          '{uniqueVertices: "path"}',
          '{bfs: true, uniqueVertices: "global"}',
          '{order: "weighted", weightAttribute: "w", defaultWeight: 2}',
          '{"order": @order, parallelism: 2, vertexCollections: ["a", "b"]}',
        ),
      ),
    )
    .map(([v, depth, dir, start, coll, prune, options]) => ({
      text:
        `FOR ${v}, e, p IN ${depth ?? ''} ${dir} ${start} ${coll}` +
        (prune ? ` ${prune[2]} ${prune[0] === null ? '' : `${prune[0]} = `}${prune[1]}` : '') +
        (options ? ` OPTIONS ${options}` : ''),
      types: ['traversal'],
    })),
  fc
    .tuple(varName, dirArb, exprText, exprText, collList)
    .map(([v, dir, from, to, coll]) => ({ text: `FOR ${v}, e IN ${dir} SHORTEST_PATH ${from} TO ${to} ${coll}`, types: ['shortestPath'] })),
  // K_SHORTEST_PATHS / ALL_SHORTEST_PATHS (no depth), K_PATHS (optional depth); one variable; OPTIONS
  fc
    .tuple(
      varName,
      fc.constantFrom(
        ['', 'K_SHORTEST_PATHS'],
        ['', 'all_shortest_paths'],
        ['', 'K_PATHS'],
        ['2 ', 'K_PATHS'],
        ['1..3 ', 'k_paths'],
        ['0..0 ', 'K_PATHS'],
      ),
      dirArb,
      exprText,
      exprText,
      collList,
      fc.option(fc.constantFrom('{useCache: false}', '{"useCache": @c}')),
    )
    .map(([v, [depth, word], dir, from, to, coll, options]) => ({
      text: `FOR ${v} IN ${depth}${dir} ${word} ${from} TO ${to} ${coll}${options ? ` OPTIONS ${options}` : ''}`,
      types: ['paths'],
    })),
  exprText.map((e) => ({ text: `FILTER ${e}`, types: ['filter'] })),
  fc
    .array(fc.tuple(varName, exprText), { minLength: 1, maxLength: 3 })
    .map((lets) => ({ text: `LET ${lets.map(([v, e]) => `${v} = ${e}`).join(', ')}`, types: lets.map(() => 'let') })),
  fc
    .array(fc.tuple(exprText, fc.constantFrom('', ' ASC', ' DESC', ' desc')), { minLength: 1, maxLength: 3 })
    .map((keys) => ({ text: `SORT ${keys.map(([e, d]) => e + d).join(', ')}`, types: ['sort'] })),
  fc.tuple(exprText, fc.option(exprText)).map(([a, b]) => ({ text: b === null ? `LIMIT ${a}` : `LIMIT ${a}, ${b}`, types: ['limit'] })),
  fc
    .tuple(
      fc.array(fc.tuple(varName, exprText), { maxLength: 2 }),
      fc.array(fc.tuple(varName, fc.constantFrom('SUM', 'count', 'Max', 'UNIQUE', 'PUSH'), exprText), { maxLength: 2 }),
      fc.option(fc.tuple(varName, fc.option(exprText), fc.array(varName, { maxLength: 2 }))),
      fc.boolean(),
    )
    .filter(([g, a, into, count]) => g.length > 0 || a.length > 0 || into !== null || count)
    .map(([g, a, into, count]) => {
      let t = 'COLLECT';
      if (g.length) t += ` ${g.map(([v, e]) => `${v} = ${e}`).join(', ')}`;
      if (a.length) t += ` AGGREGATE ${a.map(([v, f, e]) => `${v} = ${f}(${e})`).join(', ')}`;
      if (into) t += ` INTO ${into[0]}${into[1] === null ? '' : ` = ${into[1]}`}`;
      if (into && into[1] === null && into[2].length > 0) t += ` KEEP ${into[2].join(', ')}`;
      if (count) t += ' WITH COUNT INTO n';
      return { text: t, types: ['collect'] };
    }),
  // WINDOW { preceding, following } AGGREGATE ... (row-based) or WINDOW range WITH { ... } AGGREGATE ... (range-based)
  fc
    .tuple(
      fc.option(exprText),
      fc.option(fc.constantFrom('1', '0', '"unbounded"', '@n', '"PT30M"', '2.5', 'x')),
      fc.option(fc.constantFrom('1', '0', '"unbounded"', '@n', '"P1D"', 'x')),
      fc.array(fc.tuple(varName, fc.constantFrom('SUM', 'count', 'Avg', 'UNIQUE', 'PUSH', 'MIN'), exprText), {
        minLength: 1,
        maxLength: 2,
      }),
      fc.constantFrom('WINDOW', 'window', 'Window'),
    )
    .map(([range, pre, fol, a, kw]) => {
      const spec = [pre === null ? '' : `preceding: ${pre}`, fol === null ? '' : `following: ${fol}`].filter((x) => x).join(', ');
      const head = range === null ? `${kw} { ${spec} }` : `${kw} ${range} WITH { ${spec} }`;
      return { text: `${head} AGGREGATE ${a.map(([v, f, e]) => `${v} = ${f}(${e})`).join(', ')}`, types: ['window'] };
    }),
);

const modificationArb: fc.Arbitrary<Piece> = fc.oneof(
  fc
    .tuple(docText, fc.constantFrom('INTO', 'IN'), collName, fc.boolean())
    .map(([d, kw, c, o]) => ({ text: `INSERT ${d} ${kw} ${c}${o ? ' OPTIONS {waitForSync: true}' : ''}`, types: ['insert'] })),
  fc
    .tuple(fc.constantFrom('UPDATE', 'REPLACE', 'update'), docText, fc.option(docText), fc.constantFrom('INTO', 'IN'), collName)
    .map(([k, key, w, kw, c]) => ({
      text: `${k} ${key}${w === null ? '' : ` WITH ${w}`} ${kw} ${c}`,
      types: [k.toLowerCase()],
    })),
  fc.tuple(docText, fc.constantFrom('INTO', 'IN'), collName).map(([d, kw, c]) => ({ text: `REMOVE ${d} ${kw} ${c}`, types: ['remove'] })),
  // UPSERT: a LET (the lookup) and the upsert
  fc
    .tuple(
      fc.boolean(),
      docText,
      docText,
      fc.constantFrom('UPDATE', 'REPLACE', 'replace'),
      docText,
      fc.constantFrom('INTO', 'IN'),
      collName,
    )
    .map(([f, search, ins, k, upd, kw, c]) => ({
      text: `UPSERT ${f ? `FILTER CURRENT.a == ${search}` : `{a: ${search}, b: {c: 1}}`} INSERT ${ins} ${k} ${upd} ${kw} ${c}`,
      types: ['let', 'upsert'],
    })),
);

const queryArb: fc.Arbitrary<{ text: string; types: string[]; hasReturn: boolean }> = fc
  .tuple(
    fc.array(opArb, { maxLength: 4 }),
    fc.nat(2),
    modificationArb,
    exprText,
    fc.boolean(),
    fc.boolean(),
    fc.option(fc.array(collName, { minLength: 1, maxLength: 3 })),
  )
  .map(([ops, ending, mod, ret, distinct, lower, declared]) => {
    const pieces = [...ops];
    if (ending !== 0) pieces.push(mod);
    const hasReturn = ending !== 1;
    let text = pieces.map((p) => p.text).join('\n');
    if (declared) text = `WITH ${declared.join(', ')}\n${text}`;
    // RETURN DISTINCT only after a loop (ArangoDB refuses it on the top level of a (sub)query)
    const loop = ops.some(
      (p) => p.types[0] === 'for' || p.types[0] === 'traversal' || p.types[0] === 'shortestPath' || p.types[0] === 'paths',
    );
    if (hasReturn) text += `\nRETURN ${distinct && loop ? 'DISTINCT ' : ''}${ret}`;
    // keyword case does not matter: lower-case the query's own keywords sometimes
    if (lower)
      text = text.replace(
        /\b(FOR|IN|FILTER|LET|SORT|LIMIT|COLLECT|AGGREGATE|WINDOW|INTO|WITH|COUNT|RETURN|DISTINCT|INSERT|REMOVE|OPTIONS|PRUNE|SHORTEST_PATH|K_SHORTEST_PATHS|K_PATHS|ALL_SHORTEST_PATHS|TO)\b/g,
        (k) => k.toLowerCase(),
      );
    return { text, types: pieces.flatMap((p) => p.types), hasReturn };
  });

// ---- checking failures ------------------------------------------------------------

/** Line/column of an offset, counting \n, \r\n and \r as line ends. */
function lineColumn(text: string, offset: number): [number, number] {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      col = 1;
    } else if (c !== 13) col++;
  }
  return [line, col];
}

let slowest = 0;

/** Parses `text`: returns the query, or checks the error is a well-formed 400 and returns undefined. */
function parseOrCheckError(text: string): Query | undefined {
  let query: Query | undefined;
  let err: unknown;
  const attempt = (): number => {
    const t0 = performance.now();
    query = undefined;
    try {
      query = parseAql(text);
    } catch (e) {
      err = e;
    }
    return performance.now() - t0;
  };
  let ms = attempt();
  // a slow run is timed again: a GC pause or a JIT hiccup does not repeat, a pathological input does
  for (let i = 0; i < 3 && ms > SLOWEST_MS / 5; i++) ms = Math.min(ms, attempt());
  slowest = Math.max(slowest, ms);
  if (query) return query;
  if (!(err instanceof ThemisError)) throw new Error(`non-ThemisError for ${JSON.stringify(text)}: ${String(err)}`, { cause: err });
  expect([err.code, err.status, err.details?.field]).toEqual(['VALIDATION_FAILED', 400, 'query']);
  const { line, column, offset, token } = err.details as { line: number; column: number; offset: number; token: string };
  const where = `${JSON.stringify(text)} → ${err.message}`;
  expect(Number.isInteger(line) && line >= 1 && Number.isInteger(column) && column >= 1, where).toBe(true);
  expect(Number.isInteger(offset) && offset >= 0 && offset <= text.length, where).toBe(true);
  expect(lineColumn(text, offset), where).toEqual([line, column]);
  expect(typeof token, where).toBe('string');
  if (token !== '') expect(text.startsWith(token.replace(/…$/, ''), offset), where).toBe(true);
  expect(err.message.length, where).toBeLessThan(400);
  return undefined;
}

const PIECES = [
  'FOR',
  'IN',
  'RETURN',
  'FILTER',
  'LET',
  'SORT',
  'LIMIT',
  'COLLECT',
  'WINDOW',
  'INTO',
  'WITH',
  'COUNT',
  'AGGREGATE',
  'INSERT',
  'UPDATE',
  'REPLACE',
  'REMOVE',
  'UPSERT',
  'OUTBOUND',
  'SHORTEST_PATH',
  'K_SHORTEST_PATHS',
  'K_PATHS',
  'ALL_SHORTEST_PATHS',
  'TO',
  'OPTIONS',
  'PRUNE',
  'KEEP',
  'ALL',
  'NONE',
  'AT LEAST',
  'DISTINCT',
  'NOT',
  'AND',
  '||',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '[*',
  '[**]',
  '[?',
  '[? ANY FILTER',
  ',',
  ':',
  '?',
  '.',
  '..',
  '=',
  '==',
  '"',
  "'",
  '`',
  '/*',
  '*/',
  '//',
  '\n',
  '@',
  '@@',
  'x',
  'CURRENT',
  '1',
  '0x',
  '1e',
  '-',
  '!',
  '::',
  'é',
  '\u2028',
  '\r',
];

/** Applies 1-3 random edits (delete, insert a piece or a character, replace, duplicate, transpose). */
const mutatedArb = fc
  .tuple(
    queryArb,
    fc.array(
      fc.tuple(fc.nat(4), fc.nat(), fc.nat(), fc.constantFrom(...PIECES), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([q, edits]) => {
    let s = q.text;
    for (const [kind, a, b, piece, ch] of edits) {
      const i = s.length === 0 ? 0 : a % s.length;
      const j = Math.min(s.length, i + 1 + (b % 6));
      switch (kind) {
        case 0:
          s = s.slice(0, i) + s.slice(j);
          break;
        case 1:
          s = s.slice(0, i) + (b % 2 ? ` ${piece} ` : piece) + s.slice(i);
          break;
        case 2:
          s = s.slice(0, i) + ch + s.slice(i + 1);
          break;
        case 3:
          s = s.slice(0, j) + s.slice(i, j) + s.slice(j);
          break;
        default:
          s = s.slice(0, i) + s.slice(i + 1, j) + s.slice(i, i + 1) + s.slice(j);
      }
    }
    return s;
  });

const randomArb = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 30 }).map((ps) => ps.join(' ')),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 30 }).map((ps) => ps.join('')),
);

describe('AQL parser: properties', () => {
  // warm up so the timing checks measure steady state
  for (let i = 0; i < 200; i++) parseOrCheckError('FOR u IN users FILTER u.a == 1 RETURN u');
  slowest = 0;

  it('generated expressions print and parse back to the same AST (precedence, literals, names)', () => {
    fc.assert(
      fc.property(fc.oneof(exprArb, operatorExprArb), seedArb, (e, seed) => {
        const text = `RETURN ${new Printer(seed).expr(e)}`;
        const q = parseOrCheckError(text);
        expect(q, text).toBeDefined();
        expect(strip(q!.ret!.expr), text).toEqual(e);
      }),
      { numRuns: runs(500, 30_000) },
    );
  });

  it('grammar-generated queries parse, with the operations in order', () => {
    fc.assert(
      fc.property(queryArb, ({ text, types, hasReturn }) => {
        const q = parseOrCheckError(text);
        expect(q, text).toBeDefined();
        expect(
          q!.ops.map((o) => o.type),
          text,
        ).toEqual(types);
        expect(q!.ret !== undefined, text).toBe(hasReturn);
      }),
      { numRuns: runs(500, 30_000) },
    );
  });

  it('mutated queries parse or fail with a positioned 400, quickly', () => {
    fc.assert(
      fc.property(mutatedArb, (text) => void parseOrCheckError(text)),
      { numRuns: runs(600, 25_000) },
    );
    expect(slowest).toBeLessThan(SLOWEST_MS);
  });

  it('random strings and token soup parse or fail with a positioned 400, quickly', () => {
    fc.assert(
      fc.property(randomArb, (text) => void parseOrCheckError(text)),
      { numRuns: runs(400, 20_000) },
    );
    expect(slowest).toBeLessThan(SLOWEST_MS);
  });
});
