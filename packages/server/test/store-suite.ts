import { newId } from '@herald/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AlertEntry,
  AlertRecord,
  AttemptOutcome,
  ClaimedDelivery,
  ConnectionSyncReport,
  DeliveryStatus,
  NewEndpoint,
  PublishInput,
  Store,
} from '../src/store/types.js';

/** A store-level endpoint to create in tests: enabled, catch-all, a fixed secret; `overrides` change any field. */
export function newEndpoint(overrides: Partial<NewEndpoint> & { accountId: string }): NewEndpoint {
  return {
    id: newId('endpoint'),
    url: 'http://127.0.0.1:9/webhooks',
    description: '',
    eventTypes: [],
    connectionIds: [],
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    signatureScheme: 'standard-webhooks',
    headers: {},
    rateLimitPerS: null,
    disabled: false,
    createdAt: 0,
    ...overrides,
  };
}

/**
 * The behaviour every Store must have, written once and run against each implementation
 * (store-sqlite.test.ts; PostgreSQL joins with issue 6).
 */
/** The pending count beside deliveryHealth's two readings: what /metrics reports. */
async function healthOf(store: Store, now: number) {
  return { pending: await store.countPendingDeliveries(), ...(await store.deliveryHealth(now)) };
}

export function storeSuite(name: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name} store`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const t0 = Date.parse('2026-11-27T06:00:00.000Z');
    const account = 'acct_01JDSTORESUITE000000000000';
    const other = 'acct_01JDSTORESUITE000000000001';

    beforeEach(async () => {
      ({ store, cleanup } = await open());
      await store.createAccount(account, t0);
      await store.createAccount(other, t0);
    });
    afterEach(async () => {
      await cleanup();
    });

    function endpoint(overrides: Partial<NewEndpoint> = {}): NewEndpoint {
      return newEndpoint({ accountId: account, createdAt: t0, ...overrides });
    }

    function event(overrides: Partial<PublishInput> = {}): PublishInput {
      return {
        accountId: account,
        id: newId('event'),
        type: 'sync.completed',
        occurredAt: t0,
        connectionId: 'con_1',
        data: { rows: 1 },
        createdAt: t0,
        ...overrides,
      };
    }

    function failed(
      deliveryId: string,
      attemptNo: number,
      nextAttemptAt: number | null,
      claim: string | null = null,
    ): AttemptOutcome {
      return {
        claim,
        attempt: {
          id: newId('attempt'),
          deliveryId,
          attemptNo,
          startedAt: t0,
          durationMs: 3,
          requestHeaders: { 'webhook-id': 'evt' },
          responseStatus: 500,
          responseHeaders: { 'content-type': 'text/plain' },
          responseBody: 'boom',
          error: 'http_status',
          manual: false,
        },
        status: nextAttemptAt === null ? 'failed' : 'pending',
        nextAttemptAt,
      };
    }

    it('fans an event out to every matching endpoint, in the same commit', async () => {
      const all = await store.createEndpoint(endpoint());
      const onlyFailed = await store.createEndpoint(endpoint({ eventTypes: ['sync.failed'] }));
      const onlyCon2 = await store.createEndpoint(endpoint({ connectionIds: ['con_2'] }));
      const disabled = await store.createEndpoint(endpoint({ disabled: true }));
      const foreign = await store.createEndpoint(endpoint({ accountId: other }));

      const [result] = await store.publish([event()]);
      const deliveries = await store.listDeliveriesOfEvent(account, result!.id);
      expect(deliveries.map((d) => d.endpointId).sort()).toEqual([all.id, disabled.id].sort());
      expect(result!.deliveries.sort()).toEqual(deliveries.map((d) => d.id).sort());
      // The disabled endpoint's delivery waits (no due time) instead of leaving a hole in its stream.
      expect(deliveries.find((d) => d.endpointId === disabled.id)).toMatchObject({
        status: 'pending',
        nextAttemptAt: null,
      });
      for (const ep of [onlyFailed, onlyCon2, foreign]) {
        expect((await store.listDeliveries(ep.accountId, { endpointId: ep.id, limit: 10 })).data).toEqual([]);
      }

      // Herald's operational events reach only endpoints that ask for them by name.
      const ops = await store.createEndpoint(endpoint({ eventTypes: ['alert.triggered'] }));
      const [alert] = await store.publish([event({ type: 'alert.triggered', connectionId: null })]);
      expect((await store.listDeliveriesOfEvent(account, alert!.id)).map((d) => d.endpointId)).toEqual([ops.id]);

      const [second] = await store.publish([event({ type: 'sync.failed', connectionId: 'con_2' })]);
      const ids = (await store.listDeliveriesOfEvent(account, second!.id)).map((d) => d.endpointId).sort();
      expect(ids).toEqual([all.id, onlyFailed.id, onlyCon2.id, disabled.id].sort());
    });

    it('numbers each endpoint’s deliveries 1..N without gaps across batches', async () => {
      const a = await store.createEndpoint(endpoint());
      const b = await store.createEndpoint(endpoint({ eventTypes: ['invoice.paid'] }));
      await store.publish(Array.from({ length: 5 }, () => event()));
      await store.publish([event({ type: 'invoice.paid' }), event(), event({ type: 'invoice.paid' })]);
      const seqA = (await store.listEndpointStream(account, a.id, 0, 100)).map((r) => r.delivery.sequence);
      const seqB = (await store.listEndpointStream(account, b.id, 0, 100)).map((r) => r.delivery.sequence);
      expect(seqA).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(seqB).toEqual([1, 2]);
      expect((await store.getEndpoint(account, a.id))!.lastSequence).toBe(8);
      const after6 = await store.listEndpointStream(account, a.id, 6, 100);
      expect(after6.map((r) => r.delivery.sequence)).toEqual([7, 8]);
      expect(after6[0]!.event.type).toBe('sync.completed');
    });

    it('claims due deliveries once, under a lease that runs out for a crashed claimer', async () => {
      await store.createEndpoint(endpoint());
      await store.publish([event(), event(), event()]);
      const first = await store.claimDueDeliveries({ now: t0, limit: 2, leaseMs: 60_000 });
      expect(first).toHaveLength(2);
      expect(first[0]!.endpoint.url).toBe('http://127.0.0.1:9/webhooks');
      expect(first[0]!.event.data).toEqual({ rows: 1 });
      const second = await store.claimDueDeliveries({ now: t0, limit: 10, leaseMs: 60_000 });
      expect(second).toHaveLength(1);
      expect(second[0]!.delivery.id).not.toBe(first[0]!.delivery.id);
      expect(await store.claimDueDeliveries({ now: t0 + 59_999, limit: 10, leaseMs: 60_000 })).toHaveLength(0);
      // Nobody recorded an attempt: after the lease the deliveries are due again.
      expect(await store.claimDueDeliveries({ now: t0 + 60_000, limit: 10, leaseMs: 60_000 })).toHaveLength(3);
    });

    it("hands an endpoint's deliveries to one claimant at a time, until it lets go or its lease ends", async () => {
      const x = await store.createEndpoint(endpoint({ eventTypes: ['for.x'] }));
      const y = await store.createEndpoint(endpoint({ eventTypes: ['for.y'] }));
      const publishTo = (type: string, n: number) => store.publish(Array.from({ length: n }, () => event({ type })));
      await publishTo('for.x', 3);
      const claim = (id: string, now: number, releaseEndpointIds: string[] = [], limit = 10) =>
        store.claimDueDeliveries({ now, limit, leaseMs: 60_000, claimant: { id, releaseEndpointIds } });
      const endpointsOf = (claimed: Awaited<ReturnType<typeof claim>>) => new Set(claimed.map((c) => c.endpoint.id));

      // A takes two of X's three: X is A's now.
      expect(endpointsOf(await claim('A', t0, [], 2))).toEqual(new Set([x.id]));
      await publishTo('for.y', 4);
      // B gets none of X's, though one is due: only Y's.
      const b1 = await claim('B', t0, []);
      expect(endpointsOf(b1)).toEqual(new Set([y.id]));
      expect(b1).toHaveLength(4);
      // A, still busy with X, claims again and gets X's last one.
      expect((await claim('A', t0 + 1)).map((c) => c.endpoint.id)).toEqual([x.id]);
      // More of X come due: B may not take them while A holds X, nor may a claim without a claimant; A does.
      await publishTo('for.x', 1);
      expect(await claim('B', t0 + 2)).toHaveLength(0);
      expect(await store.claimDueDeliveries({ now: t0 + 2, limit: 10, leaseMs: 60_000 })).toHaveLength(0);
      expect((await claim('A', t0 + 3)).map((c) => c.endpoint.id)).toEqual([x.id]);
      // A is done with X: its next claim lets go, and B gets X's next work.
      expect(await claim('A', t0 + 4, [x.id])).toHaveLength(0);
      await publishTo('for.x', 1);
      expect((await claim('B', t0 + 5)).map((c) => c.endpoint.id)).toEqual([x.id]);

      // B dies holding X and Y. After the lease, their deliveries (claimed, never recorded) go to C.
      expect(await claim('C', t0 + 59_000)).toHaveLength(0);
      expect(endpointsOf(await claim('C', t0 + 60_010))).toEqual(new Set([x.id, y.id]));
      // C stops and lets go of everything at once: D takes X's next work without waiting for the lease.
      await store.releaseEndpointLeases('C');
      await publishTo('for.x', 1);
      expect((await claim('D', t0 + 60_020)).map((c) => c.endpoint.id)).toEqual([x.id]);
    });

    it('shares each claim between the endpoints with due work, oldest due first within each', async () => {
      const busy = await store.createEndpoint(endpoint({ eventTypes: ['for.busy'] }));
      const quiet = await store.createEndpoint(endpoint({ eventTypes: ['for.quiet'] }));
      // The busy endpoint's backlog is older than everything the quiet one has.
      await store.publish(
        Array.from({ length: 10 }, (_, i) => event({ type: 'for.busy', createdAt: t0 - 10_000 + i })),
      );
      await store.publish([
        event({ type: 'for.quiet', createdAt: t0 - 5 }),
        event({ type: 'for.quiet', createdAt: t0 - 4 }),
      ]);
      const first = await store.claimDueDeliveries({ now: t0, limit: 4, leaseMs: 60_000 });
      expect(first.map((c) => [c.endpoint.id, c.delivery.sequence])).toEqual([
        [busy.id, 1],
        [busy.id, 2],
        [quiet.id, 1],
        [quiet.id, 2],
      ]);
      // The quiet one has nothing more: what it leaves goes to the busy one.
      const second = await store.claimDueDeliveries({ now: t0, limit: 5, leaseMs: 60_000 });
      expect(second.map((c) => c.delivery.sequence)).toEqual([3, 4, 5, 6, 7]);
      expect(new Set(second.map((c) => c.endpoint.id))).toEqual(new Set([busy.id]));
    });

    it('skips excluded and disabled endpoints when claiming', async () => {
      const busy = await store.createEndpoint(endpoint());
      const off = await store.createEndpoint(endpoint());
      const free = await store.createEndpoint(endpoint());
      await store.publish([event(), event()]);
      await store.updateEndpoint(account, off.id, { disabled: true }, t0);
      const claimed = await store.claimDueDeliveries({
        now: t0,
        limit: 10,
        leaseMs: 1000,
        excludeEndpointIds: [busy.id],
      });
      expect(new Set(claimed.map((c) => c.endpoint.id))).toEqual(new Set([free.id]));
      expect(claimed).toHaveLength(2);
    });

    it("keeps a disabled endpoint's deliveries off the claim path, fails them when their window closes, resumes the rest on re-enable", async () => {
      const day = 86_400_000;
      const reason = 'Not delivered: its endpoint was disabled';
      const ep = await store.createEndpoint(endpoint());
      const [early] = await store.publish([event({ createdAt: t0 })]);
      await store.updateEndpoint(account, ep.id, { disabled: true, disabledReason: 'Gone.' }, t0 + 10);
      const settle = (at: number, endpointIds?: string[]) =>
        store.settleWaitingDeliveries({
          at,
          windowStart: at - day,
          reasons: { disabled: reason, circuitOpen: 'circuit open' },
          endpointIds,
        });
      expect(await settle(t0 + 10, [ep.id])).toEqual({ waiting: 1, failed: 0, resumed: 0 });
      const [late] = await store.publish([event({ createdAt: t0 + 1000 })]);

      // Every event is in the endpoint's stream, numbered without a gap, and none is due for anyone.
      const stream = await store.listEndpointStream(account, ep.id, 0, 10);
      expect(stream.map((s) => [s.event.id, s.delivery.sequence, s.delivery.nextAttemptAt])).toEqual([
        [early!.id, 1, null],
        [late!.id, 2, null],
      ]);
      expect(await store.claimDueDeliveries({ now: t0 + 2000, limit: 10, leaseMs: 1000 })).toEqual([]);
      expect(await healthOf(store, t0 + 2000)).toMatchObject({ pending: 2, oldestDueAt: null });
      expect(await store.overdueByAccount(t0 + 2000)).toEqual([]);

      // A day later the first one's window has closed: failed, with the reason, listed and retryable.
      expect(await settle(t0 + day + 500)).toEqual({ waiting: 0, failed: 1, resumed: 0 });
      expect(await settle(t0 + day + 500)).toEqual({ waiting: 0, failed: 0, resumed: 0 });
      const failedOne = (await store.listDeliveries(account, { status: 'failed', limit: 10 })).data;
      expect(failedOne).toMatchObject([
        { id: early!.deliveries[0], failureReason: `${reason} (Gone).`, nextAttemptAt: null },
      ]);
      const job = await store.createBulkRetryJob({
        id: newId('job'),
        accountId: account,
        filter: { endpointId: ep.id },
        params: {},
        createdAt: t0 + day + 500,
      });
      expect(job.total).toBe(1);

      // Re-enabled: only the one still inside its window resumes, due at once.
      await store.updateEndpoint(account, ep.id, { disabled: false, disabledReason: null }, t0 + day + 600);
      expect(await settle(t0 + day + 600, [ep.id])).toEqual({ waiting: 0, failed: 0, resumed: 1 });
      const claimed = await store.claimDueDeliveries({ now: t0 + day + 600, limit: 10, leaseMs: 1000 });
      expect(claimed.map((c) => c.delivery.id)).toEqual(late!.deliveries);
    });

    it('names the endpoints a publish made deliveries due for: not a disabled one, not an open circuit', async () => {
      const open = await store.createEndpoint(endpoint());
      const tripped = await store.createEndpoint(endpoint());
      const disabled = await store.createEndpoint(endpoint({ disabled: true }));
      await store.createEndpoint(endpoint({ eventTypes: ['other.type'] }));
      expect(await store.openCircuit(tripped.id, { at: t0, probeAt: t0 + 1000 })).toBe(true);
      const [result] = await store.publish([event({ createdAt: t0 + 1 })]);
      expect(result!.deliveries).toHaveLength(3);
      expect(result!.dueEndpoints).toEqual([open.id]);
      expect(disabled.disabled).toBe(true);
      // A replay made nothing new due.
      const key = { key: 'k1', requestHash: 'h1', expiresAt: t0 + 100_000 };
      await store.publish([event({ createdAt: t0 + 2, idempotency: key })]);
      const [replay] = await store.publish([event({ createdAt: t0 + 3, idempotency: key })]);
      expect(replay!.idempotency).toBe('replayed');
      expect(replay!.dueEndpoints ?? []).toEqual([]);
    });

    it('holds an open circuit’s deliveries back but for one probe at a time, and lets them go oldest first when it closes', async () => {
      const day = 86_400_000;
      const ep = await store.createEndpoint(endpoint());
      const neighbour = await store.createEndpoint(endpoint({ accountId: other }));
      await store.publish([1, 2, 3].map((i) => event({ createdAt: t0 + i })));
      await store.publish([event({ accountId: other, createdAt: t0 })]);
      expect(await store.openCircuit(ep.id, { at: t0 + 10, probeAt: t0 + 1000 })).toBe(true);
      expect(await store.openCircuit(ep.id, { at: t0 + 11, probeAt: t0 + 2000 })).toBe(false);
      expect((await store.getEndpoint(account, ep.id))!.circuit).toEqual({
        openedAt: t0 + 10,
        probeAt: t0 + 1000,
        failedProbes: 0,
      });
      // Published while open: due at its creation like the others; the claim skips the endpoint.
      await store.publish([event({ createdAt: t0 + 20 })]);
      const claim = (now: number) => store.claimDueDeliveries({ now, limit: 10, leaseMs: 60_000 });
      // Before the probe time only the neighbour's delivery is claimed.
      expect((await claim(t0 + 500)).map((c) => c.endpoint.id)).toEqual([neighbour.id]);
      expect(await healthOf(store, t0 + 500)).toMatchObject({ pending: 5, oldestDueAt: null });
      // The probe: one delivery, the oldest; none more while it is out.
      const [probe, ...more] = await claim(t0 + 1000);
      expect(more).toEqual([]);
      expect(probe!.delivery.sequence).toBe(1);
      expect(await claim(t0 + 1001)).toEqual([]);
      await store.failCircuitProbe(ep.id, t0 + 3000);
      expect((await store.getEndpoint(account, ep.id))!.circuit).toMatchObject({ probeAt: t0 + 3000, failedProbes: 1 });
      // The probe's own record puts it back on its schedule; the periodic pass dates it back to its creation.
      await store.recordAttempts([failed(probe!.delivery.id, 1, t0 + 1500, probe!.claim)], t0 + 1100);
      // Held back by design, it is no stalled backlog for /readyz or the alert.
      expect((await store.deliveryHealth(t0 + 1600)).oldestDueAt).toBeNull();
      expect(await store.overdueByAccount(t0 + 1600)).toEqual([]);
      await store.settleWaitingDeliveries({
        at: t0 + 1200,
        windowStart: t0 + 1200 - day,
        reasons: { disabled: 'disabled', circuitOpen: 'Not delivered: circuit open' },
      });
      expect(await claim(t0 + 2000)).toEqual([]);
      // The second probe succeeds: closed, and the backlog is due at once, oldest first.
      const [second] = await claim(t0 + 3000);
      expect(second!.delivery.sequence).toBe(1);
      const ok = failed(second!.delivery.id, 2, null, second!.claim);
      await store.recordAttempts(
        [{ ...ok, attempt: { ...ok.attempt, responseStatus: 200, error: null }, status: 'succeeded' }],
        t0 + 3050,
      );
      expect(await store.closeCircuit(ep.id, t0 + 3100)).toBe(true);
      expect((await store.getEndpoint(account, ep.id))!.circuit.openedAt).toBeNull();
      const drained = await claim(t0 + 3100);
      expect(drained.map((c) => c.delivery.sequence)).toEqual([2, 3, 4]);

      // A circuit that never closes: its deliveries fail when their window does, with the reason.
      await store.recordAttempts(
        drained.map((c) => failed(c.delivery.id, 1, t0 + 5000, c.claim)),
        t0 + 3200,
      );
      expect(await store.openCircuit(ep.id, { at: t0 + 3300, probeAt: t0 + day })).toBe(true);
      const result = await store.settleWaitingDeliveries({
        at: t0 + day + 100,
        windowStart: t0 + 100,
        reasons: { disabled: 'disabled', circuitOpen: 'Not delivered: circuit open' },
      });
      expect(result.failed).toBe(3);
      const failedNow = (await store.listDeliveries(account, { status: 'failed', limit: 10 })).data;
      expect(failedNow.map((d) => [d.sequence, d.failureReason]).sort()).toEqual([
        [2, 'Not delivered: circuit open.'],
        [3, 'Not delivered: circuit open.'],
        [4, 'Not delivered: circuit open.'],
      ]);
    });

    it('opens and closes a circuit over a backlog writing its endpoint row and a bounded set of deliveries, then drains it oldest first', async () => {
      const n = 4500;
      const ep = await store.createEndpoint(endpoint());
      const neighbour = await store.createEndpoint(endpoint({ accountId: other }));
      await store.publish(Array.from({ length: n }, (_, i) => event({ createdAt: t0 + i })));
      const stream = () => store.listEndpointStream(account, ep.id, 0, n + 10);
      const touchedAt = async (at: number) =>
        (await stream()).filter((s) => s.delivery.updatedAt === at).map((s) => s.delivery.sequence);
      // Three out: two fail and are rescheduled ahead; the third was queued, not sent, when it opens.
      const out = await store.claimDueDeliveries({ now: t0 + n, limit: 3, leaseMs: 60_000 });
      expect(out.map((c) => c.delivery.sequence)).toEqual([1, 2, 3]);
      await store.recordAttempts(
        out.slice(0, 2).map((c) => failed(c.delivery.id, 1, t0 + n + 30_000, c.claim)),
        t0 + n + 10,
      );
      const opened = t0 + n + 20;
      const heldBack = [{ deliveryId: out[2]!.delivery.id, claim: out[2]!.claim }];
      expect(await store.openCircuit(ep.id, { at: opened, probeAt: opened + 1000, heldBack })).toBe(true);
      // Only those three rows were written, each now due at its creation, as the whole backlog is.
      expect(await touchedAt(opened)).toEqual([1, 2, 3]);
      expect((await stream()).filter((s) => s.delivery.nextAttemptAt !== s.delivery.createdAt)).toEqual([]);

      // Published while open: due as usual; the claim skips the endpoint by its row.
      await store.publish([event({ createdAt: opened + 1 }), event({ accountId: other, createdAt: opened + 1 })]);
      const claim = (now: number, limit = 10) => store.claimDueDeliveries({ now, limit, leaseMs: 60_000 });
      expect((await claim(opened + 500)).map((c) => c.endpoint.id)).toEqual([neighbour.id]);
      expect((await store.deliveryHealth(opened + 500)).oldestDueAt).toBeNull();
      expect(await store.overdueByAccount(opened + 500)).toEqual([]);
      expect((await store.accountHealth(account, opened + 500)).oldestDue).toBeNull();

      // The probe is the oldest; it succeeds and the circuit closes without writing a delivery.
      const [probe, ...more] = await claim(opened + 1000);
      expect(more).toEqual([]);
      expect(probe!.delivery.sequence).toBe(1);
      const ok = failed(probe!.delivery.id, 2, null, probe!.claim);
      await store.recordAttempts(
        [{ ...ok, attempt: { ...ok.attempt, responseStatus: 200, error: null }, status: 'succeeded' }],
        opened + 1100,
      );
      const closed = opened + 1200;
      expect(await store.closeCircuit(ep.id, closed)).toBe(true);
      expect(await touchedAt(closed)).toEqual([]);
      // The backlog drains oldest first: the two given back among the rest by age.
      expect((await claim(closed)).map((c) => c.delivery.sequence)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    });

    it("fails an open circuit's deliveries whose window has closed, past a chunk's worth, with the reason", async () => {
      const day = 86_400_000;
      const n = 4500;
      const ep = await store.createEndpoint(endpoint());
      await store.publish(Array.from({ length: n }, (_, i) => event({ createdAt: t0 + i })));
      expect(await store.openCircuit(ep.id, { at: t0 + n, probeAt: t0 + 2 * day })).toBe(true);
      const settle = (at: number) =>
        store.settleWaitingDeliveries({
          at,
          windowStart: at - day,
          reasons: { disabled: 'disabled', circuitOpen: 'Not delivered: circuit open' },
          endpointIds: [ep.id],
        });
      // Windows of the first 4,100 (created before t0 + 4100) have closed.
      expect(await settle(t0 + day + 4100)).toEqual({ waiting: 0, failed: 4100, resumed: 0 });
      expect(await settle(t0 + day + 4100)).toEqual({ waiting: 0, failed: 0, resumed: 0 });
      const stream = await store.listEndpointStream(account, ep.id, 0, n);
      const ended = stream.filter((s) => s.delivery.status === 'failed');
      expect(ended.map((s) => s.delivery.sequence)).toEqual(Array.from({ length: 4100 }, (_, i) => i + 1));
      expect(new Set(ended.map((s) => s.delivery.failureReason))).toEqual(new Set(['Not delivered: circuit open.']));
      const left = stream.filter((s) => s.delivery.status === 'pending');
      expect(left.map((s) => s.delivery.sequence)).toEqual(Array.from({ length: 400 }, (_, i) => 4101 + i));
      expect(left.filter((s) => s.delivery.nextAttemptAt !== s.delivery.createdAt)).toEqual([]);
    });

    it('still probes, expires and resumes deliveries that an older version parked for an open circuit', async () => {
      const day = 86_400_000;
      const n = 2500;
      const ep = await store.createEndpoint(endpoint());
      await store.publish(Array.from({ length: n }, (_, i) => event({ createdAt: t0 + i })));
      // An older Herald parked the whole backlog on opening (next_attempt_at NULL); a disable and a
      // re-enable without its settling leave the same rows behind.
      await store.updateEndpoint(account, ep.id, { disabled: true }, t0 + n);
      const reasons = { disabled: 'disabled', circuitOpen: 'Not delivered: circuit open' };
      await store.settleWaitingDeliveries({ at: t0 + n, windowStart: t0 + n - day, reasons, endpointIds: [ep.id] });
      await store.updateEndpoint(account, ep.id, { disabled: false }, t0 + n);
      expect(await store.openCircuit(ep.id, { at: t0 + n, probeAt: t0 + n + 1000 })).toBe(true);
      const stream = () => store.listEndpointStream(account, ep.id, 0, n);
      expect((await stream()).every((s) => s.delivery.nextAttemptAt === null)).toBe(true);
      // Expired by creation time, with the reason.
      const settled = await store.settleWaitingDeliveries({
        at: t0 + day + 10,
        windowStart: t0 + 10,
        reasons,
        endpointIds: [ep.id],
      });
      expect(settled).toMatchObject({ failed: 10 });
      // The probe is the oldest left.
      const [probe, ...more] = await store.claimDueDeliveries({ now: t0 + day + 20, limit: 10, leaseMs: 60_000 });
      expect(more).toEqual([]);
      expect(probe!.delivery.sequence).toBe(11);
      const ok = failed(probe!.delivery.id, 1, null, probe!.claim);
      await store.recordAttempts(
        [{ ...ok, attempt: { ...ok.attempt, responseStatus: 200, error: null }, status: 'succeeded' }],
        t0 + day + 30,
      );
      // Closing resumes them all (more than a chunk), due at their creation: oldest first.
      expect(await store.closeCircuit(ep.id, t0 + day + 40)).toBe(true);
      const pending = (await stream()).filter((s) => s.delivery.status === 'pending');
      expect(pending).toHaveLength(n - 11);
      expect(pending.filter((s) => s.delivery.nextAttemptAt !== s.delivery.createdAt)).toEqual([]);
      const drained = await store.claimDueDeliveries({ now: t0 + day + 40, limit: 5, leaseMs: 60_000 });
      expect(drained.map((c) => c.delivery.sequence)).toEqual([12, 13, 14, 15, 16]);
    });

    it('records attempts and moves the delivery through its states', async () => {
      await store.createEndpoint(endpoint());
      const [published] = await store.publish([event()]);
      const id = published!.deliveries[0]!;
      const [first] = await store.claimDueDeliveries({ now: t0, limit: 10, leaseMs: 60_000 });
      await store.recordAttempts([failed(id, 1, t0 + 30_000, first!.claim)], t0 + 5);
      let delivery = await store.getDelivery(account, id);
      expect(delivery).toMatchObject({ status: 'pending', attemptCount: 1, nextAttemptAt: t0 + 30_000 });
      const [second] = await store.claimDueDeliveries({ now: t0 + 30_000, limit: 10, leaseMs: 60_000 });
      await store.recordAttempts([failed(id, 2, null, second!.claim)], t0 + 30_005);
      delivery = await store.getDelivery(account, id);
      expect(delivery).toMatchObject({ status: 'failed', attemptCount: 2, nextAttemptAt: null });
      const attempts = await store.listAttempts(id);
      expect(attempts.map((a) => [a.attemptNo, a.responseStatus, a.error, a.responseBody])).toEqual([
        [1, 500, 'http_status', 'boom'],
        [2, 500, 'http_status', 'boom'],
      ]);
      expect(attempts[0]!.requestHeaders).toEqual({ 'webhook-id': 'evt' });
      expect((await store.listDeliveries(account, { status: 'failed', limit: 10 })).data.map((d) => d.id)).toEqual([
        id,
      ]);
      expect(await store.claimDueDeliveries({ now: t0 + 10 * 86_400_000, limit: 10, leaseMs: 1 })).toHaveLength(0);
    });

    it("describes a page of deliveries with its event's type, its endpoint and its latest attempt", async () => {
      const ep = endpoint({ description: 'Billing receiver', url: 'https://billing.example/hooks' });
      await store.createEndpoint(ep);
      const [one, two] = await store.publish([event({ type: 'invoice.paid' }), event({ type: 'invoice.voided' })]);
      const attempted = one!.deliveries[0]!;
      const untried = two!.deliveries[0]!;
      const [first] = await store.claimDueDeliveries({ now: t0, limit: 1, leaseMs: 60_000 });
      expect(first!.delivery.id).toBe(attempted);
      await store.recordAttempts([failed(attempted, 1, t0 + 30_000, first!.claim)], t0 + 5);
      const [second] = await store.claimDueDeliveries({ now: t0 + 30_000, limit: 1, leaseMs: 60_000 });
      const last = failed(attempted, 2, null, second!.claim);
      last.attempt = { ...last.attempt, startedAt: t0 + 30_001, responseStatus: null, error: 'refused' };
      await store.recordAttempts([last], t0 + 30_005);

      const page = await store.listDeliveries(account, { limit: 10 });
      const described = await store.describeDeliveries(account, page.data);
      expect(described.get(attempted)).toMatchObject({
        eventType: 'invoice.paid',
        endpointDescription: 'Billing receiver',
        endpointUrl: 'https://billing.example/hooks',
        lastAttempt: { attemptNo: 2, startedAt: t0 + 30_001, responseStatus: null, error: 'refused' },
      });
      expect(described.get(untried)).toMatchObject({ eventType: 'invoice.voided', lastAttempt: null });
      expect((await store.describeDeliveries(account, [])).size).toBe(0);
    });

    it('makes the first API key once, whichever of several processes starting at once asks', async () => {
      const key = (n: number) => ({
        id: newId('apiKey'),
        accountId: newId('account'),
        role: 'admin' as const,
        prefix: `hk_${n}`,
        hash: `hash-${n}`,
        createdAt: t0,
        revokedAt: null,
      });
      const made = await Promise.all([1, 2, 3].map((n) => store.createFirstApiKey(key(n))));
      expect(made.filter(Boolean)).toHaveLength(1);
      expect(await store.countActiveAdminKeys()).toBe(1);
      expect(await store.createFirstApiKey(key(4))).toBe(false);
      expect(await store.findApiKeyByHash('hash-4')).toBeUndefined();
    });

    it('runs a periodic check once per interval, whichever of several processes asks first', async () => {
      const turn = (owner: string, now: number) =>
        store.claimPeriodicRun({ name: 'alerts', now, intervalMs: 30_000, owner });
      // Three processes whose timers fire together: one runs the check.
      const first = await Promise.all([turn('a', t0), turn('b', t0), turn('c', t0)]);
      expect(first.filter(Boolean)).toHaveLength(1);
      expect(await turn('b', t0 + 26_999)).toBe(false);
      // 90 % of the interval is enough, so a timer that fires a little early does not skip a turn.
      expect(await turn('b', t0 + 27_000)).toBe(true);
      expect(await turn('a', t0 + 30_000)).toBe(false);
      // Another check has its own turns.
      expect(
        await store.claimPeriodicRun({ name: 'retention', now: t0 + 30_000, intervalMs: 3_600_000, owner: 'a' }),
      ).toBe(true);
    });

    it('counts deliveries by creation bucket and status now, and the failed per endpoint, for one account', async () => {
      // Ids carry their creation time and never go back in a process: a time ahead of every id made
      // so far keeps the ids in the window the counts read.
      const base = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
      await store.createEndpoint(endpoint());
      const b = await store.createEndpoint(endpoint());
      await store.createEndpoint(endpoint({ accountId: other }));
      const [first] = await store.publish([event({ id: newId('event', base), createdAt: base })]);
      await store.publish([event({ id: newId('event', base + 90_000), createdAt: base + 90_000 })]);
      await store.publish([event({ accountId: other, createdAt: base })]);
      const toB = (await store.listDeliveriesOfEvent(account, first!.id)).find((d) => d.endpointId === b.id);
      await store.recordAttempts([failed(toB!.id, 1, null)], base + 1);

      const stats = await store.deliveryStats(account, {
        since: base - 30_000,
        until: base + 120_000,
        bucketMs: 60_000,
      });
      const key = (c: { bucketStart: number; status: string; count: number }) =>
        `${c.bucketStart - base} ${c.status} ${c.count}`;
      expect(stats.counts.map(key).sort()).toEqual(['0 failed 1', '0 pending 1', '60000 pending 2']);
      expect(stats.failedByEndpoint).toEqual([{ endpointId: b.id, failed: 1 }]);
      // The window is half-open on creation time, [since, until): here it holds none of them.
      const narrow = await store.deliveryStats(account, { since: base + 1, until: base + 90_000, bucketMs: 60_000 });
      expect(narrow).toEqual({ counts: [], failedByEndpoint: [] });
    });

    it('gives released claims back at once', async () => {
      await store.createEndpoint(endpoint());
      await store.publish([event()]);
      const [claimed] = await store.claimDueDeliveries({ now: t0, limit: 10, leaseMs: 60_000 });
      await store.releaseClaims([{ deliveryId: claimed!.delivery.id, claim: claimed!.claim }], t0 + 1);
      expect(await store.claimDueDeliveries({ now: t0 + 1, limit: 10, leaseMs: 60_000 })).toHaveLength(1);
    });

    it('serves the feed oldest first with a cursor that is returned on every page', async () => {
      await store.publish(Array.from({ length: 5 }, (_, i) => event({ data: { i } })));
      const first = await store.listEvents(account, { limit: 3 });
      expect(first.data.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2]);
      const second = await store.listEvents(account, { after: first.nextCursor ?? undefined, limit: 3 });
      expect(second.data.map((e) => (e.data as { i: number }).i)).toEqual([3, 4]);
      const empty = await store.listEvents(account, { after: second.nextCursor ?? undefined, limit: 3 });
      expect(empty.data).toEqual([]);
      expect(empty.nextCursor).toBe(second.nextCursor);
      expect((await store.listEvents(other, { limit: 10 })).data).toEqual([]);
    });

    it('keeps the feed in commit order even when ids were made in another order', async () => {
      const early = event({ id: newId('event', t0 - 1000) });
      const late = event({ id: newId('event', t0) });
      await store.publish([late]);
      await store.publish([early]);
      const feed = await store.listEvents(account, { limit: 10 });
      expect(feed.data.map((e) => e.id)).toEqual([late.id, early.id]);
      const afterLate = await store.listEvents(account, { after: String(feed.data[0]!.feedSeq), limit: 10 });
      expect(afterLate.data.map((e) => e.id)).toEqual([early.id]);
    });

    it('hides another account’s resources', async () => {
      const ep = await store.createEndpoint(endpoint());
      const [published] = await store.publish([event()]);
      expect(await store.getEndpoint(other, ep.id)).toBeUndefined();
      expect(await store.getEvent(other, published!.id)).toBeUndefined();
      expect(await store.getDelivery(other, published!.deliveries[0]!)).toBeUndefined();
      expect(await store.updateEndpoint(other, ep.id, { description: 'x' }, t0)).toBeUndefined();
      expect(await store.deleteEndpoint(other, ep.id, t0)).toBe(false);
    });

    it('fails the pending deliveries of a deleted endpoint', async () => {
      const ep = await store.createEndpoint(endpoint());
      const [published] = await store.publish([event()]);
      expect(await store.deleteEndpoint(account, ep.id, t0 + 1)).toBe(true);
      expect(await store.getEndpoint(account, ep.id)).toBeUndefined();
      expect((await store.getDelivery(account, published!.deliveries[0]!))!.status).toBe('failed');
      expect(await store.claimDueDeliveries({ now: t0 + 2, limit: 10, leaseMs: 1 })).toHaveLength(0);
    });

    it('a delete or a success is never undone by an attempt that was in flight', async () => {
      const outcome = (
        claimed: ClaimedDelivery,
        ok: boolean,
        manual: boolean,
        then: { status: DeliveryStatus; next: number | null },
      ): AttemptOutcome => {
        const o = failed(claimed.delivery.id, claimed.delivery.attemptCount + 1, then.next, claimed.claim);
        return {
          ...o,
          attempt: { ...o.attempt, manual, ...(ok ? { error: null, responseStatus: 200 } : {}) },
          status: then.status,
        };
      };
      const statusOf = async (id: string) => (await store.getDelivery(account, id))!.status;
      const ep = await store.createEndpoint(endpoint({ eventTypes: ['to.deleted'] }));
      const [inFlight, queued] = await store.publish([
        event({ type: 'to.deleted', connectionId: null }),
        event({ type: 'to.deleted', connectionId: null }),
      ]);
      const [sending, waiting] = await store.claimDueDeliveries({ now: t0, limit: 2, leaseMs: 60_000 });
      expect(new Set([sending!.delivery.id, waiting!.delivery.id])).toEqual(
        new Set([inFlight!.deliveries[0], queued!.deliveries[0]]),
      );
      // The endpoint is deleted while one attempt is in flight and another waits in a local queue.
      await store.deleteEndpoint(account, ep.id, t0 + 1);
      await store.recordAttempts([outcome(sending!, false, false, { status: 'pending', next: t0 + 30_000 })], t0 + 2);
      await store.releaseClaims([{ deliveryId: waiting!.delivery.id, claim: waiting!.claim }], t0 + 3);
      expect(await statusOf(sending!.delivery.id)).toBe('failed');
      expect(await statusOf(waiting!.delivery.id)).toBe('failed');
      // The late attempt is still on record; nothing is ever due for the deleted endpoint again.
      expect(await store.listAttempts(sending!.delivery.id)).toHaveLength(1);
      expect(await store.claimDueDeliveries({ now: t0 + 86_400_000, limit: 10, leaseMs: 1 })).toHaveLength(0);
      expect(await store.claimDelivery(account, waiting!.delivery.id)).toBeUndefined();

      // A manual retry reads a delivery; an automatic claim takes it and succeeds; the manual attempt
      // then fails: the delivery stays succeeded.
      await store.createEndpoint(endpoint());
      const [second] = await store.publish([event()]);
      const id = second!.deliveries[0]!;
      const manual = (await store.claimDelivery(account, id))!;
      const [auto] = await store.claimDueDeliveries({ now: t0 + 10, limit: 1, leaseMs: 60_000 });
      expect(auto!.delivery.id).toBe(id);
      await store.recordAttempts([outcome(auto!, true, false, { status: 'succeeded', next: null })], t0 + 11);
      await store.recordAttempts(
        [outcome(manual, false, true, { status: 'pending', next: manual.delivery.nextAttemptAt })],
        t0 + 12,
      );
      expect(await store.getDelivery(account, id)).toMatchObject({ status: 'succeeded', nextAttemptAt: null });
      expect(await store.listAttempts(id)).toHaveLength(2);

      // A manual success while an automatic attempt is in flight: the automatic failure after it does not demote it.
      const [third] = await store.publish([event()]);
      const id3 = third!.deliveries[0]!;
      const [auto3] = await store.claimDueDeliveries({ now: t0 + 20, limit: 1, leaseMs: 60_000 });
      const manual3 = (await store.claimDelivery(account, id3))!;
      await store.recordAttempts([outcome(manual3, true, true, { status: 'succeeded', next: null })], t0 + 21);
      await store.recordAttempts([outcome(auto3!, false, false, { status: 'pending', next: t0 + 30_000 })], t0 + 22);
      expect(await statusOf(id3)).toBe('succeeded');
      expect(await store.claimDueDeliveries({ now: t0 + 86_400_000, limit: 10, leaseMs: 1 })).toHaveLength(0);

      // A manual failure never revives a delivery that the automatic schedule gave up on meanwhile.
      const [fourth] = await store.publish([event()]);
      const id4 = fourth!.deliveries[0]!;
      const manual4 = (await store.claimDelivery(account, id4))!;
      const [auto4] = await store.claimDueDeliveries({ now: t0 + 30, limit: 1, leaseMs: 60_000 });
      await store.recordAttempts([outcome(auto4!, false, false, { status: 'failed', next: null })], t0 + 31);
      await store.recordAttempts(
        [outcome(manual4, false, true, { status: 'pending', next: manual4.delivery.nextAttemptAt })],
        t0 + 32,
      );
      expect(await store.getDelivery(account, id4)).toMatchObject({ status: 'failed', attemptCount: 2 });

      // A claim whose lease ran out is over: its late outcome cannot overwrite the next claimant's.
      const [fifth] = await store.publish([event()]);
      const id5 = fifth!.deliveries[0]!;
      const [stale] = await store.claimDueDeliveries({ now: t0 + 40, limit: 1, leaseMs: 1_000 });
      const [fresh] = await store.claimDueDeliveries({ now: t0 + 1_040, limit: 1, leaseMs: 60_000 });
      expect(fresh!.delivery.id).toBe(id5);
      await store.recordAttempts([outcome(stale!, false, false, { status: 'pending', next: t0 + 1_100 })], t0 + 1_050);
      await store.releaseClaims([{ deliveryId: id5, claim: stale!.claim }], t0 + 1_051);
      // Still leased to the fresh claim: not due again before its lease ends.
      expect(await store.claimDueDeliveries({ now: t0 + 1_200, limit: 1, leaseMs: 1 })).toHaveLength(0);
      await store.recordAttempts([outcome(fresh!, true, false, { status: 'succeeded', next: null })], t0 + 1_300);
      expect(await statusOf(id5)).toBe('succeeded');
    });

    it('pages endpoints and deliveries with cursors', async () => {
      for (let i = 0; i < 5; i++) await store.createEndpoint(endpoint({ description: `ep ${i}` }));
      const first = await store.listEndpoints(account, { limit: 2 });
      const second = await store.listEndpoints(account, { cursor: first.nextCursor ?? undefined, limit: 2 });
      const third = await store.listEndpoints(account, { cursor: second.nextCursor ?? undefined, limit: 2 });
      expect([...first.data, ...second.data, ...third.data].map((e) => e.description)).toEqual(
        [0, 1, 2, 3, 4].map((i) => `ep ${i}`),
      );
      expect(third.nextCursor).toBeNull();
      await store.publish([event()]);
      const deliveries = await store.listDeliveries(account, { limit: 3 });
      expect(deliveries.data).toHaveLength(3);
      const rest = await store.listDeliveries(account, { cursor: deliveries.nextCursor ?? undefined, limit: 3 });
      expect(rest.data).toHaveLength(2);
      expect(new Set([...deliveries.data, ...rest.data].map((d) => d.id)).size).toBe(5);
    });

    it('stores API keys by hash and forgets revoked ones', async () => {
      await store.createApiKey({
        id: 'key_1',
        accountId: account,
        role: 'read',
        prefix: 'hk_abc',
        hash: 'h1',
        createdAt: t0,
        revokedAt: null,
      });
      expect(await store.countActiveAdminKeys()).toBe(0);
      expect((await store.findApiKeyByHash('h1'))!.role).toBe('read');
      expect(await store.revokeApiKey(other, 'key_1', t0)).toBe('not_found');
      expect(await store.revokeApiKey(account, 'key_1', t0)).toBe('revoked');
      expect(await store.revokeApiKey(account, 'key_1', t0)).toBe('not_found');
      expect((await store.findApiKeyByHash('h1'))!.revokedAt).toBe(t0);
      expect(await store.listApiKeys(account)).toEqual([]);
    });

    it('never revokes the last admin key of an account, also when two revocations race', async () => {
      const key = (id: string, role: 'admin' | 'read', accountId = account) => ({
        id,
        accountId,
        role,
        prefix: `hk_${id}`,
        hash: `hash-${id}`,
        createdAt: t0,
        revokedAt: null,
      });
      for (let round = 0; round < 5; round++) {
        const pair = [`a${round}`, `b${round}`];
        for (const id of pair) await store.createApiKey(key(id, 'admin'));
        const left = (await store.listApiKeys(account)).filter((k) => k.role === 'admin');
        const results = await Promise.all(left.map((k) => store.revokeApiKey(account, k.id, t0)));
        expect(results.filter((r) => r === 'revoked')).toHaveLength(left.length - 1);
        expect(results.filter((r) => r === 'last_admin')).toHaveLength(1);
        expect((await store.listApiKeys(account)).filter((k) => k.role === 'admin')).toHaveLength(1);
      }
      // A read key goes whatever; another account's admin key does not count for this one.
      await store.createApiKey(key('reader', 'read'));
      await store.createApiKey(key('theirs', 'admin', other));
      expect(await store.revokeApiKey(account, 'reader', t0)).toBe('revoked');
      const [last] = await store.listApiKeys(account);
      expect(await store.revokeApiKey(account, last!.id, t0)).toBe('last_admin');
      expect(await store.revokeApiKey(other, 'theirs', t0)).toBe('last_admin');
    });

    it('lets a bootstrap key back in when every admin key was revoked', async () => {
      // An install left with no active admin key (as the read-then-write revocation once allowed).
      const boot = { id: 'key_boot', accountId: account, role: 'admin' as const, prefix: 'hk_boot', createdAt: t0 };
      await store.createApiKey({ ...boot, hash: 'hash-boot', revokedAt: t0 + 1 });
      await store.createApiKey({ ...boot, id: 'key_read', role: 'read', hash: 'hash-read', revokedAt: null });
      expect(await store.countActiveAdminKeys()).toBe(0);
      // The same bootstrap key again: it is an admin key of its account once more.
      const again = { ...boot, id: newId('apiKey'), accountId: newId('account'), hash: 'hash-boot', revokedAt: null };
      expect(await store.createFirstApiKey(again)).toBe(true);
      expect(await store.findApiKeyByHash('hash-boot')).toMatchObject({ accountId: account, revokedAt: null });
      expect(await store.countActiveAdminKeys()).toBe(1);
      expect(await store.createFirstApiKey({ ...again, id: newId('apiKey'), hash: 'hash-other' })).toBe(false);
    });

    /** n deliveries to `ep`, each failed for good (the automatic schedule gave up on it). */
    async function failedDeliveries(ep: string, n: number, createdAt = t0): Promise<string[]> {
      const published = await store.publish(Array.from({ length: n }, () => event({ createdAt })));
      const ids = published.flatMap((p) => p.deliveries);
      const mine = [];
      for (const id of ids) if ((await store.getDelivery(account, id))!.endpointId === ep) mine.push(id);
      const claims = new Map(
        (await store.claimDueDeliveries({ now: createdAt, limit: 1000, leaseMs: 1 })).map((c) => [
          c.delivery.id,
          c.claim,
        ]),
      );
      await store.recordAttempts(
        mine.map((id) => failed(id, 1, null, claims.get(id))),
        createdAt + 1,
      );
      return mine;
    }

    it('writes a bulk retry job with a fixed set of failed deliveries matching its filter', async () => {
      const a = await store.createEndpoint(endpoint({ eventTypes: ['sync.completed'] }));
      const b = await store.createEndpoint(endpoint({ eventTypes: ['sync.completed'] }));
      const early = await failedDeliveries(a.id, 2, t0);
      const late = await failedDeliveries(a.id, 3, t0 + 60_000);
      await failedDeliveries(b.id, 1, t0);
      await store.publish([event()]); // two pending deliveries: not failed, not taken

      const all = await store.createBulkRetryJob({
        id: 'job_all',
        accountId: account,
        filter: {},
        params: {},
        createdAt: t0,
      });
      expect(all).toMatchObject({ kind: 'bulk_retry', state: 'running', total: 6, succeeded: 0, failed: 0 });
      const onA = await store.createBulkRetryJob({
        id: 'job_a',
        accountId: account,
        filter: { endpointId: a.id, since: t0 + 1, until: t0 + 120_000 },
        params: { endpoint_id: a.id },
        createdAt: t0,
      });
      expect(onA.total).toBe(3);
      expect(onA.params).toEqual({ endpoint_id: a.id });
      const items = await store.takeOpenJobItems('job_a', '', 100, t0 + 5);
      expect(items.map((i) => i.deliveryId).sort()).toEqual([...late].sort());
      expect(items.every((i) => i.startedAt === null && i.deliveryStatus === 'failed' && !i.endpointDeleted)).toBe(
        true,
      );
      expect(early).toHaveLength(2);

      // Nothing failed in range: created completed, with nothing to do.
      const none = await store.createBulkRetryJob({
        id: 'job_none',
        accountId: account,
        filter: { until: t0 },
        params: {},
        createdAt: t0 + 7,
      });
      expect(none).toMatchObject({ state: 'completed', total: 0, finishedAt: t0 + 7 });
      expect(await store.getJob(other, 'job_all')).toBeUndefined();
      // A deleted endpoint's failed deliveries are not taken.
      await store.deleteEndpoint(account, b.id, t0);
      const afterDelete = await store.createBulkRetryJob({
        id: 'job_x',
        accountId: account,
        filter: {},
        params: {},
        createdAt: t0,
      });
      expect(afterDelete.total).toBe(5);
    });

    it('pages a job’s open items, remembers who took them, and counts each outcome once', async () => {
      const ep = await store.createEndpoint(endpoint());
      await failedDeliveries(ep.id, 5);
      await store.createBulkRetryJob({ id: 'job_1', accountId: account, filter: {}, params: {}, createdAt: t0 });
      const first = await store.takeOpenJobItems('job_1', '', 3, t0 + 10);
      expect(first).toHaveLength(3);
      const rest = await store.takeOpenJobItems('job_1', first[2]!.deliveryId, 3, t0 + 11);
      expect(rest).toHaveLength(2);
      // Taken again (a runner died): startedAt says when they were first taken.
      const again = await store.takeOpenJobItems('job_1', '', 10, t0 + 20);
      expect(again.map((i) => i.startedAt)).toEqual([t0 + 10, t0 + 10, t0 + 10, t0 + 11, t0 + 11]);

      const ids = again.map((i) => i.deliveryId);
      await store.recordJobItemOutcomes(
        [
          { jobId: 'job_1', deliveryId: ids[0]!, outcome: 'succeeded' },
          { jobId: 'job_1', deliveryId: ids[1]!, outcome: 'failed' },
        ],
        t0 + 30,
      );
      // The same item twice (a second runner): counted once, the first outcome stays.
      await store.recordJobItemOutcomes([{ jobId: 'job_1', deliveryId: ids[1]!, outcome: 'succeeded' }], t0 + 31);
      expect(await store.getJob(account, 'job_1')).toMatchObject({ state: 'running', succeeded: 1, failed: 1 });
      expect((await store.takeOpenJobItems('job_1', '', 10, t0 + 32)).map((i) => i.deliveryId)).toEqual(ids.slice(2));

      await store.recordJobItemOutcomes(
        ids.slice(2).map((deliveryId) => ({ jobId: 'job_1', deliveryId, outcome: 'succeeded' as const })),
        t0 + 40,
      );
      expect(await store.getJob(account, 'job_1')).toMatchObject({
        state: 'completed',
        total: 5,
        succeeded: 4,
        failed: 1,
        finishedAt: t0 + 40,
      });
      expect(await store.takeOpenJobItems('job_1', '', 10, t0 + 41)).toEqual([]);
    });

    it('leases a running job to one runner at a time, and to another after the lease ends', async () => {
      const ep = await store.createEndpoint(endpoint());
      await failedDeliveries(ep.id, 1);
      await store.createBulkRetryJob({ id: 'job_l', accountId: account, filter: {}, params: {}, createdAt: t0 });
      const held = await store.claimRunningJob({ now: t0, leaseMs: 1000, owner: 'runner_a' });
      expect(held).toMatchObject({ id: 'job_l', total: 1 });
      expect(await store.claimRunningJob({ now: t0 + 999, leaseMs: 1000, owner: 'runner_b' })).toBeUndefined();
      expect(await store.renewJobLease('job_l', 'runner_a', t0 + 2000)).toBe(true);
      expect(await store.claimRunningJob({ now: t0 + 1500, leaseMs: 1000, owner: 'runner_b' })).toBeUndefined();
      // runner_a died: after its lease, runner_b takes the job over, and runner_a can no longer renew.
      expect(await store.claimRunningJob({ now: t0 + 2000, leaseMs: 1000, owner: 'runner_b' })).toMatchObject({
        id: 'job_l',
      });
      expect(await store.renewJobLease('job_l', 'runner_a', t0 + 5000)).toBe(false);
      await store.releaseJobLease('job_l', 'runner_a'); // not its lease: no effect
      expect(await store.claimRunningJob({ now: t0 + 2500, leaseMs: 1000, owner: 'runner_c' })).toBeUndefined();
      await store.releaseJobLease('job_l', 'runner_b');
      expect(await store.claimRunningJob({ now: t0 + 2500, leaseMs: 1000, owner: 'runner_c' })).toMatchObject({
        id: 'job_l',
      });
      // A completed job is never claimed.
      const [item] = await store.takeOpenJobItems('job_l', '', 10, t0 + 3000);
      await store.recordJobItemOutcomes(
        [{ jobId: 'job_l', deliveryId: item!.deliveryId, outcome: 'succeeded' }],
        t0 + 3001,
      );
      expect(await store.claimRunningJob({ now: t0 + 99_000, leaseMs: 1000, owner: 'runner_d' })).toBeUndefined();
    });

    it('moves a connection’s sync status with each report', async () => {
      const report = (status: 'started' | 'completed' | 'failed', at: number, more: object = {}) => ({
        accountId: account,
        connectionId: 'con_A',
        status,
        error: null,
        at,
        ...more,
      });
      expect(await store.getConnection(account, 'con_A')).toBeUndefined();
      const started = await store.recordConnectionSync(report('started', t0, { nextScheduledAt: t0 + 3_600_000 }));
      expect(started).toMatchObject({
        id: 'con_A',
        status: 'started',
        lastSuccessfulSyncAt: null,
        lastError: null,
        nextScheduledSyncAt: t0 + 3_600_000,
        syncStartedAt: t0,
        createdAt: t0,
      });
      const failedSync = await store.recordConnectionSync(report('failed', t0 + 10, { error: 'token expired' }));
      expect(failedSync).toMatchObject({
        status: 'failed',
        lastError: 'token expired',
        nextScheduledSyncAt: t0 + 3_600_000,
      });
      const completed = await store.recordConnectionSync(report('completed', t0 + 20, { nextScheduledAt: null }));
      expect(completed).toMatchObject({
        status: 'completed',
        lastSuccessfulSyncAt: t0 + 20,
        lastError: null,
        nextScheduledSyncAt: null,
        syncStartedAt: t0,
        createdAt: t0,
        updatedAt: t0 + 20,
      });
      expect(await store.getConnection(other, 'con_A')).toBeUndefined();
      expect(await store.getConnection(account, 'con_A')).toEqual(completed);
    });

    it('applies a sync report carried by a publish in the same transaction, and not on a replay', async () => {
      const sync = {
        accountId: account,
        connectionId: 'con_B',
        status: 'completed' as const,
        error: null,
        nextScheduledAt: t0 + 60_000,
        at: t0,
      };
      const idempotency = { key: 'k1', requestHash: 'h', expiresAt: t0 + 86_400_000 };
      const [first] = await store.publish([event({ connectionId: 'con_B', connectionSync: sync, idempotency })]);
      expect(await store.getConnection(account, 'con_B')).toMatchObject({
        status: 'completed',
        lastSuccessfulSyncAt: t0,
      });
      const [replay] = await store.publish([
        event({
          connectionId: 'con_B',
          connectionSync: { ...sync, status: 'failed', error: 'x', at: t0 + 5 },
          idempotency,
        }),
      ]);
      expect(replay).toMatchObject({ id: first!.id, idempotency: 'replayed' });
      expect(await store.getConnection(account, 'con_B')).toMatchObject({ status: 'completed', lastError: null });
    });

    it('writes an eventless publish (a `started` report) as its status and its key only, and replays it', async () => {
      await store.createEndpoint(newEndpoint({ accountId: account, url: 'https://example.com/started' }));
      const sync: ConnectionSyncReport = {
        accountId: account,
        connectionId: 'con_S',
        status: 'started',
        error: null,
        at: t0,
      };
      const idempotency = { key: 'k-started', requestHash: 'h', expiresAt: t0 + 86_400_000 };
      const before = await store.listEvents(account, { limit: 250 });
      const [first] = await store.publish([
        event({ connectionId: 'con_S', connectionSync: sync, idempotency, eventless: true }),
      ]);
      expect(first).toMatchObject({ deliveries: [] });
      expect(first?.idempotency).toBeUndefined();
      expect(await store.getConnection(account, 'con_S')).toMatchObject({ status: 'started', syncStartedAt: t0 });
      expect((await store.listEvents(account, { limit: 250 })).data).toHaveLength(before.data.length);
      const [replay] = await store.publish([
        event({ connectionId: 'con_S', connectionSync: { ...sync, at: t0 + 9 }, idempotency, eventless: true }),
      ]);
      expect(replay).toMatchObject({ idempotency: 'replayed' });
      expect(await store.getConnection(account, 'con_S')).toMatchObject({ syncStartedAt: t0 });
    });

    it('lists an account’s connections by id with a cursor', async () => {
      for (const id of ['con_3', 'con_1', 'con_2']) {
        await store.recordConnectionSync({
          accountId: account,
          connectionId: id,
          status: 'started',
          error: null,
          at: t0,
        });
      }
      await store.recordConnectionSync({
        accountId: other,
        connectionId: 'con_0',
        status: 'started',
        error: null,
        at: t0,
      });
      const first = await store.listConnections(account, { limit: 2 });
      expect(first.data.map((c) => c.id)).toEqual(['con_1', 'con_2']);
      const second = await store.listConnections(account, { cursor: first.nextCursor ?? undefined, limit: 2 });
      expect(second.data.map((c) => c.id)).toEqual(['con_3']);
      expect(second.nextCursor).toBeNull();
    });
    it('keeps when an endpoint began failing: set by the first failure, cleared by a success and by re-enabling', async () => {
      const ep = await store.createEndpoint(endpoint());
      expect(ep.failingSince).toBeNull();
      const ids = (await store.publish([event(), event(), event()])).flatMap((p) => p.deliveries);
      const ok = (deliveryId: string, startedAt: number): AttemptOutcome => {
        const o = failed(deliveryId, 1, null);
        return { ...o, attempt: { ...o.attempt, startedAt, error: null, responseStatus: 200 }, status: 'succeeded' };
      };
      const fail = (deliveryId: string, startedAt: number): AttemptOutcome => {
        const o = failed(deliveryId, 1, startedAt + 30_000);
        return { ...o, attempt: { ...o.attempt, startedAt } };
      };
      await store.recordAttempts([fail(ids[0]!, t0 + 10)], t0 + 11);
      expect((await store.getEndpoint(account, ep.id))!.failingSince).toBe(t0 + 10);
      await store.recordAttempts([fail(ids[1]!, t0 + 20)], t0 + 21);
      expect((await store.getEndpoint(account, ep.id))!.failingSince).toBe(t0 + 10);
      // In one batch, in order: a success, then a failure: failing since that failure.
      await store.recordAttempts([ok(ids[0]!, t0 + 30), fail(ids[2]!, t0 + 40)], t0 + 41);
      expect((await store.getEndpoint(account, ep.id))!.failingSince).toBe(t0 + 40);
      // A failure, then a success: not failing.
      await store.recordAttempts([fail(ids[1]!, t0 + 50), ok(ids[2]!, t0 + 60)], t0 + 61);
      expect((await store.getEndpoint(account, ep.id))!.failingSince).toBeNull();

      await store.recordAttempts([fail(ids[1]!, t0 + 70)], t0 + 71);
      expect((await store.listFailingEndpoints(t0 + 69)).map((e) => e.id)).toEqual([]);
      expect((await store.listFailingEndpoints(t0 + 70)).map((e) => e.id)).toEqual([ep.id]);
      // Only while still failing since then; and once: the second caller gets nothing.
      expect(
        await store.disableEndpoint(account, ep.id, { reason: 'x', at: t0 + 80, failingSinceAtOrBefore: t0 + 69 }),
      ).toBeUndefined();
      const disabled = await store.disableEndpoint(account, ep.id, {
        reason: 'failing',
        at: t0 + 80,
        failingSinceAtOrBefore: t0 + 70,
      });
      expect(disabled).toMatchObject({ id: ep.id, disabled: true, disabledReason: 'failing' });
      expect(await store.disableEndpoint(account, ep.id, { reason: 'failing', at: t0 + 81 })).toBeUndefined();
      expect(await store.disableEndpoint(other, ep.id, { reason: 'gone', at: t0 + 81 })).toBeUndefined();
      expect(await store.listFailingEndpoints(t0 + 1000)).toEqual([]);

      const enabled = await store.updateEndpoint(account, ep.id, { disabled: false, disabledReason: null }, t0 + 90);
      expect(enabled).toMatchObject({ disabled: false, failingSince: null });
    });

    it('publishes the event of a disable or an alert in the same transaction, and only when the write took effect', async () => {
      const ep = await store.createEndpoint(endpoint());
      const listener = await store.createEndpoint(endpoint({ eventTypes: ['endpoint.disabled', 'alert.triggered'] }));
      const operational = (type: string, n: number) => event({ type, connectionId: null, data: { n } });
      const types = async () =>
        (await store.listEvents(account, { limit: 100 })).data.map((e) => `${e.type} ${JSON.stringify(e.data)}`);

      expect(
        await store.disableEndpoint(account, ep.id, {
          reason: 'gone',
          at: t0 + 1,
          event: operational('endpoint.disabled', 1),
        }),
      ).toMatchObject({ disabled: true });
      expect(
        await store.disableEndpoint(account, ep.id, {
          reason: 'gone',
          at: t0 + 2,
          event: operational('endpoint.disabled', 2),
        }),
      ).toBeUndefined();
      const alert = {
        accountId: account,
        key: 'delivery_backlog',
        kind: 'delivery_backlog',
        endpointId: null,
        value: 400,
        threshold: 300,
        openedAt: t0,
      } satisfies AlertRecord;
      expect(await store.openAlert(alert, operational('alert.triggered', 3))).toBe(true);
      expect(await store.openAlert(alert, operational('alert.triggered', 4))).toBe(false);
      expect(await store.closeAlert(account, alert.key, operational('alert.triggered', 5))).toBe(true);
      expect(await store.closeAlert(account, alert.key, operational('alert.triggered', 6))).toBe(false);

      expect(await types()).toEqual([
        'endpoint.disabled {"n":1}',
        'alert.triggered {"n":3}',
        'alert.triggered {"n":5}',
      ]);
      // Published like any event: in the feed, and fanned out to the endpoint that listens for them.
      const stream = await store.listEndpointStream(account, listener.id, 0, 10);
      expect(stream.map((r) => [r.delivery.sequence, r.event.type])).toEqual([
        [1, 'endpoint.disabled'],
        [2, 'alert.triggered'],
        [3, 'alert.triggered'],
      ]);
    });

    it('reads the pending count, the oldest due delivery and the last attempt', async () => {
      expect(await healthOf(store, t0)).toEqual({ pending: 0, oldestDueAt: null, lastAttemptAt: null });
      const ep = await store.createEndpoint(endpoint());
      const off = await store.createEndpoint(endpoint({ accountId: other }));
      await store.publish([event({ createdAt: t0 - 5000 })]);
      await store.publish([event({ createdAt: t0 - 1000 }), event({ accountId: other, createdAt: t0 - 9000 })]);
      await store.updateEndpoint(other, off.id, { disabled: true }, t0);
      // The disabled endpoint's delivery is pending but not due for anyone.
      expect(await healthOf(store, t0)).toEqual({ pending: 3, oldestDueAt: t0 - 5000, lastAttemptAt: null });
      expect(await store.overdueByAccount(t0 - 2000)).toEqual([{ accountId: account, oldestDueAt: t0 - 5000 }]);
      expect(await store.overdueByAccount(t0 - 6000)).toEqual([]);

      const [claimed] = await store.claimDueDeliveries({ now: t0, limit: 1, leaseMs: 60_000 });
      expect(claimed!.endpoint.id).toBe(ep.id);
      // Claimed: due again only when the lease ends.
      expect((await store.deliveryHealth(t0)).oldestDueAt).toBe(t0 - 1000);
      const attempt = failed(claimed!.delivery.id, 1, t0 + 30_000, claimed!.claim);
      await store.recordAttempts([{ ...attempt, attempt: { ...attempt.attempt, startedAt: t0 + 3 } }], t0 + 4);
      expect(await healthOf(store, t0 + 5)).toEqual({ pending: 3, oldestDueAt: t0 - 1000, lastAttemptAt: t0 + 3 });
      expect(await store.endpointAttemptCounts(t0)).toEqual([
        { accountId: account, endpointId: ep.id, attempts: 1, failures: 1 },
      ]);
      expect(await store.endpointAttemptCounts(t0 + 4)).toEqual([]);
    });

    it('opens an alert once and closes it once', async () => {
      const alert = {
        accountId: account,
        key: 'delivery_backlog',
        kind: 'delivery_backlog' as const,
        endpointId: null,
        value: 400.5,
        threshold: 300,
        openedAt: t0,
      };
      expect(await store.openAlert(alert)).toBe(true);
      expect(await store.openAlert({ ...alert, value: 999 })).toBe(false);
      expect(await store.listOpenAlerts()).toEqual([alert]);
      expect(await store.closeAlert(other, 'delivery_backlog')).toBe(false);
      expect(await store.closeAlert(account, 'delivery_backlog')).toBe(true);
      expect(await store.closeAlert(account, 'delivery_backlog')).toBe(false);
      expect(await store.listOpenAlerts()).toEqual([]);
    });

    it('lists alerts newest first past 2,000: the open ones, those resolved since a time, each page in turn', async () => {
      const alert = (i: number): AlertRecord => ({
        accountId: account,
        key: `endpoint_failure_rate:ep_${i}`,
        kind: 'endpoint_failure_rate',
        endpointId: `ep_${i}`,
        value: 0.75,
        threshold: 0.5,
        openedAt: t0 + i,
        message: `alert ${i}`,
        details: { attempts: 12, failures: 9 },
      });
      const resolving = (at: number) => event({ type: 'alert.triggered', connectionId: null, createdAt: at });
      for (let i = 0; i < 2_100; i++) expect(await store.openAlert(alert(i))).toBe(true);
      await store.openAlert({ ...alert(5_000), accountId: other });
      // 0–9 resolved in the window, 10–19 before it; 0 fires again.
      for (let i = 0; i < 20; i++) {
        await store.closeAlert(account, alert(i).key, resolving(t0 + (i < 10 ? 10_000 : 5_000)));
      }
      expect(await store.openAlert({ ...alert(0), openedAt: t0 + 20_000 })).toBe(true);

      const all = async (state?: 'open' | 'resolved') => {
        const seen: AlertEntry[] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await store.listAlerts(account, { state, resolvedSince: t0 + 8_000, cursor, limit: 250 });
          seen.push(...page.data);
          if (!page.nextCursor) return seen;
          cursor = page.nextCursor;
        }
      };
      const listed = await all();
      expect(listed).toHaveLength(2_080 + 1 + 10);
      expect(new Set(listed.map((a) => a.id)).size).toBe(listed.length);
      expect(listed.map((a) => a.openedAt)).toEqual([...listed.map((a) => a.openedAt)].sort((a, b) => b - a));
      expect(listed[0]).toMatchObject({ key: alert(0).key, openedAt: t0 + 20_000, resolvedAt: null });
      expect(listed[1]).toEqual({ ...alert(2_099), id: expect.stringMatching(/^alrt_/), resolvedAt: null });
      expect(listed.at(-1)).toMatchObject({ key: alert(0).key, openedAt: t0, resolvedAt: t0 + 10_000 });

      const open = await all('open');
      expect(open).toHaveLength(2_081);
      expect(open.every((a) => a.resolvedAt === null)).toBe(true);
      const resolved = await all('resolved');
      expect(resolved.map((a) => a.openedAt)).toEqual(Array.from({ length: 10 }, (_, i) => t0 + 9 - i));
      expect(resolved.every((a) => a.resolvedAt === t0 + 10_000)).toBe(true);
      // Another account's alerts, and its cursors, read nothing here.
      const theirs = await store.listAlerts(other, { resolvedSince: 0, limit: 10 });
      expect(theirs.data.map((a) => a.endpointId)).toEqual(['ep_5000']);
      expect(await store.listAlerts(account, { resolvedSince: 0, cursor: theirs.data[0]?.id, limit: 10 })).toEqual({
        data: [],
        nextCursor: null,
      });
    });

    it("reads an account's oldest due delivery past 2,000 pending, and its failing and disabled endpoint counts", async () => {
      expect(await store.accountHealth(account, t0)).toEqual({
        oldestDue: null,
        failingEndpoints: 0,
        disabledEndpoints: 0,
      });
      // An older delivery of an endpoint disabled since, and another account's, do not count.
      const off = await store.createEndpoint(endpoint());
      await store.publish([event({ createdAt: t0 - 2_000_000 })]);
      await store.updateEndpoint(account, off.id, { disabled: true }, t0);
      const theirs = await store.createEndpoint(endpoint({ accountId: other }));
      await store.publish([event({ accountId: other, createdAt: t0 - 3_000_000 })]);
      // 2,100 due deliveries, oldest first.
      const ep = await store.createEndpoint(endpoint());
      for (let batch = 0; batch < 7; batch++) {
        await store.publish(
          Array.from({ length: 300 }, (_, i) => event({ createdAt: t0 - 1_000_000 + (batch * 300 + i) * 10 })),
        );
      }
      const health = await store.accountHealth(account, t0);
      const oldest = await store.getDelivery(account, health.oldestDue?.deliveryId ?? '');
      expect(oldest).toMatchObject({ endpointId: ep.id, createdAt: t0 - 1_000_000 });
      expect(health).toEqual({
        oldestDue: { deliveryId: oldest?.id, dueAt: t0 - 1_000_000 },
        failingEndpoints: 0,
        disabledEndpoints: 1,
      });
      // Not yet due at that time: none.
      expect((await store.accountHealth(account, t0 - 1_000_001)).oldestDue).toBeNull();

      // A failed attempt starts a run of failures; deleting the disabled endpoint stops counting it.
      const [first] = await store.claimDueDeliveries({
        now: t0,
        limit: 1,
        leaseMs: 60_000,
        excludeEndpointIds: [off.id, theirs.id],
      });
      expect(first?.endpoint.id).toBe(ep.id);
      const attempt = failed(first!.delivery.id, 1, t0 + 60_000, first!.claim);
      await store.recordAttempts([attempt], t0);
      await store.deleteEndpoint(account, off.id, t0);
      expect(await store.accountHealth(account, t0)).toMatchObject({ failingEndpoints: 1, disabledEndpoints: 0 });
    });

    it("leaves a disabled endpoint's waiting deliveries and an open circuit's out of the account's oldest due", async () => {
      const held = await store.createEndpoint(endpoint());
      await store.publish([event({ createdAt: t0 - 500_000 })]);
      const [probe] = await store.claimDueDeliveries({ now: t0 - 400_000, limit: 1, leaseMs: 60_000 });
      expect(probe?.endpoint.id).toBe(held.id);
      // The circuit opens while an attempt is out; its outcome schedules a retry due long before t0.
      expect(await store.openCircuit(held.id, { at: t0 - 390_000, probeAt: t0 + 600_000 })).toBe(true);
      await store.recordAttempts([failed(probe!.delivery.id, 1, t0 - 300_000, probe!.claim)], t0 - 390_000);
      expect(await store.getDelivery(account, probe!.delivery.id)).toMatchObject({ nextAttemptAt: t0 - 300_000 });
      // Published while the circuit is open: it waits (next_attempt_at null).
      await store.publish([event({ createdAt: t0 - 200_000 })]);
      const ep = await store.createEndpoint(endpoint());
      await store.publish([event({ createdAt: t0 - 100_000 })]);
      const health = await store.accountHealth(account, t0);
      expect(health.oldestDue?.dueAt).toBe(t0 - 100_000);
      expect(await store.getDelivery(account, health.oldestDue?.deliveryId ?? '')).toMatchObject({ endpointId: ep.id });
    });

    it('purges old payloads and response bodies and keeps the metadata', async () => {
      await store.createEndpoint(endpoint());
      const [old] = await store.publish([event({ createdAt: t0 - 10_000, data: { card: '4242' } })]);
      const [fresh] = await store.publish([event({ createdAt: t0, data: { card: '1111' } })]);
      const oldAttempt = failed(old!.deliveries[0]!, 1, t0);
      await store.recordAttempts([{ ...oldAttempt, attempt: { ...oldAttempt.attempt, startedAt: t0 - 9_000 } }], t0);
      await store.recordAttempts([failed(fresh!.deliveries[0]!, 1, t0 + 30_000)], t0);

      expect(await store.purgeBefore(t0 - 1, 100)).toEqual({ events: 1, attempts: 1 });
      expect(await store.purgeBefore(t0 - 1, 100)).toEqual({ events: 0, attempts: 0 });
      expect(await store.getEvent(account, old!.id)).toMatchObject({ type: 'sync.completed', data: null });
      expect((await store.getEvent(account, fresh!.id))!.data).toEqual({ card: '1111' });
      const [purged] = await store.listAttempts(old!.deliveries[0]!);
      expect(purged).toMatchObject({ responseBody: null, responseStatus: 500, error: 'http_status' });
      expect((await store.listAttempts(fresh!.deliveries[0]!))[0]!.responseBody).toBe('boom');
    });

    it('purges expired idempotency keys, oldest first, in batches', async () => {
      const keyed = (key: string, expiresAt: number) =>
        event({ idempotency: { key, requestHash: `hash-${key}`, expiresAt } });
      await store.publish([keyed('k1', t0 + 1_000), keyed('k2', t0 + 2_000), keyed('k3', t0 + 3_000)]);
      await store.publish([{ ...keyed('k4', t0 + 9_000), accountId: other }]);
      expect(await store.purgeExpiredIdempotencyKeys(t0 + 999, 10)).toBe(0);
      expect(await store.purgeExpiredIdempotencyKeys(t0 + 2_000, 1)).toBe(1);
      expect(await store.purgeExpiredIdempotencyKeys(t0 + 2_000, 10)).toBe(1);
      expect(await store.purgeExpiredIdempotencyKeys(t0 + 2_000, 10)).toBe(0);
      // A key not yet expired still answers its first publish.
      const [replay] = await store.publish([{ ...keyed('k3', t0 + 90_000), createdAt: t0 + 2_000 }]);
      expect(replay!.idempotency).toBe('replayed');
      expect(await store.purgeExpiredIdempotencyKeys(t0 + 10_000, 10)).toBe(2);
    });

    it('purges alerts resolved before a time from the history, in batches, and keeps open ones', async () => {
      const alert = (i: number, openedAt: number): AlertRecord => ({
        accountId: i === 3 ? other : account,
        key: `endpoint_failure_rate:ep_${i}`,
        kind: 'endpoint_failure_rate',
        endpointId: `ep_${i}`,
        value: 0.75,
        threshold: 0.5,
        openedAt,
      });
      const resolvedAt = (at: number) => event({ type: 'alert.triggered', connectionId: null, createdAt: at });
      // 0, 1 and 3 (another account) resolved long ago; 2 resolved recently; 4 opened long ago, still open.
      for (const i of [0, 1, 2, 3, 4]) expect(await store.openAlert(alert(i, t0 - 100_000))).toBe(true);
      for (const i of [0, 1, 3])
        await store.closeAlert(i === 3 ? other : account, `endpoint_failure_rate:ep_${i}`, resolvedAt(t0 - 50_000));
      await store.closeAlert(account, 'endpoint_failure_rate:ep_2', resolvedAt(t0));

      expect(await store.purgeResolvedAlerts(t0 - 1, 2)).toBe(2);
      expect(await store.purgeResolvedAlerts(t0 - 1, 2)).toBe(1);
      expect(await store.purgeResolvedAlerts(t0 - 1, 2)).toBe(0);
      const left = await store.listAlerts(account, { resolvedSince: 0, limit: 10 });
      expect(left.data.map((a) => a.endpointId).sort()).toEqual(['ep_2', 'ep_4']);
    });

    it('reads back secrets as they were written, through a rotation', async () => {
      const ep = await store.createEndpoint(endpoint());
      const next = 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
      const rotated = await store.updateEndpoint(
        account,
        ep.id,
        { secret: next, previousSecret: ep.secret, previousSecretExpiresAt: t0 + 1 },
        t0,
      );
      expect(rotated).toMatchObject({ secret: next, previousSecret: ep.secret });
      await store.publish([event()]);
      const [claimed] = await store.claimDueDeliveries({ now: t0, limit: 1, leaseMs: 1 });
      expect(claimed!.endpoint).toMatchObject({ secret: next, previousSecret: ep.secret });
    });

    describe('tenants', () => {
      async function tenants(...ids: string[]) {
        for (const id of ids) await store.putTenant({ accountId: account, id, name: id, metadata: {}, at: t0 });
      }

      it('creates a tenant, then updates it, and lists an account’s tenants by id with a cursor', async () => {
        const made = await store.putTenant({
          accountId: account,
          id: 'b',
          name: 'B',
          metadata: { plan: 'pro' },
          at: t0,
        });
        expect(made).toMatchObject({ created: true, tenant: { id: 'b', name: 'B', metadata: { plan: 'pro' } } });
        const again = await store.putTenant({ accountId: account, id: 'b', name: 'B2', metadata: {}, at: t0 + 5 });
        expect(again).toMatchObject({
          created: false,
          tenant: { name: 'B2', metadata: {}, createdAt: t0, updatedAt: t0 + 5 },
        });
        await store.putTenant({ accountId: account, id: 'a', name: 'A', metadata: {}, at: t0 });
        await store.putTenant({ accountId: other, id: 'c', name: 'C', metadata: {}, at: t0 });
        const first = await store.listTenants(account, { limit: 1 });
        expect(first.data.map((t) => t.id)).toEqual(['a']);
        const rest = await store.listTenants(account, { limit: 5, cursor: first.nextCursor ?? '' });
        expect(rest).toMatchObject({ data: [{ id: 'b' }], nextCursor: null });
        expect(await store.getTenant(other, 'b')).toBeUndefined();
      });

      it('fans an event out to its tenant’s endpoints only, a tenant-less one to tenant-less endpoints only', async () => {
        await tenants('a', 'b');
        const ofA = await store.createEndpoint(endpoint({ tenantId: 'a' }));
        const ofB = await store.createEndpoint(endpoint({ tenantId: 'b' }));
        const own = await store.createEndpoint(endpoint());
        expect([ofA.tenantId, ofB.tenantId, own.tenantId]).toEqual(['a', 'b', null]);
        const [forA, forNone] = await store.publish([event({ tenantId: 'a' }), event()]);
        const toA = await store.listDeliveriesOfEvent(account, forA!.id);
        expect(toA.map((d) => [d.endpointId, d.tenantId])).toEqual([[ofA.id, 'a']]);
        expect((await store.getEvent(account, forA!.id))!.tenantId).toBe('a');
        const toNone = await store.listDeliveriesOfEvent(account, forNone!.id);
        expect(toNone.map((d) => [d.endpointId, d.tenantId])).toEqual([[own.id, null]]);
        // A test event goes to its one endpoint, whatever its event_types.
        const picky = await store.createEndpoint(endpoint({ tenantId: 'a', eventTypes: ['only.this'] }));
        const [test] = await store.publish([event({ tenantId: 'a', type: 'herald.test', onlyEndpointId: picky.id })]);
        expect((await store.listDeliveriesOfEvent(account, test!.id)).map((d) => d.endpointId)).toEqual([picky.id]);
      });

      it('narrows every list to one tenant', async () => {
        await tenants('a', 'b');
        const ofA = await store.createEndpoint(endpoint({ tenantId: 'a' }));
        const ofB = await store.createEndpoint(endpoint({ tenantId: 'b' }));
        await store.createEndpoint(endpoint());
        const [forA, forB] = await store.publish([event({ tenantId: 'a' }), event({ tenantId: 'b' }), event()]);
        await store.recordAttempts([failed(forA!.deliveries[0]!, 1, null), failed(forB!.deliveries[0]!, 1, null)], t0);
        await store.recordConnectionSync({
          accountId: account,
          connectionId: 'con_a',
          status: 'started',
          at: t0,
          error: null,
          tenantId: 'a',
        });
        await store.recordConnectionSync({
          accountId: account,
          connectionId: 'con_x',
          status: 'started',
          at: t0,
          error: null,
        });
        // A later report cannot move a connection to another tenant.
        const kept = await store.recordConnectionSync({
          accountId: account,
          connectionId: 'con_a',
          status: 'completed',
          at: t0 + 1,
          error: null,
          tenantId: 'b',
        });
        expect(kept.tenantId).toBe('a');

        expect((await store.listEndpoints(account, { limit: 10, tenantId: 'a' })).data.map((e) => e.id)).toEqual([
          ofA.id,
        ]);
        expect((await store.listEvents(account, { limit: 10, tenantId: 'b' })).data.map((e) => e.id)).toEqual([
          forB!.id,
        ]);
        expect(
          (await store.listDeliveries(account, { limit: 10, tenantId: 'a' })).data.map((d) => d.endpointId),
        ).toEqual([ofA.id]);
        expect((await store.listConnections(account, { limit: 10, tenantId: 'a' })).data.map((c) => c.id)).toEqual([
          'con_a',
        ]);
        expect((await store.listConnections(account, { limit: 10 })).data).toHaveLength(2);
        // Ids never go back in a process, so the window (an id range) is wide: one bucket holds them all.
        const stats = await store.deliveryStats(account, {
          since: 0,
          until: Date.now() + 3_600_000,
          bucketMs: 1e13,
          tenantId: 'b',
        });
        expect(stats.failedByEndpoint).toEqual([{ endpointId: ofB.id, failed: 1 }]);
        expect(stats.counts).toEqual([{ bucketStart: 0, status: 'failed', count: 1 }]);
        const job = await store.createBulkRetryJob({
          id: 'job_b',
          accountId: account,
          filter: { tenantId: 'b' },
          params: {},
          createdAt: t0,
        });
        expect(job).toMatchObject({ tenantId: 'b', total: 1 });
        expect((await store.takeOpenJobItems('job_b', '', 10, t0)).map((i) => i.deliveryId)).toEqual(forB!.deliveries);
      });

      it('deletes a tenant with its endpoints and sessions: their pending deliveries fail, other tenants stay', async () => {
        await tenants('a', 'b');
        const ofA = await store.createEndpoint(endpoint({ tenantId: 'a' }));
        const ofB = await store.createEndpoint(endpoint({ tenantId: 'b' }));
        const [forA, forB] = await store.publish([event({ tenantId: 'a' }), event({ tenantId: 'b' })]);
        const session = { accountId: account, readOnly: false, createdAt: t0, expiresAt: t0 + 1000 };
        await store.createPortalSession({ ...session, id: 'ps_a', tenantId: 'a', hash: 'aa'.repeat(32) });
        await store.createPortalSession({
          ...session,
          id: 'ps_b',
          tenantId: 'b',
          hash: 'bb'.repeat(32),
          readOnly: true,
        });
        expect(await store.findPortalSessionByHash('bb'.repeat(32))).toMatchObject({
          id: 'ps_b',
          tenantId: 'b',
          readOnly: true,
        });

        expect(await store.deleteTenant(account, 'a', t0 + 9)).toBe(true);
        expect(await store.deleteTenant(account, 'a', t0 + 9)).toBe(false);
        expect(await store.getTenant(account, 'a')).toBeUndefined();
        expect(await store.getEndpoint(account, ofA.id)).toBeUndefined();
        expect(await store.getDelivery(account, forA!.deliveries[0]!)).toMatchObject({
          status: 'failed',
          nextAttemptAt: null,
        });
        expect(await store.findPortalSessionByHash('aa'.repeat(32))).toBeUndefined();
        expect(await store.getEndpoint(account, ofB.id)).toBeDefined();
        expect(await store.getDelivery(account, forB!.deliveries[0]!)).toMatchObject({ status: 'pending' });

        expect(await store.deletePortalSessions(account, 'b')).toBe(1);
        expect(await store.findPortalSessionByHash('bb'.repeat(32))).toBeUndefined();
      });
    });
  });
}
