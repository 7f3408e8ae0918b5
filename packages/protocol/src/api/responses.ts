import { type Static, type TSchema, Type } from 'typebox';
import { ERRORS, type ErrorCode } from '../errors.js';

/**
 * The TypeBox schema of every response the API sends, one per shape, named `…Schema`. The
 * presenters (present.ts) return `Static<>` of these, so a presenter and its schema cannot
 * disagree at compile time; the routes attach them (`schema.response`), the OpenAPI document
 * (openapi.ts) is generated from them, and the tests validate every real response against that
 * document. A client takes its types from here (`Static<typeof EndpointSchema>`, …).
 *
 * Objects do not say `additionalProperties: false`: a client must accept a field added later. The
 * tests' validator is stricter (test/openapi-validator.ts): there, a field the server sends but the
 * schema lacks fails.
 */

/** ISO-8601 UTC with milliseconds, as `Date.prototype.toISOString` writes it. */
const Time = (description: string) =>
  Type.String({ format: 'date-time', description, examples: ['2026-11-27T05:51:30.123Z'] });
const NullableTime = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

const StringMap = (description: string) => Type.Record(Type.String(), Type.String(), { description });

/** A page of a list: `next_cursor` is null on the last page. */
function page<T extends TSchema>(item: T, description: string) {
  return Type.Object(
    {
      data: Type.Array(item),
      next_cursor: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass as `cursor` to read the next page; null on the last page.',
      }),
    },
    { description },
  );
}

// ---------------------------------------------------------------- errors

export const ErrorCodeSchema = Type.Union(
  (Object.keys(ERRORS) as ErrorCode[]).map((code) => Type.Literal(code)),
  { description: 'What went wrong, for programs: stable across releases.' },
);

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: ErrorCodeSchema,
      type: Type.Union(
        [...new Set(Object.values(ERRORS).map((e) => e.type))].map((t) => Type.Literal(t)),
        { description: 'The class of error: the same for every code of one kind.' },
      ),
      message: Type.String({
        description: 'What went wrong, for people; names the field at fault (`url: must not be empty.`).',
        examples: ['url: must not be empty.'],
      }),
      request_id: Type.String({
        description: 'Equal to the `x-request-id` header; quote it when asking for help.',
        examples: ['req_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC'],
      }),
    }),
  },
  { description: 'The body of every error response.' },
);

// ---------------------------------------------------------------- endpoints

const endpointFields = {
  id: Type.String({ description: 'The endpoint id.', examples: ['ep_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC'] }),
  tenant_id: Type.Union([Type.String(), Type.Null()], {
    description: "The tenant it belongs to (PUT /v1/tenants/{id}); null: the producer's own.",
  }),
  url: Type.String({
    description:
      'Where deliveries are POSTed. Credentials in it (`https://user:pass@…`) are shown to `admin` keys only.',
    examples: ['https://hooks.example.com/herald'],
  }),
  description: Type.String({ description: 'Free text for people.' }),
  event_types: Type.Array(Type.String(), {
    description: 'The event types this endpoint receives; empty: every type.',
    examples: [['order.created', 'order.paid']],
  }),
  connection_ids: Type.Array(Type.String(), {
    description: 'The connections this endpoint receives events of; empty: every connection.',
  }),
  signature_scheme: Type.Union([Type.Literal('standard-webhooks'), Type.Literal('hmac-sha256')], {
    description: 'How deliveries are signed.',
  }),
  headers: StringMap(
    'Extra headers sent with every delivery. Their values are shown to `admin` keys only (`[redacted]` otherwise).',
  ),
  rate_limit_per_s: Type.Union([Type.Integer(), Type.Null()], {
    description: 'At most this many deliveries a second to this endpoint; null: no limit.',
  }),
  disabled: Type.Boolean({ description: 'A disabled endpoint gets no deliveries; they wait until it is enabled.' }),
  disabled_reason: Type.Union([Type.String(), Type.Null()], {
    description:
      'Why Herald disabled the endpoint (after failing for too long); null when enabled or disabled by hand.',
  }),
  circuit: Type.Object(
    {
      state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')], {
        description:
          '`closed`: deliveries flow. `open`: after consecutive failures, deliveries wait while one probe at a time follows the backoff schedule. `half_open`: a probe is out now.',
      }),
      opened_at: NullableTime('When the circuit opened; null while closed.'),
      next_probe_at: NullableTime('When the next probe attempt is due; null while closed.'),
    },
    { description: "The endpoint's circuit: whether its deliveries flow or wait for a probe to succeed." },
  ),
  created_at: Time('When the endpoint was created.'),
  updated_at: Time('When the endpoint last changed.'),
};

