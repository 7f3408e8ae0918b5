import { HeraldError } from '@herald/protocol';
import { isStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../errors.js';
import type { Api, RouteDeps } from '../server.js';

/** Due deliveries waiting while no attempt was made for this long: the dispatcher has stalled. */
export const DISPATCHER_STALL_MS = 60_000;

export function healthRoutes(app: Api, { store, config, dispatcher }: RouteDeps): void {
  const startedAt = config.clock.now();

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request) => {
    try {
      await store.ping();
    } catch (error) {
      request.log.warn({ err: error, store_unavailable: isStoreUnavailable(error) }, 'readiness: store ping failed');
      throw new HeraldError('SERVICE_UNAVAILABLE', 'The store cannot be reached.', {
        retryAfterSeconds: STORE_RETRY_AFTER_SECONDS,
      });
    }
    // dueCount is optional in the dispatcher's stats: without it, a stall cannot be told apart from idleness.
    const stats: { inFlight: number; lastAttemptAt: number | null; dueCount?: number } | undefined =
      dispatcher?.stats();
    if (stats && (stats.dueCount ?? 0) > 0 && stats.inFlight === 0) {
      const idleFor = config.clock.now() - (stats.lastAttemptAt ?? startedAt);
      if (idleFor > DISPATCHER_STALL_MS) {
        throw new HeraldError(
          'SERVICE_UNAVAILABLE',
          `The dispatcher has stalled: ${stats.dueCount} deliveries are due and none was attempted for ${Math.round(idleFor / 1000)} s.`,
          { retryAfterSeconds: STORE_RETRY_AFTER_SECONDS },
        );
      }
    }
    return { status: 'ok' };
  });
}
