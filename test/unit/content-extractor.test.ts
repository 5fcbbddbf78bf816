import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig } from '../../src/config.js';
import { Extractor, type ExtractorOptions, extractText, MIME_DOCX } from '../../src/content/extract/index.js';
import { deserializeError, serializeError } from '../../src/content/extract/protocol.js';
import { ThemisError } from '../../src/errors.js';
import { rejection } from '../helpers/errors.js';

/**
 * Text extraction in worker threads (src/content/extract/extractor.ts): the same text as extractText, errors
 * that keep their code, message and details across the thread boundary, a time and a memory limit that end
 * the worker and leave the Extractor working, an event loop that stays free, a bounded queue, and workers
 * that never keep the process alive when idle.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'content');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

const open: Extractor[] = [];
function extractor(opts: ExtractorOptions = {}): Extractor {
  const ex = new Extractor(opts);
  open.push(ex);
  return ex;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((ex) => ex.close()));
});

/** Markdown of about `bytes` bytes: emphasis, links, code and lists (4 MiB take about 2 s to convert). */
function bigMarkdown(bytes: number): Buffer {
  const part = 'Ein *Absatz* mit [einem Link](https://example.com/x) und `code`, **fett** und mehr Text.\n\n- Punkt eins\n- Punkt zwei\n\n';
  return Buffer.from(part.repeat(Math.ceil(bytes / part.length)));
}

/** HTML of about `bytes` bytes (its DOM takes many times its size in memory). */
function bigHtml(bytes: number): Buffer {
  const part = '<div><p>Hallo <b>Welt</b> <a href="x">Link</a></p><ul><li>eins</li><li>zwei</li></ul></div>';
  return Buffer.from(`<html><body>${part.repeat(Math.ceil(bytes / part.length))}</body></html>`);
}

/**
 * A one-page PDF whose content stream (spaces, deflated) inflates to `mib` MiB: a few hundred KB of file that
 * PDF.js inflates into typed arrays, outside the heap limit (it needs about twice the inflated size).
 */
async function pdfBomb(mib: number): Promise<Buffer> {
  const deflate = zlib.createDeflate();
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  const spaces = Buffer.alloc(1024 * 1024, 0x20);
  for (let i = 0; i < mib; i++) {
    if (!deflate.write(spaces)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  const stream = Buffer.concat(parts);
  const objects = [
    Buffer.from('1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n'),
    Buffer.from('2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n'),
    Buffer.from('3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>> endobj\n'),
    Buffer.concat([
      Buffer.from(`4 0 obj <</Length ${stream.length}/Filter/FlateDecode>> stream\n`),
      stream,
      Buffer.from('\nendstream endobj\n'),
    ]),
  ];
  const out = [Buffer.from('%PDF-1.4\n')];
  let offset = out[0]!.length;
  let xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of objects) {
    xref += `${String(offset).padStart(10, '0')} 00000 n \n`;
    out.push(o);
    offset += o.length;
  }
  out.push(Buffer.from(`${xref}trailer <</Size ${objects.length + 1}/Root 1 0 R>>\nstartxref\n${offset}\n%%EOF\n`));
  return Buffer.concat(out);
}

/** The longest a 5 ms timer fired late while `run` ran (started 30 ms into the measurement). */
async function maxTimerLag<T>(run: () => Promise<T>): Promise<{ value: T; lagMs: number }> {
  let lagMs = 0;
  let last = performance.now();
  let stop = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    lagMs = Math.max(lagMs, now - last - 5);
    last = now;
    if (!stop) timer = setTimeout(tick, 5);
  };
  timer = setTimeout(tick, 5);
  await new Promise((resolve) => setTimeout(resolve, 30));
  try {
    const value = await run();
    // One more tick after the work: a stall at the very end shows too.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { value, lagMs };
  } finally {
    stop = true;
    clearTimeout(timer);
  }
}

