import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findPostgres, testSchema } from './pg-database.js';
import { api, query, startCountingReceiver, startFleet, waitFor } from './pg-fleet.js';

const pgUrl = await findPostgres();
/**
 * HERALD_TEST_PG_RESTART=1 restarts the machine's real cluster (pg_ctlcluster stop/start). It is
 * opt-in because other test files (and other people) share that cluster and would fail meanwhile.
 * By default the outage is a TCP proxy between Herald and PostgreSQL that drops every connection
 * and refuses new ones, which is what Herald sees of a restart: ECONNRESET, then ECONNREFUSED.
 */
const REAL_RESTART = process.env.HERALD_TEST_PG_RESTART === '1';

interface Outage {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function proxyOutage(target: URL): Promise<Outage> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const s = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
    port = (s.address() as { port: number }).port;
    server = s;
  };
  await listen();
  const url = new URL(target);
  url.port = String(port);
  return {
    url: url.toString(),
    async down() {
      const s = server;
      server = undefined;
      await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
      for (const socket of sockets) socket.destroy();
    },
    up: listen,
    async close() {
      await this.down();
    },
  };
}

function realOutage(base: string): Outage {
  const version = readdirSync('/etc/postgresql')[0] as string;
  const ctl = (action: string) =>
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { stdio: 'ignore' });
  return {
    url: base,
    async down() {
      ctl('stop');
    },
    async up() {
      ctl('start');
    },
    async close() {
      // Whatever happened, leave PostgreSQL running for everyone else.
      try {
        ctl('start');
      } catch {
        // already running
      }
    },
  };
}

describe.skipIf(pgUrl === null)('PostgreSQL going away during a run', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it(`answers 503 with retry-after while it is down, then delivers every acknowledged event (${REAL_RESTART ? 'real restart' : 'proxy outage'})`, {
    timeout: 120_000,
  }, async () => {
    const schema = testSchema(pgUrl as string);
    cleanups.push(() => schema.drop());
    const outage = REAL_RESTART ? realOutage(schema.url) : await proxyOutage(new URL(schema.url));
    cleanups.push(() => outage.close());
    const receiver = await startCountingReceiver();
    cleanups.push(() => receiver.close());
    const fleet = await startFleet(outage.url, ['api', 'worker'], ['--claim-lease', '2s']);
    cleanups.push(() => fleet.stop());
    const apiUrl = (fleet.processes[0] as { url: string }).url;
    expect((await api(apiUrl, 'POST', '/v1/endpoints', { url: receiver.url })).status).toBe(201);

    const accepted = new Set<string>();
    const statuses = new Map<number, number>();
    let unavailableWithRetryAfter = 0;
    let slowest = 0;
    let stop = false;
    const publishers = Array.from({ length: 8 }, async (_, p) => {
      for (let i = 0; !stop; i++) {
        const began = Date.now();
        const r = await api(apiUrl, 'POST', '/v1/events', { type: 'order.created', data: { p, i } });
        slowest = Math.max(slowest, Date.now() - began);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 202) accepted.add(r.body.id as string);
        if (r.status === 503 && r.body.error?.code === 'SERVICE_UNAVAILABLE' && r.headers.get('retry-after')) {
          unavailableWithRetryAfter++;
        }
        if (r.status !== 202) await new Promise((res) => setTimeout(res, 50));
      }
    });

    await waitFor(() => accepted.size >= 200, 30_000, '200 accepted events before the outage');
    await outage.down();
    const downAt = Date.now();
    await waitFor(() => unavailableWithRetryAfter >= 5, 15_000, '503 answers while PostgreSQL is down');
    const acceptedWhileDown = accepted.size;
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - downAt))));
    await outage.up();
    const before = accepted.size;
    await waitFor(() => accepted.size >= before + 200, 30_000, '200 more accepted events after it came back');
    stop = true;
    await Promise.all(publishers);

    await waitFor(
      () => [...accepted].every((id) => receiver.counts.has(id)),
      60_000,
      'every acknowledged event to be delivered',
    );
    const pending = await query<{ n: number }>(
      pgUrl as string,
      schema.schema,
      "SELECT count(*)::int AS n FROM deliveries WHERE status <> 'succeeded'",
    );
    console.log(
      `postgres-restart: statuses ${JSON.stringify(Object.fromEntries(statuses))}, accepted ${accepted.size} ` +
        `(${acceptedWhileDown} by the outage), slowest answer ${slowest} ms`,
    );
    expect(statuses.get(500) ?? 0).toBe(0);
    expect(slowest).toBeLessThan(10_000);
    expect(pending[0]?.n).toBe(0);
  });
});
