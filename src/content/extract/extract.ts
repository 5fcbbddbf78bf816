/**
 * Text extraction from a content blob, for imports that bring a blob but no
 * chunks: plain text, Markdown, HTML, PDF and DOCX, chosen by the MIME type
 * (case-insensitive, parameters ignored except `charset`) or, for
 * `application/octet-stream` or no type, by the filename's extension.
 *
 * The text returned is normalized: line ends are `\n`, control characters
 * (other than tab and line feed), soft hyphens, zero-width spaces and byte
 * order marks are removed, form feeds become paragraph breaks, lone
 * surrogates become U+FFFD, the text is in Unicode NFC (so "u" + combining
 * diaeresis from a PDF is "ü"), spaces at line ends are dropped, runs of
 * blank lines are one blank line, and the whole is trimmed.
 *
 * Text formats are decoded by their byte order mark, else the `charset`
 * parameter, else as UTF-8 when the bytes are valid UTF-8 and as
 * Windows-1252 when they are not (legacy Latin-1 files); an HTML
 * `<meta charset>` is not read.
 *
 * Bad input is answered with a ThemisError and nothing else:
 * VALIDATION_FAILED (`details.field` `content.mime_type` for an unsupported
 * type or charset; `blob` for bytes that are not what the type says: binary
 * data as text, a corrupt or password-protected PDF, a corrupt DOCX, HTML
 * nested deeper than 512 elements) or PAYLOAD_TOO_LARGE (`details.field`
 * `blob`, `details.limit`) beyond the limits of ExtractOptions.
 *
 * Everything runs on the calling thread: a 16 MiB Markdown or HTML blob
 * takes seconds, a DOCX near its limit more (see docx.ts), a PDF as long as
 * PDF.js needs (PDF.js inflates a page's content streams whole, with no
 * limit of its own).
 */
import { TextDecoder } from 'node:util';
import { ThemisError } from '../../errors.js';
import { docxToPlainText, UnreadableDocxError } from './docx.js';
import { HtmlTooDeepError, htmlToPlainText } from './html.js';
import { markdownToPlainText } from './markdown.js';
import { pdfToPlainText, UnreadablePdfError } from './pdf.js';
import { shortReason } from './reason.js';

export const MIME_PLAIN = 'text/plain';
export const MIME_MARKDOWN = 'text/markdown';
export const MIME_HTML = 'text/html';
export const MIME_PDF = 'application/pdf';
export const MIME_DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** The MIME types text can be extracted from (aliases such as `text/x-markdown` are accepted too). */
export const SUPPORTED_MIME_TYPES: readonly string[] = [MIME_PLAIN, MIME_MARKDOWN, MIME_HTML, MIME_PDF, MIME_DOCX];

/** Filename extensions used when the MIME type is `application/octet-stream` or missing. */
export const SUPPORTED_EXTENSIONS: readonly string[] = ['.txt', '.md', '.markdown', '.html', '.htm', '.pdf', '.docx'];

/** Longest text extraction returns (UTF-16 code units). */
export const DEFAULT_MAX_EXTRACTED_CHARS = 20_000_000;
/** Largest Markdown or HTML blob (converting 16 MiB takes several seconds and about half a GiB of memory). */
export const DEFAULT_MAX_MARKUP_BYTES = 16 * 1024 * 1024;
/** Most bytes the XML parts of a DOCX may unpack to (mammoth needs about 60 times that in memory). */
export const DEFAULT_MAX_DOCX_XML_BYTES = 32 * 1024 * 1024;
/** Most pages of a PDF. */
export const DEFAULT_MAX_PDF_PAGES = 10_000;

export interface ExtractOptions {
  /** Longest text returned (default 20,000,000); PAYLOAD_TOO_LARGE beyond. */
  maxChars?: number;
  /** Largest Markdown or HTML blob (default 16 MiB); PAYLOAD_TOO_LARGE beyond. */
  maxMarkupBytes?: number;
  /** Most bytes the XML parts of a DOCX may unpack to (default 32 MiB); PAYLOAD_TOO_LARGE beyond. */
  maxDocxXmlBytes?: number;
  /** Most pages of a PDF (default 10,000); PAYLOAD_TOO_LARGE beyond. */
  maxPdfPages?: number;
}