describe('Extractor: results', () => {
  it('gives the same text as extractText for every fixture and for plain text', async () => {
    const ex = extractor();
    const cases: [Buffer, string | undefined, string | undefined][] = [
      [fixture('sample.md'), 'text/markdown', undefined],
      [fixture('sample.html'), 'text/html', undefined],
      [fixture('sample.pdf'), 'application/pdf', undefined],
      [fixture('sample.docx'), MIME_DOCX, undefined],
      [fixture('sample.docx'), 'application/octet-stream', 'Bericht.DOCX'],
      [Buffer.from('Grüße\r\naus Köln.\u00ad'), 'text/plain; charset=utf-8', undefined],
    ];
    for (const [bytes, mime, filename] of cases) {
      const expected = await extractText(bytes, mime, filename);
      expect(expected.length).toBeGreaterThan(0);
      expect(await ex.extract(bytes, mime, filename)).toBe(expected);
    }
    // All of them in one worker, kept for the next job.
    expect(ex.threads).toBe(1);
  });

  it('sends exactly the caller’s bytes (a view into a larger buffer too) and leaves the caller’s Buffer intact', async () => {
    const ex = extractor();
    const backing = Buffer.from('xxxx# Titel\n\nText *hier*.yyyy');
    const view = backing.subarray(4, backing.length - 4);
    const before = Buffer.from(backing);
    expect(await ex.extract(view, 'text/markdown')).toBe('Titel\n\nText hier.');
    expect(view.length).toBe(backing.length - 8);
    expect(backing.buffer.byteLength).toBeGreaterThan(0); // not detached
    expect(backing.equals(before)).toBe(true);
    // Buffers with an ArrayBuffer of their own (which could be transferred, detaching them), a plain Uint8Array.
    const pdf = Buffer.alloc(fixture('sample.pdf').length);
    fixture('sample.pdf').copy(pdf);
    expect(pdf.byteLength).toBe(pdf.buffer.byteLength);
    const pdfCopy = Buffer.from(pdf);
    expect(await ex.extract(pdf, 'application/pdf')).toBe(await extractText(pdfCopy, 'application/pdf'));
    expect(pdf.buffer.byteLength).toBe(pdfCopy.length);
    expect(pdf.equals(pdfCopy)).toBe(true);
    const array = new Uint8Array(fixture('sample.docx'));
    const docx = await ex.extract(array, MIME_DOCX);
    expect(docx).toBe(await extractText(fixture('sample.docx'), MIME_DOCX));
    expect(Buffer.from(array).equals(fixture('sample.docx'))).toBe(true);
  });

  it('runs jobs on up to `workers` threads at once, and ends idle workers after idleMs', async () => {
    const ex = extractor({ workers: 2, idleMs: 200 });
    const big = bigMarkdown(1024 * 1024);
    const expected = await extractText(big, 'text/markdown');
    const both = Promise.all([ex.extract(big, 'text/markdown'), ex.extract(big, 'text/markdown')]);
    expect(ex.threads).toBe(2);
    expect(await both).toEqual([expected, expected]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(ex.threads).toBe(0);
    // A later job starts a fresh one.
    expect(await ex.extract(Buffer.from('wieder da'), 'text/plain')).toBe('wieder da');
    expect(ex.threads).toBe(1);
  });
});

describe('Extractor: errors', () => {
  it('passes ThemisErrors from the worker on with the same code, status, message and details', async () => {
    const limits = { maxChars: 50, maxDocxXmlBytes: 100 };
    const ex = extractor({ limits });
    const deep = Buffer.from('<div>'.repeat(600));
    const cases: [Buffer, string][] = [
      [Buffer.from('%PDF-1.7\nnot really a PDF'), 'application/pdf'],
      [Buffer.from([0x41, 0x00, 0x42]), 'text/plain'],
      [Buffer.from('x'), 'text/plain; charset=klingon-8'],
      [Buffer.from('a'.repeat(51)), 'text/plain'],
      [Buffer.from('no zip'), MIME_DOCX],
      [fixture('sample.docx'), MIME_DOCX],
      [deep, 'text/html'],
    ];
    const codes = new Set<string>();
    for (const [bytes, mime] of cases) {
      const want = await rejection(extractText(bytes, mime, undefined, limits));
      const got = await rejection(ex.extract(bytes, mime));
      expect({ code: got.code, status: got.status, message: got.message, details: got.details }).toEqual({
        code: want.code,
        status: want.status,
        message: want.message,
        details: want.details,
      });
      expect(got.message).not.toMatch(/\n\s+at /);
      codes.add(got.code);
    }
    expect([...codes].sort()).toEqual(['PAYLOAD_TOO_LARGE', 'VALIDATION_FAILED']);
    // The worker survived all of that.
    expect(ex.threads).toBe(1);
  });

  it('refuses a blob of no supported type on the calling thread, without starting a worker', async () => {
    const ex = extractor();
    const err = await rejection(ex.extract(Buffer.from('GIF89a'), 'image/gif'));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details).toEqual({ field: 'content.mime_type' });
    const unnamed = await rejection(ex.extract(Buffer.from('x'), 'application/octet-stream'));
    expect(unnamed.details).toEqual({ field: 'content.mime_type' });
    expect(ex.threads).toBe(0);
  });

  it('serializes other errors as plain Errors with the name and first line, the stack only in `stack`', () => {
    const original = new TypeError('cannot read properties of undefined\nsecond line');
    const back = deserializeError(structuredClone(serializeError(original)));
    expect(back).not.toBeInstanceOf(ThemisError);
    expect(back.message).toBe('text extraction failed: TypeError: cannot read properties of undefined');
    expect(back.stack).toContain('in the extraction worker');
    const themis = deserializeError(
      structuredClone(serializeError(new ThemisError('UNAVAILABLE', 'busy', { details: { field: 'blob' }, retryAfterMs: 250 }))),
    );
    expect(themis).toBeInstanceOf(ThemisError);
    expect(themis).toMatchObject({ code: 'UNAVAILABLE', status: 503, message: 'busy', details: { field: 'blob' }, retryAfterMs: 250 });
  });
});

