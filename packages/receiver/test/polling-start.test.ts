/**
 * Polling recovery against the real sender (issue 12): a fresh inbox on an endpoint with history
 * starts where `startFrom` says, and an unknown connection is warned about once, not per poll.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heraldClient } from '../src/client.js';
import { sqliteInbox } from '../src/inbox/sqlite.js';
import { createReceiver, type ReceiverOptions } from '../src/receiver.js';
import { type Herald, heraldBuilt, startHerald } from './support/herald.js';
import { memoryLogger, receiverFixture } from './support/receivers.js';
import { waitFor } from './support/webhooks.js';

if (!heraldBuilt()) throw new Error('These tests spawn the built sender: run `npm run build` first.');

const { serve, tempDir, onCleanup } = receiverFixture();
let herald: Herald;
let readKey: string;
const HOUR_AGO = Date.now() - 3_600_000;
/**
 * A fresh stream whose first webhook is not sequence 1 holds it for the receiver's 10 s first-seen
 * settle (a lower sequence may still come): waiting for such an event takes that long plus a claim.
 */
const FIRST_SEEN_WAIT_MS = 20_000;

beforeAll(async () => {
  // Retries an hour apart: what a cut-off receiver gets in these tests came by polling. The circuit
  // stays closed: five cut deliveries would open it, and event 6 would wait for an hourly probe.
  herald = await startHerald(['--retry-base', '1h', '--circuit-failures', '0']);
  readKey = (await herald.api.apiKeys.create({ role: 'read' })).key;
});
afterAll(async () => {
  await herald?.stop();
});

/**
 * An endpoint with a history of five events (n = 1…5, occurred a minute apart an hour ago) that
 * never reached it, and a fresh receiver on it; `cut` keeps deliveries away until set to false.
 */
async function endpointWithHistory(options: (endpointId: string) => Partial<ReceiverOptions>) {
  const state = { cut: true };
  const handled: { n: number; source: string }[] = [];
  let receiver: ReturnType<typeof createReceiver> | undefined;
  const { url } = await serve((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (state.cut || receiver === undefined) {
        res.socket?.destroy();
        return;
      }
      const answer = await receiver.handle({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  const endpoint = await herald.api.endpoints.create({
    url: `${url}/hooks`,
    event_types: ['history.made'],
  });
  for (let n = 1; n <= 5; n++) await publish(n, new Date(HOUR_AGO + n * 60_000).toISOString());
  // The history's first attempts must have been made (and cut) before a test lets deliveries
  // through: on a loaded machine the last of them could otherwise arrive after `cut` is lifted, as a
  // webhook the test did not expect.
  await waitFor(
    async () => {
      const page = await herald.api.deliveries.page({ endpoint_id: endpoint.id, limit: 10 });
      return page.data.length === 5 && page.data.every((d) => d.attempt_count >= 1);
    },
    20_000,
    "the history's first attempts",
  );
  const logger = memoryLogger();
  receiver = createReceiver({
    secret: endpoint.secret,
    inbox: sqliteInbox(join(tempDir(), 'inbox.db')),
    logger,
    pollInterval: '10ms',
    on: { '*': (event, ctx) => void handled.push({ n: (event.data as { n: number }).n, source: ctx.source }) },
    ...options(endpoint.id),
  });
  onCleanup(() => receiver!.stop());
  await receiver.start();
  return { receiver, handled, logger, state, endpointId: endpoint.id };
}

const publish = (n: number, occurred_at?: string) =>
  herald.api.events.publish({ type: 'history.made', data: { n }, occurred_at });

const fallback = (endpointId: string) => ({
  silentAfter: '300ms',
  pollInterval: '100ms',
  checkInterval: '25ms',
  client: heraldClient({ baseUrl: herald.url, apiKey: readKey, endpointId }),
});

describe('where a fresh inbox starts polling an endpoint with history', () => {
  it('by default at the first sequence it sees: the history is never replayed', async () => {
    const { receiver, handled, state } = await endpointWithHistory((endpointId) => ({
      fallback: fallback(endpointId),
    }));
    // Silence, polled several times, with nothing seen yet: nothing to start from.
    await new Promise((r) => setTimeout(r, 800));
    expect(handled).toEqual([]);
    state.cut = false;
    await publish(6);
    // Event 6 is not sequence 1: a fresh stream holds it for up to the 10 s first-seen settle.
    await waitFor(() => handled.length === 1, FIRST_SEEN_WAIT_MS, 'event 6');
    // Past the 10 s in which a lower sequence would still count, with silence polls all along.
    await new Promise((r) => setTimeout(r, 11_000));
    await receiver.checkSilence();
    expect(handled).toEqual([{ n: 6, source: 'webhook' }]);
    expect(await receiver.metrics.getSingleMetricAsString('herald_receiver_recovered_total')).toContain(
      'herald_receiver_recovered_total 0',
    );
  }, 40_000);

  it('from the beginning when told: the whole history, by polling', async () => {
    const { handled } = await endpointWithHistory((endpointId) => ({
      startFrom: 'beginning',
      fallback: fallback(endpointId),
    }));
    await waitFor(() => handled.length === 5, 10_000, 'the history');
    expect(handled.map((h) => [h.n, h.source])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 'poll']));
  });

  it('from a time when told: the events that occurred at or after it', async () => {
    const { handled } = await endpointWithHistory((endpointId) => ({
      startFrom: new Date(HOUR_AGO + 3.5 * 60_000),
      fallback: fallback(endpointId),
    }));
    await waitFor(() => handled.length === 2, 10_000, 'events 4 and 5');
    await new Promise((r) => setTimeout(r, 300));
    expect(handled.map((h) => h.n).sort()).toEqual([4, 5]);
  });
});

describe('during silence', () => {
  it('warns once about a connection the sender does not know, not on every poll', { timeout: 40_000 }, async () => {
    const { logger, handled, state, receiver } = await endpointWithHistory((endpointId) => ({
      fallback: fallback(endpointId),
    }));
    state.cut = false;
    // An event about a connection that never reported a sync: its sync status is 404.
    await herald.api.events.publish({ type: 'history.made', connection_id: 'con_nobody', data: { n: 6 } });
    // Waits for event 6 itself, and says what had been handled if it never comes (once, on a loaded
    // machine, this wait ran out: the message now tells a late webhook from a replayed history).
    await waitFor(
      () => handled.some((h) => h.n === 6),
      FIRST_SEEN_WAIT_MS,
      `the sync event (handled so far: ${JSON.stringify(handled)}, inbox: see the receiver's log)`,
    ).catch(async (error: Error) => {
      const rows = await receiver.inbox.list({ limit: 20 });
      throw new Error(
        `${error.message} Handled: ${JSON.stringify(handled)}; inbox: ${JSON.stringify(rows.map((r) => [r.sequence, r.status, r.source]))}; log: ${JSON.stringify(logger.lines.map((l) => l.message))}`,
      );
    });
    expect(handled).toEqual([{ n: 6, source: 'webhook' }]);
    // About ten silence polls (every 100 ms after 300 ms of silence).
    await new Promise((r) => setTimeout(r, 1500));
    const warnings = logger.lines.filter((l) => l.message.includes('reading sync status failed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({ connectionId: 'con_nobody' });
  });
});
