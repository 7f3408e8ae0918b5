import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { auth, heraldArgs, KEY, post, waitForCount } from './herald.js';
import { LATENCY_RECEIVER } from './latency.js';
import { fmt, load, printTable } from './load.js';
import { paced } from './paced.js';
import { BASE, reachable, SECRET_KEY, withSchema } from './postgres.js';
import { spawnListening } from './servers.js';

// Backlog: one endpoint whose receiver accepts connections and never answers, with `pending`
// deliveries waiting for it (seeded straight into the database in bulk: a million HTTP publishes
// would take minutes), and what that does to everyone else: publish rate of `herald serve` beside
// `herald api` on the same database, a healthy neighbour's latency, memory, the read routes, and
// how fast the backlog drains once the receiver answers again. SQLite and PostgreSQL.

const pad = 'x'.repeat(1024 - JSON.stringify({ type: 'order.created', data: { pad: '' } }).length);
const EVENT = JSON.stringify({ type: 'order.created', data: { pad } });
/** How long the bench waits for the first delivery once the receiver answers: past the 2-minute probe. */
const RECOVERY_WAIT_MS = 150_000;
/** Seeded deliveries were published this long ago: well inside their 24-hour window, all due. */
const SEEDED_AGE_MS = 120_000;

/** Deliveries 1..n of `endpointId`, due now, with one small event each; `n` rows in one statement per table. */
function seedSqlite(file, { accountId, endpointId, n, now }) {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    const createdAt = now - SEEDED_AGE_MS;
    db.transaction(() => {
      const series = 'WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < @n)';
      db.prepare(
        `${series} INSERT INTO events (id, account_id, type, occurred_at, connection_id, data, created_at)
         SELECT 'evt_00seed' || printf('%016d', n), @accountId, 'order.created', @createdAt, NULL, '{}', @createdAt FROM g`,
      ).run({ n, accountId, createdAt });
      db.prepare(
        `${series} INSERT INTO deliveries (id, account_id, event_id, endpoint_id, status, sequence, attempt_count,
           next_attempt_at, created_at, updated_at)
         SELECT 'dlv_00seed' || printf('%016d', n), @accountId, 'evt_00seed' || printf('%016d', n), @endpointId,
           'pending', n, 0, @createdAt + n % 60000, @createdAt, @createdAt FROM g`,
      ).run({ n, accountId, endpointId, createdAt });
      db.prepare('UPDATE endpoints SET last_sequence = @n WHERE id = @endpointId').run({ n, endpointId });
    })();
    db.exec('ANALYZE');
  } finally {
    db.close();
  }
}

