import type {
  Alert,
  AlertsParams,
  ApiKey,
  BulkRetryInput,
  BulkRetryStarted,
  Connection,
  CreateApiKeyInput,
  CreatedApiKey,
  CreateEndpointInput,
  Deleted,
  DeliveriesParams,
  DeliveryStats,
  DeliveryWithAttempts,
  DescribedDelivery,
  Endpoint,
  EndpointSecret,
  EndpointWithSecret,
  EventsParams,
  EventType,
  EventWithDeliveries,
  FeedPage,
  Job,
  Page,
  PageParams,
  PortalSession,
  PortalSessionInput,
  PortalSessionsEnded,
  Published,
  PublishInput,
  PutTenantInput,
  RetriedDelivery,
  RotatedEndpoint,
  Session,
  StatsParams,
  StreamItem,
  StreamPage,
  SyncReported,
  SyncReportInput,
  Tenant,
  TenantPageParams,
  UpdateEndpointInput,
} from '@herald/protocol/api';
import { paginate, readToEnd } from './pages.js';
import { sleep } from './retry.js';
import { type CallOptions, createTransport, type TransportOptions } from './transport.js';

export type ClientOptions = TransportOptions;

/** Options of the calls that publish: the key that makes a retry of them safe. */
export interface PublishOptions extends CallOptions {
  /** Sent as Idempotency-Key; one is generated when none is given, so the client's own retries are safe. */
  idempotencyKey?: string;
}

export interface WaitOptions extends CallOptions {
  /** Between two reads of the job. Default 500 ms. */
  intervalMs?: number;
  /** Told of every read, e.g. to draw a progress bar. */
  onProgress?: (job: Job) => void;
}

/** Query parameters of the events feed (no endpoint_id: that is `events.stream`). */
export type FeedParams = Omit<EventsParams, 'endpoint_id'>;

const id = (value: string) => encodeURIComponent(value);

