/**
 * Token buckets in memory, one per key (a principal's id, a client IP). Pure:
 * no HTTP, no timers; the clock is injected so tests can move time. A bucket
 * holds at most `limit` tokens (the burst) and refills continuously at
 * `limit` tokens per `windowMs`; a request takes one token or is refused.
 *
 * Memory is bounded: at most `maxKeys` buckets are kept, least recently used
 * first out. Dropping a bucket forgets its debt (the key starts full again),
 * so a flood of distinct keys can cost a limited key at most one extra burst,
 * never unbounded memory.
 */
export interface RateLimit {
  /** Requests per window, which is also the burst. */
  readonly limit: number;
  readonly windowMs: number;
}

export interface Verdict {
  readonly allowed: boolean;
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number;
  /** When refused: milliseconds until one token is available; 0 when allowed. */
  readonly retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export const DEFAULT_MAX_KEYS = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(opts: { maxKeys?: number; now?: () => number } = {}) {
    this.maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
    if (!(this.maxKeys >= 1)) throw new TypeError('maxKeys must be at least 1');
    this.now = opts.now ?? (() => performance.now());
  }

  /** Buckets held (at most maxKeys). */
  get size(): number {
    return this.buckets.size;
  }

  /** Take `cost` tokens from the key's bucket under `rule`, or refuse (nothing is taken then). */
  take(key: string, rule: RateLimit, cost = 1): Verdict {
    const b = this.refilled(key, rule, true)!;
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return verdict(true, b.tokens, rule, 0);
    }
    return verdict(false, b.tokens, rule, ((cost - b.tokens) * rule.windowMs) / rule.limit);
  }

  /**
   * Whether `cost` tokens are available, without taking them (and without
   * creating a bucket). A bucket found full again is forgotten: it is what
   * a missing one stands for, so keys that stopped drawing leave no buckets.
   */
  peek(key: string, rule: RateLimit, cost = 1): Verdict {
    const b = this.refilled(key, rule, false);
    if (b !== undefined && b.tokens >= rule.limit) this.buckets.delete(key);
    if (b === undefined) return verdict(true, rule.limit, rule, 0);
    if (b.tokens >= cost) return verdict(true, b.tokens, rule, 0);
    return verdict(false, b.tokens, rule, ((cost - b.tokens) * rule.windowMs) / rule.limit);
  }

  /** Forget every bucket. */
  clear(): void {
    this.buckets.clear();
  }

  private refilled(key: string, rule: RateLimit, create: boolean): Bucket | undefined {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (!create) return undefined;
      // Full bucket; evict the least recently used first when at the bound.
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: rule.limit, at: now };
      this.buckets.set(key, b);
      return b;
    }
    const elapsed = now - b.at;
    if (elapsed > 0) b.tokens = Math.min(rule.limit, b.tokens + (elapsed * rule.limit) / rule.windowMs);
    // A lowered limit (a key's own limit changed) caps what was saved up.
    else if (b.tokens > rule.limit) b.tokens = rule.limit;
    b.at = now;
    if (create) {
      // Most recently used goes last (Map keeps insertion order): eviction takes the first.
      this.buckets.delete(key);
      this.buckets.set(key, b);
    }
    return b;
  }
}

function verdict(allowed: boolean, tokens: number, rule: RateLimit, retryAfterMs: number): Verdict {
  return {
    allowed,
    limit: rule.limit,
    remaining: Math.floor(tokens),
    resetMs: ((rule.limit - tokens) * rule.windowMs) / rule.limit,
    retryAfterMs,
  };
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/**
 * `<count>/<window>`: `1000/s`, `60000/min`, `100/m`, `5000/h`, `20/10s`
 * (the window may carry a number); `off` (or `none`, `0`) → undefined.
 * Throws a plain Error with a readable message on anything else.
 */
export function parseRateLimit(v: string): RateLimit | undefined {
  const t = v.trim().toLowerCase();
  if (t === 'off' || t === 'none' || t === '0') return undefined;
  const m = /^(\d+)\s*\/\s*(\d*)\s*([a-z]+)$/.exec(t);
  const unit = m ? UNITS[m[3]!] : undefined;
  if (!m || unit === undefined)
    throw new Error(`must be "off" or a count per window like 1000/s, 60000/min, 100/m, 5000/h or 20/10s; got "${v}"`);
  const limit = Number(m[1]);
  const windowMs = (m[2] === '' ? 1 : Number(m[2])) * unit;
  if (limit < 1 || limit > 1e9) throw new Error(`count must be between 1 and 1000000000, got ${limit}`);
  if (windowMs < 1 || windowMs > 7 * 86_400_000) throw new Error(`window must be between 1 ms and 7 days, got "${v}"`);
  return { limit, windowMs };
}

/** A limit as it was configured, for logs and docs: `100/60s`. */
export function formatRateLimit(r: RateLimit | undefined): string {
  if (r === undefined) return 'off';
  return r.windowMs % 1000 === 0 ? `${r.limit}/${r.windowMs / 1000}s` : `${r.limit}/${r.windowMs}ms`;
}
