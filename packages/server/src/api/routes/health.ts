import { HeraldError } from '@herald/protocol';
import { HealthSchema } from '@herald/protocol/api';
import { isStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../errors.js';
import type { Api, RouteDeps } from '../server.js';

/** Due deliveries waiting while no attempt was made for this long: the dispatcher has stalled. */
export const DISPATCHER_STALL_MS = 60_000;

export function healthRoutes(app: Api, { store, config }: RouteDeps): void {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        operationId: 'getHealth',
        tags: ['Operations'],
        summary: 'Liveness',
        description: 'Answers while the process runs. Needs no key.',
        response: { 200: HealthSchema },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        operationId: 'getReadiness',
        tags: ['Operations'],
        summary: 'Readiness',
        description:
          'Answers 200 when the store answers and deliveries are moving; 503 when the store cannot be reached or due deliveries have waited over a minute with no attempt anywhere. Needs no key.',
        response: { 200: HealthSchema },
      },
    },
    async (request) => {
      let health: Awaited<ReturnType<typeof store.deliveryHealth>>;
      try {
        await store.ping();
        health = await store.deliveryHealth(config.clock.now());
      } catch (error) {
        request.log.warn({ err: error, store_unavailable: isStoreUnavailable(error) }, 'readiness: store ping failed');
        throw new HeraldError('SERVICE_UNAVAILABLE', 'The store cannot be reached.', {
          retryAfterSeconds: STORE_RETRY_AFTER_SECONDS,
        });
      }
      // Judged from the store, not this process: a `herald api` has no dispatcher of its own, and an
      // API that answers 202 while no worker anywhere delivers must not look ready.
      const now = config.clock.now();
      const waited = health.oldestDueAt === null ? 0 : now - health.oldestDueAt;
      const idle = health.lastAttemptAt === null ? Number.POSITIVE_INFINITY : now - health.lastAttemptAt;
      if (waited > DISPATCHER_STALL_MS && idle > DISPATCHER_STALL_MS) {
        const since =
          health.lastAttemptAt === null ? 'no attempt was ever made' : `none was made for ${Math.round(idle / 1000)} s`;
        throw new HeraldError(
          'SERVICE_UNAVAILABLE',
          `Delivery has stalled: a delivery has been due for ${Math.round(waited / 1000)} s and ${since}.`,
          { retryAfterSeconds: STORE_RETRY_AFTER_SECONDS },
        );
      }
      return { status: 'ok' as const };
    },
  );
}
