import type { components } from '../api/types.js';
import type { PiiMatch } from './classifier/index.js';
import { TOKEN, tokenOf } from './tokens.js';
import type { Pseudonym } from './vault.js';

/** One replaced value: where its token sits in the new text, and where the value sat in the old (openapi.yaml `PseudonymizeResponse`). */
export type Replacement = components['schemas']['PseudonymizeResponse']['replacements'][number];

/** Spans of tokens already in `text` ([start, end) pairs): values written as tokens are not classified again. */
export function tokenSpans(text: string): [number, number][] {
  if (!text.includes('[')) return [];
  const out: [number, number][] = [];
  for (const m of text.matchAll(TOKEN)) out.push([m.index, m.index + m[0].length]);
  return out;
}

/** `matches` without those overlapping a token of `text`. */
export function outsideTokens(text: string, matches: readonly PiiMatch[]): PiiMatch[] {
  const spans = tokenSpans(text);
  if (spans.length === 0) return [...matches];
  return matches.filter((m) => !spans.some(([s, e]) => m.start < e && s < m.end));
}

/**
 * `text` with every match (sorted, not overlapping) replaced by the token
 * of its pseudonym; `pseudonymize` gives the uuid of a value (and stores or
 * queues its record).
 */
export function replaceMatches(
  text: string,
  matches: readonly PiiMatch[],
  pseudonymize: (m: PiiMatch) => Pseudonym,
): { text: string; replacements: Replacement[] } {
  let out = '';
  let at = 0;
  const replacements: Replacement[] = [];
  for (const m of matches) {
    if (m.start < at) continue;
    out += text.slice(at, m.start);
    const { uuid } = pseudonymize(m);
    const token = tokenOf(m.category, uuid);
    replacements.push({
      uuid,
      category: m.category,
      start_pos: out.length,
      end_pos: out.length + token.length,
      original_start_pos: m.start,
      original_end_pos: m.end,
    });
    out += token;
    at = m.end;
  }
  return { text: out + text.slice(at), replacements };
}

/** A dot path into a document (`contact.phone`); an array on the way applies the rest to each element. */
export type FieldPath = readonly string[];

export const parsePath = (p: string): FieldPath => p.split('.');

/**
 * `doc` with the strings at `paths` (every string, recursively, with
 * `'auto'`) passed through `f`, copied only where something changed
 * (documents handed to a write are read-only). `f` gets the string and its
 * path, and returns the new string or undefined for no change.
 */
export function mapStrings(
  doc: unknown,
  paths: readonly FieldPath[] | 'auto',
  f: (s: string, path: string) => string | undefined,
): unknown {
  if (paths === 'auto') return mapAll(doc, '', f);
  let cur = doc;
  for (const p of paths) cur = mapAt(cur, p, 0, p.join('.'), f);
  return cur;
}

function mapAll(v: unknown, path: string, f: (s: string, path: string) => string | undefined): unknown {
  if (typeof v === 'string') return f(v, path) ?? v;
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const n = mapAll(v[i], path === '' ? String(i) : `${path}.${i}`, f);
      if (n !== v[i]) (copy ??= [...v])[i] = n;
    }
    return copy ?? v;
  }
  if (v !== null && typeof v === 'object') {
    let copy: Record<string, unknown> | undefined;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const n = mapAll(x, path === '' ? k : `${path}.${k}`, f);
      if (n !== x) (copy ??= { ...(v as Record<string, unknown>) })[k] = n;
    }
    return copy ?? v;
  }
  return v;
}

function mapAt(v: unknown, p: FieldPath, i: number, name: string, f: (s: string, path: string) => string | undefined): unknown {
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let j = 0; j < v.length; j++) {
      const n = mapAt(v[j], p, i, name, f);
      if (n !== v[j]) (copy ??= [...v])[j] = n;
    }
    return copy ?? v;
  }
  if (i === p.length) return typeof v === 'string' ? (f(v, name) ?? v) : v;
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const k = p[i]!;
  if (!Object.hasOwn(o, k)) return v;
  const n = mapAt(o[k], p, i + 1, name, f);
  return n === o[k] ? v : { ...o, [k]: n };
}
