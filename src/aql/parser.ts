/**
 * The AQL grammar as a chevrotain CstParser (LL(k), error recovery off).
 * One instance is built at module load (`aqlParser`) and reused: set
 * `input`, call `query()`, read `errors` (parse.ts does this).
 *
 *   query        := (WITH name (, name)*)? operation+
 *   operation    := forOp | letOp | filterOp | sortOp | limitOp | collectOp
 *                 | returnOp | insertOp | updateOp | removeOp
 *   forOp        := FOR name (, name)* IN ( graphSpec | expr graphSpec? ) optionsClause?
 *   graphSpec    := (OUTBOUND|INBOUND|ANY) ( SHORTEST_PATH expr TO expr | expr ) collection (, collection)*
 *   letOp        := LET name = expr
 *   filterOp     := FILTER expr
 *   sortOp       := SORT sortKey (, sortKey)*          sortKey := expr (ASC|DESC)?
 *   limitOp      := LIMIT expr (, expr)?
 *   collectOp    := COLLECT ( assignments collectAggregate? collectInto? collectCount?
 *                           | collectAggregate collectInto? collectCount?
 *                           | collectInto collectCount? | collectCount ) optionsClause?
 *   returnOp     := RETURN DISTINCT? expr
 *   insertOp     := INSERT expr (INTO|IN) collection optionsClause?
 *   updateOp     := (UPDATE|REPLACE) expr (WITH expr)? (IN|INTO) collection optionsClause?
 *   removeOp     := REMOVE expr (IN|INTO) collection optionsClause?
 *   expr         := operand (binop operand)* ( ? expr? : expr )?
 *   operand      := prefixop* primary postfix*
 *   primary      := number | string | TRUE | FALSE | NULL | @bind | @@bind | array | object
 *                 | ( subqueryBody | expr ) | name callSuffix? | LIKE callSuffix
 *   postfix      := . (name | @bind) | [ expr ] | [ *+ (FILTER expr)? (LIMIT expr (, expr)?)? (RETURN expr)? ]
 *
 * Binary operators are parsed as a flat list (`op` tokens between `operand`s)
 * and folded by precedence in ast-builder.ts: this keeps the recursion (and
 * the CST) shallow. Inside the document/key expressions of INSERT, UPDATE,
 * REPLACE and REMOVE the binary `IN` is switched off outside brackets
 * (`REMOVE doc IN users` is not `doc IN users`), as in ArangoDB.
 */
