/** Summary of a sample of latencies (or any numbers), nearest-rank percentiles. */
export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  const a = Float64Array.from(values as ArrayLike<number>).filter((v) => !Number.isNaN(v));
  a.sort();
  const n = a.length;
  if (n === 0) return { count: 0, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const pct = (p: number) => a[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  let sum = 0;
  for (const v of a) sum += v;
  return { count: n, min: a[0]!, p50: pct(50), p90: pct(90), p99: pct(99), max: a[n - 1]!, mean: sum / n };
}

/** Round to 3 decimals (µs resolution for milliseconds) for the JSON report. */
export const r3 = (n: number): number => (Number.isFinite(n) ? Math.round(n * 1000) / 1000 : n);
