import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * A PostgreSQL outage, as Herald and the receivers see one. By default a TCP proxy on loopback
 * between them and PostgreSQL: down() drops every connection and refuses new ones, up() accepts
 * again. The machine's PostgreSQL itself is never touched, so others may share it meanwhile.
 */
export async function proxyOutage(base) {
  const target = new URL(base);
  const sockets = new Set();
  let server;
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
    await new Promise((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    port = s.address().port;
    server = s;
  };
  const down = async () => {
    const s = server;
    server = undefined;
    // close() calls back only once every connection has ended: destroy them first.
    const closed = new Promise((r) => (s ? s.close(() => r()) : r()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };
  await listen();
  const url = new URL(target);
  url.port = String(port);
  return {
    kind: 'proxy',
    url: url.toString(),
    down,
    up: async () => {
      if (!server) await listen();
    },
    close: down,
  };
}

/**
 * A real restart of the machine's PostgreSQL cluster (pg_ctlcluster stop / start), only with
 * --real-pg-restart: it stops PostgreSQL for everything on this machine, which CI may afford (its
 * system tests run one at a time) and a shared development machine may not.
 */
export function realOutage(base) {
  const version = readdirSync('/etc/postgresql')[0];
  const ctl = (action) =>
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { stdio: 'ignore' });
  return {
    kind: 'real',
    url: base,
    down: async () => ctl('stop'),
    up: async () => ctl('start'),
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
