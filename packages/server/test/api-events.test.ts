import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';

/** The API alone (no dispatcher), so deliveries stay pending and every count below is exact. */
describe('publishing events', () => {
  let h: TestHerald;
  beforeAll(async () => {
    // The concurrency test below sends 200 publishes in a second: above the default per-key limit.
    h = await startTestHerald({ rateLimitPerS: 100_000 }, 'api');
  });
  afterAll(() => h.close());

  async function endpoint(body: Record<string, unknown>): Promise<string> {
    const r = await h.request('POST', '/v1/endpoints', { url: 'https://example.com/hook', ...body });
    expect(r.status).toBe(201);
    return r.body.id;
  }

  it('fans an event out to the endpoints whose filters match; a disabled one’s delivery waits', async () => {
    const all = await endpoint({});
    const orders = await endpoint({ event_types: ['order.created'] });
    const con1 = await endpoint({ connection_ids: ['con_1'] });
    const off = await endpoint({});
    await h.request('PATCH', `/v1/endpoints/${off}`, { disabled: true });

    const published = await h.request('POST', '/v1/events', {
      type: 'order.created',
      data: { order: 42 },
      connection_id: 'con_2',
      occurred_at: '2026-11-27T05:51:30.123Z',
    });
    expect(published.status).toBe(202);
    expect(published.body.id).toMatch(/^evt_/);
    expect(published.body.deliveries).toHaveLength(3);

    const event = await h.request('GET', `/v1/events/${published.body.id}`);
    expect(event.status).toBe(200);
    expect(event.body).toMatchObject({
      id: published.body.id,
      type: 'order.created',
      occurred_at: '2026-11-27T05:51:30.123Z',
      connection_id: 'con_2',
      data: { order: 42 },
    });
    expect(new Date(event.body.created_at).toISOString()).toBe(event.body.created_at);
    const byEndpoint = new Map(event.body.deliveries.map((d: { endpoint_id: string }) => [d.endpoint_id, d]));
    expect([...byEndpoint.keys()].sort()).toEqual([all, orders, off].sort());
    expect(byEndpoint.get(off)).toMatchObject({ status: 'pending', next_attempt_at: null });
    expect(byEndpoint.get(all)).toMatchObject({
      event_id: published.body.id,
      status: 'pending',
      sequence: 1,
      attempt_count: 0,
    });

    // A connection filter matches its own connection only; occurred_at defaults to now.
    const other = await h.request('POST', '/v1/events', {
      type: 'sync.completed',
      data: { connection_id: 'con_1' },
      connection_id: 'con_1',
    });
    const otherEvent = (await h.request('GET', `/v1/events/${other.body.id}`)).body;
    expect(otherEvent.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id).sort()).toEqual(
      [all, con1, off].sort(),
    );
    expect(Math.abs(Date.parse(otherEvent.occurred_at) - Date.now())).toBeLessThan(10_000);

    // The delivery list filters by endpoint, event and status.
    const ofAll = await h.request('GET', `/v1/deliveries?endpoint_id=${all}&status=pending`);
    expect(ofAll.body.data.map((d: { sequence: number }) => d.sequence)).toEqual([2, 1]);
    const ofEvent = await h.request('GET', `/v1/deliveries?event_id=${published.body.id}`);
    expect(ofEvent.body.data).toHaveLength(3);
    expect((await h.request('GET', '/v1/deliveries?status=failed')).body.data).toEqual([]);
    const one = await h.request('GET', `/v1/deliveries/${published.body.deliveries[0]}`);
    expect(one.body.attempts).toEqual([]);
    expect(one.body).toHaveProperty('next_attempt_at');
  });

  it('serves the events feed oldest first, with a cursor on every page, an empty one included', async () => {
    const types = ['feed.a', 'feed.b', 'feed.c'];
    for (const type of types) await h.request('POST', '/v1/events', { type, data: {} });
    const first = await h.request('GET', '/v1/events?type=feed.a');
    expect(first.body.data.map((e: { type: string }) => e.type)).toEqual(['feed.a']);

    const seen: string[] = [];
    let cursor = '0';
    for (;;) {
      const page = await h.request('GET', `/v1/events?limit=2&after=${cursor}`);
      expect(page.status).toBe(200);
      expect(typeof page.body.next_cursor).toBe('string');
      if (page.body.data.length === 0) {
        // A poller at the end keeps its place.
        expect(page.body.next_cursor).toBe(cursor);
        break;
      }
      seen.push(...page.body.data.map((e: { type: string }) => e.type));
      cursor = page.body.next_cursor;
    }
    expect(seen.slice(-3)).toEqual(types);
    const later = await h.request('POST', '/v1/events', { type: 'feed.d', data: {} });
    const next = await h.request('GET', `/v1/events?after=${cursor}`);
    expect(next.body.data.map((e: { id: string }) => e.id)).toEqual([later.body.id]);
  });

  it("serves one endpoint's stream in sequence order, from any sequence", async () => {
    const ep = await endpoint({ event_types: ['stream.tick'] });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await h.request('POST', '/v1/events', { type: 'stream.tick', data: { i } })).body.id);
    }
    // A receiver that saw 1, 2 and then 4 fetches 3.
    const gap = await h.request('GET', `/v1/events?endpoint_id=${ep}&after=2&limit=1`);
    expect(gap.status).toBe(200);
    expect(gap.body.data).toHaveLength(1);
    expect(gap.body.data[0]).toMatchObject({
      id: ids[2],
      type: 'stream.tick',
      endpoint_id: ep,
      sequence: 3,
      data: { i: 2 },
      connection_id: null,
    });
    expect(gap.body.next_cursor).toBe('3');
    const rest = await h.request('GET', `/v1/events?endpoint_id=${ep}&after=3`);
    expect(rest.body.data.map((e: { sequence: number }) => e.sequence)).toEqual([4, 5]);
    expect(rest.body.next_cursor).toBe('5');
    const end = await h.request('GET', `/v1/events?endpoint_id=${ep}&after=5`);
    expect(end.body).toEqual({ data: [], next_cursor: '5' });
    expect((await h.request('GET', '/v1/events?endpoint_id=ep_unknown')).status).toBe(404);
  });

  it('numbers each endpoint 1..N with no gap and no repeat under 50 concurrent publishers', async () => {
    const a = await endpoint({ event_types: ['load.test'] });
    const b = await endpoint({ event_types: ['load.test'] });
    const rounds = 4;
    const accepted: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          h.request('POST', '/v1/events', { type: 'load.test', data: { round, i } }),
        ),
      );
      for (const r of responses) {
        expect(r.status).toBe(202);
        // a, b, and the catch-all endpoints of the first test (the disabled one's waits).
        expect(r.body.deliveries).toHaveLength(4);
        accepted.push(r.body.id);
      }
    }
    for (const ep of [a, b]) {
      const stream = await h.request('GET', `/v1/events?endpoint_id=${ep}&limit=250`);
      const sequences = stream.body.data.map((e: { sequence: number }) => e.sequence);
      expect(sequences).toEqual(Array.from({ length: 50 * rounds }, (_, i) => i + 1));
      expect(new Set(stream.body.data.map((e: { id: string }) => e.id))).toEqual(new Set(accepted));
    }
  });

  it('publishes once per Idempotency-Key: the same body gets the first answer, another body a 409', async () => {
    const ep = await endpoint({ event_types: ['invoice.paid'] });
    const body = { type: 'invoice.paid', data: { invoice: 7, amount: 100 } };
    const headers = { 'idempotency-key': 'f3b0c8e2-invoice-7' };
    // Ten concurrent retries of one request (some share a group commit): exactly one event.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => h.request('POST', '/v1/events', body, { headers })),
    );
    for (const a of answers) expect(a.status).toBe(202);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    const first = answers.find((a) => a.headers.get('idempotent-replayed') === null);
    for (const a of answers) expect(a.body).toEqual(first?.body);

    // Key order does not make another body.
    const reordered = await h.request(
      'POST',
      '/v1/events',
      { data: { amount: 100, invoice: 7 }, type: 'invoice.paid' },
      { headers },
    );
    expect(reordered.body.id).toBe(first?.body.id);

    const reused = await h.request('POST', '/v1/events', { ...body, data: { invoice: 8 } }, { headers });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', type: 'invalid_request_error' });
    expect(reused.body.error.message).toMatch(/^idempotency-key:/);
    expect(reused.headers.get('x-request-id')).toBe(reused.body.error.request_id);

    const stream = await h.request('GET', `/v1/events?endpoint_id=${ep}`);
    expect(stream.body.data.map((e: { id: string }) => e.id)).toEqual([first?.body.id]);

    // Another key is another request; a key that is not visible ASCII is refused, naming the header.
    const other = await h.request('POST', '/v1/events', body, { headers: { 'idempotency-key': 'another' } });
    expect(other.body.id).not.toBe(first?.body.id);
    const bad = await h.request('POST', '/v1/events', body, { headers: { 'idempotency-key': 'has space' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^idempotency-key:/);
  });
});
