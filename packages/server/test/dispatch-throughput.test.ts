import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { dispatchFixture } from './dispatch-fixture.js';

/**
 * Delivery throughput, measured: not part of the suite (it takes seconds and the machine's load moves it).
 *   HERALD_PERF=1 npx vitest run packages/server/test/dispatch-throughput
 * The receiver runs in its own process, so the two share the machine's 2 cores as in production.
 */

const RECEIVER = `
  const server = require('node:http').createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.writeHead(200); res.end('ok'); });
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

describe.skipIf(!process.env.HERALD_PERF)('delivery throughput', () => {
  const total = Number(process.env.TOTAL ?? 20_000);
  for (const endpoints of (process.env.ENDPOINTS ?? '1,4,16').split(',').map(Number)) {
    it(`${total} deliveries of 1 KiB to a local receiver, over ${endpoints} endpoint(s)`, async () => {
      const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
      const port = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d)))));
      const fx = await dispatchFixture({ clock: systemClock });
      for (let i = 0; i < endpoints; i++) await fx.endpoint(`http://127.0.0.1:${port}/hook${i}`);
      for (let i = 0; i < total / endpoints / 250; i++)
        await fx.publish(250, 'sync.completed', { blob: 'x'.repeat(900) });

      const stats = { commits: 0, recorded: 0, recordMs: 0, claims: 0, claimMs: 0 };
      const record = fx.store.recordAttempts.bind(fx.store);
      fx.store.recordAttempts = async (outcomes, at) => {
        const began = performance.now();
        await record(outcomes, at);
        stats.commits++;
        stats.recorded += outcomes.length;
        stats.recordMs += performance.now() - began;
      };
      const claim = fx.store.claimDueDeliveries.bind(fx.store);
      fx.store.claimDueDeliveries = async (c) => {
        const began = performance.now();
        const claimed = await claim(c);
        stats.claims++;
        stats.claimMs += performance.now() - began;
        return claimed;
      };

      const cpu = process.cpuUsage();
      const began = performance.now();
      fx.dispatcher.start();
      while (stats.recorded < total) await new Promise((resolve) => setTimeout(resolve, 10));
      const seconds = (performance.now() - began) / 1000;
      const used = process.cpuUsage(cpu);
      const cpuPerDelivery = Math.round((used.user + used.system) / total);
      console.log(
        `${endpoints} endpoint(s): ${Math.round(total / seconds)} deliveries/s, ${cpuPerDelivery} µs CPU each`,
        `(${stats.commits} attempt commits, ${Math.round(stats.recordMs)} ms; ${stats.claims} claims, ${Math.round(stats.claimMs)} ms)`,
      );
      await fx.close();
      child.kill();
      expect(stats.recorded).toBeGreaterThanOrEqual(total);
    }, 120_000);
  }
});
