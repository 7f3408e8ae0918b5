import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/store/sqlite.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver } from './harness.js';

/** The running server: publish over the API, and the dispatcher delivers at once (woken by the publish). */
describe('publish → deliver, through the running server', () => {
  let h: TestHerald | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('a published event reaches the receiver signed, verifying with standardwebhooks, each once with its sequence', async () => {
    receiver = await startTestReceiver();
    h = await startTestHerald();
    const endpoint = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    const began = Date.now();
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) {
      const published = await h.request('POST', '/v1/events', { type: 'invoice.paid', data: { n } });
      expect(published.status).toBe(202);
      ids.push(published.body.id);
    }
    const requests = await receiver.waitFor(5, 2_000);
    // Woken by each publish: no waiting for the poll.
    expect(Date.now() - began).toBeLessThan(1_000);
    const verifier = new Webhook(endpoint.secret);
    const envelopes = requests.map((r) => {
      const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)]));
      return verifier.verify(r.body.toString('utf8'), headers) as { id: string; sequence: number; endpoint_id: string };
    });
    expect(envelopes.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(envelopes.map((e) => e.sequence).sort()).toEqual([1, 2, 3, 4, 5]);
    for (const e of envelopes) expect(e.endpoint_id).toBe(endpoint.id);

    // The last attempts are recorded a moment after the receiver answered (the attempt log batches).
    let succeeded: unknown[] = [];
    for (let i = 0; i < 50 && succeeded.length < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      succeeded = (await h.request('GET', `/v1/deliveries?endpoint_id=${endpoint.id}&status=succeeded`)).body.data;
    }
    expect(succeeded).toHaveLength(5);
    expect(h.herald.dispatcher?.stats()).toMatchObject({ inFlight: 0, dueCount: 0 });
  });

  it('stopping waits for the attempt in flight and records it before the store closes', async () => {
    receiver = await startTestReceiver(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { status: 200 };
    });
    h = await startTestHerald();
    await h.request('POST', '/v1/endpoints', { url: receiver.url });
    const published = (await h.request('POST', '/v1/events', { type: 'invoice.paid', data: {} })).body;
    await receiver.waitFor(1, 2_000);
    // The SIGTERM path stops the dispatcher before it closes the store.
    const stopping = Date.now();
    await h.herald.dispatcher?.stop();
    expect(Date.now() - stopping).toBeGreaterThanOrEqual(150);
    const row = (h.herald.store as SqliteStore).database
      .prepare('SELECT status, attempt_count FROM deliveries WHERE id = ?')
      .get(published.deliveries[0]);
    expect(row).toEqual({ status: 'succeeded', attempt_count: 1 });
  });
});
