import { generateSecret, signPlain } from '@herald/protocol';
import { Webhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { receiverFixture } from '../test/support/receivers.js';
import { envelope, SECRET, signed, waitFor } from '../test/support/webhooks.js';
import type { Alert } from './alerts.js';
import type { ReceivedEvent } from './event.js';
import { postgresInbox } from './inbox/postgres.js';

const { make } = receiverFixture();

async function metric(receiver: { metrics: { getSingleMetricAsString(name: string): Promise<string> } }, name: string) {
  return receiver.metrics.getSingleMetricAsString(`herald_receiver_${name}`);
}

describe('the route: verification (acceptance 1)', () => {
  it('accepts a webhook signed by the standardwebhooks package and stores it', async () => {
    const { receiver } = make();
    const event = envelope();
    const body = JSON.stringify(event);
    const timestamp = new Date();
    const signature = new Webhook(SECRET).sign(event.id, timestamp, body);
    const response = await receiver.handle({
      headers: {
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
    });
    expect(response.status).toBe(200);
    expect((await receiver.inbox.get(event.id))?.body).toBe(body);
  });

  it('accepts a Svix-style body without id or sequence, keyed by its webhook-id', async () => {
    const { receiver } = make();
    const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
    const body = JSON.stringify({ type: 'invoice.paid', timestamp: '2026-11-27T05:00:00Z', data: { total: 4 } });
    const ts = new Date();
    const response = await receiver.handle({
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
        'webhook-signature': new Webhook(SECRET).sign(id, ts, body),
      },
      body,
    });
    expect(response.status).toBe(200);
    const stored = await receiver.inbox.get(id);
    expect([stored?.type, stored?.occurredAt, stored?.sequence]).toEqual([
      'invoice.paid',
      '2026-11-27T05:00:00.000Z',
      0,
    ]);
  });

  it('accepts either secret during a rotation', async () => {
    const previous = generateSecret();
    const { receiver } = make({ secret: undefined, secrets: [SECRET, previous] });
    for (const secret of [SECRET, previous]) {
      const response = await receiver.handle(signed(envelope(), { secret }));
      expect(response.status).toBe(200);
    }
  });

  it('refuses forged, re-signed, tampered, stale, future and unsigned webhooks with 401, storing nothing', async () => {
    const { receiver, clock } = make();
    const now = Math.floor(clock.now() / 1000);
    const good = signed(envelope());
    const cases: [string, { headers: Record<string, string>; body: string }, string][] = [
      [
        'forged',
        {
          headers: { ...good.headers, 'webhook-signature': `v1,${Buffer.alloc(32, 7).toString('base64')}` },
          body: good.body,
        },
        'no_matching_signature',
      ],
      ['re-signed with another secret', signed(envelope(), { secret: generateSecret() }), 'no_matching_signature'],
      ['tampered', { headers: good.headers, body: good.body.replace('"rows":1', '"rows":2') }, 'no_matching_signature'],
      ['stale', signed(envelope(), { timestamp: now - 301 }), 'timestamp_too_old'],
      ['from the future', signed(envelope(), { timestamp: now + 301 }), 'timestamp_too_new'],
      [
        'unsigned',
        { headers: { 'webhook-id': 'evt_x', 'webhook-timestamp': String(now) }, body: good.body },
        'missing_header',
      ],
    ];
    for (const [what, delivery, reason] of cases) {
      const response = await receiver.handle(delivery);
      expect({ what, status: response.status, reason: JSON.parse(response.body).error.reason }).toEqual({
        what,
        status: 401,
        reason,
      });
    }
    expect(await receiver.inbox.list()).toEqual([]);
    const rejected = await metric(receiver, 'rejected_total');
    expect(rejected).toContain('reason="no_matching_signature"} 3');
    expect(rejected).toContain('reason="timestamp_too_old"} 1');
  });

  it("accepts Svix's own headers (svix-id, svix-timestamp, svix-signature), signed by the svix package", async () => {
    const seen: [string, unknown][] = [];
    const { receiver } = make({ on: { '*': (event, ctx) => void seen.push([event.id, ctx.payload.id]) } });
    const msgId = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
    // A body with an id of its own, as some services on Svix send: the handler's event.id is the
    // signed message id it is deduplicated under; the body's stays in ctx.payload.
    const body = JSON.stringify({ id: 'evt_app_7', type: 'invoice.paid', timestamp: '2026-11-27T05:00:00Z', data: {} });
    const svix = new SvixWebhook(SECRET);
    const at = new Date();
    const headers = {
      'svix-id': msgId,
      'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
      'svix-signature': svix.sign(msgId, at, body),
    };
    expect(svix.verify(body, headers)).toMatchObject({ id: 'evt_app_7' }); // svix's verifier agrees
    const response = await receiver.handle({ headers, body });
    expect(response.status).toBe(200);
    expect((await receiver.handle({ headers, body })).body).toContain('"outcome":"duplicate"');
    await receiver.start();
    await waitFor(() => seen.length === 1, 5000, 'the handler');
    expect(seen).toEqual([[msgId, 'evt_app_7']]);
    const forged = { ...headers, 'svix-signature': svix.sign(msgId, at, `${body} `) };
    expect((await receiver.handle({ headers: forged, body })).status).toBe(401);
  });

  it('reads a numeric tolerance as seconds, as stripe-node and svix do', async () => {
    const { receiver, clock } = make({ tolerance: 300 });
    const now = Math.floor(clock.now() / 1000);
    expect((await receiver.handle(signed(envelope(), { timestamp: now - 2 }))).status).toBe(200);
    expect((await receiver.handle(signed(envelope(), { timestamp: now - 299 }))).status).toBe(200);
    expect((await receiver.handle(signed(envelope(), { timestamp: now - 302 }))).status).toBe(401);
  });

  it('honours a configured tolerance', async () => {
    const { receiver, clock } = make({ tolerance: '10s' });
    const now = Math.floor(clock.now() / 1000);
    expect((await receiver.handle(signed(envelope(), { timestamp: now - 9 }))).status).toBe(200);
    expect((await receiver.handle(signed(envelope(), { timestamp: now - 11 }))).status).toBe(401);
  });

  it('verifies the plain hmac-sha256 scheme, keyed by the signed body id', async () => {
    const { receiver } = make({ scheme: 'hmac-sha256' });
    const event = envelope();
    expect((await receiver.handle(signed(event, { scheme: 'hmac-sha256' }))).status).toBe(200);
    const tampered = signed(envelope(), { scheme: 'hmac-sha256' });
    const body = tampered.body.replace('"rows":1', '"rows":9');
    expect((await receiver.handle({ headers: tampered.headers, body })).status).toBe(401);
    // The webhook-id is not signed in this scheme: one that disagrees with the body is refused.
    const other = envelope();
    const otherBody = JSON.stringify(other);
    const swapped = { 'webhook-id': 'evt_someone_else', 'x-herald-signature': signPlain(SECRET, otherBody) };
    expect((await receiver.handle({ headers: swapped, body: otherBody })).status).toBe(400);
    expect((await receiver.inbox.list()).map((e) => e.id)).toEqual([event.id]);
  });

  it('answers 400 to a signed body that is not a JSON object, and 413 to one too large, storing neither', async () => {
    const { receiver } = make({ maxBodyBytes: 2000 });
    const notJson = signed(envelope(), { body: 'hello' });
    expect((await receiver.handle(notJson)).status).toBe(400);
    const big = envelope({ data: { blob: 'x'.repeat(3000) } });
    expect((await receiver.handle(signed(big))).status).toBe(413);
    expect(await receiver.inbox.list()).toEqual([]);
    expect(await metric(receiver, 'rejected_total')).toContain('reason="payload_too_large"} 1');
  });

  it('answers 503 with retry-after when the inbox cannot be written, so the sender retries', async () => {
    const { receiver } = make({ inbox: postgresInbox({ connectionString: 'postgres://nobody@127.0.0.1:1/none' }) });
    const response = await receiver.handle(signed(envelope()));
    expect([response.status, response.headers['retry-after']]).toEqual([503, '5']);
  });
});

describe('the route: duplicates and conflicts (acceptance 2)', () => {
  it('handles a webhook delivered 3 times once', async () => {
    const handled: string[] = [];
    const { receiver } = make({ on: { '*': (event) => void handled.push(event.id) } });
    const delivery = signed(envelope());
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      const response = await receiver.handle(delivery);
      outcomes.push([response.status, JSON.parse(response.body).outcome]);
    }
    await receiver.start();
    await waitFor(() => handled.length === 1, 5000, 'the handler');
    // A fourth delivery after processing changes nothing either.
    expect((await receiver.handle(delivery)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(outcomes).toEqual([
      [200, 'inserted'],
      [200, 'duplicate'],
      [200, 'duplicate'],
    ]);
    expect(handled).toHaveLength(1);
    expect(await metric(receiver, 'duplicates_total')).toContain('herald_receiver_duplicates_total 3');
  });

  it('keeps a different body under a known id aside as a conflict, counted and logged, never handled', async () => {
    const handled: unknown[] = [];
    const { receiver, logger } = make({ on: { '*': (event) => void handled.push(event.data) } });
    const event = envelope();
    await receiver.handle(signed(event));
    const conflicting = signed({ ...event, data: { rows: 666 } });
    const response = await receiver.handle(conflicting);
    expect([response.status, JSON.parse(response.body).outcome]).toEqual([200, 'conflict']);
    expect((await receiver.inbox.conflicts()).map((c) => [c.id, c.body])).toEqual([[event.id, conflicting.body]]);
    expect(await metric(receiver, 'conflicts_total')).toContain('herald_receiver_conflicts_total 1');
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('conflict'))).toBe(true);
    await receiver.start();
    await waitFor(() => handled.length === 1, 5000, 'the handler');
    expect(handled).toEqual([{ rows: 1 }]);
  });
});

