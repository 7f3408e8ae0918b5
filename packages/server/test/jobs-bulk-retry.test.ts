import { afterEach, describe, expect, it } from 'vitest';
import { type Herald, startHerald } from '../src/app.js';
import { makeConfig } from '../src/config.js';
import {
  startTestHerald,
  startTestReceiver,
  TEST_ADMIN_KEY,
  type TestHerald,
  type TestReceiver,
  until,
} from './harness.js';

/**
 * Automatic retries give up within a second: deliveries fail for good fast, each on its own
 * schedule (no circuit, which would hold the endpoint's deliveries back after 5 failures).
 */
const FAST_FAILURE = { retryBaseMs: 100, retryMaxAgeMs: 1_000, claimLeaseMs: 2_000, circuitFailures: 0 };

describe('retrying failed deliveries by hand, one or in bulk', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp(): Promise<{ h: TestHerald; receiver: TestReceiver }> {
    const receiver = await startTestReceiver(() => ({ status: 500, body: 'down' }));
    cleanups.push(() => receiver.close());
    const h = await startTestHerald(FAST_FAILURE);
    cleanups.push(() => h.close());
    return { h, receiver };
  }

  /** Publishes n events and waits until every delivery to `endpointId` has failed for good. */
  async function failedFor(h: TestHerald, endpointId: string, n: number): Promise<string[]> {
    for (let i = 0; i < n; i++) {
      expect((await h.request('POST', '/v1/events', { type: 'order.created', data: { i } })).status).toBe(202);
    }
    const listed = await until(
      () => h.request('GET', `/v1/deliveries?status=failed&endpoint_id=${endpointId}&limit=250`),
      (r) => r.body.data.length === n,
      `${n} failed deliveries`,
    );
    expect(listed.body.data).toHaveLength(n);
    return listed.body.data.map((d: { id: string }) => d.id);
  }

  it('retries a delivery that failed for good by hand, and it succeeds', async () => {
    const { h, receiver } = await setUp();
    const ep = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    const [id] = await failedFor(h, ep.id, 1);
    const before = (await h.request('GET', `/v1/deliveries/${id}`)).body;
    expect(before).toMatchObject({ status: 'failed', next_attempt_at: null });
    expect(before.attempt_count).toBeGreaterThanOrEqual(2);

    receiver.respondWith(() => ({ status: 200 }));
    const retried = await h.request('POST', `/v1/deliveries/${id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id, status: 'succeeded', attempt_count: before.attempt_count + 1 });
    expect(retried.body.attempt).toMatchObject({ response_status: 200, manual: true });
  });

  it('retries every failed delivery of an endpoint as a job, and reports its progress and counts', async () => {
    const { h, receiver } = await setUp();
    const ep = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    const failedIds = await failedFor(h, ep.id, 30);
    // Half of them will go through: the receiver fails the events with an odd i.
    receiver.respondWith(async (request) => {
      await new Promise((r) => setTimeout(r, 20));
      const { data } = JSON.parse(request.body.toString());
      return { status: data.i % 2 === 0 ? 200 : 503 };
    });
    const sentBefore = receiver.requests.length;

    const created = await h.request('POST', '/v1/deliveries/retry', { endpoint_id: ep.id });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ total: 30 });
    expect(created.body.job_id).toMatch(/^job_/);

    const seen: number[] = [];
    const job = await until(
      () => h.request('GET', `/v1/jobs/${created.body.job_id}`),
      (r) => {
        seen.push(r.body.done);
        return r.body.state !== 'running';
      },
      'the job to end',
    );
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id: created.body.job_id,
      kind: 'bulk_retry',
      state: 'completed',
      total: 30,
      done: 30,
      succeeded: 15,
      failed: 15,
    });
    expect(Date.parse(job.body.finished_at)).toBeGreaterThanOrEqual(Date.parse(job.body.created_at));
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // progress only moves forward
    // Each failed delivery was attempted once more, by hand.
    const retried = receiver.requests.slice(sentBefore).map((r) => String(r.headers['webhook-id']));
    expect(retried).toHaveLength(30);
    expect(new Set(retried).size).toBe(30);
    const succeeded = await h.request('GET', `/v1/deliveries?status=succeeded&endpoint_id=${ep.id}&limit=250`);
    expect(succeeded.body.data).toHaveLength(15);
    const one = (await h.request('GET', `/v1/deliveries/${failedIds[0]}`)).body;
    expect(one.attempts.at(-1).manual).toBe(true);
    expect(one.next_attempt_at).toBeNull(); // a manual attempt does not restart the schedule

    // Unknown job, another account's nothing: 404.
    expect((await h.request('GET', '/v1/jobs/job_unknown')).status).toBe(404);
  });

  it('takes only the failed deliveries the filter names', async () => {
    const { h, receiver } = await setUp();
    const a = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    const b = (await h.request('POST', '/v1/endpoints', { url: receiver.url, event_types: ['other.type'] })).body;
    await failedFor(h, a.id, 3);
    const now = new Date().toISOString();
    expect((await h.request('POST', '/v1/deliveries/retry', { endpoint_id: b.id })).body).toMatchObject({
      total: 0,
      state: 'completed',
    });
    expect((await h.request('POST', '/v1/deliveries/retry', { since: now })).body.total).toBe(0);
    expect((await h.request('POST', '/v1/deliveries/retry', { until: now, endpoint_id: a.id })).body.total).toBe(3);

    const bad = await h.request('POST', '/v1/deliveries/retry', { since: 'last week' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^since: /);
    const backwards = await h.request('POST', '/v1/deliveries/retry', { since: now, until: '2020-01-01T00:00:00Z' });
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.message).toMatch(/^until: /);
    expect((await h.request('POST', '/v1/deliveries/retry', { endpoint_id: 'ep_nope' })).status).toBe(404);
    expect((await h.request('POST', '/v1/deliveries/retry', { endpoint: a.id })).status).toBe(400);
  });

  it('in `herald api` creates the job, and a worker on the same store runs it', async () => {
    const receiver = await startTestReceiver(() => ({ status: 500 }));
    cleanups.push(() => receiver.close());
    // The serve process makes the failed deliveries, then stops; the api and worker roles take over.
    const serve = await startTestHerald(FAST_FAILURE);
    cleanups.push(() => serve.close()); // last: it removes the temp dir with the database
    const db = serve.config.db;
    const ep = (await serve.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    await failedFor(serve, ep.id, 5);
    await serve.herald.close();

    receiver.respondWith(() => ({ status: 200 }));
    const api = await startTestHerald({ ...FAST_FAILURE, db }, 'api');
    cleanups.push(() => api.close());
    expect(api.herald.jobs).toBeUndefined();
    const created = await api.request('POST', '/v1/deliveries/retry', {});
    expect(created.status).toBe(202);
    expect(created.body.total).toBe(5);
    const sentBefore = receiver.requests.length;

    const worker: Herald = await startHerald(
      makeConfig({ ...FAST_FAILURE, db, logLevel: 'silent', allowPrivateNetworks: true, bootstrapKey: TEST_ADMIN_KEY }),
      'worker',
    );
    cleanups.push(() => worker.close());
    const job = await until(
      () => api.request('GET', `/v1/jobs/${created.body.job_id}`),
      (r) => r.body.state === 'completed',
      'the job to complete',
    );
    expect(job.body).toMatchObject({ state: 'completed', total: 5, done: 5, succeeded: 5, failed: 0 });
    expect(receiver.requests.length - sentBefore).toBe(5);
  });
});
