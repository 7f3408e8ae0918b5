import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findPostgres } from './pg-database.js';

/**
 * The soak's short version (`npm run soak` for the long one): about 30 s of chaos per store, with
 * Herald's processes and the receivers killed with -9, a chaotic receiver and, on PostgreSQL, an
 * outage; then every event Herald acknowledged must have exactly one effect row. It spawns the
 * built packages (npm test builds first).
 */
const RUN = fileURLToPath(new URL('../../../soak/run.js', import.meta.url));
const pgUrl = await findPostgres();
/** As in postgres-restart.test.ts: a real pg_ctlcluster restart only where nothing else uses PostgreSQL. */
const REAL_RESTART = process.env.HERALD_TEST_PG_RESTART === '1' || process.env.CI === 'true';

interface SoakResult {
  events: number;
  kills: Record<string, number>;
  restarts: number;
  outageCount: number;
  lost: number;
  doubled: number;
  problems: string[];
}

function soak(store: string, extra: string[] = []): Promise<{ result: SoakResult | undefined; output: string }> {
  const child = spawn(
    process.execPath,
    [RUN, '--store', store, '--minutes', '0.5', '--drain-minutes', '1.5', '--json', ...extra],
    { env: { ...process.env, HERALD_SOAK_POSTGRES_URL: pgUrl ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) =>
    child.on('exit', () => {
      const line = output.split('\n').find((l) => l.startsWith('SOAK_RESULT '));
      resolve({ result: line ? JSON.parse(line.slice('SOAK_RESULT '.length)) : undefined, output });
    }),
  );
}

function expectNothingLost(run: { result: SoakResult | undefined; output: string }, kinds: string[]): void {
  const { result, output } = run;
  if (!result || result.lost > 0 || result.doubled > 0) console.error(output);
  expect(result, output).toBeDefined();
  const r = result as SoakResult;
  expect(r.events).toBeGreaterThan(100);
  // The chaos happened: every kind of process was killed (and restarted) at least once.
  for (const kind of kinds) expect(r.kills[kind] ?? 0, `kills of ${kind}`).toBeGreaterThan(0);
  expect(r.restarts).toBeGreaterThanOrEqual(kinds.length);
  expect({ lost: r.lost, doubled: r.doubled }).toEqual({ lost: 0, doubled: 0 });
  // No process ended on its own (a receiver once did, on a PostgreSQL outage), and all of it drained.
  expect(r.problems).toEqual([]);
}

describe('soak: kill -9 at random, a chaotic receiver, a database outage; then the ledger check', () => {
  it('SQLite (herald serve): every acknowledged event has exactly one effect', { timeout: 180_000 }, async () => {
    expectNothingLost(await soak('sqlite'), ['herald serve', 'receiver']);
  });

  it.skipIf(pgUrl === null)(
    `PostgreSQL (herald api + 2 workers, ${REAL_RESTART ? 'real restart' : 'proxy outage'}): every acknowledged event has exactly one effect`,
    { timeout: 180_000 },
    async () => {
      const run = await soak('postgres', REAL_RESTART ? ['--real-pg-restart'] : []);
      expectNothingLost(run, ['herald api', 'herald worker', 'receiver']);
      expect(run.result?.outageCount).toBeGreaterThan(0);
    },
  );
});
