import { newId } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres.js';
import type { PublishInput } from '../src/store/types.js';
import { findPostgres, testSchema } from './pg-database.js';

const pgUrl = await findPostgres();
const account = 'acct_01JDFEEDTEST00000000000000';

function event(n: number): PublishInput {
  return {
    accountId: account,
    id: newId('event'),
    type: 'sync.completed',
    occurredAt: n,
    connectionId: null,
    data: { n },
    createdAt: n,
  };
}

describe.skipIf(pgUrl === null)('the PostgreSQL events feed', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('never lets a poller pass an event whose transaction commits late', async () => {
    const schema = testSchema(pgUrl as string);
    cleanups.push(() => schema.drop());
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let holdNext = true;
    // Process A: its publish transaction stays open until the test releases it.
    const slow: PostgresStore = await openPostgresStore(schema.url, {
      beforePublishCommit: async () => {
        if (!holdNext) return;
        holdNext = false;
        await gate;
      },
    });
    cleanups.push(() => slow.close());
    // Process B: publishes after A began, and would commit first if nothing ordered them.
    const fast = await openPostgresStore(schema.url);
    cleanups.push(() => fast.close());
    await fast.createAccount(account, 0);

    const first = slow.publish([event(1)]);
    await new Promise((r) => setTimeout(r, 100));
    let secondDone = false;
    const second = fast.publish([event(2)]).then((r) => {
      secondDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));

    // While A is open, B waits behind it and a poller sees neither: nothing it could skip later.
    expect(secondDone).toBe(false);
    const during = await fast.listEvents(account, { limit: 10 });
    expect(during.data).toEqual([]);

    release();
    const [[a], [b]] = await Promise.all([first, second]);
    const feed = await fast.listEvents(account, { after: during.nextCursor ?? undefined, limit: 10 });
    expect(feed.data.map((e) => e.id)).toEqual([a?.id, b?.id]);
    expect(feed.data[0]!.feedSeq).toBeLessThan(feed.data[1]!.feedSeq);
  });
});
