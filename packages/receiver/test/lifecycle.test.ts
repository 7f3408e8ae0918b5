/** Stopping a receiver: a deadline for hung handlers, and no webhook taken after it. */
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { receiverFixture } from './support/receivers.js';
import { envelope, post, signed, waitFor } from './support/webhooks.js';

const { make, serve } = receiverFixture();

describe('stopping a receiver', () => {
  it('stop() returns by its deadline while a handler hangs, and the next start runs that event at once', async () => {
    let runs = 0;
    const { receiver, logger } = make({
      stopTimeout: '100ms',
      on: {
        '*': async () => {
          runs++;
          if (runs === 1) await new Promise(() => {}); // never returns
        },
      },
    });
    const { url } = await serve(receiver.node());
    await receiver.start();
    const event = envelope();
    expect((await post(url, signed(event))).status).toBe(200);
    await waitFor(() => runs === 1, 5000, 'the handler to start');
    const outcome = await Promise.race([
      receiver.stop().then(() => 'stopped'),
      sleep(5000).then(() => 'still waiting'),
    ]);
    expect(outcome).toBe('stopped');
    const warning = logger.lines.find((l) => l.message.includes('stop deadline'));
    expect(warning?.fields).toMatchObject({ eventIds: [event.id] });
    // Its claim was let go: the next start runs it now, not when its 30 s lease has passed (the
    // fixture's clock does not move).
    await receiver.start();
    await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'processed', 5000, 'processed');
    expect(runs).toBe(2);
  });

  it('a handler left behind by stop() can never record its outcome over the run that took its event after', async () => {
    let runs = 0;
    let finishFirst!: () => void;
    let finishSecond!: () => void;
    const first = new Promise<void>((resolve) => (finishFirst = resolve));
    const second = new Promise<void>((resolve) => (finishSecond = resolve));
    const { receiver, dir } = make({
      stopTimeout: '100ms',
      on: {
        '*': async (_event, ctx) => {
          const run = ++runs;
          await ctx.transaction.run('INSERT INTO runs (n) VALUES (?)', [run]);
          await (run === 1 ? first : second);
        },
      },
    });
    const db = new Database(join(dir, 'inbox.db'));
    db.exec('CREATE TABLE runs (n INTEGER NOT NULL)');
    await receiver.start();
    const event = envelope();
    expect((await receiver.handle(signed(event))).status).toBe(200);
    await waitFor(() => runs === 1, 5000, 'the first run');
    await receiver.stop();
    await receiver.start();
    await waitFor(() => runs === 2, 5000, 'the second run');
    // The first run ends while the second holds the event: its commit must find the claim gone.
    finishFirst();
    await sleep(50);
    finishSecond();
    await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'processed', 5000, 'processed');
    expect(db.prepare('SELECT n FROM runs').all()).toEqual([{ n: 2 }]);
    db.close();
  });

  it('a webhook after stop() gets 503 with retry-after and does not open the inbox again', async () => {
    const { receiver } = make();
    const { url } = await serve(receiver.node());
    await receiver.start();
    await receiver.stop();
    const response = await fetch(url, { method: 'POST', ...signed(envelope()) });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toMatchObject({
      error: { code: 'SERVICE_UNAVAILABLE', reason: 'inbox_unavailable' },
    });
    await expect(receiver.inbox.list()).rejects.toThrow(/stopped/);
    // start() opens it again.
    await receiver.start();
    expect((await post(url, signed(envelope()))).status).toBe(200);
  });
});

describe('stopping a receiver that is still starting', () => {
  /** Files this process has open (Linux: /proc/self/fd). */
  const openFiles = () =>
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return []; // closed meanwhile
      }
    });

  it('stop() while the inbox is still opening leaves it closed, and start() does not go on', async () => {
    const { receiver, dir } = make();
    const file = join(dir, 'inbox.db');
    // Another connection holds the new file's write lock: the inbox's switch to WAL waits for it.
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE; CREATE TABLE holder (x)');
    const starting = receiver.start().then(
      () => 'started',
      (error: Error) => error.message,
    );
    await sleep(100);
    const stopping = receiver.stop();
    holder.exec('COMMIT');
    holder.close();
    await stopping;
    expect(await starting).toMatch(/stopped/);
    expect(openFiles().filter((f) => f.startsWith(file))).toEqual([]);
    await expect(receiver.inbox.list()).rejects.toThrow(/stopped/);
    // And it starts again as usual.
    await receiver.start();
    expect(openFiles().some((f) => f === file)).toBe(true);
  });
});
