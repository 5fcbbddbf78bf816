import { ThemisError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, jsonSyntaxMessage, jsonTooDeep } from '../json-limits.js';

export interface NormalizedBlob {
  /** The JSON text that is stored and returned by GET. */
  text: string;
  /** UTF-8 byte length of `text` (the contract's `blob_size`). */
  size: number;
  /** The parsed document. */
  doc: Record<string, unknown>;
}

/**
 * Accept a blob as the contract sends it (a string holding a JSON document)
 * or as a JSON object. The document must be a JSON object: entities are
 * documents with fields, which indexes and queries address by path. A string
 * is stored exactly as sent, so GET returns the client's bytes.
 *
 * A string is parsed here, a second time after the request body: the
 * document inside it gets the same nesting limit as the body itself
 * (`maxDepth`, THEMIS_MAX_JSON_DEPTH), checked on the text before parsing so
 * nothing recursive ever sees a deeper one. An object form was part of the
 * body and has been checked with it.
 */
export function normalizeBlob(blob: unknown, maxDepth = DEFAULT_MAX_JSON_DEPTH): NormalizedBlob {
  if (typeof blob === 'string') {
    if (exceedsJsonDepth(blob, maxDepth)) throw jsonTooDeep('the document in "blob"', maxDepth);
    let doc: unknown;
    try {
      doc = JSON.parse(blob);
    } catch (e) {
      throw new ThemisError('INVALID_BLOB', `blob is not valid JSON: ${jsonSyntaxMessage(e)}`);
    }
    if (!isPlainObject(doc)) throw new ThemisError('INVALID_BLOB', `blob must be a JSON object, got ${describe(doc)}`);
    return { text: blob, size: Buffer.byteLength(blob, 'utf8'), doc };
  }
  if (isPlainObject(blob)) {
    const text = JSON.stringify(blob);
    return { text, size: Buffer.byteLength(text, 'utf8'), doc: blob };
  }
  throw new ThemisError('INVALID_BLOB', `blob must be a string holding a JSON object, or a JSON object; got ${describe(blob)}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}
