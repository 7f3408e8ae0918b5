import { ERRORS } from '@herald/protocol';
import { ErrorSchema, NAMED_SCHEMAS, NoBody } from '@herald/protocol/api';
import type { RouteOptions } from 'fastify';
import type { TSchema } from 'typebox';
import { ERROR_DESCRIPTIONS, ERROR_EXAMPLE_MESSAGES } from './error-statuses.js';

/**
 * The OpenAPI 3.1 document, generated from the routes as Fastify registers them (server.ts
 * collects them with an onRoute hook): the same TypeBox schemas the routes validate requests with
 * and the response schemas the presenters are typed by. There is no second copy to drift.
 *
 * What a route gives the document, in its `schema`: `summary`, `description`, `tags`,
 * `operationId`, `params`, `querystring`, `body`, `response` (status → schema; server.ts adds the
 * error statuses every route of its kind can answer), and `idempotent: true` for a route that
 * honours `Idempotency-Key`. `hide: true` keeps a route out (the dashboard's and /docs' files).
 */

declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    operationId?: string;
    /** Kept out of the document (the dashboard's and /docs' files). */
    hide?: boolean;
    /** Honours `Idempotency-Key` (documented as a header; a 409 when reused with another body). */
    idempotent?: boolean;
  }
}

export interface DocumentedSchema {
  summary?: string;
  description?: string;
  tags?: readonly string[];
  operationId?: string;
  hide?: boolean;
  idempotent?: boolean;
  params?: unknown;
  querystring?: unknown;
  body?: unknown;
  response?: Record<string, unknown>;
}

export interface CollectedRoute {
  method: string;
  url: string;
  public: boolean;
  schema: DocumentedSchema;
}

/** The route as the document lists it, or undefined when it is not listed (HEAD twins, hidden files). */
export function collectRoute(route: RouteOptions): CollectedRoute[] {
  const schema = (route.schema ?? {}) as DocumentedSchema;
  if (schema.hide) return [];
  const methods = ([] as string[]).concat(route.method).filter((m) => m !== 'HEAD');
  const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
  return methods.map((method) => ({ method, url: route.url, public: isPublic, schema }));
}

const TAGS = [
  { name: 'Endpoints', description: 'The URLs that receive your webhooks, their filters and signing secrets.' },
  { name: 'Events', description: 'Publish events, read the feed, and follow one endpoint’s gap-free stream.' },
  { name: 'Deliveries', description: 'Each event on its way to each endpoint: status, attempts, retries.' },
  { name: 'Connections', description: 'Sync reports from producers, announced as events.' },
  { name: 'Tenants', description: 'Your customers, their portal sessions, and who is asking.' },
  { name: 'API keys', description: 'Keys for this account: `admin` or `read`.' },
  { name: 'Operations', description: 'Health, readiness, metrics and this document.' },
];

/** `/v1/endpoints/:id` → `/v1/endpoints/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** A schema as plain JSON, a named one (NAMED_SCHEMAS of @herald/protocol/api) as a `$ref` to its component. */
function toJson(schema: unknown, names: Map<unknown, string>, top = true): unknown {
  if (!top && names.has(schema)) return { $ref: `#/components/schemas/${names.get(schema)}` };
  if (Array.isArray(schema)) return schema.map((item) => toJson(item, names, false));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  // Own enumerable string keys only: TypeBox keeps its bookkeeping out of them.
  for (const [key, value] of Object.entries(schema)) out[key] = toJson(value, names, false);
  return out;
}

type Json = Record<string, unknown>;

