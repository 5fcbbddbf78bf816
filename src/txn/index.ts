export { TransactionManager, type CommitResult, type TransactionStats, type TransactionManagerOptions } from './transaction-manager.js';
export { Transaction, type BufferedWrite, type TxnState } from './transaction.js';
export {
  Change,
  type Isolation,
  type CommitInfo,
  type CommitOrigin,
  type CommitParticipant,
  type DocumentValue,
  type WriteTransform,
} from './types.js';
