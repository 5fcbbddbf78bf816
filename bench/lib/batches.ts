import { performance } from 'node:perf_hooks';
import type { ThemisServer } from './server.js';
import { summarize } from './stats.js';

/** Rate and per-batch latency of a batched load. */
export interface LoadStats {
  seconds: number;
  /** Items per second. */
  perS: number;
  batches: number;
  batchP50Ms: number;
  batchP99Ms: number;
}

/** Run `fn(b)` for batches b = 0 … ⌈items / batchSize⌉ − 1, `concurrency` at a time; time each batch. */
export async function runBatches(
  items: number,
  batchSize: number,
  concurrency: number,
  fn: (b: number) => Promise<void>,
): Promise<LoadStats> {
  const batches = Math.ceil(items / batchSize);
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      const b = next++;
      if (b >= batches) return;
      const s = performance.now();
      await fn(b);
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const s = summarize(lat);
  return { seconds, perS: items / seconds, batches, batchP50Ms: s.p50, batchP99Ms: s.p99 };
}

/** POST `body` to `path`; anything but 200/201 throws with `what` and the start of the reply. */
export async function postOk(server: ThemisServer, path: string, body: string, what: string): Promise<{ text: string; ms: number }> {
  const t0 = performance.now();
  const r = await server.req('POST', path, body);
  const text = await r.text();
  const ms = performance.now() - t0;
  if (r.status !== 200 && r.status !== 201) throw new Error(`${what}: POST ${path} answered ${r.status}: ${text.slice(0, 300)}`);
  return { text, ms };
}
