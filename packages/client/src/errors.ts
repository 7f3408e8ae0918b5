import type { ErrorCode, ErrorType } from '@herald/protocol';

/** Codes of failures that never reached an answer: no status, nothing the server said. */
export type TransportErrorCode = 'NETWORK_ERROR' | 'TIMEOUT';

/** Status → code for an error answer that is not Herald's JSON (a proxy's 502 page, say). */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_REQUEST',
  401: 'AUTHENTICATION_FAILED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'IDEMPOTENCY_KEY_REUSED',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMIT_EXCEEDED',
  503: 'SERVICE_UNAVAILABLE',
};

const TYPE_OF_CODE: Record<ErrorCode, ErrorType> = {
  INVALID_REQUEST: 'invalid_request_error',
  AUTHENTICATION_FAILED: 'authentication_error',
  PERMISSION_DENIED: 'permission_error',
  NOT_FOUND: 'invalid_request_error',
  IDEMPOTENCY_KEY_REUSED: 'invalid_request_error',
  PAYLOAD_TOO_LARGE: 'invalid_request_error',
  RATE_LIMIT_EXCEEDED: 'rate_limit_error',
  INTERNAL_ERROR: 'api_error',
  SERVICE_UNAVAILABLE: 'api_error',
};

/**
 * Every failure of a call: an error answer of the API (its `{error: {code, type, message,
 * request_id}}` body), or, with `status` 0, a request that got no answer (`NETWORK_ERROR`,
 * `TIMEOUT`) after the retries it was allowed. A call aborted by the caller's signal rejects with
 * the signal's reason instead, as fetch does.
 */
export class HeraldError extends Error {
  override readonly name = 'HeraldError';
  constructor(
    /** The HTTP status; 0 when no answer came. */
    readonly status: number,
    readonly code: ErrorCode | TransportErrorCode,
    readonly type: ErrorType | 'connection_error',
    message: string,
    /** The request_id of the answer (also its x-request-id header); null when no answer came. */
    readonly requestId: string | null,
    /** Seconds the server asked to wait (retry-after), when it said. */
    readonly retryAfterSeconds: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** `CODE: message (request_id)`, the one-line form the `herald` command prints. */
  override toString(): string {
    return `${this.code}: ${this.message}${this.requestId ? ` (${this.requestId})` : ''}`;
  }
}

interface ErrorBodyLike {
  error?: { code?: unknown; type?: unknown; message?: unknown; request_id?: unknown };
}

/** The HeraldError of an error answer, whatever its body. */
export function errorFromResponse(status: number, headers: Headers, text: string): HeraldError {
  let body: ErrorBodyLike | undefined;
  try {
    body = JSON.parse(text) as ErrorBodyLike;
  } catch {
    body = undefined;
  }
  const e = body?.error;
  const known = typeof e?.code === 'string' && Object.hasOwn(TYPE_OF_CODE, e.code);
  const code: ErrorCode = known
    ? (e?.code as ErrorCode)
    : (CODE_OF_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST'));
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  const requestId = typeof e?.request_id === 'string' ? e.request_id : headers.get('x-request-id');
  return new HeraldError(status, code, TYPE_OF_CODE[code], message, requestId, retryAfterOf(headers));
}

/** retry-after as seconds (its delta-seconds or HTTP-date form), or null. */
export function retryAfterOf(headers: Headers, now = Date.now()): number | null {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