describe('Extractor: limits', () => {
  it('fails an extraction past the timeout with VALIDATION_FAILED, ends its worker, and the next extraction works', async () => {
    const ex = extractor({ timeoutMs: 250 });
    // Warm: the worker is started and its modules loaded (that time does not count against the timeout).
    expect(await ex.extract(Buffer.from('# a'), 'text/markdown')).toBe('a');
    const started = performance.now();
    const err = await rejection(ex.extract(bigMarkdown(4 * 1024 * 1024), 'text/markdown'));
    const took = performance.now() - started;
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ field: 'blob' });
    expect(err.message).toBe('text extraction took longer than 250 ms (THEMIS_CONTENT_EXTRACT_TIMEOUT_MS)');
    // Ended at the timeout, not when the conversion (about 2 s) would have finished.
    expect(took).toBeGreaterThanOrEqual(240);
    expect(took).toBeLessThan(1500);
    expect(ex.threads).toBe(0);
    expect(await ex.extract(fixture('sample.html'), 'text/html')).toBe(await extractText(fixture('sample.html'), 'text/html'));
    expect(ex.threads).toBe(1);
  });

  it('states the timeout in seconds when it is a whole number of them', async () => {
    const ex = extractor({ timeoutMs: 1000 });
    const err = await rejection(ex.extract(bigMarkdown(8 * 1024 * 1024), 'text/markdown'));
    expect(err.message).toBe('text extraction took longer than 1 s (THEMIS_CONTENT_EXTRACT_TIMEOUT_MS)');
  });

  it('fails an extraction that needs more memory than maxMemoryMb with PAYLOAD_TOO_LARGE, and the next extraction works', async () => {
    const ex = extractor({ maxMemoryMb: 32 });
    const html = bigHtml(8 * 1024 * 1024);
    const err = await rejection(ex.extract(html, 'text/html'));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.status).toBe(413);
    expect(err.details).toEqual({ field: 'blob' });
    expect(err.message).toBe('text extraction needed more than 32 MiB of memory (THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB)');
    expect(ex.threads).toBe(0);
    expect(await ex.extract(fixture('sample.docx'), MIME_DOCX)).toBe(await extractText(fixture('sample.docx'), MIME_DOCX));
    // The same blob fits under the default limit.
    const roomy = extractor();
    expect((await roomy.extract(html, 'text/html')).length).toBeGreaterThan(1_000_000);
  });

  it('ends an extraction whose memory outside the heap (a PDF bomb) grows past twice maxMemoryMb, with PAYLOAD_TOO_LARGE', async () => {
    const bomb = await pdfBomb(256);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const ex = extractor({ maxMemoryMb: 32 });
    // Loading PDF.js and reading an ordinary PDF stays well within the limit.
    const sample = await extractText(fixture('sample.pdf'), 'application/pdf');
    expect(await ex.extract(fixture('sample.pdf'), 'application/pdf')).toBe(sample);
    const before = process.memoryUsage.rss();
    let peak = before;
    const watch = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
    let err: ThemisError;
    try {
      err = await rejection(ex.extract(bomb, 'application/pdf'));
    } finally {
      clearInterval(watch);
    }
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.details).toEqual({ field: 'blob' });
    expect(err.message).toBe('text extraction needed more than 32 MiB of memory (THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB)');
    // Inflating it whole takes about 512 MiB; it was stopped near the allowance of 64 MiB (read every 50 ms).
    expect(peak - before).toBeLessThan(256 * 1024 * 1024);
    expect(ex.threads).toBe(0);
    expect(await ex.extract(fixture('sample.pdf'), 'application/pdf')).toBe(sample);
  });

  it('keeps the event loop responsive while a long extraction runs (and the probe does see an in-thread one)', async () => {
    const big = bigMarkdown(4 * 1024 * 1024);
    const inThread = await maxTimerLag(() => extractText(big, 'text/markdown'));
    // The probe works: converting on this thread stalls timers for the whole conversion.
    expect(inThread.lagMs).toBeGreaterThan(500);
    const ex = extractor();
    await ex.extract(Buffer.from('warm'), 'text/plain');
    const inWorker = await maxTimerLag(() => ex.extract(big, 'text/markdown'));
    expect(inWorker.value).toBe(inThread.value);
    expect(inWorker.lagMs).toBeLessThan(100);
  });

  it('queues jobs while the workers are busy and refuses beyond maxQueue with UNAVAILABLE and retry advice', async () => {
    const ex = extractor({ workers: 1, maxQueue: 1 });
    const running = ex.extract(bigMarkdown(1024 * 1024), 'text/markdown');
    const queued = ex.extract(Buffer.from('zweiter'), 'text/plain');
    const err = await rejection(ex.extract(Buffer.from('dritter'), 'text/plain'));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect((await running).length).toBeGreaterThan(100_000);
    expect(await queued).toBe('zweiter');
    // Room again.
    expect(await ex.extract(Buffer.from('vierter'), 'text/plain')).toBe('vierter');
  });
});

