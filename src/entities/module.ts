import { DEFAULTS } from '../config.js';
import type { Module } from '../kernel/index.js';
import { EntityStore } from './entity-store.js';

/** Documents by key: the write path every other module and route uses. */
export const Entities: Module<EntityStore> = {
  name: 'entities',
  open: (ctx) => new EntityStore(ctx.transactions, ctx.config.maxJsonDepth ?? DEFAULTS.maxJsonDepth),
};
