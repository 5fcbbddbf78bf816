import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import JSZip from 'jszip';
import PDFDocument from 'pdfkit';
import { describe, expect, it } from 'vitest';
import {
  chunkText,
  DEFAULT_CHUNK_OVERLAP,
  DEFAULT_CHUNK_SIZE,
  extractText,
  MIME_DOCX,
  SUPPORTED_MIME_TYPES,
  type TextChunk,
} from '../../src/content/extract/index.js';
import { ThemisError } from '../../src/errors.js';
import { rejection } from '../helpers/errors.js';

/**
 * Text extraction (plain text, Markdown, HTML, PDF, DOCX) and chunking for content imports without chunks.
 * The binary fixtures in test/fixtures/content/ are made by scripts/make-content-fixtures.ts.
 */

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'content');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

function thrown(f: () => unknown): ThemisError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ThemisError);
  return err as ThemisError;
}

/** Lines joined by spaces: PDF text breaks lines where the page did. */
const oneLine = (s: string): string => s.replace(/\s+/g, ' ');

async function pdfOf(build: (doc: PDFKit.PDFDocument) => void, opts: PDFKit.PDFDocumentOptions = {}): Promise<Buffer> {
  const doc = new PDFDocument(opts);
  const parts: Buffer[] = [];
  doc.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve) => doc.on('end', () => resolve()));
  build(doc);
  doc.end();
  await done;
  return Buffer.concat(parts);
}

async function docxOf(documentXml: string, extra: Record<string, string> = {}): Promise<Buffer> {
  const zip = new JSZip();
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
  );
  zip.file(
    '_rels/.rels',
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
  );
  if (documentXml !== '') zip.file('word/document.xml', documentXml);
  for (const [name, content] of Object.entries(extra)) zip.file(name, content);
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}
const wordDocument = (body: string): string =>
  `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`;

describe('extractText: plain text', () => {
  it('decodes UTF-8, strips the byte order mark and normalizes line ends', async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('Grüße aus Köln.\r\nZweite Zeile.\rDritte.\n\n\n\nNach Leerzeilen.  \n'),
    ]);
    expect(await extractText(bytes, 'text/plain')).toBe('Grüße aus Köln.\nZweite Zeile.\nDritte.\n\nNach Leerzeilen.');
  });

  it('matches the MIME type case-insensitively and ignores its parameters', async () => {
    const bytes = Buffer.from('Straße');
    expect(await extractText(bytes, 'TEXT/Plain; Charset="UTF-8"; format=flowed')).toBe('Straße');
    expect(await extractText(bytes, ' text/plain ;charset=utf-8')).toBe('Straße');
  });

  it('honours a charset parameter, UTF-16 byte order marks, and falls back to Windows-1252 for bytes that are not UTF-8', async () => {
    const latin1 = Buffer.from([0x53, 0x74, 0x72, 0x61, 0xdf, 0x65, 0x20, 0x80, 0x20, 0x84, 0x78, 0x93, 0x20, 0x96]); // "Straße € „x“ –" in Windows-1252
    // WHATWG Encoding: the label iso-8859-1 means windows-1252 (0x80 is €, not a C1 control).
    expect(await extractText(latin1, 'text/plain; charset=iso-8859-1')).toBe('Straße € „x“ –');
    expect(await extractText(latin1, 'text/plain')).toBe('Straße € „x“ –');
    expect(await extractText(Buffer.from('Öl', 'utf16le'), 'text/plain; charset=utf-16le')).toBe('Öl');
    const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Öl und Äpfel', 'utf16le')]);
    expect(await extractText(utf16le, 'text/plain')).toBe('Öl und Äpfel');
    const utf16be = Buffer.from(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('Übel', 'utf16le').swap16()]));
    expect(await extractText(utf16be, 'text/plain')).toBe('Übel');
  });

  it('returns NFC text without control characters, soft hyphens or zero-width spaces', async () => {
    const decomposed = 'Mu\u0308ller und Gro\u0308\u00dfe'; // u + combining diaeresis
    const text = await extractText(
      Buffer.from(`${decomposed}\u0007 Silben\u00adtrennung Null\u200bbreite\fSeite zwei\u000bZeile`),
      'text/plain',
    );
    expect(text).toBe('Müller und Größe Silbentrennung Nullbreite\n\nSeite zwei\nZeile');
    expect(text.includes('u\u0308')).toBe(false);
  });

  it('refuses binary data with NUL characters and unknown charsets', async () => {
    const nul = await rejection(extractText(Buffer.from([0x41, 0x00, 0x42]), 'text/plain'));
    expect(nul.code).toBe('VALIDATION_FAILED');
    expect(nul.details).toEqual({ field: 'blob' });
    const charset = await rejection(extractText(Buffer.from('x'), 'text/plain; charset=klingon-8'));
    expect(charset.code).toBe('VALIDATION_FAILED');
    expect(charset.details).toEqual({ field: 'content.mime_type' });
  });

  it('answers PAYLOAD_TOO_LARGE beyond maxChars', async () => {
    expect(await extractText(Buffer.from('a'.repeat(100)), 'text/plain', undefined, { maxChars: 100 })).toHaveLength(100);
    const err = await rejection(extractText(Buffer.from('a'.repeat(101)), 'text/plain', undefined, { maxChars: 100 }));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.status).toBe(413);
    expect(err.details).toMatchObject({ field: 'blob', limit: 100 });
    // Far beyond the limit it is refused before decoding.
    expect((await rejection(extractText(Buffer.alloc(1000, 0x61), 'text/plain', undefined, { maxChars: 100 }))).code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('handles long runs of spaces in linear time', async () => {
    const text = await extractText(Buffer.from(`a${' '.repeat(2_000_000)}b\n`), 'text/plain');
    expect(text).toBe(`a${' '.repeat(2_000_000)}b`);
  });
});

