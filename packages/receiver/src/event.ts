import { createHash } from 'node:crypto';
import { canonicalJson, type Envelope } from '@herald/protocol';

/**
 * What a handler receives: Herald's envelope. A body from another Standard Webhooks sender (Svix
 * and the services built on it send `{type, timestamp, data}`) is read leniently: `id` falls back to
 * the `webhook-id`, `occurred_at` to `timestamp`, and `endpoint_id`/`sequence`/`connection_id` to
 * `''`/`0`/`null`.
 */
export type ReceivedEvent<Data = unknown> = Envelope<Data>;

export class EventBodyError extends Error {
  override readonly name = 'EventBodyError';
}

/** Reads the body once: the event, and the parsed JSON object it came from. */
export function readEvent(webhookId: string, body: string): { event: ReceivedEvent; payload: Record<string, unknown> } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new EventBodyError('The body is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EventBodyError('The body is not a JSON object.');
  }
  const v = value as Record<string, unknown>;
  const sequence = v.sequence ?? 0;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new EventBodyError('The body\'s "sequence" is not a non-negative integer.');
  }
  const occurredAt = typeof v.occurred_at === 'string' ? v.occurred_at : v.timestamp;
  return {
    payload: v,
    event: {
      id: typeof v.id === 'string' && v.id !== '' ? v.id : webhookId,
      type: typeof v.type === 'string' ? v.type : '',
      occurred_at: typeof occurredAt === 'string' ? occurredAt : '',
      connection_id: typeof v.connection_id === 'string' ? v.connection_id : null,
      endpoint_id: typeof v.endpoint_id === 'string' ? v.endpoint_id : '',
      sequence,
      data: v.data,
    },
  };
}

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
