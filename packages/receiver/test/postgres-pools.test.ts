/**
 * "Handlers never slow the route" on PostgreSQL: the route's inserts have a pool of their own, so
 * handlers that hold every processing connection (ctx.transaction) make no webhook wait.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresInbox } from '../src/inbox/postgres.js';
import { createReceiver } from '../src/receiver.js';
import { findPostgres, testSchema } from './support/postgres.js';
import { memoryLogger } from './support/receivers.js';
import { envelope, post, SECRET, signed, waitFor } from './support/webhooks.js';

const pgUrl = await findPostgres();

describe.skipIf(pgUrl === null)('a PostgreSQL inbox whose handlers hold every connection they may', () => {
  let schema: { schema: string; drop(): Promise<void> };
  beforeAll(async () => {
    schema = await testSchema(pgUrl!);
  });
  afterAll(async () => {
    await schema?.drop();
  });

  it('answers webhooks while 24 handlers want ctx.transaction and the default 20 connections are all held', async () => {
    let holding = 0;
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    const logger = memoryLogger();
    const receiver = createReceiver({
      secret: SECRET,
      inbox: postgresInbox({ connectionString: pgUrl!, schema: schema.schema, table: 'pools' }),
      concurrency: 24,
      pollInterval: '10ms',
      logger,
      on: {
        '*': async (_event, ctx) => {
          await ctx.transaction.run('SELECT 1');
          holding++;
          await released;
        },
      },
    });
    const server = createServer(receiver.node());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await receiver.start();
      const first = await Promise.all(Array.from({ length: 24 }, () => post(url, signed(envelope()))));
      expect(first.map((r) => r.status)).toEqual(Array(24).fill(200));
      // 20 handlers hold a connection each in an open transaction; 4 wait for one.
      await waitFor(() => holding === 20, 10_000, '20 handlers holding transactions');
      const more = Promise.all(Array.from({ length: 30 }, () => post(url, signed(envelope()))));
      const answered = await Promise.race([more, sleep(10_000).then(() => 'no answer in 10 s' as const)]);
      expect(answered).not.toBe('no answer in 10 s');
      expect((answered as { status: number }[]).map((r) => r.status)).toEqual(Array(30).fill(200));
      // Answered while the handlers still held every connection.
      expect(holding).toBe(20);
      letGo();
      await waitFor(
        async () => (await receiver.inbox.list({ status: 'processed', limit: 100 })).length === 54,
        15_000,
        'every event processed once the handlers let go',
      );
    } finally {
      letGo();
      await receiver.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("with the application's own pool: handlers may take all of it, the route keeps a pool of its own", async () => {
    const appPool = new pg.Pool({ connectionString: pgUrl!, max: 2 });
    let holding = 0;
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    const receiver = createReceiver({
      secret: SECRET,
      inbox: postgresInbox({ pool: appPool, schema: schema.schema, table: 'shared' }),
      concurrency: 4,
      pollInterval: '10ms',
      logger: memoryLogger(),
      on: {
        '*': async (_event, ctx) => {
          await ctx.transaction.run('SELECT 1');
          holding++;
          await released;
        },
      },
    });
    try {
      await receiver.start();
      for (let i = 0; i < 4; i++) expect((await receiver.handle(signed(envelope()))).status).toBe(200);
      await waitFor(() => holding === 2, 10_000, "2 handlers holding the application's 2 connections");
      const answered = await Promise.race([
        receiver.handle(signed(envelope())),
        sleep(10_000).then(() => 'no answer in 10 s' as const),
      ]);
      expect(answered).toMatchObject({ status: 200 });
      expect(holding).toBe(2);
    } finally {
      letGo();
      await receiver.stop();
      await appPool.end();
    }
  });
});