export const EndpointSchema = Type.Object(endpointFields, {
  description: 'An endpoint: a URL that receives signed webhooks. Never carries its signing secret.',
});

const secretField = Type.String({
  description: 'The signing secret (`whsec_…`): verify deliveries with it. Shown only on create and rotate.',
  examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
});

export const EndpointWithSecretSchema = Type.Object(
  { ...endpointFields, secret: secretField },
  { description: 'An endpoint with its signing secret: the answer to a create.' },
);

const previousSecretExpiresAt = NullableTime(
  'Until when the previous secret still signs beside this one (after a rotation); null: only this secret signs.',
);

export const RotatedEndpointSchema = Type.Object(
  { ...endpointFields, secret: secretField, previous_secret_expires_at: previousSecretExpiresAt },
  { description: 'The endpoint with its new secret; the previous secret keeps signing for 24 hours.' },
);

export const EndpointSecretSchema = Type.Object(
  { secret: secretField, previous_secret_expires_at: previousSecretExpiresAt },
  { description: "The endpoint's current signing secret." },
);

export const EndpointPageSchema = page(EndpointSchema, 'A page of endpoints, oldest first.');

export const DeletedSchema = Type.Object(
  {
    id: Type.String({ description: 'The id of what was deleted.' }),
    deleted: Type.Literal(true),
  },
  { description: 'It is gone.' },
);

// ---------------------------------------------------------------- events

const eventFields = {
  id: Type.String({ description: 'The event id.', examples: ['evt_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC'] }),
  tenant_id: Type.Union([Type.String(), Type.Null()], {
    description: "The tenant it belongs to (PUT /v1/tenants/{id}); null: the producer's own.",
  }),
  type: Type.String({ description: 'The event type.', examples: ['order.created'] }),
  occurred_at: Time('When it happened, as the producer said (default: when it was published).'),
  connection_id: Type.Union([Type.String(), Type.Null()], {
    description: 'The connection it belongs to; null: none.',
  }),
  data: Type.Unknown({ description: 'The payload, as published.', examples: [{ order_id: 'ord_42' }] }),
};

export const EventSchema = Type.Object(
  { ...eventFields, created_at: Time('When Herald stored it.') },
  { description: 'An event, as published.' },
);

export const PublishedSchema = Type.Object(
  {
    id: eventFields.id,
    deliveries: Type.Array(Type.String(), {
      description: 'The ids of the deliveries it made: one per endpoint that subscribes to it.',
    }),
  },
  { description: 'The event is stored (on disk) and its deliveries are queued.' },
);

