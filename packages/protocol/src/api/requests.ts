import { Type } from 'typebox';
import { EVENT_TYPE_PATTERN } from '../envelope.js';

/**
 * The TypeBox schema of every route's body, query and path: what the server validates requests
 * with, and what @herald/client's request types are (`Static<>` of these, in types.ts). Bodies
 * refuse unknown fields (a typo such as `event_type` would otherwise subscribe an endpoint to
 * everything); queries ignore them.
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

const Limit = Type.Integer({
  minimum: 1,
  maximum: MAX_PAGE,
  default: DEFAULT_PAGE,
  description: `Items per page, at most ${MAX_PAGE}.`,
});
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: NO_CONTROL });

export const IdParams = Type.Object({ id: Type.String({ ...Id, description: 'The id, as Herald gave it.' }) });

const EventType = Type.String({ pattern: EVENT_TYPE_PATTERN, maxLength: 200 });
export const ConnectionId = Type.String({ minLength: 1, maxLength: 255, pattern: NO_CONTROL });

const endpointFields = {
  url: Type.String({
    minLength: 1,
    maxLength: 2048,
    pattern: NO_CONTROL,
    description: 'Where deliveries are POSTed: an https (or http) URL.',
    examples: ['https://hooks.example.com/herald'],
  }),
  description: Type.String({ maxLength: 1024, pattern: NO_NUL, description: 'Free text for people.' }),
  event_types: Type.Array(EventType, {
    maxItems: 100,
    description: 'The event types to receive; empty or absent: every type.',
    examples: [['order.created', 'order.paid']],
  }),
  connection_ids: Type.Array(ConnectionId, {
    maxItems: 1000,
    description: 'The connections to receive events of; empty or absent: every connection.',
  }),
  secret: Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'A signing secret of your own (`whsec_` and 24 to 64 bytes of base64); absent: Herald generates one.',
  }),
  signature_scheme: Type.Union([Type.Literal('standard-webhooks'), Type.Literal('hmac-sha256')], {
    description: 'How deliveries are signed: Standard Webhooks (default) or a bare HMAC-SHA256 header.',
  }),
  headers: Type.Record(Type.String(), Type.String({ maxLength: 4096 }), {
    description: 'Extra headers to send with every delivery (names are lower-cased).',
    examples: [{ 'x-tenant': 'acme' }],
  }),
  rate_limit_per_s: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
    description: 'At most this many deliveries a second to this endpoint; null: no limit.',
  }),
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
const TenantFilterQuery = {
  tenant_id: Type.Optional(
    Type.String({ ...TenantId, description: "Only this tenant's (a portal session's own tenant is applied anyway)." }),
  ),
};

export const TenantParams = Type.Object({ id: TenantId });

export const PutTenantBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, description: 'Shown in the portal.' }),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 255 }), Type.Unknown(), {
        maxProperties: 50,
        description: 'Free JSON for you; `brand_name` and `accent` override the portal flags for this tenant.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Every field optional: an empty body (or none) is a read-write session for a day. */
export const PortalSessionBody = Type.Object(
  {
    expires_in: Type.Optional(
      Type.Integer({ minimum: 300, maximum: 604_800, description: 'Seconds until the session ends; default a day.' }),
    ),
    read_only: Type.Optional(Type.Boolean({ description: '`true`: the session may only make GET requests.' })),
  },
  { additionalProperties: false },
);

/** The body of a POST that takes none: nothing, or `{}` (with `bodyMayBeLeftOut`). */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

export const CreateEndpointBody = Type.Object(
  { url: endpointFields.url, ...optionalEndpointFields, tenant_id: Type.Optional(Type.Union([TenantId, Type.Null()])) },
  { additionalProperties: false },
);

export const PatchEndpointBody = Type.Object(
  {
    url: Type.Optional(endpointFields.url),
    ...optionalEndpointFields,
    disabled: Type.Optional(
      Type.Boolean({ description: '`true` stops deliveries to the endpoint; `false` enables it again.' }),
    ),
    /** Accepted only when it is the endpoint's tenant already: a tenant is fixed once set. */
    tenant_id: Type.Optional(
      Type.Union([TenantId, Type.Null()], {
        description: "The endpoint's tenant: accepted only when it is its tenant already (a tenant is fixed once set).",
      }),
    ),
  },
  { additionalProperties: false },
);

