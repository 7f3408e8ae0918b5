import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** Wall-clock ms with sub-millisecond precision, comparable across processes on one machine. */
export const wall = () => performance.timeOrigin + performance.now();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * An open-loop (paced) publisher: request i is due at start + i / rate, whether or not earlier ones
 * have been answered, so a server that falls behind sees requests pile up instead of the client
 * slowing down with it (a closed loop hides queueing). `body(i, dueAt)` builds request i; dueAt, the
 * time it was due (not when the event loop got to it), is what latency is measured from. Returns how
 * many were sent and accepted, and the publish round trip's p50/p99 (ms).
 */
export async function paced({ url, path = '/v1/events', headers, rate, durationMs, body, connections = 256 }) {
  const pool = new Pool(new URL(url).origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const interval = 1000 / rate;
  const roundTrips = [];
  const sending = [];
  let accepted = 0;
  let errors = 0;
  const start = wall();
  let i = 0;
  for (;;) {
    const elapsed = wall() - start;
    if (elapsed >= durationMs) break;
    const due = Math.min(Math.floor(elapsed / interval) + 1, Math.ceil(durationMs / interval));
    for (; i < due; i++) {
      const dueAt = start + i * interval;
      sending.push(
        pool.request({ path, method: 'POST', headers, body: body(i, dueAt) }).then(
          async (response) => {
            await response.body.dump();
            roundTrips.push(wall() - dueAt);
            if (response.statusCode === 202) accepted++;
            else errors++;
          },
          () => errors++,
        ),
      );
    }
    await sleep(1);
  }
  await Promise.all(sending);
  await pool.close();
  roundTrips.sort((a, b) => a - b);
  const pct = (p) => roundTrips[Math.min(roundTrips.length - 1, Math.floor((p / 100) * roundTrips.length))] ?? NaN;
  return { sent: i, accepted, errors, perSecond: i / (durationMs / 1000), p50: pct(50), p99: pct(99) };
}
