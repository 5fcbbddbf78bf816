export { ChangeLog, toClientEntry, describeRetention, type ChangeEntry, type RawChangeEntry, type ReadOptions, type ReadResult, type ChangeLogStats, type Subscriber } from './change-log.js';
export { ChangeStream, type ChangeSink, type ChangeStreamOptions } from './change-stream.js';
export { ChangeFeed, Changefeed } from './module.js';
