import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchBacklog } from './backlog.js';
import { benchDelivery, benchPublish } from './herald.js';
import { benchLatency } from './latency.js';
import { run as benchPostgres } from './postgres.js';

// `npm run bench` (or `npm run bench -- --quick`): every figure below is measured in this one run,
// beside its ceiling on the same machine. For a check of the harness itself, not for figures:
//   HERALD_BENCH_ONLY=latency,backlog   run only these sections (publish, delivery, receiver,
//                                       postgres, latency, backlog)
//   HERALD_BENCH_BACKLOG=5000           pending deliveries in the backlog section
//   HERALD_BENCH_LATENCY_MS=2000        measured time of each latency row
const quick = process.argv.includes('--quick');
const durationMs = quick ? 2000 : 5000;
const only = process.env.HERALD_BENCH_ONLY?.split(',');
const runs = (section) => only === undefined || only.includes(section);
console.log(
  `Herald benchmarks on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}${quick ? ' (quick)' : ''}`,
);
const began = Date.now();

if (runs('publish')) await benchPublish({ durationMs });
if (runs('delivery')) await benchDelivery({ events: quick ? 2500 : 10000 });
if (runs('receiver') && existsSync(new URL('./receiver.js', import.meta.url))) {
  const { run } = await import('./receiver.js');
  await run({ durationMs });
}
if (runs('postgres')) await benchPostgres({ durationMs, quick });
if (runs('latency')) {
  await benchLatency({ durationMs: Number(process.env.HERALD_BENCH_LATENCY_MS ?? (quick ? 2000 : 10_000)) });
}
if (runs('backlog')) {
  await benchBacklog({
    durationMs,
    pending: Number(process.env.HERALD_BENCH_BACKLOG ?? (quick ? 100_000 : 1_000_000)),
  });
}
console.log(`\n(${Math.round((Date.now() - began) / 1000)} s)`);
