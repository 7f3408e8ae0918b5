/**
 * One webhook can never hurt another: the route's inserts are group-committed, and a webhook whose
 * row the inbox cannot store fails alone, with a 400 that names why. The others of its batch get
 * 200 and are stored.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresInbox } from '../src/inbox/postgres.js';
import { sqliteInbox } from '../src/inbox/sqlite.js';
import type { Inbox } from '../src/inbox/types.js';
import { createReceiver } from '../src/receiver.js';
import { findPostgres, testSchema } from './support/postgres.js';
import { memoryLogger } from './support/receivers.js';
import { envelope, SECRET, signed } from './support/webhooks.js';

const pgUrl = await findPostgres();

type ErrorAnswer = { error?: { message?: string } & Record<string, unknown> };

/**
 * 100 ordinary webhooks and two hostile ones, all POSTed at once to a real route: one whose `type`
 * holds U+0000, one whose id is 6,404 characters (longer than a btree index row may be).
 */
async function burst(inbox: Inbox) {
  const receiver = createReceiver({ secret: SECRET, inbox, logger: memoryLogger(), on: { '*': async () => {} } });
  const server = createServer(receiver.node());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await receiver.start();
    const ordinary = Array.from({ length: 100 }, () => envelope());
    // The signed body carries the escape `\u0000`: valid JSON, and the parsed `type` holds a NUL.
    const nul = envelope({ type: 'sync.completed\u0000' });
    const long = envelope({ id: `evt_${randomBytes(3200).toString('hex')}` });
    const all = [...ordinary.slice(0, 50), nul, ...ordinary.slice(50, 75), long, ...ordinary.slice(75)];
    const answers = await Promise.all(
      all.map(async (e) => {
        const delivery = signed(e);
        const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
        return {
          status: response.status,
          requestId: response.headers.get('x-request-id'),
          body: (await response.json()) as ErrorAnswer,
        };
      }),
    );
    const stored = await Promise.all(all.map((e) => receiver.inbox.get(e.id)));
    return { answers, stored, nulAt: 50, longAt: 76 };
  } finally {
    await receiver.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The receiver's 400 for a webhook its inbox cannot store: the body's fault, a retry cannot help. */
function expectRefused(answer: { status: number; requestId: string | null; body: ErrorAnswer }, why: RegExp) {
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({
    error: {
      code: 'INVALID_REQUEST',
      type: 'invalid_request_error',
      reason: 'invalid_body',
      request_id: answer.requestId,
    },
  });
  expect(answer.body.error?.message).toMatch(/cannot store this webhook/);
  expect(answer.body.error?.message).toMatch(why);
}

describe.skipIf(pgUrl === null)('a PostgreSQL inbox, a burst with webhooks whose rows it cannot take', () => {
  let schema: { schema: string; drop(): Promise<void> };
  beforeAll(async () => {
    schema = await testSchema(pgUrl!);
  });
  afterAll(async () => {
    await schema?.drop();
  });

  it('stores and answers 200 to every other webhook; each bad one alone gets 400 invalid_body', async () => {
    const { answers, stored, nulAt, longAt } = await burst(
      postgresInbox({ connectionString: pgUrl!, schema: schema.schema, table: 'hostile' }),
    );
    const ordinary = (_: unknown, i: number) => i !== nulAt && i !== longAt;
    expect(answers.filter(ordinary).map((a) => a.status)).toEqual(Array(100).fill(200));
    expect(stored.filter((row, i) => ordinary(row, i) && row !== null)).toHaveLength(100);
    // PostgreSQL's text refuses NUL; a btree refuses a key over a third of a page. Every retry would
    // fail the same, so it is the body's fault (400), not the inbox's (503 with retry-after).
    expectRefused(answers[nulAt]!, /0x00/);
    expectRefused(answers[longAt]!, /index row size/);
    expect(stored[nulAt]).toBeNull();
    expect(stored[longAt]).toBeNull();
  });
});

describe.skipIf(pgUrl === null)('a PostgreSQL inbox, a poll that brings an event it cannot take', () => {
  let schema: { schema: string; drop(): Promise<void> };
  beforeAll(async () => {
    schema = await testSchema(pgUrl!);
  });
  afterAll(async () => {
    await schema?.drop();
  });

  it('stores the rest of that page and the pages after it, skips the bad one with one log line, and moves the cursor on', async () => {
    // Two pages of ten; the fourth event of the first holds U+0000, which PostgreSQL's text refuses.
    const pages = [
      Array.from({ length: 10 }, (_, i) => envelope(i === 3 ? { type: 'sync.completed\u0000' } : {})),
      Array.from({ length: 10 }, () => envelope()),
    ];
    const cursors: Array<string | null> = [];
    const logger = memoryLogger();
    const receiver = createReceiver({
      secret: SECRET,
      inbox: postgresInbox({ connectionString: pgUrl!, schema: schema.schema, table: 'polled' }),
      logger,
      on: { '*': async () => {} },
      fallback: {
        silentAfter: '100ms',
        pollInterval: '100ms',
        poll: async (cursor) => {
          cursors.push(cursor);
          const page = cursor === null ? 0 : cursor === 'page-1' ? 1 : 2;
          return {
            events: (pages[page] ?? []).map((e) => ({ id: e.id, body: JSON.stringify(e) })),
            cursor: page >= 1 ? 'page-2' : 'page-1',
          };
        },
      },
    });
    try {
      await receiver.start();
      const wanted = [...pages[0]!.filter((_, i) => i !== 3), ...pages[1]!];
      const deadline = Date.now() + 10_000;
      let stored = 0;
      while (Date.now() < deadline) {
        stored = (await Promise.all(wanted.map((e) => receiver.inbox.get(e.id)))).filter((r) => r !== null).length;
        if (stored === wanted.length && cursors.filter((c) => c === 'page-2').length >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stored).toBe(19);
      expect(await receiver.inbox.get(pages[0]![3]!.id)).toBeNull();
      // The second page was read, and later checks start after it: the bad event is not polled again.
      expect(cursors).toContain('page-1');
      expect(cursors.filter((c) => c === null)).toHaveLength(1);
      const skipped = logger.lines.filter((l) => /cannot store a polled event/.test(l.message));
      expect(skipped).toHaveLength(1);
      expect(skipped[0]!.fields).toMatchObject({ eventId: pages[0]![3]!.id });
      expect(logger.lines.filter((l) => /could not poll/.test(l.message))).toHaveLength(0);
    } finally {
      await receiver.stop();
    }
  });
});

describe('a SQLite inbox, the same burst', () => {
  it('stores all 102: SQLite takes NUL in text and a long key, so no row of this burst fails there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-hostile-batch-'));
    try {
      const { answers, stored, nulAt, longAt } = await burst(sqliteInbox(join(dir, 'inbox.db')));
      expect(answers.map((a) => a.status)).toEqual(Array(102).fill(200));
      expect(stored[nulAt]?.type).toBe('sync.completed\u0000');
      expect(stored[longAt]).not.toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