export type ContentFormat = 'text' | 'markdown' | 'html' | 'pdf' | 'docx';

const FORMAT_OF_MIME: ReadonlyMap<string, ContentFormat> = new Map([
  [MIME_PLAIN, 'text'],
  [MIME_MARKDOWN, 'markdown'],
  ['text/x-markdown', 'markdown'],
  [MIME_HTML, 'html'],
  ['application/xhtml+xml', 'html'],
  [MIME_PDF, 'pdf'],
  ['application/x-pdf', 'pdf'],
  [MIME_DOCX, 'docx'],
]);

const FORMAT_OF_EXTENSION: ReadonlyMap<string, ContentFormat> = new Map([
  ['txt', 'text'],
  ['md', 'markdown'],
  ['markdown', 'markdown'],
  ['html', 'html'],
  ['htm', 'html'],
  ['pdf', 'pdf'],
  ['docx', 'docx'],
]);

/** MIME types that say nothing about the content: the filename's extension decides. */
const GENERIC_MIME = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

function unsupported(message: string): ThemisError {
  return new ThemisError(
    'VALIDATION_FAILED',
    `${message}; text can be extracted from ${SUPPORTED_MIME_TYPES.join(', ')} (or application/octet-stream with a filename ending in ${SUPPORTED_EXTENSIONS.join(' ')})`,
    { details: { field: 'content.mime_type' } },
  );
}

function tooLarge(message: string, limit: number): ThemisError {
  return new ThemisError('PAYLOAD_TOO_LARGE', message, { details: { field: 'blob', limit } });
}

function unreadable(what: string, reason: string): ThemisError {
  return new ThemisError('VALIDATION_FAILED', `blob is not a readable ${what}: ${reason}`, { details: { field: 'blob' } });
}

/** A MIME type's essence (lower case, no parameters) and its `charset` parameter. */
function parseMimeType(mimeType: string | undefined): { essence: string; charset: string | undefined } {
  const [essence = '', ...params] = (mimeType ?? '').split(';');
  let charset: string | undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    charset = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { essence: essence.trim().toLowerCase(), charset: charset || undefined };
}

/**
 * The format text is extracted as, from the MIME type or (for `application/octet-stream` or none) the
 * filename's extension; undefined when neither is supported.
 */
export function contentFormat(mimeType: string | undefined, filename?: string): ContentFormat | undefined {
  const { essence } = parseMimeType(mimeType);
  if (!GENERIC_MIME.has(essence)) return FORMAT_OF_MIME.get(essence);
  const dot = filename?.lastIndexOf('.') ?? -1;
  if (filename === undefined || dot < 0) return undefined;
  return FORMAT_OF_EXTENSION.get(filename.slice(dot + 1).toLowerCase());
}

/**
 * The text of a blob (see the module comment). `mimeType` may be missing or `application/octet-stream`, then
 * `filename`'s extension decides.
 */
export async function extractText(
  bytes: Buffer,
  mimeType: string | undefined,
  filename?: string,
  opts: ExtractOptions = {},
): Promise<string> {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_EXTRACTED_CHARS;
  const maxMarkupBytes = opts.maxMarkupBytes ?? DEFAULT_MAX_MARKUP_BYTES;
  const maxPdfPages = opts.maxPdfPages ?? DEFAULT_MAX_PDF_PAGES;
  const maxDocxXmlBytes = opts.maxDocxXmlBytes ?? DEFAULT_MAX_DOCX_XML_BYTES;
  const format = contentFormat(mimeType, filename);
  if (format === undefined) {
    const { essence } = parseMimeType(mimeType);
    throw unsupported(
      GENERIC_MIME.has(essence)
        ? `cannot tell the content type of ${filename === undefined ? 'a blob without a filename' : `"${filename.slice(0, 200)}"`}`
        : `unsupported content type "${essence.slice(0, 200)}"`,
    );
  }
  let raw: string;
  switch (format) {
    case 'text': {
      // A UTF-8 character is 1–4 bytes: more than 4 bytes per allowed character cannot fit.
      if (bytes.length > maxChars * 4) throw tooLarge(`the text is longer than ${maxChars} characters`, maxChars);
      raw = decodeText(bytes, parseMimeType(mimeType).charset);
      break;
    }
    case 'markdown':
    case 'html': {
      if (bytes.length > maxMarkupBytes) {
        throw tooLarge(
          `${format === 'html' ? 'HTML' : 'Markdown'} blobs of more than ${maxMarkupBytes} bytes are not extracted`,
          maxMarkupBytes,
        );
      }
      const source = decodeText(bytes, parseMimeType(mimeType).charset);
      raw =
        format === 'html'
          ? convertMarkup('HTML', () => htmlToPlainText(source))
          : convertMarkup('Markdown', () => markdownToPlainText(source));
      break;
    }
    case 'pdf':
      try {
        raw = await pdfToPlainText(bytes, { maxChars, maxPages: maxPdfPages });
      } catch (err) {
        if (err instanceof UnreadablePdfError) throw unreadable('PDF', err.message);
        throw err;
      }
      break;
    case 'docx':
      try {
        raw = await docxToPlainText(bytes, { maxXmlBytes: maxDocxXmlBytes });
      } catch (err) {
        if (err instanceof UnreadableDocxError) throw unreadable('DOCX', err.message);
        throw err;
      }
      break;
  }
  const text = normalizeText(raw);
  if (text.length > maxChars) throw tooLarge(`the extracted text is longer than ${maxChars} characters`, maxChars);
  return text;
}

