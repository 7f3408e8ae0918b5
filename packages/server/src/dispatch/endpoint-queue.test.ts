import { type ManualClock, manualClock } from '@herald/protocol';
import { describe, expect, it } from 'vitest';
import type { ClaimedDelivery } from '../store/types.js';
import { createEndpointQueue, createLatencies, type EndpointQueue, type Held, type Timers } from './endpoint-queue.js';

/** Timers a test runs by hand: the queue's wait for a rate token, with its delay. */
function handTimers() {
  const pending: Array<{ run: () => void; ms: number }> = [];
  const timers: Timers = {
    set(run, ms) {
      const timer = { run, ms };
      pending.push(timer);
      return timer;
    },
    clear(handle) {
      pending.splice(pending.indexOf(handle as (typeof pending)[number]), 1);
    },
  };
  return { timers, pending };
}

function setup(options: { cap: number; staleAfterMs?: number }) {
  const clock = manualClock();
  const { timers, pending } = handTimers();
  let tokenDue = 0;
  const queue = createEndpointQueue({
    endpointId: 'ep_1',
    cap: options.cap,
    staleAfterMs: options.staleAfterMs ?? 30_000,
    clock,
    rateNow: clock.now,
    timers,
    onTokenDue: () => tokenDue++,
  });
  return { clock, queue, pending, tokenDue: () => tokenDue };
}

function held(clock: ManualClock, n: number): Held {
  // The queue reads only the delivery's identity and when it was claimed.
  const claimed = { delivery: { id: `dlv_${n}` }, endpoint: { id: 'ep_1' } } as unknown as ClaimedDelivery;
  return { claimed, claimedAt: clock.now(), settle: () => {} };
}

/** Ids handed out for sending until the queue hands out nothing more. */
function sendAll(queue: EndpointQueue): string[] {
  const sent: string[] = [];
  for (let step = queue.next(); step.kind !== 'none'; step = queue.next()) {
    expect(step.kind).toBe('send');
    sent.push(step.item.claimed.delivery.id);
  }
  return sent;
}

