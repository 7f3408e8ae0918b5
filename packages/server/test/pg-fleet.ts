import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { api, type HeraldProcess, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';

/** Helpers for the system tests that run several real `herald` processes on one PostgreSQL schema. */

/** A receiver that answers 200 at once and counts each webhook-id it is sent. */
export async function startCountingReceiver(): Promise<{
  url: string;
  counts: Map<string, number>;
  requests(): number;
  close(): Promise<void>;
}> {
  const counts = new Map<string, number>();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const id = String(req.headers['webhook-id']);
    counts.set(id, (counts.get(id) ?? 0) + 1);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    counts,
    requests: () => requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Starts `herald <role>` processes at once (they race on the migrations), on one database. */
export async function startFleet(
  db: string,
  roles: string[],
  extraArgs: string[] = [],
): Promise<{ processes: HeraldProcess[]; stop(): Promise<void> }> {
  const args = ['--db', db, '--allow-private-networks', '--rate-limit', '1000000', ...extraArgs];
  const settled = await Promise.allSettled(
    roles.map((role) => spawnHerald(role, args, { HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY })),
  );
  const processes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(
      processes.map((p) =>
        Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))]).then(() => p.child.kill('SIGKILL')),
      ),
    );
  };
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { processes, stop };
}

/**
 * Publishes `count` events spread over the APIs, `concurrency` requests at a time per API; resolves
 * with the ids answered 202. Failed or non-202 answers are counted, not thrown.
 */
export async function publishMany(
  apiUrls: string[],
  count: number,
  concurrency = 32,
  onAnswer: (status: number) => void = () => {},
): Promise<string[]> {
  const accepted: string[] = [];
  let next = 0;
  await Promise.all(
    apiUrls.flatMap((url) =>
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const n = next++;
          try {
            const r = await api(url, 'POST', '/v1/events', { type: 'order.created', data: { n } });
            onAnswer(r.status);
            if (r.status === 202) accepted.push(r.body.id as string);
          } catch {
            onAnswer(0);
          }
        }
      }),
    ),
  );
  return accepted;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs one query on the test schema with a short-lived client. */
export async function query<T extends pg.QueryResultRow>(
  baseUrl: string,
  schema: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: baseUrl, options: `-c search_path=${schema}` });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
