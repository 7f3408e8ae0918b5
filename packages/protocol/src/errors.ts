/** The error table of the API contract as data: every API error has one of these codes. */
export const ERRORS = {
  INVALID_REQUEST: { status: 400, type: 'invalid_request_error' },
  AUTHENTICATION_FAILED: { status: 401, type: 'authentication_error' },
  PERMISSION_DENIED: { status: 403, type: 'permission_error' },
  NOT_FOUND: { status: 404, type: 'invalid_request_error' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, type: 'invalid_request_error' },
  PAYLOAD_TOO_LARGE: { status: 413, type: 'invalid_request_error' },
  RATE_LIMIT_EXCEEDED: { status: 429, type: 'rate_limit_error' },
  INTERNAL_ERROR: { status: 500, type: 'api_error' },
  SERVICE_UNAVAILABLE: { status: 503, type: 'api_error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorType = (typeof ERRORS)[ErrorCode]['type'];

/** The body of every error response. */
export interface ErrorBody {
  error: { code: ErrorCode; type: ErrorType; message: string; request_id: string };
}

/**
 * The one error type of the API. Thrown anywhere below a route, it becomes the JSON body above
 * with the status of its code; clients throw it back when they read such a body.
 */
export class HeraldError extends Error {
  override readonly name = 'HeraldError';
  readonly status: number;
  readonly type: ErrorType;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { retryAfterSeconds?: number; requestId?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = ERRORS[code].status;
    this.type = ERRORS[code].type;
  }

  toBody(requestId: string): ErrorBody {
    return { error: { code: this.code, type: this.type, message: this.message, request_id: requestId } };
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: { code?: unknown } } | null)?.error;
  // Object.hasOwn, not `in`: `in` would take "toString" or "constructor" for a code.
  return typeof error?.code === 'string' && Object.hasOwn(ERRORS, error.code);
}
