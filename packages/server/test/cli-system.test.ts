import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReceiver, type TestReceiver, tempDir, until } from './harness.js';
import { HERALD_BIN, type HeraldProcess, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';

/** The `herald` command for people, end to end: the built binary against a real `herald serve`. */

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('herald CLI against herald serve', () => {
  const tmp = tempDir();
  let herald: HeraldProcess;
  let receiver: TestReceiver;
  let failing = true;

  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [HERALD_BIN, ...args],
        { env: { ...process.env, HERALD_URL: herald.url, HERALD_API_KEY: PROCESS_ADMIN_KEY, NO_COLOR: '', ...env } },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });
  const json = async <T>(args: string[]): Promise<T> => {
    const run = await cli([...args, '--json']);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    return JSON.parse(run.stdout) as T;
  };

  beforeAll(async () => {
    receiver = await startTestReceiver(() => (failing ? { status: 500 } : { status: 200 }));
    herald = await spawnHerald(
      'serve',
      [
        '--db',
        join(tmp.dir, 'herald.db'),
        '--allow-private-networks',
        '--retry-base',
        '100ms',
        '--retry-max-age',
        '1s',
      ],
      { HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY },
    );
  });
  afterAll(async () => {
    herald?.child.kill('SIGKILL');
    await herald?.exited;
    await receiver?.close();
    tmp.remove();
  });

  it('manages endpoints, publishes, lists the failed, bulk-retries them with progress', async () => {
    const endpoint = await json<{ id: string; secret: string }>([
      'endpoints',
      'create',
      receiver.url,
      '--description',
      'cli test',
    ]);
    expect(endpoint.secret).toMatch(/^whsec_/);
    const table = await cli(['endpoints', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+URL\s+STATE\s+EVENT TYPES\s+DESCRIPTION$/);
    expect(table.stdout).toContain(endpoint.id);
    expect(
      (await json<{ description: string }>(['endpoints', 'update', endpoint.id, '--description', 'x'])).description,
    ).toBe('x');
    expect((await json<{ id: string }>(['endpoints', 'get', endpoint.id])).id).toBe(endpoint.id);

    const published = await cli(['events', 'publish', '--type', 'order.paid', '--data', '{"order":1}']);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/^Published evt_\w+: 1 delivery\.\n$/);
    const file = join(tmp.dir, 'data.json');
    writeFileSync(file, '{"order":2}');
    const fromFile = await json<{ id: string }>(['events', 'publish', '--type', 'order.paid', '--data', `@${file}`]);
    const third = await json<{ id: string }>(['events', 'publish', '--type', 'order.paid', '--data', '{"order":3}']);
    const events = await json<Array<{ id: string; data: unknown }>>(['events', 'list', '--type', 'order.paid']);
    expect(events.map((e) => e.data)).toEqual([{ order: 1 }, { order: 2 }, { order: 3 }]);
    expect(events.map((e) => e.id)).toEqual(expect.arrayContaining([fromFile.id, third.id]));

    const failed = await until(
      () =>
        json<Array<{ id: string; status: string }>>([
          'deliveries',
          'list',
          '--status',
          'failed',
          '--endpoint',
          endpoint.id,
        ]),
      (list) => list.length === 3,
      'three failed deliveries',
      20_000,
    );
    expect(failed.every((d) => d.status === 'failed')).toBe(true);
    const failedTable = await cli(['deliveries', 'list', '--status', 'failed']);
    for (const d of failed) expect(failedTable.stdout).toContain(d.id);

    // One retry by hand while the receiver still fails: exit 4, the answer shown.
    const one = await cli(['deliveries', 'retry', failed[0]?.id as string]);
    expect(one.code).toBe(4);
    expect(one.stdout).toContain('answered 500');

    failing = false;
    const bulk = await cli(['deliveries', 'retry', '--failed', '--endpoint', endpoint.id]);
    expect(bulk.code, bulk.stderr).toBe(0);
    // Not a TTY: a progress line per change, ending at 3/3.
    expect(bulk.stderr).toMatch(/\[#+\] 3\/3 retried \(3 succeeded, 0 failed\)\n$/);
    expect(bulk.stdout).toMatch(/completed: 3 succeeded, 0 failed of 3\.\n$/);
    expect(await json<unknown[]>(['deliveries', 'list', '--status', 'failed'])).toEqual([]);

    const rotated = await json<{ secret: string }>(['endpoints', 'rotate-secret', endpoint.id]);
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect(await json(['endpoints', 'delete', endpoint.id])).toEqual({ id: endpoint.id, deleted: true });
  }, 120_000);

  it('exits with documented codes and prints errors as CODE: message (request_id)', async () => {
    const notFound = await cli(['endpoints', 'get', 'ep_missing']);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/^NOT_FOUND: No endpoint with id ep_missing\. \(req_\w+\)\n$/);

    const wrongKey = await cli(['endpoints', 'list'], { HERALD_API_KEY: 'hk_wrong' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^AUTHENTICATION_FAILED: .+ \(req_\w+\)\n$/);

    const badType = await cli(['events', 'publish', '--type', 'Not A Type', '--data', '{}']);
    expect(badType.code).toBe(1);
    expect(badType.stderr).toMatch(/^INVALID_REQUEST: type: .+ \(req_\w+\)\n$/);

    const badJson = await cli(['events', 'publish', '--type', 'a.b', '--data', '{nope']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^USAGE: --data: not JSON/);

    expect((await cli(['events', 'publish', '--data', '{}'])).code).toBe(2);
    expect((await cli(['endpoints', 'list', '--no-such-flag'])).code).toBe(2);
    expect((await cli(['endpoints', 'list'], { HERALD_API_KEY: '' })).code).toBe(2);
    expect((await cli(['--version'])).code).toBe(0);

    // Nothing listens there: no answer after the client's retries.
    const gone = await cli(['endpoints', 'list', '--url', 'http://127.0.0.1:9']);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/^NETWORK_ERROR: Could not reach http:\/\/127\.0\.0\.1:9/);
  }, 90_000);

  it('tails new deliveries and attempts, one JSON line each', async () => {
    const endpoint = await json<{ id: string }>(['endpoints', 'create', receiver.url]);
    const child = spawn(process.execPath, [HERALD_BIN, 'tail', '--json', '--interval', '100'], {
      env: { ...process.env, HERALD_URL: herald.url, HERALD_API_KEY: PROCESS_ADMIN_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      // Let tail take its first look before anything new happens.
      await new Promise((r) => setTimeout(r, 1000));
      const published = await json<{ deliveries: string[] }>(['events', 'publish', '--type', 'a.b', '--data', '{}']);
      const deliveryId = published.deliveries[0];
      const lines = await until(
        async () =>
          out
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as { kind: string; delivery_id: string; response_status?: number }),
        (ls) => ls.some((l) => l.kind === 'attempt' && l.delivery_id === deliveryId),
        'the attempt line',
        15_000,
      );
      expect(lines.find((l) => l.kind === 'delivery')?.delivery_id).toBe(deliveryId);
      expect(lines.find((l) => l.kind === 'attempt')?.response_status).toBe(200);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      await cli(['endpoints', 'delete', endpoint.id]);
    }
  }, 60_000);
});
