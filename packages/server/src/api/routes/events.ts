import { HeraldError, newId } from '@herald/protocol';
import {
  DEFAULT_PAGE,
  ErrorSchema,
  EventsQuery,
  EventWithDeliveriesSchema,
  FeedPageSchema,
  IdParams,
  PublishBody,
  PublishedSchema,
  StreamPageSchema,
} from '@herald/protocol/api';
import { Type } from 'typebox';
import { eventDataIssues } from '../../event-types.js';
import { callerOf } from '../auth.js';
import { invalid, notFound, validationMessage } from '../errors.js';
import { presentDelivery, presentEvent, presentStreamItem } from '../present.js';
import { publishIdempotently } from '../publish.js';
import { scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';

/** An ISO-8601 time with a date, a time and a zone, e.g. `2026-11-27T05:51:30.123Z`. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

export function parseTime(field: string, text: string): number {
  const ms = Date.parse(text);
  if (!ISO_TIME.test(text) || Number.isNaN(ms)) {
    throw invalid(field, 'must be an ISO-8601 time with a zone, e.g. 2026-11-27T05:51:30.123Z.');
  }
  return ms;
}

export function eventRoutes(app: Api, deps: RouteDeps): void {
  const { store, config } = deps;
  app.post(
    '/v1/events',
    {
      schema: {
        operationId: 'publishEvent',
        tags: ['Events'],
        summary: 'Publish an event',
        description:
          'Stores the event and queues a delivery to every endpoint subscribed to its type and connection (and, with `tenant_id`, of that tenant). The 202 comes once the event is on disk. Send an `Idempotency-Key` to make a retry safe.',
        idempotent: true,
        body: PublishBody,
        response: { 202: PublishedSchema },
      },
    },
    async (request, reply) => {
      const { accountId } = callerOf(request);
      const body = request.body;
      const now = config.clock.now();
      // Operator-only route (a portal session gets 403 before this): the tenant must exist.
      const tenantId = await scopedStore(store, request).requireTenant(body.tenant_id);
      const occurredAt = body.occurred_at === undefined ? now : parseTime('occurred_at', body.occurred_at);
      // A built-in type's data must match its schema (event-types.ts); the message names the field.
      const issues = eventDataIssues(body.type, body.data);
      if (issues.length > 0) {
        throw new HeraldError(
          'INVALID_REQUEST',
          validationMessage(
            issues.map((i) => ({ ...i, instancePath: `/data${i.instancePath}` })),
            'body',
          ),
        );
      }
      // The 202 waits for the group commit that carries this event: once answered, it is on disk.
      const result = await publishIdempotently(
        deps,
        request,
        reply,
        {
          accountId,
          tenantId,
          id: newId('event', now),
          type: body.type,
          occurredAt,
          connectionId: body.connection_id ?? null,
          data: body.data,
          createdAt: now,
        },
        body,
      );
      return reply.code(202).send({ id: result.id, deliveries: result.deliveries });
    },
  );

  app.get(
    '/v1/events',
    {
      config: { tenantScoped: true },
      schema: {
        operationId: 'listEvents',
        tags: ['Events'],
        summary: 'List events, or follow an endpoint’s stream',
        description:
          'Without `endpoint_id`: the account’s events feed, oldest first, filtered by `type`, `connection_id` and `tenant_id`. With `endpoint_id`: that endpoint’s stream, by sequence with no gaps, each envelope as it was sent and where its delivery stands; read on with `after=next_cursor`.',
        querystring: EventsQuery,
        response: { 200: Type.Union([FeedPageSchema, StreamPageSchema]), 404: ErrorSchema },
      },
    },
    async (request) => {
      const scoped = scopedStore(store, request);
      const query = request.query;
      const limit = query.limit ?? DEFAULT_PAGE;
      if (query.endpoint_id !== undefined) {
        // One endpoint's stream, by sequence: filters would open gaps a receiver would take for losses.
        if (query.type !== undefined || query.connection_id !== undefined) {
          throw invalid(query.type !== undefined ? 'type' : 'connection_id', 'cannot be combined with endpoint_id.');
        }
        if (query.tenant_id !== undefined) throw invalid('tenant_id', 'cannot be combined with endpoint_id.');
        const after = Number(query.after ?? '0');
        const items = await scoped.listEndpointStream(query.endpoint_id, after, limit);
        if (!items) throw notFound('endpoint', query.endpoint_id);
        const last = items[items.length - 1];
        return {
          data: items.map(({ delivery, event }) => presentStreamItem(delivery, event)),
          next_cursor: String(last ? last.delivery.sequence : after),
        };
      }
      const page = await scoped.listEvents({
        tenantId: query.tenant_id,
        type: query.type,
        connectionId: query.connection_id,
        after: query.after,
        limit,
      });
      // The feed always hands back a cursor, an empty page included, so a poller keeps its place.
      return { data: page.data.map(presentEvent), next_cursor: page.nextCursor ?? query.after ?? '0' };
    },
  );

  app.get(
    '/v1/events/:id',
    {
      config: { tenantScoped: true },
      schema: {
        operationId: 'getEvent',
        tags: ['Events'],
        summary: 'Get an event',
        description: 'One event with its deliveries.',
        params: IdParams,
        response: { 200: EventWithDeliveriesSchema },
      },
    },
    async (request) => {
      const scoped = scopedStore(store, request);
      const event = await scoped.getEvent(request.params.id);
      if (!event) throw notFound('event', request.params.id);
      const deliveries = await scoped.listDeliveriesOfEvent(event.id);
      return { ...presentEvent(event), deliveries: deliveries.map(presentDelivery) };
    },
  );
}
