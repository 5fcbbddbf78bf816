import type { Analyzer, Token } from './analyzer.js';

export interface HighlightOptions {
  pre_tag: string;
  post_tag: string;
  /** Target fragment length in characters. */
  fragment_size: number;
  /** `html` escapes the document text (not the tags); `none` returns it as stored. */
  encoder: 'none' | 'html';
}

export const DEFAULT_HIGHLIGHT: HighlightOptions = { pre_tag: '<em>', post_tag: '</em>', fragment_size: 160, encoder: 'none' };

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

/**
 * The fragment of the field (of its texts, for an array field) that holds
 * the most distinct query terms within `fragment_size` characters, with each
 * matching word wrapped in the tags. Words match by their analysed term, or
 * by prefix for `term*`. Cut at word boundaries; "…" marks a cut.
 */
export function makeSnippet(
  analyzer: Analyzer,
  texts: readonly string[],
  q: { terms: Set<string>; prefixes: Set<string> },
  opts: HighlightOptions,
): string {
  const isHit = (t: Token): boolean => {
    if (t.term !== null && q.terms.has(t.term)) return true;
    for (const p of q.prefixes) if (t.surface.startsWith(p) || (t.term !== null && t.term.startsWith(p))) return true;
    return false;
  };
  let best: { text: string; tokens: Token[]; hits: Token[]; from: number; distinct: number; count: number } | undefined;
  for (const text of texts) {
    const tokens = analyzer.tokens(text);
    const hits = tokens.filter(isHit);
    if (!best && hits.length === 0) best = { text, tokens, hits, from: 0, distinct: 0, count: 0 };
    for (let i = 0; i < hits.length; i++) {
      // A window starting at hit i holds hit i itself (even one longer than the fragment) and the hits that fit after it.
      const distinct = new Set<string>();
      let count = 0;
      for (let j = i; j < hits.length && (j === i || hits[j]!.end - hits[i]!.start <= opts.fragment_size); j++) {
        distinct.add(hits[j]!.term ?? hits[j]!.surface);
        count++;
      }
      if (!best || distinct.size > best.distinct || (distinct.size === best.distinct && count > best.count)) {
        best = { text, tokens, hits, from: i, distinct: distinct.size, count };
      }
    }
  }
  if (!best) return '';
  const { text, tokens, hits } = best;
  let left = 0;
  if (hits.length > 0 && text.length > opts.fragment_size) {
    const first = hits[best.from]!;
    const last = hits[best.from + best.count - 1]!;
    const slack = Math.max(0, opts.fragment_size - (last.end - first.start));
    // Centre the hits, but use the room a text end leaves on one side for the other side.
    left = Math.max(0, Math.min(first.start - Math.floor(slack / 2), text.length - opts.fragment_size));
    // start at a word: the first token starting at or after `left` (never after the first hit)
    if (left > 0) left = tokens.find((t) => t.start >= left)?.start ?? first.start;
    if (left > first.start) left = first.start;
  }
  let right = Math.min(text.length, left + opts.fragment_size);
  if (right < text.length) {
    // end after the last whole word that fits (but keep at least the first hit)
    let r = left;
    for (const t of tokens) {
      if (t.start < left) continue;
      if (t.end > right) break;
      r = t.end;
    }
    right = Math.max(r, hits.length > 0 ? hits[best.from]!.end : r);
  }
  const enc = opts.encoder === 'html' ? escapeHtml : (s: string) => s;
  let out = left > 0 ? '…' : '';
  let at = left;
  for (const h of hits) {
    if (h.start < left || h.end > right) continue;
    out += enc(text.slice(at, h.start)) + opts.pre_tag + enc(text.slice(h.start, h.end)) + opts.post_tag;
    at = h.end;
  }
  out += enc(text.slice(at, right));
  if (right < text.length) out += '…';
  return out;
}
