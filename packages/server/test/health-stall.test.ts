import { manualClock } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type Herald, startHerald } from '../src/app.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

const MINUTE = 60_000;

/** The value of one sample line of Prometheus text, e.g. `herald_deliveries_pending 3`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('readiness and metrics when nothing delivers', () => {
  let api: TestHerald | undefined;
  let worker: Herald | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await worker?.close();
    await api?.close();
    await receiver?.close();
    worker = api = receiver = undefined;
  });

  it('an API answering 202 while no worker delivers turns /readyz 503 after a minute, and /metrics shows the wait; a worker makes it ready again', async () => {
    const clock = manualClock();
    receiver = await startTestReceiver();
    api = await startTestHerald({ clock, random: () => 0 }, 'api');
    const ep = await api.request('POST', '/v1/endpoints', { url: receiver.url });
    expect(ep.status).toBe(201);
    expect(
      (await api.request('POST', '/v1/events', { type: 'sync.completed', data: { connection_id: 'con_1' } })).status,
    ).toBe(202);

    expect((await api.request('GET', '/readyz', undefined, { key: null })).status).toBe(200);
    clock.advance(2 * MINUTE);

    const stalled = await api.request('GET', '/readyz', undefined, { key: null });
    expect(stalled.status).toBe(503);
    expect(stalled.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(stalled.body.error.message).toMatch(/due for 120 s/);
    expect(stalled.headers.get('retry-after')).not.toBeNull();
    // The pending gauge is the last count finished (the first one ran at start, before the publish):
    // a scrape starts the next, which a later scrape reports.
    const metrics = await until(
      () => api!.request('GET', '/metrics', undefined, { key: null }),
      (r) => sample(r.body, 'herald_deliveries_pending') === 1,
      'a pending count after the publish',
    );
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(sample(metrics.body, 'herald_oldest_due_delivery_age_seconds')).toBe(120);
    expect(sample(metrics.body, 'herald_deliveries_pending')).toBe(1);
    expect(sample(metrics.body, 'herald_events_published_total')).toBe(1);

    // A worker on the same database takes the delivery: an attempt was made just now.
    worker = await startHerald(api.config, 'worker');
    await receiver.waitFor(1);
    // Claimed, the delivery is no longer due; recorded, it is no longer pending.
    const after = await until(
      () => api!.request('GET', '/metrics', undefined, { key: null }),
      (r) => sample(r.body, 'herald_deliveries_pending') === 0,
      'the attempt to be recorded',
    );
    expect((await api.request('GET', '/readyz', undefined, { key: null })).status).toBe(200);
    expect(sample(after.body, 'herald_oldest_due_delivery_age_seconds')).toBe(0);
    expect(sample(after.body, 'herald_deliveries_pending')).toBe(0);
    // The worker counted its attempt in its own registry.
    const workerText = await worker.metrics.registry.metrics();
    expect(sample(workerText, 'herald_deliveries_total{outcome="succeeded"}')).toBe(1);
  });

  it('/metrics counts publishes, outcomes, latency and failures per endpoint', async () => {
    const clock = manualClock();
    receiver = await startTestReceiver(() => ({ status: 500, body: 'down' }));
    api = await startTestHerald({ clock, random: () => 0 });
    const ep = (await api.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    for (let i = 0; i < 2; i++) await api.request('POST', '/v1/events', { type: 'invoice.paid', data: { i } });
    await receiver.waitFor(2);
    const text = await until(
      async () => (await api!.request('GET', '/metrics', undefined, { key: null })).body as string,
      (t) =>
        sample(t, 'herald_deliveries_total{outcome="retry_scheduled"}') === 2 &&
        sample(t, 'herald_deliveries_pending') === 2,
      'two attempts in /metrics, and a pending count after them',
    );
    expect(sample(text, 'herald_events_published_total')).toBe(2);
    expect(sample(text, `herald_endpoint_failures_total{endpoint_id="${ep.id}"}`)).toBe(2);
    expect(sample(text, 'herald_attempt_duration_seconds_count{outcome="failure"}')).toBe(2);
    expect(sample(text, 'herald_deliveries_pending')).toBe(2);
    // Nothing is due before the retry, so nothing has waited.
    expect(sample(text, 'herald_oldest_due_delivery_age_seconds')).toBe(0);
    expect((await api.request('GET', '/readyz', undefined, { key: null })).status).toBe(200);
  });
});
