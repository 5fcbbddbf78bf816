/**
 * The AQL grammar as a chevrotain CstParser (LL(k), error recovery off).
 * One instance is built at module load (`aqlParser`) and reused: set
 * `input`, call `resetState()` and `query()`, read `errors` (parse.ts).
 *
 *   query        := (WITH collection (, collection)*)? operation+
 *   operation    := forOp | letOp | filterOp | sortOp | limitOp | collectOp | windowOp
 *                 | returnOp | insertOp | updateOp | removeOp | upsertOp
 *   forOp        := FOR name (, name)* IN ( graphSpec | expr graphSpec? ) (PRUNE (name =)? expr)? optionsClause?
 *   graphSpec    := direction ( (SHORTEST_PATH|K_SHORTEST_PATHS|K_PATHS|ALL_SHORTEST_PATHS) expr TO expr | expr )
 *                   edgeColl (, edgeColl)*        edgeColl := direction? collection
 *   direction    := OUTBOUND | INBOUND | ANY
 *   letOp        := LET name = expr (, name = expr)*
 *   filterOp     := FILTER expr
 *   sortOp       := SORT sortKey (, sortKey)*          sortKey := expr (ASC|DESC)?
 *   limitOp      := LIMIT expr (, expr)?
 *   collectOp    := COLLECT ( assignments collectAggregate? collectInto? collectCount?
 *                           | collectAggregate collectInto? collectCount?
 *                           | collectInto collectCount? | collectCount ) optionsClause?
 *   windowOp     := WINDOW expr (WITH expr)? AGGREGATE assignments
 *                   (row-based: the first expr is the { preceding, following } object;
 *                   range-based: WINDOW rangeValue WITH { ... }; ast-builder.ts checks the objects)
 *   returnOp     := RETURN DISTINCT? expr
 *   insertOp     := INSERT docExpr inOrInto
 *   updateOp     := (UPDATE|REPLACE) docExpr (WITH docExpr)? inOrInto
 *   removeOp     := REMOVE docExpr inOrInto
 *   upsertOp     := UPSERT (FILTER docExpr | docExpr) INSERT docExpr (UPDATE|REPLACE) docExpr inOrInto
 *   inOrInto     := (INTO|IN) collection optionsClause?
 *   optionsClause:= OPTIONS { objectEntry, ... }
 *   expr         := operand ((binop | quantifier cmpop) operand)* ( ? expr? : expr )?
 *   quantifier   := ALL | ANY | NONE | AT LEAST ( expr )
 *   collectInto  := INTO name (= expr)? (KEEP name (, name)*)?
 *   operand      := prefixop* primary postfix*
 *   primary      := number | string | TRUE | FALSE | NULL | @bind | @@bind
 *                 | (name (:: name)* | LIKE) ( "(" (argument (, argument)*)? ")" )?
 *                 | "(" ( operation+ | expr ) ")"
 *                 | "[" (expr (, expr)* ,?)? "]"
 *                 | "{" (objectEntry (, objectEntry)* ,?)? "}"
 *   argument     := argSubquery (= operation+) | expr
 *   postfix      := . (name | @bind) | [ expr ] | [ *+ (FILTER expr)? (LIMIT expr (, expr)?)? (RETURN expr)? ]
 *                 | [ ?+ ((quantifier | expr)? FILTER expr)? ]
 *
 * The operations of a (sub)query are sibling CST nodes keyed by rule name;
 * ast-builder.ts restores their order from the keyword offsets. Binary
 * operators are parsed as a flat list (`op` tokens between `operand`s) and
 * folded by precedence in ast-builder.ts. Both keep the recursion (stack
 * depth per nesting level) and the CST small.
 *
 * Inside the document/key expressions of INSERT, UPDATE, REPLACE and REMOVE
 * the binary `IN` is switched off outside brackets (`REMOVE doc IN users` is
 * not `doc IN users`), as in ArangoDB.
 *
 * Nesting is bounded by a cost counter that follows the rule recursion
 * (MAX_COST; 2 per expression, +1 per object entry, call argument or graph
 * traversal, +2 per subquery or [index]/[*] bracket), so the parser's stack
 * use stays at about half of what a fresh Node process (default stack) can
 * take: 200 levels of parentheses, arrays or ?: fit; objects and calls ~130
 * levels; subqueries and [index]/[*] 100; traversals in subqueries 80.
 */
