import { type HeaderSource, newId } from '@herald/protocol';
import type { RejectReason } from './verify.js';

/** A request as the route needs it: headers and the raw body bytes. */
export interface ReceiverRequest {
  headers: HeaderSource;
  body: Uint8Array | string;
}

/** The route's answer, whatever the framework. */
export interface ReceiverResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function answer(status: number, body: unknown, headers: Record<string, string> = {}): ReceiverResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** An error in the shape of Herald's API errors, with the short `reason` a sender's log shows. */
export function errorAnswer(
  status: 400 | 401 | 405 | 413 | 500 | 503,
  reason: RejectReason | 'method_not_allowed' | 'inbox_unavailable' | 'internal_error',
  message: string,
  headers: Record<string, string> = {},
): ReceiverResponse {
  const [code, type] =
    status === 401
      ? ['AUTHENTICATION_FAILED', 'authentication_error']
      : status === 413
        ? ['PAYLOAD_TOO_LARGE', 'invalid_request_error']
        : status === 503
          ? ['SERVICE_UNAVAILABLE', 'api_error']
          : status === 500
            ? ['INTERNAL_ERROR', 'api_error']
            : ['INVALID_REQUEST', 'invalid_request_error'];
  const requestId = newId('request');
  return answer(
    status,
    { error: { code, type, reason, message, request_id: requestId } },
    { 'x-request-id': requestId, ...headers },
  );
}

export const methodNotAllowed = (): ReceiverResponse =>
  errorAnswer(405, 'method_not_allowed', 'Webhooks are POSTed.', { allow: 'POST' });

/** Thrown when a framework has parsed the body before the receiver could read its bytes. */
export class RawBodyError extends Error {
  override readonly name = 'RawBodyError';
}
