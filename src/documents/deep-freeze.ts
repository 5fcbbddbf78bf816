/**
 * A parsed document, or a value taken from one, made immutable in place
 * (every nested array and object frozen): for values shared by several
 * readers — AQL's parsed documents kept in the document cache, the values
 * of resident columns. Returns `v`.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    Object.freeze(v);
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') deepFreeze(x);
    } else
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== null && typeof x === 'object') deepFreeze(x);
      }
  }
  return v;
}
