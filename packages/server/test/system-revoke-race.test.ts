import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type HeraldProcess, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';
import { tempDir } from './temp-dir.js';

/**
 * Two `herald api` processes on one SQLite file, each asked at the same moment to revoke one of an
 * account's two admin keys: exactly one revocation may pass, in every round. (In one process the
 * SQLite store runs one call at a time; two processes are what a balancer in front of them makes.)
 */
describe('two processes revoking the last two admin keys of an account at once', () => {
  const processes: HeraldProcess[] = [];
  let tmp: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    for (const p of processes.splice(0)) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    tmp?.remove();
  });

  async function call(url: string, key: string, method: string, path: string, body?: unknown) {
    const response = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: untyped bodies, as herald-process.ts's api().
    return { status: response.status, body: (await response.json()) as any };
  }

  it('leaves one admin key in every round', async () => {
    tmp = tempDir('herald-revoke-');
    const args = ['--db', join(tmp.dir, 'herald.db')];
    const env = { HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY };
    processes.push(await spawnHerald('api', args, env));
    processes.push(await spawnHerald('api', args, env));
    const [a, b] = processes as [HeraldProcess, HeraldProcess];

    const first = await call(a.url, PROCESS_ADMIN_KEY, 'GET', '/v1/api-keys');
    let survivor = { id: first.body.data[0].id as string, key: PROCESS_ADMIN_KEY };
    for (let round = 0; round < 20; round++) {
      const made = await call(a.url, survivor.key, 'POST', '/v1/api-keys', { role: 'admin' });
      expect(made.status).toBe(201);
      const pair = [survivor, { id: made.body.id as string, key: made.body.key as string }];
      const answers = await Promise.all(
        pair.map((k, i) => call((i === 0 ? a : b).url, k.key, 'DELETE', `/v1/api-keys/${k.id}`)),
      );
      expect(answers.map((r) => r.status).sort(), `round ${round}`).toEqual([200, 400]);
      survivor = pair[answers.findIndex((r) => r.status === 400)] as { id: string; key: string };
      const left = await call(b.url, survivor.key, 'GET', '/v1/api-keys');
      expect(left.body.data.map((k: { id: string }) => k.id)).toEqual([survivor.id]);
    }
  });
});
