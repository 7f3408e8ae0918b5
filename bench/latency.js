import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth, heraldArgs, KEY, post, waitForCount } from './herald.js';
import { fmt, printTable } from './load.js';
import { paced } from './paced.js';
import { HERE, spawnListening } from './servers.js';

export const LATENCY_RECEIVER = HERE('./latency-receiver.js');

const getJson = async (url) => (await fetch(url)).json();

/** herald_delivery_lag_seconds from GET /metrics: the count, and how many were within 20 ms. */
async function lagMetric(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sample = (name) =>
    Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2]);
  return {
    count: sample('herald_delivery_lag_seconds_count'),
    within20: sample('herald_delivery_lag_seconds_bucket{le="0.02"}'),
  };
}

/**
 * One run: a fresh `herald serve` on SQLite, `endpoints` endpoints on one receiver that answers at
 * once, events published by a paced client at `rate`/s (spread over the endpoints, one event type
 * each), a second of warm-up, then `durationMs` measured: publish (when due) → arrival.
 */
async function latencyRun(dir, { rate, endpoints, durationMs }) {
  const receiver = await spawnListening([LATENCY_RECEIVER]);
  const herald = await spawnListening(heraldArgs('serve', join(dir, `latency-${endpoints}-${rate}.db`)), {
    HERALD_BOOTSTRAP_KEY: KEY,
  });
  try {
    const types = Array.from({ length: endpoints }, (_, i) => `bench.e${i}`);
    for (const type of types) {
      await post(herald.url, '/v1/endpoints', { url: `${receiver.url}/webhooks/${type}`, event_types: [type] });
    }
    const publish = (ms) =>
      paced({
        url: herald.url,
        headers: auth,
        rate,
        durationMs: ms,
        body: (i, dueAt) => `{"type":"${types[i % endpoints]}","data":{"sent_at":${dueAt}}}`,
      });
    const warm = await publish(1000);
    await waitForCount(receiver.url, warm.accepted, 60_000);
    await fetch(`${receiver.url}/control/reset`, { method: 'POST' });
    const before = await lagMetric(herald.url);
    const run = await publish(durationMs);
    await waitForCount(receiver.url, run.accepted, 120_000);
    // Herald's own view of the same run, from its histogram (the warm-up's observations taken off).
    const after = await lagMetric(herald.url);
    const within20 = (after.within20 - before.within20) / (after.count - before.count);
    return { ...run, latency: await getJson(`${receiver.url}/latencies`), within20 };
  } finally {
    await herald.stop();
    await receiver.stop();
  }
}

/**
 * Latency: publish → first attempt (arrival at the receiver) at paced rates, one endpoint and fifty,
 * `herald serve` on SQLite. Beside it, the publish's own round trip (202 after the commit): the
 * dispatcher is woken at the same commit, so that is the floor an attempt's latency sits on; and
 * the share of first attempts within 20 ms by Herald's own herald_delivery_lag_seconds.
 */
export async function benchLatency({ durationMs, rates = [200, 1000, 2000, 5000], endpointCounts = [1, 50] }) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  try {
    const rows = [
      ['endpoints', 'rate', 'published', 'p50', 'p95', 'p99', 'max', 'publish 202 p50 / p99', '≤ 20 ms (metric)'],
    ];
    for (const endpoints of endpointCounts) {
      for (const rate of rates) {
        const r = await latencyRun(dir, { rate, endpoints, durationMs });
        const l = r.latency;
        rows.push([
          String(endpoints),
          fmt.rate(rate),
          `${fmt.rate(r.perSecond)}${r.errors > 0 ? ` (${r.errors} errors)` : ''}`,
          fmt.ms(l.p50),
          fmt.ms(l.p95),
          fmt.ms(l.p99),
          fmt.ms(l.max),
          `${fmt.ms(r.p50)} / ${fmt.ms(r.p99)}`,
          fmt.ratio(r.within20),
        ]);
      }
    }
    printTable(
      `Latency: publish → first attempt at the receiver, paced (open-loop) publisher, herald serve on SQLite, ${durationMs / 1000} s per row`,
      rows,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
