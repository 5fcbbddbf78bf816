/**
 * The AQL geo functions that need no geo index and no S2 geometry:
 * DISTANCE (haversine) and the GeoJSON constructors GEO_POINT,
 * GEO_MULTIPOINT, GEO_LINESTRING and GEO_MULTILINESTRING. The rest of
 * ArangoDB's geo family (GEO_DISTANCE, GEO_CONTAINS, GEO_POLYGON's S2
 * validation, NEAR/WITHIN on geo indexes, ...) is not available
 * (docs/aql.md, "Functions").
 */
import type { AqlValue } from '../ast.js';
import { numberOrNull } from '../values.js';
import { invalidArg } from './helpers.js';
import { functionTable, type FunctionTable } from './registry.js';

const { table, def } = functionTable();

/** The geo functions, for index.ts to register. */
export const GEO_FUNCTIONS: FunctionTable = table;

/** ArangoDB's earth radius for DISTANCE() (the mean radius, in meters). */
const EARTH_RADIUS_M = 6_371_000;

/** DISTANCE(lat1, lon1, lat2, lon2): meters between two points on a sphere (haversine). */
def('DISTANCE', 4, 4, (a, ctx) => {
  // warning: ArangoDB 1542 (function argument type mismatch) for anything but numbers
  if (!a.every((x) => typeof x === 'number')) return invalidArg(ctx, 'DISTANCE');
  const [lat1, lon1, lat2, lon2] = a as [number, number, number, number];
  const rad = (x: number): number => (x * Math.PI) / 180;
  const h = Math.sin(rad(lat2 - lat1) / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
  return numberOrNull(2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(1, h))));
});

/** A GeoJSON position: [longitude, latitude] or [longitude, latitude, elevation]. */
function isPosition(v: AqlValue | undefined): boolean {
  return Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every((x) => typeof x === 'number');
}

/** At least `min` positions. */
function isPositions(v: AqlValue | undefined, min: number): v is AqlValue[] {
  return Array.isArray(v) && v.length >= min && v.every(isPosition);
}

def('GEO_POINT', 2, 3, (a, ctx) => {
  // warning: ArangoDB 1542 for anything but numbers
  if (!a.every((x) => typeof x === 'number')) return invalidArg(ctx, 'GEO_POINT');
  return { type: 'Point', coordinates: a.slice() };
});

def('GEO_MULTIPOINT', 1, 1, (a, ctx) =>
  // warning: ArangoDB 1542: "at least two longitude/latitude pairs"
  isPositions(a[0], 2) ? { type: 'MultiPoint', coordinates: a[0] } : invalidArg(ctx, 'GEO_MULTIPOINT'),
);

def('GEO_LINESTRING', 1, 1, (a, ctx) =>
  // warning: ArangoDB 1542: "at least two longitude/latitude pairs"
  isPositions(a[0], 2) ? { type: 'LineString', coordinates: a[0] } : invalidArg(ctx, 'GEO_LINESTRING'),
);

def('GEO_MULTILINESTRING', 1, 1, (a, ctx) => {
  const lines = a[0];
  // warning: ArangoDB 1542: at least two LineString coordinate arrays
  if (!Array.isArray(lines) || lines.length < 2 || !lines.every((l) => isPositions(l, 2))) return invalidArg(ctx, 'GEO_MULTILINESTRING');
  return { type: 'MultiLineString', coordinates: lines };
});
