import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { type AqlQuery, ThemisClient, ThemisError, aql, unwrap } from '@themis-ts/client';
import { UsageError, asRow, num, parseBinds, renderTable } from './format.js';

/**
 * The client subcommands of the `themis` bin: `aql`, `import`, `export`, `backup`. They talk to a
 * running server over HTTP through @themis-ts/client; src/cli.ts loads this module only for them, so
 * the server's start path does not pay for it. Documented in docs/cli.md.
 */

export const CLIENT_COMMANDS = ['aql', 'import', 'export', 'backup'] as const;
export type ClientCommand = (typeof CLIENT_COMMANDS)[number];

/** Exit codes of every client subcommand. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const CONNECTION = `Connection (every command):
  --url <url>        the server (default THEMIS_URL, else http://127.0.0.1:8765)
  --key <key>        an API key or JWT (default THEMIS_KEY); required, never printed
  --help             show this text

Exit codes: 0 ok, 1 server or request error (message on stderr), 2 usage error.`;

export const HELP: Record<ClientCommand, string> = {
  aql: `Usage: themis aql "<query>" [--bind name=value ...] [--bind-json '{...}'] [--json]

Runs an AQL query and prints its results: a table (columns from the keys of
object results, other values in one "value" column) or, with --json, one JSON
value per line. Results are fetched through a server-side cursor page by page
(--json prints each page as it arrives; the table needs them all first). A
query that modifies data runs in one request.

  --bind name=value  a bind variable (@name); the value is JSON if it parses
                     (30, true, ["a"]), else the text; @@coll is --bind @coll=users
  --bind-json <obj>  bind variables as one JSON object (merged with --bind)
  --json             JSON Lines output instead of a table
  --batch <n>        results per page (default 1000, at most 10000)
  --max-width <n>    cut table cells longer than this (default 40)

${CONNECTION}
`,
  import: `Usage: themis import <file.jsonl|-> --table <name> [--key-field _key] [--batch 500] [--skip-invalid]

Writes a JSON Lines file (one JSON object per line; "-" reads stdin) into a
table, in batches of atomic POST /transaction requests (an existing document
with the same key is replaced). Progress goes to stderr when it is a terminal.

  --table <name>     the table (A-Z a-z 0-9 _ -, 1-128 characters)
  --key-field <f>    the field holding each document's primary key (default _key;
                     "_key" is removed from the stored document, any other field
                     stays); a document without it gets a random UUID
  --batch <n>        documents per request (default 500)
  --skip-invalid     report a bad line (not JSON, not an object, bad key) and go
                     on; without it the import stops at the first bad line, with
                     the batches before it already written, and exits 1

${CONNECTION}
`,
  export: `Usage: themis export <table> [--batch 1000] > table.jsonl

Prints every document of a table as JSON Lines, each with its primary key as
"_key" first (the form "themis import" reads), read page by page through an
AQL cursor over one snapshot, so a big table does not need memory.

  --batch <n>        documents per page (default 1000, at most 10000)

${CONNECTION}
`,
  backup: `Usage: themis backup [<dir> | --path <dir>] [--wait]

Starts an online backup (POST /admin/backup; needs an admin key) and prints
its id and directory. Restore one with "themis restore" (docs/operations.md).

  <dir>, --path <dir>  write the backup there: an absolute path on the server's
                     machine, a new or empty directory (default
                     <THEMIS_BACKUP_DIR>/<id>)
  --wait             poll until it is done (exit 0) or failed (exit 1),
                     printing progress to stderr
  --interval <ms>    poll interval with --wait (default 500)

${CONNECTION}
`,
};

const commonOptions = {
  url: { type: 'string' },
  key: { type: 'string' },
  help: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  stderrIsTty: boolean;
  env: NodeJS.ProcessEnv;
}

/** Runs `themis <command> ...argv`; resolves to the exit code. */
export async function clientCommand(command: ClientCommand, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const io: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    stderrIsTty: process.stderr.isTTY === true,
    env,
  };
  try {
    switch (command) {
      case 'aql':
        return await aqlCommand(argv, io);
      case 'import':
        return await importCommand(argv, io);
      case 'export':
        return await exportCommand(argv, io);
      case 'backup':
        return await backupCommand(argv, io);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`themis ${command}: ${e.message}\nRun "themis ${command} --help" for usage.\n`);
      return EXIT.usage;
    }
    io.err(`themis ${command}: ${describeError(e, io.env)}\n`);
    return EXIT.failed;
  }
}

