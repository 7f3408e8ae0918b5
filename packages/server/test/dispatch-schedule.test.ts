import { afterEach, describe, expect, it } from 'vitest';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

const SECOND = 1000;
const HOUR = 3_600_000;

describe('the retry schedule, driven by the injected clock', () => {
  let fx: DispatchFixture;
  let receiver: TestReceiver;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
  });

  /** A receiver that answers each status in turn, then the last one forever. */
  async function answering(...statuses: number[]): Promise<TestReceiver> {
    let n = 0;
    return startTestReceiver(() => ({ status: statuses[Math.min(n++, statuses.length - 1)] as number, body: 'x' }));
  }

  for (const [random, label] of [
    [0, 'no jitter'],
    [0.99, 'the most jitter'],
  ] as const) {
    it(`a receiver answering 500, 500, then 200 sees attempts at t, t+30 s, t+90 s (${label})`, async () => {
      fx = await dispatchFixture({ random: () => random });
      receiver = await answering(500, 500, 200);
      await fx.endpoint(receiver.url);
      const t = fx.clock.now();
      const [id] = (await fx.publish()) as [string];

      expect(await fx.dispatcher.runOnce()).toBe(1);
      expect(await fx.dispatcher.runOnce()).toBe(0); // nothing more is due at t

      const firstRetry = (await fx.delivery(id)).nextAttemptAt as number;
      expect(firstRetry - t).toBeGreaterThanOrEqual(30 * SECOND);
      expect(firstRetry - t).toBeLessThanOrEqual(33 * SECOND);
      fx.clock.set(firstRetry - 1);
      expect(await fx.dispatcher.runOnce()).toBe(0); // not before it is due
      fx.clock.set(firstRetry);
      expect(await fx.dispatcher.runOnce()).toBe(1);

      const secondRetry = (await fx.delivery(id)).nextAttemptAt as number;
      expect(secondRetry - firstRetry).toBeGreaterThanOrEqual(60 * SECOND);
      expect(secondRetry - firstRetry).toBeLessThanOrEqual(66 * SECOND);
      fx.clock.set(secondRetry - 1);
      expect(await fx.dispatcher.runOnce()).toBe(0);
      fx.clock.set(secondRetry);
      expect(await fx.dispatcher.runOnce()).toBe(1);

      const delivery = await fx.delivery(id);
      expect(delivery).toMatchObject({ status: 'succeeded', attemptCount: 3, nextAttemptAt: null });
      const attempts = await fx.attempts(id);
      expect(attempts.map((a) => a.startedAt - t)).toEqual([0, firstRetry - t, secondRetry - t]);
      expect(attempts.map((a) => [a.attemptNo, a.responseStatus, a.error, a.manual])).toEqual([
        [1, 500, 'http_status', false],
        [2, 500, 'http_status', false],
        [3, 200, null, false],
      ]);
      if (random === 0) expect(attempts.map((a) => a.startedAt - t)).toEqual([0, 30 * SECOND, 90 * SECOND]);
      expect(receiver.requests).toHaveLength(3);
      fx.clock.advance(48 * HOUR);
      expect(await fx.dispatcher.runOnce()).toBe(0); // a succeeded delivery is done
    });
  }

  it('a delivery that keeps failing is failed at the 24 h deadline, and nothing is attempted after', async () => {
    // The delivery's own schedule, without the endpoint's circuit (circuit.ts; system-circuit.test.ts).
    fx = await dispatchFixture({ circuitFailures: 0 });
    receiver = await answering(500);
    await fx.endpoint(receiver.url);
    const t = fx.clock.now();
    const [id] = (await fx.publish()) as [string];

    let rounds = 0;
    for (;;) {
      expect(await fx.dispatcher.runOnce()).toBe(1);
      rounds++;
      const delivery = await fx.delivery(id);
      if (delivery.status !== 'pending') break;
      expect(rounds).toBeLessThan(20);
      fx.clock.set(delivery.nextAttemptAt as number);
    }

    const attempts = await fx.attempts(id);
    // 0, 30 s, 90 s, 3.5 min, … 30 s × (2^11 − 1) ≈ 17 h; the next would be past 24 h, so it lands on it.
    expect(attempts.map((a) => a.startedAt - t)).toEqual([
      ...Array.from({ length: 12 }, (_, k) => 30 * SECOND * (2 ** k - 1)),
      24 * HOUR,
    ]);
    expect(await fx.delivery(id)).toMatchObject({ status: 'failed', nextAttemptAt: null, attemptCount: 13 });

    fx.clock.advance(7 * 24 * HOUR);
    expect(await fx.dispatcher.runOnce()).toBe(0);
    expect(receiver.requests).toHaveLength(13);
    const failed = await fx.store.listDeliveries(fx.accountId, { status: 'failed', limit: 10 });
    expect(failed.data.map((d) => d.id)).toEqual([id]);
  });

  describe('a manual attempt', () => {
    /** A delivery failed for good: a 60 s window, three failed attempts. */
    async function failedDelivery(): Promise<string> {
      fx = await dispatchFixture({ retryMaxAgeMs: 60 * SECOND });
      receiver = await answering(500);
      await fx.endpoint(receiver.url);
      const [id] = (await fx.publish()) as [string];
      for (const at of [0, 30 * SECOND, 60 * SECOND]) {
        fx.clock.set(fx.config.clock.now() + (at === 0 ? 0 : 30 * SECOND));
        expect(await fx.dispatcher.runOnce()).toBe(1);
      }
      expect(await fx.delivery(id)).toMatchObject({ status: 'failed', attemptCount: 3 });
      return id;
    }

    it('that succeeds turns a failed delivery succeeded, and is logged as manual', async () => {
      const id = await failedDelivery();
      receiver.respondWith(() => ({ status: 204 }));
      fx.clock.advance(HOUR);
      const delivery = await fx.dispatcher.attemptNow(fx.accountId, id);
      expect(delivery).toMatchObject({ status: 'succeeded', attemptCount: 4, nextAttemptAt: null });
      const last = (await fx.attempts(id)).at(-1);
      expect(last).toMatchObject({ attemptNo: 4, manual: true, responseStatus: 204, error: null });
      expect(last?.startedAt).toBe(fx.clock.now());
    });

    it('that fails leaves a failed delivery failed, with no automatic attempt scheduled', async () => {
      const id = await failedDelivery();
      fx.clock.advance(HOUR);
      const delivery = await fx.dispatcher.attemptNow(fx.accountId, id);
      expect(delivery).toMatchObject({ status: 'failed', attemptCount: 4, nextAttemptAt: null });
      expect((await fx.attempts(id)).at(-1)).toMatchObject({ manual: true, error: 'http_status' });
      fx.clock.advance(24 * HOUR);
      expect(await fx.dispatcher.runOnce()).toBe(0);
      expect(receiver.requests).toHaveLength(4);
    });

    it('that fails leaves a pending delivery on its schedule', async () => {
      fx = await dispatchFixture();
      receiver = await answering(500);
      await fx.endpoint(receiver.url);
      const [id] = (await fx.publish()) as [string];
      await fx.dispatcher.runOnce();
      const due = (await fx.delivery(id)).nextAttemptAt;
      fx.clock.advance(10 * SECOND);
      expect(await fx.dispatcher.attemptNow(fx.accountId, id)).toMatchObject({ status: 'pending', nextAttemptAt: due });
    });

    it('of an unknown delivery answers undefined', async () => {
      fx = await dispatchFixture();
      expect(await fx.dispatcher.attemptNow(fx.accountId, 'dlv_01JDNOSUCHDELIVERY0000000000')).toBeUndefined();
    });
  });
});
