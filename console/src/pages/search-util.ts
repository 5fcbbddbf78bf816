/**
 * Helpers of the Search page: highlighted snippets (the server's, or built here when it sends
 * none), document field paths, and the check of a pasted query vector.
 */

/** Highlight tags asked of the server: control characters no document text is shown with. */
export const PRE = '\u0002';
export const POST = '\u0003';

export interface Segment {
  text: string;
  mark: boolean;
}

/** Splits a snippet highlighted with PRE/POST into plain and marked parts. */
export function splitHighlighted(snippet: string): Segment[] {
  const out: Segment[] = [];
  let rest = snippet;
  while (rest.length > 0) {
    const a = rest.indexOf(PRE);
    if (a < 0) {
      out.push({ text: rest, mark: false });
      break;
    }
    const b = rest.indexOf(POST, a + PRE.length);
    if (a > 0) out.push({ text: rest.slice(0, a), mark: false });
    if (b < 0) {
      out.push({ text: rest.slice(a + PRE.length), mark: true });
      break;
    }
    out.push({ text: rest.slice(a + PRE.length, b), mark: true });
    rest = rest.slice(b + POST.length);
  }
  return out.filter((s) => s.text !== '');
}

/** The plain terms of a fulltext query (operators, exclusions, quotes and `*` left out). */
export function queryTerms(query: string): string[] {
  const terms: string[] = [];
  for (const raw of query.split(/[\s()"]+/)) {
    if (raw === '' || raw === 'OR' || raw === 'AND' || raw === 'NOT' || raw.startsWith('-')) continue;
    const t = raw.replace(/\*$/, '').toLowerCase();
    if (t !== '') terms.push(t);
  }
  return terms;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A snippet built in the browser (used only when the server sends none): a window of about `size`
 * characters around the first match of a query term, every term marked case-insensitively.
 */
export function buildSnippet(text: string, query: string, size = 160): Segment[] {
  const terms = queryTerms(query);
  if (terms.length === 0) return [{ text: text.slice(0, size) + (text.length > size ? '…' : ''), mark: false }];
  const re = new RegExp(terms.map(escapeRe).join('|'), 'gi');
  const first = text.search(re);
  const start = first < 0 ? 0 : Math.max(0, first - Math.floor(size / 3));
  const end = Math.min(text.length, start + size);
  const window = text.slice(start, end);
  const out: Segment[] = [];
  if (start > 0) out.push({ text: '…', mark: false });
  let at = 0;
  for (const m of window.matchAll(re)) {
    if (m.index > at) out.push({ text: window.slice(at, m.index), mark: false });
    out.push({ text: m[0], mark: true });
    at = m.index + m[0].length;
  }
  if (at < window.length) out.push({ text: window.slice(at), mark: false });
  if (end < text.length) out.push({ text: '…', mark: false });
  return out;
}

/** The value at a dotted path of a document. */
export function fieldAt(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** A copy of the document without the field at `path` (the vector, when showing a hit). */
export function withoutField(doc: unknown, path: string): unknown {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return doc;
  const [head, ...rest] = path.split('.');
  if (head === undefined) return doc;
  const copy: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  if (rest.length === 0) delete copy[head];
  else if (head in copy) copy[head] = withoutField(copy[head], rest.join('.'));
  return copy;
}

/**
 * Parses a pasted query vector: a JSON array of finite numbers, of the index's dimension when it
 * has one. Throws an Error that says what is wrong (shown without sending anything).
 */
export function parseVector(text: string, dimension: number | null | undefined, indexName: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('Query vector is empty: paste a JSON array of numbers, e.g. [0.1, 0.2, 0.3, 0.4].');
  let v: unknown;
  try {
    v = JSON.parse(trimmed);
  } catch (e) {
    throw new Error(`Query vector is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(v)) throw new Error('Query vector must be a JSON array of numbers, e.g. [0.1, 0.2, 0.3, 0.4].');
  if (v.length === 0) throw new Error('Query vector is an empty array.');
  const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new Error(`Query vector must hold numbers only: item ${bad + 1} is ${JSON.stringify(v[bad]) ?? String(v[bad])}.`);
  if (typeof dimension === 'number' && v.length !== dimension)
    throw new Error(`Query vector has ${v.length} numbers, but the index ${indexName} has dimension ${dimension}.`);
  return v as number[];
}
