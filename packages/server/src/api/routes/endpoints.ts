import { generateSecret, newId } from '@herald/protocol';
import { settleWaitingDeliveries } from '../../dispatch/waiting-deliveries.js';
import type { EndpointRecord } from '../../store/types.js';
import { callerOf, requireAdmin } from '../auth.js';
import { checkEndpointUrl, checkHeaders, checkSecret, endpointPatch } from '../endpoint-input.js';
import { notFound } from '../errors.js';
import { iso, presentEndpoint, withSecret } from '../present.js';
import {
  DeletedSchema,
  EndpointPageSchema,
  EndpointSchema,
  EndpointSecretSchema,
  EndpointWithSecretSchema,
  RotatedEndpointSchema,
} from '../response-schemas.js';
import { CreateEndpointBody, DEFAULT_PAGE, IdParams, NoBody, PageQuery, PatchEndpointBody } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';

/** After a rotation the old secret keeps signing beside the new one for this long. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** A change of secret: the stored one steps back and signs for 24 h more (in the store's one UPDATE). */
function rotation(next: string, now: number) {
  return { rotateSecret: { to: next, previousExpiresAt: now + SECRET_OVERLAP_MS } };
}

export function endpointRoutes(app: Api, { store, config }: RouteDeps): void {
  async function find(accountId: string, id: string): Promise<EndpointRecord> {
    const endpoint = await store.getEndpoint(accountId, id);
    if (!endpoint) throw notFound('endpoint', id);
    return endpoint;
  }

  app.post(
    '/v1/endpoints',
    {
      schema: {
        operationId: 'createEndpoint',
        tags: ['Endpoints'],
        summary: 'Create an endpoint',
        description:
          'Registers a URL to receive webhooks. The answer carries the signing secret (generated unless you give one): keep it to verify deliveries.',
        body: CreateEndpointBody,
        response: { 201: EndpointWithSecretSchema },
      },
    },
    async (request, reply) => {
      const { accountId } = callerOf(request);
      const body = request.body;
      const now = config.clock.now();
      const endpoint = await store.createEndpoint({
        id: newId('endpoint', now),
        accountId,
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
      schema: {
        operationId: 'listEndpoints',
        tags: ['Endpoints'],
        summary: 'List endpoints',
        description: 'Every endpoint of the account, oldest first, a page at a time.',
        querystring: PageQuery,
        response: { 200: EndpointPageSchema },
      },
    },
    async (request) => {
      const { accountId, role } = callerOf(request);
      const page = await store.listEndpoints(accountId, {
        cursor: request.query.cursor,
        limit: request.query.limit ?? DEFAULT_PAGE,
      });
      const now = config.clock.now();
      return { data: page.data.map((ep) => presentEndpoint(ep, role, now)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/endpoints/:id',
    {
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
      const { accountId, role } = callerOf(request);
      return presentEndpoint(await find(accountId, request.params.id), role, config.clock.now());
    },
  );

  app.patch(
    '/v1/endpoints/:id',
    {
      schema: {
        operationId: 'updateEndpoint',
        tags: ['Endpoints'],
        summary: 'Update an endpoint',
        description:
          'Changes the fields given; the others stay. `disabled: false` enables an endpoint again. A `secret` given here is a rotation: the previous secret keeps signing for 24 hours.',
        params: IdParams,
        body: PatchEndpointBody,
        response: { 200: EndpointSchema },
      },
    },
    async (request) => {
      const { accountId } = callerOf(request);
      const now = config.clock.now();
      await find(accountId, request.params.id); // an unknown endpoint is a 404 before any 400 about the body
      const patch = endpointPatch(request.body, config);
      // A secret set by PATCH is a rotation with a secret of the caller's choosing.
      if (request.body.secret !== undefined) Object.assign(patch, rotation(checkSecret(request.body.secret), now));
      const updated = await store.updateEndpoint(accountId, request.params.id, patch, now);
      if (!updated) throw notFound('endpoint', request.params.id);
      // Disabled: its deliveries wait. Re-enabled: those inside their window resume, the others fail.
      if (patch.disabled !== undefined) await settleWaitingDeliveries({ store, config }, now, [updated.id]);
      return presentEndpoint(updated, 'admin', now);
    },
  );

  app.delete(
    '/v1/endpoints/:id',
    {
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
      const { accountId } = callerOf(request);
      const deleted = await store.deleteEndpoint(accountId, request.params.id, config.clock.now());
      if (!deleted) throw notFound('endpoint', request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.get(
    '/v1/endpoints/:id/secret',
    {
      schema: {
        operationId: 'getEndpointSecret',
        tags: ['Endpoints'],
        summary: 'Get the signing secret',
        description:
          'The current secret, and until when the previous one still signs after a rotation. Needs an `admin` key.',
        params: IdParams,
        response: { 200: EndpointSecretSchema },
      },
    },
    async (request) => {
      const { accountId } = requireAdmin(request);
      const endpoint = await find(accountId, request.params.id);
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
      const { accountId } = callerOf(request);
      const now = config.clock.now();
      const updated = await store.updateEndpoint(accountId, request.params.id, rotation(generateSecret(), now), now);
      if (!updated) throw notFound('endpoint', request.params.id);
      return { ...withSecret(updated, now), previous_secret_expires_at: iso(now + SECRET_OVERLAP_MS) };
    },
  );
}
