import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchDelivery, benchPublish } from './herald.js';
import { run as benchPostgres } from './postgres.js';

// `npm run bench` (or `npm run bench -- --quick`): every figure below is measured in this one run,
// beside its ceiling on the same machine.
const quick = process.argv.includes('--quick');
const durationMs = quick ? 2000 : 5000;
console.log(
  `Herald benchmarks on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}${quick ? ' (quick)' : ''}`,
);

await benchPublish({ durationMs });
await benchDelivery({ events: quick ? 2500 : 10000 });
if (existsSync(new URL('./receiver.js', import.meta.url))) {
  const { run } = await import('./receiver.js');
  await run({ durationMs });
}
await benchPostgres({ durationMs, quick });
