/**
 * Request counters for /stats: totals since start and a requests-per-second
 * rate over the last 60 seconds (a ring of one-second buckets).
 */
export class RequestStats {
  totalRequests = 0;
  totalErrors = 0;
  private readonly buckets = new Float64Array(60);
  private readonly bucketSecond = new Float64Array(60);

  record(isError: boolean, nowMs = Date.now()): void {
    this.totalRequests++;
    if (isError) this.totalErrors++;
    const sec = Math.floor(nowMs / 1000);
    const i = sec % 60;
    if (this.bucketSecond[i] !== sec) {
      this.bucketSecond[i] = sec;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += 1;
  }

  /** Mean requests per second over the last `window` full seconds (default 60), or since start if shorter. */
  ratePerSecond(uptimeSeconds: number, nowMs = Date.now(), window = 60): number {
    const now = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < 60; i++) {
      const s = this.bucketSecond[i]!;
      if (s > now - window && s <= now) sum += this.buckets[i]!;
    }
    const span = Math.max(1, Math.min(window, uptimeSeconds));
    return Math.round((sum / span) * 100) / 100;
  }
}
