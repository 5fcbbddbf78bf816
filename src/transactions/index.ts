export { Transactions, TransactionApi } from './module.js';