/** A server error as its message and code; a network failure with the URL it tried. */
function describeError(e: unknown, env: NodeJS.ProcessEnv): string {
  if (e instanceof ThemisError) return `${e.message} (${e.status} ${e.code})`;
  if (e instanceof TypeError && e.message === 'fetch failed') {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const hint = env.THEMIS_URL || connectedTo !== DEFAULT_URL ? '' : ' (set --url or THEMIS_URL)';
    return `cannot reach the server at ${connectedTo}: ${cause?.code ?? cause?.message ?? e.message}${hint}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Runs parseArgs, turning its errors (unknown option, missing value) into usage errors. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Refuses positional arguments beyond the `max` a command takes. */
function noMoreThan(positionals: string[], max: number, help: boolean | undefined): void {
  if (!help && positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}"`);
}

const DEFAULT_URL = 'http://127.0.0.1:8765';
/** The server the command talks to, for error messages. */
let connectedTo = DEFAULT_URL;

function connect(values: { url?: string | undefined; key?: string | undefined }, env: NodeJS.ProcessEnv): ThemisClient {
  const baseUrl = values.url ?? (env.THEMIS_URL || DEFAULT_URL);
  connectedTo = baseUrl;
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--url must be an http:// or https:// URL, got "${baseUrl}"`);
  }
  const apiKey = values.key ?? env.THEMIS_KEY;
  if (!apiKey) throw new UsageError('no API key: pass --key <key> or set THEMIS_KEY');
  return new ThemisClient({ baseUrl, apiKey });
}

function intOption(value: string | undefined, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

/**
 * A query typed on the command line with its --bind variables as the client's AqlQuery: the text is
 * trusted as a literal (the user wrote it), the bind variables are sent as given.
 */
function textQuery(query: string, bindVars: Record<string, unknown>): AqlQuery {
  return { ...aql`${aql.literal(query)}`, bindVars };
}

const TABLE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

// ------------------------------------------------------------------ aql

async function aqlCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      options: {
        ...commonOptions,
        bind: { type: 'string', multiple: true },
        'bind-json': { type: 'string' },
        json: { type: 'boolean' },
        batch: { type: 'string' },
        'max-width': { type: 'string' },
      },
      allowPositionals: true,
    }),
  );
  noMoreThan(positionals, 1, values.help);
  if (values.help) {
    io.out(HELP.aql);
    return EXIT.ok;
  }
  const query = positionals[0];
  if (query === undefined || query.trim() === '') throw new UsageError('missing the query: themis aql "FOR d IN users RETURN d"');
  const bindVars = parseBinds(values.bind ?? [], values['bind-json']);
  const batchSize = intOption(values.batch, 'batch', 1000, 1, 10_000);
  const maxWidth = intOption(values['max-width'], 'max-width', 40, 4, 100_000);
  const db = connect(values, io.env);
  const q = textQuery(query, bindVars);

  let pages: AsyncIterable<unknown[]>;
  try {
    pages = (await db.cursor<unknown>(q, { batchSize })).batches();
  } catch (e) {
    // A modifying query cannot use a cursor: run it in one request.
    const field = e instanceof ThemisError && typeof e.body === 'object' ? e.body?.field : undefined;
    if (field !== 'use_cursor') throw e;
    pages = (async function* () {
      yield await db.query<unknown>(q);
    })();
  }
  if (values.json) {
    for await (const page of pages) {
      if (page.length > 0) io.out(`${page.map((item) => JSON.stringify(asRow(item) ?? null)).join('\n')}\n`);
    }
    return EXIT.ok;
  }
  const rows: unknown[] = [];
  for await (const page of pages) for (const item of page) rows.push(asRow(item));
  if (rows.length > 0) io.out(renderTable(rows, maxWidth));
  io.err(`${num(rows.length)} ${rows.length === 1 ? 'row' : 'rows'}\n`);
  return EXIT.ok;
}

// ------------------------------------------------------------------ export

