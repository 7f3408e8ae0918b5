import { type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable, toHeraldError, validationMessage } from './errors.js';

function messageFor(schema: TSchema, value: unknown, context = 'body'): string {
  return validationMessage(Compile(schema).Errors(value), context);
}

describe('schema failures become one sentence naming the field', () => {
  const Endpoint = Type.Object(
    {
      url: Type.String(),
      rate_limit_per_s: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
      headers: Type.Optional(Type.Record(Type.String(), Type.String())),
      event_types: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]+$' }))),
    },
    { additionalProperties: false },
  );

  it('names missing, mistyped, unknown and nested fields', () => {
    expect(messageFor(Endpoint, {})).toBe('url: is required.');
    expect(messageFor(Endpoint, { url: 1 })).toBe('url: must be a string.');
    expect(messageFor(Endpoint, { url: 'u', evnt_types: [] })).toBe('evnt_types: is not a known field.');
    expect(messageFor(Endpoint, { url: 'u', headers: { 'x-a': 1 } })).toBe('headers.x-a: must be a string.');
    expect(messageFor(Endpoint, { url: 'u', event_types: ['ok', 'NO'] })).toMatch(/^event_types\[1\]: must match/);
    expect(messageFor(Endpoint, [])).toBe('body: must be an object.');
    expect(messageFor(Type.Object({ limit: Type.Integer({ maximum: 250 }) }), { limit: 300 }, 'querystring')).toBe(
      'limit: must be <= 250.',
    );
  });

  it('says what a union accepts, or the finer rule a value of the right type broke', () => {
    expect(messageFor(Endpoint, { url: 'u', rate_limit_per_s: 'fast' })).toBe(
      'rate_limit_per_s: must be an integer or null.',
    );
    expect(messageFor(Endpoint, { url: 'u', rate_limit_per_s: 0 })).toBe('rate_limit_per_s: must be >= 1.');
  });
});

describe('errors that are not HeraldErrors', () => {
  it('treats an unreachable store as 503 and anything unforeseen as a generic 500', () => {
    expect(isStoreUnavailable(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('io'), { code: 'SQLITE_IOERR_SHORT_READ' }))).toBe(true);
    expect(isStoreUnavailable(new TypeError('The database connection is not open'))).toBe(true);
    expect(isStoreUnavailable(new Error('wrapped', { cause: { code: 'SQLITE_CANTOPEN' } }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBe(
      false,
    );
    const unavailable = toHeraldError(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }));
    expect(unavailable.code).toBe('SERVICE_UNAVAILABLE');
    expect(unavailable.details.retryAfterSeconds).toBeGreaterThan(0);
    const bug = toHeraldError(new Error('secret internals at /srv/x.ts:1'));
    expect(bug.code).toBe('INTERNAL_ERROR');
    expect(bug.message).not.toContain('secret internals');
  });
});
