import type { components } from '../api/types.js';
import type { EntityKey } from '../documents/index.js';

export type LlmInteraction = components['schemas']['LlmInteraction'];

/** The table of LLM interactions: one document per interaction, keyed by its UUID v7 id (so key order is creation order). */
export const LLM_TABLE = '_llm_interactions';
/** The field holding an interaction's message text, one string (derived on every write; indexed for BM25). */
export const LLM_TEXT = 'content';

/** A UUID v7 (lowercase, as the server generates them); anything else names no interaction. */
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function interactionKey(id: string): EntityKey {
  return { key: `${LLM_TABLE}:${id}`, table: LLM_TABLE, pk: id };
}

/** Epoch ms of a UUID v7 (its first 48 bits). */
export function idTimeMs(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

const MAX_MS = 2 ** 48 - 1;

/**
 * The key every UUID v7 of epoch ms `ms` and later sorts at or after, and
 * every one of earlier ms sorts before: the id's time field alone
 * (`xxxxxxxx-xxxx`), shorter than any id, so no id equals it.
 */
export function timeBound(ms: number): EntityKey {
  const h = Math.min(MAX_MS, Math.max(0, Math.floor(ms)))
    .toString(16)
    .padStart(12, '0');
  return interactionKey(`${h.slice(0, 8)}-${h.slice(8)}`);
}
