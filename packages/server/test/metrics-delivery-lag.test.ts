import { manualClock } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type Herald, startHerald } from '../src/app.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

/** The value of one sample line of Prometheus text, e.g. `herald_delivery_lag_seconds_count 3`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const scrape = async (herald: TestHerald) =>
  (await herald.request('GET', '/metrics', undefined, { key: null })).body as string;

describe('herald_delivery_lag_seconds: publish to first attempt', () => {
  let api: TestHerald | undefined;
  let worker: Herald | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await worker?.close();
    await api?.close();
    await receiver?.close();
    worker = api = receiver = undefined;
  });

  it('an operator sees how long each delivery waited for its first attempt, on a live server', async () => {
    receiver = await startTestReceiver();
    api = await startTestHerald();
    await api.request('POST', '/v1/endpoints', { url: receiver.url });
    const began = Date.now();
    for (let i = 0; i < 3; i++) {
      expect((await api.request('POST', '/v1/events', { type: 'invoice.paid', data: { i } })).status).toBe(202);
    }
    await receiver.waitFor(3);
    const text = await until(
      () => scrape(api as TestHerald),
      (t) => sample(t, 'herald_delivery_lag_seconds_count') === 3,
      'three first attempts in /metrics',
    );
    const elapsed = (Date.now() - began) / 1000;
    const sum = sample(text, 'herald_delivery_lag_seconds_sum') as number;
    // Each wait lies between publish and arrival at the receiver, so the three together are within
    // three times the whole test's duration; the +Inf bucket holds every observation.
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum).toBeLessThanOrEqual(3 * elapsed);
    expect(sample(text, 'herald_delivery_lag_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(text).toContain('# TYPE herald_delivery_lag_seconds histogram');
  });

  it('a delivery that waited 90 s for a worker is observed once at 90 s; its retry is not observed again', async () => {
    const clock = manualClock();
    receiver = await startTestReceiver(() => ({ status: 500, body: 'down' }));
    api = await startTestHerald({ clock, random: () => 0 }, 'api');
    await api.request('POST', '/v1/endpoints', { url: receiver.url });
    expect((await api.request('POST', '/v1/events', { type: 'invoice.paid', data: {} })).status).toBe(202);
    clock.advance(90_000);

    // The worker's registry counts its own attempts (the API process makes none).
    worker = await startHerald(api.config, 'worker');
    const metricsOf = (herald: Herald) => herald.metrics.registry.metrics();
    const first = await until(
      () => metricsOf(worker as Herald),
      (t) => sample(t, 'herald_deliveries_total{outcome="retry_scheduled"}') === 1,
      'the first attempt to be recorded',
    );
    expect(sample(first, 'herald_delivery_lag_seconds_count')).toBe(1);
    expect(sample(first, 'herald_delivery_lag_seconds_sum')).toBe(90);
    expect(sample(first, 'herald_delivery_lag_seconds_bucket{le="60"}')).toBe(0);
    expect(sample(first, 'herald_delivery_lag_seconds_bucket{le="300"}')).toBe(1);

    // The retry comes on the schedule and succeeds: an attempt, not a second first attempt.
    receiver.respondWith(() => ({ status: 200, body: 'ok' }));
    clock.advance(60 * 60_000);
    const after = await until(
      () => metricsOf(worker as Herald),
      (t) => sample(t, 'herald_deliveries_total{outcome="succeeded"}') === 1,
      'the retry to be recorded',
      15_000,
    );
    expect(receiver.requests.length).toBe(2);
    expect(sample(after, 'herald_delivery_lag_seconds_count')).toBe(1);
    expect(sample(after, 'herald_delivery_lag_seconds_sum')).toBe(90);
    // GET /metrics of the API process exposes the histogram too (empty: it made no attempt).
    expect(sample(await scrape(api), 'herald_delivery_lag_seconds_count')).toBe(0);
  });
});
