import { createHash } from 'node:crypto';
import { canonicalJson, type Envelope } from '@herald/protocol';

/**
 * What a handler receives: Herald's envelope, read by `readEnvelope` of `@herald/protocol`. `id`
 * is always the id the event was deduplicated under, `ctx.id`: the `webhook-id` (with the
 * `hmac-sha256` scheme, whose header is not signed, the body's `id`). A body from another Standard
 * Webhooks sender is read leniently (see readEnvelope); an `id` of its own stays in `ctx.payload.id`.
 */
export type ReceivedEvent<Data = unknown> = Envelope<Data>;

export function hashBody(body: string): string {
  return createHash('sha256').update(body).digest('base64');
}

/**
 * Whether two bodies under one id carry the same event. Bytes usually match (a retry sends the same
 * body); a polled copy may be serialised differently, so unequal bytes are compared as JSON values.
 */
export function sameEventBody(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return false;
  }
}
