export { idTimeMs, interactionKey, LLM_TABLE, LLM_TEXT, type LlmInteraction, timeBound, UUID_V7 } from './keys.js';
export { Llm } from './module.js';
export {
  type LlmInteractionCreated,
  type LlmInteractionDeleted,
  type LlmInteractionList,
  type LlmInteractionRequest,
  type LlmListOptions,
  LlmService,
} from './service.js';
