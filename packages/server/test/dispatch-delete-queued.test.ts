import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createDispatcher } from '../src/dispatch/dispatcher.js';
import type { Store } from '../src/store/types.js';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

const QUEUED = 20;

/**
 * `herald serve`: the API and the dispatcher in one process. Deliveries the dispatcher has claimed
 * and queued in memory are not sent once their endpoint is deleted through this process's API.
 */
describe('an endpoint deleted through the API while its deliveries wait in the queue', () => {
  let h: TestHerald | undefined;
  let receiver: TestReceiver | undefined;
  let release: () => void = () => {};
  afterEach(async () => {
    release();
    await h?.close();
    await receiver?.close();
  });

  it.each([
    ['the endpoint', (endpointId: string) => `/v1/endpoints/${endpointId}`],
    ['its tenant', () => '/v1/tenants/t_1'],
  ])('deleting %s: no request after the delete answered, beyond the one already in flight', async (_, path) => {
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Slow: every request waits until the test lets go, so the rest stay queued behind the cap of 1.
    receiver = await startTestReceiver(async () => {
      await released;
      return { status: 200, body: 'ok' };
    });
    h = await startTestHerald({ endpointConcurrency: 1 });
    expect((await h.request('PUT', '/v1/tenants/t_1', { name: 'T' })).status).toBe(201);
    const created = await h.request('POST', '/v1/endpoints', { url: receiver.url, tenant_id: 't_1' });
    expect(created.status).toBe(201);
    for (let n = 0; n < QUEUED; n++) {
      const published = await h.request('POST', '/v1/events', { type: 'queue.test', data: { n }, tenant_id: 't_1' });
      expect(published.status).toBe(202);
    }
    await receiver.waitFor(1);
    // Others claimed and waiting here, not yet sent: what the delete must drop. (Not all of them: once
    // the queue is long, claims leave the endpoint out; the store fails those on delete.)
    const dispatcher = h.herald.dispatcher;
    await until(
      async () => dispatcher?.stats().dueCount,
      (due) => due !== undefined && due >= 2,
      'the rest queued',
    );

    const deleted = await h.request('DELETE', path(created.body.id));
    expect(deleted.status).toBe(200);
    const inFlightAtDelete = receiver.requests.length;
    expect(inFlightAtDelete).toBe(1);
    release();
    // Long enough for the queue to have sent its next ones (each answers at once now) and for polls.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.requests).toHaveLength(inFlightAtDelete);
    expect(dispatcher?.stats()).toMatchObject({ inFlight: 0, dueCount: 0 });
  });
});

describe('an endpoint deleted while a claim of its deliveries is on its way back', () => {
  let fx: DispatchFixture | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
  });

  it('sends none of what that claim took before the delete committed', async () => {
    fx = await dispatchFixture();
    receiver = await startTestReceiver();
    const endpoint = await fx.endpoint(receiver.url);
    const ids = await fx.publish(3);
    // The real store; its claim's answer reaches the dispatcher only when the test lets it.
    let answer: () => void = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    let claimed: () => void = () => {};
    const committed = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    const store: Store = Object.create(fx.store);
    store.claimDueDeliveries = async (claim) => {
      const taken = await fx?.store.claimDueDeliveries(claim);
      claimed();
      await answered;
      return taken ?? [];
    };
    const dispatcher = createDispatcher({ config: fx.config, store, logger: pino({ level: 'silent' }) });

    const round = dispatcher.runOnce();
    await committed;
    expect(await fx.store.deleteEndpoint(fx.accountId, endpoint.id, fx.clock.now())).toBe(true);
    dispatcher.endpointDeleted(endpoint.id);
    answer();
    expect(await round).toBe(0);
    await dispatcher.stop();
    expect(receiver.requests).toHaveLength(0);
    for (const id of ids) expect(await fx.delivery(id)).toMatchObject({ status: 'failed', attemptCount: 0 });
  });
});
