import { createHmac } from 'node:crypto';
import { HERALD_VERSION, manualClock, secretKey } from '@herald/protocol';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type DispatchFixture, dispatchFixture, SECRET } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver } from './harness.js';

describe('what a receiver gets on the wire', () => {
  let fx: DispatchFixture;
  let receiver: TestReceiver;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
  });

  it('a signed Standard Webhooks POST with the envelope, the same webhook-id on every retry', async () => {
    // The clock starts at the real now, so standardwebhooks' 5-minute tolerance accepts the timestamp.
    const clock = manualClock(Date.now());
    fx = await dispatchFixture({ clock });
    let n = 0;
    receiver = await startTestReceiver(() => ({ status: n++ === 0 ? 500 : 200 }));
    const endpoint = await fx.endpoint(receiver.url, {
      headers: {
        'X-Tenant': 'acme',
        authorization: 'Bearer receiver-token',
        'webhook-id': 'forged',
        'User-Agent': 'x',
      },
    });
    const occurredAt = clock.now();
    const [id] = (await fx.publish(1, 'sync.completed', { rows: 42, note: 'héllo' })) as [string];
    await fx.dispatcher.runOnce();
    clock.advance(30_000);
    await fx.dispatcher.runOnce();

    expect(receiver.requests).toHaveLength(2);
    const [first, retry] = receiver.requests as [(typeof receiver.requests)[0], (typeof receiver.requests)[0]];
    const delivery = await fx.delivery(id);
    for (const [request, at] of [
      [first, occurredAt],
      [retry, occurredAt + 30_000],
    ] as const) {
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/webhooks');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toBe(`Herald/${HERALD_VERSION}`);
      expect(request.headers['webhook-id']).toBe(delivery.eventId);
      expect(request.headers['webhook-timestamp']).toBe(String(Math.floor(at / 1000)));
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(request.headers['x-tenant']).toBe('acme');
      expect(request.headers.authorization).toBe('Bearer receiver-token');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
      expect(new Webhook(SECRET).verify(request.body.toString('utf8'), headers)).toMatchObject({
        id: delivery.eventId,
      });

      const envelope = JSON.parse(request.body.toString('utf8'));
      expect(Object.keys(envelope)).toEqual([
        'id',
        'type',
        'occurred_at',
        'connection_id',
        'endpoint_id',
        'sequence',
        'data',
      ]);
      expect(envelope).toEqual({
        id: delivery.eventId,
        type: 'sync.completed',
        occurred_at: new Date(occurredAt).toISOString(),
        connection_id: 'con_1',
        endpoint_id: endpoint.id,
        sequence: 1,
        data: { rows: 42, note: 'héllo' },
      });
    }

    // The attempt log keeps the request headers; custom header values are the receiver's secrets
    // (sealed in the endpoint, hidden from read keys), so it keeps only their names.
    const [attempt] = await fx.attempts(id);
    expect(attempt?.requestHeaders).toMatchObject({
      'webhook-id': delivery.eventId,
      'webhook-signature': first.headers['webhook-signature'],
      'x-tenant': '[redacted]',
      authorization: '[redacted]',
    });
    expect(JSON.stringify(attempt?.requestHeaders)).not.toContain('receiver-token');
    expect(JSON.stringify(attempt?.requestHeaders)).not.toContain('acme');
  });

  it('signs with both secrets while a rotation overlaps, and only the new one after', async () => {
    const clock = manualClock(Date.now());
    fx = await dispatchFixture({ clock });
    receiver = await startTestReceiver();
    const endpoint = await fx.endpoint(receiver.url);
    const newSecret = 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    await fx.store.updateEndpoint(
      fx.accountId,
      endpoint.id,
      { secret: newSecret, previousSecret: SECRET, previousSecretExpiresAt: clock.now() + 60_000 },
      clock.now(),
    );
    await fx.publish();
    await fx.dispatcher.runOnce();
    clock.advance(60_000);
    await fx.publish();
    await fx.dispatcher.runOnce();

    const [during, after] = receiver.requests.map((r) => ({
      body: r.body.toString('utf8'),
      headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)])),
    })) as [{ body: string; headers: Record<string, string> }, { body: string; headers: Record<string, string> }];
    expect(during.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => new Webhook(SECRET).verify(during.body, during.headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(during.body, during.headers)).not.toThrow();
    expect(after.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(() => new Webhook(newSecret).verify(after.body, after.headers)).not.toThrow();
    expect(() => new Webhook(SECRET).verify(after.body, after.headers)).toThrow();
  });

  it('the hmac-sha256 scheme sends x-herald-signature: sha256=<hex HMAC of the body>', async () => {
    fx = await dispatchFixture();
    receiver = await startTestReceiver();
    await fx.endpoint(receiver.url, { signatureScheme: 'hmac-sha256' });
    await fx.publish();
    await fx.dispatcher.runOnce();
    const [request] = receiver.requests;
    const expected = `sha256=${createHmac('sha256', secretKey(SECRET))
      .update(request?.body as Buffer)
      .digest('hex')}`;
    expect(request?.headers['x-herald-signature']).toBe(expected);
    expect(request?.headers['webhook-signature']).toBeUndefined();
    expect(request?.headers['webhook-id']).toMatch(/^evt_/);
  });
});
