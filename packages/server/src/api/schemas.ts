import { EVENT_TYPE_PATTERN } from '@herald/protocol';
import { Type } from 'typebox';

/**
 * The TypeBox schema of every route's body, query and path. Bodies refuse unknown fields (a typo
 * such as `event_type` would otherwise subscribe an endpoint to everything); queries ignore them.
 */

export const MAX_PAGE = 250;
export const DEFAULT_PAGE = 50;

/**
 * Strings stored or looked up as columns of their own. PostgreSQL's text cannot hold U+0000 (a NUL
 * failed the whole group commit there), and an id with a control character is a mistake.
 */
const NO_NUL = '^[^\\u0000]*$';
const NO_CONTROL = '^[^\\u0000-\\u001f\\u007f]*$';

/** What a 400 says when a string breaks one of the patterns above (errors.ts). */
export const PATTERN_PROBLEMS: Record<string, string> = {
  [NO_NUL]: 'must not contain U+0000 (NUL).',
  [NO_CONTROL]: 'must not contain control characters.',
};

const Limit = Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE });
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: NO_CONTROL });

export const IdParams = Type.Object({ id: Id });

export const EventType = Type.String({ pattern: EVENT_TYPE_PATTERN, maxLength: 200 });
export const ConnectionId = Type.String({ minLength: 1, maxLength: 255, pattern: NO_CONTROL });

const endpointFields = {
  url: Type.String({ minLength: 1, maxLength: 2048, pattern: NO_CONTROL }),
  description: Type.String({ maxLength: 1024, pattern: NO_NUL }),
  event_types: Type.Array(EventType, { maxItems: 100 }),
  connection_ids: Type.Array(ConnectionId, { maxItems: 1000 }),
  secret: Type.String({ minLength: 1, maxLength: 200 }),
  signature_scheme: Type.Union([Type.Literal('standard-webhooks'), Type.Literal('hmac-sha256')]),
  headers: Type.Record(Type.String(), Type.String({ maxLength: 4096 })),
  rate_limit_per_s: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
};

/** Every endpoint field but the URL, optional in a create and in a patch alike. */
const optionalEndpointFields = {
  description: Type.Optional(endpointFields.description),
  event_types: Type.Optional(endpointFields.event_types),
  connection_ids: Type.Optional(endpointFields.connection_ids),
  secret: Type.Optional(endpointFields.secret),
  signature_scheme: Type.Optional(endpointFields.signature_scheme),
  headers: Type.Optional(endpointFields.headers),
  rate_limit_per_s: Type.Optional(endpointFields.rate_limit_per_s),
};

/** A tenant's id: the producer's own, 1–255 of `A-Za-z0-9._:-`. */
export const TenantId = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._:-]{1,255}$' });
const TenantFilterQuery = { tenant_id: Type.Optional(TenantId) };

export const TenantParams = Type.Object({ id: TenantId });

export const PutTenantBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 255 }), Type.Unknown(), { maxProperties: 50 })),
  },
  { additionalProperties: false },
);

/** Every field optional: an empty body (or none) is a read-write session for a day. */
export const PortalSessionBody = Type.Object(
  {
    expires_in: Type.Optional(Type.Integer({ minimum: 300, maximum: 604_800 })),
    read_only: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** The body of a POST that takes none: nothing, or `{}` (with `bodyMayBeLeftOut`). */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

/**
 * preValidation of a route whose body fields are all optional: no body at all reads as `{}`, so the
 * schema (an object, whose errors name the field) checks what was sent.
 */
export async function bodyMayBeLeftOut(request: { body: unknown }): Promise<void> {
  request.body ??= {};
}

export const CreateEndpointBody = Type.Object(
  { url: endpointFields.url, ...optionalEndpointFields, tenant_id: Type.Optional(Type.Union([TenantId, Type.Null()])) },
  { additionalProperties: false },
);

export const PatchEndpointBody = Type.Object(
  {
    url: Type.Optional(endpointFields.url),
    ...optionalEndpointFields,
    disabled: Type.Optional(Type.Boolean()),
    /** Accepted only when it is the endpoint's tenant already: a tenant is fixed once set. */
    tenant_id: Type.Optional(Type.Union([TenantId, Type.Null()])),
  },
  { additionalProperties: false },
);

export const PageQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 64, pattern: NO_CONTROL })),
  limit: Type.Optional(Limit),
});

/** A list that `?tenant_id=` narrows to one tenant. */
export const TenantPageQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 255 })),
  limit: Type.Optional(Limit),
  ...TenantFilterQuery,
});

export const PublishBody = Type.Object(
  {
    type: EventType,
    data: Type.Record(Type.String(), Type.Unknown()),
    connection_id: Type.Optional(Type.Union([ConnectionId, Type.Null()])),
    occurred_at: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    tenant_id: Type.Optional(Type.Union([TenantId, Type.Null()])),
  },
  { additionalProperties: false },
);

export const EventsQuery = Type.Object({
  type: Type.Optional(EventType),
  connection_id: Type.Optional(ConnectionId),
  endpoint_id: Type.Optional(Id),
  after: Type.Optional(Type.String({ pattern: '^\\d{1,15}$' })),
  limit: Type.Optional(Limit),
  ...TenantFilterQuery,
});

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])),
  endpoint_id: Type.Optional(Id),
  event_id: Type.Optional(Id),
  cursor: Type.Optional(Type.String({ maxLength: 64, pattern: NO_CONTROL })),
  limit: Type.Optional(Limit),
  ...TenantFilterQuery,
});

export const AlertsQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Limit),
});

export const StatsQuery = Type.Object({
  /** An ISO-8601 time: the window starts at the bucket holding it. */
  since: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  bucket_seconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400 })),
  ...TenantFilterQuery,
});

export const CreateApiKeyBody = Type.Object(
  { role: Type.Union([Type.Literal('admin'), Type.Literal('read')]) },
  { additionalProperties: false },
);

/** The body of a POST that takes none (secret rotation, a single retry): nothing, or `{}`. */
export const NoBody = Type.Union([Type.Null(), Type.Object({}, { additionalProperties: false })]);

export const BulkRetryBody = Type.Object(
  {
    endpoint_id: Type.Optional(Id),
    /** ISO-8601 times on the delivery's created_at: since inclusive, until exclusive. */
    since: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    until: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** A producer's connection id: its own string, e.g. `con_…`. */
export const ConnectionParams = Type.Object({ id: ConnectionId });

export const SyncReportBody = Type.Object(
  {
    status: Type.Union([Type.Literal('started'), Type.Literal('completed'), Type.Literal('failed')]),
    error: Type.Optional(Type.Union([Type.String({ maxLength: 4096, pattern: NO_NUL }), Type.Null()])),
    next_scheduled_at: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    tenant_id: Type.Optional(Type.Union([TenantId, Type.Null()])),
  },
  { additionalProperties: false },
);
