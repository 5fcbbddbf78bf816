import { Entities } from '../../entities/module.js';
import type { Module } from '../../kernel/module.js';
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
  close: (v) => v.manager.close(),
};
