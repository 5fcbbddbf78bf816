import { Entities } from '../entities/module.js';
import { Indexes } from '../index/module.js';
import { Vectors } from '../index/vector/module.js';
import type { Module } from '../kernel/index.js';
import { SearchService } from './search-service.js';

/** Fulltext and hybrid search (their indexes belong to the Indexes and Vectors modules). */
export const Search: Module<SearchService> = {
  name: 'search',
  after: [Indexes, Vectors, Entities],
  open: (ctx) => new SearchService(ctx.get(Indexes), ctx.get(Vectors), ctx.get(Entities)),
};
