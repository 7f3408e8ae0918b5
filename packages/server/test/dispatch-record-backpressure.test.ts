import { systemClock } from '@herald/protocol';
import { afterEach, expect, it } from 'vitest';
import { MAX_HELD } from '../src/dispatch/claim-loop.js';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let fx: DispatchFixture | undefined;
let receiver: TestReceiver | undefined;
let open = () => {};
afterEach(async () => {
  open(); // stopping waits for the attempts' records
  await fx?.close();
  await receiver?.close();
});

// A delivery whose attempt is sent but not yet recorded is still this process's: its outcome sits
// in memory and its lease is still taken. When the store writes slower than the receivers answer
// (a slow disk, a busy database), the process must stop claiming at MAX_HELD instead of sending on
// while the unrecorded outcomes pile up in memory without bound.
it('stops claiming at MAX_HELD while attempts wait to be recorded, and loses none of them', async () => {
  fx = await dispatchFixture({ clock: systemClock, endpointConcurrency: 50 });
  receiver = await startTestReceiver();
  for (let i = 0; i < 4; i++) await fx.endpoint(`${receiver.url}/${i}`);
  const ids = await fx.publish(750); // 3,000 deliveries: 1,000 more than the process may hold

  // The store's recordAttempts waits until the gate opens, as a stalled disk would.
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let recorded = 0;
  const record = fx.store.recordAttempts.bind(fx.store);
  fx.store.recordAttempts = async (outcomes, now) => {
    await gate;
    recorded += outcomes.length;
    return record(outcomes, now);
  };

  fx.dispatcher.start();
  await receiver.waitFor(MAX_HELD, 20_000);
  // Every request sent has ended and waits for its record; a few polls go by with no room to claim.
  const until = Date.now() + 20_000;
  while (fx.dispatcher.stats().inFlight > 0 && Date.now() < until) await sleep(20);
  await sleep(600);
  expect(recorded).toBe(0);
  expect(receiver.requests).toHaveLength(MAX_HELD);

  open();
  await receiver.waitFor(ids.length, 20_000);
  const until2 = Date.now() + 20_000;
  let succeeded = 0;
  while (Date.now() < until2) {
    const rows = await Promise.all(ids.map((id) => fx!.delivery(id)));
    succeeded = rows.filter((d) => d.status === 'succeeded' && d.attemptCount === 1).length;
    if (succeeded === ids.length) break;
    await sleep(50);
  }
  expect(succeeded).toBe(ids.length);
  expect(receiver.requests).toHaveLength(ids.length); // each sent once
}, 90_000);
