import { type Static, Type } from 'typebox';

/**
 * The TypeBox schema of every JSON body the /v1 routes answer with. present.ts is typed against
 * these, and @herald/client takes its response types from here (type-only), so a field added to
 * one and not the other fails to compile. Times are ISO-8601 UTC strings; names are snake_case.
 */

const Time = Type.String({ description: 'An ISO-8601 UTC time.' });
const NullableTime = Type.Union([Time, Type.Null()]);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const DeliveryStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
]);

export const EndpointSchema = Type.Object({
  id: Type.String(),
  /** The tenant it belongs to (PUT /v1/tenants/:id); null: the producer's own. */
  tenant_id: Nullable(Type.String()),
  url: Type.String(),
  description: Type.String(),
  event_types: Type.Array(Type.String()),
  connection_ids: Type.Array(Type.String()),
  signature_scheme: Type.Union([Type.Literal('standard-webhooks'), Type.Literal('hmac-sha256')]),
  headers: Type.Record(Type.String(), Type.String()),
  rate_limit_per_s: Nullable(Type.Integer()),
  disabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String()),
  created_at: Time,
  updated_at: Time,
});

/** Create answers with the secret: the only answer besides rotate and GET …/secret that carries it. */
export const EndpointWithSecretSchema = Type.Object({ ...EndpointSchema.properties, secret: Type.String() });

export const RotatedEndpointSchema = Type.Object({
  ...EndpointWithSecretSchema.properties,
  previous_secret_expires_at: Time,
});

export const EndpointSecretSchema = Type.Object({
  secret: Type.String(),
  previous_secret_expires_at: NullableTime,
});

export const DeletedSchema = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });

export const EventSchema = Type.Object({
  id: Type.String(),
  /** The tenant it belongs to (PUT /v1/tenants/:id); null: the producer's own. */
  tenant_id: Nullable(Type.String()),
  type: Type.String(),
  occurred_at: Time,
  connection_id: Nullable(Type.String()),
  data: Type.Unknown(),
  created_at: Time,
});

export const PublishedSchema = Type.Object({ id: Type.String(), deliveries: Type.Array(Type.String()) });

export const DeliverySchema = Type.Object({
  id: Type.String(),
  /** The tenant it belongs to (PUT /v1/tenants/:id); null: the producer's own. */
  tenant_id: Nullable(Type.String()),
  event_id: Type.String(),
  endpoint_id: Type.String(),
  status: DeliveryStatusSchema,
  sequence: Type.Integer(),
  attempt_count: Type.Integer(),
  next_attempt_at: NullableTime,
  created_at: Time,
  updated_at: Time,
});

/**
 * A delivery as the deliveries list, its single read and a retry's answer show it: with what a person
 * needs to act without opening it (the event's type, where it goes, how its latest attempt ended).
 */
export const DescribedDeliverySchema = Type.Object({
  ...DeliverySchema.properties,
  event_type: Nullable(Type.String()),
  endpoint_description: Nullable(Type.String()),
  /** Redacted of credentials for a `read` caller, as an endpoint's `url`. */
  endpoint_url: Nullable(Type.String()),
  last_attempt: Nullable(
    Type.Object({
      at: Time,
      response_status: Nullable(Type.Integer()),
      error: Nullable(Type.String({ description: 'The error class: timeout, refused, http_status, …' })),
    }),
  ),
});

export const EventWithDeliveriesSchema = Type.Object({
  ...EventSchema.properties,
  deliveries: Type.Array(DeliverySchema),
});

/** One item of an endpoint's stream: the envelope it was (or will be) sent, and its delivery's status. */
export const StreamItemSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  occurred_at: Time,
  connection_id: Nullable(Type.String()),
  endpoint_id: Type.String(),
  sequence: Type.Integer(),
  data: Type.Unknown(),
  delivery_id: Type.String(),
  status: DeliveryStatusSchema,
  tenant_id: Nullable(Type.String()),
});

export const AttemptSchema = Type.Object({
  id: Type.String(),
  attempt_no: Type.Integer(),
  started_at: Time,
  duration_ms: Type.Number(),
  request_headers: Type.Record(Type.String(), Type.String()),
  response_status: Nullable(Type.Integer()),
  response_headers: Nullable(Type.Record(Type.String(), Type.String())),
  response_body: Nullable(Type.String()),
  error: Nullable(
    Type.Union([
      Type.Literal('timeout'),
      Type.Literal('refused'),
      Type.Literal('reset'),
      Type.Literal('dns'),
      Type.Literal('tls'),
      Type.Literal('blocked'),
      Type.Literal('http_status'),
    ]),
  ),
  manual: Type.Boolean(),
});

export const DeliveryWithAttemptsSchema = Type.Object({
  ...DescribedDeliverySchema.properties,
  attempts: Type.Array(AttemptSchema),
});

export const RetriedDeliverySchema = Type.Object({
  ...DescribedDeliverySchema.properties,
  attempt: Nullable(AttemptSchema),
});

export const ApiKeySchema = Type.Object({
  id: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('read')]),
  prefix: Type.String(),
  created_at: Time,
});

/** The only answer that shows a key's text. */
export const CreatedApiKeySchema = Type.Object({ ...ApiKeySchema.properties, key: Type.String() });

