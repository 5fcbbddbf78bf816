export { TransactionManager, encodeEntityValue, decodeEntityValue, type CommitResult, type TransactionStats, type TransactionManagerOptions } from './transaction-manager.js';
export { Transaction, type BufferedWrite, type TxnState } from './transaction.js';
export { ISOLATIONS, changeDocs, type Isolation, type Change, type CommitInfo, type CommitHook, type AppliedListener } from './types.js';
