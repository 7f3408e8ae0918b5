/**
 * System tests against the real sender: `herald serve` spawned from packages/server (built by
 * `npm run build`; `npm test` builds first).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { HeraldError as ClientHeraldError } from '@herald/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts.js';
import { heraldClient } from '../src/client.js';
import { sqliteInbox } from '../src/inbox/sqlite.js';
import { HeraldError } from '../src/index.js';
import type { HandlerContext } from '../src/processor.js';
import { createReceiver, type Receiver, type ReceiverOptions } from '../src/receiver.js';
import { type Herald, heraldBuilt, startHerald } from './support/herald.js';
import { memoryLogger, receiverFixture } from './support/receivers.js';
import { waitFor } from './support/webhooks.js';

if (!heraldBuilt()) throw new Error('These tests spawn the built sender: run `npm run build` first.');

const { serve, tempDir, onCleanup } = receiverFixture();
let herald: Herald;
let readKey: string;

beforeAll(async () => {
  // Retries an hour apart: whatever reaches a cut-off receiver in these tests came by polling.
  herald = await startHerald(['--retry-base', '1h']);
  readKey = (await herald.api.apiKeys.create({ role: 'read' })).key;
});
afterAll(async () => {
  await herald?.stop();
});

interface Seen {
  id: string;
  sequence: number;
  source: HandlerContext['source'];
  at: number;
}

/**
 * A receiver behind a switch: `drop(body)` decides which deliveries never reach it (the socket is
 * reset, as when a network path is cut). Registered with the sender as a new endpoint.
 */
async function receiverBehindSwitch(
  options: (endpoint: { id: string; secret: string }) => Partial<ReceiverOptions>,
  drop: (body: { sequence: number }) => boolean = () => false,
) {
  const seen: Seen[] = [];
  let receiver: Receiver | undefined;
  const { url } = await serve((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (receiver === undefined || drop(JSON.parse(body.toString()))) {
        res.socket?.destroy();
        return;
      }
      const answer = await receiver.handle({ headers: req.headers, body });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  const endpoint = await herald.api.endpoints.create({ url: `${url}/hooks` });
  const logger = memoryLogger();
  receiver = createReceiver({
    secret: endpoint.secret,
    inbox: sqliteInbox(join(tempDir(), 'inbox.db')),
    logger,
    pollInterval: '10ms',
    on: {
      '*': (event, ctx) =>
        void seen.push({ id: event.id, sequence: event.sequence, source: ctx.source, at: Date.now() }),
    },
    ...options(endpoint),
  });
  onCleanup(() => receiver!.stop());
  await receiver.start();
  return { receiver, endpoint, seen, logger };
}

const publish = (n: number) =>
  herald.api.events.publish({ type: 'sync.completed', data: { connection_id: 'con_1', n } });

describe("with Herald's sender", () => {
  it('verifies what the sender signs and delivers, and refuses it under another secret (acceptance 1)', async () => {
    const { receiver, seen } = await receiverBehindSwitch(() => ({}));
    const published = await publish(1);
    await waitFor(() => seen.length === 1, 10_000, 'the delivery');
    expect(seen[0]).toMatchObject({ id: published.id, source: 'webhook' });

    const stranger = await receiverBehindSwitch(() => ({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }));
    const refused = await publish(2);
    const deliveries = await herald.api.deliveries.page({ event_id: refused.id });
    const mine = deliveries.data.filter((d) => d.endpoint_id === stranger.endpoint.id);
    expect(mine).toHaveLength(1);
    const attempts = await waitFor(
      async () => {
        for (const d of mine) {
          const detail = await herald.api.deliveries.get(d.id);
          if (detail.attempts.some((a) => a.response_status === 401)) return detail;
        }
        return undefined;
      },
      10_000,
      'a refused attempt',
    );
    expect(attempts.attempts.map((a) => a.response_status)).toContain(401);
    expect(await stranger.receiver.inbox.get(refused.id)).toBeNull();
    expect(await receiver.inbox.get(refused.id)).not.toBeNull();
  });

  it('recovers every event missed while deliveries are cut off, within silentAfter plus one poll (acceptance 7)', async () => {
    const silentAfter = 1500;
    let cut = false;
    const alerts: Alert[] = [];
    const { receiver, seen } = await receiverBehindSwitch(
      (endpoint) => ({
        fallback: {
          silentAfter: `${silentAfter}ms`,
          checkInterval: '25ms',
          client: heraldClient({ baseUrl: herald.url, apiKey: readKey, endpointId: endpoint.id }),
        },
        onAlert: (alert) => void alerts.push(alert),
      }),
      () => cut,
    );
    for (const n of [1, 2]) await publish(n);
    await waitFor(() => seen.length === 2, 10_000, 'two deliveries');
    const lastWebhookAt = Math.max(...seen.map((s) => s.at));
    cut = true;
    const missed = [];
    for (const n of [3, 4, 5, 6]) missed.push((await publish(n)).id);
    await waitFor(() => seen.length === 6, 10_000, 'the four missed events');
    const recoveredAt = Math.max(...seen.map((s) => s.at));
    expect(
      seen
        .filter((s) => s.source === 'poll')
        .map((s) => s.id)
        .sort(),
    ).toEqual(missed.sort());
    // Not before the silence (less the few ms between the route and the handler of the last webhook).
    expect(recoveredAt - lastWebhookAt).toBeGreaterThanOrEqual(silentAfter - 100);
    // One poll after the silence was noticed: the check interval plus a few API round trips.
    expect(recoveredAt - lastWebhookAt).toBeLessThan(silentAfter + 1500);
    expect(alerts.filter((a) => a.kind === 'silence')).toHaveLength(1);
    expect(await receiver.metrics.getSingleMetricAsString('herald_receiver_recovered_total')).toContain(
      'herald_receiver_recovered_total 4',
    );
  });

  it('fills a sequence gap from the endpoint stream once its grace period is over (acceptance 7)', async () => {
    const { receiver, seen } = await receiverBehindSwitch(
      (endpoint) => ({
        fallback: {
          silentAfter: '1h',
          gapGrace: '300ms',
          checkInterval: '25ms',
          client: heraldClient({ baseUrl: herald.url, apiKey: readKey, endpointId: endpoint.id }),
        },
      }),
      (body) => body.sequence === 2,
    );
    for (const n of [1, 2, 3]) await publish(n);
    await waitFor(() => seen.length === 3, 10_000, 'all three events');
    const bySequence = Object.fromEntries(seen.map((s) => [s.sequence, s.source]));
    expect(bySequence).toEqual({ 1: 'webhook', 2: 'poll', 3: 'webhook' });
    const stored = await receiver.inbox.list();
    expect(stored).toHaveLength(3);
  });
});

describe('heraldClient', () => {
  it('reads the sender through @herald/client, whose HeraldError it throws (re-exported by the receiver)', async () => {
    const wrongKey = heraldClient({ baseUrl: herald.url, apiKey: 'hk_wrong', retry: { maxRetries: 0 } });
    const refused = await wrongKey.events().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HeraldError);
    expect(refused).toBeInstanceOf(ClientHeraldError);
    expect(refused).toMatchObject({ status: 401, code: 'AUTHENTICATION_FAILED', requestId: expect.any(String) });

    const client = heraldClient({ baseUrl: `${herald.url}/`, apiKey: readKey });
    const page = await client.events({ limit: 1 });
    expect(page).toEqual({ data: expect.any(Array), next_cursor: expect.any(String) });
    const missing = await client.syncStatus('con_never_reported').catch((error: unknown) => error);
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});
