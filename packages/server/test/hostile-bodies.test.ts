import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver } from './harness.js';

describe('write routes refuse what they do not know, and every publish honours Idempotency-Key', () => {
  let h: TestHerald;
  let receiver: TestReceiver;
  let endpointId: string;
  let deliveryId: string;
  beforeAll(async () => {
    h = await startTestHerald();
    receiver = await startTestReceiver();
    endpointId = (await h.request('POST', '/v1/endpoints', { url: receiver.url })).body.id;
    deliveryId = (await h.request('POST', '/v1/events', { type: 'order.created', data: {} })).body.deliveries[0];
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('refuses an unknown field in the body of …/secret/rotate and …/retry, and takes none or {}', async () => {
    for (const path of [`/v1/endpoints/${endpointId}/secret/rotate`, `/v1/deliveries/${deliveryId}/retry`]) {
      const typo = await h.request('POST', path, { overlap_hours: 0 });
      expect(typo.status, path).toBe(400);
      expect(typo.body.error.message, path).toBe('overlap_hours: is not a known field.');
      expect((await h.request('POST', path, {})).status, path).toBeLessThan(300);
      expect((await h.request('POST', path)).status, path).toBeLessThan(300);
    }
  });

  it('checks Idempotency-Key on a `started` sync report and answers a repeat as a replay', async () => {
    const path = '/v1/connections/con_idem/syncs';
    const bad = await h.request('POST', path, { status: 'started' }, { headers: { 'idempotency-key': 'has space' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^idempotency-key: /);

    const first = await h.request('POST', path, { status: 'started' }, { headers: { 'idempotency-key': 'k-started' } });
    expect(first.status).toBe(202);
    const again = await h.request('POST', path, { status: 'started' }, { headers: { 'idempotency-key': 'k-started' } });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await h.request('POST', path, { status: 'failed' }, { headers: { 'idempotency-key': 'k-started' } });
    expect(other.status).toBe(409);
  });
});
