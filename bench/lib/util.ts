import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/bench/lib/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Compiled server entry point. */
export const CLI = path.join(ROOT, 'dist/src/cli.js');
/** Where result files go (in the source tree, not dist/). */
export const RESULTS_DIR = path.join(ROOT, 'bench/results');

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Positive number from the environment, or the default. */
export function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** mulberry32: a small deterministic PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Shorter phases for areas that run many scenarios: wrk loads up to 8 s
 * (2 s warm-up), in-process loops up to 3 s (1 s warm-up), capped by the
 * run's BENCH_DURATION_S / BENCH_WARMUP_S.
 */
export function shortPhases(s: { durationS: number; warmupS: number }): {
  wrkDurationS: number;
  wrkWarmupS: number;
  memDurationS: number;
  memWarmupS: number;
} {
  return {
    wrkDurationS: Math.min(s.durationS, 8),
    wrkWarmupS: Math.min(s.warmupS, 2),
    memDurationS: Math.min(s.durationS, 3),
    memWarmupS: Math.min(s.warmupS, 1),
  };
}
