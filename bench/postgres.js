import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Pool } from 'undici';
import { fmt, printTable } from './load.js';
import { COUNTING_RECEIVER, HERALD, spawnListening } from './servers.js';

// PostgreSQL: deliveries per second with 1 and 2 `herald worker` processes; claim throughput with
// 100,000 pending deliveries beside 1,000; and the fleet of the issue (2 api + 3 worker processes).
export const BASE = process.env.HERALD_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = 'hk_bench_admin_key_000000000000000000000000000';
const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const EVENT = JSON.stringify({ type: 'order.created', data: { pad: 'x'.repeat(960) } });

export async function reachable() {
  const client = new pg.Client({ connectionString: BASE, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function withSchema(work) {
  const schema = `herald_bench_${randomBytes(5).toString('hex')}`;
  const url = new URL(BASE);
  url.searchParams.set('schema', schema);
  try {
    return await work(url.toString(), schema);
  } finally {
    const client = new pg.Client({ connectionString: BASE });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
}

export const SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

function herald(role, db) {
  const args = [HERALD, role, '--port', '0', '--host', '127.0.0.1', '--db', db, '--allow-private-networks'];
  args.push('--rate-limit', '100000000', '--log-level', 'warn');
  const pattern = role === 'worker' ? /(Herald worker running)/ : undefined;
  // Every process on one PostgreSQL shares the key that seals endpoint secrets.
  return spawnListening(args, { HERALD_BOOTSTRAP_KEY: KEY, HERALD_SECRET_KEY: SECRET_KEY }, pattern);
}

async function publish(urls, events) {
  let next = 0;
  await Promise.all(
    urls.flatMap((url) => {
      const pool = new Pool(url, { connections: 32 });
      return Array.from({ length: 32 }, async () => {
        while (next++ < events) {
          const response = await pool.request({ path: '/v1/events', method: 'POST', headers: auth, body: EVENT });
          await response.body.dump();
          if (response.statusCode !== 202) throw new Error(`publish answered ${response.statusCode}`);
        }
      });
    }),
  );
}

async function waitForCount(url, count, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await (await fetch(`${url}/count`)).json();
    if (stats.count >= count) return stats;
    if (Date.now() > deadline) throw new Error(`only ${stats.count} of ${count} deliveries in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Deliveries/s: `events` × 4 endpoints published first, then `workers` worker processes drain them. */
async function deliveryRate(workers, events) {
  return withSchema(async (db) => {
    const receiver = await spawnListening([COUNTING_RECEIVER]);
    const api = await herald('api', db);
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${api.url}/v1/endpoints`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ url: `${receiver.url}/webhooks/${i}` }),
      });
      if (r.status !== 201) throw new Error(`endpoint: ${r.status}`);
    }
    await publish([api.url], events);
    await api.stop();
    const started = await Promise.all(Array.from({ length: workers }, () => herald('worker', db)));
    const stats = await waitForCount(receiver.url, events * 4, 300_000);
    await Promise.all(started.map((w) => w.stop()));
    await receiver.stop();
    return (events * 4) / ((stats.lastAt - stats.firstAt) / 1000);
  });
}

