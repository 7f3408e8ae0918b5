import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { api, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';
import { findPostgres, testSchema } from './pg-database.js';
import { publishMany, query, startFleet, waitFor } from './pg-fleet.js';

const pgUrl = await findPostgres();

describe.skipIf(pgUrl === null)('a worker killed with -9 on PostgreSQL', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('has the deliveries it held delivered by the other workers once its lease runs out', {
    timeout: 90_000,
  }, async () => {
    const schema = testSchema(pgUrl as string);
    cleanups.push(() => schema.drop());
    // A slow receiver, so the first worker holds most of its claim, unsent, when it dies.
    const seen = new Map<string, number>();
    const server = createServer((req, res) => {
      const id = String(req.headers['webhook-id']);
      if (!seen.has(id)) seen.set(id, Date.now());
      req.resume();
      setTimeout(() => res.end('ok'), 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;

    const lease = ['--claim-lease', '2s', '--endpoint-concurrency', '2'];
    const fleet = await startFleet(schema.url, ['api', 'worker'], lease);
    cleanups.push(() => fleet.stop());
    const [apiProcess, victim] = fleet.processes as [(typeof fleet.processes)[0], (typeof fleet.processes)[0]];
    expect((await api(apiProcess.url, 'POST', '/v1/endpoints', { url: receiverUrl })).status).toBe(201);
    const accepted = await publishMany([apiProcess.url], 300, 16);
    expect(accepted).toHaveLength(300);

    await waitFor(() => seen.size >= 10, 20_000, 'the first worker to send some');
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    const killedAt = Date.now();
    const held = await query<{ event_id: string }>(
      pgUrl as string,
      schema.schema,
      `SELECT event_id FROM deliveries WHERE status = 'pending' AND next_attempt_at > $1`,
      [killedAt],
    );
    // The dead worker still holds leases on deliveries it never sent.
    expect(held.length).toBeGreaterThan(0);

    const others = await Promise.all(
      [0, 1].map(() =>
        spawnHerald('worker', ['--db', schema.url, '--allow-private-networks', ...lease], {
          HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY,
        }),
      ),
    );
    cleanups.push(async () => {
      for (const o of others) o.child.kill('SIGKILL');
      await Promise.all(others.map((o) => o.exited));
    });
    await waitFor(() => accepted.every((id) => seen.has(id)), 60_000, 'every accepted event to be delivered');
    const unsentAtKill = held.filter((h) => (seen.get(h.event_id) ?? 0) > killedAt);
    expect(unsentAtKill.length).toBeGreaterThan(0);
    // Nobody took them before the dead worker's lease (at most 2 s) ran out.
    const firstRetaken = Math.min(...unsentAtKill.map((h) => seen.get(h.event_id) as number));
    expect(firstRetaken - killedAt).toBeGreaterThan(500);
  });
});
