/**
 * The stored JSON text of a document a query read, kept on the document
 * object itself under a non-enumerable symbol: RETURN of an unchanged
 * document sends that text verbatim, and the governor takes its length as
 * the document's size. (A WeakMap from object to text did the same at twice
 * the cost per document read: its ephemeron table grows with every document
 * of a scan.) Spread, Object.assign, JSON.stringify and attribute listings
 * ignore a non-enumerable symbol, so a copy or a changed document never
 * carries the original text.
 */
const TEXT = Symbol('themis.storedText');

export interface StoredTexts {
  get(o: object): string | undefined;
  set(o: object, text: string): void;
}

export const STORED_TEXTS: StoredTexts = {
  get: (o) => (o as { [TEXT]?: string })[TEXT],
  set: (o, text) => {
    Object.defineProperty(o, TEXT, { value: text });
  },
};
