import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createClient } from '@herald/client';
import { createReceiver, sqliteInbox } from '@herald/receiver';
import { afterAll, expect, it } from 'vitest';
import { tempDir, until } from './harness.js';
import { HERALD_BIN, type HeraldProcess, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';

/**
 * `herald listen` forwards an endpoint's 1,000 events to an app built on @herald/receiver, which
 * verifies every signature; the listener starts while the app is down (it must hold, not skip), is
 * killed with -9 halfway and started again (it must resume, not skip), and the app ends with each
 * event processed exactly once.
 */

const TOTAL = 1_000;
const tmp = tempDir();
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  tmp.remove();
});

function startListen(url: string, endpointId: string, forwardTo: string, stateFile: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      HERALD_BIN,
      'listen',
      '--endpoint',
      endpointId,
      '--forward-to',
      forwardTo,
      '--state',
      stateFile,
      '--after',
      '0',
      '--interval',
      '50',
    ],
    { env: { ...process.env, HERALD_URL: url, HERALD_API_KEY: PROCESS_ADMIN_KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanups.push(() => {
    child.kill('SIGKILL');
    return exited;
  });
  return { child, output: () => output, exited };
}

it('forwards 1,000 events once each across a kill -9 and a restart, holding while the app is down', async () => {
  const herald: HeraldProcess = await spawnHerald(
    'serve',
    [
      '--db',
      join(tmp.dir, 'herald.db'),
      '--allow-private-networks',
      '--rate-limit',
      '100000',
      // Herald's own deliveries go to a closed port: one failed attempt each, then a long wait.
      '--retry-base',
      '1h',
    ],
    { HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY },
  );
  cleanups.push(() => {
    herald.child.kill('SIGKILL');
    return herald.exited;
  });
  const client = createClient({ url: herald.url, apiKey: PROCESS_ADMIN_KEY });
  const endpoint = await client.endpoints.create({ url: 'http://127.0.0.1:9/webhooks' });

  // The app: @herald/receiver verifying with the endpoint's secret, on a port not yet listening.
  const processed = new Map<string, number>();
  const receiver = createReceiver({
    secret: endpoint.secret,
    inbox: sqliteInbox(join(tmp.dir, 'inbox.db')),
    on: {
      '*': async (event) => {
        processed.set(event.id, (processed.get(event.id) ?? 0) + 1);
      },
    },
    pollInterval: 10,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
  const answers = new Map<number, number>();
  const handler = receiver.node();
  const app: Server = createServer((req, res) => {
    res.on('finish', () => answers.set(res.statusCode, (answers.get(res.statusCode) ?? 0) + 1));
    handler(req, res);
  });
  const port = await new Promise<number>((resolve) => {
    app.listen(0, '127.0.0.1', () => resolve((app.address() as AddressInfo).port));
  });
  await new Promise<void>((resolve) => app.close(() => resolve()));
  cleanups.push(() => new Promise((resolve) => app.close(resolve)));
  cleanups.push(() => receiver.stop());

  const published = new Set<string>();
  for (let batch = 0; batch < TOTAL / 25; batch++) {
    const ids = await Promise.all(
      Array.from({ length: 25 }, (_, i) => client.events.publish({ type: 'order.paid', data: { n: batch * 25 + i } })),
    );
    for (const p of ids) published.add(p.id);
  }
  expect(published.size).toBe(TOTAL);

  const forwardTo = `http://127.0.0.1:${port}/webhooks`;
  const stateFile = join(tmp.dir, 'listen-state.json');
  const first = startListen(herald.url, endpoint.id, forwardTo, stateFile);
  // The app is down: the listener says so, retries #1, and writes no progress.
  await until(
    async () => first.output(),
    (out) => /#1 .+ECONNREFUSED.+retrying #1 in .+ s, not advancing\./.test(out),
    'the listener to report the app down',
    15_000,
  );
  expect(existsSync(stateFile)).toBe(false);

  await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', () => resolve()));
  await receiver.start();
  await until(
    async () => processed.size,
    (n) => n >= TOTAL / 2,
    'half the events processed',
    60_000,
  );
  first.child.kill('SIGKILL');
  await first.exited;
  const killedAt = (JSON.parse(readFileSync(stateFile, 'utf8')) as { last_sequence: number }).last_sequence;
  expect(killedAt).toBeGreaterThanOrEqual(TOTAL / 2 - 1);
  expect(killedAt).toBeLessThan(TOTAL);

  const second = startListen(herald.url, endpoint.id, forwardTo, stateFile);
  await until(
    async () => processed.size,
    (n) => n >= TOTAL,
    'every event processed',
    90_000,
  );
  expect(second.output()).toContain(`Resuming after sequence ${killedAt}`);
  await until(
    async () => JSON.parse(readFileSync(stateFile, 'utf8')) as { last_sequence: number },
    (s) => s.last_sequence === TOTAL,
    'the state to reach the last sequence',
  );

  expect(new Set(processed.keys())).toEqual(published);
  expect([...processed.values()].every((count) => count === 1)).toBe(true);
  // Every forward verified: the app answered nothing but 200 (no 401 for a bad signature).
  expect([...answers.keys()]).toEqual([200]);
  // At most the one event in flight at the kill was forwarded twice.
  expect(answers.get(200)).toBeGreaterThanOrEqual(TOTAL);
  expect(answers.get(200)).toBeLessThanOrEqual(TOTAL + 1);
}, 240_000);
