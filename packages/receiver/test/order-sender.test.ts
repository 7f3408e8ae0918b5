/**
 * Exact per-key order through the real sender (issue 12, acceptance 1): `herald serve` with its
 * default endpoint concurrency (10 deliveries of one endpoint at once, so they arrive out of order),
 * a small proxy that loses two deliveries on their first attempt, and a receiver with `order.key`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heraldClient } from '../src/client.js';
import { postgresInbox } from '../src/inbox/postgres.js';
import { sqliteInbox } from '../src/inbox/sqlite.js';
import type { HandlerContext } from '../src/processor.js';
import { createReceiver, type ReceiverOptions } from '../src/receiver.js';
import { type Herald, heraldBuilt, startHerald } from './support/herald.js';
import { findPostgres, testSchema } from './support/postgres.js';
import { memoryLogger, receiverFixture } from './support/receivers.js';
import { waitFor } from './support/webhooks.js';

if (!heraldBuilt()) throw new Error('These tests spawn the built sender: run `npm run build` first.');

const { serve, tempDir, onCleanup } = receiverFixture();
const pgUrl = await findPostgres();
const EVENTS = 200;
const KEYS = 5;

interface Handled {
  id: string;
  key: string;
  sequence: number;
  source: HandlerContext['source'];
}

/**
 * Publishes EVENTS events over KEYS keys, one after another, through a proxy that answers the
 * first attempt of the event `lose[0]` with 503 and cuts the connection of `lose[1]`'s; returns
 * what the receiver handled.
 */
async function run(herald: Herald, lose: [number, number], options: (endpointId: string) => Partial<ReceiverOptions>) {
  const handled: Handled[] = [];
  const logger = memoryLogger();
  let receiver: ReturnType<typeof createReceiver> | undefined;
  const behind = await serve((req, res) => void receiver!.node()(req, res));
  const lost = new Set<number>();
  const proxy = await serve((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const n = (JSON.parse(body.toString()) as { data: { n: number } }).data.n;
      if (lose.includes(n) && !lost.has(n)) {
        lost.add(n);
        if (n === lose[0]) res.writeHead(503).end();
        else res.socket?.destroy();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      const answer = await fetch(behind.url + req.url, { method: 'POST', headers, body });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    });
  });
  const endpoint = await herald.api.endpoints.create({
    url: `${proxy.url}/hooks`,
    event_types: ['order.updated'],
  });
  receiver = createReceiver({
    secret: endpoint.secret,
    inbox: sqliteInbox(join(tempDir(), 'inbox.db')),
    logger,
    pollInterval: '10ms',
    concurrency: 8,
    order: { key: (event) => (event.data as { key: string }).key },
    on: {
      'order.updated': (event, ctx) => {
        handled.push({ id: event.id, key: ctx.orderKey!, sequence: event.sequence, source: ctx.source });
      },
    },
    ...options(endpoint.id),
  });
  onCleanup(() => receiver!.stop());
  await receiver.start();
  for (let n = 1; n <= EVENTS; n++) {
    await herald.api.events.publish({ type: 'order.updated', data: { key: `key_${n % KEYS}`, n } });
  }
  await waitFor(() => handled.length >= EVENTS, 50_000, `${EVENTS} events handled`);
  // Anything handled twice would show up a moment later.
  await new Promise((r) => setTimeout(r, 200));
  expect(lost.size).toBe(2);
  expect(handled).toHaveLength(EVENTS);
  expect(new Set(handled.map((h) => h.id)).size).toBe(EVENTS);
  for (let k = 0; k < KEYS; k++) {
    const sequences = handled.filter((h) => h.key === `key_${k}`).map((h) => h.sequence);
    expect(sequences).toHaveLength(EVENTS / KEYS);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  }
  expect(await receiver.inbox.list({ status: 'stale' })).toEqual([]);
  return { handled, receiver };
}

describe('exact order per key through the real sender, with two deliveries lost on the way', () => {
  it("the sender's retry fills the gap: every event once, each key in sequence order, none stale", async () => {
    // The default endpoint concurrency (10); a lost delivery's retry is due about 1 s later.
    const herald = await startHerald(['--retry-base', '1s']);
    onCleanup(() => herald.stop());
    const { handled } = await run(herald, [37, 121], () => ({}));
    expect(handled.every((h) => h.source === 'webhook')).toBe(true);
  }, 90_000);

  it("the watchdog fills the gap from the endpoint's stream once gapGrace is over", async () => {
    // Retries an hour apart: the lost two can only come by polling.
    const herald = await startHerald(['--retry-base', '1h']);
    onCleanup(() => herald.stop());
    const readKey = (await herald.api.apiKeys.create({ role: 'read' })).key;
    const { handled } = await run(herald, [2, 150], (endpointId) => ({
      fallback: {
        silentAfter: '1h',
        gapGrace: '300ms',
        client: heraldClient({ baseUrl: herald.url, apiKey: readKey, endpointId }),
      },
    }));
    // The lost two came by polling (with, maybe, a few the stream had before their delivery came).
    const polled = handled.filter((h) => h.source === 'poll').map((h) => h.sequence);
    expect(polled).toContain(2);
    expect(polled).toContain(150);
  }, 90_000);
});

describe.skipIf(pgUrl === null)('the same on a PostgreSQL inbox', () => {
  it("the sender's retry fills the gap: every event once, each key in sequence order, none stale", async () => {
    const herald = await startHerald(['--retry-base', '1s']);
    onCleanup(() => herald.stop());
    const schema = await testSchema(pgUrl!);
    onCleanup(() => schema.drop());
    const { handled } = await run(herald, [37, 121], () => ({
      inbox: postgresInbox({ connectionString: pgUrl!, schema: schema.schema }),
    }));
    expect(handled.every((h) => h.source === 'webhook')).toBe(true);
  }, 90_000);
});
