import { createRequire } from 'node:module';

// hnswlib-node is a CommonJS native addon; the server's wrapper (src/index/vector/hnsw-index.ts) loads it the same way.
const require = createRequire(import.meta.url);

/** The part of hnswlib-node's HierarchicalNSW the in-process baselines use. */
export interface NativeHnsw {
  initIndex(o: { maxElements: number; m?: number; efConstruction?: number; randomSeed?: number; allowReplaceDeleted?: boolean }): void;
  addPoint(p: number[], label: number, replaceDeleted?: boolean): void;
  searchKnn(q: number[], k: number, filter?: (label: number) => boolean): { distances: number[]; neighbors: number[] };
  setEf(ef: number): void;
  getCurrentCount(): number;
}

/** hnswlib's HNSW graph, in process (the ceiling the HTTP vector and cache searches are compared with). */
export const { HierarchicalNSW } = require('hnswlib-node') as { HierarchicalNSW: new (space: 'cosine', dim: number) => NativeHnsw };
