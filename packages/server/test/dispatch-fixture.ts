import { join } from 'node:path';
import { type ManualClock, manualClock, newId } from '@herald/protocol';
import { pino } from 'pino';
import { type Config, makeConfig } from '../src/config.js';
import { createDispatcher, type Dispatcher } from '../src/dispatch/dispatcher.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import type { AttemptRecord, DeliveryRecord, EndpointRecord, NewEndpoint } from '../src/store/types.js';
import { tempDir } from './temp-dir.js';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export interface DispatchFixture {
  store: SqliteStore;
  dispatcher: Dispatcher;
  config: Config;
  clock: ManualClock;
  accountId: string;
  endpoint(url: string, overrides?: Partial<NewEndpoint>): Promise<EndpointRecord>;
  /** Publishes `count` events of `type` now; returns the delivery ids, in order. */
  publish(count?: number, type?: string, data?: unknown): Promise<string[]>;
  delivery(id: string): Promise<DeliveryRecord>;
  attempts(deliveryId: string): Promise<AttemptRecord[]>;
  close(): Promise<void>;
}

/**
 * A dispatcher on a real SQLite file in a temp dir, with a manual clock (unless `clock` is given)
 * and retry jitter pinned to 0; endpoints may point at 127.0.0.1 unless the test says otherwise.
 */
export async function dispatchFixture(overrides: Partial<Config> = {}): Promise<DispatchFixture> {
  const tmp = tempDir('herald-dispatch-');
  const store = openSqliteStore(join(tmp.dir, 'herald.db'));
  const clock = manualClock(Date.parse('2026-11-27T06:00:00.000Z'));
  const config = makeConfig({
    allowPrivateNetworks: true,
    logLevel: 'silent',
    clock,
    random: () => 0,
    ...overrides,
  });
  const dispatcher = createDispatcher({ config, store, logger: pino({ level: 'silent' }) });
  const accountId = newId('account');
  await store.createAccount(accountId, config.clock.now());
  let closed = false;
  return {
    store,
    dispatcher,
    config,
    clock,
    accountId,
    endpoint: (url, rest = {}) =>
      store.createEndpoint({
        id: newId('endpoint'),
        accountId,
        url,
        description: '',
        eventTypes: [],
        connectionIds: [],
        secret: SECRET,
        signatureScheme: 'standard-webhooks',
        headers: {},
        rateLimitPerS: null,
        disabled: false,
        createdAt: config.clock.now(),
        ...rest,
      }),
    async publish(count = 1, type = 'sync.completed', data = { rows: 1 }) {
      const now = config.clock.now();
      const results = await store.publish(
        Array.from({ length: count }, () => ({
          accountId,
          id: newId('event', now),
          type,
          occurredAt: now,
          connectionId: 'con_1',
          data,
          createdAt: now,
        })),
      );
      return results.flatMap((r) => r.deliveries);
    },
    delivery: async (id) => (await store.getDelivery(accountId, id)) as DeliveryRecord,
    attempts: (id) => store.listAttempts(id),
    async close() {
      if (closed) return;
      closed = true;
      await dispatcher.stop();
      await store.close();
      tmp.remove();
    },
  };
}