async function exportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({ args: argv, options: { ...commonOptions, batch: { type: 'string' } }, allowPositionals: true }),
  );
  noMoreThan(positionals, 1, values.help);
  if (values.help) {
    io.out(HELP.export);
    return EXIT.ok;
  }
  const table = positionals[0];
  if (table === undefined) throw new UsageError('missing the table: themis export users > users.jsonl');
  if (!TABLE_NAME.test(table)) throw new UsageError(`invalid table name "${table}": use 1-128 of A-Z a-z 0-9 _ -`);
  const batchSize = intOption(values.batch, 'batch', 1000, 1, 10_000);
  const db = connect(values, io.env);
  // [key, document]: a document nested in a result comes without its virtual _key, so it is asked for.
  const cursor = await db.cursor<[string, unknown]>(aql`FOR d IN ${aql.collection(table)} RETURN [d._key, d]`, { batchSize });
  let count = 0;
  for await (const page of cursor.batches()) {
    let chunk = '';
    for (const [key, raw] of page) {
      const doc = asRow(raw) as Record<string, unknown>;
      const { _key: _ignored, ...rest } = doc;
      chunk += `${JSON.stringify({ _key: key, ...rest })}\n`;
    }
    count += page.length;
    if (chunk !== '' && !process.stdout.write(chunk)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
  }
  io.err(`exported ${num(count)} ${count === 1 ? 'document' : 'documents'} from ${table}\n`);
  return EXIT.ok;
}

// ------------------------------------------------------------------ import

interface Op {
  op: 'put';
  key: string;
  blob: Record<string, unknown>;
  line: number;
}

async function importCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      options: {
        ...commonOptions,
        table: { type: 'string' },
        'key-field': { type: 'string' },
        batch: { type: 'string' },
        'skip-invalid': { type: 'boolean' },
      },
      allowPositionals: true,
    }),
  );
  noMoreThan(positionals, 1, values.help);
  if (values.help) {
    io.out(HELP.import);
    return EXIT.ok;
  }
  const file = positionals[0];
  if (file === undefined) throw new UsageError('missing the file: themis import users.jsonl --table users');
  const table = values.table;
  if (table === undefined) throw new UsageError('missing --table <name>');
  if (!TABLE_NAME.test(table)) throw new UsageError(`invalid table name "${table}": use 1-128 of A-Z a-z 0-9 _ -`);
  const keyField = values['key-field'] ?? '_key';
  if (keyField === '') throw new UsageError('--key-field must not be empty');
  const batchSize = intOption(values.batch, 'batch', 500, 1, 100_000);
  const skip = values['skip-invalid'] === true;
  const db = connect(values, io.env);
  let input: NodeJS.ReadableStream;
  if (file === '-') input = process.stdin;
  else {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    input = fs.createReadStream(file);
  }

  const started = performance.now();
  let imported = 0;
  let skipped = 0;
  let lastProgress = 0;
  const rate = () => imported / Math.max(0.001, (performance.now() - started) / 1000);
  const progress = (final = false) => {
    if (!io.stderrIsTty) return;
    const now = performance.now();
    if (!final && now - lastProgress < 200) return;
    lastProgress = now;
    io.err(`\r\x1b[Kimporting into ${table}: ${num(imported)} documents, ${num(rate())} documents/s${final ? '\n' : ''}`);
  };
  const invalid = (line: number, message: string) => {
    if (io.stderrIsTty) io.err('\r\x1b[K');
    io.err(`themis import: line ${line}: ${message}${skip ? ' (skipped)' : ''}\n`);
    skipped++;
  };
  const stopAt = (line: number, message: string) => {
    invalid(line, message);
    io.err(
      `themis import: stopped at line ${line}; ${num(imported)} documents were imported before it (use --skip-invalid to skip bad lines)\n`,
    );
    return EXIT.failed;
  };

  /** Sends a batch; a bad operation (the server names it as `operations.<i>`) is a bad line. */
  const flush = async (batch: Op[]): Promise<number | undefined> => {
    while (batch.length > 0) {
      const res = await db.api.POST('/transaction', { body: { operations: batch.map(({ op, key, blob }) => ({ op, key, blob })) } });
      if (res.response.ok) {
        imported += batch.length;
        progress();
        return undefined;
      }
      const err = new ThemisError(res.response.status, res.error, res.response.headers.get('x-request-id') ?? undefined);
      const field = typeof err.body === 'object' ? err.body?.field : undefined;
      const m = res.response.status === 400 && typeof field === 'string' ? /^operations\.(\d+)/.exec(field) : null;
      const bad = m ? batch[Number(m[1])] : undefined;
      if (bad === undefined) throw err;
      const message = err.message.replace(/^operations\[\d+\]: /, '');
      if (!skip) return stopAt(bad.line, message);
      invalid(bad.line, message);
      batch.splice(batch.indexOf(bad), 1);
    }
    return undefined;
  };

  let batch: Op[] = [];
  let lineNo = 0;
  const rl = readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const text of rl) {
      lineNo++;
      if (text.trim() === '') continue;
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        if (!skip) return stopAt(lineNo, `not valid JSON: ${(e as Error).message}`);
        invalid(lineNo, `not valid JSON: ${(e as Error).message}`);
        continue;
      }
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        const what = Array.isArray(doc) ? 'an array' : doc === null ? 'null' : `a ${typeof doc}`;
        if (!skip) return stopAt(lineNo, `expected a JSON object, got ${what}`);
        invalid(lineNo, `expected a JSON object, got ${what}`);
        continue;
      }
      const blob = { ...(doc as Record<string, unknown>) };
      const pk = blob[keyField];
      if (keyField === '_key') delete blob._key;
      let key: string;
      if (pk === undefined || pk === null) key = `${table}:${randomUUID()}`;
      else if ((typeof pk === 'string' && pk !== '') || (typeof pk === 'number' && Number.isFinite(pk))) key = `${table}:${pk}`;
      else {
        const message = `field "${keyField}" must be a non-empty string or a number`;
        if (!skip) return stopAt(lineNo, message);
        invalid(lineNo, message);
        continue;
      }
      batch.push({ op: 'put', key, blob, line: lineNo });
      if (batch.length >= batchSize) {
        const code = await flush(batch);
        if (code !== undefined) return code;
        batch = [];
      }
    }
    const code = await flush(batch);
    if (code !== undefined) return code;
  } finally {
    rl.close();
  }
  progress(true);
  const seconds = (performance.now() - started) / 1000;
  io.out(
    `imported ${num(imported)} ${imported === 1 ? 'document' : 'documents'} into ${table} in ${seconds.toFixed(1)} s (${num(rate())} documents/s)${
      skipped > 0 ? `; ${num(skipped)} invalid ${skipped === 1 ? 'line' : 'lines'} skipped` : ''
    }\n`,
  );
  return EXIT.ok;
}

