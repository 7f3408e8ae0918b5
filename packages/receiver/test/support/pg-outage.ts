import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A PostgreSQL outage for a test (the pattern of packages/server/test/postgres-restart.test.ts).
 *
 * By default a TCP proxy between the process under test and PostgreSQL, which drops every
 * connection and refuses new ones while it is down: what a client sees of a restart. The machine's
 * real cluster is stopped and started (pg_ctlcluster) only in CI (CI=true) or with
 * HERALD_TEST_PG_RESTART=1, where system tests run one at a time and nothing else uses it.
 */
export const REAL_RESTART = process.env.HERALD_TEST_PG_RESTART === '1' || process.env.CI === 'true';

export interface Outage {
  /** The URL the process under test connects to. */
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export function pgOutage(url: string): Promise<Outage> {
  return REAL_RESTART ? Promise.resolve(realOutage(url)) : proxyOutage(new URL(url));
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
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    port = (s.address() as { port: number }).port;
    server = s;
  };
  await listen();
  const url = new URL(target);
  url.port = String(port);
  const down = async () => {
    const s = server;
    server = undefined;
    // close() calls back only once every open connection has ended: destroy them (both sides) first.
    const closed = new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };
  return { url: url.toString(), down, up: listen, close: down };
}

function realOutage(url: string): Outage {
  const version = readdirSync('/etc/postgresql')[0] as string;
  const ctl = (action: string) =>
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { stdio: 'ignore' });
  return {
    url,
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
