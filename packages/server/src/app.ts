import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApi } from './api/server.js';
import { ensureFirstKey } from './api-keys.js';
import type { Config } from './config.js';
import { createDispatcher, type Dispatcher } from './dispatch/dispatcher.js';
import { createGroupCommit } from './store/group-commit.js';
import { openStore } from './store/open.js';
import type { Store } from './store/types.js';

export type Role = 'serve' | 'api' | 'worker';

export interface Herald {
  config: Config;
  store: Store;
  /** Present unless the role is `worker`. */
  api: FastifyInstance | undefined;
  /** Present unless the role is `api`. */
  dispatcher: Dispatcher | undefined;
  /** `http://127.0.0.1:<port>` of the API, when it listens. */
  url: string | undefined;
  /** The admin key made at first start, when HERALD_BOOTSTRAP_KEY was not set. */
  generatedKey: string | undefined;
  /** Stop claiming, let attempts in flight finish or give them back, close the store. */
  close(): Promise<void>;
}

/** Opens the store, runs migrations, and starts the API and/or the dispatcher. */
export async function startHerald(config: Config, role: Role = 'serve'): Promise<Herald> {
  const logger = pino({ level: config.logLevel, base: undefined });
  const store = await openStore(config.db);
  const generatedKey = await ensureFirstKey(store, config);
  const publisher = createGroupCommit((events: Parameters<Store['publish']>[0]) => store.publish(events));

  const dispatcher = role === 'api' ? undefined : createDispatcher({ config, store, logger });
  const api = role === 'worker' ? undefined : await buildApi({ config, store, publisher, logger, dispatcher });
  let url: string | undefined;
  if (api) {
    await api.listen({ port: config.port, host: config.host });
    const address = api.server.address() as AddressInfo;
    url = `http://127.0.0.1:${address.port}`;
  }
  dispatcher?.start();

  let closing: Promise<void> | undefined;
  return {
    config,
    store,
    api,
    dispatcher,
    url,
    generatedKey,
    close() {
      closing ??= (async () => {
        await api?.close();
        await publisher.drain();
        await dispatcher?.stop();
        await store.close();
      })();
      return closing;
    },
  };
}
