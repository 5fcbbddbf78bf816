export { parseEntityKey, TABLE_NAME, MAX_KEY_BYTES, type EntityKey } from './entity-key.js';
export { deepFreeze } from './deep-freeze.js';
export { DocumentStore, type StoredRow, type ScanRange } from './document-store.js';
