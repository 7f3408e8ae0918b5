import { manualClock } from '@herald/protocol';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/api-keys.js';
import { disableFailingEndpoints } from '../src/dispatch/endpoint-disabling.js';
import { eventDataIssues } from '../src/event-types.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe('an endpoint that fails every attempt for --disable-after', () => {
  let h: TestHerald | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
    h = receiver = undefined;
  });

  it('is disabled after 5 days, endpoint.disabled is published once, and re-enabling resumes its deliveries', async () => {
    const clock = manualClock();
    receiver = await startTestReceiver(() => ({ status: 503, body: 'down for maintenance' }));
    // A 7-day retry window, so the delivery is still inside it when the endpoint comes back.
    h = await startTestHerald({ clock, random: () => 0, retryMaxAgeMs: 7 * DAY });
    const store = h.herald.store;
    const ep = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    const published = await h.request('POST', '/v1/events', { type: 'invoice.paid', data: { n: 1 } });
    const deliveryId = published.body.deliveries[0] as string;
    await receiver.waitFor(1);
    const failingSince = clock.now();
    await until(
      () => h!.request('GET', `/v1/deliveries/${deliveryId}`),
      (r) => r.body.attempt_count === 1,
      'the first attempt to be recorded',
    );
    const accountId = (await store.findApiKeyByHash(hashApiKey(h.key)))!.accountId;
    expect((await store.getEndpoint(accountId, ep.id))!.failingSince).toBe(failingSince);

    // Just short of 5 days: still enabled.
    clock.advance(5 * DAY - MINUTE);
    const deps = { store, config: h.config, logger: pino({ level: 'silent' }) };
    expect(await disableFailingEndpoints(deps)).toEqual([]);
    clock.advance(MINUTE);
    // Two processes deciding at once: one disables and publishes.
    const [a, b] = await Promise.all([disableFailingEndpoints(deps), disableFailingEndpoints(deps)]);
    expect([...a!, ...b!]).toEqual([ep.id]);
    await h.herald.checks!.runOnce();

    const endpoint = (await h.request('GET', `/v1/endpoints/${ep.id}`)).body;
    expect(endpoint.disabled).toBe(true);
    const events = (await h.request('GET', '/v1/events?type=endpoint.disabled')).body.data;
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ endpoint_id: ep.id, reason: 'failing', url: receiver.url });
    expect(eventDataIssues('endpoint.disabled', events[0].data)).toEqual([]);
    expect((await h.request('GET', `/v1/deliveries/${deliveryId}`)).body.status).toBe('pending');

    // The receiver is fixed; the operator re-enables the endpoint, and the waiting delivery goes out.
    receiver.respondWith(() => ({ status: 200, body: 'ok' }));
    const before = receiver.requests.length;
    const patched = await h.request('PATCH', `/v1/endpoints/${ep.id}`, { disabled: false });
    expect(patched.body.disabled).toBe(false);
    expect((await store.getEndpoint(accountId, ep.id))!.failingSince).toBeNull();
    clock.advance(DAY); // past its next retry, still inside its 7 days
    await receiver.waitFor(before + 1);
    const delivered = await until(
      () => h!.request('GET', `/v1/deliveries/${deliveryId}`),
      (r) => r.body.status === 'succeeded',
      'the delivery to succeed',
    );
    expect(delivered.body.status).toBe('succeeded');
    // A success ended the failing run: another 5 days later nothing is disabled.
    clock.advance(5 * DAY);
    expect(await disableFailingEndpoints(deps)).toEqual([]);
  });
});
