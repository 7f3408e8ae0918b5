// Accepted webhooks per second of @herald/receiver on node:http (verify + durable SQLite insert, group
// committed, + 200), beside a bare node:http server answering 200, under the same load from a child
// process (its own core): 64 keep-alive connections, each sending the next request when the last is
// answered. The receiver's processing is not started: this measures the route.
//
// Then what ordering costs (holdCost): with `order.key`, an event whose lower sequence has not
// arrived waits in the inbox. Pairs of one key go to the route in order (n handled, then n+1
// arrives: n+1's latency from its arrival) or reversed (n+1 arrives, n `gapMs` later: n+1's latency
// from the moment its gap closed, which includes running n first). The difference is the extra
// latency of a held event once its gap closes; the gap itself is the sender's.
//
// Then the route's latency while every handler is busy, on SQLite and PostgreSQL (receiver-busy.js).
//
//   npm run build && node bench/receiver.js            (or: npm run bench)
//   node bench/receiver.js --hold                       (the hold cost alone)
//   BENCH_DURATION_MS=10000 node bench/receiver.js
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSecret, newId, serializeEnvelope, signatureHeaders } from '../packages/protocol/dist/index.js';
import { createReceiver, sqliteInbox } from '../packages/receiver/dist/index.js';
import { run as routeLatencyWhileBusy } from './receiver-busy.js';

const CONNECTIONS = 64;
const SELF = fileURLToPath(import.meta.url);

/** The load generator (child process): signed deliveries with fresh ids, as fast as answers come. */
async function load({ port, secret, durationMs }) {
  const { Pool } = await import('undici');
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  let done = 0;
  let failed = 0;
  let sequence = 0;
  const delivery = () => {
    const id = newId('event');
    const body = serializeEnvelope({
      id,
      type: 'sync.completed',
      occurred_at: new Date().toISOString(),
      connection_id: 'con_bench',
      endpoint_id: 'ep_bench',
      sequence: ++sequence,
      data: { rows: 1234, table: 'invoices' },
    });
    const headers = signatureHeaders({
      scheme: 'standard-webhooks',
      secrets: [secret],
      id,
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
    return { body, headers: { ...headers, 'content-type': 'application/json' } };
  };
  const started = Date.now();
  const until = started + durationMs;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        const d = delivery();
        try {
          const response = await pool.request({ path: '/webhooks', method: 'POST', headers: d.headers, body: d.body });
          await response.body.dump();
          if (response.statusCode === 200) done++;
          else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  await pool.close();
  return { done, failed, seconds: (Date.now() - started) / 1000 };
}

if (process.argv[2] === '--load') {
  process.once('message', async (options) => {
    process.send(await load(options));
    process.exit(0);
  });
}

function runLoad(port, secret, durationMs) {
  const child = fork(SELF, ['--load'], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
    child.send({ port, secret, durationMs });
  });
}

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

async function close(server) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const p99 = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)];

