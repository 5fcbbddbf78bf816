/**
 * Hit ratios over sliding windows (1 min, 1 h): per-second buckets of
 * lookups and hits in a ring of an hour. A bucket is reused when its second
 * comes round again; a window sums the buckets of its seconds.
 */
export class HitWindow {
  private readonly second = new Float64Array(3600).fill(-1);
  private readonly lookups = new Uint32Array(3600);
  private readonly hits = new Uint32Array(3600);

  record(nowMs: number, hit: boolean): void {
    const s = Math.floor(nowMs / 1000);
    const i = s % 3600;
    if (this.second[i] !== s) {
      this.second[i] = s;
      this.lookups[i] = 0;
      this.hits[i] = 0;
    }
    this.lookups[i]!++;
    if (hit) this.hits[i]!++;
  }

  /** Lookups and hits of the last `seconds` seconds (this one included). */
  totals(nowMs: number, seconds: number): { lookups: number; hits: number } {
    const now = Math.floor(nowMs / 1000);
    let lookups = 0;
    let hits = 0;
    for (let s = now - Math.min(seconds, 3600) + 1; s <= now; s++) {
      const i = ((s % 3600) + 3600) % 3600;
      if (this.second[i] !== s) continue;
      lookups += this.lookups[i]!;
      hits += this.hits[i]!;
    }
    return { lookups, hits };
  }

  /** Hits / lookups over the window; 0 when there were no lookups. */
  ratio(nowMs: number, seconds: number): number {
    const t = this.totals(nowMs, seconds);
    return t.lookups === 0 ? 0 : t.hits / t.lookups;
  }
}

/** A min-heap of (expiry time, key) pairs; stale pairs (the key replaced or gone) are skipped by the caller. */
export class ExpiryHeap {
  private readonly at: number[] = [];
  private readonly keys: string[] = [];

  get size(): number {
    return this.at.length;
  }

  clear(): void {
    this.at.length = 0;
    this.keys.length = 0;
  }

  push(at: number, key: string): void {
    let i = this.at.length;
    this.at.push(at);
    this.keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= at) break;
      this.swap(i, p);
      i = p;
    }
  }

  peekTime(): number {
    return this.at.length === 0 ? Number.POSITIVE_INFINITY : this.at[0]!;
  }

  pop(): [number, string] | undefined {
    const n = this.at.length;
    if (n === 0) return undefined;
    const top: [number, string] = [this.at[0]!, this.keys[0]!];
    const lastAt = this.at.pop()!;
    const lastKey = this.keys.pop()!;
    if (n > 1) {
      this.at[0] = lastAt;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n - 1 && this.at[l]! < this.at[m]!) m = l;
        if (r < n - 1 && this.at[r]! < this.at[m]!) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(a: number, b: number): void {
    const t = this.at[a]!;
    this.at[a] = this.at[b]!;
    this.at[b] = t;
    const k = this.keys[a]!;
    this.keys[a] = this.keys[b]!;
    this.keys[b] = k;
  }
}
