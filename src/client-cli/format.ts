/**
 * Pure helpers of the client subcommands (`themis aql|import|export|backup`): bind-variable parsing,
 * result rows and the text table. No I/O, so they are unit-tested directly (test/unit/client-cli.test.ts).
 */

/** A usage error: the command prints the message (and a hint to --help) and exits 2. */
export class UsageError extends Error {}

/**
 * `--bind name=value` pairs → bind variables. The value is JSON when it parses as JSON (`age=30`,
 * `tags=["a"]`, `ok=true`), else the plain string (`city=Berlin`); a collection bind is `@coll=users`.
 */
export function parseBinds(pairs: readonly string[], json: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (e) {
      throw new UsageError(`--bind-json is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('--bind-json must be a JSON object');
    Object.assign(out, parsed);
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--bind expects name=value, got "${pair}"`);
    const name = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: the plain string
    }
    out[name] = value;
  }
  return out;
}

/**
 * A result as the CLI shows it. The server returns a `RETURN doc` of a collection's variable as the
 * document's stored JSON text: a string that holds a JSON object is shown as that object.
 */
export function asRow(item: unknown): unknown {
  if (typeof item === 'string' && item.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(item);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
    } catch {
      // a plain string
    }
  }
  return item;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One cell's text: strings as they are, everything else as JSON; one line; cut to `width` with "…". */
export function cell(value: unknown, width: number): string {
  if (value === undefined) return '';
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  text = text.replace(/\r?\n|\r/g, '\\n').replace(/\t/g, ' ');
  if ([...text].length > width) text = `${[...text].slice(0, Math.max(1, width - 1)).join('')}…`;
  return text;
}

/** The name of the column that holds scalar (non-object) results. */
export const VALUE_COLUMN = 'value';

/**
 * Rows → a text table. Columns: the union of the keys of the object rows in first-seen order; scalar
 * rows (numbers, strings, arrays) go into one `value` column. Cells wider than `maxWidth` are cut.
 */
export function renderTable(rows: readonly unknown[], maxWidth = 40): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  let scalars = false;
  for (const row of rows) {
    if (isRecord(row)) {
      for (const k of Object.keys(row))
        if (!seen.has(k)) {
          seen.add(k);
          columns.push(k);
        }
    } else scalars = true;
  }
  if (scalars || columns.length === 0) columns.push(seen.has(VALUE_COLUMN) ? `(${VALUE_COLUMN})` : VALUE_COLUMN);
  const valueCol = columns.length - 1;
  const cells = rows.map((row) =>
    columns.map((c, i) => {
      if (isRecord(row)) return scalars && i === valueCol ? '' : cell(row[c], maxWidth);
      return i === valueCol ? cell(row, maxWidth) : '';
    }),
  );
  const header = columns.map((c) => cell(c, maxWidth));
  const widths = header.map((h, i) => Math.max([...h].length, ...cells.map((r) => [...(r[i] ?? '')].length)));
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - [...s].length));
  const line = (r: string[]) =>
    r
      .map((s, i) => pad(s, widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  return `${[line(header), sep, ...cells.map(line)].join('\n')}\n`;
}

/** `1234567` → `1,234,567` */
export const num = (n: number): string => Math.round(n).toLocaleString('en-US');
