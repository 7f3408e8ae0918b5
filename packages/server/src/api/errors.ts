import { HeraldError } from '@herald/protocol';
import { PATTERN_PROBLEMS } from '@herald/protocol/api';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The one mapping from anything thrown below a route, or by Fastify itself, to the error table of
 * The API contract: `{error: {code, type, message, request_id}}` with `x-request-id` equal to request_id.
 * Nothing else writes an error body, and no stack trace leaves the process.
 */

/** How long a client should wait before trying again when the store cannot be reached. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** An ajv-style validation error, as Fastify and TypeBox both report them. */
interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** Keywords that only say "not this branch of a union". */
const COARSE = new Set(['type', 'const', 'anyOf', 'boolean']);

/** `/headers/x-a` → `headers.x-a`, `/event_types/0` → `event_types[0]`. */
function fieldPath(instancePath: string, prefix: string): string {
  const parts = instancePath.split('/').slice(1);
  let path = '';
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  }
  return path === '' ? prefix : path;
}

function join(parent: string, child: string, root: string): string {
  return parent === root ? child : `${parent}.${child}`;
}

/** One readable sentence for a failed schema, naming the field: `url: must be a string`. */
export function validationMessage(issues: readonly ValidationIssue[], context: string | undefined): string {
  const root = context === 'querystring' ? 'query' : context === 'params' ? 'path' : 'body';
  // A union (e.g. integer or null) reports each branch, then `anyOf`: say what would have been accepted.
  const anyOf = issues.find((i) => i.keyword === 'anyOf');
  // A branch of the right type that failed a finer rule (`0` for `integer >= 1 or null`) says more.
  const finer = anyOf && issues.find((i) => i.instancePath === anyOf.instancePath && !COARSE.has(i.keyword));
  if (anyOf && !finer) {
    const types = issues
      .filter((i) => i.instancePath === anyOf.instancePath && i.keyword === 'type')
      .map((i) => ARTICLE[String(i.params.type)] ?? String(i.params.type));
    const field = fieldPath(anyOf.instancePath, root);
    if (types.length > 0) return `${field}: must be ${types.join(' or ')}.`;
    const branch = issues.find((i) => i.instancePath === anyOf.instancePath && i.keyword === 'const');
    if (branch) {
      const allowed = issues
        .filter((i) => i.instancePath === anyOf.instancePath && i.keyword === 'const')
        .map((i) => JSON.stringify(i.params.allowedValue ?? i.params.const));
      return `${field}: must be one of ${allowed.join(', ')}.`;
    }
  }
  const issue = finer || (issues.find((i) => i.keyword !== 'boolean' && i.keyword !== 'anyOf') ?? issues[0]);
  if (!issue) return 'The request is not valid.';
  const field = fieldPath(issue.instancePath, root);
  const p = issue.params;
  switch (issue.keyword) {
    case 'required': {
      const missing = p.missingProperty ?? (p.requiredProperties as string[] | undefined)?.[0];
      return `${join(field, String(missing), root)}: is required.`;
    }
    case 'additionalProperties': {
      const extra = p.additionalProperty ?? (p.additionalProperties as string[] | undefined)?.[0];
      return `${join(field, String(extra), root)}: is not a known field.`;
    }
    case 'type':
      return `${field}: must be ${ARTICLE[String(p.type)] ?? String(p.type)}.`;
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return `${field}: must be ${p.comparison ?? ''} ${p.limit}.`.replace('  ', ' ');
    case 'minLength':
      return p.limit === 1 ? `${field}: must not be empty.` : `${field}: must have at least ${p.limit} characters.`;
    case 'maxLength':
      return `${field}: must have at most ${p.limit} characters.`;
    case 'maxItems':
      return `${field}: must have at most ${p.limit} items.`;
    case 'pattern':
      return `${field}: ${PATTERN_PROBLEMS[String(p.pattern)] ?? `must match ${p.pattern}.`}`;
    case 'const':
      return `${field}: must be ${JSON.stringify(p.allowedValue ?? p.const)}.`;
    case 'enum':
      return `${field}: must be one of ${(p.allowedValues as unknown[] | undefined)?.map((v) => JSON.stringify(v)).join(', ')}.`;
    default:
      return `${field}: ${issue.message ?? 'is not valid'}.`;
  }
}

