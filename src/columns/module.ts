import { DEFAULTS } from '../config.js';
import type { Module } from '../kernel/index.js';
import { ResidentColumns } from './resident-columns.js';

/**
 * Resident columns (resident-columns.ts): attribute values of whole tables
 * in memory for full-scan COLLECT ... AGGREGATE. In memory only: nothing to
 * recover, a copy is made again by the first such query after a start.
 */
export const Columns: Module<ResidentColumns> = {
  name: 'columns',
  open: (ctx) => new ResidentColumns(ctx.config.residentColumnValues ?? DEFAULTS.residentColumnValues, () => ctx.engine.writeEpoch),
  commit: (c) => c.participant(),
  gauges: [
    {
      name: 'themis_columns_resident_values',
      help: 'Values counted in the in-memory columns of tables (documents x (paths + 1))',
      read: (c) => c.values,
    },
    { name: 'themis_columns_resident_tables', help: 'Tables with in-memory columns', read: (c) => c.tables },
    {
      name: 'themis_columns_resident_builds_total',
      help: 'In-memory column copies made',
      type: 'counter',
      read: (c) => c.builds,
    },
    {
      name: 'themis_columns_resident_idle_drops_total',
      help: 'In-memory column copies dropped because no query read them for ten minutes',
      type: 'counter',
      read: (c) => c.idleDrops,
    },
    {
      name: 'themis_columns_resident_hits_total',
      help: 'Full-scan COLLECTs answered from in-memory columns',
      type: 'counter',
      read: (c) => c.hits,
    },
    {
      name: 'themis_columns_resident_misses_total',
      help: 'Full-scan COLLECTs that read the documents',
      type: 'counter',
      read: (c) => c.misses,
    },
  ],
};
