export { parseEntityKey, TABLE_NAME, MAX_KEY_BYTES, type EntityKey } from '../documents/index.js';
export { normalizeBlob, type NormalizedBlob } from './blob.js';
export { EntityStore, DEFAULT_TABLE, type PutResult, type EntityOp, type BatchOperation } from './entity-store.js';
export { Entities } from './module.js';
