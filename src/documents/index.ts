export { parseEntityKey, TABLE_NAME, MAX_KEY_BYTES, type EntityKey } from './entity-key.js';
export { DocumentStore, type StoredRow, type ScanRange } from './document-store.js';