export const DeliveryStatusSchema = Type.Union(
  [Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')],
  {
    description: '`pending` until an attempt succeeds (`succeeded`) or the retries run out (`failed`).',
  },
);

export const StreamItemSchema = Type.Object(
  {
    ...eventFields,
    endpoint_id: Type.String({ description: 'The endpoint of this stream.' }),
    sequence: Type.Integer({
      description: "The event's place in the endpoint's stream: 1, 2, 3, … with no gaps.",
      examples: [42],
    }),
    delivery_id: Type.String({ description: 'The delivery of this event to this endpoint.' }),
    status: DeliveryStatusSchema,
  },
  {
    description:
      "One item of an endpoint's stream: the envelope it was (or will be) sent, and where its delivery stands.",
  },
);

const feedCursor = Type.String({
  description: 'Pass as `after` to read on; present on every page, an empty one included, so a poller keeps its place.',
  examples: ['1234'],
});

export const FeedPageSchema = Type.Object(
  { data: Type.Array(EventSchema), next_cursor: feedCursor },
  { description: 'A page of the events feed, oldest first.' },
);

export const StreamPageSchema = Type.Object(
  { data: Type.Array(StreamItemSchema), next_cursor: feedCursor },
  { description: "A page of one endpoint's stream (with `endpoint_id`), by sequence." },
);

// ---------------------------------------------------------------- deliveries

const deliveryFields = {
  id: Type.String({ description: 'The delivery id.', examples: ['dlv_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC'] }),
  tenant_id: Type.Union([Type.String(), Type.Null()], {
    description: "The tenant it belongs to (PUT /v1/tenants/{id}); null: the producer's own.",
  }),
  event_id: Type.String({ description: 'The event delivered.' }),
  endpoint_id: Type.String({ description: 'The endpoint it goes to.' }),
  status: DeliveryStatusSchema,
  sequence: Type.Integer({ description: "Its place in the endpoint's stream." }),
  attempt_count: Type.Integer({ description: 'Attempts made so far.' }),
  next_attempt_at: NullableTime(
    "When the next automatic attempt is due; null once succeeded or failed, and while it waits for a disabled endpoint. While its endpoint's circuit is open, the time it was created: it goes out by age once the circuit closes.",
  ),
  failure_reason: Type.Union([Type.String(), Type.Null()], {
    description:
      'Why it ended `failed` without an attempt deciding it (its 24-hour window closed while the endpoint was disabled or its circuit open); null otherwise.',
  }),
  created_at: Time('When the delivery was made.'),
  updated_at: Time('When its status last changed.'),
};

export const DeliverySchema = Type.Object(deliveryFields, {
  description: 'One event on its way to one endpoint.',
});

export const AttemptSchema = Type.Object(
  {
    id: Type.String({ description: 'The attempt id.' }),
    attempt_no: Type.Integer({ description: '1 for the first attempt of the delivery.' }),
    started_at: Time('When the request was sent.'),
    duration_ms: Type.Integer({ description: 'Until the answer (or the failure).' }),
    request_headers: StringMap('The headers sent, signature included.'),
    response_status: Type.Union([Type.Integer(), Type.Null()], {
      description: "The endpoint's HTTP status; null: no answer.",
    }),
    response_headers: Type.Union([StringMap('The headers of the answer.'), Type.Null()]),
    response_body: Type.Union([Type.String(), Type.Null()], { description: 'The first 4 KiB of the answer.' }),
    error: Type.Union(
      [
        Type.Literal('timeout'),
        Type.Literal('refused'),
        Type.Literal('reset'),
        Type.Literal('dns'),
        Type.Literal('tls'),
        Type.Literal('blocked'),
        Type.Literal('http_status'),
        Type.Null(),
      ],
      { description: 'Why the attempt failed; null: it succeeded.' },
    ),
    manual: Type.Boolean({ description: 'A person asked for it (a retry); it does not move the automatic schedule.' }),
  },
  { description: 'One HTTP request to the endpoint, and its answer.' },
);

/**
 * What the deliveries list, a single read and a retry's answer add to a delivery: what a person needs
 * to act without opening it (the event's type, where it goes, how its latest attempt ended).
 */
const describedFields = {
  ...deliveryFields,
  event_type: Type.Union([Type.String(), Type.Null()], { description: "The event's type." }),
  endpoint_description: Type.Union([Type.String(), Type.Null()], { description: "The endpoint's description." }),
  endpoint_url: Type.Union([Type.String(), Type.Null()], {
    description: "The endpoint's URL, redacted of credentials for a `read` caller as an endpoint's `url` is.",
  }),
  last_attempt: Type.Union(
    [
      Type.Object({
        at: Time('When the latest attempt was sent.'),
        response_status: Type.Union([Type.Integer(), Type.Null()], {
          description: "The endpoint's HTTP status; null: no answer.",
        }),
        error: Type.Union([Type.String(), Type.Null()], {
          description: 'Why it failed (timeout, refused, http_status, …); null: it succeeded.',
        }),
      }),
      Type.Null(),
    ],
    { description: 'How the latest attempt ended; null: none yet.' },
  ),
};

export const DescribedDeliverySchema = Type.Object(describedFields, {
  description: 'A delivery with its event type, its endpoint and how its latest attempt ended.',
});

export const DeliveryPageSchema = page(DescribedDeliverySchema, 'A page of deliveries, newest first.');

export const DeliveryWithAttemptsSchema = Type.Object(
  { ...describedFields, attempts: Type.Array(AttemptSchema, { description: 'Every attempt, oldest first.' }) },
  { description: 'A delivery with all its attempts.' },
);

export const RetriedDeliverySchema = Type.Object(
  {
    ...describedFields,
    attempt: Type.Union([AttemptSchema, Type.Null()], { description: 'The attempt just made.' }),
  },
  { description: 'The delivery after one immediate attempt.' },
);

export const EventWithDeliveriesSchema = Type.Object(
  { ...eventFields, created_at: Time('When Herald stored it.'), deliveries: Type.Array(DeliverySchema) },
  { description: 'An event with its deliveries.' },
);

// ---------------------------------------------------------------- stats

export const DeliveryStatsSchema = Type.Object(
  {
    since: Time('The start of the first bucket.'),
    until: Time('Now.'),
    bucket_seconds: Type.Integer({ description: 'The width of each bucket.', examples: [60] }),
    buckets: Type.Array(
      Type.Object({
        start: Time('The start of the bucket.'),
        succeeded: Type.Integer(),
        failed: Type.Integer(),
        pending: Type.Integer(),
      }),
      { description: 'Every bucket of the window, zeros included, oldest first.' },
    ),
    failed_by_endpoint: Type.Array(Type.Object({ endpoint_id: Type.String(), failed: Type.Integer() }), {
      description: 'Failed deliveries of the window per endpoint, most first.',
    }),
    oldest_due_at: NullableTime(
      'Now, whatever the window: when the oldest delivery due (to an enabled endpoint) fell due; null: none.',
    ),
    oldest_due_delivery_id: Type.Union([Type.String(), Type.Null()], { description: 'That delivery; null: none.' }),
    failing_endpoints: Type.Integer({ description: 'Endpoints in a run of failed attempts, now.' }),
    disabled_endpoints: Type.Integer({ description: 'Disabled endpoints, now.' }),
  },
  {
    description: 'Deliveries created in the window, counted per bucket of their creation time by where they stand now.',
  },
);

// ---------------------------------------------------------------- API keys

const apiKeyFields = {
  id: Type.String({ description: 'The key id.', examples: ['key_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC'] }),
  role: Type.Union([Type.Literal('admin'), Type.Literal('read')], {
    description: '`admin` may do anything; `read` may only make GET requests.',
  }),
  prefix: Type.String({ description: 'The first characters of the key, to tell keys apart.' }),
  created_at: Time('When the key was made.'),
};

export const ApiKeySchema = Type.Object(apiKeyFields, { description: 'An API key (never its text).' });

export const CreatedApiKeySchema = Type.Object(
  {
    ...apiKeyFields,
    key: Type.String({ description: 'The key itself: shown this once, only its hash is kept.' }),
  },
  { description: 'A new API key with its text.' },
);

export const ApiKeyPageSchema = page(ApiKeySchema, "The account's keys that are not revoked.");

// ---------------------------------------------------------------- jobs

const jobState = Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed')]);

export const BulkRetryStartedSchema = Type.Object(
  {
    job_id: Type.String({
      description: 'Follow it at GET /v1/jobs/{id}.',
      examples: ['job_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC'],
    }),
    total: Type.Integer({ description: 'The failed deliveries it will retry; fixed at creation.' }),
    state: jobState,
  },
  { description: 'The bulk retry is queued as a background job.' },
);

export const JobSchema = Type.Object(
  {
    id: Type.String({ description: 'The job id.' }),
    tenant_id: Type.Union([Type.String(), Type.Null()], {
      description: "The tenant it belongs to (PUT /v1/tenants/{id}); null: the producer's own.",
    }),
    kind: Type.Literal('bulk_retry'),
    state: jobState,
    total: Type.Integer({ description: 'Items of the job; never changes.' }),
    done: Type.Integer({ description: 'Items finished: succeeded + failed.' }),
    succeeded: Type.Integer(),
    failed: Type.Integer(),
    params: Type.Record(Type.String(), Type.Unknown(), { description: 'What was asked for, as given.' }),
    created_at: Time('When the job was made.'),
    finished_at: NullableTime('When it finished; null while running.'),
  },
  { description: 'A background job and its progress.' },
);

// ---------------------------------------------------------------- connections

const syncStatus = Type.Union([Type.Literal('started'), Type.Literal('completed'), Type.Literal('failed')]);

const connectionFields = {
  connection_id: Type.String({ description: "The producer's connection id.", examples: ['con_8d1f'] }),
  tenant_id: Type.Union([Type.String(), Type.Null()], {
    description: "The tenant it belongs to (PUT /v1/tenants/{id}); null: the producer's own.",
  }),
  status: syncStatus,
  last_successful_sync_at: NullableTime('When the last completed sync was reported.'),
  last_error: Type.Union([Type.String(), Type.Null()], {
    description: 'The error of the last failed sync; cleared by a completed one.',
  }),
  next_scheduled_sync_at: NullableTime('When the producer plans the next sync.'),
  updated_at: Time('When the last report came.'),
};

export const ConnectionSchema = Type.Object(connectionFields, {
  description: "A connection's sync status, from its producer's reports.",
});

export const SyncReportedSchema = Type.Object(
  {
    ...connectionFields,
    event_id: Type.Union([Type.String(), Type.Null()], {
      description: 'The `sync.completed` / `sync.failed` event published; null for `started`.',
    }),
  },
  { description: 'The report is recorded (and its event published, in the same transaction).' },
);

export const ConnectionPageSchema = page(ConnectionSchema, 'A page of connections.');

// ---------------------------------------------------------------- alerts

export const AlertSchema = Type.Object(
  {
    id: Type.String({ description: 'The alert id.' }),
    kind: Type.Union([Type.Literal('endpoint_failure_rate'), Type.Literal('delivery_backlog')], {
      description: 'What crossed its threshold: one endpoint’s failure rate, or the account’s backlog.',
    }),
    endpoint_id: Type.Union([Type.String(), Type.Null()], { description: 'The endpoint, for a failure-rate alert.' }),
    state: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
    value: Type.Number({ description: 'The value that crossed the threshold when it fired.' }),
    threshold: Type.Number(),
    message: Type.String({ description: 'What the alert says, for people.' }),
    details: Type.Record(Type.String(), Type.Unknown(), { description: 'The figures that fired it.' }),
    opened_at: Time('When it fired.'),
    resolved_at: NullableTime('When it resolved; null while open.'),
  },
  { description: 'An operational alert: open, or resolved in the last day.' },
);

export const AlertPageSchema = page(AlertSchema, 'A page of alerts, newest first.');

// ---------------------------------------------------------------- tenants and portal sessions

export const TenantSchema = Type.Object(
  {
    id: Type.String({ description: "The producer's own id for its customer.", examples: ['acme'] }),
    name: Type.String({ description: 'Shown in the portal.' }),
    metadata: Type.Record(Type.String(), Type.Unknown(), { description: 'Free JSON for the producer.' }),
    created_at: Time('When the tenant was made.'),
    updated_at: Time('When it last changed.'),
  },
  { description: "A customer of the producer, by the producer's own id." },
);

export const TenantPageSchema = page(TenantSchema, 'A page of tenants.');

export const PortalSessionSchema = Type.Object(
  {
    url: Type.String({ description: 'The portal URL with the token in its fragment.' }),
    token: Type.String({ description: 'The session token (`hps_…`): shown this once, only its hash is kept.' }),
    expires_at: Time('When the session ends.'),
    read_only: Type.Boolean({ description: 'A read-only session may only make GET requests.' }),
  },
  { description: 'A portal session for one tenant: the only answer that shows its token.' },
);

export const PortalSessionsEndedSchema = Type.Object(
  { tenant_id: Type.String(), ended: Type.Integer({ description: 'Sessions ended.' }) },
  { description: "The tenant's portal sessions are ended." },
);

export const SessionSchema = Type.Union(
  [
    Type.Object({
      kind: Type.Literal('api_key'),
      role: apiKeyFields.role,
      key_id: Type.String(),
      tenant: Type.Null(),
    }),
    Type.Object({
      kind: Type.Literal('portal'),
      read_only: Type.Boolean(),
      session_id: Type.String(),
      tenant: TenantSchema,
    }),
  ],
  { description: 'Who is asking: an API key, or a portal session with its tenant.' },
);

// ---------------------------------------------------------------- the rest

export const EventTypeSchema = Type.Object(
  {
    name: Type.String({ examples: ['sync.completed'] }),
    description: Type.String(),
    schema: Type.Record(Type.String(), Type.Unknown(), { description: 'The JSON Schema its `data` must match.' }),
  },
  { description: 'A built-in event type.' },
);

export const EventTypePageSchema = Type.Object(
  {
    data: Type.Array(EventTypeSchema),
    next_cursor: Type.Null(),
  },
  { description: "Herald's built-in event types; producers' own types need no registration." },
);

export const HealthSchema = Type.Object(
  { status: Type.Literal('ok') },
  { description: 'Up (and, for /readyz, the store answers and deliveries are moving).' },
);

export const MetricsSchema = Type.String({ description: 'Prometheus text exposition format.' });

export const OpenApiDocumentSchema = Type.Record(Type.String(), Type.Unknown(), {
  description: 'This document: OpenAPI 3.1.',
});

/** Every named schema, by the name it has in the OpenAPI document's components. */
export const NAMED_SCHEMAS: Record<string, TSchema> = {
  Error: ErrorSchema,
  Endpoint: EndpointSchema,
  EndpointWithSecret: EndpointWithSecretSchema,
  RotatedEndpoint: RotatedEndpointSchema,
  EndpointSecret: EndpointSecretSchema,
  EndpointPage: EndpointPageSchema,
  Deleted: DeletedSchema,
  Event: EventSchema,
  Published: PublishedSchema,
  StreamItem: StreamItemSchema,
  FeedPage: FeedPageSchema,
  StreamPage: StreamPageSchema,
  Delivery: DeliverySchema,
  DescribedDelivery: DescribedDeliverySchema,
  Attempt: AttemptSchema,
  DeliveryPage: DeliveryPageSchema,
  DeliveryWithAttempts: DeliveryWithAttemptsSchema,
  RetriedDelivery: RetriedDeliverySchema,
  EventWithDeliveries: EventWithDeliveriesSchema,
  DeliveryStats: DeliveryStatsSchema,
  ApiKey: ApiKeySchema,
  CreatedApiKey: CreatedApiKeySchema,
  ApiKeyPage: ApiKeyPageSchema,
  BulkRetryStarted: BulkRetryStartedSchema,
  Job: JobSchema,
  Connection: ConnectionSchema,
  SyncReported: SyncReportedSchema,
  ConnectionPage: ConnectionPageSchema,
  EventType: EventTypeSchema,
  EventTypePage: EventTypePageSchema,
  Alert: AlertSchema,
  AlertPage: AlertPageSchema,
  Health: HealthSchema,
  Tenant: TenantSchema,
  TenantPage: TenantPageSchema,
  PortalSession: PortalSessionSchema,
  PortalSessionsEnded: PortalSessionsEndedSchema,
  Session: SessionSchema,
};

/** What @herald/client takes (through `@herald/protocol/api`, types only). */
export type ErrorResponse = Static<typeof ErrorSchema>;
export type DeliveryStatus = Static<typeof DeliveryStatusSchema>;
export type Endpoint = Static<typeof EndpointSchema>;
export type EndpointWithSecret = Static<typeof EndpointWithSecretSchema>;
export type RotatedEndpoint = Static<typeof RotatedEndpointSchema>;
export type EndpointSecret = Static<typeof EndpointSecretSchema>;
export type Deleted = Static<typeof DeletedSchema>;
export type Event = Static<typeof EventSchema>;
export type Published = Static<typeof PublishedSchema>;
export type StreamItem = Static<typeof StreamItemSchema>;
export type Delivery = Static<typeof DeliverySchema>;
export type DescribedDelivery = Static<typeof DescribedDeliverySchema>;
export type Attempt = Static<typeof AttemptSchema>;
export type DeliveryWithAttempts = Static<typeof DeliveryWithAttemptsSchema>;
export type RetriedDelivery = Static<typeof RetriedDeliverySchema>;
export type EventWithDeliveries = Static<typeof EventWithDeliveriesSchema>;
export type DeliveryStats = Static<typeof DeliveryStatsSchema>;
export type ApiKey = Static<typeof ApiKeySchema>;
export type CreatedApiKey = Static<typeof CreatedApiKeySchema>;
export type BulkRetryStarted = Static<typeof BulkRetryStartedSchema>;
export type Job = Static<typeof JobSchema>;
export type Connection = Static<typeof ConnectionSchema>;
export type SyncReported = Static<typeof SyncReportedSchema>;
export type EventType = Static<typeof EventTypeSchema>;
export type Alert = Static<typeof AlertSchema>;
export type Tenant = Static<typeof TenantSchema>;
export type PortalSession = Static<typeof PortalSessionSchema>;
export type PortalSessionsEnded = Static<typeof PortalSessionsEndedSchema>;
export type Session = Static<typeof SessionSchema>;
export type StreamPage = Static<typeof StreamPageSchema>;
export type FeedPage = Static<typeof FeedPageSchema>;

/** A page of any list: `next_cursor` is null on the last page. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
