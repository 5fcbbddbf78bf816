/** The AQL executor: runs a plan over one snapshot (executor.ts and the step files beside it). */
export { Executor, type ValueChunk } from './executor.js';
export { IndexOrderUnusable, type ExecDeps, type ExecOptions } from './context.js';
