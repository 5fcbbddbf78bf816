/**
 * AQL type checks and casts: TO_*, IS_* (IS_IPV4 too) and TYPENAME.
 */
import { isObject, toArray, toNumber, truthy, typeName } from '../values.js';
import { isDateString } from './date.js';
import { strOf } from './helpers.js';
import { functionTable, type FunctionTable } from './registry.js';
import { ipv4ToNumber } from './string-extra.js';

const { table, def } = functionTable();

/** The type checks and casts, for index.ts to register. */
export const TYPE_FUNCTIONS: FunctionTable = table;

def('TO_NUMBER', 1, 1, (a, ctx) => toNumber(a[0]));
def('TO_STRING', 1, 1, (a, ctx) => strOf(a[0], ctx));
def('TO_BOOL', 1, 1, (a, ctx) => truthy(a[0]));
def(['TO_ARRAY', 'TO_LIST'], 1, 1, (a, ctx) => toArray(a[0]));
def('IS_NULL', 1, 1, (a, ctx) => a[0] === null || a[0] === undefined);
def('IS_BOOL', 1, 1, (a, ctx) => typeof a[0] === 'boolean');
def('IS_NUMBER', 1, 1, (a, ctx) => typeof a[0] === 'number');
def('IS_STRING', 1, 1, (a, ctx) => typeof a[0] === 'string');
def(['IS_ARRAY', 'IS_LIST'], 1, 1, (a, ctx) => Array.isArray(a[0]));
def(['IS_OBJECT', 'IS_DOCUMENT'], 1, 1, (a, ctx) => isObject(a[0]));
def('IS_DATESTRING', 1, 1, (a, ctx) => typeof a[0] === 'string' && isDateString(a[0]));
def('IS_IPV4', 1, 1, (a, ctx) => typeof a[0] === 'string' && ipv4ToNumber(a[0]) !== null);
def('IS_KEY', 1, 1, (a, ctx) => typeof a[0] === 'string' && /^[a-zA-Z0-9_\-:.@()+,=;$!*'%]{1,254}$/.test(a[0]));
def('TYPENAME', 1, 1, (a, ctx) => typeName(a[0]));