/** Runs a markup converter; whatever it throws becomes VALIDATION_FAILED on the blob. */
function convertMarkup(what: string, convert: () => string): string {
  try {
    return convert();
  } catch (err) {
    if (err instanceof ThemisError) throw err;
    if (err instanceof HtmlTooDeepError || (err instanceof RangeError && /call stack/i.test(err.message))) {
      throw unreadable(what, 'nested too deeply');
    }
    throw unreadable(what, shortReason(err instanceof Error ? err.message : String(err)) || 'unreadable');
  }
}

/**
 * Bytes to a string: a byte order mark (UTF-8, UTF-16LE/BE) wins, then the `charset` parameter, else UTF-8
 * when the bytes are valid UTF-8 and Windows-1252 (a superset of Latin-1) when they are not.
 */
function decodeText(bytes: Buffer, charset: string | undefined): string {
  let text: string;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) text = new TextDecoder('utf-8').decode(bytes);
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder('utf-16le').decode(bytes);
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder('utf-16be').decode(bytes);
  else if (charset !== undefined) {
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(charset);
    } catch {
      throw unsupported(`unsupported charset "${charset.slice(0, 100)}"`);
    }
    text = decoder.encoding === 'windows-1252' ? decodeWindows1252(bytes) : decoder.decode(bytes);
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = decodeWindows1252(bytes);
    }
  }
  if (text.includes('\u0000')) {
    throw new ThemisError(
      'VALIDATION_FAILED',
      'blob is not text: it contains NUL characters (binary data, or UTF-16 without a byte order mark?)',
      {
        details: { field: 'blob' },
      },
    );
  }
  return text;
}

/** Windows-1252's characters at 0x80–0x9F (where ISO-8859-1 has C1 controls); 0 where it has none. */
const WINDOWS_1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0, 0, 0x2018, 0x2019,
  0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];

/**
 * Windows-1252 (what WHATWG decoders use for the labels iso-8859-1, latin1 and ascii too). Node 20's
 * TextDecoder decodes it as ISO-8859-1, turning "€" (0x80), curly quotes and dashes into C1 controls; they
 * are mapped here.
 */
function decodeWindows1252(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[\u0080-\u009f]/g, (c) => {
    const mapped = WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80]!;
    return mapped === 0 ? c : String.fromCharCode(mapped);
  });
}

// Control characters but tab and line feed (C0, DEL, C1), soft hyphen, zero-width space, byte order mark.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u200b\ufeff]/g;

/** See the module comment. Linear in the text (no regular expression here can backtrack over a long run). */
export function normalizeText(text: string): string {
  const cleaned = text
    .replace(/\r\n?/g, '\n')
    .replace(/[\f\u2029]/g, '\n\n')
    .replace(/[\v\u2028]/g, '\n')
    .replace(INVISIBLE, '')
    .toWellFormed()
    .normalize('NFC');
  // Line by line rather than /[ \t]+\n/, which takes quadratic time on a long run of spaces.
  return cleaned
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
