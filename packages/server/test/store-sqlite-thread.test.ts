import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { expect, it } from 'vitest';
// The built module: a worker thread loads the compiled sqlite-worker.js (npm test builds first).
import { openThreadedSqliteStore } from '../dist/store/sqlite-thread.js';
import type { PublishInput } from '../src/store/types.js';
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

/** An event of acct_1 with this id (the shared-commit tests below). */
function event(id: string): PublishInput {
  return {
    accountId: 'acct_1',
    id,
    type: 'sync.completed',
    occurredAt: 1,
    connectionId: null,
    data: { id },
    createdAt: 2,
  };
}

it('lets writes that queue up share one commit, fails a bad one alone, and answers only what is on disk', async () => {
  const tmp = tempDir('herald-store-thread-');
  try {
    const file = join(tmp.dir, 'herald.db');
    const store = await openThreadedSqliteStore(file, { secretKey: SECRET_KEY });
    await store.createAccount('acct_1', 1);
    await store.createEndpoint(newEndpoint({ accountId: 'acct_1', createdAt: 1 }));
    const taken = await store.publish([event('evt_taken')]);
    expect(taken).toHaveLength(1);

    // Sent together, so they queue on the thread while it runs the first: one bad publish (an id
    // already stored) among forty good ones.
    const calls = Array.from({ length: 41 }, (_, i) =>
      store.publish([event(i === 20 ? 'evt_taken' : `evt_${i}`)]).then(
        (r) => ({ ok: true as const, r }),
        (error: { code?: string }) => ({ ok: false as const, code: error.code }),
      ),
    );
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(40);
    expect(outcomes[20]).toEqual({ ok: false, code: 'SQLITE_CONSTRAINT_UNIQUE' });
    const stats = await store.threadStats();
    // They shared commits: fewer commits than calls.
    expect(stats.sharedCalls).toBeGreaterThan(stats.sharedRuns);
    expect(stats.rerunRuns).toBe(0);
    await store.close();

    // A new connection sees all forty and the first, and the bad one changed nothing.
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 41 });
      expect(db.prepare('SELECT count(*) AS n FROM deliveries').get()).toEqual({ n: 41 });
      expect(db.prepare("SELECT data FROM events WHERE id = 'evt_taken'").get()).toEqual({
        data: '{"id":"evt_taken"}',
      });
    } finally {
      db.close();
    }
  } finally {
    tmp.remove();
  }
});

it('lets a claim share a commit with the writes queued around it', async () => {
  const tmp = tempDir('herald-store-thread-');
  try {
    const store = await openThreadedSqliteStore(join(tmp.dir, 'herald.db'), { secretKey: SECRET_KEY });
    await store.createAccount('acct_1', 1);
    await store.createEndpoint(newEndpoint({ accountId: 'acct_1', createdAt: 1 }));
    await store.publish([event('evt_first')]);
    const before = await store.threadStats();
    // Sent in one turn: publish, claim, publish queue up together and run as one shared transaction.
    const [, claimed, ,] = await Promise.all([
      store.publish([event('evt_a')]),
      store.claimDueDeliveries({ now: 10, limit: 10, leaseMs: 60_000 }),
      store.publish([event('evt_b')]),
      store.claimDueDeliveries({ now: 10, limit: 10, leaseMs: 60_000 }),
    ]);
    expect(claimed.map((c) => c.event.id).sort()).toEqual(['evt_a', 'evt_first']);
    const after = await store.threadStats();
    expect(after.sharedCalls - before.sharedCalls).toBeGreaterThanOrEqual(3);
    await store.close();
  } finally {
    tmp.remove();
  }
});
