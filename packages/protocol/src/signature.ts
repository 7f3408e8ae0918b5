import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks v1 signatures, and the plain `hmac-sha256` scheme.
 *
 * The HMAC always runs over raw bytes: a body is never decoded to a string and encoded again,
 * so a payload that is not valid UTF-8 still verifies.
 */

export const SECRET_PREFIX = 'whsec_';
/** Receivers reject a timestamp further than this from their clock, in either direction. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export type SignatureScheme = 'standard-webhooks' | 'hmac-sha256';
export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = ['standard-webhooks', 'hmac-sha256'];

export type Body = Uint8Array | string;

export type VerificationFailure =
  | 'missing_header'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature'
  | 'invalid_secret';

/** Why a webhook did not verify. The message names the problem, never the expected signature. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: VerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** A new secret: `whsec_` and the base64 of `bytes` random bytes (24 to 64). */
export function generateSecret(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 24 || bytes > 64) {
    throw new RangeError(`A secret has 24 to 64 random bytes; ${bytes} was asked for.`);
  }
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

/** The HMAC key of a secret: the bytes its base64 encodes, with or without the `whsec_` prefix. */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new WebhookVerificationError('invalid_secret', 'The secret is not `whsec_` followed by base64.');
  }
  return Buffer.from(encoded, 'base64');
}

/** Whether a string is a usable secret (prefix optional, base64 of 24 to 64 bytes). */
export function isValidSecret(secret: string): boolean {
  try {
    const key = secretKey(secret);
    return key.length >= 24 && key.length <= 64;
  } catch {
    return false;
  }
}

function toBuffer(body: Body): Buffer {
  return typeof body === 'string'
    ? Buffer.from(body, 'utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` */
export function signStandard(secret: string, id: string, timestamp: number, body: Body): string {
  const hmac = createHmac('sha256', secretKey(secret));
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(toBuffer(body));
  return `v1,${hmac.digest('base64')}`;
}

/** `sha256=<hex HMAC-SHA256(key, body)>` */
export function signPlain(secret: string, body: Body): string {
  return `sha256=${createHmac('sha256', secretKey(secret)).update(toBuffer(body)).digest('hex')}`;
}

export interface SignInput {
  scheme: SignatureScheme;
  /** Every secret that signs; during a rotation the new one and the old one. */
  secrets: readonly string[];
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  body: Body;
}

/** The signature headers of one request, for either scheme. */
export function signatureHeaders(input: SignInput): Record<string, string> {
  const headers: Record<string, string> = {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
  };
  if (input.scheme === 'hmac-sha256') {
    headers['x-herald-signature'] = input.secrets.map((s) => signPlain(s, input.body)).join(' ');
  } else {
    headers['webhook-signature'] = input.secrets
      .map((s) => signStandard(s, input.id, input.timestamp, input.body))
      .join(' ');
  }
  return headers;
}

/** Node's header object, a fetch `Headers`, or a plain record. */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value.join(' ') : (value as string | undefined);
}

export interface VerifyOptions {
  /** Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** Unix seconds now; tests move it. */
  nowSeconds?: number;
}

/** Constant-time equality of two ASCII signatures; unequal lengths are unequal. */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function required(headers: HeaderSource, name: string): string {
  const value = readHeader(headers, name);
  if (value === undefined || value === '') {
    throw new WebhookVerificationError('missing_header', `The ${name} header is missing.`);
  }
  return value;
}

/**
 * Verifies a Standard Webhooks request. Returns the `webhook-id`; throws WebhookVerificationError.
 * Any one matching `v1,` signature among the space-separated ones is enough; others are ignored.
 */
export function verifyStandard(
  secrets: string | readonly string[],
  headers: HeaderSource,
  body: Body,
  options: VerifyOptions = {},
): { id: string; timestamp: number } {
  const id = required(headers, 'webhook-id');
  const timestampText = required(headers, 'webhook-timestamp');
  const signatures = required(headers, 'webhook-signature');
  if (!/^\d{1,12}$/.test(timestampText)) {
    throw new WebhookVerificationError('invalid_timestamp', 'The webhook-timestamp header is not Unix seconds.');
  }
  const timestamp = Number(timestampText);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (now - timestamp > tolerance) {
    throw new WebhookVerificationError('timestamp_too_old', `The webhook-timestamp is more than ${tolerance} s old.`);
  }
  if (timestamp - now > tolerance) {
    throw new WebhookVerificationError(
      'timestamp_too_new',
      `The webhook-timestamp is more than ${tolerance} s in the future.`,
    );
  }
  const given = signatures.split(' ').filter((s) => s.startsWith('v1,'));
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = signStandard(secret, id, timestamp, body);
    // Every candidate is compared, so the time taken does not tell which one matched.
    let matched = false;
    for (const candidate of given) matched = sameSignature(expected, candidate) || matched;
    if (matched) return { id, timestamp };
  }
  throw new WebhookVerificationError('no_matching_signature', 'No signature in webhook-signature matches the secret.');
}

/** Verifies the plain scheme's `x-herald-signature: sha256=<hex>` (several may be space-separated). */
export function verifyPlain(secrets: string | readonly string[], headers: HeaderSource, body: Body): void {
  const given = required(headers, 'x-herald-signature')
    .split(' ')
    .filter((s) => s.startsWith('sha256='));
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = signPlain(secret, body);
    let matched = false;
    for (const candidate of given) matched = sameSignature(expected, candidate) || matched;
    if (matched) return;
  }
  throw new WebhookVerificationError('no_matching_signature', 'No signature in x-herald-signature matches the secret.');
}
