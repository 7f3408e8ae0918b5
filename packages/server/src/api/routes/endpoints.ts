import { generateSecret, newId } from '@herald/protocol';
import {
  CreateEndpointBody,
  DEFAULT_PAGE,
  DeletedSchema,
  EndpointPageSchema,
  EndpointSchema,
  EndpointSecretSchema,
  EndpointWithSecretSchema,
  IdParams,
  NoBody,
  PatchEndpointBody,
  PublishedSchema,
  RotatedEndpointSchema,
  TenantPageQuery,
} from '@herald/protocol/api';
import { settleWaitingDeliveries } from '../../dispatch/waiting-deliveries.js';
import type { EndpointRecord } from '../../store/types.js';
import { callerOf, requireAdmin } from '../auth.js';
import { checkEndpointUrl, checkHeaders, checkSecret, endpointPatch } from '../endpoint-input.js';
import { invalid, notFound } from '../errors.js';
import { iso, presentEndpoint, withSecret } from '../present.js';
import { type ScopedStore, scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';

/** The type of the event `POST /v1/endpoints/:id/test` sends. */
export const TEST_EVENT_TYPE = 'herald.test';

/** After a rotation the old secret keeps signing beside the new one for this long. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** A change of secret: the stored one steps back and signs for 24 h more (in the store's one UPDATE). */
function rotation(next: string, now: number) {
  return { rotateSecret: { to: next, previousExpiresAt: now + SECRET_OVERLAP_MS } };
}

export function endpointRoutes(app: Api, { store, config, publisher, dispatcher }: RouteDeps): void {
  async function find(scoped: ScopedStore, id: string): Promise<EndpointRecord> {
    const endpoint = await scoped.getEndpoint(id);
    if (!endpoint) throw notFound('endpoint', id);
    return endpoint;
  }
  // Every route here works through the request's scope: a portal session may call each of them.
  const tenantScoped = { tenantScoped: true };

  app.post(
    '/v1/endpoints',
    {
      config: tenantScoped,
      schema: {
        operationId: 'createEndpoint',
        tags: ['Endpoints'],
        summary: 'Create an endpoint',
        description:
          'Registers a URL to receive webhooks (with `tenant_id`, for that tenant: it gets only its tenant’s events). The answer carries the signing secret (generated unless you give one): keep it to verify deliveries.',
        body: CreateEndpointBody,
        response: { 201: EndpointWithSecretSchema },
      },
    },
    async (request, reply) => {
      const scoped = scopedStore(store, request);
      const body = request.body;
      const now = config.clock.now();
      const tenantId = await scoped.requireTenant(body.tenant_id);
      const endpoint = await scoped.createEndpoint({
        id: newId('endpoint', now),
        tenantId,
        url: checkEndpointUrl(body.url, config),
        description: body.description ?? '',
        eventTypes: [...new Set(body.event_types ?? [])],
        connectionIds: [...new Set(body.connection_ids ?? [])],
        secret: body.secret === undefined ? generateSecret() : checkSecret(body.secret),
        signatureScheme: body.signature_scheme ?? 'standard-webhooks',
        headers: checkHeaders(body.headers ?? {}),
        rateLimitPerS: body.rate_limit_per_s ?? null,
        disabled: false,
        createdAt: now,
      });
      return reply.code(201).send(withSecret(endpoint, now));
    },
  );

  app.get(
    '/v1/endpoints',
    {
      config: tenantScoped,
      schema: {
        operationId: 'listEndpoints',
        tags: ['Endpoints'],
        summary: 'List endpoints',
        description:
          'Every endpoint of the account (or of one tenant, with `tenant_id`), oldest first, a page at a time.',
        querystring: TenantPageQuery,
        response: { 200: EndpointPageSchema },
      },
    },
    async (request) => {
      const { role } = callerOf(request);
      const page = await scopedStore(store, request).listEndpoints({
        cursor: request.query.cursor,
        limit: request.query.limit ?? DEFAULT_PAGE,
        tenantId: request.query.tenant_id,
      });
      const now = config.clock.now();
      return { data: page.data.map((ep) => presentEndpoint(ep, role, now)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/endpoints/:id',
    {
      config: tenantScoped,
      schema: {
        operationId: 'getEndpoint',
        tags: ['Endpoints'],
        summary: 'Get an endpoint',
        description:
          'One endpoint, without its secret. A `read` key sees header values and URL credentials as `[redacted]`.',
        params: IdParams,
        response: { 200: EndpointSchema },
      },
    },
    async (request) => {
      const { role } = callerOf(request);
      return presentEndpoint(await find(scopedStore(store, request), request.params.id), role, config.clock.now());
    },
  );

  app.patch(
    '/v1/endpoints/:id',
    {
      config: tenantScoped,
      schema: {
        operationId: 'updateEndpoint',
        tags: ['Endpoints'],
        summary: 'Update an endpoint',
        description:
          'Changes the fields given; the others stay. `disabled: false` enables an endpoint again. A `secret` given here is a rotation: the previous secret keeps signing for 24 hours. An endpoint keeps the tenant it was created with.',
        params: IdParams,
        body: PatchEndpointBody,
        response: { 200: EndpointSchema },
      },
    },
    async (request) => {
      const scoped = scopedStore(store, request);
      const now = config.clock.now();
      // An unknown endpoint is a 404 before any 400 about the body.
      const current = await find(scoped, request.params.id);
      const { tenant_id: tenantId, ...fields } = request.body;
      // A tenant is fixed once set: naming the one it has is allowed (a client sending the whole shape back).
      if (tenantId !== undefined && tenantId !== current.tenantId) {
        throw invalid('tenant_id', 'cannot be changed: an endpoint keeps the tenant it was created with.');
      }
      const patch = endpointPatch(fields, config);
      // A secret set by PATCH is a rotation with a secret of the caller's choosing.
      if (request.body.secret !== undefined) Object.assign(patch, rotation(checkSecret(request.body.secret), now));
      const updated = await scoped.updateEndpoint(request.params.id, patch, now);
      if (!updated) throw notFound('endpoint', request.params.id);
      // Disabled: its deliveries wait. Re-enabled: those inside their window resume, the others fail.
      // Only this endpoint's (in the caller's scope, found above) are settled.
      if (patch.disabled !== undefined) await settleWaitingDeliveries({ store, config }, now, [updated.id]);
      return presentEndpoint(updated, 'admin', now);
    },
  );

  app.delete(
    '/v1/endpoints/:id',
    {
      config: tenantScoped,
      schema: {
        operationId: 'deleteEndpoint',
        tags: ['Endpoints'],
        summary: 'Delete an endpoint',
        description: 'The endpoint stops receiving deliveries at once; its pending deliveries are not sent.',
        params: IdParams,
        response: { 200: DeletedSchema },
      },
    },
    async (request) => {
      const deleted = await scopedStore(store, request).deleteEndpoint(request.params.id, config.clock.now());
      if (!deleted) throw notFound('endpoint', request.params.id);
      // What this process's dispatcher holds of the endpoint is not sent (see endpointDeleted for
      // other processes').
      dispatcher?.endpointDeleted(request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.get(
    '/v1/endpoints/:id/secret',
    {
      config: tenantScoped,
      schema: {
        operationId: 'getEndpointSecret',
        tags: ['Endpoints'],
        summary: 'Get the signing secret',
        description:
          'The current secret, and until when the previous one still signs after a rotation. Needs an `admin` key (or a portal session that is not read-only).',
        params: IdParams,
        response: { 200: EndpointSecretSchema },
      },
    },
    async (request) => {
      requireAdmin(request);
      const endpoint = await find(scopedStore(store, request), request.params.id);
      const overlapping =
        endpoint.previousSecretExpiresAt !== null && endpoint.previousSecretExpiresAt > config.clock.now();
      return {
        secret: endpoint.secret,
        // While the previous secret still signs, a receiver may hold either one.
        previous_secret_expires_at: overlapping ? iso(endpoint.previousSecretExpiresAt) : null,
      };
    },
  );

  app.post(
    '/v1/endpoints/:id/secret/rotate',
    {
      config: tenantScoped,
      schema: {
        operationId: 'rotateEndpointSecret',
        tags: ['Endpoints'],
        summary: 'Rotate the signing secret',
        description:
          'Generates a new secret. Deliveries carry signatures by both the new and the previous secret for 24 hours, so receivers can switch without losing one.',
        params: IdParams,
        body: NoBody,
        response: { 200: RotatedEndpointSchema },
      },
    },
    async (request) => {
      const scoped = scopedStore(store, request);
      const now = config.clock.now();
      const updated = await scoped.updateEndpoint(request.params.id, rotation(generateSecret(), now), now);
      if (!updated) throw notFound('endpoint', request.params.id);
      return { ...withSecret(updated, now), previous_secret_expires_at: iso(now + SECRET_OVERLAP_MS) };
    },
  );

  /**
   * Sends a `herald.test` event to this one endpoint, whatever its event_types: how a portal user
   * (who may not publish) checks a receiver. The event belongs to the endpoint's tenant and is in
   * the feed like any other. (The operator may still publish `herald.test` to every endpoint that
   * subscribes to it with POST /v1/events.)
   */
  app.post(
    '/v1/endpoints/:id/test',
    {
      config: tenantScoped,
      schema: {
        operationId: 'sendTestEvent',
        tags: ['Endpoints'],
        summary: 'Send a test event',
        description:
          'Publishes a `herald.test` event to this one endpoint, whatever its `event_types`: how a portal user, who may not publish, checks a receiver. A disabled endpoint is refused (400).',
        params: IdParams,
        body: NoBody,
        response: { 202: PublishedSchema },
      },
    },
    async (request, reply) => {
      const scoped = scopedStore(store, request);
      const endpoint = await find(scoped, request.params.id);
      if (endpoint.disabled) throw invalid('id', 'the endpoint is disabled: enable it before sending it a test event.');
      const now = config.clock.now();
      const result = await publisher.submit({
        accountId: scoped.scope.accountId,
        tenantId: endpoint.tenantId,
        onlyEndpointId: endpoint.id,
        id: newId('event', now),
        type: TEST_EVENT_TYPE,
        occurredAt: now,
        connectionId: null,
        data: { endpoint_id: endpoint.id, message: 'A test event sent from Herald.' },
        createdAt: now,
      });
      dispatcher?.wake();
      return reply.code(202).send({ id: result.id, deliveries: result.deliveries });
    },
  );
}