describe("an endpoint's queue", () => {
  it('holds at the cap of requests in flight, oldest first, and frees a slot when an attempt ends', () => {
    const { clock, queue } = setup({ cap: 3 });
    for (let i = 1; i <= 5; i++) queue.add(held(clock, i));
    expect(sendAll(queue)).toEqual(['dlv_1', 'dlv_2', 'dlv_3']);
    expect(queue.inFlight).toBe(3);
    expect(queue.waitingCount).toBe(2);
    queue.attemptEnded();
    expect(sendAll(queue)).toEqual(['dlv_4']);
    queue.attemptEnded();
    queue.attemptEnded();
    expect(sendAll(queue)).toEqual(['dlv_5']);
    expect(queue.inFlight).toBe(2);
    queue.attemptEnded();
    expect(queue.isIdle()).toBe(false);
    queue.attemptEnded();
    expect(queue.isIdle()).toBe(true);
  });

  it('sends at the rate limit: a second of burst, then one per token, waiting on a timer for the next', () => {
    const { clock, queue, pending, tokenDue } = setup({ cap: 100 });
    queue.setRateLimit(4);
    for (let i = 1; i <= 8; i++) queue.add(held(clock, i));
    expect(sendAll(queue)).toHaveLength(4);
    // Over the rate: one timer, for the quarter second until the next token; nothing meanwhile.
    expect(pending.map((t) => t.ms)).toEqual([250]);
    expect(queue.next().kind).toBe('none');
    expect(pending).toHaveLength(1);
    clock.advance(250);
    pending.shift()?.run();
    expect(tokenDue()).toBe(1);
    expect(sendAll(queue)).toEqual(['dlv_5']);
    expect(pending.map((t) => t.ms)).toEqual([250]);
    // A rate-limited queue keeps its bucket when it empties: it is not idle.
    clock.advance(10_000);
    pending.shift()?.run();
    expect(sendAll(queue)).toEqual(['dlv_6', 'dlv_7', 'dlv_8']);
    for (let i = 0; i < 8; i++) queue.attemptEnded();
    expect(queue.isIdle()).toBe(false);
    queue.setRateLimit(null);
    expect(queue.isIdle()).toBe(true);
  });

  it('keeps its bucket when a claim brings the same limit, and starts a full one when the limit changes', () => {
    const emptied = (rate: number) => {
      const { clock, queue } = setup({ cap: 100 });
      queue.setRateLimit(2);
      for (let i = 1; i <= 2; i++) queue.add(held(clock, i));
      expect(sendAll(queue)).toHaveLength(2);
      // The next claim reads the endpoint's limit again.
      queue.setRateLimit(rate);
      queue.add(held(clock, 3));
      return queue.next().kind;
    };
    expect(emptied(2)).toBe('none');
    expect(emptied(3)).toBe('send');
  });

  it('gives back a delivery that waited more than half the lease instead of sending it', () => {
    const { clock, queue } = setup({ cap: 1, staleAfterMs: 30_000 });
    queue.add(held(clock, 1));
    queue.add(held(clock, 2));
    clock.advance(10_000);
    queue.add(held(clock, 3));
    expect(sendAll(queue)).toEqual(['dlv_1']);
    clock.advance(20_001);
    queue.attemptEnded();
    const step = queue.next();
    expect(step.kind).toBe('stale');
    expect(step.kind !== 'none' && step.item.claimed.delivery.id).toBe('dlv_2');
    // The next one was claimed later: it is still fresh, and sent.
    expect(sendAll(queue)).toEqual(['dlv_3']);
  });

  it('is long past twice the cap and a second of the endpoint pace, and so is left out of claims', () => {
    const { clock, queue } = setup({ cap: 2 });
    for (let i = 1; i <= 4; i++) queue.add(held(clock, i));
    // Twice the cap or less is never long, even with no latency known.
    expect(queue.isLong(undefined)).toBe(false);
    queue.add(held(clock, 5));
    expect(queue.isLong(undefined)).toBe(true);
    // 2 in flight at 100 ms each: 20 a second. Five is not long; 21 is.
    expect(queue.isLong(100)).toBe(false);
    for (let i = 6; i <= 21; i++) queue.add(held(clock, i));
    expect(queue.isLong(100)).toBe(true);
    // A rate limit below the pace sets it: at 10/s, 11 waiting is long even for a fast endpoint.
    queue.setRateLimit(10);
    expect(queue.isLong(1)).toBe(true);
    queue.takeWaiting();
    for (let i = 1; i <= 10; i++) queue.add(held(clock, i));
    expect(queue.isLong(1)).toBe(false);
    queue.add(held(clock, 11));
    expect(queue.isLong(1)).toBe(true);
  });

  it('hands its waiting deliveries over, and stops its wait for a token when the dispatcher stops', () => {
    const { clock, queue, pending } = setup({ cap: 10 });
    queue.setRateLimit(1);
    const items = [1, 2, 3].map((i) => held(clock, i));
    for (const item of items) queue.add(item);
    expect(sendAll(queue)).toEqual(['dlv_1']);
    expect(pending).toHaveLength(1);
    queue.remove(items[2] as Held);
    expect(queue.stop()).toEqual([items[1]]);
    expect(pending).toHaveLength(0);
    expect(queue.waitingCount).toBe(0);
  });
});

describe('the latency of an endpoint', () => {
  it('is a moving average of its attempts, each endpoint its own', () => {
    const latencies = createLatencies();
    expect(latencies.of('ep_1')).toBeUndefined();
    latencies.record('ep_1', 100);
    expect(latencies.of('ep_1')).toBe(100);
    latencies.record('ep_1', 200);
    expect(latencies.of('ep_1')).toBeCloseTo(120);
    latencies.record('ep_2', 5);
    expect(latencies.of('ep_2')).toBe(5);
    expect(latencies.of('ep_1')).toBeCloseTo(120);
  });
});