import { CstParser, EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import * as T from './lexer.js';

/** Levels of nested parentheses (the cheapest nesting) accepted; other constructs cost more per level. */
export const MAX_NESTING = 200;
/** The nesting cost limit (2 per expression level, one of which the top-level expression uses). */
const MAX_COST = 2 * (MAX_NESTING + 1);

/** Thrown (not recorded) when the nesting limit is hit; parse.ts turns it into a positioned error. */
export class NestingError extends Error {
  constructor(readonly token: IToken) {
    super('nested too deeply');
    this.name = 'NestingError';
  }
}

// ---- error messages -------------------------------------------------------

/** The tokens an expression can start with (collapsed to "an expression" in messages). */
const EXPRESSION_START = new Set<TokenType>([
  T.NumberLiteral,
  T.StringLiteral,
  T.True,
  T.False,
  T.Null,
  T.BindParam,
  T.BindCollection,
  T.LBracket,
  T.LBrace,
  T.LParen,
  T.Name,
  T.Identifier,
  T.QuotedName,
  T.Count,
  T.To,
  T.Options,
  T.Keep,
  T.Prune,
  T.All,
  T.None,
  T.Like,
  T.Minus,
  T.Plus,
  T.Not,
  T.Bang,
  T.PrefixOp,
]);

/** The tokens an operation starts with (collapsed to "an operation" in messages). */
const OPERATION_START = new Set<TokenType>([
  T.For,
  T.Let,
  T.Filter,
  T.Sort,
  T.Limit,
  T.Collect,
  T.Window,
  T.Return,
  T.Insert,
  T.Update,
  T.Replace,
  T.Remove,
  T.Upsert,
]);

/** The operators an ALL/ANY/NONE/AT LEAST quantifier can precede. */
const COMPARISONS = new Set<TokenType>([T.Eq, T.Ne, T.Lt, T.Le, T.Gt, T.Ge, T.In]);

export const OPERATION_LIST = 'FOR, LET, FILTER, SORT, LIMIT, COLLECT, RETURN, INSERT/UPDATE/REPLACE/REMOVE';

const DESCRIPTIONS: Record<string, string> = {
  Name: 'a name',
  AnyName: 'an attribute name',
  Identifier: 'a name',
  QuotedName: 'a name',
  StringLiteral: 'a string',
  NumberLiteral: 'a number',
  BindParam: 'a bind parameter (@name)',
  BindCollection: 'a collection bind parameter (@@name)',
  BinaryOp: 'an operator',
  PrefixOp: 'an operator',
};

export function describeToken(t: TokenType): string {
  if (t === EOF) return 'end of query';
  return DESCRIPTIONS[t.name] ?? t.LABEL ?? t.name;
}

/** "a, b or c" of the distinct descriptions (expression and operation starts collapsed), at most 8. */
export function describeExpected(types: Iterable<TokenType>): string {
  const out: string[] = [];
  let exprStarts = 0;
  let opStarts = 0;
  for (const t of types) {
    if (EXPRESSION_START.has(t)) exprStarts++;
    else if (OPERATION_START.has(t)) opStarts++;
    else {
      const d = describeToken(t);
      if (!out.includes(d)) out.push(d);
    }
  }
  const extra: string[] = [];
  if (exprStarts >= 3) extra.push('an expression');
  else if (exprStarts > 0) for (const t of types) if (EXPRESSION_START.has(t)) extra.push(describeToken(t));
  if (opStarts >= 3) extra.push('a subquery');
  else if (opStarts > 0) for (const t of types) if (OPERATION_START.has(t)) extra.push(describeToken(t));
  out.unshift(...extra.filter((d, i) => extra.indexOf(d) === i && !out.includes(d)));
  if (out.length > 8) out.splice(7, out.length - 7, '…');
  if (out.length <= 1) return out[0] ?? 'something else';
  return `${out.slice(0, -1).join(', ')} or ${out[out.length - 1]}`;
}

const RULE_DESCRIPTIONS: Record<string, string> = {
  collectOp: 'a grouping (name = expression), AGGREGATE, INTO or WITH COUNT INTO after COLLECT',
  collection: 'a collection name or a bind parameter (@@name)',
  objectEntry: 'an attribute name, a "string", [expression] or @bind followed by ":"',
};

const firstTokens = (paths: TokenType[][][]): Set<TokenType> => {
  const s = new Set<TokenType>();
  for (const alt of paths) for (const p of alt) if (p[0]) s.add(p[0]);
  return s;
};

/** Messages without position (parse.ts prefixes line/column and the offending token). */
export const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected }) {
    return `expected ${describeToken(expected)}`;
  },
  buildNotAllInputParsedMessage() {
    return `expected an operation (${OPERATION_LIST}) or the end of the query`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, ruleName, customUserDescription }) {
    const d = customUserDescription ?? RULE_DESCRIPTIONS[ruleName];
    if (d) return `expected ${d}`;
    return `expected ${describeExpected(firstTokens(expectedPathsPerAlt))}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, customUserDescription }) {
    if (customUserDescription) return `expected ${customUserDescription}`;
    return `expected ${describeExpected(firstTokens([expectedIterationPaths]))}`;
  },
};

const OPERATION_MSG = `an operation (${OPERATION_LIST})`;

// ---- the grammar ------------------------------------------------------------

export class AqlParser extends CstParser {
  /** Binary IN is off (top level of a data-modification document expression). */
  private noIn = false;
  /** Nesting cost so far (see MAX_COST). */
  private cost = 0;

  constructor() {
    super(T.allTokens, { recoveryEnabled: false, maxLookahead: 3, errorMessageProvider });
    this.performSelfAnalysis();
  }

  /** Call before each parse (after setting `input`). */
  resetState(): void {
    this.noIn = false;
    this.cost = 0;
  }

  private enter(cost: number): void {
    this.ACTION(() => {
      this.cost += cost;
      if (this.cost > MAX_COST) throw new NestingError(this.LA(1));
    });
  }

  private leave(cost: number): void {
    this.ACTION(() => {
      this.cost -= cost;
    });
  }

  /** Switches binary IN on (inside brackets); returns the previous state for `restoreIn`. */
  private allowIn(): boolean {
    const saved = this.noIn;
    this.ACTION(() => {
      this.noIn = false;
    });
    return saved;
  }

  private restoreIn(saved: boolean): void {
    this.ACTION(() => {
      this.noIn = saved;
    });
  }

  /**
   * Whether the tokens after an operand continue the expression with a
   * binary operator: not a binary IN where it is switched off, and
   * ANY/ALL/NONE only as the quantifier of a comparison (`1..3 ANY start
   * edges` is a traversal direction, `... OUTBOUND start all` an edge
   * collection named "all").
   */
  private continuesExpr(): boolean {
    const t = this.LA(1).tokenType;
    if (t === T.Any || t === T.All || t === T.None) {
      let n = this.LA(2).tokenType;
      if (n === T.Not) {
        if (this.LA(3).tokenType !== T.In) return false;
        n = T.In;
      }
      return COMPARISONS.has(n) && !(this.noIn && n === T.In);
    }
    return !this.noIn || t !== T.In;
  }

  /** One operation (alternatives shared by the query, parenthesized subqueries and bare subquery arguments). */
  private operation(): void {
    this.OR9({
      ERR_MSG: OPERATION_MSG,
      DEF: [
        { ALT: () => this.SUBRULE(this.forOp) },
        { ALT: () => this.SUBRULE(this.filterOp) },
        { ALT: () => this.SUBRULE(this.letOp) },
        { ALT: () => this.SUBRULE(this.sortOp) },
        { ALT: () => this.SUBRULE(this.limitOp) },
        { ALT: () => this.SUBRULE(this.collectOp) },
        { ALT: () => this.SUBRULE(this.windowOp) },
        { ALT: () => this.SUBRULE(this.returnOp) },
        { ALT: () => this.SUBRULE(this.insertOp) },
        { ALT: () => this.SUBRULE(this.updateOp) },
        { ALT: () => this.SUBRULE(this.removeOp) },
        { ALT: () => this.SUBRULE(this.upsertOp) },
      ],
    });
  }

  public query = this.RULE('query', () => {
    this.OPTION(() => {
      this.CONSUME(T.With);
      this.SUBRULE(this.collection);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.collection);
      });
    });
    this.AT_LEAST_ONE({ ERR_MSG: OPERATION_MSG, DEF: () => this.operation() });
  });

  private forOp = this.RULE('forOp', () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Name);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.CONSUME2(T.Name);
    });
    this.CONSUME(T.In);
    this.OR([
      { ALT: () => this.SUBRULE(this.graphSpec) },
      {
        ALT: () => {
          this.SUBRULE(this.expr);
          this.OPTION(() => this.SUBRULE2(this.graphSpec));
        },
      },
    ]);
    // PRUNE [var =] condition (traversals only; ast-builder refuses it elsewhere)
    this.OPTION3(() => {
      this.CONSUME(T.Prune);
      this.OPTION4(() => {
        this.CONSUME3(T.Name, { LABEL: 'pruneVar' });
        this.CONSUME(T.Assign);
      });
      this.SUBRULE3(this.expr, { LABEL: 'prune' });
    });
    this.OPTION2(() => this.SUBRULE(this.optionsClause));
  });

  private graphSpec = this.RULE('graphSpec', () => {
    this.enter(1);
    this.OR([
      { ALT: () => this.CONSUME(T.Outbound, { LABEL: 'dir' }) },
      { ALT: () => this.CONSUME(T.Inbound, { LABEL: 'dir' }) },
      { ALT: () => this.CONSUME(T.Any, { LABEL: 'dir' }) },
    ]);
    this.OR2([
      {
        ALT: () => {
          this.OR3([
            { ALT: () => this.CONSUME(T.ShortestPath, { LABEL: 'search' }) },
            { ALT: () => this.CONSUME(T.KShortestPaths, { LABEL: 'search' }) },
            { ALT: () => this.CONSUME(T.KPaths, { LABEL: 'search' }) },
            { ALT: () => this.CONSUME(T.AllShortestPaths, { LABEL: 'search' }) },
          ]);
          this.SUBRULE(this.expr);
          this.CONSUME(T.To);
          this.SUBRULE2(this.expr);
        },
      },
      { ALT: () => this.SUBRULE3(this.expr) },
    ]);
    this.SUBRULE(this.edgeColl);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.edgeColl);
    });
    this.leave(1);
  });

  /** One entry of a graph operation's edge collection list: its own direction, then the collection. */
  private edgeColl = this.RULE('edgeColl', () => {
    this.OPTION(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Outbound, { LABEL: 'dir' }) },
        { ALT: () => this.CONSUME(T.Inbound, { LABEL: 'dir' }) },
        { ALT: () => this.CONSUME(T.Any, { LABEL: 'dir' }) },
      ]),
    );
    this.SUBRULE(this.collection);
  });

  private collection = this.RULE('collection', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Name) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.BindCollection) },
      { ALT: () => this.CONSUME(T.BindParam) },
    ]);
  });

  private optionsClause = this.RULE('optionsClause', () => {
    this.CONSUME(T.Options);
    this.CONSUME(T.LBrace);
    const saved = this.allowIn();
    this.OPTION(() => {
      this.SUBRULE(this.objectEntry);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.objectEntry);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.restoreIn(saved);
    this.CONSUME(T.RBrace, { ERR_MSG: 'expected "," or "}"' });
  });

  private filterOp = this.RULE('filterOp', () => {
    this.CONSUME(T.Filter);
    this.SUBRULE(this.expr);
  });

  private letOp = this.RULE('letOp', () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Name);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expr);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.CONSUME2(T.Name);
      this.CONSUME2(T.Assign);
      this.SUBRULE2(this.expr);
    });
  });

  private sortOp = this.RULE('sortOp', () => {
    this.CONSUME(T.Sort);
    this.SUBRULE(this.sortKey);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.sortKey);
    });
  });

  private sortKey = this.RULE('sortKey', () => {
    this.SUBRULE(this.expr);
    this.OPTION(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Asc) }, { ALT: () => this.CONSUME(T.Desc) }]);
    });
  });

  private limitOp = this.RULE('limitOp', () => {
    this.CONSUME(T.Limit);
    this.SUBRULE(this.expr);
    this.OPTION(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.expr);
    });
  });

  private returnOp = this.RULE('returnOp', () => {
    this.CONSUME(T.Return);
    this.OPTION(() => this.CONSUME(T.Distinct));
    this.SUBRULE(this.expr);
  });

  private collectOp = this.RULE('collectOp', () => {
    this.CONSUME(T.Collect);
    this.OR([
      {
        ALT: () => {
          this.SUBRULE(this.assignments);
          this.OPTION(() => this.SUBRULE(this.collectAggregate));
          this.OPTION2(() => this.SUBRULE(this.collectInto));
          this.OPTION3(() => this.SUBRULE(this.collectCount));
        },
      },
      {
        ALT: () => {
          this.SUBRULE2(this.collectAggregate);
          this.OPTION4(() => this.SUBRULE2(this.collectInto));
          this.OPTION5(() => this.SUBRULE2(this.collectCount));
        },
      },
      {
        ALT: () => {
          this.SUBRULE3(this.collectInto);
          this.OPTION6(() => this.SUBRULE3(this.collectCount));
        },
      },
      { ALT: () => this.SUBRULE4(this.collectCount) },
    ]);
    this.OPTION7(() => this.SUBRULE(this.optionsClause));
  });

  /** `name = expr (, name = expr)*` (COLLECT groups and AGGREGATE). */
  private assignments = this.RULE('assignments', () => {
    this.CONSUME(T.Name);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expr);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.CONSUME2(T.Name);
      this.CONSUME2(T.Assign);
      this.SUBRULE2(this.expr);
    });
  });

  /** `WINDOW spec AGGREGATE ...` or `WINDOW rangeValue WITH spec AGGREGATE ...` (AGGREGATE is required, as in ArangoDB). */
  private windowOp = this.RULE('windowOp', () => {
    this.CONSUME(T.Window);
    this.SUBRULE(this.expr);
    this.OPTION(() => {
      this.CONSUME(T.With);
      this.SUBRULE2(this.expr);
    });
    this.SUBRULE(this.collectAggregate);
  });

  private collectAggregate = this.RULE('collectAggregate', () => {
    this.CONSUME(T.Aggregate);
    this.SUBRULE(this.assignments);
  });

  private collectInto = this.RULE('collectInto', () => {
    this.CONSUME(T.Into);
    this.CONSUME(T.Name);
    this.OPTION(() => {
      this.CONSUME(T.Assign);
      this.SUBRULE(this.expr);
    });
    this.OPTION2(() => {
      this.CONSUME(T.Keep);
      this.CONSUME2(T.Name, { LABEL: 'keep' });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME3(T.Name, { LABEL: 'keep' });
      });
    });
  });

  private collectCount = this.RULE('collectCount', () => {
    this.CONSUME(T.With);
    this.CONSUME(T.Count);
    this.CONSUME(T.Into);
    this.CONSUME(T.Name);
  });

  /** An expression with binary IN switched off (data-modification documents and keys). */
  private docExpr = this.RULE('docExpr', () => {
    this.ACTION(() => {
      this.noIn = true;
    });
    this.SUBRULE(this.expr);
    this.ACTION(() => {
      this.noIn = false;
    });
  });

  private inOrInto = this.RULE('inOrInto', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Into) }, { ALT: () => this.CONSUME(T.In) }]);
    this.SUBRULE(this.collection);
    this.OPTION(() => this.SUBRULE(this.optionsClause));
  });

  private insertOp = this.RULE('insertOp', () => {
    this.CONSUME(T.Insert);
    this.SUBRULE(this.docExpr);
    this.SUBRULE(this.inOrInto);
  });

  private updateOp = this.RULE('updateOp', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Update, { LABEL: 'kind' }) }, { ALT: () => this.CONSUME(T.Replace, { LABEL: 'kind' }) }]);
    this.SUBRULE(this.docExpr);
    this.OPTION(() => {
      this.CONSUME(T.With);
      this.SUBRULE2(this.docExpr);
    });
    this.SUBRULE(this.inOrInto);
  });

  /** UPSERT (FILTER cond | search) INSERT doc (UPDATE|REPLACE) patch (IN|INTO) collection */
  private upsertOp = this.RULE('upsertOp', () => {
    this.CONSUME(T.Upsert);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Filter);
          this.SUBRULE(this.docExpr, { LABEL: 'filter' });
        },
      },
      { ALT: () => this.SUBRULE2(this.docExpr, { LABEL: 'search' }) },
    ]);
    this.CONSUME(T.Insert);
    this.SUBRULE3(this.docExpr, { LABEL: 'insert' });
    this.OR2([{ ALT: () => this.CONSUME(T.Update, { LABEL: 'kind' }) }, { ALT: () => this.CONSUME(T.Replace, { LABEL: 'kind' }) }]);
    this.SUBRULE4(this.docExpr, { LABEL: 'update' });
    this.SUBRULE(this.inOrInto);
  });

  private removeOp = this.RULE('removeOp', () => {
    this.CONSUME(T.Remove);
    this.SUBRULE(this.docExpr);
    this.SUBRULE(this.inOrInto);
  });

  // ---- expressions ----------------------------------------------------------

  private expr = this.RULE('expr', () => {
    this.enter(2);
    this.SUBRULE(this.operand);
    this.MANY({
      GATE: () => this.continuesExpr(),
      DEF: () => {
        this.OR([
          { ALT: () => this.CONSUME(T.BinaryOp, { LABEL: 'op' }) },
          {
            ALT: () => {
              this.CONSUME(T.Not, { LABEL: 'op' });
              this.OR2([{ ALT: () => this.CONSUME(T.In, { LABEL: 'op' }) }, { ALT: () => this.CONSUME(T.Like, { LABEL: 'op' }) }]);
            },
          },
          {
            // an array comparison: ALL|ANY|NONE|AT LEAST (n) followed by a comparison operator
            ALT: () => {
              this.SUBRULE(this.quantifier, { LABEL: 'quant' });
              this.OR3([
                { ALT: () => this.CONSUME(T.Eq, { LABEL: 'op' }) },
                { ALT: () => this.CONSUME(T.Ne, { LABEL: 'op' }) },
                { ALT: () => this.CONSUME(T.Lt, { LABEL: 'op' }) },
                { ALT: () => this.CONSUME(T.Le, { LABEL: 'op' }) },
                { ALT: () => this.CONSUME(T.Gt, { LABEL: 'op' }) },
                { ALT: () => this.CONSUME(T.Ge, { LABEL: 'op' }) },
                { ALT: () => this.CONSUME2(T.In, { LABEL: 'op' }) },
                {
                  ALT: () => {
                    this.CONSUME2(T.Not, { LABEL: 'op' });
                    this.CONSUME3(T.In, { LABEL: 'op' });
                  },
                },
              ]);
            },
          },
        ]);
        this.SUBRULE2(this.operand);
      },
    });
    this.OPTION(() => {
      this.CONSUME(T.Question);
      this.OPTION2(() => {
        const saved = this.allowIn();
        this.SUBRULE(this.expr, { LABEL: 'then' });
        this.restoreIn(saved);
      });
      this.CONSUME(T.Colon);
      this.SUBRULE2(this.expr, { LABEL: 'else' });
    });
    this.leave(2);
  });

  /** ALL | ANY | NONE | AT LEAST ( expr ): array comparison and `[? ...]` quantifiers. */
  private quantifier = this.RULE('quantifier', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.All, { LABEL: 'kind' }) },
      { ALT: () => this.CONSUME(T.Any, { LABEL: 'kind' }) },
      { ALT: () => this.CONSUME(T.None, { LABEL: 'kind' }) },
      {
        ALT: () => {
          this.CONSUME(T.AtLeast, { LABEL: 'kind' });
          this.CONSUME(T.LParen);
          const saved = this.allowIn();
          this.SUBRULE(this.expr);
          this.restoreIn(saved);
          this.CONSUME(T.RParen, { ERR_MSG: 'expected ")"' });
        },
      },
    ]);
  });

  private operand = this.RULE('operand', () => {
    this.MANY(() => this.CONSUME(T.PrefixOp, { LABEL: 'prefix' }));
    this.OR({
      ERR_MSG: 'an expression',
      DEF: [
        {
          // a variable, a function call NAME(...) / NS::NAME(...), or LIKE(text, pattern)
          ALT: () => {
            this.OR2([
              {
                ALT: () => {
                  this.CONSUME(T.Name);
                  this.MANY2(() => {
                    this.CONSUME(T.Scope);
                    this.CONSUME(T.AnyName);
                  });
                },
              },
              { ALT: () => this.CONSUME(T.Like) },
            ]);
            this.OPTION(() => {
              this.CONSUME(T.LParen, { LABEL: 'call' });
              const saved = this.allowIn();
              this.OPTION2(() => {
                this.SUBRULE(this.argument);
                this.MANY3(() => {
                  this.CONSUME(T.Comma);
                  this.SUBRULE2(this.argument);
                });
              });
              this.restoreIn(saved);
              this.CONSUME(T.RParen, { ERR_MSG: 'expected "," or ")"' });
            });
          },
        },
        { ALT: () => this.CONSUME(T.NumberLiteral) },
        { ALT: () => this.CONSUME(T.StringLiteral) },
        {
          // ( subquery ) or ( expression )
          ALT: () => {
            this.CONSUME2(T.LParen);
            const saved = this.allowIn();
            this.OR3({
              ERR_MSG: 'an expression or a subquery',
              DEF: [
                {
                  ALT: () => {
                    this.enter(2);
                    this.AT_LEAST_ONE(() => this.operation());
                    this.leave(2);
                  },
                },
                { ALT: () => this.SUBRULE(this.expr, { LABEL: 'inner' }) },
              ],
            });
            this.restoreIn(saved);
            this.CONSUME2(T.RParen, { ERR_MSG: 'expected ")"' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LBracket);
            const saved = this.allowIn();
            this.OPTION3(() => {
              this.SUBRULE2(this.expr, { LABEL: 'item' });
              this.MANY4(() => {
                this.CONSUME2(T.Comma);
                this.SUBRULE3(this.expr, { LABEL: 'item' });
              });
              this.OPTION4(() => this.CONSUME3(T.Comma));
            });
            this.restoreIn(saved);
            this.CONSUME(T.RBracket, { ERR_MSG: 'expected "," or "]"' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LBrace);
            const saved = this.allowIn();
            this.OPTION5(() => {
              this.SUBRULE(this.objectEntry);
              this.MANY5(() => {
                this.CONSUME4(T.Comma);
                this.SUBRULE2(this.objectEntry);
              });
              this.OPTION6(() => this.CONSUME5(T.Comma));
            });
            this.restoreIn(saved);
            this.CONSUME(T.RBrace, { ERR_MSG: 'expected "," or "}"' });
          },
        },
        { ALT: () => this.CONSUME(T.BindParam) },
        { ALT: () => this.CONSUME(T.BindCollection) },
        { ALT: () => this.CONSUME(T.True) },
        { ALT: () => this.CONSUME(T.False) },
        { ALT: () => this.CONSUME(T.Null) },
      ],
    });
    this.MANY6(() => this.SUBRULE(this.postfix));
  });

  /** A function argument: an expression or a bare subquery (`LENGTH(FOR x IN y RETURN x)`). */
  private argument = this.RULE('argument', () => {
    this.enter(1);
    this.OR({
      ERR_MSG: 'an expression or a subquery',
      DEF: [
        {
          ALT: () => {
            this.enter(2);
            this.AT_LEAST_ONE(() => this.operation());
            this.leave(2);
          },
        },
        { ALT: () => this.SUBRULE(this.expr) },
      ],
    });
    this.leave(1);
  });

  private objectEntry = this.RULE('objectEntry', () => {
    this.enter(1);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.AnyName);
          this.OPTION(() => {
            this.CONSUME(T.Colon);
            this.SUBRULE(this.expr, { LABEL: 'value' });
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.StringLiteral);
          this.CONSUME2(T.Colon);
          this.SUBRULE2(this.expr, { LABEL: 'value' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.BindParam);
          this.CONSUME3(T.Colon);
          this.SUBRULE3(this.expr, { LABEL: 'value' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.SUBRULE4(this.expr, { LABEL: 'key' });
          this.CONSUME(T.RBracket);
          this.CONSUME4(T.Colon);
          this.SUBRULE5(this.expr, { LABEL: 'value' });
        },
      },
    ]);
    this.leave(1);
  });

  private postfix = this.RULE('postfix', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Dot);
          this.OR2([{ ALT: () => this.CONSUME(T.AnyName) }, { ALT: () => this.CONSUME(T.BindParam) }]);
        },
      },
      {
        ALT: () => {
          this.enter(2);
          this.CONSUME(T.LBracket);
          const saved = this.allowIn();
          this.OR3([
            {
              ALT: () => {
                this.AT_LEAST_ONE(() => this.CONSUME(T.Star));
                this.OPTION(() => {
                  this.CONSUME(T.Filter);
                  this.SUBRULE(this.expr, { LABEL: 'filter' });
                });
                this.OPTION2(() => {
                  this.CONSUME(T.Limit);
                  this.SUBRULE2(this.expr, { LABEL: 'limit' });
                  this.OPTION3(() => {
                    this.CONSUME(T.Comma);
                    this.SUBRULE3(this.expr, { LABEL: 'limit' });
                  });
                });
                this.OPTION4(() => {
                  this.CONSUME(T.Return);
                  this.SUBRULE4(this.expr, { LABEL: 'ret' });
                });
              },
            },
            {
              // the question-mark form: [? quantifier FILTER cond] is a boolean
              ALT: () => {
                this.AT_LEAST_ONE2(() => this.CONSUME(T.Question));
                this.OPTION5(() => {
                  this.OPTION6(() => {
                    this.OR4({
                      IGNORE_AMBIGUITIES: true,
                      DEF: [
                        { ALT: () => this.SUBRULE(this.quantifier, { LABEL: 'quant' }) },
                        { ALT: () => this.SUBRULE6(this.expr, { LABEL: 'count' }) },
                      ],
                    });
                  });
                  this.CONSUME2(T.Filter);
                  this.SUBRULE7(this.expr, { LABEL: 'filter' });
                });
              },
            },
            { ALT: () => this.SUBRULE5(this.expr, { LABEL: 'index' }) },
          ]);
          this.restoreIn(saved);
          this.CONSUME(T.RBracket);
          this.leave(2);
        },
      },
    ]);
  });
}

export const aqlParser = new AqlParser();