/** Deliveries claimed per second (batches of 500, lease 0 so the same rows stay due) with `pending` rows. */
async function claimRate(pending, durationMs) {
  const { openPostgresStore } = await import('../packages/server/dist/store/postgres.js');
  const { secretBoxFor } = await import('../packages/server/dist/store/secret-box.js');
  return withSchema(async (db) => {
    const store = await openPostgresStore(db, { secretBox: secretBoxFor(db, SECRET_KEY) });
    try {
      const now = Date.now();
      const client = new pg.Client({ connectionString: BASE, options: `-c search_path=${store.schema}` });
      await client.connect();
      await client.query(
        `INSERT INTO accounts VALUES ('acct_bench', 0);
         INSERT INTO endpoints (id, account_id, url, description, event_types, connection_ids, secret,
           signature_scheme, headers, created_at, updated_at)
         SELECT 'ep_' || g, 'acct_bench', 'http://127.0.0.1:9/', '', '[]', '[]', 'whsec_x', 'standard-webhooks', '{}', 0, 0
         FROM generate_series(0, 99) AS g;`,
      );
      await client.query(
        `INSERT INTO events (feed_seq, id, account_id, type, occurred_at, data, created_at)
         SELECT g, 'evt_' || g, 'acct_bench', 'order.created', 0, '{}', 0 FROM generate_series(1, $1::int) AS g`,
        [pending],
      );
      await client.query(
        `INSERT INTO deliveries (id, account_id, event_id, endpoint_id, status, sequence, attempt_count,
           next_attempt_at, created_at, updated_at)
         SELECT 'dlv_' || lpad(g::text, 10, '0'), 'acct_bench', 'evt_' || g, 'ep_' || (g % 100), 'pending', g, 0,
           $2::int8 - g, 0, 0
         FROM generate_series(1, $1::int) AS g`,
        [pending, now],
      );
      await client.query('ANALYZE');
      await client.end();
      let claimed = 0;
      const began = performance.now();
      while (performance.now() - began < durationMs) {
        claimed += (await store.claimDueDeliveries({ now, limit: 500, leaseMs: 0 })).length;
      }
      return claimed / ((performance.now() - began) / 1000);
    } finally {
      await store.close();
    }
  });
}

/** The fleet: 2 api + 3 worker processes; `events` published across both APIs, each delivered. */
async function fleet(events) {
  return withSchema(async (db) => {
    const receiver = await spawnListening([COUNTING_RECEIVER]);
    const processes = await Promise.all(['api', 'api', 'worker', 'worker', 'worker'].map((r) => herald(r, db)));
    const apis = processes.slice(0, 2).map((p) => p.url);
    const r = await fetch(`${apis[0]}/v1/endpoints`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ url: `${receiver.url}/webhooks/0` }),
    });
    if (r.status !== 201) throw new Error(`endpoint: ${r.status}`);
    const began = Date.now();
    await publish(apis, events);
    const published = Date.now() - began;
    await waitForCount(receiver.url, events, 600_000);
    const delivered = Date.now() - began;
    await Promise.all(processes.map((p) => p.stop()));
    await receiver.stop();
    return { published, delivered };
  });
}

export async function run({ durationMs, quick }) {
  if (!(await reachable())) {
    console.log(`\nPostgreSQL: not reachable at ${BASE}; skipped (set HERALD_BENCH_POSTGRES_URL).`);
    return;
  }
  const events = quick ? 500 : 2500;
  const one = await deliveryRate(1, events);
  const two = await deliveryRate(2, events);
  printTable(`PostgreSQL delivery: ${(events * 4).toLocaleString('en-US')} deliveries to a local receiver`, [
    ['herald worker processes', 'deliveries/s'],
    ['1', fmt.rate(one)],
    ['2', fmt.rate(two)],
    ['2 / 1', fmt.ratio(two / one)],
  ]);

  const small = await claimRate(1_000, durationMs);
  const large = await claimRate(100_000, durationMs);
  printTable('PostgreSQL claim (batches of 500, SKIP LOCKED on deliveries_endpoint_due)', [
    ['pending deliveries', 'claimed/s'],
    ['1,000', fmt.rate(small)],
    ['100,000', fmt.rate(large)],
    ['100,000 / 1,000', fmt.ratio(large / small)],
  ]);

  const fleetEvents = quick ? 2_000 : 20_000;
  const f = await fleet(fleetEvents);
  printTable(`PostgreSQL fleet: 2 herald api + 3 herald worker, ${fleetEvents.toLocaleString('en-US')} events`, [
    ['step', 'ms', 'events/s'],
    ['all published (202)', String(f.published), fmt.rate(fleetEvents / (f.published / 1000))],
    ['all delivered', String(f.delivered), fmt.rate(fleetEvents / (f.delivered / 1000))],
  ]);
}
