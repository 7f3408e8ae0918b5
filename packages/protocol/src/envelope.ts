/** The body of every delivery. `sequence` counts one endpoint's deliveries 1, 2, 3, … with no gaps. */
export interface Envelope<Data = unknown> {
  id: string;
  type: string;
  occurred_at: string;
  connection_id: string | null;
  endpoint_id: string;
  sequence: number;
  data: Data;
}

export const BUILT_IN_EVENT_TYPES = [
  'sync.completed',
  'sync.failed',
  'connection.auth_required',
  'connection.status_changed',
  'system.error',
  'endpoint.disabled',
  'alert.triggered',
] as const;

export type BuiltInEventType = (typeof BUILT_IN_EVENT_TYPES)[number];

/** An event type: dotted lower-case words, e.g. `sync.completed` or `invoice.paid`. */
export const EVENT_TYPE_PATTERN = '^[a-z0-9_]+(\\.[a-z0-9_]+)*$';

export function serializeEnvelope(envelope: Envelope): string {
  return JSON.stringify({
    id: envelope.id,
    type: envelope.type,
    occurred_at: envelope.occurred_at,
    connection_id: envelope.connection_id,
    endpoint_id: envelope.endpoint_id,
    sequence: envelope.sequence,
    data: envelope.data,
  });
}

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

/**
 * Reads an envelope from a body: the one reading, for the sender's tools and the receiver alike.
 * Fields Herald always sends are checked; a body from another Standard Webhooks sender (Svix and
 * the services built on it send `{type, timestamp, data}`) may lack `endpoint_id`, `sequence`,
 * `connection_id` or even `type`, and is then read with those as ''/0/null/'' rather than refused;
 * `occurred_at` falls back to its `timestamp`.
 *
 * `options.id` is the id the delivery was signed and is deduplicated under (the `webhook-id`): when
 * given, it is the envelope's `id` whatever the body says (a body's own `id` stays in `payload`);
 * without it, the body's `id` is required.
 */
export function readEnvelope(
  body: Uint8Array | string,
  options: { id?: string } = {},
): { envelope: Envelope; payload: Record<string, unknown> } {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch {
    throw new EnvelopeError('The body is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EnvelopeError('The body is not a JSON object.');
  }
  const v = value as Record<string, unknown>;
  const id = options.id !== undefined && options.id !== '' ? options.id : v.id;
  if (typeof id !== 'string' || id === '') throw new EnvelopeError('The envelope\'s "id" is not a string.');
  const type = v.type ?? '';
  if (typeof type !== 'string') throw new EnvelopeError('The envelope\'s "type" is not a string.');
  const sequence = v.sequence ?? 0;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new EnvelopeError(`The envelope's "sequence" is not a non-negative integer.`);
  }
  return {
    payload: v,
    envelope: {
      id,
      type,
      occurred_at:
        typeof v.occurred_at === 'string' ? v.occurred_at : typeof v.timestamp === 'string' ? v.timestamp : '',
      connection_id: typeof v.connection_id === 'string' ? v.connection_id : null,
      endpoint_id: typeof v.endpoint_id === 'string' ? v.endpoint_id : '',
      sequence,
      data: v.data,
    },
  };
}

/** The envelope of a body; see readEnvelope. */
export function parseEnvelope(body: Uint8Array | string, options: { id?: string } = {}): Envelope {
  return readEnvelope(body, options).envelope;
}