/** The extra latency of a held event (see the top of the file); returns and prints it, ms. */
export async function holdCost({ pairs = 200, gapMs = 5 } = {}) {
  const secret = generateSecret();
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-hold-'));
  const handledAt = new Map();
  let waiting;
  const receiver = createReceiver({
    secret,
    inbox: sqliteInbox(join(dir, 'inbox.db')),
    order: { key: (event) => event.connection_id },
    on: {
      '*': (event) => {
        handledAt.set(event.sequence, performance.now());
        waiting?.(event.sequence);
      },
    },
    logger: { info() {}, warn() {}, error: (fields, message) => console.error(message, fields) },
  });
  await receiver.start();
  let sequence = 0;
  const signed = (n) => {
    const id = newId('event');
    const body = serializeEnvelope({
      id,
      type: 'sync.completed',
      occurred_at: new Date().toISOString(),
      connection_id: 'con_hold',
      endpoint_id: 'ep_hold',
      sequence: n,
      data: { n },
    });
    const headers = signatureHeaders({
      scheme: 'standard-webhooks',
      secrets: [secret],
      id,
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
    return { headers, body };
  };
  const handled = (n) =>
    new Promise((resolve) => {
      if (handledAt.has(n)) return resolve();
      waiting = (m) => m === n && resolve();
    });
  const measure = async (reversed) => {
    const lower = ++sequence;
    const higher = ++sequence;
    const [a, b] = [signed(lower), signed(higher)];
    let arrived;
    if (reversed) {
      // n+1 first: it waits in the inbox until n arrives, then runs after n.
      await receiver.handle(b);
      await new Promise((r) => setTimeout(r, gapMs));
      arrived = performance.now();
      await receiver.handle(a);
    } else {
      // n first, handled; then n+1 arrives with nothing missing before it.
      await receiver.handle(a);
      await handled(lower);
      arrived = performance.now();
      await receiver.handle(b);
    }
    await handled(higher);
    return handledAt.get(higher) - arrived;
  };
  try {
    const inOrder = [];
    const held = [];
    for (let i = 0; i < 20; i++) await measure(i % 2 === 1); // warm-up
    for (let i = 0; i < pairs; i++) {
      inOrder.push(await measure(false));
      held.push(await measure(true));
    }
    const result = {
      inOrderMs: median(inOrder),
      heldMs: median(held),
      extraMs: median(held) - median(inOrder),
      inOrderP99Ms: p99(inOrder),
      heldP99Ms: p99(held),
    };
    console.log(`\nhold cost (order.key, SQLite inbox): ${pairs} pairs each way, the lower event ${gapMs} ms late`);
    console.table([
      {
        pairs: 'in order: from its arrival',
        'n+1 handled after it could run, p50 ms': result.inOrderMs.toFixed(2),
        'p99 ms': result.inOrderP99Ms.toFixed(2),
      },
      {
        pairs: 'held: from its gap closing',
        'n+1 handled after it could run, p50 ms': result.heldMs.toFixed(2),
        'p99 ms': result.heldP99Ms.toFixed(2),
      },
    ]);
    console.log(`extra latency of a held event once its gap closes: ${result.extraMs.toFixed(2)} ms (p50)`);
    return result;
  } finally {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs both servers under the same load, one after the other; returns and prints requests/s. */
export async function run({ durationMs = 5000 } = {}) {
  const secret = generateSecret();
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-receiver-'));
  try {
    const bare = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"received":true}');
      });
    });
    const barePort = await listen(bare);
    await runLoad(barePort, secret, Math.min(1000, durationMs / 4)); // warm-up
    const bareResult = await runLoad(barePort, secret, durationMs);
    await close(bare);

    const receiver = createReceiver({
      secret,
      inbox: sqliteInbox(join(dir, 'inbox.db')),
      on: {},
      logger: { info() {}, warn() {}, error: (fields, message) => console.error(message, fields) },
    });
    const server = createServer(receiver.node());
    const port = await listen(server);
    await runLoad(port, secret, Math.min(1000, durationMs / 4)); // warm-up
    const receiverResult = await runLoad(port, secret, durationMs);
    const stored = (await receiver.metrics.getSingleMetricAsString('herald_receiver_received_total')).match(/ (\d+)$/m);
    await close(server);
    await receiver.stop();

    const rate = (r) => r.done / r.seconds;
    const rows = [
      { server: 'bare node:http, 200', 'requests/s': Math.round(rate(bareResult)), failed: bareResult.failed },
      {
        server: '@herald/receiver (verify + SQLite group commit + 200)',
        'requests/s': Math.round(rate(receiverResult)),
        failed: receiverResult.failed,
      },
    ];
    const ratio = rate(receiverResult) / rate(bareResult);
    console.log(`\nreceiver bench: ${CONNECTIONS} keep-alive connections from a child process, ${durationMs} ms each`);
    console.table(rows);
    console.log(
      `ratio: ${(ratio * 100).toFixed(1)} % of the bare server (floor 40 %); inbox rows written: ${stored?.[1] ?? '?'}`,
    );
    const hold = await holdCost({ pairs: durationMs >= 5000 ? 500 : 200 });
    const busyHandlers = await routeLatencyWhileBusy();
    return { bare: rate(bareResult), receiver: rate(receiverResult), ratio, hold, busyHandlers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === SELF && process.argv[2] === '--hold') {
  await holdCost();
} else if (process.argv[1] === SELF && process.argv[2] !== '--load') {
  await run({ durationMs: Number(process.env.BENCH_DURATION_MS ?? 5000) });
}
