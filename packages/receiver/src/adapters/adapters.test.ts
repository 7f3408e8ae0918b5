import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { receiverFixture } from '../../test/support/receivers.js';
import { envelope, post, signed } from '../../test/support/webhooks.js';

const { make, serve, onCleanup } = receiverFixture();

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('adapters: each framework hands the raw bytes to the same route', () => {
  it('node:http', async () => {
    const { receiver } = make();
    const { url } = await serve(receiver.node());
    const event = envelope();
    expect((await post(url, signed(event))).status).toBe(200);
    expect((await post(url, { headers: signed(event).headers, body: '{"tampered":true}' })).status).toBe(401);
    expect((await fetch(url)).status).toBe(405);
    expect((await receiver.inbox.list()).map((e) => e.id)).toEqual([event.id]);
  });

  it('node:http answers 413 to a body over the limit', async () => {
    const { receiver } = make({ maxBodyBytes: 1000 });
    const { url } = await serve(receiver.node());
    const response = await post(url, signed(envelope({ data: { blob: 'y'.repeat(50_000) } })));
    expect(response.status).toBe(413);
  });

  it("Fastify answers 413 to a body over the limit in the receiver's shape, and counts it", async () => {
    const { receiver } = make({ maxBodyBytes: 1000 });
    const app = Fastify();
    await app.register(receiver.fastify({ path: '/hooks' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    onCleanup(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const response = await post(`${url}/hooks`, signed(envelope({ data: { blob: 'y'.repeat(50_000) } })));
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', reason: 'payload_too_large' } });
    expect(await receiver.metrics.metrics()).toContain('herald_receiver_rejected_total{reason="payload_too_large"} 1');
  });

  it('fetch: a body without content-length is cut at the limit while it streams (413), never read whole', async () => {
    const { receiver } = make({ maxBodyBytes: 1000 });
    const delivery = signed(envelope());
    let pulled = 0;
    // A body that never ends: buffered whole, it would never be answered.
    const endless = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        pulled++;
        controller.enqueue(new Uint8Array(512).fill(32));
      },
    });
    const request = new Request('http://localhost/webhooks', {
      method: 'POST',
      headers: delivery.headers,
      body: endless,
      duplex: 'half',
    } as RequestInit);
    expect(request.headers.get('content-length')).toBeNull();
    const response = await Promise.race([
      receiver.fetch(request),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000)),
    ]);
    if (response === null) await endless.cancel().catch(() => {});
    expect(response?.status).toBe(413);
    expect(await response!.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(pulled).toBeLessThan(10);
    // A small chunked body still gets through whole.
    const small = signed(envelope());
    const chunked = new Request('http://localhost/webhooks', {
      method: 'POST',
      headers: small.headers,
      body: new Blob([small.body]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect((await receiver.fetch(chunked)).status).toBe(200);
  });

  it('Express, mounted before express.json()', async () => {
    const { receiver } = make();
    const app = express();
    app.post('/webhooks', receiver.express());
    app.use(express.json());
    const url = await listen(app);
    const event = envelope();
    expect((await post(`${url}/webhooks`, signed(event))).status).toBe(200);
    expect((await receiver.inbox.get(event.id))?.id).toBe(event.id);
  });

  it('Express with express.raw() on the route', async () => {
    const { receiver } = make();
    const app = express();
    app.post('/webhooks', express.raw({ type: '*/*' }), receiver.express());
    const url = await listen(app);
    expect((await post(`${url}/webhooks`, signed(envelope()))).status).toBe(200);
  });

  it('Express after express.json(): a clear error that says how to pass the raw body, not a 401', async () => {
    const { receiver } = make();
    const app = express();
    app.use(express.json());
    app.post('/webhooks', receiver.express());
    let seen: unknown;
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      seen = error;
      res.status(500).json({ message: (error as Error).message });
    });
    const url = await listen(app);
    const response = await post(`${url}/webhooks`, signed(envelope()));
    expect(response.status).toBe(500);
    expect((seen as Error).name).toBe('RawBodyError');
    expect(String(response.body.message)).toMatch(/already parsed.*Mount receiver\.express\(\) before body parsers/);
    expect(await receiver.inbox.list()).toEqual([]);
  });

  it('Fastify, as a plugin that reads raw bytes only inside itself', async () => {
    const { receiver } = make();
    const app = Fastify();
    await app.register(receiver.fastify({ path: '/hooks' }));
    app.post('/other', async (request) => ({ parsed: request.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    onCleanup(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const event = envelope();
    expect((await post(`${url}/hooks`, signed(event))).status).toBe(200);
    expect((await post(`${url}/hooks`, { ...signed(event), body: '{}' })).status).toBe(401);
    // The application's own JSON routes still get parsed bodies.
    const other = await post(`${url}/other`, { headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(other.body).toEqual({ parsed: { a: 1 } });
  });

  it('Fastify: used as a route handler, it says how to register it', async () => {
    const { receiver } = make();
    const plugin = receiver.fastify() as unknown as (request: unknown, reply: unknown) => Promise<void>;
    await expect(plugin({ body: {} }, {})).rejects.toThrow(/app\.register\(receiver\.fastify/);
  });

  it('fetch: Request in, Response out', async () => {
    const { receiver } = make();
    const event = envelope();
    const delivery = signed(event);
    const response = await receiver.fetch(
      new Request('http://localhost/webhooks', { method: 'POST', headers: delivery.headers, body: delivery.body }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: true, id: event.id, outcome: 'inserted' });
    const stale = await receiver.fetch(
      new Request('http://localhost/webhooks', {
        method: 'POST',
        headers: signed(envelope(), { timestamp: 1 }).headers,
        body: delivery.body,
      }),
    );
    expect(stale.status).toBe(401);
  });
});
