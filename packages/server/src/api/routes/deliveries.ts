import { HeraldError } from '@herald/protocol';
import { invalid, notFound } from '../errors.js';
import { presentAttempt, presentDelivery } from '../present.js';
import { DEFAULT_PAGE, DeliveriesQuery, IdParams, NoBody } from '../schemas.js';
import { scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';

export function deliveryRoutes(app: Api, { store, dispatcher }: RouteDeps): void {
  // Every route here works through the request's scope: a portal session may call each of them.
  const tenantScoped = { tenantScoped: true };

  app.get('/v1/deliveries', { config: tenantScoped, schema: { querystring: DeliveriesQuery } }, async (request) => {
    const q = request.query;
    const page = await scopedStore(store, request).listDeliveries({
      tenantId: q.tenant_id,
      status: q.status,
      endpointId: q.endpoint_id,
      eventId: q.event_id,
      cursor: q.cursor,
      limit: q.limit ?? DEFAULT_PAGE,
    });
    return { data: page.data.map(presentDelivery), next_cursor: page.nextCursor };
  });

  app.get('/v1/deliveries/:id', { config: tenantScoped, schema: { params: IdParams } }, async (request) => {
    const found = await scopedStore(store, request).getDeliveryWithAttempts(request.params.id);
    if (!found) throw notFound('delivery', request.params.id);
    const { delivery, attempts } = found;
    return { ...presentDelivery(delivery), attempts: attempts.map(presentAttempt) };
  });

  /** One immediate attempt, whatever the status; it does not restart the automatic schedule. */
  app.post(
    '/v1/deliveries/:id/retry',
    { config: tenantScoped, schema: { params: IdParams, body: NoBody } },
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
      return reply.code(202).send({ ...presentDelivery(after), attempt: last ? presentAttempt(last) : null });
    },
  );
}