describe('Extractor: close and process exit', () => {
  it('close() fails waiting and running extractions with UNAVAILABLE, ends the workers, and refuses later ones', async () => {
    const ex = new Extractor({ maxQueue: 4 });
    const running = rejection(ex.extract(bigMarkdown(4 * 1024 * 1024), 'text/markdown'));
    const waiting = rejection(ex.extract(Buffer.from('wartet'), 'text/plain'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ex.threads).toBe(1);
    await ex.close();
    expect(ex.threads).toBe(0);
    expect((await running).code).toBe('UNAVAILABLE');
    expect((await waiting).code).toBe('UNAVAILABLE');
    expect((await rejection(ex.extract(Buffer.from('x'), 'text/plain'))).code).toBe('UNAVAILABLE');
    await ex.close(); // twice is fine
  });

  it('an idle worker does not keep the process alive; a busy one does until its job is done', async () => {
    // A child process runs the TypeScript sources through vite-node (the worker from worker.ts, as here).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'themis-extractor-'));
    const script = path.join(dir, 'child.ts');
    const index = path.join(ROOT, 'src', 'content', 'extract', 'index.ts');
    fs.writeFileSync(
      script,
      [
        `import { Extractor } from ${JSON.stringify(index)};`,
        'const ex = new Extractor({ idleMs: 60_000 });',
        "const big = Buffer.from('Ein *Absatz* mit `code`.\\n\\n'.repeat(40_000));",
        // Started from a timer and not awaited: once the timer has fired, the busy worker alone must keep the
        // process alive until the text arrives; then the idle worker must not keep it alive.
        'setTimeout(() => {',
        "  void ex.extract(big, 'text/markdown').then((t) => console.log(JSON.stringify({ length: t.length, threads: ex.threads })));",
        '}, 300);',
      ].join('\n'),
    );
    try {
      const started = performance.now();
      const result = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'vite-node', 'vite-node.mjs'), script], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
        });
        child.stderr.on('data', (b: Buffer) => {
          err += b.toString();
        });
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.on('exit', (code) => {
          clearTimeout(kill);
          resolve({ code, out, err });
        });
      });
      expect(result.err).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out.trim())).toEqual({ length: 'Ein Absatz mit code.\n\n'.repeat(40_000).trim().length, threads: 1 });
      // Long before the idle time (60 s) ends the worker: it was unref'd once idle.
      expect(performance.now() - started).toBeLessThan(15_000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration', () => {
  it('reads THEMIS_CONTENT_EXTRACT_TIMEOUT_MS and THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB (and their flags), with defaults 30 s and 512 MiB', () => {
    expect(DEFAULTS.contentExtractTimeoutMs).toBe(30_000);
    expect(DEFAULTS.contentExtractMaxMemoryMb).toBe(512);
    const env = { THEMIS_CONTENT_EXTRACT_TIMEOUT_MS: '5000', THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB: '256' };
    expect(loadConfig([], env)).toMatchObject({ contentExtractTimeoutMs: 5000, contentExtractMaxMemoryMb: 256 });
    expect(loadConfig(['--content-extract-timeout-ms', '700', '--content-extract-max-memory-mb', '64'], env)).toMatchObject({
      contentExtractTimeoutMs: 700,
      contentExtractMaxMemoryMb: 64,
    });
    for (const bad of ['0', '99', '3600001', '1.5', 'abc']) {
      expect(() => loadConfig([], { THEMIS_CONTENT_EXTRACT_TIMEOUT_MS: bad })).toThrow(ConfigError);
    }
    for (const bad of ['16', '65537', '-1']) {
      expect(() => loadConfig([], { THEMIS_CONTENT_EXTRACT_MAX_MEMORY_MB: bad })).toThrow(ConfigError);
    }
  });
});
