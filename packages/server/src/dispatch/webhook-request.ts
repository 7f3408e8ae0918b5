import { HERALD_VERSION, serializeEnvelope, signatureHeaders } from '@herald/protocol';
import { REDACTED } from '../endpoint-credentials.js';
import type { ClaimedDelivery, EndpointRecord } from '../store/types.js';
import { customHeaderProblem } from './custom-headers.js';

/**
 * What goes on the wire for one attempt: the envelope's bytes and the headers that sign them.
 * The body is serialized once per attempt and the signature is computed over exactly those bytes.
 */

export interface WebhookRequest {
  body: string;
  /** Sent as they are. */
  headers: Record<string, string>;
  /** The same, safe to store and show: custom header values are redacted (their names stay). */
  loggedHeaders: Record<string, string>;
}

const USER_AGENT = `Herald/${HERALD_VERSION}`;

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

/** An endpoint's custom headers, checked once per endpoint record (a claim shares one record among its deliveries). */
interface CustomHeaders {
  headers: Array<[string, string]>;
  logged: Array<[string, string]>;
}
const customHeadersOf = new WeakMap<EndpointRecord, CustomHeaders>();

function customHeaders(endpoint: EndpointRecord): CustomHeaders {
  let custom = customHeadersOf.get(endpoint);
  if (custom === undefined) {
    custom = { headers: [], logged: [] };
    for (const [name, value] of Object.entries(endpoint.headers)) {
      const lower = name.toLowerCase();
      // The API refuses such headers; this keeps an old or hand-edited row from breaking the request.
      if (customHeaderProblem(name, value) !== undefined) continue;
      custom.headers.push([lower, value]);
      // Custom header values are the receiver's secrets (endpoint-credentials.ts): the log keeps names.
      custom.logged.push([lower, REDACTED]);
    }
    customHeadersOf.set(endpoint, custom);
  }
  return custom;
}

/**
 * The envelope's bytes. When the store kept the event's data as its stored JSON text (JSON.stringify's
 * output), that text is spliced in: the same bytes serializeEnvelope gives, without parsing and
 * serializing the data again for every delivery.
 */
function envelopeBody({ delivery, endpoint, event }: ClaimedDelivery): string {
  const envelope = {
    id: event.id,
    type: event.type,
    occurred_at: new Date(event.occurredAt).toISOString(),
    connection_id: event.connectionId,
    endpoint_id: endpoint.id,
    sequence: delivery.sequence,
  };
  if (typeof event.dataJson !== 'string') return serializeEnvelope({ ...envelope, data: event.data });
  const head = JSON.stringify(envelope);
  return `${head.slice(0, -1)},"data":${event.dataJson}}`;
}

export function buildWebhookRequest(claimed: ClaimedDelivery, now: number): WebhookRequest {
  const { endpoint, event } = claimed;
  const body = envelopeBody(claimed);
  const headers: Record<string, string> = {};
  const loggedHeaders: Record<string, string> = {};
  const custom = customHeaders(endpoint);
  for (const [name, value] of custom.headers) headers[name] = value;
  for (const [name, value] of custom.logged) loggedHeaders[name] = value;
  const own = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
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
