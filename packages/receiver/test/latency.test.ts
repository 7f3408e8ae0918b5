import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresInbox } from '../src/inbox/postgres.js';
import { findPostgres, testSchema } from './support/postgres.js';
import { receiverFixture } from './support/receivers.js';
import { envelope, signed } from './support/webhooks.js';

const { make, serve, onCleanup } = receiverFixture();
const pgUrl = await findPostgres();

/**
 * A load generator in a worker thread, so that the client's work does not run on the server's event
 * loop and count as the route's latency. Its keep-alive connections stay open between bursts.
 */
function loadGenerator(url: string) {
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const http = require('node:http');
     const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
     const target = new URL(workerData.url);
     const send = (d) => new Promise((resolve) => {
       const req = http.request({ host: target.hostname, port: target.port, path: '/', method: 'POST', agent,
         headers: { ...d.headers, 'content-length': Buffer.byteLength(d.body) } }, (res) => {
         res.resume(); res.on('end', () => resolve(res.statusCode));
       });
       req.on('error', () => resolve(0));
       req.end(d.body);
     });
     parentPort.on('message', async (batch) => {
       parentPort.postMessage(await Promise.all(batch.map(send)));
     });`,
    { eval: true, workerData: { url } },
  );
  return {
    burst(deliveries: { headers: Record<string, string>; body: string }[]): Promise<number[]> {
      return new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage(deliveries);
      });
    },
    async close(): Promise<void> {
      await worker.terminate();
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('the route stays light whatever the handlers do (acceptance 3)', () => {
  it('answers 200 concurrent requests without waiting for handlers that take 5 s', async () => {
    const release = new AbortController();
    let running = 0;
    // The inbox file is on tmpfs when there is one: this test is about the route never waiting for
    // handlers, and an fsync on a disk shared with other processes can alone take tens of ms.
    // Durability is shown by the kill -9 test; throughput on the disk by bench/receiver.js.
    const { receiver } = make(
      {
        concurrency: 16,
        on: {
          '*': async () => {
            running++;
            try {
              await sleep(5000, undefined, { signal: release.signal });
            } finally {
              running--;
            }
          },
        },
      },
      { memory: true },
    );
    // Let the handlers go when the test ends, so that stop() does not wait 5 s for them.
    setMaxListeners(0, release.signal);
    onCleanup(() => release.abort());
    const route = receiver.node();
    const latencies: number[] = [];
    const { url } = await serve((req: IncomingMessage, res: ServerResponse) => {
      const start = process.hrtime.bigint();
      res.once('finish', () => latencies.push(Number(process.hrtime.bigint() - start) / 1e6));
      route(req, res);
    });
    await receiver.start();
    const deliveries = (n: number) => Array.from({ length: n }, () => signed(envelope()));
    const load = loadGenerator(url);
    onCleanup(() => load.close());

    // Warm-up: 200 keep-alive connections, JIT, the inbox's first pages; and 16 slow handlers start.
    for (let round = 0; round < 5; round++) await load.burst(deliveries(200));
    await sleep(50);
    expect(running).toBe(16);
    // Three bursts of 200, every one answered 200 long before a handler could have finished: a route
    // that waited for a handler would take 5 s. How fast it answers is `npm run bench`'s to show
    // (the receiver rows), not a timed assertion that a loaded machine can fail.
    const p95s: number[] = [];
    for (let round = 0; round < 3; round++) {
      latencies.length = 0;
      const statuses = await load.burst(deliveries(200));
      expect(statuses.filter((s) => s === 200)).toHaveLength(200);
      expect(latencies).toHaveLength(200);
      expect(Math.max(...latencies)).toBeLessThan(1000);
      p95s.push(percentile(latencies, 95));
      console.info(
        `route latency, 200 concurrent requests, handlers busy: p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
          `p95 ${percentile(latencies, 95).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
      );
    }
    // The handlers are still busy with the warm-up's events: nothing waited for them.
    expect(running).toBe(16);
    console.info(`median p95 of the three bursts: ${percentile(p95s, 50).toFixed(1)} ms`);
    expect((await receiver.inbox.list({ status: 'pending', limit: 2000 })).length).toBeGreaterThanOrEqual(600);
  });
});

describe.skipIf(pgUrl === null)(
  'on PostgreSQL, handlers holding every transaction never slow the route (acceptance 3)',
  () => {
    let schema: { schema: string; drop(): Promise<void> };
    beforeAll(async () => {
      schema = await testSchema(pgUrl!);
    });
    afterAll(async () => {
      await schema?.drop();
    });

    it('answers 200 concurrent requests while 24 handlers want the 20 connections, waiting for none of them', async () => {
      const release = new AbortController();
      let holding = 0;
      const { receiver } = make({
        inbox: postgresInbox({ connectionString: pgUrl!, schema: schema.schema, table: 'latency' }),
        concurrency: 24,
        on: {
          '*': async (_event, ctx) => {
            await ctx.transaction.run('SELECT 1');
            holding++;
            try {
              await sleep(10_000, undefined, { signal: release.signal });
            } catch {
              // let go at the end of the test
            }
          },
        },
      });
      setMaxListeners(0, release.signal);
      onCleanup(() => release.abort());
      const route = receiver.node();
      const latencies: number[] = [];
      const { url } = await serve((req: IncomingMessage, res: ServerResponse) => {
        const start = process.hrtime.bigint();
        res.once('finish', () => latencies.push(Number(process.hrtime.bigint() - start) / 1e6));
        route(req, res);
      });
      await receiver.start();
      const deliveries = (n: number) => Array.from({ length: n }, () => signed(envelope()));
      const load = loadGenerator(url);
      onCleanup(() => load.close());

      for (let round = 0; round < 5; round++) await load.burst(deliveries(200));
      await sleep(100);
      // Every connection of the processing pool is held in an open transaction; 4 handlers wait for one.
      expect(holding).toBe(20);
      const p99s: number[] = [];
      for (let round = 0; round < 3; round++) {
        latencies.length = 0;
        const statuses = await load.burst(deliveries(200));
        expect(statuses.filter((s) => s === 200)).toHaveLength(200);
        // A route that needed one of the held connections would wait the handlers' 10 s.
        expect(Math.max(...latencies)).toBeLessThan(5000);
        p99s.push(percentile(latencies, 99));
        console.info(
          `route latency on PostgreSQL, 200 concurrent requests, every transaction held: p50 ` +
            `${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
            `max ${Math.max(...latencies).toFixed(1)} ms`,
        );
      }
      expect(holding).toBe(20);
      console.info(`median p99 of the three bursts: ${percentile(p99s, 50).toFixed(1)} ms`);
    });
  },
);
