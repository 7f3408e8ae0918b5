import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode, HeraldError, isErrorBody } from './errors.js';

// The error table of the API contract, copied by hand: a change to errors.ts that drifts from it fails here.
const DESIGN_TABLE: [status: number, code: string, type: string][] = [
  [400, 'INVALID_REQUEST', 'invalid_request_error'],
  [401, 'AUTHENTICATION_FAILED', 'authentication_error'],
  [403, 'PERMISSION_DENIED', 'permission_error'],
  [404, 'NOT_FOUND', 'invalid_request_error'],
  [409, 'IDEMPOTENCY_KEY_REUSED', 'invalid_request_error'],
  [413, 'PAYLOAD_TOO_LARGE', 'invalid_request_error'],
  [429, 'RATE_LIMIT_EXCEEDED', 'rate_limit_error'],
  [500, 'INTERNAL_ERROR', 'api_error'],
  [503, 'SERVICE_UNAVAILABLE', 'api_error'],
];

describe('the error table', () => {
  it('has exactly the codes of the API contract', () => {
    expect(Object.keys(ERRORS).sort()).toEqual(DESIGN_TABLE.map(([, code]) => code).sort());
  });

  it.each(DESIGN_TABLE)('answers %i %s with type %s', (status, code, type) => {
    expect(ERRORS[code as ErrorCode]).toEqual({ status, type });
    const error = new HeraldError(code as ErrorCode, 'Something went wrong.');
    expect(error.status).toBe(status);
    expect(error.type).toBe(type);
    expect(error.code).toBe(code);
  });
});

describe('HeraldError', () => {
  it('becomes the one error body of the API, with the request id that is also in x-request-id', () => {
    const error = new HeraldError('RATE_LIMIT_EXCEEDED', 'Too many requests: 100 per second allowed for this key.', {
      retryAfterSeconds: 1,
    });
    expect(error.toBody('req_01JDQ3M8Z6K4X9V2B7N5R1T0WS')).toStrictEqual({
      error: {
        code: 'RATE_LIMIT_EXCEEDED',
        type: 'rate_limit_error',
        message: 'Too many requests: 100 per second allowed for this key.',
        request_id: 'req_01JDQ3M8Z6K4X9V2B7N5R1T0WS',
      },
    });
  });

  it('keeps the retry-after for the route to send, out of the body', () => {
    const error = new HeraldError('SERVICE_UNAVAILABLE', 'The store is unreachable.', { retryAfterSeconds: 5 });
    expect(error.details.retryAfterSeconds).toBe(5);
    expect(JSON.stringify(error.toBody('req_1'))).not.toContain('retry');
  });

  it('is an Error that keeps its cause for the log, and never puts it in the body', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const error = new HeraldError('INTERNAL_ERROR', 'Something went wrong on our side.', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('HeraldError');
    expect(error.cause).toBe(cause);
    expect(JSON.stringify(error.toBody('req_1'))).not.toContain('ECONNREFUSED');
    expect('cause' in new HeraldError('NOT_FOUND', 'No such endpoint.')).toBe(false);
  });
});

describe('isErrorBody', () => {
  it('recognises a body made by toBody, as a client reading a response would', () => {
    const body = JSON.parse(JSON.stringify(new HeraldError('NOT_FOUND', 'No such endpoint.').toBody('req_1')));
    expect(isErrorBody(body)).toBe(true);
  });

  it('refuses anything else, including codes that are not in the table', () => {
    for (const value of [
      null,
      undefined,
      'error',
      {},
      { error: null },
      { error: { code: 42 } },
      { error: { code: 'NOPE' } },
      { error: { code: 'toString' } },
      { error: { code: 'constructor' } },
      { error: { code: '__proto__' } },
    ]) {
      expect(isErrorBody(value), JSON.stringify(value)).toBe(false);
    }
  });
});