async function seedPostgres(schema, { accountId, endpointId, n, now }) {
  const client = new pg.Client({ connectionString: BASE, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    const createdAt = now - SEEDED_AGE_MS;
    await client.query('BEGIN');
    // No event was published before the seed, so the feed counter starts at 0.
    await client.query(
      `INSERT INTO events (feed_seq, id, account_id, type, occurred_at, connection_id, data, created_at)
       SELECT g, 'evt_00seed' || lpad(g::text, 16, '0'), $2, 'order.created', $3::int8, NULL, '{}', $3::int8
       FROM generate_series(1, $1::int) AS g`,
      [n, accountId, createdAt],
    );
    await client.query('UPDATE feed_counter SET value = $1 WHERE id = 1', [n]);
    await client.query(
      `INSERT INTO deliveries (id, account_id, event_id, endpoint_id, status, sequence, attempt_count,
         next_attempt_at, created_at, updated_at)
       SELECT 'dlv_00seed' || lpad(g::text, 16, '0'), $2, 'evt_00seed' || lpad(g::text, 16, '0'), $3, 'pending', g, 0,
         $4::int8 + g % 60000, $4::int8, $4::int8
       FROM generate_series(1, $1::int) AS g`,
      [n, accountId, endpointId, createdAt],
    );
    await client.query('UPDATE endpoints SET last_sequence = $1 WHERE id = $2', [n, endpointId]);
    await client.query('COMMIT');
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

function accountOfEndpoint(kind, db, schema, endpointId) {
  if (kind === 'sqlite') {
    const d = new Database(db, { readonly: true });
    try {
      return d.prepare('SELECT account_id FROM endpoints WHERE id = ?').get(endpointId).account_id;
    } finally {
      d.close();
    }
  }
  return (async () => {
    const client = new pg.Client({ connectionString: BASE, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      return (await client.query('SELECT account_id FROM endpoints WHERE id = $1', [endpointId])).rows[0].account_id;
    } finally {
      await client.end();
    }
  })();
}

/** Peak resident memory (VmHWM) of a process and its descendants, MB. */
function peakRssMb(pid) {
  let kb = 0;
  const visit = (p) => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += hwm ? Number(hwm[1]) : 0;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        for (const child of children ? children.split(' ') : []) visit(child);
      }
    } catch {
      // The process ended meanwhile: it counts for nothing.
    }
  };
  visit(pid);
  return kb / 1024;
}

/** The slowest of three reads of each route, ms. */
async function timeRoutes(url) {
  const routes = {
    'GET /v1/deliveries': ['/v1/deliveries', auth],
    'GET /v1/stats/deliveries': ['/v1/stats/deliveries', auth],
    'GET /metrics': ['/metrics', {}],
    'GET /readyz': ['/readyz', {}],
  };
  const slowest = {};
  for (const [name, [path, headers]] of Object.entries(routes)) {
    slowest[name] = 0;
    for (let i = 0; i < 3; i++) {
      const began = performance.now();
      const response = await fetch(url + path, { headers });
      await response.arrayBuffer();
      slowest[name] = Math.max(slowest[name], performance.now() - began);
    }
  }
  return slowest;
}

async function backlogRun(kind, db, schema, env, { pending, durationMs }) {
  const dead = await spawnListening([LATENCY_RECEIVER, '--hang']);
  const neighbour = await spawnListening([LATENCY_RECEIVER]);
  const heraldEnv = { HERALD_BOOTSTRAP_KEY: KEY, ...env };
  try {
    let api = await spawnListening(heraldArgs('api', db), heraldEnv);
    const deadEndpoint = await post(api.url, '/v1/endpoints', {
      url: `${dead.url}/webhooks/dead`,
      event_types: ['order.created'],
    });
    await post(api.url, '/v1/endpoints', { url: `${neighbour.url}/webhooks/ok`, event_types: ['neighbour.ping'] });
    await api.stop();

    const accountId = await accountOfEndpoint(kind, db, schema, deadEndpoint.id);
    const seedBegan = performance.now();
    const seed = { accountId, endpointId: deadEndpoint.id, n: pending, now: Date.now() };
    if (kind === 'sqlite') seedSqlite(db, seed);
    else await seedPostgres(schema, seed);
    const seedMs = performance.now() - seedBegan;

    // The same publish load, 64 clients, on the same database: without the dispatcher, then with it.
    // Three seconds of warm-up, not one: the dispatcher's first claims over the backlog come right
    // after `serve` starts, and the steady rate is what is compared.
    const publishLoad = (url) =>
      load({
        url,
        path: '/v1/events',
        headers: auth,
        body: EVENT,
        connections: 64,
        durationMs,
        warmupMs: 3000,
        expectStatus: 202,
      });
    api = await spawnListening(heraldArgs('api', db), heraldEnv);
    const apiPublish = await publishLoad(api.url);
    await api.stop();

    const serve = await spawnListening(heraldArgs('serve', db), heraldEnv);
    try {
      const servePublish = await publishLoad(serve.url);
      const ping = await paced({
        url: serve.url,
        headers: auth,
        rate: 100,
        // Three times the other measures: its p99 is the 15th slowest of 1,500 pings, not the 5th of
        // 500, which one stall (a GC, a periodic pass) moved by 20 ms from run to run.
        durationMs: durationMs * 3,
        body: (_i, dueAt) => `{"type":"neighbour.ping","data":{"sent_at":${dueAt}}}`,
      });
      await waitForCount(neighbour.url, ping.accepted, 60_000);
      const neighbourLatency = await (await fetch(`${neighbour.url}/latencies`)).json();
      const routes = await timeRoutes(serve.url);

      // The receiver answers again (the requests it holds, then every new one at once). The circuit
      // is open by now: nothing goes out until its next probe succeeds (a probe in flight at this
      // moment is answered at once; otherwise the next comes on the probe schedule, 30 s after
      // the open, then 1 min, 2 min, …). So: how long until the first delivery arrives, and the
      // drain rate over the `durationMs` after it.
      const answeredAt = Date.now();
      await fetch(`${dead.url}/control/answer`, { method: 'POST' });
      let first = await (await fetch(`${dead.url}/count`)).json();
      while (first.count === 0 && Date.now() - answeredAt < RECOVERY_WAIT_MS) {
        await new Promise((r) => setTimeout(r, 100));
        first = await (await fetch(`${dead.url}/count`)).json();
      }
      const recoveredAfterMs = first.count === 0 ? null : first.firstAt - answeredAt;
      if (first.count > 0) await new Promise((r) => setTimeout(r, durationMs));
      const drained = await (await fetch(`${dead.url}/count`)).json();
      const drainRate = drained.count < 2 ? 0 : drained.count / ((drained.lastAt - drained.firstAt) / 1000);
      const rss = peakRssMb(serve.child.pid);
      return {
        seedMs,
        apiPublish,
        servePublish,
        neighbourLatency,
        routes,
        recoveredAfterMs,
        drainRate,
        drained: drained.count,
        rss,
      };
    } finally {
      await serve.stop();
    }
  } finally {
    await dead.stop();
    await neighbour.stop();
  }
}

/**
 * `pending` deliveries for a dead endpoint, on SQLite and (when reachable) PostgreSQL; one column
 * per store, beside the goal for each figure.
 */
export async function benchBacklog({ durationMs, pending }) {
  const results = [];
  // HERALD_BENCH_BACKLOG_STORES=postgres (or sqlite): one store only, to look into one column.
  const stores = (process.env.HERALD_BENCH_BACKLOG_STORES ?? 'sqlite,postgres').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  try {
    if (stores.includes('sqlite')) {
      results.push(['SQLite', await backlogRun('sqlite', join(dir, 'backlog.db'), null, {}, { pending, durationMs })]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const postgres = stores.includes('postgres');
  if (postgres && (await reachable())) {
    const r = await withSchema((url, schema) =>
      backlogRun('postgres', url, schema, { HERALD_SECRET_KEY: SECRET_KEY }, { pending, durationMs }),
    );
    results.push(['PostgreSQL', r]);
  } else if (postgres) {
    console.log(`\nBacklog on PostgreSQL: not reachable at ${BASE}; skipped (set HERALD_BENCH_POSTGRES_URL).`);
  }
  const row = (name, goal, cell) => [name, ...results.map(([, r]) => cell(r)), goal];
  const routeNames = Object.keys(results[0][1].routes);
  printTable(
    `Backlog: ${pending.toLocaleString('en-US')} deliveries pending for an endpoint that never answers (seeded in bulk), ${durationMs / 1000} s per measure`,
    [
      ['measure', ...results.map(([name]) => name), 'goal'],
      row('seeding the backlog', '', (r) => `${(r.seedMs / 1000).toFixed(1)} s`),
      row('publish, herald api (64 clients, 1 KiB; ceiling)', '', (r) => fmt.rate(r.apiPublish.perSecond)),
      row('publish, herald serve, same database', '', (r) => fmt.rate(r.servePublish.perSecond)),
      row('serve / api', '≥ 90 %', (r) => fmt.ratio(r.servePublish.perSecond / r.apiPublish.perSecond)),
      row(`healthy neighbour at 100/s for ${(durationMs * 3) / 1000} s: publish → attempt p50`, '', (r) =>
        fmt.ms(r.neighbourLatency.p50),
      ),
      row('  p99', '≤ 20 ms', (r) => fmt.ms(r.neighbourLatency.p99)),
      row('peak RSS, herald serve and its children (not PostgreSQL)', '≤ 200 MB', (r) => `${Math.round(r.rss)} MB`),
      ...routeNames.map((name) => row(`${name} (slowest of 3)`, '≤ 100 ms', (r) => fmt.ms(r.routes[name]))),
      row('  the slowest route', '≤ 100 ms', (r) => fmt.ms(Math.max(...Object.values(r.routes)))),
      row('first delivery after the receiver answers again (the next probe)', '', (r) =>
        r.recoveredAfterMs === null
          ? `none in ${RECOVERY_WAIT_MS / 1000} s`
          : `${(r.recoveredAfterMs / 1000).toFixed(1)} s`,
      ),
      row(`then the drain (${durationMs / 1000} s)`, '', (r) => fmt.rate(r.drainRate)),
    ],
  );
  return results;
}