export const PageQuery = Type.Object({
  cursor: Type.Optional(
    Type.String({ maxLength: 64, pattern: NO_CONTROL, description: 'The `next_cursor` of the previous page.' }),
  ),
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
    type: Type.String({
      ...EventType,
      description: 'The event type: dot-separated words, e.g. `order.created`.',
      examples: ['order.created'],
    }),
    data: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The payload, a JSON object; a built-in type’s must match its schema (GET /v1/event-types).',
      examples: [{ order_id: 'ord_42', total_cents: 1999 }],
    }),
    connection_id: Type.Optional(
      Type.Union([ConnectionId, Type.Null()], {
        description: 'The connection it belongs to: only endpoints that follow it (or every connection) get it.',
      }),
    ),
    occurred_at: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'When it happened, ISO-8601 with a zone; absent: now.',
        examples: ['2026-11-27T05:51:30.123Z'],
      }),
    ),
    tenant_id: Type.Optional(
      Type.Union([TenantId, Type.Null()], {
        description: "The tenant it belongs to: only that tenant's endpoints get it.",
      }),
    ),
  },
  { additionalProperties: false, examples: [{ type: 'order.created', data: { order_id: 'ord_42' } }] },
);

export const EventsQuery = Type.Object({
  type: Type.Optional(Type.String({ ...EventType, description: 'Only events of this type (not with endpoint_id).' })),
  connection_id: Type.Optional(
    Type.String({ ...ConnectionId, description: 'Only events of this connection (not with endpoint_id).' }),
  ),
  endpoint_id: Type.Optional(
    Type.String({ ...Id, description: 'Read this endpoint’s stream instead: by sequence, with no gaps.' }),
  ),
  after: Type.Optional(
    Type.String({
      pattern: '^\\d{1,15}$',
      description:
        'The `next_cursor` of the previous page (for a stream: the last sequence read); absent: from the start.',
    }),
  ),
  limit: Type.Optional(Limit),
  ...TenantFilterQuery,
});

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(
    Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')], {
      description: 'Only deliveries with this status.',
    }),
  ),
  endpoint_id: Type.Optional(Type.String({ ...Id, description: 'Only deliveries to this endpoint.' })),
  event_id: Type.Optional(Type.String({ ...Id, description: 'Only deliveries of this event.' })),
  cursor: Type.Optional(
    Type.String({ maxLength: 64, pattern: NO_CONTROL, description: 'The `next_cursor` of the previous page.' }),
  ),
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
  since: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'ISO-8601; default: an hour ago; at most 7 days ago.' }),
  ),
  bucket_seconds: Type.Optional(
    Type.Integer({ minimum: 10, maximum: 86_400, description: 'The width of a bucket; default 60.' }),
  ),
  ...TenantFilterQuery,
});

export const CreateApiKeyBody = Type.Object(
  {
    role: Type.Union([Type.Literal('admin'), Type.Literal('read')], {
      description: '`admin` may do anything; `read` may only make GET requests.',
    }),
  },
  { additionalProperties: false },
);

/** The body of a POST that takes none (secret rotation, a single retry): nothing, or `{}`. */
export const NoBody = Type.Union([Type.Null(), Type.Object({}, { additionalProperties: false })]);

export const BulkRetryBody = Type.Object(
  {
    endpoint_id: Type.Optional(Type.String({ ...Id, description: 'Only failed deliveries to this endpoint.' })),
    /** ISO-8601 times on the delivery's created_at: since inclusive, until exclusive. */
    since: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Only deliveries created at or after this ISO-8601 time.',
      }),
    ),
    until: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Only deliveries created before this ISO-8601 time.' }),
    ),
  },
  { additionalProperties: false },
);

/** A producer's connection id: its own string, e.g. `con_…`. */
export const ConnectionParams = Type.Object({
  id: Type.String({ ...ConnectionId, description: 'The producer’s own connection id, e.g. `con_…`.' }),
});

export const SyncReportBody = Type.Object(
  {
    status: Type.Union([Type.Literal('started'), Type.Literal('completed'), Type.Literal('failed')], {
      description: 'Where the sync stands.',
    }),
    error: Type.Optional(
      Type.Union([Type.String({ maxLength: 4096, pattern: NO_NUL }), Type.Null()], {
        description: 'Why it failed (with `failed`).',
      }),
    ),
    next_scheduled_at: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], {
        description: 'When the next sync is planned, ISO-8601; null: none; absent: unchanged.',
      }),
    ),
    tenant_id: Type.Optional(
      Type.Union([TenantId, Type.Null()], { description: 'The tenant the connection belongs to.' }),
    ),
  },
  { additionalProperties: false },
);
