import type { Envelope } from '@herald/protocol';
import type {
  Alert,
  ApiKey,
  Attempt,
  Connection,
  Delivery,
  DescribedDelivery,
  Endpoint,
  EndpointWithSecret,
  Event,
  Job,
  StreamItem,
  Tenant,
} from '@herald/protocol/api';
import { redactedHeaders, redactedUrl } from '../endpoint-credentials.js';
import type {
  AlertEntry,
  ApiKeyRecord,
  AttemptRecord,
  ConnectionRecord,
  DeliveryContext,
  DeliveryRecord,
  EndpointRecord,
  EventRecord,
  JobRecord,
  Role,
  TenantRecord,
} from '../store/types.js';

/**
 * Records → the JSON shapes of the API contract, each typed by its response schema (@herald/protocol/api),
 * so that a field added here but not there (or the reverse) does not compile. Times are ISO-8601
 * UTC strings; names are snake_case.
 */

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * The circuit (dispatch/circuit.ts), beside the contract's fields: `open` while its deliveries wait
 * for the probe time, `half_open` once a probe is due or out, `closed` otherwise.
 */
export function presentCircuit(circuit: EndpointRecord['circuit'], now: number): Endpoint['circuit'] {
  if (circuit.openedAt === null) return { state: 'closed', opened_at: null, next_probe_at: null };
  const probing = circuit.probeAt !== null && circuit.probeAt <= now;
  return {
    state: probing ? 'half_open' : 'open',
    opened_at: iso(circuit.openedAt),
    next_probe_at: iso(circuit.probeAt),
  };
}

/**
 * Never carries the signing secret (`withSecret` adds it for create and rotate). Header values and
 * URL credentials are the receiver's secrets: an `admin` key sees them, a `read` key their names.
 * `now` tells the circuit's state.
 */
export function presentEndpoint(ep: EndpointRecord, role: Role, now = Date.now()): Endpoint {
  const revealed = role === 'admin';
  return {
    id: ep.id,
    tenant_id: ep.tenantId,
    url: revealed ? ep.url : redactedUrl(ep.url),
    description: ep.description,
    event_types: ep.eventTypes,
    connection_ids: ep.connectionIds,
    signature_scheme: ep.signatureScheme,
    headers: revealed ? ep.headers : redactedHeaders(ep.headers),
    rate_limit_per_s: ep.rateLimitPerS,
    disabled: ep.disabled,
    disabled_reason: ep.disabledReason,
    circuit: presentCircuit(ep.circuit, now),
    created_at: iso(ep.createdAt),
    updated_at: iso(ep.updatedAt),
  };
}

/** Create and rotate: admin only. */
export function withSecret(ep: EndpointRecord, now = Date.now()): EndpointWithSecret {
  return { ...presentEndpoint(ep, 'admin', now), secret: ep.secret };
}

export function presentEvent(event: EventRecord): Event {
  return {
    id: event.id,
    tenant_id: event.tenantId,
    type: event.type,
    occurred_at: iso(event.occurredAt),
    connection_id: event.connectionId,
    data: event.data,
    created_at: iso(event.createdAt),
  };
}

/** One item of an endpoint's stream: the envelope it was (or will be) sent, and where its delivery stands. */
export function presentStreamItem(delivery: DeliveryRecord, event: EventRecord): StreamItem {
  const envelope: Envelope = {
    id: event.id,
    type: event.type,
    occurred_at: iso(event.occurredAt),
    connection_id: event.connectionId,
    endpoint_id: delivery.endpointId,
    sequence: delivery.sequence,
    data: event.data,
  };
  return { ...envelope, delivery_id: delivery.id, status: delivery.status, tenant_id: delivery.tenantId };
}

export function presentDelivery(d: DeliveryRecord): Delivery {
  return {
    id: d.id,
    tenant_id: d.tenantId,
    event_id: d.eventId,
    endpoint_id: d.endpointId,
    status: d.status,
    sequence: d.sequence,
    attempt_count: d.attemptCount,
    next_attempt_at: iso(d.nextAttemptAt),
    // Beside the contract's fields: why it ended failed without an attempt deciding it, or null.
    failure_reason: d.failureReason,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
  };
}

/**
 * A delivery with what a person needs to act on it in a list: its event's type, where it goes (an
 * endpoint's URL is redacted for a `read` caller, as in presentEndpoint) and its latest attempt.
 */
export function presentDescribedDelivery(
  d: DeliveryRecord,
  context: DeliveryContext | undefined,
  role: Role,
): DescribedDelivery {
  const last = context?.lastAttempt ?? null;
  const url = context?.endpointUrl ?? null;
  return {
    ...presentDelivery(d),
    event_type: context?.eventType ?? null,
    endpoint_description: context?.endpointDescription ?? null,
    endpoint_url: url === null || role === 'admin' ? url : redactedUrl(url),
    last_attempt: last && { at: iso(last.startedAt), response_status: last.responseStatus, error: last.error },
  };
}

export function presentAttempt(a: AttemptRecord): Attempt {
  return {
    id: a.id,
    attempt_no: a.attemptNo,
    started_at: iso(a.startedAt),
    duration_ms: a.durationMs,
    request_headers: a.requestHeaders,
    response_status: a.responseStatus,
    response_headers: a.responseHeaders,
    response_body: a.responseBody,
    error: a.error,
    manual: a.manual,
  };
}

export function presentApiKey(key: ApiKeyRecord): ApiKey {
  return { id: key.id, role: key.role, prefix: key.prefix, created_at: iso(key.createdAt) };
}

export function presentJob(job: JobRecord): Job {
  return {
    id: job.id,
    tenant_id: job.tenantId,
    kind: job.kind,
    state: job.state,
    total: job.total,
    done: job.succeeded + job.failed,
    succeeded: job.succeeded,
    failed: job.failed,
    params: job.params,
    created_at: iso(job.createdAt),
    finished_at: iso(job.finishedAt),
  };
}

export function presentConnection(c: ConnectionRecord): Connection {
  return {
    connection_id: c.id,
    tenant_id: c.tenantId,
    status: c.status,
    last_successful_sync_at: iso(c.lastSuccessfulSyncAt),
    last_error: c.lastError,
    next_scheduled_sync_at: iso(c.nextScheduledSyncAt),
    updated_at: iso(c.updatedAt),
  };
}

export function presentTenant(t: TenantRecord): Tenant {
  return {
    id: t.id,
    name: t.name,
    metadata: t.metadata,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
  };
}

/** GET /v1/alerts: what fired (kind, endpoint), the figures, and when it opened and resolved. */
export function presentAlert(a: AlertEntry): Alert {
  return {
    id: a.id,
    kind: a.kind,
    endpoint_id: a.endpointId,
    state: a.resolvedAt === null ? ('open' as const) : ('resolved' as const),
    value: a.value,
    threshold: a.threshold,
    message: a.message,
    details: a.details,
    opened_at: iso(a.openedAt),
    resolved_at: iso(a.resolvedAt),
  };
}
