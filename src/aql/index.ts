/**
 * The AQL subsystem's public surface: code outside src/aql/ imports from
 * here. The service parses, plans and runs queries and keeps their cursors;
 * the catalogue is how it sees tables and their indexes.
 */
export { AqlService, type AqlLimits, type AqlRequest, type AqlResponse } from './service.js';
export type { Catalogue, PlannerIndex, TableCatalogue } from './planner.js';
export { Aql, AqlQueries } from './module.js';
