import { newId, type SignatureScheme } from '@herald/protocol';
import type { Database } from './schema.js';
import type { SecretBox } from './secret-box.js';
import type {
  AlertEntry,
  AlertRecord,
  ApiKeyRecord,
  AttemptError,
  AttemptRecord,
  ConnectionRecord,
  DeliveryRecord,
  DeliveryStatus,
  EndpointRecord,
  EventRecord,
  JobRecord,
  PortalSessionRecord,
  PublishInput,
  Role,
  SyncStatus,
  TenantRecord,
} from './types.js';

/** Rows to records and back; shared by both stores, which keep the same columns. */

type Row<T extends keyof Database> = Database[T];

export function apiKeyFromRow(r: Row<'api_keys'>): ApiKeyRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    role: r.role as Role,
    prefix: r.prefix,
    hash: r.hash,
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

export function endpointFromRow(r: Row<'endpoints'>, box: SecretBox): EndpointRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id ?? null,
    url: box.open(r.url),
    description: r.description,
    eventTypes: JSON.parse(r.event_types) as string[],
    connectionIds: JSON.parse(r.connection_ids) as string[],
    secret: box.open(r.secret),
    previousSecret: r.previous_secret === null ? null : box.open(r.previous_secret),
    previousSecretExpiresAt: r.previous_secret_expires_at === null ? null : Number(r.previous_secret_expires_at),
    signatureScheme: r.signature_scheme as SignatureScheme,
    headers: JSON.parse(box.open(r.headers)) as Record<string, string>,
    rateLimitPerS: r.rate_limit_per_s,
    disabled: Boolean(r.disabled),
    disabledReason: r.disabled_reason,
    failingSince: r.failing_since === null ? null : Number(r.failing_since),
    circuit: {
      openedAt: r.circuit_opened_at === null ? null : Number(r.circuit_opened_at),
      probeAt: r.circuit_probe_at === null ? null : Number(r.circuit_probe_at),
      failedProbes: Number(r.circuit_probes ?? 0),
    },
    lastSequence: Number(r.last_sequence),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function eventFromRow(r: Row<'events'>): EventRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id ?? null,
    type: r.type,
    occurredAt: Number(r.occurred_at),
    connectionId: r.connection_id,
    data: JSON.parse(r.data),
    createdAt: Number(r.created_at),
    feedSeq: Number(r.feed_seq),
  };
}

/**
 * An event for a claim: `dataJson` is the stored text (publish writes JSON.stringify's output, so it
 * is exactly what serializing `data` again would give) and `data` is parsed only when read. The
 * dispatcher splices the text into the envelope and never parses it.
 */
export function claimedEventFromRow(r: Row<'events'>): ClaimedEvent {
  return withLazyData({
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id ?? null,
    type: r.type,
    occurredAt: Number(r.occurred_at),
    connectionId: r.connection_id,
    createdAt: Number(r.created_at),
    feedSeq: Number(r.feed_seq),
    dataJson: r.data,
  });
}

export type ClaimedEvent = EventRecord & { dataJson: string };

/**
 * Gives an event without `data` a `data` that parses `dataJson` when first read. The SQLite thread
 * sends claimed events without `data` (sqlite-worker.ts: a structured clone would read, and so parse
 * and copy, every payload), and the main thread puts the lazy `data` back with this.
 */
export function withLazyData(event: Omit<ClaimedEvent, 'data'>): ClaimedEvent {
  const lazy = event as ClaimedEvent;
  Object.defineProperty(lazy, 'data', {
    enumerable: true,
    configurable: true,
    get() {
      const data: unknown = JSON.parse(lazy.dataJson);
      Object.defineProperty(lazy, 'data', { value: data, enumerable: true, configurable: true, writable: true });
      return data;
    },
    set(value: unknown) {
      Object.defineProperty(lazy, 'data', { value, enumerable: true, configurable: true, writable: true });
    },
  });
  return lazy;
}

export function deliveryFromRow(r: Row<'deliveries'>): DeliveryRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id ?? null,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    status: r.status as DeliveryStatus,
    sequence: Number(r.sequence),
    attemptCount: Number(r.attempt_count),
    nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
    failureReason: r.failure_reason ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function attemptFromRow(r: Row<'attempts'>): AttemptRecord {
  return {
    id: r.id,
    deliveryId: r.delivery_id,
    attemptNo: Number(r.attempt_no),
    startedAt: Number(r.started_at),
    durationMs: Number(r.duration_ms),
    requestHeaders: JSON.parse(r.request_headers) as Record<string, string>,
    responseStatus: r.response_status,
    responseHeaders: r.response_headers === null ? null : (JSON.parse(r.response_headers) as Record<string, string>),
    responseBody: r.response_body,
    error: r.error as AttemptError | null,
    manual: Boolean(r.manual),
  };
}

export function alertFromRow(r: Row<'alerts'>): AlertRecord {
  return {
    accountId: r.account_id,
    key: r.key,
    kind: r.kind as AlertRecord['kind'],
    endpointId: r.endpoint_id,
    value: Number(r.value),
    threshold: Number(r.threshold),
    openedAt: Number(r.opened_at),
  };
}

