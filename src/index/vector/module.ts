import { Entities } from '../../entities/module.js';
import type { Module } from '../../kernel/index.js';
import { checkpointsOf, commitClockOf, latestOf } from '../module.js';
import { VectorService } from './service.js';
import { VectorManager } from './vector-manager.js';

/** Vector indexes (HNSW): definitions, backfills, maintenance in every commit, checkpoints, and the /vector endpoints' service. */
export const Vectors: Module<VectorService> = {
  name: 'vector',
  after: [Entities],
  async open(ctx) {
    const m = new VectorManager(ctx.engine, ctx.documents, latestOf(ctx), ctx.log, commitClockOf(ctx), checkpointsOf(ctx, 'vector'));
    await m.open();
    return new VectorService(m, ctx.get(Entities));
  },
  commit: (v) => v.manager.participant,
  checkpoint: (v) => v.manager.checkpointAll(true),
  backup: (v, b) => v.manager.backup(b),
  close: (v) => v.manager.close(),
  gauges: [
    { name: 'themis_vector_index_vectors', help: 'Vectors in each vector index', label: 'index', read: (v) => perIndex(v, 'vectorCount') },
    {
      name: 'themis_vector_index_deleted_slots',
      help: 'Graph slots of deleted vectors awaiting reuse, per vector index',
      label: 'index',
      read: (v) => perIndex(v, 'deletedSlots'),
    },
    {
      name: 'themis_vector_index_capacity',
      help: 'Graph capacity of each vector index (doubles when full)',
      label: 'index',
      read: (v) => perIndex(v, 'capacity'),
    },
  ],
};

function perIndex(v: VectorService, k: 'vectorCount' | 'deletedSlots' | 'capacity'): [string, number][] {
  return v.listIndexes().map((x): [string, number] => [x.objectName as string, x[k] as number]);
}
