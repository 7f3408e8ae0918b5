import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/api-keys.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

describe("an endpoint's custom headers: one rule for the API and the sender", () => {
  let h: TestHerald;
  let receiver: TestReceiver;
  beforeAll(async () => {
    h = await startTestHerald();
    receiver = await startTestReceiver();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('refuses at create and at patch a value with a control or non-Latin-1 character, naming the header', async () => {
    const base = { url: receiver.url };
    for (const value of ['caf\u00e9 \u2615', 'a\u0001b', 'a\u007fb', 'a\u0085b']) {
      const created = await h.request('POST', '/v1/endpoints', { ...base, headers: { 'X-Note': value } });
      expect(created.status, JSON.stringify(value)).toBe(400);
      expect(created.body.error.message).toMatch(/^headers\.X-Note: /);
    }
    const made = await h.request('POST', '/v1/endpoints', { ...base, headers: { 'x-note': 'caf\u00e9, tab\tok' } });
    expect(made.status).toBe(201);
    const patched = await h.request('PATCH', `/v1/endpoints/${made.body.id}`, { headers: { 'x-note': '\u2615' } });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toMatch(/^headers\.x-note: /);
  });

  it('never sends a hop-by-hop header the API refuses, even from a row written around the API', async () => {
    const names = ['keep-alive', 'upgrade', 'te', 'trailer', 'expect'];
    for (const name of names) {
      const r = await h.request('POST', '/v1/endpoints', { url: receiver.url, headers: { [name]: 'x' } });
      expect(r.status, name).toBe(400);
    }
    const made = await h.request('POST', '/v1/endpoints', { url: receiver.url, event_types: ['hop.test'] });
    const key = await h.herald.store.findApiKeyByHash(hashApiKey(h.key));
    const hopByHop = {
      'keep-alive': 'timeout=1',
      upgrade: 'h2c',
      te: 'trailers',
      trailer: 'x-t',
      expect: '100-continue',
    };
    await h.herald.store.updateEndpoint(
      key?.accountId ?? '',
      made.body.id,
      { headers: { ...hopByHop, 'x-ok': '1' } },
      Date.now(),
    );
    const published = await h.request('POST', '/v1/events', { type: 'hop.test', data: {} });
    expect(published.status).toBe(202);
    const mine = () => receiver.requests.find((r) => JSON.parse(r.body.toString()).endpoint_id === made.body.id);
    await until(
      async () => mine(),
      (r) => r !== undefined,
      'the delivery to the endpoint',
    );
    const got = mine();
    expect(got?.headers['x-ok']).toBe('1');
    for (const name of ['upgrade', 'te', 'trailer', 'expect']) expect(got?.headers[name], name).toBeUndefined();
    expect(got?.headers['keep-alive']).not.toBe('timeout=1');
  });
});
