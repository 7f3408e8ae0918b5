import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CIRCUIT_FAILURES } from '../src/dispatch/circuit.js';
import { startTestReceiver, type TestReceiver, until } from './harness.js';
import { api, PROCESS_ADMIN_KEY, spawnHerald } from './herald-process.js';
import { tempDir } from './temp-dir.js';

const RETRY_BASE_MS = 200;
const MAX_AGE_MS = 15_000;
const EVENTS = 12;

interface Delivery {
  id: string;
  sequence: number;
  status: string;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
}

const sequenceOf = (r: { body: Buffer }) => (JSON.parse(r.body.toString()) as { sequence: number }).sequence;

describe('a real herald serve process, with endpoints that fail', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('holds a failing endpoint back to one probe at a time on the schedule, drains it oldest first when it recovers, and fails what never gets through at the max-age mark', {
    timeout: 90_000,
  }, async () => {
    const tmp = tempDir('herald-circuit-');
    cleanups.push(() => tmp.remove());
    const flaky: TestReceiver = await startTestReceiver(() => ({ status: 503, body: 'down' }));
    const dead: TestReceiver = await startTestReceiver(() => ({ status: 503, body: 'down for good' }));
    cleanups.push(
      () => flaky.close(),
      () => dead.close(),
    );
    const herald = await spawnHerald(
      'serve',
      [
        '--db',
        join(tmp.dir, 'herald.db'),
        '--allow-private-networks',
        '--retry-base',
        `${RETRY_BASE_MS}ms`,
        '--retry-max-age',
        `${MAX_AGE_MS / 1000}s`,
        '--check-interval',
        '300ms',
        // One request at a time per endpoint: the order the receiver sees is the order they were sent.
        '--endpoint-concurrency',
        '1',
      ],
      { HERALD_BOOTSTRAP_KEY: PROCESS_ADMIN_KEY },
    );
    cleanups.push(() => {
      herald.child.kill('SIGKILL');
    });
    const call = (method: string, path: string, body?: unknown) => api(herald.url, method, path, body);
    const a = (await call('POST', '/v1/endpoints', { url: flaky.url, event_types: ['for.a'] })).body;
    const b = (await call('POST', '/v1/endpoints', { url: dead.url, event_types: ['for.b'] })).body;
    expect(a.circuit).toEqual({ state: 'closed', opened_at: null, next_probe_at: null });
    for (let n = 1; n <= EVENTS; n++) {
      expect((await call('POST', '/v1/events', { type: 'for.a', data: { n } })).status).toBe(202);
      expect((await call('POST', '/v1/events', { type: 'for.b', data: { n } })).status).toBe(202);
    }

    // Five failures in a row open A's circuit; its deliveries wait while single probes go out.
    const opened = await until(
      () => call('GET', `/v1/endpoints/${a.id}`),
      (r) => r.body.circuit.state !== 'closed',
      'the circuit of A to open',
      20_000,
    );
    const openedAt = Date.parse(opened.body.circuit.opened_at);
    expect(flaky.requests.length).toBeGreaterThanOrEqual(CIRCUIT_FAILURES);
    const probesOf = () => flaky.requests.filter((r) => r.receivedAt > openedAt);
    await until(
      async () => probesOf().length,
      (n) => n >= 3,
      'three probes',
      20_000,
    );
    // While open, nothing but the probes: each waits at least the schedule's interval after the last
    // (retry base, then twice, then four times as long); a delivery's own retries would come sooner.
    const probes = probesOf().map((r) => r.receivedAt);
    expect(probes[0]! - openedAt).toBeGreaterThanOrEqual(RETRY_BASE_MS);
    expect(probes[1]! - probes[0]!).toBeGreaterThanOrEqual(2 * RETRY_BASE_MS);
    expect(probes[2]! - probes[1]!).toBeGreaterThanOrEqual(4 * RETRY_BASE_MS);
    const waiting = (await call('GET', `/v1/deliveries?endpoint_id=${a.id}&status=pending&limit=100`)).body
      .data as Delivery[];
    expect(waiting).toHaveLength(EVENTS);

    // A comes back: the next probe closes the circuit and the backlog arrives oldest first.
    const before = flaky.requests.length;
    flaky.respondWith(() => ({ status: 200, body: 'ok' }));
    await until(
      async () => (await call('GET', `/v1/deliveries?endpoint_id=${a.id}&status=succeeded&limit=100`)).body.data.length,
      (n) => n === EVENTS,
      'every delivery of A to succeed',
      30_000,
    );
    // The first request after the recovery is the probe that closed the circuit; then the backlog.
    const drained = flaky.requests.slice(before + 1).map(sequenceOf);
    expect(drained).toHaveLength(EVENTS - 1);
    expect(drained).toEqual([...drained].sort((x, y) => x - y));
    // Nothing lost: every sequence reached A.
    expect(new Set(flaky.requests.map(sequenceOf))).toEqual(new Set(Array.from({ length: EVENTS }, (_, i) => i + 1)));
    expect((await call('GET', `/v1/endpoints/${a.id}`)).body.circuit.state).toBe('closed');

    // B never comes back: at the max-age mark every one of its deliveries is failed, none before.
    const failedB = await until(
      async () =>
        (await call('GET', `/v1/deliveries?endpoint_id=${b.id}&status=failed&limit=100`)).body.data as Delivery[],
      (list) => list.length === EVENTS,
      'every delivery of B to fail',
      MAX_AGE_MS + 30_000,
    );
    for (const d of failedB) {
      expect(Date.parse(d.updated_at) - Date.parse(d.created_at)).toBeGreaterThanOrEqual(MAX_AGE_MS);
    }
    // Those that waited say why; the probes that failed last have their attempts to tell.
    const reasons = failedB.map((d) => d.failure_reason).filter((r) => r !== null);
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(r).toMatch(/circuit open/);
    // Listed, and retryable by hand in bulk.
    const job = await call('POST', '/v1/deliveries/retry', { endpoint_id: b.id });
    expect(job.body).toMatchObject({ total: EVENTS });
  });
});
