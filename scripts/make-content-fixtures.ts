/**
 * Makes the binary fixtures of the text-extraction tests
 * (test/unit/content-extract.test.ts) in test/fixtures/content/:
 *
 *   sample.pdf   two pages (pdfkit, its standard Helvetica font): a heading
 *                and a German paragraph with umlauts and ß on page 1, two
 *                English paragraphs on page 2.
 *   sample.docx  a WordprocessingML package written part by part with jszip:
 *                a heading, a German paragraph whose words are split over
 *                several runs, an English paragraph with a line break and a
 *                tab, a 2×2 table.
 *
 * sample.html and sample.md are hand-written and committed as they are.
 * The output is deterministic (fixed dates and ids), so rerunning gives the
 * same bytes. Run:
 *
 *   npx tsc -p tsconfig.scripts.json && node dist/scripts/make-content-fixtures.js
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';
import PDFDocument from 'pdfkit';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = path.join(root, 'test', 'fixtures', 'content');

const PDF_GERMAN =
  'Die Prüfung der Größenverhältnisse ergab überraschende Ergebnisse. Über 95 % der Maße stimmten, ' +
  'wie Dr. Müller am 3. März bestätigte. Die Äpfel und Öfen wurden z. B. in der Straße „Am Fluss“ gezählt.';
const PDF_ENGLISH_1 =
  'The quick brown fox jumps over the lazy dog. This second page is written in English, e.g. to check ' +
  'that the extraction keeps every sentence of a paragraph that wraps over several lines of the page.';
const PDF_ENGLISH_2 = 'A closing paragraph about a naïve café owner.';

async function makePdf(): Promise<Buffer> {
  const fixed = new Date('2024-01-02T03:04:05Z');
  const doc = new PDFDocument({
    size: 'A4',
    margin: 72,
    info: { Title: 'ThemisTS extraction fixture', Author: 'ThemisTS', CreationDate: fixed, ModDate: fixed },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (b: Buffer) => chunks.push(b));
  const done = new Promise<void>((resolve) => doc.on('end', () => resolve()));
  doc.font('Helvetica-Bold').fontSize(18).text('Bericht über die Prüfung');
  doc.moveDown();
  doc.font('Helvetica').fontSize(12).text(PDF_GERMAN);
  doc.addPage();
  doc.text(PDF_ENGLISH_1);
  doc.moveDown();
  doc.text(PDF_ENGLISH_2);
  doc.end();
  await done;
  return Buffer.concat(chunks);
}

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
function run(text: string, bold = false): string {
  return `<w:r>${bold ? '<w:rPr><w:b/></w:rPr>' : ''}<w:t xml:space="preserve">${xmlEscape(text)}</w:t></w:r>`;
}
function paragraph(inner: string, style?: string): string {
  return `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ''}${inner}</w:p>`;
}
function cell(text: string): string {
  return `<w:tc><w:tcPr><w:tcW w:w="4500" w:type="dxa"/></w:tcPr>${paragraph(run(text))}</w:tc>`;
}

async function makeDocx(): Promise<Buffer> {
  const body = [
    paragraph(run('Jahresbericht Übersicht'), 'Heading1'),
    paragraph(
      run('Die Zusammen') + run('arbeit', true) + run(' mit dem Büro in Köln war großartig. Die Größe des Teams wuchs um ein Fünftel.'),
    ),
    paragraph(
      `${run('The annual report covers every office.')}<w:r><w:br/></w:r>${run('Second line after a break.')}<w:r><w:tab/></w:r>${run('After a tab.')}`,
    ),
    `<w:tbl><w:tblPr><w:tblW w:w="9000" w:type="dxa"/></w:tblPr><w:tblGrid><w:gridCol w:w="4500"/><w:gridCol w:w="4500"/></w:tblGrid>` +
      `<w:tr>${cell('Stadt')}${cell('Umsatz')}</w:tr><w:tr>${cell('München')}${cell('1.234 €')}</w:tr></w:tbl>`,
    paragraph(run('Ende des Berichts.')),
    '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>',
  ].join('');
  const zip = new JSZip();
  const date = new Date('2024-01-02T03:04:05Z');
  const add = (name: string, content: string) =>
    zip.file(name, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${content}`, { date, createFolders: false });
  add(
    '[Content_Types].xml',
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
      '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>' +
      '</Types>',
  );
  add(
    '_rels/.rels',
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
      '</Relationships>',
  );
  add(
    'word/_rels/document.xml.rels',
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
      '</Relationships>',
  );
  add(
    'word/styles.xml',
    `<w:styles xmlns:w="${W}">` +
      '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>' +
      '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/>' +
      '<w:pPr><w:keepNext/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="32"/></w:rPr></w:style>' +
      '</w:styles>',
  );
  add('word/document.xml', `<w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`);
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', platform: 'UNIX' });
}

async function main(): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, bytes] of [
    ['sample.pdf', await makePdf()],
    ['sample.docx', await makeDocx()],
  ] as const) {
    fs.writeFileSync(path.join(outDir, name), bytes);
    console.log(`${path.join('test', 'fixtures', 'content', name)}: ${bytes.length} bytes`);
  }
}

await main();
