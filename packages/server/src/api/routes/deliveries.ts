import { HeraldError } from '@herald/protocol';
import {
  DEFAULT_PAGE,
  DeliveriesQuery,
  DeliveryPageSchema,
  DeliveryWithAttemptsSchema,
  IdParams,
  NoBody,
  RetriedDeliverySchema,
} from '@herald/protocol/api';
import { callerOf } from '../auth.js';
import { invalid, notFound } from '../errors.js';
import { presentAttempt, presentDescribedDelivery } from '../present.js';
import { scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';

export function deliveryRoutes(app: Api, { store, dispatcher }: RouteDeps): void {
  // Every route here works through the request's scope: a portal session may call each of them.
  const tenantScoped = { tenantScoped: true };

  app.get(
    '/v1/deliveries',
    {
      config: tenantScoped,
      schema: {
        operationId: 'listDeliveries',
        tags: ['Deliveries'],
        summary: 'List deliveries',
        description:
          'Deliveries of the account, newest first, filtered by `status`, `endpoint_id`, `event_id` and `tenant_id`; each with its event type, its endpoint and how its latest attempt ended.',
        querystring: DeliveriesQuery,
        response: { 200: DeliveryPageSchema },
      },
    },
    async (request) => {
      const q = request.query;
      const scoped = scopedStore(store, request);
      const page = await scoped.listDeliveries({
        tenantId: q.tenant_id,
        status: q.status,
        endpointId: q.endpoint_id,
        eventId: q.event_id,
        cursor: q.cursor,
        limit: q.limit ?? DEFAULT_PAGE,
      });
      const described = await scoped.describeDeliveries(page.data);
      const { role } = callerOf(request);
      return {
        data: page.data.map((d) => presentDescribedDelivery(d, described.get(d.id), role)),
        next_cursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/v1/deliveries/:id',
    {
      config: tenantScoped,
      schema: {
        operationId: 'getDelivery',
        tags: ['Deliveries'],
        summary: 'Get a delivery',
        description:
          'One delivery with every attempt: request headers, response status, headers and the first 4 KiB of the body.',
        params: IdParams,
        response: { 200: DeliveryWithAttemptsSchema },
      },
    },
    async (request) => {
      const scoped = scopedStore(store, request);
      const found = await scoped.getDeliveryWithAttempts(request.params.id);
      if (!found) throw notFound('delivery', request.params.id);
      const { delivery, attempts } = found;
      const described = await scoped.describeDeliveries([delivery]);
      return {
        ...presentDescribedDelivery(delivery, described.get(delivery.id), callerOf(request).role),
        attempts: attempts.map(presentAttempt),
      };
    },
  );

  /** One immediate attempt, whatever the status; it does not restart the automatic schedule. */
  app.post(
    '/v1/deliveries/:id/retry',
    {
      config: tenantScoped,
      schema: {
        operationId: 'retryDelivery',
        tags: ['Deliveries'],
        summary: 'Retry a delivery now',
        description:
          'Makes one attempt at once, whatever the status, and answers with its outcome. It does not restart the automatic schedule. Needs a process that delivers (`herald serve`).',
        params: IdParams,
        body: NoBody,
        response: { 202: RetriedDeliverySchema },
      },
    },
    async (request, reply) => {
      const scoped = scopedStore(store, request);
      const { accountId } = scoped.scope;
      const delivery = await scoped.getDelivery(request.params.id);
      if (!delivery) throw notFound('delivery', request.params.id);
      // A deleted endpoint has nowhere to send to; a disabled one may still be tried by hand.
      if (!(await scoped.getEndpoint(delivery.endpointId))) {
        throw invalid('id', `the endpoint of this delivery (${delivery.endpointId}) has been deleted.`);
      }
      if (!dispatcher) {
        throw new HeraldError(
          'SERVICE_UNAVAILABLE',
          'This process runs the API alone (`herald api`): a manual retry needs a process with a dispatcher (`herald serve`).',
          { retryAfterSeconds: 60 },
        );
      }
      const after = await dispatcher.attemptNow(accountId, delivery.id);
      if (!after) throw notFound('delivery', request.params.id);
      const attempts = await store.listAttempts(after.id);
      const last = attempts[attempts.length - 1];
      const described = await scoped.describeDeliveries([after]);
      return reply.code(202).send({
        ...presentDescribedDelivery(after, described.get(after.id), callerOf(request).role),
        attempt: last ? presentAttempt(last) : null,
      });
    },
  );
}
