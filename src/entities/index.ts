export { parseEntityKey, TABLE_NAME, MAX_KEY_BYTES, type EntityKey } from './entity-key.js';
export { normalizeBlob, type NormalizedBlob } from './blob.js';
export { EntityStore, type PutResult } from './entity-store.js';
