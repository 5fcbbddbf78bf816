import { ThemisError } from '../errors.js';
import { TABLE_NAME } from '../documents/index.js';
import { DIRECTIONS, type Direction } from './adjacency-index.js';
import { MAX_DEPTH } from './traversal.js';

/** Request-parameter checks of the graph endpoints (VALIDATION_FAILED naming the field). */
export function graphDepth(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DEPTH) {
    throw new ThemisError('VALIDATION_FAILED', `field "${field}" must be an integer from 0 to ${MAX_DEPTH}`, { details: { field } });
  }
  return v;
}

export function graphDirection(v: unknown): Direction {
  if (v === undefined) return 'outbound';
  if (typeof v !== 'string' || !(DIRECTIONS as readonly string[]).includes(v)) {
    throw new ThemisError('VALIDATION_FAILED', `field "direction" must be one of ${DIRECTIONS.join(', ')}`, { details: { field: 'direction' } });
  }
  return v as Direction;
}

export function graphEdgeTable(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !TABLE_NAME.test(v)) {
    throw new ThemisError('VALIDATION_FAILED', 'field "edge_table" must be a table name (1-128 of A-Z a-z 0-9 _ -)', { details: { field: 'edge_table' } });
  }
  return v;
}
