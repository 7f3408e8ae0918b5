import { parseArgs } from 'node:util';
import { DEFAULTS, runSoak } from './soak.js';
import { POSTGRES_URL, postgresReachable } from './stores.js';

// npm run soak -- --minutes N [--store sqlite|postgres|both] [--drain-minutes M] [--real-pg-restart]
//                 [--sqlite-workers K] [--keep] [--json]
// Exits 1 when an acknowledged event has no effect or an effect is doubled, when nothing was acknowledged, and
// when a process ended without being killed or the drain did not finish (printed as `problem:`).
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    store: { type: 'string', default: 'both' },
    'drain-minutes': { type: 'string', default: '3' },
    'real-pg-restart': { type: 'boolean', default: false },
    'sqlite-workers': { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const drainMinutes = Number(values['drain-minutes']);
if (!(minutes > 0 && minutes <= 24 * 60) || !(drainMinutes > 0 && drainMinutes <= 60)) {
  console.error('--minutes must be a number of minutes above 0 (at most a day), --drain-minutes above 0 (at most 60).');
  process.exit(2);
}
const sqliteWorkers = Number(values['sqlite-workers']);
if (!(Number.isInteger(sqliteWorkers) && sqliteWorkers >= 0 && sqliteWorkers <= 4)) {
  console.error('--sqlite-workers must be a whole number from 0 to 4.');
  process.exit(2);
}
if (!['sqlite', 'postgres', 'both'].includes(values.store)) {
  console.error('--store must be sqlite, postgres or both.');
  process.exit(2);
}
const stores = values.store === 'both' ? ['sqlite', 'postgres'] : [values.store];
if (stores.includes('postgres') && !(await postgresReachable())) {
  console.error(`PostgreSQL is not reachable at ${POSTGRES_URL} (HERALD_SOAK_POSTGRES_URL to change it).`);
  process.exit(2);
}

let failed = false;
for (const store of stores) {
  const r = await runSoak({
    ...DEFAULTS,
    store,
    durationMs: minutes * 60_000,
    drainMs: drainMinutes * 60_000,
    realPgRestart: values['real-pg-restart'],
    sqliteWorkers,
    keep: values.keep,
  });
  const kills =
    Object.entries(r.kills)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ') || 'none';
  console.log(
    `soak ${r.store}, ${r.minutes} min: ${r.events} events acknowledged (publish answers ${JSON.stringify(r.answers)})`,
  );
  console.log(`  kills -9: ${kills}; restarts ${r.restarts}; PostgreSQL outages ${r.outages}`);
  console.log(`  chaos proxy: ${JSON.stringify(r.chaos)}`);
  console.log(
    `  drained in ${r.drainedInS ?? 'NOT DRAINED'} s; ${r.effects} effect rows (${r.unacknowledgedWithEffect} of publishes whose 202 was lost)`,
  );
  console.log(`  lost ${r.lost}, doubled ${r.doubled}`);
  if (r.samples)
    console.log(
      `  lost ${JSON.stringify(r.lostIds)} doubled ${JSON.stringify(r.doubledIds)}\n  where they are: ${JSON.stringify(r.samples)}`,
    );
  for (const p of r.problems) console.log(`  problem: ${p}`);
  if (values.json) console.log(`SOAK_RESULT ${JSON.stringify(r)}`);
  if (r.lost > 0 || r.doubled > 0 || r.events === 0 || r.problems.length > 0) failed = true;
}
process.exit(failed ? 1 : 0);
