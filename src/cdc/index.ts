export {
  ChangeLog,
  toClientEntry,
  describeRetention,
  type ChangeEntry,
  type RawChangeEntry,
  type ReadOptions,
  type ReadResult,
  type ChangeLogStats,
  type Subscriber,
} from './change-log.js';
