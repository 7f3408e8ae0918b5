import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DispatchFixture, dispatchFixture } from './dispatch-fixture.js';
import { startTestReceiver, type TestReceiver, tempDir } from './harness.js';

const SECOND = 1000;

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('how a failed attempt is classified and recorded', () => {
  let fx: DispatchFixture;
  let receiver: TestReceiver | undefined;
  let raw: Server | undefined;
  afterEach(async () => {
    await fx?.close();
    await receiver?.close();
    raw?.closeAllConnections();
    await new Promise((resolve) => (raw ? raw.close(resolve) : resolve(undefined)));
    receiver = undefined;
    raw = undefined;
  });

  async function attemptOnce(url: string) {
    await fx.endpoint(url);
    const [id] = (await fx.publish()) as [string];
    expect(await fx.dispatcher.runOnce()).toBe(1);
    const [attempt] = await fx.attempts(id);
    return { attempt: attempt!, delivery: await fx.delivery(id) };
  }

  it('refused: nothing listens on the port', async () => {
    fx = await dispatchFixture();
    const { attempt, delivery } = await attemptOnce(`http://127.0.0.1:${await closedPort()}/hook`);
    expect(attempt).toMatchObject({ error: 'refused', responseStatus: null, responseBody: null });
    expect(delivery).toMatchObject({ status: 'pending', nextAttemptAt: fx.clock.now() + 30 * SECOND });
  });

  it('timeout: a receiver that never answers is given up on at the attempt timeout', async () => {
    fx = await dispatchFixture({ attemptTimeoutMs: 300 });
    receiver = await startTestReceiver(() => new Promise(() => {}));
    const began = performance.now();
    const { attempt } = await attemptOnce(receiver.url);
    expect(attempt).toMatchObject({ error: 'timeout', responseStatus: null });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(290);
    expect(performance.now() - began).toBeLessThan(2_000);
  });

  it('reset: a server that drops the connection without answering', async () => {
    fx = await dispatchFixture();
    raw = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => raw?.listen(0, '127.0.0.1', resolve));
    const { port } = raw.address() as AddressInfo;
    const { attempt } = await attemptOnce(`http://127.0.0.1:${port}/hook`);
    expect(attempt).toMatchObject({ error: 'reset', responseStatus: null });
  });

  it('dns: a host name that does not resolve', async () => {
    fx = await dispatchFixture();
    const { attempt } = await attemptOnce('http://no-such-host.invalid/hook');
    expect(attempt).toMatchObject({ error: 'dns', responseStatus: null });
  });

  it('tls: a certificate the receiver cannot prove', async () => {
    fx = await dispatchFixture();
    const tmp = tempDir();
    const key = join(tmp.dir, 'key.pem');
    const cert = join(tmp.dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end('ok'));
    tmp.remove();
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = tls.address() as AddressInfo;
      const { attempt } = await attemptOnce(`https://127.0.0.1:${port}/hook`);
      expect(attempt).toMatchObject({ error: 'tls', responseStatus: null });
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });

  it('http_status: a 500 is recorded with its headers and the first 4 KiB of a 10 KiB body', async () => {
    fx = await dispatchFixture();
    const body = 'a'.repeat(4096) + 'b'.repeat(6144);
    receiver = await startTestReceiver(() => ({ status: 500, headers: { 'x-reason': 'db down' }, body }));
    const { attempt } = await attemptOnce(receiver.url);
    expect(attempt).toMatchObject({ error: 'http_status', responseStatus: 500 });
    expect(attempt.responseHeaders).toMatchObject({ 'x-reason': 'db down' });
    expect(attempt.responseBody).toBe('a'.repeat(4096));
  });

  /** A raw server whose answer the test writes by hand (headers first, then a body it controls). */
  async function rawServer(answer: (res: import('node:http').ServerResponse) => void): Promise<string> {
    raw = createServer((req, res) => {
      req.resume();
      answer(res);
    });
    await new Promise<void>((resolve) => raw?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(raw.address() as AddressInfo).port}/hook`;
  }

  it('a body far past 4 KiB is cut off: the attempt keeps its status and first 4 KiB', async () => {
    fx = await dispatchFixture({ attemptTimeoutMs: 5_000 });
    const url = await rawServer((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // Far more than Herald reads, and never ended: only the cut-off ends the attempt.
      const chunk = 'z'.repeat(16 * 1024);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
    });
    const began = performance.now();
    const { attempt, delivery } = await attemptOnce(url);
    expect(attempt).toMatchObject({ error: null, responseStatus: 200, responseBody: 'z'.repeat(4096) });
    expect(delivery.status).toBe('succeeded');
    expect(performance.now() - began).toBeLessThan(4_000);
  });

  it('a 2xx whose body breaks off is still a success', async () => {
    fx = await dispatchFixture({ attemptTimeoutMs: 400 });
    const broken = await rawServer((res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
    });
    const first = await attemptOnce(broken);
    expect(first.attempt).toMatchObject({ error: null, responseStatus: 200, responseBody: 'partial' });
    expect(first.delivery.status).toBe('succeeded');
  });

  it('a 500 whose body never ends is still a 500 when the deadline comes', async () => {
    fx = await dispatchFixture({ attemptTimeoutMs: 400 });
    const endless = await rawServer((res) => {
      res.writeHead(500, { 'content-length': '100' });
      res.write('still writing');
    });
    const second = await attemptOnce(endless);
    expect(second.attempt).toMatchObject({ error: 'http_status', responseStatus: 500, responseBody: 'still writing' });
  });

  it('a 3xx is not followed: it is a failed attempt', async () => {
    fx = await dispatchFixture();
    const target = await startTestReceiver();
    receiver = await startTestReceiver(() => ({ status: 307, headers: { location: target.url } }));
    const { attempt } = await attemptOnce(receiver.url);
    expect(attempt).toMatchObject({ error: 'http_status', responseStatus: 307 });
    expect(target.requests).toHaveLength(0);
    await target.close();
  });

  it('retry-after on 429 is honoured, up to twice the interval', async () => {
    fx = await dispatchFixture();
    receiver = await startTestReceiver(() => ({ status: 429, headers: { 'retry-after': '45' } }));
    const { delivery } = await attemptOnce(receiver.url);
    expect(delivery.nextAttemptAt).toBe(fx.clock.now() + 45 * SECOND);

    receiver.respondWith(() => ({ status: 429, headers: { 'retry-after': '3600' } }));
    fx.clock.set(delivery.nextAttemptAt as number);
    expect(await fx.dispatcher.runOnce()).toBe(1);
    // Attempt 2 failed: its interval is 60 s, so retry-after is capped at 120 s.
    expect((await fx.delivery(delivery.id)).nextAttemptAt).toBe(fx.clock.now() + 120 * SECOND);
  });

  it('a 410 Gone disables the endpoint and publishes endpoint.disabled', async () => {
    fx = await dispatchFixture();
    receiver = await startTestReceiver(() => ({ status: 410 }));
    await fx.endpoint(receiver.url);
    const [id] = (await fx.publish()) as [string];
    await fx.dispatcher.runOnce();
    const [endpoint] = (await fx.store.listEndpoints(fx.accountId, { limit: 10 })).data;
    expect(endpoint).toMatchObject({ disabled: true });
    const events = await fx.store.listEvents(fx.accountId, { type: 'endpoint.disabled', limit: 10 });
    expect(events.data).toHaveLength(1);
    expect(events.data[0]?.data).toMatchObject({ endpoint_id: endpoint?.id, reason: 'gone' });
    // The delivery keeps its window; nothing is claimed for a disabled endpoint.
    expect(await fx.delivery(id)).toMatchObject({ status: 'pending' });
    fx.clock.advance(60 * SECOND);
    expect(await fx.dispatcher.runOnce()).toBe(0);
  });

  it('an endpoint row the API would have refused fails its attempts instead of wedging its queue', async () => {
    fx = await dispatchFixture({ endpointConcurrency: 1 });
    receiver = await startTestReceiver();
    await fx.endpoint(receiver.url, { secret: 'not a secret!' });
    const ids = await fx.publish(2);
    expect(await fx.dispatcher.runOnce()).toBe(2);
    for (const id of ids) {
      expect((await fx.attempts(id))[0]).toMatchObject({ error: 'reset', responseStatus: null });
      expect(await fx.delivery(id)).toMatchObject({ status: 'pending', attemptCount: 1 });
    }
    expect(receiver.requests).toHaveLength(0);
  });

  describe('the request-forgery guard (without --allow-private-networks)', () => {
    it.each([
      ['an IP literal on loopback', (port: number) => `http://127.0.0.1:${port}/hook`],
      ['a host name that resolves to loopback', (port: number) => `http://localhost:${port}/hook`],
      ['an IPv6 literal on loopback', (port: number) => `http://[::1]:${port}/hook`],
      ['an IPv4-mapped IPv6 literal of loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`],
      ['the cloud metadata service', () => 'http://169.254.169.254/latest/meta-data/'],
    ])('refuses %s, and the receiver hears nothing', async (_, url) => {
      fx = await dispatchFixture({ allowPrivateNetworks: false });
      receiver = await startTestReceiver();
      const { port } = new URL(receiver.url);
      const { attempt } = await attemptOnce(url(Number(port)));
      expect(attempt).toMatchObject({ error: 'blocked', responseStatus: null });
      expect(receiver.requests).toHaveLength(0);
    });
  });
});
