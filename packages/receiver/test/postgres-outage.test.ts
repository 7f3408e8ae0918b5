/**
 * A receiving process on a PostgreSQL inbox rides out lost connections (acceptance 3): PostgreSQL
 * ending its connections (pg_terminate_backend) and PostgreSQL going away for seconds (a proxy that
 * drops everything, or a real restart in CI: support/pg-outage.ts). The process stays alive, answers
 * 503 with retry-after while the inbox cannot be written, and handles every webhook it accepted.
 * The processes run the BUILT library: `npm run build` first.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgOutage, REAL_RESTART } from './support/pg-outage.js';
import { findPostgres, testSchema } from './support/postgres.js';
import { type ReceiverProcess, receiverBuilt, spawnReceiver } from './support/processes.js';
import { envelope, SECRET, signed, waitFor } from './support/webhooks.js';

if (!receiverBuilt()) throw new Error('These tests spawn the built receiver: run `npm run build` first.');

const pgUrl = await findPostgres();

/** Webhooks posted without pause by a few senders; what the route answered. */
function senders(url: string, count = 4) {
  const accepted = new Set<string>();
  const statuses = new Map<string, number>();
  let unavailableWithRetryAfter = 0;
  let stop = false;
  const loops = Array.from({ length: count }, async () => {
    while (!stop) {
      const event = envelope();
      const delivery = signed(event);
      const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body }).then(
        async (r) => ({ status: String(r.status), retryAfter: r.headers.get('retry-after'), text: await r.text() }),
        (error: Error) => ({ status: `fetch failed: ${error.message}`, retryAfter: null, text: '' }),
      );
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === '200') accepted.add(event.id);
      else if (response.status === '503' && response.retryAfter) unavailableWithRetryAfter++;
      if (response.status !== '200') await sleep(20);
    }
  });
  return {
    accepted,
    statuses,
    unavailable: () => unavailableWithRetryAfter,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

describe.skipIf(pgUrl === null)('a PostgreSQL inbox losing its connections', () => {
  let schema: { schema: string; drop(): Promise<void> };
  let admin: pg.Pool;
  const processes: ReceiverProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    schema = await testSchema(pgUrl!);
    admin = new pg.Pool({ connectionString: pgUrl!, max: 2 });
    // A real restart (CI) ends the test's own idle connections too.
    admin.on('error', () => {});
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await admin?.end();
    await schema?.drop();
  });

  /** A receiving process whose connections carry a name of their own, and its effects table. */
  async function start(url: string) {
    const name = `outage_${randomBytes(4).toString('hex')}`;
    const effects = `"${schema.schema}"."${name}_effects"`;
    await admin.query(`CREATE TABLE ${effects} (event_id TEXT NOT NULL, pid INTEGER NOT NULL)`);
    const withName = new URL(url);
    withName.searchParams.set('application_name', name);
    const process = await spawnReceiver({
      INBOX_URL: withName.toString(),
      INBOX_SCHEMA: schema.schema,
      INBOX_TABLE: name,
      EFFECTS_TABLE: effects,
      SECRET,
      HANDLER_MS: '20',
      LEASE_MS: '2000',
    });
    processes.push(process);
    const alive = () => process.child.exitCode === null && process.child.signalCode === null;
    const effectsOf = async () => {
      const r = await admin.query<{ event_id: string }>(`SELECT event_id FROM ${effects}`);
      return r.rows.map((row) => row.event_id);
    };
    return { name, process, alive, effectsOf };
  }

  async function everyAcceptedHandled(
    accepted: Set<string>,
    effectsOf: () => Promise<string[]>,
    alive: () => boolean,
  ): Promise<void> {
    await waitFor(
      async () => {
        if (!alive()) throw new Error('the receiving process exited');
        const done = new Set(await effectsOf());
        return [...accepted].every((id) => done.has(id));
      },
      60_000,
      'every accepted webhook handled',
    );
    const effects = await effectsOf();
    // Each ctx.transaction effect exactly once, lost connections or not.
    expect(effects.length).toBe(new Set(effects).size);
  }

  it('stays alive through pg_terminate_backend of every inbox connection, and handles everything accepted', async () => {
    const { name, process, alive, effectsOf } = await start(pgUrl!);
    const load = senders(process.url);
    cleanups.push(() => load.stop());
    await waitFor(() => load.accepted.size >= 50, 20_000, '50 accepted webhooks');
    let terminated = 0;
    for (let round = 0; round < 3; round++) {
      const r = await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [name],
      );
      terminated += r.rows[0]!.n;
      await sleep(300);
    }
    expect(terminated).toBeGreaterThan(0);
    const before = load.accepted.size;
    await waitFor(
      () => {
        if (!alive()) throw new Error('the receiving process exited');
        return load.accepted.size >= before + 50;
      },
      20_000,
      '50 more accepted webhooks after the connections were ended',
    );
    await load.stop();
    await everyAcceptedHandled(load.accepted, effectsOf, alive);
    expect(alive()).toBe(true);
    expect([...load.statuses.keys()].filter((s) => s !== '200' && s !== '503')).toEqual([]);
    console.info(
      `pg_terminate_backend ×3 (${terminated} connections): ${JSON.stringify(Object.fromEntries(load.statuses))}`,
    );
  });

  it(`stays alive while PostgreSQL is away, answers 503 with retry-after, then resumes by itself (${REAL_RESTART ? 'real restart' : 'proxy outage'})`, {
    timeout: 120_000,
  }, async () => {
    const outage = await pgOutage(pgUrl!);
    cleanups.push(() => outage.close());
    const { process, alive, effectsOf } = await start(outage.url);
    const load = senders(process.url);
    cleanups.push(() => load.stop());
    await waitFor(() => load.accepted.size >= 50, 20_000, '50 accepted webhooks');
    await outage.down();
    await waitFor(
      () => {
        if (!alive()) throw new Error('the receiving process exited');
        return load.unavailable() >= 5;
      },
      15_000,
      '503 answers with retry-after while PostgreSQL is away',
    );
    await sleep(3000);
    expect(alive()).toBe(true);
    await outage.up();
    const before = load.accepted.size;
    await waitFor(
      () => {
        if (!alive()) throw new Error('the receiving process exited');
        return load.accepted.size >= before + 50;
      },
      30_000,
      '50 more accepted webhooks after PostgreSQL came back',
    );
    await load.stop();
    await everyAcceptedHandled(load.accepted, effectsOf, alive);
    expect(alive()).toBe(true);
    expect([...load.statuses.keys()].filter((s) => s !== '200' && s !== '503')).toEqual([]);
    console.info(`outage: ${JSON.stringify(Object.fromEntries(load.statuses))}`);
  });
});
