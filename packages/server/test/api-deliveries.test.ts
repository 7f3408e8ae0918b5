import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

/** A real server with its dispatcher, delivering to a real receiver on 127.0.0.1. */
describe('deliveries, their attempts, and a retry by hand', () => {
  let h: TestHerald;
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startTestReceiver(() => ({ status: 500, body: 'database down' }));
    // A long retry base: the only attempts are the first one and the manual one.
    h = await startTestHerald({ retryBaseMs: 3_600_000 });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('shows every attempt of a failing delivery, and a manual retry that succeeds', async () => {
    const ep = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    const published = (await h.request('POST', '/v1/events', { type: 'order.created', data: { n: 1 } })).body;
    const deliveryId: string = published.deliveries[0];

    const failed = await until(
      () => h.request('GET', `/v1/deliveries/${deliveryId}`),
      (r) => r.body.attempts.length === 1,
      'the first attempt',
      5_000,
    );
    expect(failed.body).toMatchObject({
      id: deliveryId,
      event_id: published.id,
      endpoint_id: ep.id,
      status: 'pending',
      sequence: 1,
      attempt_count: 1,
    });
    // The next automatic attempt is an hour out (retry base), give or take the jitter.
    expect(Date.parse(failed.body.next_attempt_at) - Date.now()).toBeGreaterThan(50 * 60_000);
    const [attempt] = failed.body.attempts;
    expect(attempt).toMatchObject({ attempt_no: 1, response_status: 500, response_body: 'database down' });
    expect(attempt.error).toBe('http_status');
    expect(attempt.request_headers['webhook-id']).toBe(published.id);
    expect(typeof attempt.duration_ms).toBe('number');
    expect(new Date(attempt.started_at).toISOString()).toBe(attempt.started_at);

    receiver.respondWith(() => ({ status: 200, body: 'ok' }));
    const retried = await h.request('POST', `/v1/deliveries/${deliveryId}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id: deliveryId, status: 'succeeded', attempt_count: 2 });
    expect(retried.body.attempt).toMatchObject({ response_status: 200, error: null, manual: true });
    expect(receiver.requests).toHaveLength(2);

    const listed = await h.request('GET', `/v1/deliveries?status=succeeded&endpoint_id=${ep.id}`);
    expect(listed.body.data.map((d: { id: string }) => d.id)).toEqual([deliveryId]);
    expect((await h.request('POST', '/v1/deliveries/dlv_unknown/retry')).status).toBe(404);

    // Once its endpoint is deleted, a delivery has nowhere to go: a retry is refused, naming the id.
    expect((await h.request('DELETE', `/v1/endpoints/${ep.id}`)).status).toBe(200);
    const orphan = await h.request('POST', `/v1/deliveries/${deliveryId}/retry`);
    expect(orphan.status).toBe(400);
    expect(orphan.body.error.message).toMatch(/^id:/);
    expect(receiver.requests).toHaveLength(2);
  });

  it('lists each delivery with its event type, its endpoint and its latest attempt, for a person to act on', async () => {
    receiver.respondWith(() => ({ status: 503, body: 'maintenance' }));
    const ep = (
      await h.request('POST', '/v1/endpoints', {
        url: receiver.url,
        description: 'Orders receiver',
        event_types: ['invoice.paid'],
      })
    ).body;
    const published = (await h.request('POST', '/v1/events', { type: 'invoice.paid', data: { n: 2 } })).body;
    const deliveryId: string = published.deliveries[0];
    await until(
      () => h.request('GET', `/v1/deliveries/${deliveryId}`),
      (r) => r.body.attempts.length === 1,
      'the first attempt',
      5_000,
    );
    const listed = await h.request('GET', `/v1/deliveries?endpoint_id=${ep.id}`);
    const [row] = listed.body.data;
    expect(row).toMatchObject({
      id: deliveryId,
      event_type: 'invoice.paid',
      endpoint_description: 'Orders receiver',
      endpoint_url: receiver.url,
      last_attempt: { response_status: 503, error: 'http_status' },
    });
    expect(new Date(row.last_attempt.at).toISOString()).toBe(row.last_attempt.at);
    expect(Date.parse(row.next_attempt_at)).toBeGreaterThan(Date.parse(row.last_attempt.at));
    // The single read and a retry's answer carry the same fields.
    expect((await h.request('GET', `/v1/deliveries/${deliveryId}`)).body).toMatchObject({
      event_type: 'invoice.paid',
      endpoint_description: 'Orders receiver',
    });
    receiver.respondWith(() => ({ status: 200, body: 'ok' }));
    const retried = await h.request('POST', `/v1/deliveries/${deliveryId}/retry`);
    expect(retried.body).toMatchObject({ status: 'succeeded', last_attempt: { response_status: 200, error: null } });
  });

  it('reports ready while the store answers', async () => {
    const ready = await h.request('GET', '/readyz', undefined, { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok' });
    expect((await h.request('GET', '/healthz', undefined, { key: null })).body).toEqual({ status: 'ok' });
  });
});
