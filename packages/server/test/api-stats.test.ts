import { manualClock, newId } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../src/store/types.js';
import { startTestHerald, type TestHerald } from './harness.js';

/** Records one attempt that ends the delivery `succeeded` or `failed`, as the dispatcher would. */
function ended(deliveryId: string, status: 'succeeded' | 'failed', at: number): AttemptOutcome {
  return {
    attempt: {
      id: newId('attempt', at),
      deliveryId,
      attemptNo: 1,
      startedAt: at,
      durationMs: 5,
      requestHeaders: {},
      responseStatus: status === 'succeeded' ? 200 : 500,
      responseHeaders: {},
      responseBody: '',
      error: status === 'succeeded' ? null : 'http_status',
      manual: false,
    },
    // Not claimed: this test's deliveries were never handed to a dispatcher.
    claim: null,
    status,
    nextAttemptAt: null,
  };
}

describe('GET /v1/stats/deliveries', () => {
  let h: TestHerald;
  afterEach(async () => {
    await h?.close();
  });

  it('counts the deliveries created in each bucket by their status now, zeros included, and the failed per endpoint', async () => {
    const t0 = Date.parse('2030-01-01T10:00:30.000Z');
    const clock = manualClock(t0);
    // The API alone: nothing is delivered unless the test records it.
    h = await startTestHerald({ clock }, 'api');
    const a = (await h.request('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/a' })).body;
    const b = (await h.request('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/b' })).body;
    const publish = async () =>
      (await h.request('POST', '/v1/events', { type: 'order.created', data: {} })).body.deliveries as string[];

    const first = [...(await publish()), ...(await publish())]; // 10:00: 4 deliveries
    clock.advance(120_000);
    const third = await publish(); // 10:02: 2 deliveries
    const [ofA, ofB] = await Promise.all(
      [a.id, b.id].map(async (id) => (await h.request('GET', `/v1/deliveries?endpoint_id=${id}`)).body.data),
    );
    const isA = (id: string) => ofA.some((d: { id: string }) => d.id === id);
    const firstOfA = first.filter(isA);
    const firstOfB = first.filter((id) => !isA(id));
    expect([firstOfA.length, firstOfB.length, ofB.length]).toEqual([2, 2, 3]);
    await h.herald.store.recordAttempts(
      [
        ended(firstOfA[0] as string, 'succeeded', t0 + 1000),
        ended(firstOfB[0] as string, 'failed', t0 + 1000),
        ended(firstOfB[1] as string, 'failed', t0 + 1000),
        ended(third.find(isA) as string, 'succeeded', t0 + 121_000),
      ],
      t0 + 121_000,
    );
    clock.advance(30_000); // now 10:03:00

    const stats = await h.request('GET', '/v1/stats/deliveries?since=2030-01-01T10:00:10.000Z');
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual({
      since: '2030-01-01T10:00:00.000Z',
      until: '2030-01-01T10:03:00.000Z',
      bucket_seconds: 60,
      buckets: [
        { start: '2030-01-01T10:00:00.000Z', succeeded: 1, failed: 2, pending: 1 },
        { start: '2030-01-01T10:01:00.000Z', succeeded: 0, failed: 0, pending: 0 },
        { start: '2030-01-01T10:02:00.000Z', succeeded: 1, failed: 0, pending: 1 },
        { start: '2030-01-01T10:03:00.000Z', succeeded: 0, failed: 0, pending: 0 },
      ],
      failed_by_endpoint: [{ endpoint_id: b.id, failed: 2 }],
      // Now: A's pending delivery of 10:00 is the oldest due; B is in a run of failures.
      oldest_due_at: '2030-01-01T10:00:30.000Z',
      oldest_due_delivery_id: firstOfA[1],
      failing_endpoints: 1,
      disabled_endpoints: 0,
    });

    // Larger buckets: the same six deliveries; a window that starts after the first ones leaves them out.
    const hourly = await h.request('GET', '/v1/stats/deliveries?since=2030-01-01T09:30:00.000Z&bucket_seconds=3600');
    expect(hourly.body.buckets).toEqual([
      { start: '2030-01-01T09:00:00.000Z', succeeded: 0, failed: 0, pending: 0 },
      { start: '2030-01-01T10:00:00.000Z', succeeded: 2, failed: 2, pending: 2 },
    ]);
    const later = await h.request('GET', '/v1/stats/deliveries?since=2030-01-01T10:02:00.000Z');
    expect(later.body.buckets.map((x: { pending: number }) => x.pending)).toEqual([1, 0]);
    expect(later.body.failed_by_endpoint).toEqual([]);

    // A read key may ask too (the dashboard's viewers have one).
    const read = (await h.request('POST', '/v1/api-keys', { role: 'read' })).body.key as string;
    const asReader = await h.request('GET', '/v1/stats/deliveries', undefined, { key: read });
    expect(asReader.status).toBe(200);
    expect(asReader.body.buckets).toHaveLength(61);
  });

  it('refuses a window it cannot answer, naming the field', async () => {
    h = await startTestHerald({ clock: manualClock(Date.parse('2030-01-01T10:00:00.000Z')) }, 'api');
    const cases: Array<[string, string, RegExp]> = [
      ['since=yesterday', 'since', /ISO-8601/],
      ['since=2030-01-01T11:00:00.000Z', 'since', /past/],
      ['since=2029-12-20T10:00:00.000Z', 'since', /7 days/],
      ['since=2029-12-30T10:00:00.000Z&bucket_seconds=60', 'bucket_seconds', /2881 buckets.*at most 1440/],
      ['bucket_seconds=5', 'bucket_seconds', /.+/],
    ];
    for (const [query, field, message] of cases) {
      const response = await h.request('GET', `/v1/stats/deliveries?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code, query).toBe('INVALID_REQUEST');
      expect(response.body.error.message, query).toContain(field);
      expect(response.body.error.message, query).toMatch(message);
    }
  });
});