describe('extractText: Markdown', () => {
  it('gives the text of the fixture without markdown syntax', async () => {
    const text = await extractText(fixture('sample.md'), 'text/markdown');
    expect(text.split('\n\n')[0]).toBe('title: not front matter aware');
    expect(text).toContain('Über uns & die Straße');
    expect(text).toContain('Ein Absatz mit einem Link und inline code.\nDie zweite Zeile desselben Absatzes, z. B. mit einer Zahl: 3.14.');
    expect(text).toContain('const answer = 6 * 7; // code is kept as text');
    expect(text).toContain('Ein Zitat über Größe.');
    expect(text).toContain('An image: Alt-Text des Bildes and an escaped *star*.');
    expect(text).toContain('Text with inline html and after.');
    expect(text).toContain('HTML block text');
    // lists as lines, ordered items keep their number
    expect(text).toContain('Erster Punkt\nZweiter Punkt mit Betonung\nVerschachtelter Punkt');
    expect(text).toContain('1. Schritt eins\n2. Schritt zwei');
    expect(text).toContain('Stadt | Einwohner\nKöln | 1 Mio.');
    for (const syntax of ['# ', '**', '](', 'https://example.org', '```', '|---', '> Ein', '<span>', '<div', '&amp;', '---']) {
      expect(text).not.toContain(syntax);
    }
    expect(text).not.toContain('MD_SCRIPT_MARKER');
    expect(text).not.toContain('MD_INLINE_SCRIPT');
  });

  it('stays linear on pathological emphasis and bracket runs', async () => {
    // marked takes about 30 s for 200 KB of "a_a_…"; these finish in well under the test timeout.
    for (const src of ['a_'.repeat(100_000), '*a'.repeat(100_000), '['.repeat(100_000), `${'*_'.repeat(50_000)}x${'_*'.repeat(50_000)}`]) {
      const text = await extractText(Buffer.from(src), 'text/markdown');
      expect(text.length).toBeGreaterThan(50_000);
    }
  });

  it('survives hostile nesting without a stack overflow', async () => {
    const quotes = await extractText(Buffer.from(`${'>'.repeat(100_000)} deep\n\nafter`), 'text/markdown');
    expect(typeof quotes).toBe('string');
    const lists = Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i * 2)}- x`).join('\n');
    expect(typeof (await extractText(Buffer.from(lists), 'text/markdown'))).toBe('string');
  });

  it('answers PAYLOAD_TOO_LARGE for a blob beyond maxMarkupBytes', async () => {
    const err = await rejection(extractText(Buffer.from('# big\n'.repeat(100)), 'text/markdown', undefined, { maxMarkupBytes: 500 }));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.details).toMatchObject({ field: 'blob', limit: 500 });
  });
});

describe('extractText: HTML', () => {
  it('strips tags, drops scripts and styles, decodes entities and breaks blocks into paragraphs and lines', async () => {
    const text = await extractText(fixture('sample.html'), 'text/html; charset=utf-8');
    expect(text).toContain('Grüße aus Köln\n\nDie Straße „Am Fluss“ ist schön & ruhig.');
    expect(text).toMatch(/Preise ab 5\s€ <inkl\. MwSt\.>/);
    expect(text).toContain('A block in a div with inline markup and a link to the docs.\nA second div right after it.');
    expect(text).toContain('First item\nNested item one\nNested item two\nSecond item');
    expect(text).toMatch(/1\. Step one\n\s*2\. Step two/);
    expect(text).toContain('Stadt | Einwohner\nMünchen | 1.5 Mio.');
    expect(text).toContain('Emoji 😀 and numeric ü entities.\nAfter a line break.');
    for (const hidden of [
      'SCRIPT_IN_HEAD',
      'SCRIPT_IN_BODY',
      'document.write',
      'STYLE_IN_BODY',
      'hidden-css-marker',
      'font-family',
      'NOSCRIPT_MARKER',
      'TEMPLATE_MARKER',
      'IMG_ALT_MARKER',
      'A comment',
      'Seitentitel',
      'example.org',
      '<p>',
      '</',
      '&amp;',
      '&ouml;',
    ]) {
      expect(text).not.toContain(hidden);
    }
  });

  it('refuses elements nested deeper than 512 levels quickly, and keeps text at ordinary depths', async () => {
    const err = await rejection(extractText(Buffer.from(`${'<b>'.repeat(1_000_000)}deep`), 'text/html'));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details).toEqual({ field: 'blob' });
    expect(err.message).toContain('nested too deeply');
    expect(await extractText(Buffer.from(`${'<div>'.repeat(400)}deep${'</div>'.repeat(400)}`), 'text/html')).toBe('deep');
    // Unclosed <p> and <li> are closed implicitly: they do not nest.
    const sloppy = await extractText(Buffer.from(`<ul>${'<li>item '.repeat(5000)}</ul>${'<p>para '.repeat(5000)}`), 'text/html');
    expect(sloppy.split('\n').filter((l) => l === 'item')).toHaveLength(5000);
  });
});

describe('extractText: PDF', () => {
  it('extracts both pages of the fixture with umlauts intact and paragraphs separated', async () => {
    const text = await extractText(fixture('sample.pdf'), 'application/pdf');
    const flat = oneLine(text);
    expect(flat).toContain('Bericht über die Prüfung');
    expect(flat).toContain('Die Prüfung der Größenverhältnisse ergab überraschende Ergebnisse.');
    expect(flat).toContain('Über 95 % der Maße stimmten, wie Dr. Müller am 3. März bestätigte.');
    expect(flat).toContain('Die Äpfel und Öfen wurden z. B. in der Straße „Am Fluss“ gezählt.');
    expect(flat).toContain('The quick brown fox jumps over the lazy dog.');
    expect(flat).toContain('of a paragraph that wraps over several lines of the page.');
    expect(flat).toContain('A closing paragraph about a naïve café owner.');
    // heading, German paragraph (page 1), English paragraph, closing paragraph (page 2): in page order, blank lines between
    const paragraphs = text.split('\n\n').map(oneLine);
    expect(paragraphs).toHaveLength(4);
    expect(paragraphs[0]).toBe('Bericht über die Prüfung');
    expect(paragraphs[1]).toMatch(/^Die Prüfung .* gezählt\.$/);
    expect(paragraphs[2]).toMatch(/^The quick brown fox .* of the page\.$/);
    expect(paragraphs[3]).toBe('A closing paragraph about a naïve café owner.');
  });

  it('leaves the caller’s buffer intact', async () => {
    const bytes = fixture('sample.pdf');
    const copy = Buffer.from(bytes);
    await extractText(bytes, 'application/pdf');
    expect(bytes.equals(copy)).toBe(true);
  });

  it.each([
    ['random bytes', Buffer.from('this is not a PDF at all, just some text')],
    ['a PDF header with garbage', Buffer.from(`%PDF-1.7\n${'x'.repeat(500)}`)],
    ['no bytes', Buffer.alloc(0)],
    ['the first half of a PDF', fixture('sample.pdf').subarray(0, 1300)],
  ])('answers VALIDATION_FAILED on the blob for %s', async (_name, bytes) => {
    const err = await rejection(extractText(bytes, 'application/pdf'));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details).toEqual({ field: 'blob' });
    expect(err.message).toMatch(/^blob is not a readable PDF: \S/);
    expect(err.message).not.toMatch(/\n|\bat \S+:\d+/); // one line, no stack
  });

  it('names the password of an encrypted PDF as the reason, and reads one with only an owner password', async () => {
    const locked = await pdfOf((doc) => doc.text('Geheimer Text'), { userPassword: 'secret', ownerPassword: 'owner', pdfVersion: '1.7' });
    const err = await rejection(extractText(locked, 'application/pdf'));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toBe('blob is not a readable PDF: it is encrypted with a password');
    const restricted = await pdfOf((doc) => doc.text('Nur eingeschränkt, aber lesbar.'), { ownerPassword: 'owner', pdfVersion: '1.7' });
    expect(await extractText(restricted, 'application/pdf')).toBe('Nur eingeschränkt, aber lesbar.');
  });

  it('answers PAYLOAD_TOO_LARGE beyond maxChars or maxPdfPages', async () => {
    const chars = await rejection(extractText(fixture('sample.pdf'), 'application/pdf', undefined, { maxChars: 100 }));
    expect(chars.code).toBe('PAYLOAD_TOO_LARGE');
    expect(chars.details).toMatchObject({ field: 'blob', limit: 100 });
    const pages = await rejection(extractText(fixture('sample.pdf'), 'application/pdf', undefined, { maxPdfPages: 1 }));
    expect(pages.code).toBe('PAYLOAD_TOO_LARGE');
    expect(pages.details).toMatchObject({ field: 'blob', limit: 1 });
  });
});

describe('extractText: DOCX', () => {
  it('extracts the fixture: heading, runs joined, line breaks kept, table rows as lines', async () => {
    const text = await extractText(fixture('sample.docx'), MIME_DOCX);
    expect(text).toBe(
      [
        'Jahresbericht Übersicht',
        'Die Zusammenarbeit mit dem Büro in Köln war großartig. Die Größe des Teams wuchs um ein Fünftel.',
        'The annual report covers every office.\nSecond line after a break. After a tab.',
        'Stadt | Umsatz\nMünchen | 1.234 €',
        'Ende des Berichts.',
      ].join('\n\n'),
    );
  });

  it.each([
    ['random bytes', async () => Buffer.from('PK\u0003\u0004 definitely not a zip archive')],
    ['a truncated archive', async () => fixture('sample.docx').subarray(0, 1200)],
    ['a ZIP without word/document.xml', () => docxOf('')],
    ['malformed XML', () => docxOf('<w:document><w:body><w:p>')],
  ])('answers VALIDATION_FAILED on the blob for %s', async (_name, make) => {
    const err = await rejection(extractText(await make(), MIME_DOCX));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details).toEqual({ field: 'blob' });
    expect(err.message).toMatch(/^blob is not a readable DOCX: \S/);
    expect(err.message).not.toMatch(/\n|\bat \S+:\d+/);
  });

  it('refuses a zip bomb before unpacking it, but not a large image', async () => {
    const para = '<w:p><w:r><w:t>Ein Absatz, der sich sehr oft wiederholt.</w:t></w:r></w:p>';
    const bomb = await docxOf(wordDocument(para.repeat(50_000))); // ~4 MB of XML in a few KB
    expect(bomb.length).toBeLessThan(100_000);
    const err = await rejection(extractText(bomb, MIME_DOCX, undefined, { maxDocxXmlBytes: 1_000_000 }));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.details).toMatchObject({ field: 'blob', limit: 1_000_000 });
    // Binary parts do not count: they are never unpacked.
    const withImage = await docxOf(wordDocument(para), { 'word/media/image1.png': 'x'.repeat(2_000_000) });
    expect(await extractText(withImage, MIME_DOCX, undefined, { maxDocxXmlBytes: 1_000_000 })).toBe(
      'Ein Absatz, der sich sehr oft wiederholt.',
    );
  });
});

describe('extractText: type detection and errors', () => {
  it.each([
    ['sample.pdf', 'application/octet-stream', 'Bericht.PDF'],
    ['sample.docx', undefined, 'bericht.docx'],
    ['sample.html', '', 'page.htm'],
    ['sample.md', 'application/octet-stream; name=x', 'README.markdown'],
  ])('%s as %s named %s: the extension decides', async (file, mime, filename) => {
    const text = await extractText(fixture(file), mime, filename);
    expect(text.length).toBeGreaterThan(100);
    expect(text).toMatch(/Köln|Prüfung/);
  });

  it('prefers a specific MIME type over the extension', async () => {
    expect(await extractText(Buffer.from('# Kein Markdown'), 'text/plain', 'x.md')).toBe('# Kein Markdown');
    expect(await extractText(Buffer.from('# Markdown'), 'text/x-markdown')).toBe('Markdown');
  });

  it.each([
    ['image/png', 'photo.png'],
    ['application/msword', 'old.doc'],
    ['application/octet-stream', undefined],
    ['application/octet-stream', 'archive.tar.gz'],
    [undefined, 'no-extension'],
  ])('refuses %s (%s) with VALIDATION_FAILED on content.mime_type, listing the supported types', async (mime, filename) => {
    const err = await rejection(extractText(Buffer.from('data'), mime, filename));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ field: 'content.mime_type' });
    for (const type of SUPPORTED_MIME_TYPES) expect(err.message).toContain(type);
  });
});

/** The invariants every chunking must keep. */
function checkChunks(text: string, chunks: TextChunk[], size: number): void {
  let prev: TextChunk | undefined;
  chunks.forEach((c, i) => {
    expect(c.seq_num).toBe(i);
    expect(text.slice(c.start, c.end)).toBe(c.text);
    expect(c.text.length).toBeGreaterThan(0);
    expect(c.text.length).toBeLessThanOrEqual(size);
    expect(c.text.trim()).toBe(c.text);
    // no split surrogate pair at either end
    expect(c.text.charCodeAt(0) >= 0xdc00 && c.text.charCodeAt(0) <= 0xdfff).toBe(false);
    const last = c.text.charCodeAt(c.text.length - 1);
    expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
    if (prev !== undefined) {
      expect(c.start).toBeGreaterThan(prev.start);
      expect(c.end).toBeGreaterThan(prev.end);
    }
    prev = c;
  });
  // every non-whitespace character is in some chunk
  let covered = 0;
  for (const c of chunks) {
    const from = Math.max(covered, c.start);
    expect(text.slice(covered, from).trim()).toBe('');
    covered = Math.max(covered, c.end);
  }
  expect(text.slice(covered).trim()).toBe('');
}

const SENTENCES_DE = [
  'Die Prüfung ergab z. B. gute Werte bei den Messungen im Labor, Satzende.',
  'Dr. Müller kam am 3. Oktober mit Nr. 5 und 3.14 Litern zur Ausgabe, Satzende.',
  'Das gilt u. a. für die Str. 12 und bzw. für die Abt. Nord ca. zur Hälfte, Satzende.',
];
const SENTENCES_EN = [
  'We met e.g. Mr. Smith and Prof. Jones at the U.S. office in St. Louis, sentence end.',
  'The value was approx. 2.5 times higher, i.e. as in Fig. 3 of the report, sentence end.',
  'Ms. Brown wrote vs. the results of No. 7 with J. R. R. Tolkien in mind, sentence end.',
];

describe('chunkText', () => {
  it('exports the defaults and validates its options', () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(1000);
    expect(DEFAULT_CHUNK_OVERLAP).toBe(100);
    for (const [opts, field] of [
      [{ size: 49, overlap: 0 }, 'chunking.size'],
      [{ size: 100.5, overlap: 0 }, 'chunking.size'],
      [{ size: Number.NaN, overlap: 0 }, 'chunking.size'],
      [{ size: 100, overlap: 50 }, 'chunking.overlap'],
      [{ size: 100, overlap: -1 }, 'chunking.overlap'],
      [{ size: 100, overlap: 1.5 }, 'chunking.overlap'],
    ] as const) {
      const err = thrown(() => chunkText('text', opts));
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.details).toEqual({ field });
    }
    expect(chunkText('ok', { size: 50, overlap: 24 })).toHaveLength(1);
  });

  it('gives no chunks for empty or blank text, one trimmed chunk for short text', () => {
    expect(chunkText('', { size: 100, overlap: 10 })).toEqual([]);
    expect(chunkText(' \n\t\n ', { size: 100, overlap: 10 })).toEqual([]);
    expect(chunkText('\n\n  Kurzer Text.  \n', { size: 100, overlap: 10 })).toEqual([
      { seq_num: 0, text: 'Kurzer Text.', start: 4, end: 16 },
    ]);
  });

  it('prefers paragraph boundaries', () => {
    const paragraphs = Array.from({ length: 12 }, (_, i) => `Absatz ${i}: ${SENTENCES_DE[i % 3]} ${SENTENCES_EN[i % 3]}`);
    const text = paragraphs.join('\n\n');
    const chunks = chunkText(text, { size: 500, overlap: 0 });
    checkChunks(text, chunks, 500);
    for (const c of chunks) {
      // every chunk is whole paragraphs: it starts at one and ends at one
      expect(c.start === 0 || text.slice(c.start - 2, c.start) === '\n\n').toBe(true);
      expect(c.end === text.length || text.slice(c.end, c.end + 2) === '\n\n').toBe(true);
    }
    expect(chunks.length).toBeLessThan(paragraphs.length);
  });

  it('cuts at sentence ends, not after abbreviations, initials, ordinals or inside numbers', () => {
    const sentences = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? SENTENCES_DE : SENTENCES_EN)[Math.floor(i / 2) % 3]!);
    const text = sentences.join(' ');
    for (const size of [120, 150, 200, 260, 333]) {
      const chunks = chunkText(text, { size, overlap: 0 });
      checkChunks(text, chunks, size);
      for (const c of chunks) {
        expect(c.text).toMatch(/(Satzende|sentence end)\.$/);
        expect(c.text).toMatch(/^(Die|Dr\.|Das|We|The|Ms\.) /);
      }
    }
  });

  it('does not end a chunk after the number of a list item', () => {
    const text = Array.from({ length: 30 }, (_, i) => `${i + 1}. Punkt ${i + 1} der Liste mit etwas Text`).join('\n');
    const chunks = chunkText(text, { size: 100, overlap: 0 });
    checkChunks(text, chunks, 100);
    for (const c of chunks) {
      expect(c.text).not.toMatch(/\n\d+\.$/);
      expect(c.text).toMatch(/^\d+\. Punkt/);
    }
  });

  it('overlaps consecutive chunks by about the overlap, starting at a sentence where one is near', () => {
    const short = ['Eins ist klar.', 'Zwei folgt bald.', 'Drei kommt dann.', 'Vier ist hier.', 'Fünf zum Ende.'];
    const text = Array.from({ length: 80 }, (_, i) => short[i % 5]).join(' ');
    const overlap = 60;
    const chunks = chunkText(text, { size: 300, overlap });
    checkChunks(text, chunks, 300);
    expect(chunks.length).toBeGreaterThan(3);
    for (let i = 1; i < chunks.length; i++) {
      const shared = chunks[i - 1]!.end - chunks[i]!.start;
      expect(shared).toBeGreaterThanOrEqual(overlap / 2);
      expect(shared).toBeLessThanOrEqual(overlap * 1.5);
      // a sentence start: after ". "
      expect(text.slice(chunks[i]!.start - 2, chunks[i]!.start)).toBe('. ');
    }
  });

  it('starts the overlap at a word when no sentence starts nearby', () => {
    const text = 'wort '.repeat(400).trim();
    const chunks = chunkText(text, { size: 100, overlap: 30 });
    checkChunks(text, chunks, 100);
    for (let i = 1; i < chunks.length; i++) {
      expect(text[chunks[i]!.start - 1]).toBe(' ');
      const shared = chunks[i - 1]!.end - chunks[i]!.start;
      expect(shared).toBeGreaterThanOrEqual(15);
      expect(shared).toBeLessThanOrEqual(45);
    }
  });

  it('cuts a word longer than the chunk size hard, at the size', () => {
    const text = 'x'.repeat(1000);
    const chunks = chunkText(text, { size: 100, overlap: 10 });
    checkChunks(text, chunks, 100);
    for (const c of chunks.slice(0, -1)) expect(c.text.length).toBe(100);
    expect(chunks[1]!.start).toBe(90);
  });

  it('never splits a surrogate pair or a combining sequence', () => {
    const emoji = '😀'.repeat(300);
    for (const [size, overlap] of [
      [51, 10],
      [101, 25],
      [64, 7],
    ] as const) {
      const chunks = chunkText(emoji, { size, overlap });
      checkChunks(emoji, chunks, size);
      for (const c of chunks) expect([...c.text].every((ch) => ch === '😀')).toBe(true);
    }
    const combining = 'e\u0301'.repeat(300); // é as e + combining acute
    for (const c of chunkText(combining, { size: 51, overlap: 10 })) {
      expect(c.text.startsWith('\u0301')).toBe(false);
      expect(c.text.endsWith('e')).toBe(false);
    }
  });

  it('keeps its invariants on arbitrary text', () => {
    const piece = fc.oneof(
      fc.constantFrom('Wort', 'Straße', 'z. B.', 'Dr.', '3.14', 'Ende.', 'Frage?', 'Ja!', '…', '😀', 'e\u0301', '„Zitat“', 'e.g.', '1.'),
      fc.string({ maxLength: 12 }),
      fc.constantFrom(' ', '  ', '\n', '\n\n', '\t', ' \n \n '),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 400 }),
        fc.integer({ min: 50, max: 300 }),
        fc.double({ min: 0, max: 0.49, noNaN: true }),
        (parts, size, f) => {
          const text = parts.join(parts.length % 2 === 0 ? ' ' : '');
          const overlap = Math.floor(size * f);
          checkChunks(text, chunkText(text, { size, overlap }), size);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('chunks extracted text: the PDF fixture at a small size', async () => {
    const text = await extractText(fixture('sample.pdf'), 'application/pdf');
    const chunks = chunkText(text, { size: 120, overlap: 20 });
    checkChunks(text, chunks, 120);
    expect(chunks[0]!.text.startsWith('Bericht über die Prüfung\n\nDie Prüfung')).toBe(true);
    expect(chunks.at(-1)!.text.endsWith('naïve café owner.')).toBe(true);
    // each chunk but the last ends at a sentence end or a line end
    for (const c of chunks.slice(0, -1)) expect(c.text.endsWith('.') || text[c.end] === '\n').toBe(true);
  });

  it('takes linear time on a long text with a huge whitespace run', () => {
    const text = `Anfang.${' '.repeat(1_000_000)}${'Ein Satz mit Inhalt. '.repeat(20_000)}Ende.`;
    const chunks = chunkText(text, { size: DEFAULT_CHUNK_SIZE, overlap: DEFAULT_CHUNK_OVERLAP });
    expect(chunks[0]).toEqual({ seq_num: 0, text: 'Anfang.', start: 0, end: 7 });
    expect(chunks.at(-1)!.text.endsWith('Ende.')).toBe(true);
    expect(chunks.length).toBeGreaterThan(400);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(DEFAULT_CHUNK_SIZE);
  });
});