describe('the processor', () => {
  it("sends each event to its type's handler, others to '*', with its metadata", async () => {
    const calls: [string, string, number, string][] = [];
    const { receiver } = make({
      on: {
        'sync.completed': (event, ctx) => void calls.push(['sync', event.id, ctx.attempt, ctx.source]),
        '*': (event: ReceivedEvent, ctx) => void calls.push(['*', event.id, ctx.attempt, ctx.source]),
      },
    });
    const a = envelope({ type: 'sync.completed' });
    const b = envelope({ type: 'sync.failed' });
    await receiver.handle(signed(a));
    await receiver.handle(signed(b));
    await receiver.start();
    await waitFor(() => calls.length === 2, 5000, 'both handlers');
    expect(calls.sort()).toEqual(
      [
        ['*', b.id, 1, 'webhook'],
        ['sync', a.id, 1, 'webhook'],
      ].sort(),
    );
    expect(await metric(receiver, 'processed_total')).toContain('type="sync.failed"} 1');
  });

  it('applies deliveries 3, 1, 2 of one key in order 1, 2, 3 when they wait together (acceptance 4)', async () => {
    const applied: number[] = [];
    const { receiver } = make({
      order: { key: (e) => e.connection_id },
      on: { '*': (event) => void applied.push(event.sequence) },
    });
    for (const sequence of [3, 1, 2]) await receiver.handle(signed(envelope({ sequence, connection_id: 'con_a' })));
    await receiver.start();
    await waitFor(() => applied.length === 3, 5000, 'three events');
    expect(applied).toEqual([1, 2, 3]);
  });

  it('never drops a late event of a sequenced key: 3 waits for 1 and 2, which arrive after it; none stale', async () => {
    const applied: number[] = [];
    const { receiver } = make({
      order: { key: (e) => e.connection_id },
      on: { '*': (event) => void applied.push(event.sequence) },
    });
    await receiver.start();
    const [e3, e1, e2] = [3, 1, 2].map((sequence) =>
      envelope({ sequence, endpoint_id: 'ep_late', connection_id: 'con_a' }),
    );
    await receiver.handle(signed(e3!));
    await receiver.handle(signed(e1!));
    await waitFor(() => applied.length === 1, 5000, 'event 1');
    await new Promise((r) => setTimeout(r, 50));
    expect(applied).toEqual([1]);
    await receiver.handle(signed(e2!));
    await waitFor(() => applied.length === 3, 5000, 'events 2 and 3');
    expect(applied).toEqual([1, 2, 3]);
    expect(await receiver.inbox.list({ status: 'stale' })).toEqual([]);
  });

  it('without a sequence, keeps the newest instant per key: offsets and fractions compare as times', async () => {
    const applied: string[] = [];
    const { receiver, logger } = make({
      order: { key: (e) => e.connection_id },
      on: { '*': (event) => void applied.push(event.occurred_at) },
    });
    await receiver.start();
    const plain = (occurred_at: string) =>
      envelope({ sequence: 0, endpoint_id: '', connection_id: 'con_t', occurred_at });
    const run = async (occurredAt: string) => {
      const before = (await receiver.inbox.list({ limit: 1000 })).filter((e) => e.status !== 'pending').length;
      await receiver.handle(signed(plain(occurredAt)));
      await waitFor(
        async () => (await receiver.inbox.list({ limit: 1000 })).filter((e) => e.status !== 'pending').length > before,
        5000,
        occurredAt,
      );
    };
    await run('2026-11-27T04:30:00.500Z');
    await run('2026-11-27T04:30:00Z'); // 500 ms older, though a longer string sorts it after
    await run('2026-11-27T05:00:00Z');
    await run('2026-11-27T05:30:00+01:00'); // 04:30 UTC: older
    await run(''); // no time: runs, with a warning
    expect(applied).toEqual(['2026-11-27T04:30:00.500Z', '2026-11-27T05:00:00Z', '']);
    expect((await receiver.inbox.list({ status: 'stale' })).length).toBe(2);
    expect(
      logger.lines.some((l) => l.level === 'warn' && l.message.includes('neither a sequence nor a readable')),
    ).toBe(true);
  });

  it('runs one key at a time but different keys in parallel', async () => {
    let running = 0;
    let most = 0;
    const perKey = new Map<string, number>();
    let clash = false;
    const { receiver } = make({
      concurrency: 4,
      order: { key: (e) => e.connection_id },
      on: {
        '*': async (event) => {
          const key = event.connection_id!;
          if (perKey.get(key)) clash = true;
          perKey.set(key, 1);
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 20));
          running--;
          perKey.set(key, 0);
        },
      },
    });
    for (let i = 0; i < 12; i++) {
      await receiver.handle(
        signed(envelope({ connection_id: `con_${i % 3}`, endpoint_id: 'ep_par', sequence: i + 1 })),
      );
    }
    await receiver.start();
    await waitFor(async () => (await receiver.inbox.list({ status: 'processed' })).length === 12, 5000, 'all');
    expect(clash).toBe(false);
    expect(most).toBe(3);
  });

  it('retries a failing handler with backoff, parks it as dead, alerts, and replays it after the fix (acceptance 5)', async () => {
    let broken = true;
    const runs: number[] = [];
    const alerts: Alert[] = [];
    const { receiver, clock } = make({
      retry: { attempts: 3, backoff: (n) => 1000 * n },
      onAlert: (alert) => void alerts.push(alert),
      on: {
        '*': (_event, ctx) => {
          runs.push(ctx.attempt);
          if (broken) throw new Error('the database is read-only');
        },
      },
    });
    const event = envelope();
    const statuses = [(await receiver.handle(signed(event))).status];
    await receiver.start();
    await waitFor(() => runs.length === 1, 5000, 'the first run');
    // The sender retries in the meantime: still 200, still one event.
    statuses.push((await receiver.handle(signed(event))).status);
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toEqual([1]);
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toEqual([1]);
    clock.advance(1);
    await waitFor(() => runs.length === 2, 5000, 'the second run');
    clock.advance(2000);
    await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'dead', 5000, 'dead');
    expect(runs).toEqual([1, 2, 3]);
    const dead = await receiver.inbox.list({ status: 'dead' });
    expect(dead.map((e) => [e.id, e.attempts, e.lastError])).toEqual([
      [event.id, 3, 'Error: the database is read-only'],
    ]);
    expect(alerts.filter((a) => a.kind === 'dead').map((a) => (a as { eventId: string }).eventId)).toEqual([event.id]);
    expect(await metric(receiver, 'dead_total')).toContain('} 1');
    broken = false;
    expect(await receiver.replay({ status: 'dead', since: new Date(clock.now() - 60_000) })).toBe(1);
    await waitFor(async () => (await receiver.inbox.get(event.id))?.status === 'processed', 5000, 'processed');
    expect(runs).toEqual([1, 2, 3, 1]);
    expect(statuses).toEqual([200, 200]);
  });

  it('alerts once when handlers fail at a rate over the threshold', async () => {
    const alerts: Alert[] = [];
    const { receiver } = make({
      concurrency: 1,
      retry: { attempts: 1 },
      failureRate: { threshold: 0.5, window: 4 },
      onAlert: (alert) => void alerts.push(alert),
      on: {
        '*': (event) => {
          if ((event.data as { fail: boolean }).fail) throw new Error('no');
        },
      },
    });
    for (const fail of [false, true, true, true, true, true]) {
      await receiver.handle(signed(envelope({ data: { fail } })));
    }
    await receiver.start();
    await waitFor(async () => (await receiver.inbox.list({ status: 'processed' })).length === 1, 5000, 'one ok');
    await waitFor(async () => (await receiver.inbox.list({ status: 'dead' })).length === 5, 5000, 'five dead');
    const rates = alerts.filter((a) => a.kind === 'failure_rate');
    expect(rates).toHaveLength(1);
    expect(rates[0]).toMatchObject({ rate: 0.75, window: 4 });
  });

  it('prunes processed ids older than the retention when it starts', async () => {
    const { receiver, clock } = make({ retention: '1h', on: { '*': () => {} } });
    const old = envelope();
    await receiver.handle(signed(old));
    await receiver.start();
    await waitFor(async () => (await receiver.inbox.get(old.id))?.status === 'processed', 5000, 'processed');
    await receiver.stop();
    clock.advance(3_600_001);
    await receiver.start();
    expect(await receiver.inbox.get(old.id)).toBeNull();
  });

  it('exposes every metric the issue lists, with the inbox lag', async () => {
    const { receiver, clock } = make();
    await receiver.handle(signed(envelope()));
    clock.advance(4000);
    const text = await receiver.metrics.metrics();
    for (const name of [
      'received_total',
      'rejected_total',
      'duplicates_total',
      'conflicts_total',
      'processed_total',
      'failed_total',
      'dead_total',
      'stale_total',
      'recovered_total',
      'inbox_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE herald_receiver_${name}`);
    }
    expect(text).toContain('herald_receiver_inbox_lag_seconds 4');
    expect(text).toContain('herald_receiver_received_total{source="webhook"} 1');
  });

  it('refuses bad configuration when it is built', () => {
    expect(() => make({ secret: 'not a secret' })).toThrow(/whsec_/);
    expect(() => make({ secret: undefined })).toThrow(/secret/);
    expect(() => make({ on: { '*': 'nope' as never } })).toThrow(/on\['\*'\]/);
    expect(() => make({ retry: { attempts: 0 } })).toThrow(/attempts/);
    expect(() => make({ concurrency: 0 })).toThrow(/concurrency/);
    expect(() => make({ concurrency: 2.5 })).toThrow(/concurrency/);
    expect(() => make({ tolerance: -1 })).toThrow(/tolerance/);
    expect(() => make({ tolerance: '5 minutes' })).toThrow(/tolerance/);
    expect(() => make({ retention: 'a week' })).toThrow(/retention/);
    expect(() => make({ lease: 0 })).toThrow(/lease/);
    expect(() => make({ pollInterval: Number.NaN })).toThrow(/pollInterval/);
    expect(() => make({ maxBodyBytes: -5 })).toThrow(/maxBodyBytes/);
    expect(() => make({ failureRate: { threshold: 2 } })).toThrow(/failureRate.threshold/);
    expect(() => make({ order: { key: 'connection_id' as never } })).toThrow(/order.key/);
    expect(() => make({ startFrom: 'yesterday' })).toThrow(/startFrom/);
    expect(() => make({ startFrom: '2026-11-27T00:00:00Z' })).toThrow(/endpointId/);
    expect(() => make({ startFrom: 'beginning' })).toThrow(/fallback.client/);
    const fallback = (extra: object) => ({
      fallback: { silentAfter: '1m', poll: async () => ({ events: [], cursor: null }), ...extra },
    });
    expect(() => make(fallback({ gapGrace: '1 minute' }))).toThrow(/fallback.gapGrace/);
    expect(() => make(fallback({ silentAfter: -3 }))).toThrow(/fallback.silentAfter/);
  });

  it('refuses a replay time it cannot read rather than match nothing', async () => {
    const { receiver } = make();
    await expect(receiver.replay({ status: 'dead', since: 'yesterday' })).rejects.toThrow(/since/);
    expect(await receiver.replay({ status: 'dead', since: '2026-11-27T00:00:00Z' })).toBe(0);
  });
});
