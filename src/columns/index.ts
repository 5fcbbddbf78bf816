/** Resident columns: attribute values of whole tables in memory, for full-scan COLLECT ... AGGREGATE. */
export { Columns } from './module.js';
export {
  type ColumnBuild,
  type ColumnCopy,
  type GroupCodes,
  groupCodes,
  MAX_PATHS,
  orderKey,
  pathName,
  ResidentColumns,
  residentValue,
  slotsInOrder,
  valueAt,
} from './resident-columns.js';
