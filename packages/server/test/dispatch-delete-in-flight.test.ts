import { afterEach, describe, expect, it } from 'vitest';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

describe('an endpoint deleted while its attempt is in flight', () => {
  let fx: DispatchFixture;
  let receiver: TestReceiver;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
  });

  it('stays deleted: the late failure does not make its delivery pending, and nothing is sent to it again', async () => {
    fx = await dispatchFixture();
    let answer: (status: number) => void = () => {};
    const answered = new Promise<number>((resolve) => {
      answer = resolve;
    });
    receiver = await startTestReceiver(async () => ({ status: await answered }));
    const endpoint = await fx.endpoint(receiver.url);
    const [id] = await fx.publish(1);

    const round = fx.dispatcher.runOnce();
    await receiver.waitFor(1);
    // Deleted while the request is open: its pending delivery becomes failed.
    expect(await fx.store.deleteEndpoint(fx.accountId, endpoint.id, fx.clock.now())).toBe(true);
    answer(500);
    expect(await round).toBe(1);

    expect(await fx.delivery(id as string)).toMatchObject({ status: 'failed', nextAttemptAt: null, attemptCount: 1 });
    expect(await fx.attempts(id as string)).toHaveLength(1);
    for (const later of [30_000, 60_000, 24 * 60 * 60_000]) {
      fx.clock.advance(later);
      expect(await fx.dispatcher.runOnce()).toBe(0);
    }
    expect(receiver.requests).toHaveLength(1);
  });
});
