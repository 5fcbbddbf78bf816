/** Scale `v` to length 1, in place (checkVector has refused the zero vector); returns `v`. */
export function normalize(v: Float32Array): Float32Array {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i]! * v[i]!;
  const inv = 1 / Math.sqrt(sq);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv;
  return v;
}

/** Dot product of two vectors of the same length (the cosine similarity of unit vectors). */
export function dot(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + s2 + s3;
}

/** The `k` best of scored keys, best first (ties by key, as the exact search orders them). */
export class TopK {
  private readonly items: { key: string; score: number }[] = [];

  constructor(private readonly k: number) {}

  /** The lowest score still kept once full (-Infinity before). */
  get floor(): number {
    return this.items.length < this.k ? Number.NEGATIVE_INFINITY : this.items[this.items.length - 1]!.score;
  }

  /** Keep `key` if it is among the k best; a key offered again (found by two searches) is kept once. */
  offer(key: string, score: number): void {
    if (this.items.length >= this.k && score < this.floor) return;
    if (this.items.some((it) => it.key === key)) return;
    let i = this.items.length;
    while (i > 0 && (this.items[i - 1]!.score < score || (this.items[i - 1]!.score === score && this.items[i - 1]!.key > key))) i--;
    this.items.splice(i, 0, { key, score });
    if (this.items.length > this.k) this.items.pop();
  }

  get size(): number {
    return this.items.length;
  }

  result(): { key: string; score: number }[] {
    return this.items;
  }
}
