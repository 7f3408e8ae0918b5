import { HERALD_VERSION, serializeEnvelope, signatureHeaders } from '@herald/protocol';
import type { ClaimedDelivery, EndpointRecord } from '../store/types.js';

/**
 * What goes on the wire for one attempt: the envelope's bytes and the headers that sign them.
 * The body is serialized once per attempt and the signature is computed over exactly those bytes.
 */

export interface WebhookRequest {
  body: string;
  /** Sent as they are. */
  headers: Record<string, string>;
  /** The same, safe to store and show: custom headers that look like credentials are redacted. */
  loggedHeaders: Record<string, string>;
}

/** Headers Herald sets itself; an endpoint's custom headers cannot replace them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'host',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-herald-signature',
]);

/** Custom headers whose value is probably a credential for the receiver: kept out of the attempt log. */
const CREDENTIAL_HEADER = /auth|cookie|token|secret|key|password|session/i;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The secrets that sign at `now`: the current one, and the previous one while its overlap lasts. */
export function signingSecrets(endpoint: EndpointRecord, now: number): string[] {
  const secrets = [endpoint.secret];
  if (
    endpoint.previousSecret !== null &&
    endpoint.previousSecretExpiresAt !== null &&
    endpoint.previousSecretExpiresAt > now
  ) {
    secrets.push(endpoint.previousSecret);
  }
  return secrets;
}

export function buildWebhookRequest({ delivery, endpoint, event }: ClaimedDelivery, now: number): WebhookRequest {
  const body = serializeEnvelope({
    id: event.id,
    type: event.type,
    occurred_at: new Date(event.occurredAt).toISOString(),
    connection_id: event.connectionId,
    endpoint_id: endpoint.id,
    sequence: delivery.sequence,
    data: event.data,
  });
  const headers: Record<string, string> = {};
  const loggedHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(endpoint.headers)) {
    const lower = name.toLowerCase();
    // The API refuses such headers; this keeps an old or hand-edited row from breaking the request.
    if (RESERVED_HEADERS.has(lower) || !HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) continue;
    headers[lower] = value;
    loggedHeaders[lower] = CREDENTIAL_HEADER.test(lower) ? '[redacted]' : value;
  }
  const own = {
    'content-type': 'application/json',
    'user-agent': `Herald/${HERALD_VERSION}`,
    ...signatureHeaders({
      scheme: endpoint.signatureScheme,
      secrets: signingSecrets(endpoint, now),
      id: event.id,
      timestamp: Math.floor(now / 1000),
      body,
    }),
  };
  Object.assign(headers, own);
  Object.assign(loggedHeaders, own);
  return { body, headers, loggedHeaders };
}
