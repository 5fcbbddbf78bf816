import type { RouteArea } from '../route-area.js';
import { adminArea } from './admin.js';
import { auditArea } from './audit.js';
import { cacheArea } from './cache.js';
import { changefeedStreamArea } from './changefeed-stream.js';
import { changefeedArea } from './changefeed.js';
import { consoleArea } from './console.js';
import { contentArea } from './content.js';
import { docsArea } from './docs.js';
import { entitiesArea } from './entities.js';
import { graphArea } from './graph.js';
import { indexesArea } from './indexes.js';
import { keysArea } from './keys.js';
import { llmArea } from './llm.js';
import { piiArea } from './pii.js';
import { queryArea } from './query.js';
import { reportsArea } from './reports.js';
import { retentionArea } from './retention.js';
import { searchArea } from './search.js';
import { systemArea } from './system.js';
import { tablesArea } from './tables.js';
import { transactionsArea } from './transactions.js';
import { vectorArea } from './vector.js';

/**
 * Every API area the server answers, in registration order (templated routes
 * are matched in this order). A new subsystem's endpoints: one file in this
 * folder exporting its `RouteArea`, and one line here.
 */
export const AREAS: readonly RouteArea[] = [
  systemArea,
  docsArea,
  consoleArea,
  entitiesArea,
  transactionsArea,
  indexesArea,
  tablesArea,
  changefeedArea,
  changefeedStreamArea,
  graphArea,
  queryArea,
  searchArea,
  vectorArea,
  contentArea,
  llmArea,
  cacheArea,
  keysArea,
  auditArea,
  retentionArea,
  reportsArea,
  piiArea,
  adminArea,
];