export const JobSchema = Type.Object({
  id: Type.String(),
  /** The tenant it belongs to (PUT /v1/tenants/:id); null: the producer's own. */
  tenant_id: Nullable(Type.String()),
  kind: Type.Literal('bulk_retry'),
  state: Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed')]),
  total: Type.Integer(),
  done: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  params: Type.Record(Type.String(), Type.Unknown()),
  created_at: Time,
  finished_at: NullableTime,
});

export const BulkRetryStartedSchema = Type.Object({
  job_id: Type.String(),
  total: Type.Integer(),
  state: JobSchema.properties.state,
});

export const ConnectionSchema = Type.Object({
  connection_id: Type.String(),
  /** The tenant it belongs to (PUT /v1/tenants/:id); null: the producer's own. */
  tenant_id: Nullable(Type.String()),
  status: Type.Union([Type.Literal('started'), Type.Literal('completed'), Type.Literal('failed')]),
  last_successful_sync_at: NullableTime,
  last_error: Nullable(Type.String()),
  next_scheduled_sync_at: NullableTime,
  updated_at: Time,
});

export const SyncReportedSchema = Type.Object({
  ...ConnectionSchema.properties,
  event_id: Nullable(Type.String()),
});

export const EventTypeSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  schema: Type.Unknown(),
});

export const DeliveryStatsSchema = Type.Object({
  since: Time,
  until: Time,
  bucket_seconds: Type.Integer(),
  buckets: Type.Array(
    Type.Object({ start: Time, succeeded: Type.Integer(), failed: Type.Integer(), pending: Type.Integer() }),
  ),
  failed_by_endpoint: Type.Array(Type.Object({ endpoint_id: Type.String(), failed: Type.Integer() })),
});

/** A customer of the producer, by the producer's own id. */
export const TenantSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  created_at: Time,
  updated_at: Time,
});

/** POST /v1/tenants/:id/portal-sessions: the only answer that shows a session's token. */
export const PortalSessionSchema = Type.Object({
  url: Type.String(),
  token: Type.String(),
  expires_at: Time,
  read_only: Type.Boolean(),
});

export const PortalSessionsEndedSchema = Type.Object({ tenant_id: Type.String(), ended: Type.Integer() });

/** GET /v1/session: who is asking, an API key or a portal session (with its tenant). */
export const SessionSchema = Type.Union([
  Type.Object({
    kind: Type.Literal('api_key'),
    role: ApiKeySchema.properties.role,
    key_id: Type.String(),
    tenant: Type.Null(),
  }),
  Type.Object({
    kind: Type.Literal('portal'),
    read_only: Type.Boolean(),
    session_id: Type.String(),
    tenant: TenantSchema,
  }),
]);

export const EndpointPageSchema = Page(EndpointSchema);
export const TenantPageSchema = Page(TenantSchema);
export const EventPageSchema = Page(EventSchema);
/** An endpoint's stream always hands back a cursor (the last sequence), an empty page included. */
export const StreamPageSchema = Type.Object({ data: Type.Array(StreamItemSchema), next_cursor: Type.String() });
/** The feed always hands back a cursor, an empty page included, so a poller keeps its place. */
export const FeedPageSchema = Type.Object({ data: Type.Array(EventSchema), next_cursor: Type.String() });
export const DeliveryPageSchema = Page(DescribedDeliverySchema);
export const ApiKeyPageSchema = Page(ApiKeySchema);
export const ConnectionPageSchema = Page(ConnectionSchema);
export const EventTypePageSchema = Page(EventTypeSchema);

export type DeliveryStatus = Static<typeof DeliveryStatusSchema>;
export type Endpoint = Static<typeof EndpointSchema>;
export type EndpointWithSecret = Static<typeof EndpointWithSecretSchema>;
export type RotatedEndpoint = Static<typeof RotatedEndpointSchema>;
export type EndpointSecret = Static<typeof EndpointSecretSchema>;
export type Deleted = Static<typeof DeletedSchema>;
export type Event = Static<typeof EventSchema>;
export type Published = Static<typeof PublishedSchema>;
export type Delivery = Static<typeof DeliverySchema>;
export type DescribedDelivery = Static<typeof DescribedDeliverySchema>;
export type EventWithDeliveries = Static<typeof EventWithDeliveriesSchema>;
export type StreamItem = Static<typeof StreamItemSchema>;
export type Attempt = Static<typeof AttemptSchema>;
export type DeliveryWithAttempts = Static<typeof DeliveryWithAttemptsSchema>;
export type RetriedDelivery = Static<typeof RetriedDeliverySchema>;
export type ApiKey = Static<typeof ApiKeySchema>;
export type CreatedApiKey = Static<typeof CreatedApiKeySchema>;
export type Job = Static<typeof JobSchema>;
export type BulkRetryStarted = Static<typeof BulkRetryStartedSchema>;
export type Connection = Static<typeof ConnectionSchema>;
export type SyncReported = Static<typeof SyncReportedSchema>;
export type EventType = Static<typeof EventTypeSchema>;
export type DeliveryStats = Static<typeof DeliveryStatsSchema>;
export type Tenant = Static<typeof TenantSchema>;
export type PortalSession = Static<typeof PortalSessionSchema>;
export type PortalSessionsEnded = Static<typeof PortalSessionsEndedSchema>;
export type Session = Static<typeof SessionSchema>;
/** A page of a list: `next_cursor` null on the last page. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
export type StreamPage = Static<typeof StreamPageSchema>;
export type FeedPage = Static<typeof FeedPageSchema>;
