/**
 * The table catalogue's public surface (docs/operations.md, "Table
 * management"): which tables exist, their exact counts, drop and truncate.
 */
export { Tables } from './module.js';
export {
  DELETE_BATCH,
  isSystemTable,
  TableService,
  type TableFulltextIndex,
  type TableIndex,
  type TableInfo,
  type TableOperationResult,
  type TableProgress,
  type TableVectorIndex,
} from './table-service.js';
export { TableLedger, type TableCounts, type TableJob, type TableOperation } from './table-ledger.js';
