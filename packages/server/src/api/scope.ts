import type { FastifyRequest } from 'fastify';
import type {
  BulkRetryFilter,
  DeliveryFilter,
  DeliveryRecord,
  EndpointPatch,
  EndpointRecord,
  EventFilter,
  NewEndpoint,
  Store,
  TenantFilter,
} from '../store/types.js';
import { callerOf } from './auth.js';
import { invalid, notFound } from './errors.js';

/**
 * Where the request's principal becomes a store filter: the one place tenant scope is decided.
 * An API key sees its whole account (and may narrow a list with `?tenant_id=`); a portal session
 * sees one tenant, and another tenant's resource is simply not found, as another account's is.
 * Routes a portal session may call (`tenantScoped`) read and write account resources only through
 * `scopedStore(request)`.
 */
export interface Scope {
  accountId: string;
  /** A portal session's tenant; undefined for an API key. */
  tenantId: string | undefined;
}

export function scopeOf(request: FastifyRequest): Scope {
  const caller = callerOf(request);
  return { accountId: caller.accountId, tenantId: caller.tenantId };
}

export type ScopedStore = ReturnType<typeof scoped>;

/** The store as the request's principal may see it. */
export function scopedStore(store: Store, request: FastifyRequest): ScopedStore {
  return scoped(store, scopeOf(request));
}

export function scoped(store: Store, scope: Scope) {
  const { accountId } = scope;
  const visible = <T extends { tenantId: string | null }>(record: T | undefined): T | undefined =>
    record !== undefined && (scope.tenantId === undefined || record.tenantId === scope.tenantId) ? record : undefined;

  /**
   * The tenant a list or a write is narrowed to: the session's own, or the one asked for. A session
   * that names another tenant gets the 404 of a tenant it cannot see.
   */
  function tenantOf(asked: string | undefined): string | undefined {
    if (scope.tenantId === undefined) return asked;
    if (asked !== undefined && asked !== scope.tenantId) throw notFound('tenant', asked);
    return scope.tenantId;
  }
  const narrowed = <T extends TenantFilter>(filter: T): T => ({ ...filter, tenantId: tenantOf(filter.tenantId) });

  async function getEndpoint(id: string): Promise<EndpointRecord | undefined> {
    return visible(await store.getEndpoint(accountId, id));
  }
  async function getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    return visible(await store.getDelivery(accountId, id));
  }

  return {
    scope,
    tenantOf,
    /**
     * A tenant named in a write (an endpoint's, an event's): it must exist. A 400 naming `tenant_id`
     * and saying how to make it; nothing is stored.
     */
    async requireTenant(tenantId: string | null | undefined): Promise<string | null> {
      const tenant = tenantOf(tenantId ?? undefined);
      if (tenant === undefined) return null;
      if (!(await store.getTenant(accountId, tenant))) {
        throw invalid(
          'tenant_id',
          `no tenant "${tenant}" exists in this account: create it first with PUT /v1/tenants/${encodeURIComponent(tenant)} {"name": …}.`,
        );
      }
      return tenant;
    },

    getEndpoint,
    listEndpoints: (page: { cursor?: string | undefined; limit: number } & TenantFilter) =>
      store.listEndpoints(accountId, narrowed(page)),
    /** The endpoint goes to the session's tenant, whatever `tenantId` says (requireTenant checked it). */
    createEndpoint: (endpoint: Omit<NewEndpoint, 'accountId'>) =>
      store.createEndpoint({ ...endpoint, accountId, tenantId: tenantOf(endpoint.tenantId ?? undefined) ?? null }),
    async updateEndpoint(id: string, patch: EndpointPatch, at: number) {
      // An endpoint's tenant never changes, so what was visible a moment ago still is.
      if (!(await getEndpoint(id))) return undefined;
      return store.updateEndpoint(accountId, id, patch, at);
    },
    async deleteEndpoint(id: string, at: number) {
      if (!(await getEndpoint(id))) return false;
      return store.deleteEndpoint(accountId, id, at);
    },

    getEvent: async (id: string) => visible(await store.getEvent(accountId, id)),
    listEvents: (filter: EventFilter) => store.listEvents(accountId, narrowed(filter)),
    /** One endpoint's stream; undefined when the endpoint is not there (or not this tenant's). */
    async listEndpointStream(endpointId: string, afterSequence: number, limit: number) {
      if (!(await getEndpoint(endpointId))) return undefined;
      return store.listEndpointStream(accountId, endpointId, afterSequence, limit);
    },

    listDeliveries: (filter: DeliveryFilter) => store.listDeliveries(accountId, narrowed(filter)),
    deliveryStats: (window: { since: number; until: number; bucketMs: number } & TenantFilter) =>
      store.deliveryStats(accountId, narrowed(window)),
    accountHealth: (now: number, filter: TenantFilter) => store.accountHealth(accountId, now, narrowed(filter)),
    getDelivery,
    /** For deliveries this scope already sees: their endpoints and events are the same tenant's. */
    describeDeliveries: (deliveries: DeliveryRecord[]) => store.describeDeliveries(accountId, deliveries),
    /** A delivery with its attempts, or undefined. */
    async getDeliveryWithAttempts(id: string) {
      const delivery = await getDelivery(id);
      return delivery && { delivery, attempts: await store.listAttempts(delivery.id) };
    },
    async listDeliveriesOfEvent(eventId: string) {
      return (await store.listDeliveriesOfEvent(accountId, eventId)).filter((d) => visible(d) !== undefined);
    },

    createBulkRetryJob: (job: {
      id: string;
      filter: BulkRetryFilter;
      params: Record<string, unknown>;
      createdAt: number;
    }) => store.createBulkRetryJob({ ...job, accountId, filter: narrowed(job.filter) }),
    getJob: async (id: string) => visible(await store.getJob(accountId, id)),

    getConnection: async (id: string) => visible(await store.getConnection(accountId, id)),
    listConnections: (page: { cursor?: string | undefined; limit: number } & TenantFilter) =>
      store.listConnections(accountId, narrowed(page)),

    /** The session's own tenant (the portal's header); undefined for an API key. */
    ownTenant: async () => (scope.tenantId === undefined ? undefined : store.getTenant(accountId, scope.tenantId)),
  };
}
