/**
 * HTML to plain text with html-to-text (htmlparser2 underneath): the text of
 * `<body>` (the whole document when it has none), script, style, template,
 * SVG and other non-text elements dropped, entities decoded, no word wrapping,
 * link targets and image sources left out. Paragraphs, headings, block
 * quotes, preformatted text, tables and lists are separated by blank lines;
 * divs, sections, list items and table rows are lines of their own; a table
 * row's cells are separated by " | " (block elements inside a cell stay on
 * the row's line).
 */
import { compile, type DomNode, type FormatCallback, type SelectorDefinition } from 'html-to-text';
import { Parser } from 'htmlparser2';

/**
 * Documents whose elements nest deeper are refused. htmlparser2 keeps its stack of open elements with
 * `Array.unshift`, so parsing takes time quadratic in the depth (100,000 unclosed `<b>` take seconds, a
 * million minutes), and html-to-text walks the tree recursively. Real pages nest a few dozen levels.
 */
export const HTML_MAX_DEPTH = 512;

export class HtmlTooDeepError extends Error {}

const SKIPPED = ['script', 'style', 'noscript', 'template', 'svg', 'math', 'canvas', 'iframe', 'object', 'embed', 'img', 'head'];

/** Blocks separated from their neighbours by a blank line. */
const PARAGRAPHS = ['p', 'blockquote', 'figure', 'dl', 'address', 'details', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
/** Blocks on lines of their own. */
const LINES = [
  'div',
  'section',
  'article',
  'aside',
  'header',
  'footer',
  'main',
  'nav',
  'form',
  'fieldset',
  'ul',
  'li',
  'dt',
  'dd',
  'caption',
  'figcaption',
  'summary',
  'option',
];

function insideTableCell(elem: DomNode): boolean {
  for (let p = elem.parent; p; p = p.parent) {
    if (p.name === 'td' || p.name === 'th') return true;
    if (p.name === 'table') return false;
  }
  return false;
}

/** A block element; inside a table cell it is inline after a space, so the cell stays on its row's line. */
const cellAwareBlock: FormatCallback = (elem, walk, builder, formatOptions) => {
  if (insideTableCell(elem)) {
    builder.addInline(' ');
    walk(elem.children, builder);
    return;
  }
  builder.openBlock({ leadingLineBreaks: formatOptions.leadingLineBreaks ?? 1 });
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: formatOptions.trailingLineBreaks ?? 1 });
};

/** A table cell: the cells of a row are separated by " | ". */
const tableCell: FormatCallback = (elem, walk, builder) => {
  const first = (elem.parent?.children ?? []).find((c: DomNode) => c.name === 'td' || c.name === 'th');
  if (first !== undefined && first !== elem) builder.addInline(' | ');
  walk(elem.children, builder);
};

const selectors: SelectorDefinition[] = [
  ...SKIPPED.map((selector) => ({ selector, format: 'skip' })),
  { selector: 'a', options: { ignoreHref: true } },
  ...PARAGRAPHS.map((selector) => ({ selector, format: 'cellAwareBlock', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } })),
  ...LINES.map((selector) => ({ selector, format: 'cellAwareBlock', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } })),
  { selector: 'pre', format: 'pre', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
  { selector: 'hr', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
  // Ordered lists keep their numbers ("1. "); unordered ones (above) are plain lines.
  { selector: 'ol', format: 'orderedList', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
  { selector: 'table', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
  { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
  { selector: 'td', format: 'tableCell' },
  { selector: 'th', format: 'tableCell' },
];

// Compiled once at load: a mistake in the options fails at start, not as a client's error.
const converter = compile({
  wordwrap: false,
  preserveNewlines: false,
  decodeEntities: true,
  formatters: { tableCell, cellAwareBlock },
  // maxInputLength: the caller bounds the input; html-to-text would otherwise cut at 16 Mi characters silently.
  limits: { maxDepth: HTML_MAX_DEPTH + 16, maxInputLength: Number.MAX_SAFE_INTEGER, ellipsis: '' },
  selectors,
});

/**
 * The text of an HTML document or fragment (the caller bounds its length). Throws HtmlTooDeepError when
 * elements nest deeper than HTML_MAX_DEPTH.
 */
export function htmlToPlainText(html: string): string {
  checkDepth(html);
  return converter(html);
}

/**
 * A first pass of the same parser that only counts open elements (implied closes included), stopping as
 * soon as the depth passes HTML_MAX_DEPTH: linear time while the depth is bounded.
 */
function checkDepth(html: string): void {
  let depth = 0;
  let tooDeep = false;
  const parser = new Parser({
    onopentag() {
      depth++;
      if (depth > HTML_MAX_DEPTH && !tooDeep) {
        tooDeep = true;
        parser.pause();
      }
    },
    onclosetag() {
      depth--;
    },
  });
  parser.write(html);
  if (tooDeep) throw new HtmlTooDeepError();
  parser.end();
}
