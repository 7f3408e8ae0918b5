import { HeraldError } from '@herald/protocol';
import { callerOf } from '../auth.js';
import { invalid, notFound } from '../errors.js';
import { presentAttempt, presentDelivery } from '../present.js';
import { DeliveryPageSchema, DeliveryWithAttemptsSchema, RetriedDeliverySchema } from '../response-schemas.js';
import { DEFAULT_PAGE, DeliveriesQuery, IdParams, NoBody } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';

export function deliveryRoutes(app: Api, { store, dispatcher }: RouteDeps): void {
  app.get(
    '/v1/deliveries',
    {
      schema: {
        operationId: 'listDeliveries',
        tags: ['Deliveries'],
        summary: 'List deliveries',
        description: 'Deliveries of the account, newest first, filtered by `status`, `endpoint_id` and `event_id`.',
        querystring: DeliveriesQuery,
        response: { 200: DeliveryPageSchema },
      },
    },
    async (request) => {
      const { accountId } = callerOf(request);
      const q = request.query;
      const page = await store.listDeliveries(accountId, {
        status: q.status,
        endpointId: q.endpoint_id,
        eventId: q.event_id,
        cursor: q.cursor,
        limit: q.limit ?? DEFAULT_PAGE,
      });
      return { data: page.data.map(presentDelivery), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/deliveries/:id',
    {
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
      const { accountId } = callerOf(request);
      const delivery = await store.getDelivery(accountId, request.params.id);
      if (!delivery) throw notFound('delivery', request.params.id);
      const attempts = await store.listAttempts(delivery.id);
      return { ...presentDelivery(delivery), attempts: attempts.map(presentAttempt) };
    },
  );

  /** One immediate attempt, whatever the status; it does not restart the automatic schedule. */
  app.post(
    '/v1/deliveries/:id/retry',
    {
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
      const { accountId } = callerOf(request);
      const delivery = await store.getDelivery(accountId, request.params.id);
      if (!delivery) throw notFound('delivery', request.params.id);
      // A deleted endpoint has nowhere to send to; a disabled one may still be tried by hand.
      if (!(await store.getEndpoint(accountId, delivery.endpointId))) {
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
      return reply.code(202).send({ ...presentDelivery(after), attempt: last ? presentAttempt(last) : null });
    },
  );
}
