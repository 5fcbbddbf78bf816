/**
 * The `aql` template tag: interpolated values never become query text. Each becomes a bind parameter
 * (`@value0`, `@value1`, ...), a collection wrapped in `aql.collection()` becomes a collection parameter
 * (`@@value0`, sent as `bind_vars["@value0"]`, docs/aql.md "Bind parameters"), and an interpolated
 * `aql` fragment is spliced in with its own values renumbered, so queries compose without injection.
 * The same value (===) interpolated twice binds once.
 */

const SOURCE = Symbol('aql.source');

/** A query with its bind variables, ready for `db.query()` / `db.cursor()`. */
export interface AqlQuery {
  readonly query: string;
  readonly bindVars: Record<string, unknown>;
  /** The template parts, kept so that a query can be interpolated into another. */
  readonly [SOURCE]: { readonly strings: readonly string[]; readonly args: readonly unknown[] };
}

/** A collection name, bound as `@@valueN`. */
export class AqlCollection {
  constructor(readonly name: string) {
    if (typeof name !== 'string' || name === '') throw new TypeError('aql.collection() needs a non-empty collection name');
  }
}

/** Trusted query text inserted verbatim (never pass user input). */
export class AqlLiteral {
  constructor(readonly text: string) {}
}

export function isAqlQuery(v: unknown): v is AqlQuery {
  return typeof v === 'object' && v !== null && SOURCE in v;
}

function flatten(strings: readonly string[], values: readonly unknown[]): { strings: string[]; args: unknown[] } {
  const out: string[] = [strings[0] ?? ''];
  const args: unknown[] = [];
  const append = (text: string) => {
    out[out.length - 1] += text;
  };
  values.forEach((v, i) => {
    const next = strings[i + 1] ?? '';
    if (isAqlQuery(v)) {
      const src = v[SOURCE];
      append(src.strings[0] ?? '');
      src.args.forEach((a, j) => {
        args.push(a);
        out.push(src.strings[j + 1] ?? '');
      });
      append(next);
    } else if (v instanceof AqlLiteral) {
      append(v.text + next);
    } else if (v === undefined) {
      // `${cond ? aql`FILTER ...` : undefined}`: an optional fragment left out.
      append(next);
    } else {
      args.push(v);
      out.push(next);
    }
  });
  return { strings: out, args };
}

function build(strings: readonly string[], args: readonly unknown[]): AqlQuery {
  const names = new Map<unknown, string>();
  const bindVars: Record<string, unknown> = {};
  let query = strings[0] ?? '';
  args.forEach((arg, i) => {
    const identity = arg instanceof AqlCollection ? `\0collection:${arg.name}` : arg;
    let name = names.get(identity);
    if (name === undefined) {
      name = `value${names.size}`;
      names.set(identity, name);
      if (arg instanceof AqlCollection) bindVars[`@${name}`] = arg.name;
      else bindVars[name] = arg;
    }
    query += `${arg instanceof AqlCollection ? '@@' : '@'}${name}${strings[i + 1] ?? ''}`;
  });
  return { query, bindVars, [SOURCE]: { strings, args } };
}

export interface AqlTag {
  (strings: TemplateStringsArray, ...values: unknown[]): AqlQuery;
  /** A collection name for `FOR x IN ${aql.collection('users')}` (bound as `@@valueN`). */
  collection(name: string): AqlCollection;
  /** Trusted text inserted verbatim (e.g. a sort direction chosen from a fixed list); never user input. */
  literal(text: string): AqlLiteral;
  /** Joins fragments with a separator (default a space), e.g. a list of FILTER lines. */
  join(fragments: readonly AqlQuery[], separator?: string): AqlQuery;
}

export const aql: AqlTag = Object.assign(
  (strings: TemplateStringsArray, ...values: unknown[]): AqlQuery => {
    const flat = flatten(strings, values);
    return build(flat.strings, flat.args);
  },
  {
    collection: (name: string) => new AqlCollection(name),
    literal: (text: string) => new AqlLiteral(text),
    join: (fragments: readonly AqlQuery[], separator = ' '): AqlQuery => {
      if (fragments.length === 0) return build([''], []);
      const strings = ['', ...fragments.slice(1).map(() => separator), ''];
      const flat = flatten(strings, fragments);
      return build(flat.strings, flat.args);
    },
  },
);
