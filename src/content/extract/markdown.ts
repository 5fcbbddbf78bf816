/**
 * Markdown to plain text: markdown-it (CommonMark plus GFM tables and
 * strikethrough) gives a flat token stream whose text is joined without the
 * markdown syntax. Headings, paragraphs, code blocks, block quotes, lists and
 * tables are separated by blank lines; list items and table rows are lines
 * (ordered items keep their number, a row's cells are separated by " | ");
 * links and images become their text; code is kept verbatim; entities are
 * decoded; embedded HTML goes through the HTML extraction (scripts and styles
 * dropped); YAML front matter is kept as text without its `---` fences.
 *
 * markdown-it rather than marked: marked takes quadratic time on some inputs
 * (200 KB of "a_a_a_…" take 30 s, deeply nested lists are lexed again at each
 * level), markdown-it is tested against the CommonMark pathological inputs and
 * stays linear; its `maxNesting` bounds the depth (deeper blocks are dropped).
 */
import MarkdownIt, { type Token } from 'markdown-it';
import { htmlToPlainText } from './html.js';

/** Blocks nested deeper (block quotes, lists) are left out by markdown-it. */
export const MARKDOWN_MAX_NESTING = 100;

const parser = new MarkdownIt('default', { html: true, linkify: false, typographer: false, maxNesting: MARKDOWN_MAX_NESTING });

/** YAML front matter (Jekyll, Hugo, Obsidian): kept as text, its `---` fences dropped. */
const FRONT_MATTER = /^---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;

interface Block {
  text: string;
  /** Blocks of one list or one table are separated by a line break, all others by a blank line. */
  group: number;
}

export function markdownToPlainText(markdown: string): string {
  let body = markdown;
  let frontMatter = '';
  const m = FRONT_MATTER.exec(markdown.slice(0, 65_536));
  if (m !== null) {
    frontMatter = m[1]!.trim();
    body = markdown.slice(m[0].length);
  }
  const blocks: Block[] = frontMatter === '' ? [] : [{ text: frontMatter, group: -1 }];
  collectBlocks(parser.parse(body, {}), blocks);
  let out = '';
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (i > 0) out += b.group >= 0 && b.group === blocks[i - 1]!.group ? '\n' : '\n\n';
    out += b.text;
  }
  return out;
}

function collectBlocks(tokens: readonly Token[], blocks: Block[]): void {
  let nextGroup = 0;
  /** The group of the outermost open list or table; -1 outside. */
  let group = -1;
  let groupDepth = 0;
  /** Ordered lists: the marker of the item whose first block is still to come. */
  let itemMarker = '';
  let cells: string[] | undefined;
  const push = (text: string): void => {
    if (cells !== undefined) {
      cells.push(text.trim());
      return;
    }
    if (text.trim() === '') return;
    blocks.push({ text: itemMarker + text, group: group >= 0 ? group : nextGroup++ });
    itemMarker = '';
  };
  const open = (): void => {
    if (groupDepth++ === 0) group = nextGroup++;
  };
  const close = (): void => {
    if (--groupDepth === 0) group = -1;
  };
  for (const t of tokens) {
    switch (t.type) {
      case 'bullet_list_open':
      case 'ordered_list_open':
      case 'table_open':
        open();
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
      case 'table_close':
        close();
        break;
      case 'list_item_open':
        // markdown-it puts an ordered item's number into `info` ("3"); the delimiter ("." or ")") into `markup`.
        itemMarker = t.info !== '' ? `${t.info}${t.markup} ` : '';
        break;
      case 'tr_open':
        cells = [];
        break;
      case 'tr_close':
        if (cells !== undefined) {
          const row = cells.join(' | ');
          cells = undefined;
          push(row);
        }
        break;
      case 'inline':
        push(inlineText(t.children ?? []));
        break;
      case 'fence':
      case 'code_block':
        push(t.content.replace(/\n$/, ''));
        break;
      case 'html_block':
        push(htmlToPlainText(t.content));
        break;
      default:
        // paragraph/heading/blockquote/item open and close, hr: no text of their own.
        break;
    }
  }
}

const RAW_OPEN = /^<(script|style)\b/i;
const RAW_CLOSE = /<\/(script|style)\s*>/i;

/** The text of an inline token's children: markup dropped, inline HTML tags and inline scripts/styles too. */
function inlineText(children: readonly Token[]): string {
  let out = '';
  let skipping = false;
  for (const c of children) {
    switch (c.type) {
      case 'html_inline':
        if (RAW_OPEN.test(c.content)) skipping = !RAW_CLOSE.test(c.content);
        else if (RAW_CLOSE.test(c.content)) skipping = false;
        break;
      case 'text':
      case 'text_special':
      case 'code_inline':
        if (!skipping) out += c.content;
        break;
      case 'image':
        // The alt text (markdown-it keeps it as the image's content).
        if (!skipping) out += c.content;
        break;
      case 'softbreak':
      case 'hardbreak':
        out += '\n';
        break;
      default:
        // link, emphasis, strikethrough open/close: no text.
        break;
    }
  }
  // Dropped inline HTML leaves double spaces behind.
  return out.replace(/ {2,}/g, ' ');
}