function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/** A Herald API client. Every method takes `{signal, timeoutMs}` last; lists also come as async iterators. */
export function createClient(options: ClientOptions) {
  const send = createTransport(options);
  const get = async <T>(path: string, query?: object, call?: CallOptions) =>
    (await send<T>({ method: 'GET', path, query: query as Record<string, string> }, call)).body;

  const endpoints = {
    create: async (input: CreateEndpointInput, call?: CallOptions) =>
      (await send<EndpointWithSecret>({ method: 'POST', path: '/v1/endpoints', body: input }, call)).body,
    page: (params: TenantPageParams = {}, call?: CallOptions) => get<Page<Endpoint>>('/v1/endpoints', params, call),
    list: (params: Omit<TenantPageParams, 'cursor'> = {}, call?: CallOptions) =>
      paginate((cursor) => endpoints.page({ ...params, cursor }, call)),
    get: (endpointId: string, call?: CallOptions) => get<Endpoint>(`/v1/endpoints/${id(endpointId)}`, undefined, call),
    update: async (endpointId: string, patch: UpdateEndpointInput, call?: CallOptions) =>
      (await send<Endpoint>({ method: 'PATCH', path: `/v1/endpoints/${id(endpointId)}`, body: patch }, call)).body,
    delete: async (endpointId: string, call?: CallOptions) =>
      (await send<Deleted>({ method: 'DELETE', path: `/v1/endpoints/${id(endpointId)}` }, call)).body,
    /** The current secret (admin key). */
    secret: (endpointId: string, call?: CallOptions) =>
      get<EndpointSecret>(`/v1/endpoints/${id(endpointId)}/secret`, undefined, call),
    rotateSecret: async (endpointId: string, call?: CallOptions) =>
      (await send<RotatedEndpoint>({ method: 'POST', path: `/v1/endpoints/${id(endpointId)}/secret/rotate` }, call))
        .body,
    /** Sends a `herald.test` event to this one endpoint, whatever its event_types. */
    sendTest: async (endpointId: string, call?: CallOptions) =>
      (await send<Published>({ method: 'POST', path: `/v1/endpoints/${id(endpointId)}/test` }, call)).body,
  };

  const events = {
    publish: async (input: PublishInput, call: PublishOptions = {}) =>
      (
        await send<Published>(
          {
            method: 'POST',
            path: '/v1/events',
            body: input,
            idempotencyKey: call.idempotencyKey ?? newIdempotencyKey(),
          },
          call,
        )
      ).body,
    /** One page of the feed, after `after` (a cursor the previous page handed back). */
    page: (params: FeedParams = {}, call?: CallOptions) => get<FeedPage>('/v1/events', params, call),
    /** The feed from `after` to its current end. */
    list: (params: FeedParams = {}, call?: CallOptions) =>
      readToEnd((after) => events.page({ ...params, after }, call), params.after),
    get: (eventId: string, call?: CallOptions) =>
      get<EventWithDeliveries>(`/v1/events/${id(eventId)}`, undefined, call),
    /** One page of an endpoint's gap-free stream, after sequence `after`. */
    streamPage: (endpointId: string, params: { after?: number; limit?: number } = {}, call?: CallOptions) =>
      get<StreamPage>(
        '/v1/events',
        {
          endpoint_id: endpointId,
          after: params.after === undefined ? undefined : String(params.after),
          limit: params.limit,
        },
        call,
      ),
    /** An endpoint's stream from after sequence `after` to its current end. */
    stream: (endpointId: string, params: { after?: number; limit?: number } = {}, call?: CallOptions) =>
      readToEnd<StreamItem>((after) =>
        events.streamPage(endpointId, { ...params, after: after === undefined ? params.after : Number(after) }, call),
      ),
  };

  const deliveries = {
    page: (params: DeliveriesParams = {}, call?: CallOptions) =>
      get<Page<DescribedDelivery>>('/v1/deliveries', params, call),
    list: (params: Omit<DeliveriesParams, 'cursor'> = {}, call?: CallOptions) =>
      paginate((cursor) => deliveries.page({ ...params, cursor }, call)),
    get: (deliveryId: string, call?: CallOptions) =>
      get<DeliveryWithAttempts>(`/v1/deliveries/${id(deliveryId)}`, undefined, call),
    /** One immediate attempt, whatever the status; answers once it is made. */
    retry: async (deliveryId: string, call?: CallOptions) =>
      (await send<RetriedDelivery>({ method: 'POST', path: `/v1/deliveries/${id(deliveryId)}/retry` }, call)).body,
    /** Starts a job retrying every failed delivery that matches; follow it with `jobs.wait`. */
    retryFailed: async (filter: BulkRetryInput = {}, call?: CallOptions) =>
      (await send<BulkRetryStarted>({ method: 'POST', path: '/v1/deliveries/retry', body: filter }, call)).body,
  };

  const jobs = {
    get: (jobId: string, call?: CallOptions) => get<Job>(`/v1/jobs/${id(jobId)}`, undefined, call),
    /** Reads the job until it is no longer running; resolves with its last state. */
    async wait(jobId: string, { intervalMs = 500, onProgress, ...call }: WaitOptions = {}): Promise<Job> {
      for (;;) {
        const job = await jobs.get(jobId, call);
        onProgress?.(job);
        if (job.state !== 'running') return job;
        await sleep(intervalMs, call.signal);
      }
    },
  };

  const apiKeys = {
    /** The answer is the only time the key's text is shown. */
    create: async (input: CreateApiKeyInput, call?: CallOptions) =>
      (await send<CreatedApiKey>({ method: 'POST', path: '/v1/api-keys', body: input }, call)).body,
    page: (call?: CallOptions) => get<Page<ApiKey>>('/v1/api-keys', undefined, call),
    list: (call?: CallOptions) => paginate(() => apiKeys.page(call)),
    revoke: async (keyId: string, call?: CallOptions) =>
      (await send<Deleted>({ method: 'DELETE', path: `/v1/api-keys/${id(keyId)}` }, call)).body,
  };

  const connections = {
    /** A sync report; `completed` and `failed` publish an event, so they carry an Idempotency-Key. */
    reportSync: async (connectionId: string, report: SyncReportInput, call: PublishOptions = {}) =>
      (
        await send<SyncReported>(
          {
            method: 'POST',
            path: `/v1/connections/${id(connectionId)}/syncs`,
            body: report,
            idempotencyKey: call.idempotencyKey ?? newIdempotencyKey(),
          },
          call,
        )
      ).body,
    syncStatus: (connectionId: string, call?: CallOptions) =>
      get<Connection>(`/v1/connections/${id(connectionId)}/sync-status`, undefined, call),
    page: (params: TenantPageParams = {}, call?: CallOptions) => get<Page<Connection>>('/v1/connections', params, call),
    list: (params: Omit<TenantPageParams, 'cursor'> = {}, call?: CallOptions) =>
      paginate((cursor) => connections.page({ ...params, cursor }, call)),
  };

  const eventTypes = {
    page: (call?: CallOptions) => get<Page<EventType>>('/v1/event-types', undefined, call),
    list: (call?: CallOptions) => paginate(() => eventTypes.page(call)),
  };

  /** What Herald fired (an endpoint failing, a backlog), open or resolved in the last 24 hours. */
  const alerts = {
    page: (params: AlertsParams = {}, call?: CallOptions) => get<Page<Alert>>('/v1/alerts', params, call),
    list: (params: Omit<AlertsParams, 'cursor'> = {}, call?: CallOptions) =>
      paginate((cursor) => alerts.page({ ...params, cursor }, call)),
  };

  const stats = {
    deliveries: (params: StatsParams = {}, call?: CallOptions) =>
      get<DeliveryStats>('/v1/stats/deliveries', params, call),
  };

  /** The producer's customers (API key only) and their portal sessions. */
  const tenants = {
    /** Creates the tenant or updates its name and metadata, by the producer's own id for it. */
    put: async (tenantId: string, input: PutTenantInput, call?: CallOptions) =>
      (await send<Tenant>({ method: 'PUT', path: `/v1/tenants/${id(tenantId)}`, body: input }, call)).body,
    get: (tenantId: string, call?: CallOptions) => get<Tenant>(`/v1/tenants/${id(tenantId)}`, undefined, call),
    page: (params: PageParams = {}, call?: CallOptions) => get<Page<Tenant>>('/v1/tenants', params, call),
    list: (params: Omit<PageParams, 'cursor'> = {}, call?: CallOptions) =>
      paginate((cursor) => tenants.page({ ...params, cursor }, call)),
    /** Deletes the tenant with its endpoints (their pending deliveries fail) and its portal sessions. */
    delete: async (tenantId: string, call?: CallOptions) =>
      (await send<Deleted>({ method: 'DELETE', path: `/v1/tenants/${id(tenantId)}` }, call)).body,
    /** A portal link: `{url, token, expires_at}`; the token is shown only here. */
    openPortal: async (tenantId: string, input: PortalSessionInput = {}, call?: CallOptions) =>
      (
        await send<PortalSession>(
          { method: 'POST', path: `/v1/tenants/${id(tenantId)}/portal-sessions`, body: input },
          call,
        )
      ).body,
    /** Ends every portal session of the tenant. */
    endPortalSessions: async (tenantId: string, call?: CallOptions) =>
      (await send<PortalSessionsEnded>({ method: 'DELETE', path: `/v1/tenants/${id(tenantId)}/portal-sessions` }, call))
        .body,
  };

  /** Who the credential is: an API key, or a portal session with its tenant. */
  const session = (call?: CallOptions) => get<Session>('/v1/session', undefined, call);

  return { endpoints, events, deliveries, jobs, apiKeys, connections, eventTypes, alerts, stats, tenants, session };
}

export type HeraldClient = ReturnType<typeof createClient>;

/** The request and response types of every route: the server's own TypeBox schemas (@herald/protocol/api), as types. */
export type * from '@herald/protocol/api';
