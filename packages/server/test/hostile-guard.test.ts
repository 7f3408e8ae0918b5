import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';

describe('an endpoint cannot point Herald at this machine or at private IPv4 through IPv6', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ allowPrivateNetworks: false }, 'api');
  });
  afterAll(() => h.close());

  it("refuses the host's own interface address and IPv6 forms that embed private IPv4", async () => {
    const own = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((info) => !info.internal && isIPv4(info.address))
      .map((info) => info.address);
    if (own.length === 0) console.warn('SKIPPED (own address): no non-loopback IPv4 interface here');
    const hosts = [...own, '[::ffff:0:7f00:1]', '[2002:a9fe:a9fe::1]', '[64:ff9b:1::a00:1]'];
    for (const host of hosts) {
      const r = await h.request('POST', '/v1/endpoints', { url: `https://${host}/hook` });
      expect(r.status, host).toBe(400);
      expect(r.body.error.message, host).toMatch(/^url: must not point at/);
    }
    const allowed = await h.request('POST', '/v1/endpoints', { url: 'https://[2002:101:101::1]/hook' });
    expect(allowed.status).toBe(201);
  });
});
