import {
  DEFAULT_TOLERANCE_SECONDS,
  type HeaderSource,
  isValidSecret,
  readHeader,
  type VerificationFailure,
  verifyPlain,
  verifyStandard,
  WebhookVerificationError,
} from '@herald/protocol';

export type ReceiverScheme = 'standard-webhooks' | 'hmac-sha256';

export interface VerifierOptions {
  secrets: readonly string[];
  scheme: ReceiverScheme;
  toleranceSeconds: number;
}

/** Why the route refused a request: a verification failure, or a body it cannot read. */
export type RejectReason = VerificationFailure | 'id_mismatch' | 'invalid_body' | 'payload_too_large';

/**
 * Svix, and the services that send through it, name the Standard Webhooks headers `svix-id`,
 * `svix-timestamp` and `svix-signature` (same values, same signature). A request without
 * `webhook-id` but with `svix-id` is read through those names.
 */
export function standardHeaders(headers: HeaderSource): HeaderSource {
  if (readHeader(headers, 'webhook-id') !== undefined || readHeader(headers, 'svix-id') === undefined) return headers;
  return {
    get: (name: string) =>
      readHeader(headers, name.startsWith('webhook-') ? `svix-${name.slice('webhook-'.length)}` : name) ?? null,
  };
}

/**
 * Checks a request's signature over its raw bytes and returns the id to deduplicate on.
 *
 * Standard Webhooks signs `<id>.<timestamp>.<body>`, so the `webhook-id` is authentic and is the key.
 * The plain `hmac-sha256` scheme signs only the body: there the key is the body's own `id` (read by
 * the caller), and a `webhook-id` that disagrees with it is refused, since it is not signed.
 */
export function createVerifier(options: VerifierOptions) {
  if (options.secrets.length === 0) throw new TypeError('createReceiver: give `secret` or `secrets`.');
  for (const secret of options.secrets) {
    if (!isValidSecret(secret)) {
      throw new TypeError('createReceiver: a secret is not `whsec_` followed by the base64 of 24 to 64 bytes.');
    }
  }
  return function verify(source: HeaderSource, body: Buffer, nowSeconds: number): { webhookId: string | undefined } {
    const headers = standardHeaders(source);
    if (options.scheme === 'hmac-sha256') {
      verifyPlain(options.secrets, headers, body);
      // The timestamp is not signed in this scheme; a stale one is still refused, as the sender never sends one.
      const timestamp = readHeader(headers, 'webhook-timestamp');
      if (timestamp !== undefined && /^\d{1,12}$/.test(timestamp)) {
        const skew = nowSeconds - Number(timestamp);
        if (skew > options.toleranceSeconds) {
          throw new WebhookVerificationError('timestamp_too_old', 'The webhook-timestamp is too old.');
        }
        if (-skew > options.toleranceSeconds) {
          throw new WebhookVerificationError('timestamp_too_new', 'The webhook-timestamp is in the future.');
        }
      }
      return { webhookId: readHeader(headers, 'webhook-id') };
    }
    const { id } = verifyStandard(options.secrets, headers, body, {
      toleranceSeconds: options.toleranceSeconds,
      nowSeconds,
    });
    return { webhookId: id };
  };
}

export { DEFAULT_TOLERANCE_SECONDS };
