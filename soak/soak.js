import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startChaosProxy } from './chaos-proxy.js';
import { spawnReady, supervise } from './processes.js';
import { postgresStore, sqliteStore } from './stores.js';

/**
 * One soak run on one store: publishers keep a ledger of every event Herald acknowledged with 202,
 * while Herald's processes and the receivers are killed with -9 at random and restarted, the
 * receivers sit behind a chaotic proxy, and (PostgreSQL) the database goes away now and then. Then
 * the chaos stops, everything drains (bounded), and the ledger is checked against the effects table
 * the receivers' handler writes through ctx.transaction: every acknowledged event exactly once.
 */

const HERALD = fileURLToPath(new URL('../packages/server/bin/herald.js', import.meta.url));
const RECEIVER = fileURLToPath(new URL('./receiver.js', import.meta.url));
const ADMIN_KEY = `hk_soak_${randomBytes(16).toString('hex')}`;
const SECRET_KEY = randomBytes(32).toString('base64');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const between = (min, max) => min + Math.random() * (max - min);
const shuffled = (items) => {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
};

export const DEFAULTS = {
  /** Publishing loops; each pauses up to 40 ms between publishes, so the load stays modest on a shared machine. */
  publishers: 4,
  receivers: 2,
  /** `herald worker` processes beside `herald serve` on the SQLite file (`--sqlite-workers`). */
  sqliteWorkers: 0,
  /** A kill every 2–6 s, of a Herald process or a receiver, each restarted after 0–1 s. */
  killEveryMs: [2_000, 6_000],
  /** PostgreSQL: an outage of 2–5 s every 15–30 s (closer in a run shorter than 45 s). */
  outageEveryMs: [15_000, 30_000],
  outageMs: [2_000, 5_000],
  /**
   * Herald's claim lease: what a killed dispatcher's deliveries wait before another takes them.
   * 25 s keeps the endpoint-lease rule (longer than half of itself plus the 10 s attempt timeout)
   * while bounding the drain; the default 60 s would only make it longer.
   */
  claimLease: '25s',
  /** Retries 1 s, 2 s, 4 s, … instead of 30 s, 1 min, …: the chaos fails many attempts, the drain is bounded. */
  retryBase: '1s',
};

