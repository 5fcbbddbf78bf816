/**
 * Edit distance between strings: LEVENSHTEIN_DISTANCE() and the registry's
 * "did you mean" suggestion for an unknown function name.
 */

/**
 * Optimal-string-alignment (Damerau-Levenshtein) distance, row by row: `step(i)`
 * fills row i (1..n), `result()` reads the distance after the last row. One
 * implementation for the plain call and for the governed one (which runs the
 * rows in slices).
 */
export function editDistanceRows(a: string, b: string): { n: number; m: number; step: (i: number) => void; result: () => number } {
  const ca = Array.from(a);
  const cb = Array.from(b);
  const n = ca.length;
  const m = cb.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = new Array<number>(m + 1);
  let cur = new Array<number>(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  const step = (i: number): void => {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = ca[i - 1] === cb[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ca[i - 1] === cb[j - 2] && ca[i - 2] === cb[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
    }
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  };
  return { n, m, step, result: () => (n === 0 ? m : m === 0 ? n : prev[m]!) };
}

/** Optimal-string-alignment (Damerau-Levenshtein) distance. */
export function editDistance(a: string, b: string): number {
  const r = editDistanceRows(a, b);
  if (r.m > 0) for (let i = 1; i <= r.n; i++) r.step(i);
  return r.result();
}