/** SQLite (and later Postgres) errors that mean "the store cannot be reached", not "this request is wrong". */
export function isStoreUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|NOTADB)/.test(code)) return true;
      // Postgres: connection failures, and class 08 (connection exception) / 57P0x (shutdown).
      if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|08\w{3}|57P0\d)$/.test(code)) return true;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /database connection is not open|Connection terminated/i.test(message)) {
      return true;
    }
  }
  return false;
}

export function storeUnavailable(cause: unknown): HeraldError {
  return new HeraldError('SERVICE_UNAVAILABLE', 'The store cannot be reached right now; try again shortly.', {
    retryAfterSeconds: STORE_RETRY_AFTER_SECONDS,
    cause,
  });
}

/** Anything thrown → the HeraldError that answers it. */
export function toHeraldError(error: unknown): HeraldError {
  if (error instanceof HeraldError) return error;
  const e = error as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(e.validation)) {
    return new HeraldError(
      'INVALID_REQUEST',
      validationMessage(e.validation as unknown as ValidationIssue[], e.validationContext),
    );
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HeraldError('INVALID_REQUEST', 'body: is not valid JSON (or uses a forbidden key such as __proto__).');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HeraldError('INVALID_REQUEST', 'body: is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new HeraldError('INVALID_REQUEST', 'content-type: must be application/json.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HeraldError('PAYLOAD_TOO_LARGE', 'body: is larger than this server accepts.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HeraldError('INVALID_REQUEST', 'content-length: does not match the body.');
    case 'FST_ERR_BAD_URL':
      return new HeraldError('INVALID_REQUEST', 'url: is not a valid request path.');
  }
  if (isStoreUnavailable(error)) return storeUnavailable(error);
  // Other client errors raised by Fastify or its parser (e.g. proto poisoning in JSON).
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 404) return new HeraldError('NOT_FOUND', 'Not found.');
    if (e.statusCode === 413) return new HeraldError('PAYLOAD_TOO_LARGE', 'body: is larger than this server accepts.');
    return new HeraldError('INVALID_REQUEST', `The request is not valid: ${e.message ?? 'unknown reason'}`);
  }
  return new HeraldError('INTERNAL_ERROR', 'Something went wrong on our side; the error has been logged.', {
    cause: error,
  });
}

/** Writes the error body; the only place an error response is made. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: HeraldError): FastifyReply {
  reply.header('x-request-id', request.id);
  if (error.details.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(error.details.retryAfterSeconds));
  if (error.status === 503) reply.header('cache-control', 'no-store');
  errorCodes.set(request, error.code);
  return reply.code(error.status).type('application/json; charset=utf-8').send(error.toBody(request.id));
}

const errorCodes = new WeakMap<FastifyRequest, string>();

/** The error code a request was answered with, for its log line. */
export function errorCodeOf(request: FastifyRequest): string | undefined {
  return errorCodes.get(request);
}

/** Fastify's error handler. 5xx are logged with the real error; the body stays generic. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const herald = toHeraldError(error);
  if (herald.status >= 500) {
    request.log.error({ err: herald.details.cause ?? error, code: herald.code }, 'request failed');
  }
  return sendError(request, reply, herald);
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(
    request,
    reply,
    new HeraldError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}.`),
  );
}

export function notFound(what: string, id: string): HeraldError {
  return new HeraldError('NOT_FOUND', `No ${what} with id ${id}.`);
}

export function invalid(field: string, problem: string): HeraldError {
  return new HeraldError('INVALID_REQUEST', `${field}: ${problem}`);
}
