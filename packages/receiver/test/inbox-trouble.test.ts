/**
 * When the inbox, not the handler, is in trouble: a commit that fails after a handler succeeded,
 * a file that cannot be opened.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts.js';
import { postgresInbox } from '../src/inbox/postgres.js';
import { sqliteInbox } from '../src/inbox/sqlite.js';
import { findPostgres, testSchema } from './support/postgres.js';
import { receiverFixture } from './support/receivers.js';
import { envelope, signed, waitFor } from './support/webhooks.js';

const { make, tempDir } = receiverFixture();
const pgUrl = await findPostgres();

async function failedRuns(receiver: { metrics: { getSingleMetric(name: string): unknown } }): Promise<number> {
  const metric = receiver.metrics.getSingleMetric('herald_receiver_failed_total') as {
    get(): Promise<{ values: { value: number }[] }>;
  };
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

describe('a handler that succeeded is never blamed for the inbox failing to record it', () => {
  it('SQLite: a commit refused by a busy database lets the event run again; it is not failed, dead, or alerted', async () => {
    const file = join(tempDir(), 'inbox.db');
    let runs = 0;
    let holder: Database.Database | undefined;
    const alerts: Alert[] = [];
    const { receiver, clock, logger } = make({
      inbox: sqliteInbox({ filename: file, busyTimeoutMs: 20 }),
      retry: { attempts: 1 },
      onAlert: (alert) => void alerts.push(alert),
      on: {
        '*': async () => {
          runs++;
          // Another process takes the write lock as the first run ends, and keeps it past the busy timeout.
          if (runs === 1) {
            holder = new Database(file);
            holder.exec('BEGIN IMMEDIATE');
          }
        },
      },
    });
    await receiver.start();
    const event = envelope();
    expect((await receiver.handle(signed(event))).status).toBe(200);
    await waitFor(
      () => logger.lines.some((l) => l.message.includes('could not record the outcome')),
      5000,
      'the failed commit',
    );
    holder!.exec('ROLLBACK');
    holder!.close();
    // If letting go failed too (the lock was still held), the event runs again when its lease passes.
    clock.advance(31_000);
    await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'processed', 5000, 'processed');
    expect(runs).toBe(2);
    expect((await receiver.inbox.get(event.id))?.attempts).toBe(1);
    expect(await failedRuns(receiver)).toBe(0);
    expect(alerts).toEqual([]);
  });

  it("SQLite: a statement of the handler's own that fails at commit is still the handler's failure", async () => {
    const alerts: Alert[] = [];
    const { receiver } = make({
      retry: { attempts: 1 },
      onAlert: (alert) => void alerts.push(alert),
      on: { '*': (_event, ctx) => ctx.transaction.run('INSERT INTO no_such_table VALUES (1)') },
    });
    await receiver.start();
    const event = envelope();
    await receiver.handle(signed(event));
    await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'dead', 5000, 'dead');
    expect(alerts.map((a) => a.kind)).toEqual(['dead']);
  });

  describe.skipIf(pgUrl === null)('PostgreSQL', () => {
    let schema: { schema: string; drop(): Promise<void> };
    let admin: pg.Pool;
    beforeAll(async () => {
      schema = await testSchema(pgUrl!);
      admin = new pg.Pool({ connectionString: pgUrl!, max: 1 });
    });
    afterAll(async () => {
      await admin?.end();
      await schema?.drop();
    });

    it('a transaction whose connection PostgreSQL ends lets the event run again; it is not failed, dead, or alerted', async () => {
      let runs = 0;
      const alerts: Alert[] = [];
      const { receiver } = make({
        inbox: postgresInbox({ connectionString: pgUrl!, schema: schema.schema, table: 'hiccup' }),
        retry: { attempts: 1 },
        onAlert: (alert) => void alerts.push(alert),
        on: {
          '*': async (_event, ctx) => {
            runs++;
            const [row] = await ctx.transaction.all<{ pid: number }>('SELECT pg_backend_pid() AS pid');
            if (runs === 1) await admin.query('SELECT pg_terminate_backend($1)', [row!.pid]);
          },
        },
      });
      await receiver.start();
      const event = envelope();
      expect((await receiver.handle(signed(event))).status).toBe(200);
      await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'processed', 10_000, 'processed');
      expect(runs).toBe(2);
      expect(await failedRuns(receiver)).toBe(0);
      expect(alerts).toEqual([]);
    });

    it('a handler whose ctx.transaction loses its connection mid-way is not blamed for it either', async () => {
      let runs = 0;
      const alerts: Alert[] = [];
      const { receiver } = make({
        inbox: postgresInbox({ connectionString: pgUrl!, schema: schema.schema, table: 'midway' }),
        retry: { attempts: 1 },
        onAlert: (alert) => void alerts.push(alert),
        on: {
          '*': async (_event, ctx) => {
            runs++;
            // PostgreSQL ends the connection under the handler's statement; the handler lets the error out.
            if (runs === 1) await ctx.transaction.all('SELECT pg_terminate_backend(pg_backend_pid())');
            await ctx.transaction.run('SELECT 1');
          },
        },
      });
      await receiver.start();
      const event = envelope();
      expect((await receiver.handle(signed(event))).status).toBe(200);
      await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'processed', 10_000, 'processed');
      expect(runs).toBe(2);
      expect(await failedRuns(receiver)).toBe(0);
      expect(alerts).toEqual([]);
    });
  });
});

describe('errors about the inbox file', () => {
  it('name the file', async () => {
    const file = join(tempDir(), 'no-such-dir', 'inbox.db');
    const { receiver } = make({ inbox: sqliteInbox(file) });
    await expect(receiver.start()).rejects.toThrow(file);
  });
});
