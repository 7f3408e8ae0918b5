import { createHash } from 'node:crypto';
import { canonicalJson, HeraldError } from '@herald/protocol';
import type { FastifyRequest } from 'fastify';
import { invalid } from './errors.js';

/**
 * `Idempotency-Key` on every route that publishes (POST /v1/events, POST /v1/connections/:id/syncs,
 * through publish.ts): the same key and body within 24 hours get the first response again (nothing
 * is published twice); the same key with another body is a 409. The check and the record happen
 * inside the publish transaction (see Store.publish).
 */

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's key, or undefined; a 400 naming the header when it is not 1–255 visible ASCII characters. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY.test(value)) {
    throw invalid('idempotency-key', 'must be 1 to 255 visible ASCII characters, e.g. a UUID.');
  }
  return value;
}

/** The body's hash, the same for any key order (canonicalJson, which does not recurse). */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function keyReused(key: string): HeraldError {
  return new HeraldError(
    'IDEMPOTENCY_KEY_REUSED',
    `idempotency-key: "${key}" was already used with a different body in the last 24 hours.`,
  );
}
