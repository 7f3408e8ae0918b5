import type { AddressInfo } from 'node:net';
import {
  DEFAULT_PAGE,
  DeletedSchema,
  PageQuery,
  PortalSessionBody,
  PortalSessionSchema,
  PortalSessionsEndedSchema,
  PutTenantBody,
  SessionSchema,
  TenantPageSchema,
  TenantParams,
  TenantSchema,
} from '@herald/protocol/api';
import { newPortalSession, PORTAL_SESSION_DEFAULT_S } from '../../portal-sessions.js';
import { callerOf, requireAdmin } from '../auth.js';
import { notFound } from '../errors.js';
import { iso, presentTenant } from '../present.js';
import { scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';

/**
 * preValidation of a route whose body fields are all optional: no body at all reads as `{}`, so the
 * schema (an object, whose errors name the field) checks what was sent.
 */
async function bodyMayBeLeftOut(request: { body: unknown }): Promise<void> {
  request.body ??= {};
}

/**
 * Tenants (the producer's customers) and their portal sessions: operator-only, so a portal session
 * gets 403 here (no route below is `tenantScoped`), except GET /v1/session, which says who is asking.
 */
export function tenantRoutes(app: Api, { store, config, auth, dispatcher }: RouteDeps): void {
  app.put(
    '/v1/tenants/:id',
    {
      schema: {
        operationId: 'putTenant',
        tags: ['Tenants'],
        summary: 'Create or update a tenant',
        description:
          'A customer of yours, under your own id for it: 201 when made, 200 when updated. Endpoints, events and connections may then name it in `tenant_id`.',
        params: TenantParams,
        body: PutTenantBody,
        response: { 200: TenantSchema, 201: TenantSchema },
      },
    },
    async (request, reply) => {
      const { accountId } = callerOf(request);
      const { tenant, created } = await store.putTenant({
        accountId,
        id: request.params.id,
        name: request.body.name,
        metadata: request.body.metadata ?? {},
        at: config.clock.now(),
      });
      return reply.code(created ? 201 : 200).send(presentTenant(tenant));
    },
  );

  app.get(
    '/v1/tenants',
    {
      schema: {
        operationId: 'listTenants',
        tags: ['Tenants'],
        summary: 'List tenants',
        description: 'Every tenant of the account, a page at a time.',
        querystring: PageQuery,
        response: { 200: TenantPageSchema },
      },
    },
    async (request) => {
      const page = await store.listTenants(callerOf(request).accountId, {
        cursor: request.query.cursor,
        limit: request.query.limit ?? DEFAULT_PAGE,
      });
      return { data: page.data.map(presentTenant), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/tenants/:id',
    {
      schema: {
        operationId: 'getTenant',
        tags: ['Tenants'],
        summary: 'Get a tenant',
        description: 'One tenant: its name and metadata.',
        params: TenantParams,
        response: { 200: TenantSchema },
      },
    },
    async (request) => {
      const tenant = await store.getTenant(callerOf(request).accountId, request.params.id);
      if (!tenant) throw notFound('tenant', request.params.id);
      return presentTenant(tenant);
    },
  );

  async function endpointIdsOf(accountId: string, tenantId: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listEndpoints(accountId, { tenantId, cursor, limit: 500 });
      ids.push(...page.data.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return ids;
  }

  /** With its endpoints (their pending deliveries become failed) and its portal sessions. */
  app.delete(
    '/v1/tenants/:id',
    {
      schema: {
        operationId: 'deleteTenant',
        tags: ['Tenants'],
        summary: 'Delete a tenant',
        description:
          'The tenant goes with its endpoints (their pending deliveries become failed) and its portal sessions; its events stay.',
        params: TenantParams,
        response: { 200: DeletedSchema },
      },
    },
    async (request) => {
      const { accountId } = callerOf(request);
      // Read before they go, for this process's dispatcher to drop what it holds of them (one
      // created meanwhile is missed: what a dispatcher holds of it is sent, as another process's is).
      const endpointIds = dispatcher ? await endpointIdsOf(accountId, request.params.id) : [];
      if (!(await store.deleteTenant(accountId, request.params.id, config.clock.now()))) {
        throw notFound('tenant', request.params.id);
      }
      for (const id of endpointIds) dispatcher?.endpointDeleted(id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  /**
   * A portal link for one tenant. The token travels in the URL's fragment, which browsers never
   * send to a server or put in a Referer, so it reaches no log on the way.
   */
  app.post(
    '/v1/tenants/:id/portal-sessions',
    {
      preValidation: bodyMayBeLeftOut,
      schema: {
        operationId: 'createPortalSession',
        tags: ['Tenants'],
        summary: 'Open a portal session',
        description:
          'A link to the customer portal for one tenant, with a token (`hps_…`) in its fragment: the tenant sees and manages its own endpoints and deliveries, and nothing else. Needs an `admin` key. The body may be left out.',
        params: TenantParams,
        body: PortalSessionBody,
        response: { 201: PortalSessionSchema },
      },
    },
    async (request, reply) => {
      const { accountId } = requireAdmin(request);
      const tenant = await store.getTenant(accountId, request.params.id);
      if (!tenant) throw notFound('tenant', request.params.id);
      const { token, record } = newPortalSession({
        accountId,
        tenantId: tenant.id,
        readOnly: request.body.read_only ?? false,
        now: config.clock.now(),
        expiresInS: request.body.expires_in ?? PORTAL_SESSION_DEFAULT_S,
      });
      await store.createPortalSession(record);
      return reply.code(201).send({
        url: `${publicUrl()}/portal/#token=${token}`,
        token,
        expires_at: iso(record.expiresAt),
        read_only: record.readOnly,
      });
    },
  );

  app.delete(
    '/v1/tenants/:id/portal-sessions',
    {
      schema: {
        operationId: 'endPortalSessions',
        tags: ['Tenants'],
        summary: 'End a tenant’s portal sessions',
        description: 'Every portal session of the tenant ends at once: their tokens get 401. Needs an `admin` key.',
        params: TenantParams,
        response: { 200: PortalSessionsEndedSchema },
      },
    },
    async (request) => {
      const { accountId } = requireAdmin(request);
      if (!(await store.getTenant(accountId, request.params.id))) throw notFound('tenant', request.params.id);
      const ended = await store.deletePortalSessions(accountId, request.params.id);
      return { tenant_id: request.params.id, ended };
    },
  );

  /** Who is asking: an API key, or a portal session with its tenant (the portal's header and expiry notice). */
  app.get(
    '/v1/session',
    {
      config: { tenantScoped: true },
      schema: {
        operationId: 'getSession',
        tags: ['Tenants'],
        summary: 'Who is asking',
        description: 'The API key (its role and id), or the portal session (read-only or not, and its tenant).',
        response: { 200: SessionSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const tenant = await scopedStore(store, request).ownTenant();
      if (!tenant) return { kind: 'api_key' as const, role: caller.role, key_id: caller.keyId, tenant: null };
      return {
        kind: 'portal' as const,
        read_only: caller.role === 'read',
        session_id: caller.keyId,
        tenant: presentTenant(tenant),
      };
    },
  );

  /** `--public-url`, else the address this API listens on (known once it listens). */
  function publicUrl(): string {
    if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
    const address = app.server.address() as AddressInfo | null;
    const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '';
    const host = wildcard ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
    return `http://${host}:${address?.port ?? config.port}`;
  }
  void auth;
}