function parameters(schema: unknown, where: 'path' | 'query', names: Map<unknown, string>): Json[] {
  const object = schema as { properties?: Record<string, Json>; required?: string[] } | undefined;
  if (!object?.properties) return [];
  return Object.entries(object.properties).map(([name, property]) => {
    const { description, ...rest } = toJson(property, names, false) as Json;
    return {
      name,
      in: where,
      required: where === 'path' || (object.required ?? []).includes(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

const REQUEST_ID_HEADER = {
  description: 'The request id, as in an error body: quote it when asking for help.',
  schema: { type: 'string' },
};
const RETRY_AFTER_HEADER = { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } };

function responses(schema: DocumentedSchema, names: Map<unknown, string>): Json {
  const out: Json = {};
  const entries = Object.entries(schema.response ?? {}).sort(([a], [b]) => Number(a) - Number(b));
  for (const [status, answer] of entries) {
    const name = names.get(answer);
    // Error answers are the same on every route: one shared response per status.
    if (name === 'Error' && ERROR_RESPONSE_NAMES[status]) {
      out[status] = { $ref: `#/components/responses/${ERROR_RESPONSE_NAMES[status]}` };
      continue;
    }
    out[status] = responseObject(answer as TSchema, status, names);
  }
  return out;
}

/** Each error status's shared response, by a name that says what it is. */
const ERROR_RESPONSE_NAMES: Record<string, string> = {
  400: 'InvalidRequest',
  401: 'AuthenticationFailed',
  403: 'PermissionDenied',
  404: 'NotFound',
  409: 'IdempotencyKeyReused',
  413: 'PayloadTooLarge',
  429: 'RateLimitExceeded',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function responseObject(schema: TSchema, status: string, names: Map<unknown, string>): Json {
  const typed = schema as TSchema & { description?: string; type?: string };
  const name = names.get(schema);
  const description = typed.description ?? 'OK';
  const headers: Json = { 'x-request-id': REQUEST_ID_HEADER };
  if (status === '429' || status === '503') headers['retry-after'] = RETRY_AFTER_HEADER;
  // A string response is text (GET /metrics); everything else is JSON.
  const mediaType = typed.type === 'string' ? 'text/plain' : 'application/json';
  const body = name === undefined ? toJson(schema, names) : { $ref: `#/components/schemas/${name}` };
  if (name !== 'Error') return { description, headers, content: { [mediaType]: { schema: body } } };
  const [code, { type }] = Object.entries(ERRORS).find(([, e]) => String(e.status) === status) ?? ['', { type: '' }];
  const example = {
    error: {
      code,
      type,
      message: ERROR_EXAMPLE_MESSAGES[Number(status)],
      request_id: 'req_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC',
    },
  };
  return {
    description: ERROR_DESCRIPTIONS[Number(status)] ?? description,
    headers,
    content: { [mediaType]: { schema: body, example } },
  };
}

export interface OpenApiInfo {
  version: string;
}

/** The whole document: deterministic (routes and statuses sorted), so the checked-in copy can be compared. */
export function openApiDocument(routes: readonly CollectedRoute[], info: OpenApiInfo) {
  const names = new Map<unknown, string>(Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [schema, name]));
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].sort((a, b) =>
    a.url === b.url ? a.method.localeCompare(b.method) : a.url < b.url ? -1 : 1,
  );
  for (const route of sorted) {
    const s = route.schema;
    const params = [...parameters(s.params, 'path', names), ...parameters(s.querystring, 'query', names)];
    if (s.idempotent) {
      params.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Makes the request safe to retry: the same key with the same body within 24 hours gets the first answer again (with `idempotent-replayed: true`) and publishes nothing; with another body, a 409.',
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
        example: '5f0c6a2e-8a31-4d7c-9c55-2f1e0b7d9a10',
      });
    }
    const operation: Json = {
      operationId: s.operationId,
      summary: s.summary,
      description: s.description,
      tags: s.tags,
      ...(params.length > 0 ? { parameters: params } : {}),
    };
    if (s.body !== undefined && s.body !== NoBody) {
      const body = s.body as { required?: string[] };
      operation.requestBody = {
        required: (body.required ?? []).length > 0,
        content: { 'application/json': { schema: toJson(s.body, names) } },
      };
    }
    operation.responses = responses(s, names);
    // Public routes need no key; every other one takes the document-wide bearer scheme.
    if (route.public) operation.security = [];
    for (const key of Object.keys(operation)) if (operation[key] === undefined) delete operation[key];
    const path = openApiPath(route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation;
  }
  const schemas = Object.fromEntries(
    Object.entries(NAMED_SCHEMAS)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, schema]) => [name, toJson(schema, names)]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald API',
      version: info.version,
      description:
        'Publish events and Herald delivers them as signed webhooks to your endpoints: retried, logged attempt by attempt, never lost. ' +
        'Every request but the public ones (health, metrics, this document) carries an API key: `Authorization: Bearer <key>`. ' +
        'Errors share one body, `{"error": {"code", "type", "message", "request_id"}}`; lists are pages with `next_cursor`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This Herald.' }],
    security: [{ bearer: [] }],
    tags: TAGS,
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSE_NAMES).map(([status, name]) => [
          name,
          responseObject(ErrorSchema, status, names),
        ]),
      ),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (`hk_…`) made with POST /v1/api-keys, or the bootstrap key the server was started with. `admin` keys may do anything; `read` keys only GET.',
        },
      },
    },
  };
}
