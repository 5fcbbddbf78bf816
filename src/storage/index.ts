export { Engine, Snapshot, FORMAT_VERSION, type EngineOptions, type EngineStats, type GroupHook, type ScanOptions } from './engine.js';
export { WriteBatch, type BatchOp } from './write-batch.js';
export { GroupCommitter, type GroupCommitStats } from './group-commit.js';
export {
  describeStorageFailure,
  publicFailure,
  storageFailureError,
  type PublicStorageFailure,
  type StorageFailure,
  type StorageFailureKind,
} from './storage-failure.js';
export { Keyspace, keyspace, allKeyspaces, KEYSPACE_IDS, type KeyspaceName } from './keyspace.js';
export {
  seqCodec,
  encodeAscending,
  decodeAscending,
  writeVarint,
  readVarint,
  writeAscii,
  orderedCodec,
  elementEnd,
  prefixUpperBound,
  encodeUtf8,
  decodeUtf8,
  type ScalarValue,
} from './codec.js';
export { BulkLoader } from './bulk-load.js';
