/** The AQL executor: runs a plan over one snapshot (executor.ts and the step files beside it). */
export { Executor, type ValueChunks } from './executor.js';
export { IndexOrderUnusable, type ExecDeps, type ExecOptions } from './context.js';
