/**
 * AQL built-in functions (ArangoDB semantics): every family registered into
 * `FUNCTIONS`, and what the evaluator, planner and executor use of them.
 * Import from here, not from a family's file: the families are registered
 * by this module, in the order below (which decides only the order
 * `FUNCTIONS` iterates in, since a name defined twice is refused).
 */
import { ARRAY_FUNCTIONS } from './array.js';
import { BIT_FUNCTIONS } from './bit.js';
import { DATE_FUNCTIONS } from './date.js';
import { ENCODING_FUNCTIONS } from './encoding.js';
import { GEO_FUNCTIONS } from './geo.js';
import { MISC_FUNCTIONS } from './misc.js';
import { NUMERIC_FUNCTIONS } from './numeric.js';
import { OBJECT_FUNCTIONS } from './object.js';
import { REGEX_FUNCTIONS } from './regex.js';
import { registerFunctions } from './registry.js';
import { STATISTICS_FUNCTIONS } from './statistics.js';
import { STRING_FUNCTIONS } from './string.js';
import { STRING_EXTRA_FUNCTIONS } from './string-extra.js';
import { TYPE_FUNCTIONS } from './type-checks.js';
import { VECTOR_FUNCTIONS } from './vector.js';

for (const family of [
  STRING_FUNCTIONS,
  STRING_EXTRA_FUNCTIONS,
  REGEX_FUNCTIONS,
  ENCODING_FUNCTIONS,
  NUMERIC_FUNCTIONS,
  BIT_FUNCTIONS,
  VECTOR_FUNCTIONS,
  STATISTICS_FUNCTIONS,
  ARRAY_FUNCTIONS,
  OBJECT_FUNCTIONS,
  TYPE_FUNCTIONS,
  MISC_FUNCTIONS,
  DATE_FUNCTIONS,
  GEO_FUNCTIONS,
]) {
  registerFunctions(family);
}

export { flattenArray } from './array.js';
export { editDistance } from './edit-distance.js';
export { strOf } from './helpers.js';
export { arangoLike, likePattern } from './string.js';
export { integerRange, MAX_RANGE } from './numeric.js';
export {
  type AqlFunction,
  callFunction,
  checkFunction,
  ENGINE_FUNCTIONS,
  type FnContext,
  FUNCTIONS,
  type FunctionDef,
  suggestFunction,
} from './registry.js';
