import { manualClock } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { PURGE_IDEMPOTENCY_SQL, type SqliteStore } from '../src/store/sqlite.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

const DAY = 24 * 60 * 60_000;

describe('retention', () => {
  let h: TestHerald | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
    h = receiver = undefined;
  });

  it('purges payloads and response bodies older than --retention and keeps what happened', async () => {
    const clock = manualClock();
    receiver = await startTestReceiver(() => ({ status: 200, body: 'thanks, card 4242 saved' }));
    h = await startTestHerald({ clock, random: () => 0, retentionMs: 30 * DAY });
    await h.request('POST', '/v1/endpoints', { url: receiver.url });
    const old = (await h.request('POST', '/v1/events', { type: 'invoice.paid', data: { card: '4242' } })).body;
    await until(
      () => h!.request('GET', `/v1/deliveries/${old.deliveries[0]}`),
      (r) => r.body.status === 'succeeded',
      'the first delivery',
    );

    clock.advance(30 * DAY);
    const fresh = (await h.request('POST', '/v1/events', { type: 'invoice.paid', data: { card: '1111' } })).body;
    await until(
      () => h!.request('GET', `/v1/deliveries/${fresh.deliveries[0]}`),
      (r) => r.body.status === 'succeeded',
      'the second delivery',
    );
    // Exactly 30 days old: kept.
    await h.herald.checks!.runOnce();
    expect((await h.request('GET', `/v1/events/${old.id}`)).body.data).toEqual({ card: '4242' });

    clock.advance(1);
    await h.herald.checks!.runOnce();
    const purged = (await h.request('GET', `/v1/events/${old.id}`)).body;
    expect(purged).toMatchObject({ id: old.id, type: 'invoice.paid', data: null });
    const delivery = (await h.request('GET', `/v1/deliveries/${old.deliveries[0]}`)).body;
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 1 });
    expect(delivery.attempts[0]).toMatchObject({ response_status: 200, response_body: null });
    expect(delivery.attempts[0].request_headers['webhook-id']).toBe(old.id);

    const kept = (await h.request('GET', `/v1/events/${fresh.id}`)).body;
    expect(kept.data).toEqual({ card: '1111' });
    const keptDelivery = (await h.request('GET', `/v1/deliveries/${fresh.deliveries[0]}`)).body;
    expect(keptDelivery.attempts[0].response_body).toBe('thanks, card 4242 saved');
  });

  it('deletes idempotency keys once they have expired, through the expiry index', async () => {
    const clock = manualClock();
    h = await startTestHerald({ clock });
    const database = (h.herald.store as SqliteStore).database;
    const keys = () =>
      (database.prepare('SELECT key FROM idempotency_keys ORDER BY key').all() as Array<{ key: string }>).map(
        (r) => r.key,
      );
    const publish = (key: string) =>
      h!.request('POST', '/v1/events', { type: 'order.created', data: {} }, { headers: { 'idempotency-key': key } });
    expect((await publish('first')).status).toBe(202);
    clock.advance(DAY / 2);
    expect((await publish('second')).status).toBe(202);

    clock.advance(DAY / 2); // the first key is exactly 24 h old: expired
    await h.herald.checks!.runOnce();
    expect(keys()).toEqual(['second']);
    clock.advance(DAY / 2);
    await h.herald.checks!.runOnce();
    expect(keys()).toEqual([]);
    const plan = database.prepare(`EXPLAIN QUERY PLAN ${PURGE_IDEMPOTENCY_SQL}`).all(0, 10) as Array<{
      detail: string;
    }>;
    const text = plan.map((r) => r.detail).join('\n');
    expect(text).toContain('idempotency_keys_expiry');
    expect(text).not.toMatch(/SCAN idempotency_keys(?! USING)/);
  });
});
