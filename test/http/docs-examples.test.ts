import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocCommand,
  type Expectation,
  NO_RUN,
  type Pattern,
  disallowedCommand,
  docPages,
  extractPage,
  matchFragment,
  matchPattern,
} from '../helpers/docs-examples.js';
import { ROOT, type StartedServer, startServer, tempDir } from '../helpers/server.js';

/**
 * Runnable docs (issue 20): every shell example of README.md and docs/*.md runs, in document
 * order, against a fresh server per page, and its answer is compared with the response the page
 * documents (a `# ...` comment after the command, or a ```json block after the shell block).
 * The commands run in one bash per page, as a reader would paste them (variables set by one
 * command are seen by the next), with real curl. Rules (extraction, masking, elisions, the
 * `no-run` marker): docs/testing.md "Runnable docs"; test/helpers/docs-examples.ts.
 */

/** The admin key the examples' `$KEY` (and `$ADMIN_KEY`) hold; getting-started.md names it. */
const DOC_KEY = 'doc-admin-key-0123456789';
const COMMAND_TIMEOUT_MS = 20_000;

const missingTools = ['bash', 'curl', 'jq'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
/** Without the tools the suite is skipped (and says why), unless THEMIS_REQUIRE_DOCS_TOOLS=1 (.ci/run sets it). */
const skip = missingTools.length > 0 && process.env.THEMIS_REQUIRE_DOCS_TOOLS !== '1';

/** One bash per page: commands are sent on stdin, each one's output goes to files. */
class Shell {
  private readonly proc: ChildProcess;
  private out = '';
  private readonly dir: string;
  private n = 0;

  constructor() {
    this.dir = tempDir('themis-docs-sh-');
    this.proc = spawn('bash', ['--noprofile', '--norc'], {
      cwd: this.dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: this.dir,
        LANG: 'C.UTF-8',
        KEY: DOC_KEY,
        ADMIN_KEY: DOC_KEY,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (c: Buffer) => (this.out += c.toString()));
    this.proc.stderr!.resume();
    // curl reports each answer's status on stderr (after the doc's own output, which is kept apart).
    this.proc.stdin!.write(`curl() { command curl -w '%{stderr}\\n@@HTTP %{http_code}\\n' "$@"; }\n`);
  }

  async run(text: string): Promise<{ exit: number; stdout: string; stderr: string; statuses: number[]; timedOut: boolean }> {
    const id = ++this.n;
    const o = path.join(this.dir, `${id}.out`);
    const e = path.join(this.dir, `${id}.err`);
    this.out = '';
    this.proc.stdin!.write(`{\n${text}\n} </dev/null >${o} 2>${e}\nprintf '\\n@@DONE ${id} %d\\n' $?\n`);
    const deadline = Date.now() + COMMAND_TIMEOUT_MS;
    const done = new RegExp(`@@DONE ${id} (\\d+)`);
    let m: RegExpExecArray | null = null;
    while (!(m = done.exec(this.out)) && Date.now() < deadline && this.proc.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    const stdout = fs.existsSync(o) ? fs.readFileSync(o, 'utf8') : '';
    const rawErr = fs.existsSync(e) ? fs.readFileSync(e, 'utf8') : '';
    const statuses = [...rawErr.matchAll(/@@HTTP (\d{3})/g)].map((x) => Number(x[1]));
    const stderr = rawErr.replace(/\n?@@HTTP \d{3}\n/g, '');
    if (!m) {
      this.close();
      return { exit: -1, stdout, stderr, statuses, timedOut: true };
    }
    return { exit: Number(m[1]), stdout, stderr, statuses, timedOut: false };
  }

  close(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }

  /** Close and remove the directory the commands ran in. */
  dispose(): void {
    this.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
}

/** The test server's address instead of the documented one. */
function localize(text: string, port: number): string {
  return text.replace(/\b(?:localhost|127\.0\.0\.1):8765\b/g, `127.0.0.1:${port}`);
}

/** The body of an answer: after the headers when curl printed them (`-i`). */
function bodyOf(stdout: string): string {
  if (!/^HTTP\/[\d.]+ \d{3}/.test(stdout)) return stdout;
  const parts = stdout.split(/\r?\n\r?\n/);
  // Skip 100 Continue and the like: the last header section is the answer's.
  let i = 0;
  while (i < parts.length - 1 && /^HTTP\/[\d.]+ \d{3}/.test(parts[i]!)) i++;
  return parts.slice(i).join('\n\n');
}

function parseActual(body: string): { ok: true; value: unknown } | { ok: false } {
  const t = body.trim();
  if (t === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(t) };
  } catch {
    return { ok: false };
  }
}

const clip = (s: string, n = 1500) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

/** What is wrong with an answer, or undefined. */
function check(
  cmd: DocCommand,
  r: { exit: number; stdout: string; stderr: string; statuses: number[]; timedOut: boolean },
): string | undefined {
  if (r.timedOut) return `did not finish within ${COMMAND_TIMEOUT_MS / 1000} s (a stream that stays open? mark its block \`no-run\`)`;
  const status = r.statuses.at(-1);
  const expected: Expectation | undefined = cmd.expect.find((e) => e.status !== undefined);
  const problems: string[] = [];
  if (r.exit !== 0)
    problems.push(
      `exit status ${r.exit}${r.statuses.includes(0) ? ' (curl got no HTTP answer: 3 = malformed URL, e.g. a variable the page has not set; 7 = could not connect)' : ''}`,
    );
  for (const s of r.statuses.slice(0, -1)) if (s < 200 || s > 299) problems.push(`an inner curl answered HTTP ${s}`);
  if (expected?.status !== undefined) {
    if (status !== expected.status)
      problems.push(`expected HTTP ${expected.status} (documented at line ${expected.line}), got ${status ?? 'no HTTP answer'}`);
  } else if (status !== undefined && (status < 200 || status > 299))
    problems.push(`HTTP ${status} (no error documented: an example must succeed, or document its status, e.g. \`# 404 NOT_FOUND\`)`);
  const body = bodyOf(r.stdout);
  const actual = parseActual(body);
  if (expected?.code !== undefined && (expected.status ?? 0) >= 400) {
    const code = actual.ok ? (actual.value as { code?: unknown } | null)?.code : undefined;
    if (code !== expected.code) problems.push(`expected code ${expected.code}, got ${JSON.stringify(code)}`);
  }
  for (const e of cmd.expect) {
    if (e.body === undefined) continue;
    if (!actual.ok) {
      problems.push(`documented response at line ${e.line}, but the answer is not JSON`);
      continue;
    }
    const diff = e.fragment ? matchFragment(e.body as Record<string, Pattern>, actual.value) : matchPattern(e.body, actual.value);
    if (diff) problems.push(`differs from the response documented at line ${e.line}: ${diff}\n  documented: ${clip(e.source, 800)}`);
  }
  if (problems.length === 0) return undefined;
  return [
    ...problems,
    `  actual (HTTP ${status ?? '-'}): ${clip(body.trim()) || '(empty)'}`,
    ...(r.stderr.trim() ? [`  stderr: ${clip(r.stderr.trim(), 600)}`] : []),
  ].join('\n');
}

/** THEMIS_DOCS_VERBOSE=1 prints every answer (to write a documented response from). */
const verbose = process.env.THEMIS_DOCS_VERBOSE === '1';
/** THEMIS_DOCS_PAGES=docs/aql.md,README.md runs only these pages (while editing them). */
const only = process.env.THEMIS_DOCS_PAGES?.split(',').map((p) => p.trim());
const pages = docPages(ROOT)
  .filter((p) => !only || only.includes(p))
  .map((p) => extractPage(ROOT, p));

describe.skipIf(skip)(`runnable docs${skip ? ` (skipped: ${missingTools.join(', ')} not installed)` : ''}`, () => {
  it('bash, curl and jq are installed', () => {
    expect(missingTools, 'the docs examples need bash, curl and jq').toEqual([]);
  });

  it('the documented responses parse and every command ends within its block', () => {
    const problems = pages.flatMap((p) => p.problems).map((p) => `${p.page}:${p.line}: ${p.message}`);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  for (const page of pages) {
    if (page.commands.length === 0) continue;
    describe(page.page, () => {
      let server: StartedServer;
      let shell: Shell;
      beforeAll(async () => {
        server = await startServer({ adminKey: DOC_KEY });
        shell = new Shell();
      });
      afterAll(async () => {
        shell?.dispose();
        await server?.stop();
        if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
      });
      for (const cmd of page.commands) {
        const title = `${page.page}:${cmd.line}: ${cmd.text.split('\n')[0]!.slice(0, 110)}`;
        it(title, async () => {
          expect(shell.alive, 'the page shell ended (an earlier command hung)').toBe(true);
          const refused = disallowedCommand(cmd.text);
          if (refused !== undefined)
            expect.fail(
              `${page.page}:${cmd.line}: \`${refused}\` is not run by the docs test (only curl, jq, echo, printf, sleep, export and variable assignments are); if the block cannot run against a test server, mark it \`\`\`sh ${NO_RUN}\n  command: ${cmd.text}`,
            );
          const text = localize(cmd.text, server.port);
          const syntax = spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });
          if (syntax.status !== 0) expect.fail(`${page.page}:${cmd.line}: shell syntax error\n${syntax.stderr}\n  command: ${cmd.text}`);
          const r = await shell.run(text);
          if (verbose) console.log(`${page.page}:${cmd.line} -> HTTP ${r.statuses.join(',')}\n${r.stdout}`);
          const failure = check(cmd, r);
          if (failure) expect.fail(`${page.page}:${cmd.line}: ${failure}\n  command: ${clip(cmd.text, 1000)}`);
        });
      }
    });
  }
});
