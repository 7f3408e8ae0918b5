import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/**
 * A closed-loop load generator: `connections` clients, each sending its next request as soon as
 * the last one is answered, for `durationMs` after a warm-up. Returns requests/s and latency
 * percentiles in ms.
 */
export async function load({
  url,
  path,
  method = 'POST',
  headers = {},
  body,
  connections = 64,
  durationMs = 5000,
  warmupMs = 1000,
  expectStatus,
}) {
  const origin = new URL(url).origin;
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const makeBody = typeof body === 'function' ? body : () => body;
  const latencies = [];
  let ok = 0;
  let errors = 0;
  let measuring = false;
  let stop = false;
  const statuses = new Map();
  async function client(c) {
    for (let i = 0; !stop; i++) {
      const started = performance.now();
      try {
        const response = await pool.request({ path, method, headers, body: makeBody(c, i) });
        await response.body.dump();
        if (measuring) {
          latencies.push(performance.now() - started);
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          if (expectStatus === undefined || response.statusCode === expectStatus) ok++;
          else errors++;
        }
      } catch {
        if (measuring) errors++;
      }
    }
  }
  const clients = Array.from({ length: connections }, (_, c) => client(c));
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, durationMs));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(clients);
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    perSecond: ok / elapsed,
    ok,
    errors,
    statuses: Object.fromEntries(statuses),
    p50: pct(50),
    p99: pct(99),
  };
}

/** A table printed with fixed-width columns. */
export function printTable(title, rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  console.log(`\n${title}`);
  rows.forEach((row, n) => {
    console.log(`  ${row.map((cell, i) => String(cell).padEnd(widths[i])).join('  ')}`);
    if (n === 0) console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  });
}

export const fmt = {
  rate: (n) => `${Math.round(n).toLocaleString('en-US')}/s`,
  ms: (n) => `${n.toFixed(2)} ms`,
  ratio: (n) => `${(n * 100).toFixed(0)} %`,
};
