/**
 * DOCX text with mammoth: the document is converted to HTML (headings,
 * paragraphs, lists, tables, line breaks, footnotes and endnotes; not headers,
 * footers or comments) and that HTML to text like any other, so a table row is
 * one line with its cells separated by " | " and a line break inside a
 * paragraph stays a line break (mammoth's `extractRawText` drops `<w:br/>`,
 * which glues the sentences on either side together, and puts every table
 * cell into a paragraph of its own).
 *
 * A DOCX is a ZIP archive. Before mammoth unpacks it, the archive's central
 * directory is read to refuse archives whose XML parts unpack to more than
 * `maxXmlBytes` (a "zip bomb": a few kilobytes that inflate to gigabytes;
 * mammoth holds the parsed XML, its document model and the HTML in memory at
 * once: 22 MB of document.xml take about 1.4 GB and 12 s). Images and other
 * binary parts are never unpacked (images are left out unread), so they do
 * not count. The sizes are those the archive declares; jszip checks a part's
 * real size only after inflating it.
 */
import { ThemisError } from '../../errors.js';
import { HtmlTooDeepError, htmlToPlainText } from './html.js';
import { shortReason } from './reason.js';

export interface DocxLimits {
  /** Most bytes the archive's XML parts may unpack to. */
  maxXmlBytes: number;
}

/** Thrown for a DOCX that cannot be read: the short reason goes into the client's error message. */
export class UnreadableDocxError extends Error {}

export async function docxToPlainText(bytes: Buffer, limits: DocxLimits): Promise<string> {
  const unpacked = zipXmlSize(bytes);
  if (unpacked > limits.maxXmlBytes) {
    throw new ThemisError('PAYLOAD_TOO_LARGE', `the DOCX's XML parts unpack to more than ${limits.maxXmlBytes} bytes`, {
      details: { field: 'blob', limit: limits.maxXmlBytes },
    });
  }
  const mammoth = (await import('mammoth')).default;
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: bytes },
      {
        // Images are left out unread (the default inlines each as a base64 data URI); no linked files are opened.
        convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
        externalFileAccess: false,
        includeEmbeddedStyleMap: false,
      },
    );
    html = result.value;
  } catch (err) {
    throw new UnreadableDocxError(docxReason(err));
  }
  try {
    return htmlToPlainText(html);
  } catch (err) {
    if (err instanceof HtmlTooDeepError) throw new UnreadableDocxError('nested too deeply');
    throw err;
  }
}

function docxReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/end of central directory|is this a zip file/i.test(message)) return 'not a ZIP archive';
  if (/main document part/i.test(message)) return 'no word/document.xml in the archive';
  return shortReason(message) || 'unreadable document structure';
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;

/**
 * The sum of the uncompressed sizes the ZIP archive's central directory declares for its `.xml` and `.rels`
 * entries (ZIP64 sizes included). Throws UnreadableDocxError when there is no readable central directory.
 */
export function zipXmlSize(bytes: Buffer): number {
  const eocd = findEocd(bytes);
  if (eocd < 0) throw new UnreadableDocxError('not a ZIP archive');
  let entries = bytes.readUInt16LE(eocd + 10);
  let cdOffset = bytes.readUInt32LE(eocd + 16);
  if (entries === 0xffff || cdOffset === 0xffffffff) {
    // ZIP64: the real values are in the ZIP64 end record the locator (just before the EOCD) points to.
    const locator = eocd - 20;
    if (locator < 0 || bytes.readUInt32LE(locator) !== ZIP64_LOCATOR_SIGNATURE) throw new UnreadableDocxError('broken ZIP64 directory');
    const record = Number(bytes.readBigUInt64LE(locator + 8));
    if (record + 56 > bytes.length) throw new UnreadableDocxError('broken ZIP64 directory');
    entries = Number(bytes.readBigUInt64LE(record + 32));
    cdOffset = Number(bytes.readBigUInt64LE(record + 48));
  }
  let total = 0;
  let p = cdOffset;
  for (let i = 0; i < entries; i++) {
    if (p + 46 > bytes.length || bytes.readUInt32LE(p) !== CENTRAL_SIGNATURE) throw new UnreadableDocxError('broken ZIP central directory');
    let size = bytes.readUInt32LE(p + 24);
    const nameLength = bytes.readUInt16LE(p + 28);
    const extraLength = bytes.readUInt16LE(p + 30);
    const commentLength = bytes.readUInt16LE(p + 32);
    if (size === 0xffffffff) size = zip64Size(bytes, p + 46 + nameLength, extraLength);
    const name = bytes.toString('latin1', p + 46, Math.min(p + 46 + nameLength, bytes.length)).toLowerCase();
    if (name.endsWith('.xml') || name.endsWith('.rels')) total += size;
    p += 46 + nameLength + extraLength + commentLength;
  }
  return total;
}

/** The uncompressed size from an entry's ZIP64 extra field (the first value of header 0x0001). */
function zip64Size(bytes: Buffer, extra: number, length: number): number {
  let q = extra;
  const end = Math.min(extra + length, bytes.length);
  while (q + 4 <= end) {
    const id = bytes.readUInt16LE(q);
    const size = bytes.readUInt16LE(q + 2);
    if (id === 0x0001 && q + 12 <= end) return Number(bytes.readBigUInt64LE(q + 4));
    q += 4 + size;
  }
  throw new UnreadableDocxError('broken ZIP64 entry');
}

/** The offset of the end-of-central-directory record (searched in the last 64 KiB + 22 bytes), or -1. */
function findEocd(bytes: Buffer): number {
  const min = Math.max(0, bytes.length - 0xffff - 22);
  for (let p = bytes.length - 22; p >= min; p--) {
    if (bytes.readUInt32LE(p) === EOCD_SIGNATURE) return p;
  }
  return -1;
}
