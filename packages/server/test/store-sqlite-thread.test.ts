import { join } from 'node:path';
import { expect, it } from 'vitest';
// The built module: a worker thread loads the compiled sqlite-worker.js (npm test builds first).
import { openThreadedSqliteStore } from '../dist/store/sqlite-thread.js';
import { newEndpoint, storeSuite } from './store-suite.js';
import { tempDir } from './temp-dir.js';

const SECRET_KEY = Buffer.alloc(32, 3).toString('base64');

storeSuite('SQLite on its own thread', async () => {
  const tmp = tempDir('herald-store-thread-');
  const store = await openThreadedSqliteStore(join(tmp.dir, 'herald.db'), { secretKey: SECRET_KEY });
  return {
    store,
    async cleanup() {
      await store.close();
      tmp.remove();
    },
  };
});

it('carries a store error across the thread with its code, and refuses calls once closed', async () => {
  const tmp = tempDir('herald-store-thread-');
  try {
    const store = await openThreadedSqliteStore(join(tmp.dir, 'herald.db'), { secretKey: SECRET_KEY });
    await store.createAccount('acct_1', 1);
    const duplicate = await store.createAccount('acct_1', 1).catch((error: unknown) => error);
    expect(duplicate).toBeInstanceOf(Error);
    expect((duplicate as { code?: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    await store.close();
    await expect(store.ping()).rejects.toThrow(/not open/);
  } finally {
    tmp.remove();
  }
});

it('fails to open with the store’s own message when the key is wrong', async () => {
  const tmp = tempDir('herald-store-thread-');
  try {
    const db = join(tmp.dir, 'herald.db');
    const store = await openThreadedSqliteStore(db, { secretKey: SECRET_KEY });
    await store.createAccount('acct_1', 1);
    await store.createEndpoint(
      newEndpoint({ id: 'ep_1', accountId: 'acct_1', url: 'https://example.com/hook', createdAt: 1 }),
    );
    await store.close();
    const other = Buffer.alloc(32, 4).toString('base64');
    await expect(openThreadedSqliteStore(db, { secretKey: other })).rejects.toThrow(/HERALD_SECRET_KEY/);
  } finally {
    tmp.remove();
  }
});
