import { manualClock } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

const HOUR = 3_600_000;

describe('an endpoint disabled for a day', () => {
  let h: TestHerald | undefined;
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
    h = receiver = undefined;
  });

  it('keeps every event in its stream, fails those whose 24 hours ran out, and sends the rest once re-enabled', async () => {
    const clock = manualClock();
    receiver = await startTestReceiver(() => ({ status: 200, body: 'ok' }));
    h = await startTestHerald({ clock, random: () => 0 });
    const ep = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body;
    const publish = async (n: number) =>
      (await h!.request('POST', '/v1/events', { type: 'invoice.paid', data: { n } })).body.deliveries[0] as string;
    const delivery = (id: string) => h!.request('GET', `/v1/deliveries/${id}`);

    const first = await publish(1);
    await receiver.waitFor(1);
    await until(
      () => delivery(first),
      (r) => r.body.status === 'succeeded',
      'the first delivery',
    );

    expect((await h.request('PATCH', `/v1/endpoints/${ep.id}`, { disabled: true })).status).toBe(200);
    const early = await publish(2);
    clock.advance(12 * HOUR);
    const late = await publish(3);

    // Published while disabled: each has its delivery, waiting (no due time), and the stream has no hole.
    for (const id of [early, late]) {
      expect((await delivery(id)).body).toMatchObject({
        status: 'pending',
        next_attempt_at: null,
        failure_reason: null,
      });
    }
    const stream = (await h.request('GET', `/v1/events?endpoint_id=${ep.id}&after=0`)).body.data;
    expect(stream.map((s: { sequence: number; data: { n: number } }) => [s.sequence, s.data.n])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    // Nothing is due: readiness does not see a stalled backlog, and no claim returns them.
    expect((await h.request('GET', '/readyz')).status).toBe(200);
    expect(await h.herald.dispatcher!.runOnce()).toBe(0);

    // 24 hours after it was published, the early one's window has closed: failed, with a reason.
    clock.advance(12 * HOUR + 1000);
    await h.herald.checks!.runOnce();
    const failed = (await h.request('GET', '/v1/deliveries?status=failed')).body.data;
    expect(failed).toMatchObject([
      {
        id: early,
        failure_reason:
          "Not delivered: its endpoint was disabled when the delivery's 24-hour retry window closed (disabled through the API).",
      },
    ]);
    expect((await delivery(late)).body.status).toBe('pending');

    // Re-enabled: the one still inside its window goes out; the failed one does not.
    await h.request('PATCH', `/v1/endpoints/${ep.id}`, { disabled: false });
    await receiver.waitFor(2);
    await until(
      () => delivery(late),
      (r) => r.body.status === 'succeeded',
      'the late delivery',
    );
    expect(receiver.requests.map((r) => JSON.parse(r.body.toString()).data.n)).toEqual([1, 3]);
    expect((await delivery(early)).body.status).toBe('failed');

    // ...until a person retries it in bulk.
    const job = await h.request('POST', '/v1/deliveries/retry', { endpoint_id: ep.id });
    expect(job.body).toMatchObject({ total: 1 });
    await receiver.waitFor(3);
    expect(JSON.parse(receiver.requests[2]!.body.toString()).data.n).toBe(2);
  });
});
