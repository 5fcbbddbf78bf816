import { Aql } from './aql/index.js';
import { Audit } from './audit/index.js';
import { Backup } from './backup/index.js';
import { Cache } from './cache/index.js';
import { Changefeed } from './changefeed/index.js';
import { Columns } from './columns/index.js';
import { Content } from './content/index.js';
import { Entities } from './entities/module.js';
import { Graph } from './graph/module.js';
import { Indexes } from './index/module.js';
import { Vectors } from './index/vector/module.js';
import type { Module } from './kernel/index.js';
import { Llm } from './llm/index.js';
import { Pii } from './pii/index.js';
import { Query } from './query/module.js';
import { Retention } from './retention/index.js';
import { Search } from './search/module.js';
import { ApiKeys } from './security/module.js';
import { Tables } from './tables/index.js';
import { Transactions } from './transactions/index.js';

/**
 * The subsystems, in the order they are listed in docs/architecture.md (the
 * host opens them in dependency order). Adding a subsystem: a module here
 * and a route area in server/routes/index.ts.
 */
export const MODULES: readonly Module<unknown>[] = [
  Transactions,
  Entities,
  Changefeed,
  Graph,
  Indexes,
  Vectors,
  Search,
  Content,
  Llm,
  Cache,
  Query,
  Tables,
  Columns,
  Aql,
  ApiKeys,
  Audit,
  Retention,
  Pii,
  // Last: it reaches every other module's files when a backup runs, and closes first (a running backup fails before storage goes).
  Backup,
];
