import { systemClock } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A receiver that answers after `delayMs` and counts how many requests it holds open at once. */
async function slowReceiver(delayMs: number): Promise<TestReceiver & { open(): number; maxOpen(): number }> {
  let open = 0;
  let maxOpen = 0;
  const receiver = await startTestReceiver(async () => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    await sleep(delayMs);
    open--;
    return { status: 200 };
  });
  return Object.assign(receiver, { open: () => open, maxOpen: () => maxOpen });
}

describe('the dispatcher loop', () => {
  let fx: DispatchFixture;
  const receivers: TestReceiver[] = [];
  afterEach(async () => {
    await fx?.close();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('a slow endpoint does not hold back a fast one, and never has more than its cap of requests open', async () => {
    fx = await dispatchFixture({ clock: systemClock, endpointConcurrency: 10 });
    const slow = await slowReceiver(1_000);
    const fast = await startTestReceiver();
    receivers.push(slow, fast);
    await fx.endpoint(slow.url, { eventTypes: ['report.slow'] });
    await fx.endpoint(fast.url, { eventTypes: ['report.fast'] });
    // 2,100 slow deliveries come due first: more than the dispatcher holds in memory (2,000). The claim
    // after the first sees the slow endpoint's long local queue, leaves its work, and takes the fast one's.
    await fx.publish(2_100, 'report.slow');
    await sleep(5);
    await fx.publish(40, 'report.fast');

    const began = Date.now();
    fx.dispatcher.start();
    await fast.waitFor(40, 900);
    expect(Date.now() - began).toBeLessThan(900);
    expect(slow.requests.length).toBeLessThanOrEqual(10); // the slow endpoint is still on its first ten
    expect(slow.open()).toBeGreaterThan(0);

    await slow.waitFor(20, 5_000);
    expect(slow.maxOpen()).toBe(10);
  });

  it('two endpoints on one host do not share a cap: the slow path does not hold back the fast one', async () => {
    fx = await dispatchFixture({ clock: systemClock, endpointConcurrency: 10 });
    const host = await startTestReceiver(async (request) => {
      if (request.url === '/webhooks/slow') await sleep(1_000);
      return { status: 200 };
    });
    receivers.push(host);
    await fx.endpoint(`${host.url}/slow`, { eventTypes: ['report.slow'] });
    await fx.endpoint(`${host.url}/fast`, { eventTypes: ['report.fast'] });
    await fx.publish(30, 'report.slow');
    await sleep(5);
    await fx.publish(20, 'report.fast');
    fx.dispatcher.start();
    await host.waitFor(30, 900); // 10 slow ones open, and all 20 fast ones answered
    expect(host.requests.filter((r) => r.url.startsWith('/webhooks/fast'))).toHaveLength(20);
  });

  it('stop() lets attempts in flight finish and records them, and gives back what it had not sent', async () => {
    fx = await dispatchFixture({ clock: systemClock, endpointConcurrency: 10 });
    const slow = await slowReceiver(400);
    receivers.push(slow);
    await fx.endpoint(slow.url);
    const ids = await fx.publish(30);
    fx.dispatcher.start();
    await slow.waitFor(10, 2_000);
    expect(fx.dispatcher.stats()).toMatchObject({ inFlight: 10, dueCount: 20 });

    const stoppedAt = Date.now();
    await fx.dispatcher.stop();
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(300); // it waited for the answers
    expect(fx.dispatcher.stats().inFlight).toBe(0);

    const deliveries = await Promise.all(ids.map((id) => fx.delivery(id)));
    const succeeded = deliveries.filter((d) => d.status === 'succeeded');
    const pending = deliveries.filter((d) => d.status === 'pending');
    expect(succeeded).toHaveLength(10);
    expect(slow.requests).toHaveLength(10);
    for (const d of succeeded) expect(await fx.attempts(d.id)).toHaveLength(1);
    // The 20 unsent are due again now, not at the end of their 60 s lease, and were never attempted.
    expect(pending).toHaveLength(20);
    for (const d of pending) {
      expect(d.attemptCount).toBe(0);
      expect(d.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    }
    expect(await fx.dispatcher.runOnce()).toBe(0); // a stopped dispatcher claims nothing more
  });

  it('a delivery that waited in the local queue for half its lease is given back, not sent late', async () => {
    // With a 400 ms lease, another process may claim these again from 400 ms on; sending one after
    // 200 ms here would risk two sends at once, so the dispatcher gives it back instead.
    fx = await dispatchFixture({ clock: systemClock, endpointConcurrency: 1, claimLeaseMs: 400 });
    const slow = await slowReceiver(300);
    receivers.push(slow);
    await fx.endpoint(slow.url);
    const ids = await fx.publish(4);
    expect(await fx.dispatcher.runOnce()).toBe(1);
    expect(slow.requests).toHaveLength(1);
    const deliveries = await Promise.all(ids.map((id) => fx.delivery(id)));
    expect(deliveries.filter((d) => d.status === 'succeeded')).toHaveLength(1);
    for (const d of deliveries.filter((d) => d.status === 'pending')) {
      expect(d.attemptCount).toBe(0);
      expect(d.nextAttemptAt).toBeLessThanOrEqual(Date.now()); // due again at once, for whoever claims first
    }
  });

  it('a manual attempt of a delivery the loop holds is not raced by it: sent once each, attempts numbered in turn', async () => {
    fx = await dispatchFixture({ clock: systemClock, endpointConcurrency: 1 });
    const slow = await slowReceiver(300);
    receivers.push(slow);
    await fx.endpoint(slow.url);
    const [sending, waiting] = (await fx.publish(2)) as [string, string];
    const round = fx.dispatcher.runOnce();
    await slow.waitFor(1, 2_000); // the first is being sent; the second waits behind the cap of 1

    // The waiting one: the manual attempt takes its place in the queue.
    expect(await fx.dispatcher.attemptNow(fx.accountId, waiting)).toMatchObject({
      status: 'succeeded',
      attemptCount: 1,
    });
    // The one being sent: its automatic attempt finishes and is recorded before the manual one starts.
    expect(await fx.dispatcher.attemptNow(fx.accountId, sending)).toMatchObject({
      status: 'succeeded',
      attemptCount: 2,
    });
    expect(await round).toBe(1);

    expect((await fx.attempts(waiting)).map((a) => [a.attemptNo, a.manual])).toEqual([[1, true]]);
    expect((await fx.attempts(sending)).map((a) => [a.attemptNo, a.manual])).toEqual([
      [1, false],
      [2, true],
    ]);
    const sentIds = slow.requests.map((r) => r.headers['webhook-id']);
    expect(new Set(sentIds).size).toBe(2);
    expect(sentIds).toHaveLength(3); // sending twice (automatic, manual), waiting once
  });

  it('a delivery claimed by a process that died is due again when its lease ends', async () => {
    fx = await dispatchFixture({ claimLeaseMs: 60_000 });
    const receiver = await startTestReceiver();
    receivers.push(receiver);
    await fx.endpoint(receiver.url);
    const [id] = (await fx.publish()) as [string];
    // Another process claims it and is killed before sending.
    await fx.store.claimDueDeliveries({ now: fx.clock.now(), limit: 10, leaseMs: 60_000 });
    expect(await fx.dispatcher.runOnce()).toBe(0);
    fx.clock.advance(59_999);
    expect(await fx.dispatcher.runOnce()).toBe(0);
    fx.clock.advance(1);
    expect(await fx.dispatcher.runOnce()).toBe(1);
    expect(await fx.delivery(id)).toMatchObject({ status: 'succeeded', attemptCount: 1 });
  });

  it('an endpoint with rate_limit_per_s gets no more than that, and nothing waiting is failed', async () => {
    fx = await dispatchFixture({ clock: systemClock });
    const receiver = await startTestReceiver();
    receivers.push(receiver);
    await fx.endpoint(receiver.url, { rateLimitPerS: 5 });
    const ids = await fx.publish(8);
    const began = Date.now();
    expect(await fx.dispatcher.runOnce()).toBe(8);
    // A full bucket of 5 at once; the other 3 at 5 per second.
    expect(Date.now() - began).toBeGreaterThanOrEqual(550);
    const times = receiver.requests.map((r) => r.receivedAt - began);
    expect(times.filter((t) => t < 150)).toHaveLength(5);
    for (const id of ids) expect(await fx.delivery(id)).toMatchObject({ status: 'succeeded', attemptCount: 1 });
  });
});