export async function runSoak(options) {
  const o = { ...DEFAULTS, ...options };
  const log = o.log ?? ((line) => console.log(line));
  const store =
    o.store === 'postgres'
      ? await postgresStore({ keep: o.keep, realRestart: o.realPgRestart })
      : sqliteStore({ keep: o.keep, workers: o.sqliteWorkers });
  const ledger = new Set();
  const answers = {};
  const kills = {};
  let restarts = 0;
  let outages = 0;
  const problems = [];

  const heraldArgs = (role) => [
    HERALD,
    role,
    ...['--port', '0', '--host', '127.0.0.1', '--db', store.herald.db, '--allow-private-networks'],
    ...['--rate-limit', '1000000', '--retry-base', o.retryBase, '--claim-lease', o.claimLease, '--log-level', 'warn'],
  ];
  const heraldEnv = { HERALD_BOOTSTRAP_KEY: ADMIN_KEY, HERALD_SECRET_KEY: SECRET_KEY, LOG_LEVEL: 'warn' };
  const heralds = store.herald.roles.map((role) =>
    supervise(`herald ${role}`, () =>
      spawnReady(
        heraldArgs(role),
        heraldEnv,
        role === 'worker' ? /Herald worker running()/ : /running on http:\/\/[^\s:]+:(\d+)/,
      ),
    ),
  );
  const api = heralds[0];
  let secret;
  const receivers = Array.from({ length: o.receivers }, () =>
    supervise('receiver', () =>
      spawnReady([RECEIVER], { ...store.receiverEnv, SOAK_SECRET: secret }, /listening (\d+)/),
    ),
  );
  const everyone = [...heralds, ...receivers];
  const proxy = await startChaosProxy({ backends: () => receivers.map((r) => r.url).filter(Boolean) });
  const started = Date.now();
  let drainedInMs;
  let final;

  try {
    await Promise.all(heralds.map((h) => h.start()));
    const created = await request(api.url, 'POST', '/v1/endpoints', { url: proxy.url, description: 'soak' });
    if (created.status !== 201) throw new Error(`creating the endpoint answered ${created.status}`);
    secret = created.body.secret;
    await Promise.all(receivers.map((r) => r.start()));
    log(
      `soak ${store.name}: ${store.herald.roles.map((r) => `herald ${r}`).join(', ')}, ${o.receivers} receivers behind a chaos proxy (${store.where})`,
    );

    const deadline = Date.now() + o.durationMs;
    const publishers = Array.from({ length: o.publishers }, async (_, p) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const url = api.url;
        if (!url) {
          await sleep(100);
          continue;
        }
        const r = await request(url, 'POST', '/v1/events', { type: 'soak.tick', data: { p, i } }).catch((error) => ({
          status: `${error.name === 'TimeoutError' ? 'timeout' : 'network error'}`,
        }));
        answers[r.status] = (answers[r.status] ?? 0) + 1;
        if (r.status === 202) ledger.add(r.body.id);
        await sleep(Math.random() * 40);
      }
    });
    // Victims are dealt in rounds of one process of each kind (herald serve / api / worker,
    // receiver), in a shuffled order: every kind is killed as often as the others, and a short run
    // (the test suite's, four or five kills) still kills each kind.
    const kinds = [...new Set(everyone.map((p) => p.kind))];
    const deck = [];
    const deal = () =>
      shuffled(kinds).map((kind) => {
        const ofKind = everyone.filter((p) => p.kind === kind);
        return ofKind[Math.floor(Math.random() * ofKind.length)];
      });
    const killer = (async () => {
      for (;;) {
        await sleep(between(...o.killEveryMs));
        if (Date.now() >= deadline) return;
        if (deck.length === 0) deck.push(...deal());
        const victim = deck.pop();
        if (await victim.kill9()) kills[victim.kind] = (kills[victim.kind] ?? 0) + 1;
        await sleep(Math.random() * 1000);
        await victim.start().catch((error) => problems.push(`${victim.kind} did not restart: ${error.message}`));
        restarts++;
      }
    })();
    const outager = (async () => {
      if (!store.outage) return;
      // A short run (the test suite's) still has outages: at most a third of its length apart.
      const every = o.outageEveryMs.map((ms) => Math.min(ms, o.durationMs / 3));
      for (;;) {
        await sleep(between(...every));
        if (Date.now() + o.outageMs[1] >= deadline) return;
        await store.outage.down();
        outages++;
        await sleep(between(...o.outageMs));
        await store.outage.up();
      }
    })();
    const progress = setInterval(() => {
      log(
        `  ${Math.round((Date.now() - started) / 1000)} s: ${ledger.size} acknowledged, kills ${JSON.stringify(kills)}, outages ${outages}`,
      );
    }, 30_000);
    try {
      await Promise.all([...publishers, killer, outager]);
    } finally {
      clearInterval(progress);
    }

    // The chaos stops (the outage loop has brought PostgreSQL back): every process running, the
    // proxy passing everything through.
    proxy.calm();
    for (const p of everyone) await p.ensureRunning().catch((error) => problems.push(`${p.kind}: ${error.message}`));
    const drainStart = Date.now();
    log(
      `  chaos over after ${Math.round((drainStart - started) / 1000)} s; draining (at most ${Math.round(o.drainMs / 1000)} s)`,
    );
    let lastLog = drainStart;
    for (;;) {
      const effects = await store.effects();
      const missing = [...ledger].filter((id) => !effects.has(id)).length;
      const pending = await store.pending();
      const open = (pending.herald.pending ?? 0) + (pending.inbox.pending ?? 0);
      if (missing === 0 && open === 0) {
        drainedInMs = Date.now() - drainStart;
        break;
      }
      if (Date.now() - drainStart > o.drainMs) {
        problems.push(
          `not drained after ${Math.round(o.drainMs / 1000)} s: ${missing} acknowledged events without an effect, pending ${JSON.stringify(pending)}`,
        );
        break;
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(
          `  draining: ${missing} acknowledged events without an effect yet, not finished ${JSON.stringify(pending)}`,
        );
      }
      await sleep(1000);
    }
  } finally {
    await Promise.all(everyone.map((p) => p.stop()));
    await proxy.close();
    try {
      final = await check(store, ledger);
    } finally {
      await store.close();
    }
  }

  for (const p of everyone) problems.push(...p.failures);
  return {
    store: store.name,
    minutes: Math.round((o.durationMs / 60_000) * 100) / 100,
    events: ledger.size,
    answers,
    kills,
    restarts,
    outages: store.outage
      ? `${outages} (${store.outage.kind === 'real' ? 'pg_ctlcluster restart' : 'proxy drops every connection'})`
      : 'n/a',
    outageCount: outages,
    chaos: proxy.counts,
    drainedInS: drainedInMs === undefined ? null : Math.round(drainedInMs / 100) / 10,
    ...final,
    problems,
  };
}

/** The ledger check: every acknowledged event has exactly one effect row. */
async function check(store, ledger) {
  const effects = await store.effects();
  const lost = [...ledger].filter((id) => !effects.has(id));
  const doubled = [...effects].filter(([, n]) => n > 1).map(([id]) => id);
  const sample = [...lost.slice(0, 10), ...doubled.slice(0, 10)];
  return {
    effects: [...effects.values()].reduce((a, b) => a + b, 0),
    lost: lost.length,
    doubled: doubled.length,
    // Publishes whose 202 never arrived (the API killed mid-answer) may still have been committed.
    unacknowledgedWithEffect: [...effects.keys()].filter((id) => !ledger.has(id)).length,
    pendingAtEnd: await store.pending().catch((error) => error.message),
    samples: sample.length > 0 ? await store.whereIs(sample) : undefined,
    lostIds: lost.slice(0, 10),
    doubledIds: doubled.slice(0, 10),
  };
}

async function request(url, method, path, body) {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}
