import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { fmt, load, printTable } from './load.js';
import { BARE_FASTIFY, COUNTING_RECEIVER, HERALD, spawnListening } from './servers.js';

export const KEY = 'hk_bench_admin_key_000000000000000000000000000';
export const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
// A 1 KiB event: the body of POST /v1/events is 1,024 bytes.
const pad = 'x'.repeat(1024 - JSON.stringify({ type: 'order.created', data: { pad: '' } }).length);
const EVENT = JSON.stringify({ type: 'order.created', data: { pad } });

export function heraldArgs(role, db, extra = []) {
  return [
    HERALD,
    role,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--db',
    db,
    '--allow-private-networks',
    '--rate-limit',
    '100000000',
    '--log-level',
    'warn',
    ...(process.env.HERALD_BENCH_CIRCUIT_FAILURES
      ? ['--circuit-failures', process.env.HERALD_BENCH_CIRCUIT_FAILURES]
      : []),
    ...extra,
  ];
}

export async function post(url, path, body) {
  const response = await fetch(url + path, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Publish: 64 clients posting 1 KiB events to `herald api` (durable 202), beside bare Fastify answering 202. */
export async function benchPublish({ durationMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  try {
    // The same load for Herald and the ceiling.
    const publishLoad = (url) =>
      load({ url, path: '/v1/events', headers: auth, body: EVENT, connections: 64, durationMs, expectStatus: 202 });
    const run = async (name, env) => {
      const herald = await spawnListening(heraldArgs('api', join(dir, `${name}.db`)), {
        HERALD_BOOTSTRAP_KEY: KEY,
        ...env,
      });
      await post(herald.url, '/v1/endpoints', { url: 'http://127.0.0.1:9/webhooks' });
      const result = await publishLoad(herald.url);
      await herald.stop();
      return result;
    };
    const ours = await run('threaded', {});
    const inline = await run('inline', { HERALD_SQLITE_THREAD: '0' });
    const bare = await spawnListening([BARE_FASTIFY]);
    const ceiling = await publishLoad(bare.url);
    await bare.stop();
    printTable('Publish: POST /v1/events, 1 KiB events, 64 concurrent clients', [
      ['server', 'events/s', 'p50', 'p99', 'errors'],
      [
        'Herald (durable: WAL, synchronous=FULL, group commit)',
        fmt.rate(ours.perSecond),
        fmt.ms(ours.p50),
        fmt.ms(ours.p99),
        ours.errors,
      ],
      [
        '  the same, SQLite on the main thread',
        fmt.rate(inline.perSecond),
        fmt.ms(inline.p50),
        fmt.ms(inline.p99),
        inline.errors,
      ],
      [
        'bare Fastify route answering 202 (ceiling)',
        fmt.rate(ceiling.perSecond),
        fmt.ms(ceiling.p50),
        fmt.ms(ceiling.p99),
        ceiling.errors,
      ],
      ['Herald / ceiling', fmt.ratio(ours.perSecond / ceiling.perSecond), '', '', ''],
    ]);
    return { ours, inline, ceiling };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function waitForCount(url, count, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await (await fetch(`${url}/count`)).json();
    if (state.count >= count) return state;
    if (Date.now() > deadline)
      throw new Error(`the receiver got ${state.count} of ${count} deliveries in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Publishes `events` to `endpoints` endpoints on a fresh counting receiver, then times `herald worker` delivering them. */
async function deliverAll(dir, name, events, endpoints, env) {
  const db = join(dir, `${name}.db`);
  const total = events * endpoints;
  const receiver = await spawnListening([COUNTING_RECEIVER]);
  try {
    const api = await spawnListening(heraldArgs('api', db), { HERALD_BOOTSTRAP_KEY: KEY });
    for (let i = 0; i < endpoints; i++) await post(api.url, '/v1/endpoints', { url: `${receiver.url}/webhooks/${i}` });
    const pool = new Pool(api.url, { connections: 32 });
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next++ < events) {
          const response = await pool.request({ path: '/v1/events', method: 'POST', headers: auth, body: EVENT });
          await response.body.dump();
          if (response.statusCode !== 202) throw new Error(`publish answered ${response.statusCode}`);
        }
      }),
    );
    await pool.close();
    await api.stop();
    const worker = await spawnListening(
      heraldArgs('worker', db),
      { HERALD_BOOTSTRAP_KEY: KEY, ...env },
      /(Herald worker running)/,
    );
    const counted = await waitForCount(receiver.url, total, 120_000);
    await worker.stop();
    return total / ((counted.lastAt - counted.firstAt) / 1000);
  } finally {
    await receiver.stop();
  }
}

/** A bare undici loop: `total` requests of one 1 KiB envelope, `inFlight` at a time, to a counting receiver. */
async function bareLoop(inFlight, total) {
  const receiver = await spawnListening([COUNTING_RECEIVER]);
  const envelope = JSON.stringify({
    id: 'evt_01JDBENCH',
    type: 'order.created',
    occurred_at: new Date().toISOString(),
    connection_id: null,
    endpoint_id: 'ep_01JDBENCH',
    sequence: 1,
    data: { pad },
  });
  const bare = new Pool(receiver.url, { connections: inFlight });
  let sent = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (sent++ < total) {
        const response = await bare.request({
          path: '/webhooks/0',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: envelope,
        });
        await response.body.dump();
      }
    }),
  );
  await bare.close();
  const counted = await waitForCount(receiver.url, total, 10_000);
  await receiver.stop();
  return total / ((counted.lastAt - counted.firstAt) / 1000);
}

/**
 * Delivery: `events` events fanned out to 4 endpoints on one local receiver are delivered by
 * `herald worker` (10 in flight per endpoint); beside a bare undici loop with the same 40
 * requests in flight to the same kind of receiver. Then as many deliveries to ONE endpoint alone
 * (its cap, --endpoint-concurrency, is 10 in flight), beside a bare loop with 10 in flight.
 * Timed on the receiver, first to last request.
 */
export async function benchDelivery({ events }) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const endpoints = 4;
  const total = events * endpoints;
  try {
    const ours = await deliverAll(dir, 'threaded', events, endpoints, {});
    const inline = await deliverAll(dir, 'inline', events, endpoints, { HERALD_SQLITE_THREAD: '0' });
    const ceiling = await bareLoop(40, total);
    const alone = await deliverAll(dir, 'alone', total, 1, {});
    const aloneCeiling = await bareLoop(10, total);

    printTable(
      `Delivery: ${total.toLocaleString('en-US')} deliveries (${events.toLocaleString('en-US')} events × ${endpoints} endpoints, then ${total.toLocaleString('en-US')} events × 1 endpoint) to a local receiver`,
      [
        ['sender', 'deliveries/s'],
        ['herald worker (signed, each attempt recorded durably), 4 endpoints', fmt.rate(ours)],
        ['  the same, SQLite on the main thread', fmt.rate(inline)],
        ['bare undici loop, 40 in flight (ceiling)', fmt.rate(ceiling)],
        ['Herald / ceiling', fmt.ratio(ours / ceiling)],
        ['herald worker, one endpoint alone (10 in flight)', fmt.rate(alone)],
        ['bare undici loop, 10 in flight (ceiling)', fmt.rate(aloneCeiling)],
        ['one endpoint / ceiling', fmt.ratio(alone / aloneCeiling)],
      ],
    );
    return { ours, inline, ceiling, alone, aloneCeiling };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
