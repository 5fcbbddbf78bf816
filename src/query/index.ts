export {
  normalizeQuery,
  planQuery,
  indexForEquality,
  rangeIndexFor,
  numericLiteral,
  ESTIMATE_CAP,
  type NormalizedQuery,
  type Plan,
  type PlannerIndex,
  type Estimate,
  type Driver,
  type EqualityPredicate,
  type RangePredicate,
} from './planner.js';
export { executeQuery, compareScalar, matchesAll, type QueryResult } from './executor.js';
export { Query } from './module.js';
