import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { presentJob } from '../src/api/present.js';
import { startTestReceiver, type TestReceiver } from './harness.js';
import { api, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';
import { tempDir } from './temp-dir.js';

const TOTAL = 500;

type Job = ReturnType<typeof presentJob>;

async function countDeliveries(url: string, query: string): Promise<number> {
  let n = 0;
  let cursor = '';
  for (;;) {
    const page = await api<{ data: unknown[]; next_cursor: string | null }>(
      url,
      'GET',
      `/v1/deliveries?${query}&limit=250${cursor ? `&cursor=${cursor}` : ''}`,
    );
    n += page.body.data.length;
    if (!page.body.next_cursor) return n;
    cursor = page.body.next_cursor;
  }
}

describe('a bulk retry in a real herald serve process', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('finishes 500 retries with the right counts across a kill -9 halfway and a restart', async () => {
    const tmp = tempDir('herald-jobs-');
    cleanups.push(() => tmp.remove());
    // Fails everything until the deliveries have failed for good, then answers 200 a little slowly,
    // so the job is still running when the process dies.
    let phase: 'failing' | 'retrying' = 'failing';
    const retried: string[] = [];
    const receiver: TestReceiver = await startTestReceiver(async (request) => {
      if (phase === 'failing') return { status: 500 };
      retried.push(String(request.headers['webhook-id']));
      await new Promise((r) => setTimeout(r, 40));
      return { status: 200 };
    });
    cleanups.push(() => receiver.close());
    const args = [
      '--db',
      join(tmp.dir, 'herald.db'),
      '--allow-private-networks',
      '--retry-base',
      '100ms',
      '--retry-max-age',
      '1s',
      // Each delivery fails on its own schedule: the endpoint's circuit would hold them back.
      '--circuit-failures',
      '0',
      '--claim-lease',
      '2s',
      // 500 publishes in a few hundred ms: above the default 200/s per key.
      '--rate-limit',
      '100000',
    ];
    const env = { HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY };

    const first = await spawnHerald('serve', args, env);
    cleanups.push(() => {
      first.child.kill('SIGKILL');
    });
    const endpoint = await api<{ id: string }>(first.url, 'POST', '/v1/endpoints', { url: receiver.url });
    expect(endpoint.status).toBe(201);
    const published = new Set<string>();
    for (let batch = 0; batch < TOTAL / 25; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          api<{ id: string }>(first.url, 'POST', '/v1/events', { type: 'order.created', data: { n: batch * 25 + i } }),
        ),
      );
      for (const a of answers) published.add(a.body.id);
    }
    expect(published.size).toBe(TOTAL);
    const deadline = Date.now() + 30_000;
    while ((await countDeliveries(first.url, 'status=failed')) < TOTAL && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await countDeliveries(first.url, 'status=failed')).toBe(TOTAL);

    phase = 'retrying';
    const created = await api<{ job_id: string; total: number }>(first.url, 'POST', '/v1/deliveries/retry', {
      endpoint_id: endpoint.body.id,
    });
    expect(created.status).toBe(202);
    expect(created.body.total).toBe(TOTAL);
    const jobPath = `/v1/jobs/${created.body.job_id}`;

    // Progress is reported while it runs; the kill lands with part of the job done.
    const progress: number[] = [];
    for (;;) {
      const job = await api<Job>(first.url, 'GET', jobPath);
      progress.push(job.body.done);
      if (job.body.done >= TOTAL / 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const doneAtKill = progress.at(-1) as number;
    expect(doneAtKill).toBeGreaterThan(0);
    expect(doneAtKill).toBeLessThan(TOTAL);

    const second = await spawnHerald('serve', args, env);
    cleanups.push(async () => {
      second.child.kill('SIGTERM');
      await second.exited;
    });
    let job = await api<Job>(second.url, 'GET', jobPath);
    expect(job.body.state).toBe('running');
    expect(job.body.done).toBeGreaterThanOrEqual(doneAtKill);
    const finish = Date.now() + 60_000;
    while (job.body.state === 'running' && Date.now() < finish) {
      await new Promise((r) => setTimeout(r, 50));
      const next = await api<Job>(second.url, 'GET', jobPath);
      expect(next.body.done).toBeGreaterThanOrEqual(job.body.done); // never goes back
      job = next;
    }
    expect(job.body).toMatchObject({
      kind: 'bulk_retry',
      state: 'completed',
      total: TOTAL,
      done: TOTAL,
      succeeded: TOTAL,
      failed: 0,
    });
    expect(await countDeliveries(second.url, 'status=succeeded')).toBe(TOTAL);
    expect(await countDeliveries(second.url, 'status=failed')).toBe(0);

    // Every event was retried; once each, except at most the attempts in flight when the process died
    // (at-least-once: their answer came but was not yet recorded).
    expect(new Set(retried)).toEqual(published);
    expect(retried.length - TOTAL).toBeLessThanOrEqual(10);
  });
});