import { CstParser, EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import * as T from './lexer.js';

/** Nesting of expressions (parentheses, arrays, objects, calls, subqueries, ternaries) beyond this is rejected. */
export const MAX_NESTING = 200;

/** Thrown (not recorded) when the nesting limit is hit; parse.ts turns it into a positioned error. */
export class NestingError extends Error {
  constructor(readonly token: IToken) {
    super(`nested more than ${MAX_NESTING} levels deep`);
    this.name = 'NestingError';
  }
}

// ---- error messages -------------------------------------------------------

/** The tokens an expression can start with (collapsed to "an expression" in messages). */
const EXPRESSION_START = new Set<TokenType>([
  T.NumberLiteral, T.StringLiteral, T.True, T.False, T.Null, T.BindParam, T.BindCollection, T.LBracket, T.LBrace, T.LParen,
  T.Name, T.Identifier, T.QuotedName, T.Count, T.To, T.Options, T.Like, T.Minus, T.Plus, T.Not, T.Bang, T.PrefixOp,
]);

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

/** "a, b or c" of the distinct descriptions (expression starts collapsed). */
export function describeExpected(types: Iterable<TokenType>): string {
  const out: string[] = [];
  let exprStarts = 0;
  for (const t of types) {
    if (EXPRESSION_START.has(t)) {
      exprStarts++;
      continue;
    }
    const d = describeToken(t);
    if (!out.includes(d)) out.push(d);
  }
  if (exprStarts >= 3) out.unshift('an expression');
  else if (exprStarts > 0) for (const t of types) if (EXPRESSION_START.has(t) && !out.includes(describeToken(t))) out.push(describeToken(t));
  if (out.length > 8) out.splice(7, out.length - 7, '…');
  if (out.length <= 1) return out[0] ?? 'something else';
  return `${out.slice(0, -1).join(', ')} or ${out[out.length - 1]}`;
}

const RULE_DESCRIPTIONS: Record<string, string> = {
  operation: `an operation (${OPERATION_LIST})`,
  collectOp: 'a grouping (name = expression), AGGREGATE, INTO or WITH COUNT INTO after COLLECT',
  collection: 'a collection name or a bind parameter (@@name)',
  objectEntry: 'an attribute name, a "string", [expression] or @bind followed by ":", or "}"',
  argument: 'an expression or a subquery',
  parenthesized: 'an expression or a subquery',
};

const firstTokens = (paths: TokenType[][][]): Set<TokenType> => {
  const s = new Set<TokenType>();
  for (const alt of paths) for (const p of alt) if (p[0]) s.add(p[0]);
  return s;
};

/** Messages without position (parse.ts prefixes line/column and the offending token). */
export const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, ruleName }) {
    if (expected === T.RBracket && ruleName === 'arrayLiteral') return 'expected "," or "]"';
    if (expected === T.RBrace && ruleName === 'objectLiteral') return 'expected "," or "}"';
    if (expected === T.RParen && ruleName === 'callSuffix') return 'expected "," or ")"';
    if (expected === T.RParen && ruleName === 'parenthesized') return 'expected ")" or an operator';
    return `expected ${describeToken(expected)}`;
  },
  buildNotAllInputParsedMessage() {
    return `expected an operation (${OPERATION_LIST}) or the end of the query`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, ruleName }) {
    const d = RULE_DESCRIPTIONS[ruleName];
    if (d) return `expected ${d}`;
    return `expected ${describeExpected(firstTokens(expectedPathsPerAlt))}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, ruleName }) {
    if (ruleName === 'query' || ruleName === 'subqueryBody') return `expected an operation (${OPERATION_LIST})`;
    return `expected ${describeExpected(firstTokens([expectedIterationPaths]))}`;
  },
};

// ---- the grammar ------------------------------------------------------------

export class AqlParser extends CstParser {
  /** Binary IN is off (top level of a data-modification document expression). */
  private noIn = false;
  private depth = 0;

  constructor() {
    super(T.allTokens, { recoveryEnabled: false, maxLookahead: 3, errorMessageProvider });
    this.performSelfAnalysis();
  }

  /** Call before each parse (after setting `input`). */
  resetState(): void {
    this.noIn = false;
    this.depth = 0;
  }

  public query = this.RULE('query', () => {
    this.OPTION(() => {
      this.CONSUME(T.With);
      this.CONSUME(T.Name);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME2(T.Name);
      });
    });
    this.AT_LEAST_ONE(() => this.SUBRULE(this.operation));
  });

  private subqueryBody = this.RULE('subqueryBody', () => {
    this.AT_LEAST_ONE(() => this.SUBRULE(this.operation));
  });

  private operation = this.RULE('operation', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.forOp) },
      { ALT: () => this.SUBRULE(this.filterOp) },
      { ALT: () => this.SUBRULE(this.letOp) },
      { ALT: () => this.SUBRULE(this.sortOp) },
      { ALT: () => this.SUBRULE(this.limitOp) },
      { ALT: () => this.SUBRULE(this.collectOp) },
      { ALT: () => this.SUBRULE(this.returnOp) },
      { ALT: () => this.SUBRULE(this.insertOp) },
      { ALT: () => this.SUBRULE(this.updateOp) },
      { ALT: () => this.SUBRULE(this.removeOp) },
    ]);
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
    this.OPTION2(() => this.SUBRULE(this.optionsClause));
  });

  private graphSpec = this.RULE('graphSpec', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Outbound, { LABEL: 'dir' }) },
      { ALT: () => this.CONSUME(T.Inbound, { LABEL: 'dir' }) },
      { ALT: () => this.CONSUME(T.Any, { LABEL: 'dir' }) },
    ]);
    this.OR2([
      {
        ALT: () => {
          this.CONSUME(T.ShortestPath);
          this.SUBRULE(this.expr);
          this.CONSUME(T.To);
          this.SUBRULE2(this.expr);
        },
      },
      { ALT: () => this.SUBRULE3(this.expr) },
    ]);
    this.SUBRULE(this.collection);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.collection);
    });
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
    this.SUBRULE(this.objectLiteral);
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

  private removeOp = this.RULE('removeOp', () => {
    this.CONSUME(T.Remove);
    this.SUBRULE(this.docExpr);
    this.SUBRULE(this.inOrInto);
  });

  // ---- expressions ----------------------------------------------------------

  private expr = this.RULE('expr', () => {
    this.ACTION(() => {
      if (++this.depth > MAX_NESTING + 1) throw new NestingError(this.LA(1));
    });
    this.SUBRULE(this.operand);
    this.MANY({
      GATE: () => !this.noIn || this.LA(1).tokenType !== T.In,
      DEF: () => {
        this.OR([
          { ALT: () => this.CONSUME(T.BinaryOp, { LABEL: 'op' }) },
          {
            ALT: () => {
              this.CONSUME(T.Not, { LABEL: 'op' });
              this.OR2([{ ALT: () => this.CONSUME(T.In, { LABEL: 'op' }) }, { ALT: () => this.CONSUME(T.Like, { LABEL: 'op' }) }]);
            },
          },
        ]);
        this.SUBRULE2(this.operand);
      },
    });
    this.OPTION(() => {
      this.CONSUME(T.Question);
      this.OPTION2(() => {
        const saved = this.noIn;
        this.ACTION(() => {
          this.noIn = false;
        });
        this.SUBRULE(this.expr, { LABEL: 'then' });
        this.ACTION(() => {
          this.noIn = saved;
        });
      });
      this.CONSUME(T.Colon);
      this.SUBRULE2(this.expr, { LABEL: 'else' });
    });
    this.ACTION(() => {
      this.depth--;
    });
  });

  private operand = this.RULE('operand', () => {
    this.MANY(() => this.CONSUME(T.PrefixOp, { LABEL: 'prefix' }));
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLiteral) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      {
        ALT: () => {
          this.CONSUME(T.Name);
          this.OPTION(() => this.SUBRULE(this.callSuffix));
        },
      },
      { ALT: () => this.SUBRULE(this.parenthesized) },
      { ALT: () => this.SUBRULE(this.arrayLiteral) },
      { ALT: () => this.SUBRULE(this.objectLiteral) },
      { ALT: () => this.CONSUME(T.BindParam) },
      { ALT: () => this.CONSUME(T.BindCollection) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.Null) },
      {
        // LIKE(text, pattern) is also a function
        ALT: () => {
          this.CONSUME(T.Like);
          this.SUBRULE2(this.callSuffix);
        },
      },
    ]);
    this.MANY2(() => this.SUBRULE(this.postfix));
  });

  /** `(::name)* ( args )` after a function name. */
  private callSuffix = this.RULE('callSuffix', () => {
    this.MANY(() => {
      this.CONSUME(T.Scope);
      this.CONSUME(T.AnyName);
    });
    this.CONSUME(T.LParen);
    const saved = this.noIn;
    this.ACTION(() => {
      this.noIn = false;
    });
    this.OPTION(() => {
      this.SUBRULE(this.argument);
      this.MANY2(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.argument);
      });
    });
    this.ACTION(() => {
      this.noIn = saved;
    });
    this.CONSUME(T.RParen);
  });

  /** A function argument: an expression or a bare subquery (`LENGTH(FOR x IN y RETURN x)`). */
  private argument = this.RULE('argument', () => {
    this.OR([{ ALT: () => this.SUBRULE(this.subqueryBody) }, { ALT: () => this.SUBRULE(this.expr) }]);
  });

  private parenthesized = this.RULE('parenthesized', () => {
    this.CONSUME(T.LParen);
    const saved = this.noIn;
    this.ACTION(() => {
      this.noIn = false;
    });
    this.OR([{ ALT: () => this.SUBRULE(this.subqueryBody) }, { ALT: () => this.SUBRULE(this.expr) }]);
    this.ACTION(() => {
      this.noIn = saved;
    });
    this.CONSUME(T.RParen);
  });

  private arrayLiteral = this.RULE('arrayLiteral', () => {
    this.CONSUME(T.LBracket);
    const saved = this.noIn;
    this.ACTION(() => {
      this.noIn = false;
    });
    this.OPTION(() => {
      this.SUBRULE(this.expr);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.ACTION(() => {
      this.noIn = saved;
    });
    this.CONSUME(T.RBracket);
  });

  private objectLiteral = this.RULE('objectLiteral', () => {
    this.CONSUME(T.LBrace);
    const saved = this.noIn;
    this.ACTION(() => {
      this.noIn = false;
    });
    this.OPTION(() => {
      this.SUBRULE(this.objectEntry);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.objectEntry);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.ACTION(() => {
      this.noIn = saved;
    });
    this.CONSUME(T.RBrace);
  });

  private objectEntry = this.RULE('objectEntry', () => {
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
          this.CONSUME(T.LBracket);
          const saved = this.noIn;
          this.ACTION(() => {
            this.noIn = false;
          });
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
            { ALT: () => this.SUBRULE5(this.expr, { LABEL: 'index' }) },
          ]);
          this.ACTION(() => {
            this.noIn = saved;
          });
          this.CONSUME(T.RBracket);
        },
      },
    ]);
  });
}

export const aqlParser = new AqlParser();