export function alertEntryFromRow(r: Row<'alert_history'>): AlertEntry {
  return {
    id: r.id,
    accountId: r.account_id,
    key: r.key,
    kind: r.kind as AlertRecord['kind'],
    endpointId: r.endpoint_id,
    value: Number(r.value),
    threshold: Number(r.threshold),
    openedAt: Number(r.opened_at),
    message: r.message,
    details: JSON.parse(r.details) as Record<string, unknown>,
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
  };
}

/** The alert_history row an opening alert writes (Store.openAlert, both stores). */
export function alertHistoryRow(a: AlertRecord): Row<'alert_history'> {
  return {
    id: newId('alert', a.openedAt),
    account_id: a.accountId,
    key: a.key,
    kind: a.kind,
    endpoint_id: a.endpointId,
    value: a.value,
    threshold: a.threshold,
    message: a.message ?? '',
    details: JSON.stringify(a.details ?? {}),
    opened_at: a.openedAt,
    resolved_at: null,
  };
}

/**
 * The secret columns of an endpoint write, sealed: the one place a store turns secrets into what it
 * stores. `undefined` fields stay undefined (not part of the write).
 */
export function sealedSecretColumns(
  box: SecretBox,
  secrets: { secret?: string | undefined; previousSecret?: string | null | undefined },
): { secret?: string; previous_secret?: string | null } {
  const out: { secret?: string; previous_secret?: string | null } = {};
  if (secrets.secret !== undefined) out.secret = box.seal(secrets.secret);
  if (secrets.previousSecret !== undefined) {
    out.previous_secret = secrets.previousSecret === null ? null : box.seal(secrets.previousSecret);
  }
  return out;
}

/**
 * An endpoint's URL and custom headers as stored. Header values are a receiver's credentials
 * (`authorization: Bearer …`) as often as not, and a URL may carry `user:pass@`: both are sealed like
 * the signing secret. A URL without credentials and an empty header set stay readable; rows written
 * before sealing are read as they are (SecretBox.open passes unsealed text through).
 */
export function sealedEndpointColumns(
  box: SecretBox,
  fields: { url?: string | undefined; headers?: Record<string, string> | undefined },
): { url?: string; headers?: string } {
  const out: { url?: string; headers?: string } = {};
  if (fields.url !== undefined) out.url = hasCredentials(fields.url) ? box.seal(fields.url) : fields.url;
  if (fields.headers !== undefined) {
    const text = JSON.stringify(fields.headers);
    out.headers = Object.keys(fields.headers).length > 0 ? box.seal(text) : text;
  }
  return out;
}

function hasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return true; // not a URL the API took; seal it rather than guess
  }
}

/**
 * Herald's own operational events go only to endpoints that list them in event_types: a catch-all
 * endpoint gets the producer's events. Otherwise an alert about a failing endpoint would be queued
 * to that very endpoint, and a backlog alert would add to the backlog it reports.
 */
const OPERATIONAL_EVENT_TYPES = new Set(['endpoint.disabled', 'alert.triggered']);

/**
 * Whether an endpoint takes an event: only an endpoint of the event's tenant (a tenant-less event
 * only a tenant-less endpoint), whose filters match; a test event only its one endpoint.
 */
export function endpointMatches(
  endpoint: Pick<EndpointRecord, 'id' | 'tenantId' | 'eventTypes' | 'connectionIds'>,
  event: Pick<PublishInput, 'type' | 'connectionId' | 'tenantId' | 'onlyEndpointId'>,
): boolean {
  if (endpoint.tenantId !== (event.tenantId ?? null)) return false;
  if (event.onlyEndpointId !== undefined) return endpoint.id === event.onlyEndpointId;
  const { type, connectionId } = event;
  if (endpoint.eventTypes.length === 0 && OPERATIONAL_EVENT_TYPES.has(type)) return false;
  if (endpoint.eventTypes.length > 0 && !endpoint.eventTypes.includes(type)) return false;
  if (endpoint.connectionIds.length > 0 && (connectionId === null || !endpoint.connectionIds.includes(connectionId))) {
    return false;
  }
  return true;
}

export function jobFromRow(r: Database['jobs'], counts: { succeeded: number; failed: number }): JobRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id ?? null,
    kind: r.kind as JobRecord['kind'],
    state: r.state as JobRecord['state'],
    params: JSON.parse(r.params) as Record<string, unknown>,
    total: Number(r.total),
    succeeded: Number(counts.succeeded),
    failed: Number(counts.failed),
    createdAt: Number(r.created_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

export function connectionFromRow(r: Database['connections']): ConnectionRecord {
  const ms = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id ?? null,
    status: r.status as SyncStatus,
    lastSuccessfulSyncAt: ms(r.last_successful_sync_at),
    lastError: r.last_error,
    nextScheduledSyncAt: ms(r.next_scheduled_sync_at),
    syncStartedAt: ms(r.sync_started_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function tenantFromRow(r: Database['tenants']): TenantRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function portalSessionFromRow(r: Database['portal_sessions']): PortalSessionRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id,
    hash: r.hash,
    readOnly: Boolean(Number(r.read_only)),
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}
