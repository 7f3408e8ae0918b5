import type { AddressInfo } from 'node:net';
import { createGroupCommit } from '@herald/protocol';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { isStoreUnavailable } from './api/errors.js';
import { buildApi } from './api/server.js';
import { ensureFirstKey } from './api-keys.js';
import type { Config } from './config.js';
import { createDispatcher, type Dispatcher } from './dispatch/dispatcher.js';
import { type BackgroundChecks, createBackgroundChecks } from './health/background-checks.js';
import { createJobRunner, type JobRunner } from './jobs/bulk-retry.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openStore } from './store/open.js';
import type { PostgresStore } from './store/postgres.js';
import type { Store } from './store/types.js';

export type Role = 'serve' | 'api' | 'worker';

export interface Herald {
  config: Config;
  store: Store;
  /** Present unless the role is `worker`. */
  api: FastifyInstance | undefined;
  /** Present unless the role is `api`. */
  dispatcher: Dispatcher | undefined;
  /** Bulk jobs (bulk retry); present unless the role is `api`, where a worker runs them. */
  jobs: JobRunner | undefined;
  /** `http://127.0.0.1:<port>` of the API, when it listens. */
  url: string | undefined;
  /** Endpoint disabling, alerts and retention; present unless the role is `api`. */
  checks: BackgroundChecks | undefined;
  /** This Herald's Prometheus registry and counters (GET /metrics). */
  metrics: Metrics;
  /** The admin key made at first start, when HERALD_BOOTSTRAP_KEY was not set. */
  generatedKey: string | undefined;
  /** Stop claiming, let attempts in flight finish or give them back, close the store. */
  close(): Promise<void>;
}

/** Opens the store, runs migrations, and starts the API and/or the dispatcher. */
export async function startHerald(config: Config, role: Role = 'serve'): Promise<Herald> {
  // No line of ours carries request headers; should one ever (an error's request, a debug line),
  // the credential in them stays out: API keys and portal tokens alike.
  const logger = pino({
    level: config.logLevel,
    base: undefined,
    redact: { paths: ['req.headers.authorization', 'request.headers.authorization', 'headers.authorization'] },
  });
  const store = await openStore(config.db, { secretKey: config.secretKey });
  const metrics = createMetrics({ store, clock: config.clock });
  const generatedKey = await ensureFirstKey(store, config);
  // The group commit the receiver's inbox inserts use too (@herald/protocol), with one writer: each
  // publish transaction takes the feed counter's row lock first, so two at once would only queue
  // there. A batch is split to isolate a bad publish unless the store is unreachable.
  const publisher = createGroupCommit(
    async (events: Parameters<Store['publish']>[0]) => {
      const results = await store.publish(events);
      metrics.eventsPublished(results.filter((r, i) => r.idempotency === undefined && !events[i]?.eventless).length);
      return results;
    },
    { splits: (error) => !isStoreUnavailable(error) },
  );

  if (role !== 'api' && config.claimLeaseMs <= 2 * config.attemptTimeoutMs) {
    logger.warn(
      { claim_lease_ms: config.claimLeaseMs, attempt_timeout_ms: config.attemptTimeoutMs },
      '--claim-lease is not longer than twice the attempt timeout: with several workers, a slow attempt may outlive its lease and be sent again, and an endpoint may get more than its cap of requests at once',
    );
  }
  const dispatcher = role === 'api' ? undefined : createDispatcher({ config, store, logger, metrics });
  const checks = dispatcher && createBackgroundChecks({ config, store, logger });
  const jobs = dispatcher && createJobRunner({ config, store, logger, dispatcher });
  const api =
    role === 'worker' ? undefined : await buildApi({ config, store, publisher, logger, dispatcher, jobs, metrics });
  let url: string | undefined;
  if (api) {
    await api.listen({ port: config.port, host: config.host });
    const address = api.server.address() as AddressInfo;
    url = `http://127.0.0.1:${address.port}`;
  }
  dispatcher?.start();
  // On PostgreSQL a publish in any process wakes this dispatcher at once (LISTEN/NOTIFY); its poll
  // stays as the backstop for a notification lost while the listening connection was down.
  const stopListening =
    dispatcher && store.kind === 'postgres'
      ? (store as PostgresStore).onDeliveriesDue((endpointIds) => dispatcher.wake(endpointIds))
      : undefined;
  jobs?.start();
  checks?.start();

  let closing: Promise<void> | undefined;
  return {
    config,
    store,
    api,
    dispatcher,
    jobs,
    checks,
    metrics,
    url,
    generatedKey,
    close() {
      closing ??= (async () => {
        await api?.close();
        await publisher.drain();
        stopListening?.();
        // Jobs first: their attempts in flight go through the dispatcher.
        await jobs?.stop();
        await checks?.stop();
        await dispatcher?.stop();
        await store.close();
      })();
      return closing;
    },
  };
}
