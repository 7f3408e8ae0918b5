import type { HeraldError } from '@herald/protocol';
import { invalid } from './errors.js';

/**
 * How deep a request body may nest: 64 levels of objects and arrays in any one field. Real payloads
 * nest a handful of levels; a body of a few KB of `[` nests thousands, and every recursive walk of
 * it (JSON.stringify when it is stored, schema checks, hashing) would overflow the call stack.
 */
export const MAX_JSON_DEPTH = 64;

/** How many levels of objects and arrays `value` nests (a scalar: 0), counted without recursion. */
function depthOf(value: unknown, stopAbove: number): number {
  let deepest = 0;
  const todo: Array<[unknown, number]> = [[value, 0]];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [v, depth] = next;
    if (v === null || typeof v !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > stopAbove) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) todo.push([child, level]);
  }
  return deepest;
}

/** A 400 naming the first field of a parsed body that nests deeper than MAX_JSON_DEPTH, or undefined. */
export function depthError(body: unknown): HeraldError | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return depthOf(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH ? tooDeep('body') : undefined;
  }
  for (const [field, value] of Object.entries(body)) {
    if (depthOf(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return tooDeep(field);
  }
  return undefined;
}

function tooDeep(field: string): HeraldError {
  return invalid(field, `nests deeper than ${MAX_JSON_DEPTH} levels.`);
}
