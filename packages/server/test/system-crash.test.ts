import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestReceiver, type TestReceiver } from './harness.js';
import { api, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';
import { tempDir } from './temp-dir.js';

describe('a real herald serve process', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('delivers every event it answered 202 to, across a kill -9 and a restart on the same file', async () => {
    const tmp = tempDir('herald-crash-');
    cleanups.push(() => tmp.remove());
    // Slow at first, so that a backlog and claims in flight exist when the process dies.
    const receiver: TestReceiver = await startTestReceiver(async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { status: 200 };
    });
    cleanups.push(() => receiver.close());
    const args = ['--db', join(tmp.dir, 'herald.db'), '--allow-private-networks', '--claim-lease', '2s'];
    const env = { HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY };

    const first = await spawnHerald('serve', args, env);
    cleanups.push(() => {
      first.child.kill('SIGKILL');
    });
    const endpoint = await api<{ id: string; secret: string }>(first.url, 'POST', '/v1/endpoints', {
      url: receiver.url,
    });
    expect(endpoint.status).toBe(201);
    const secret: string = endpoint.body.secret;

    // 16 publishers keep publishing while the server delivers; the kill lands in the middle.
    const accepted = new Set<string>();
    let stop = false;
    const publishers = Array.from({ length: 16 }, async (_, p) => {
      for (let i = 0; !stop; i++) {
        try {
          const response = await api<{ id: string }>(first.url, 'POST', '/v1/events', {
            type: 'order.created',
            data: { publisher: p, n: i },
          });
          if (response.status === 202) accepted.add(response.body.id);
        } catch {
          return; // the server is gone
        }
      }
    });
    while (accepted.size < 400 || receiver.requests.length < 50) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    stop = true;
    await Promise.all(publishers);
    receiver.respondWith(() => ({ status: 200 }));
    const missing = () => {
      const delivered = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
      return [...accepted].filter((id) => !delivered.has(id));
    };
    // The restart has work to do: accepted events that the dead process had not delivered.
    expect(missing().length).toBeGreaterThan(0);

    const second = await spawnHerald('serve', args, env);
    cleanups.push(async () => {
      second.child.kill('SIGTERM');
      await second.exited;
    });
    const deadline = Date.now() + 20_000;
    while (missing().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(missing()).toEqual([]);

    // What the server sent verifies with the Standard Webhooks reference library.
    const webhook = new Webhook(secret);
    for (const request of receiver.requests.slice(-20)) {
      const headers = {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      };
      expect(webhook.verify(request.body.toString(), headers)).toMatchObject({ type: 'order.created' });
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const tmp = tempDir('herald-term-');
    cleanups.push(() => tmp.remove());
    const server = await spawnHerald('serve', ['--db', join(tmp.dir, 'herald.db')], {
      HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY,
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('prints a new admin key once when none exists and no bootstrap key is set', async () => {
    const tmp = tempDir('herald-key-');
    cleanups.push(() => tmp.remove());
    const args = ['--db', join(tmp.dir, 'herald.db')];
    const server = await spawnHerald('serve', args, { HERALD_BOOTSTRAP_KEY: '' });
    const key = /\n {2}(hk_\S+)\n/.exec(server.output())?.[1];
    expect(key).toBeDefined();
    const list = await fetch(`${server.url}/v1/endpoints`, { headers: { authorization: `Bearer ${key}` } });
    expect(list.status).toBe(200);
    server.child.kill('SIGTERM');
    await server.exited;
    const again = await spawnHerald('serve', args, { HERALD_BOOTSTRAP_KEY: '' });
    expect(again.output()).not.toContain('hk_');
    again.child.kill('SIGTERM');
    await again.exited;
  });
});