// ------------------------------------------------------------------ backup

async function backupCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      options: { ...commonOptions, path: { type: 'string' }, wait: { type: 'boolean' }, interval: { type: 'string' } },
      allowPositionals: true,
    }),
  );
  noMoreThan(positionals, 1, values.help);
  if (values.help) {
    io.out(HELP.backup);
    return EXIT.ok;
  }
  if (values.path !== undefined && positionals[0] !== undefined)
    throw new UsageError('give the directory once: themis backup <dir> or --path <dir>');
  const target = values.path ?? positionals[0];
  const interval = intOption(values.interval, 'interval', 500, 10, 60_000);
  const db = connect(values, io.env);
  const started = unwrap(await db.api.POST('/admin/backup', { body: target !== undefined ? { path: target } : {} }));
  const id = String(started.id);
  io.out(`backup ${id} started (seq ${started.seq}) → ${started.path}\n`);
  if (!values.wait) return EXIT.ok;
  let lastShown = '';
  for (;;) {
    const b = unwrap(await db.api.GET('/admin/backup/{id}', { params: { path: { id } } }));
    if (b.status === 'done') {
      if (io.stderrIsTty) io.err('\r\x1b[K');
      io.out(`backup ${id} done: ${num(Number(b.entries ?? 0))} entries, ${num(Number(b.bytes ?? 0))} bytes → ${b.path}\n`);
      for (const w of b.warnings ?? []) io.err(`warning: ${w}\n`);
      return EXIT.ok;
    }
    if (b.status === 'failed') {
      if (io.stderrIsTty) io.err('\r\x1b[K');
      io.err(`themis backup: backup ${id} failed: ${b.error ?? 'unknown error'}\n`);
      return EXIT.failed;
    }
    const shown = `backup ${id}: ${Math.floor(Number(b.progress ?? 0) * 100)}%, ${num(Number(b.entries ?? 0))} entries, ${num(Number(b.bytes ?? 0))} bytes`;
    if (io.stderrIsTty) io.err(`\r\x1b[K${shown}`);
    else if (shown !== lastShown) io.err(`${shown}\n`);
    lastShown = shown;
    await new Promise((r) => setTimeout(r, interval));
  }
}
