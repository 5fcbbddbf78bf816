export { ChangeFeed, Changefeed } from './module.js';
export { ChangeStream, type ChangeSink, type ChangeStreamOptions } from './change-stream.js';
