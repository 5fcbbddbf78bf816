/**
 * PDF text with PDF.js (the serverless build unpdf bundles: no worker, no
 * canvas, no network, no native code). Pages are read one at a time, their
 * text items joined in reading order: a line break where PDF.js sees one, a
 * blank line where the vertical gap between two lines is well above the line
 * height (a paragraph break) and between pages. Font programs are never
 * evaluated (`isEvalSupported: false`).
 *
 * Limits: scanned PDFs (images only) give no text (no OCR); CID fonts without
 * a ToUnicode map that rely on Adobe's predefined CMaps (some older CJK PDFs)
 * come out empty or garbled, as the CMap files are not shipped; hyphenated
 * line ends are kept as they are.
 */
import { ThemisError } from '../../errors.js';
import { shortReason } from './reason.js';

export interface PdfLimits {
  maxChars: number;
  maxPages: number;
}

/** A line gap this many times the line height (or more) ends a paragraph. */
const PARAGRAPH_GAP = 1.8;

interface PdfTextItem {
  str: string;
  hasEOL: boolean;
  transform: number[];
  height: number;
}

/** Thrown for a PDF that cannot be read: the short reason goes into the client's error message. */
export class UnreadablePdfError extends Error {}

export async function pdfToPlainText(bytes: Buffer, limits: PdfLimits): Promise<string> {
  // Loaded on first use: the PDF.js bundle is large and most servers never see a PDF.
  const { getDocumentProxy } = await import('unpdf');
  // PDF.js may transfer (detach) the buffer it is given: hand it a copy, never a view of the caller's Buffer.
  const data = new Uint8Array(bytes);
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    pdf = await getDocumentProxy(data, {
      verbosity: 0,
      isEvalSupported: false,
      useSystemFonts: false,
      disableFontFace: true,
      useWorkerFetch: false,
      isOffscreenCanvasSupported: false,
      enableXfa: false,
      stopAtErrors: false,
    });
  } catch (err) {
    throw new UnreadablePdfError(pdfReason(err));
  }
  try {
    if (pdf.numPages > limits.maxPages) {
      throw new ThemisError('PAYLOAD_TOO_LARGE', `the PDF has ${pdf.numPages} pages; text is extracted from at most ${limits.maxPages}`, {
        details: { field: 'blob', limit: limits.maxPages },
      });
    }
    const pages: string[] = [];
    let total = 0;
    for (let n = 1; n <= pdf.numPages; n++) {
      let text: string;
      try {
        const page = await pdf.getPage(n);
        const content = await page.getTextContent();
        text = pageText(content.items as unknown[]);
        page.cleanup();
      } catch (err) {
        throw new UnreadablePdfError(`page ${n}: ${pdfReason(err)}`);
      }
      total += text.length + 2;
      if (total > limits.maxChars) {
        throw new ThemisError('PAYLOAD_TOO_LARGE', `the text extracted from the PDF is longer than ${limits.maxChars} characters`, {
          details: { field: 'blob', limit: limits.maxChars },
        });
      }
      pages.push(text);
    }
    return pages.join('\n\n');
  } finally {
    await pdf.destroy().catch(() => undefined);
  }
}

function isTextItem(item: unknown): item is PdfTextItem {
  return (
    typeof item === 'object' &&
    item !== null &&
    typeof (item as PdfTextItem).str === 'string' &&
    Array.isArray((item as PdfTextItem).transform)
  );
}

/** A page's text items as lines; a blank line where the gap to the previous line marks a new paragraph. */
function pageText(items: readonly unknown[]): string {
  let out = '';
  let atLineStart = true;
  let lastY: number | undefined;
  let lastHeight = 0;
  for (const item of items) {
    if (!isTextItem(item)) continue;
    const y = item.transform[5] ?? 0;
    const height = Math.abs(item.height || item.transform[3] || 0);
    if (item.str !== '') {
      if (atLineStart && lastY !== undefined && out !== '') {
        const lineHeight = Math.max(height, lastHeight);
        if (lineHeight > 0 && Math.abs(lastY - y) >= PARAGRAPH_GAP * lineHeight && !out.endsWith('\n\n')) {
          out += out.endsWith('\n') ? '\n' : '\n\n';
        }
      }
      out += item.str;
      lastY = y;
      lastHeight = height;
      atLineStart = false;
    }
    if (item.hasEOL) {
      out += '\n';
      atLineStart = true;
    }
  }
  return out;
}

/** A short, client-safe reason why PDF.js could not read a document. */
function pdfReason(err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'PasswordException') return 'it is encrypted with a password';
  if (name === 'InvalidPDFException') return 'invalid PDF structure';
  const message = err instanceof Error ? err.message : String(err);
  return shortReason(message) || 'unreadable PDF structure';
}
