import { performance } from 'node:perf_hooks';
import { newId } from '@herald/protocol';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { AttemptOutcome, ClaimedDelivery, DeliveryRecord, Store } from '../store/types.js';
import { createAttemptLog } from './attempt-log.js';
import { type CircuitChange, createCircuitBreaker } from './circuit.js';
import { createClaimLoop } from './claim-loop.js';
import { nextDeliveryState, retryPolicyOf } from './delivery-state.js';
import { disableEndpoint } from './endpoint-disabling.js';
import { createEndpointQueue, createLatencies, type EndpointQueue, type Held, nodeTimers } from './endpoint-queue.js';
import { createSender } from './send.js';

/**
 * The dispatcher: claims due deliveries in batches, sends each through its endpoint's queue, records
 * the attempts in batches and lets the state machine (delivery-state.ts) schedule what comes next.
 *
 * A claim leases its deliveries: their next_attempt_at moves to now + config.claimLeaseMs
 * (`--claim-lease`, 60 s). A process killed with -9 while holding them loses nothing: they are due
 * again when the lease ends, and are sent once more (at-least-once; receivers deduplicate on
 * webhook-id). A delivery that waits in a local queue for half its lease is given back instead of
 * sent, so another process that claims it after the lease never sends it at the same time as this one.
 *
 * Each endpoint is sent to by one dispatcher at a time: on PostgreSQL the claim leases the endpoint
 * to this process (store.claimDueDeliveries' claimant) for as long as it has the endpoint's
 * deliveries, so the cap on requests in flight (`--endpoint-concurrency`) and the endpoint's rate
 * limit, enforced here in memory, are the whole fleet's. That holds while the lease is longer than
 * half of it plus the attempt timeout (10 s), as the default 60 s is: every send of a claim has
 * ended before the endpoint's lease from that claim does.
 *
 * When to claim, how many and which endpoints to leave out is the claim loop's decision
 * (claim-loop.ts); what is sent next to an endpoint (its cap, its rate, give-back of stale claims,
 * whether its queue is long) is its queue's (endpoint-queue.ts). This file composes the two: the
 * endpoints' queues, the attempt and its record, and the circuit's writes.
 */
export interface Dispatcher {
  /** Begins the claim loop: claims at once on wake(), and polls as a backstop. */
  start(): void;
  /** Stops claiming, gives back what was claimed but not sent, lets attempts in flight finish and records them. */
  stop(): Promise<void>;
  /** One claim → send → record round; resolves once its attempts are recorded, with how many were made. */
  runOnce(): Promise<number>;
  /**
   * A publish just committed: claim now. `endpointIds`: the endpoints it made deliveries due for;
   * when every one of them would be left out of the claim, there is no claim (ClaimLoop.wake).
   */
  wake(endpointIds?: readonly string[]): void;
  /**
   * One immediate manual attempt, whatever the delivery's status, logged like any other (manual: true).
   * It does not restart the automatic schedule. Resolves with the delivery after the attempt is recorded;
   * undefined when the account has no such delivery.
   */
  attemptNow(accountId: string, deliveryId: string): Promise<DeliveryRecord | undefined>;
  /**
   * inFlight: requests open now; lastAttemptAt: when the last attempt ended; dueCount: deliveries this
   * process has claimed and not yet sent (due, waiting for a slot or a rate token).
   */
  stats(): { inFlight: number; lastAttemptAt: number | null; dueCount: number };
  /**
   * The endpoint was deleted (through this process's API: the endpoint's delete, its tenant's):
   * the deliveries of it that this process claimed and has not sent yet are dropped, not sent, and
   * so are those a claim running meanwhile brings back. Their claims are left as they are: the
   * delete already failed them in the store. Requests in flight finish; their outcomes write no
   * state (the store's fences). Another process that holds some of the endpoint's deliveries (a
   * separate `herald worker`) is not told: it still sends what it holds, at most MAX_HELD
   * (claim-loop.ts), at the endpoint's cap and rate, and only for half the claim lease after their
   * claim (endpoint-queue.ts gives back what waited longer); its next claims bring none of them.
   */
  endpointDeleted(endpointId: string): void;
}

export function createDispatcher(deps: {
  config: Config;
  store: Store;
  logger: Logger;
  /** Counts attempts by outcome, their latency and failures per endpoint. */
  metrics?: Metrics | undefined;
}): Dispatcher {
  const { config, store, logger } = deps;
  const sender = createSender(config);
  const attemptLog = createAttemptLog({ store, clock: config.clock, logger });
  const policy = retryPolicyOf(config);
  const circuits = createCircuitBreaker(config);
  const cap = config.endpointConcurrency;
  const queues = new Map<string, EndpointQueue>();
  const running = new Set<Promise<unknown>>();
  const disabling = new Set<string>();
  /** Claimed deliveries waiting in a queue, and those being sent, by delivery id (for attemptNow). */
  const waitingById = new Map<string, Held>();
  const sendingById = new Map<string, Promise<unknown>>();
  let inFlight = 0;
  let manualInFlight = 0;
  /**
   * Automatic attempts sent and not yet recorded. They stay held (claim-loop.ts, MAX_HELD) until
   * their record commits: their outcomes are in memory and their leases taken, so a store that
   * writes slower than the receivers answer stops the claims instead of filling the memory.
   */
  let recording = 0;
  let lastAttemptAt: number | null = null;
  let stopping = false;
  let stopped: Promise<void> | undefined;

  function queueOf(claimed: ClaimedDelivery): EndpointQueue {
    let queue = queues.get(claimed.endpoint.id);
    if (!queue) {
      const created = createEndpointQueue({
        endpointId: claimed.endpoint.id,
        cap,
        // Half the lease: see the top of this file.
        staleAfterMs: config.claimLeaseMs / 2,
        clock: config.clock,
        rateNow: () => performance.now(),
        timers: nodeTimers,
        onTokenDue: () => drain(created),
      });
      queue = created;
      queues.set(claimed.endpoint.id, queue);
    }
    // The newest claim carries the endpoint as it is now (a PATCH may have changed its limit).
    queue.setRateLimit(claimed.endpoint.rateLimitPerS);
    return queue;
  }

  /** Each endpoint's recent attempt duration (queue.isLong reads it), kept while its queue comes and goes. */
  const latencies = createLatencies();

  function isLong(queue: EndpointQueue): boolean {
    return queue.isLong(latencies.of(queue.endpointId));
  }

  /**
   * Starts as many of the endpoint's waiting deliveries as its queue hands out (its cap and rate
   * allow), and gives back those that waited too long. Nothing while the endpoint's circuit is being
   * opened, nor once the dispatcher is stopping.
   */
  function drain(queue: EndpointQueue): void {
    const stale: Held[] = [];
    while (!stopping && !tripping.has(queue.endpointId)) {
      const step = queue.next();
      if (step.kind === 'none') break;
      const next = step.item;
      const id = next.claimed.delivery.id;
      waitingById.delete(id);
      if (step.kind === 'stale') {
        stale.push(next);
        continue;
      }
      inFlight++;
      const sending = track(
        attempt(next.claimed, false).then(
          () => next.settle(true),
          () => next.settle(true),
        ),
      );
      sendingById.set(id, sending);
      void sending.finally(() => sendingById.delete(id));
    }
    if (stale.length > 0) void track(giveBack(stale));
    if (queue.isIdle()) queues.delete(queue.endpointId);
  }

  async function giveBack(items: Held[]): Promise<void> {
    loop.letGo(items.length);
    try {
      await store.releaseClaims(items.map(claimOf), config.clock.now());
    } catch (error) {
      logger.error({ err: error }, 'giving back claimed deliveries failed; they are due again when their lease ends');
    }
    for (const h of items) h.settle(false);
  }

  /** A release names the claim it gives back: one that has ended since (the lease ran out) gives back nothing. */
  function claimOf(h: Held): { deliveryId: string; claim: string | null } {
    return { deliveryId: h.claimed.delivery.id, claim: h.claimed.claim };
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    running.add(promise);
    // then(remove, remove), not finally(): the chain must not carry a rejection nobody handles
    // (a claim that fails while the database is away would end the process).
    const remove = () => running.delete(promise);
    promise.then(remove, remove);
    return promise;
  }

  /** An automatic attempt's record committed (or failed: the lease brings its delivery back). */
  function recorded(endpointId: string): void {
    recording--;
    loop.attemptEnded(endpointId);
  }

  /** Sends one attempt and records it. Never rejects. */
  async function attempt(claimed: ClaimedDelivery, manual: boolean): Promise<AttemptOutcome | undefined> {
    const { delivery, endpoint } = claimed;
    const sent = await sender.send(claimed);
    const now = config.clock.now();
    const state = nextDeliveryState({
      delivery,
      result: sent,
      manual,
      now,
      random: config.random,
      policy,
    });
    // A person's retry does not move the circuit; the automatic ones do (circuit.ts). Decided before
    // the queue drains: once it trips, not one more of the endpoint's queued deliveries is sent.
    const change = manual ? undefined : circuits.afterAttempt(endpoint, sent.error === null, now);
    if (change?.kind === 'open') tripping.add(endpoint.id);
    const heldBack = change?.kind === 'open' ? takeQueued(endpoint.id) : [];
    if (!manual) {
      // The endpoint's slot is free at once; the delivery stays held until its record commits.
      latencies.record(endpoint.id, sent.durationMs);
      const queue = queues.get(endpoint.id);
      inFlight--;
      recording++;
      if (queue) {
        queue.attemptEnded();
        drain(queue);
      }
    }
    lastAttemptAt = now;
    const outcome: AttemptOutcome = {
      attempt: {
        id: newId('attempt', sent.startedAt),
        deliveryId: delivery.id,
        attemptNo: delivery.attemptCount + 1,
        startedAt: sent.startedAt,
        durationMs: sent.durationMs,
        requestHeaders: sent.requestHeaders,
        responseStatus: sent.responseStatus,
        responseHeaders: sent.responseHeaders,
        responseBody: sent.responseBody,
        error: sent.error,
        manual,
      },
      claim: manual ? null : claimed.claim,
      status: state.status,
      nextAttemptAt: state.nextAttemptAt,
    };
    // The object is built only when it is logged: `herald worker` runs at warn in production setups.
    if (logger.isLevelEnabled('info')) {
      logger.info(
        {
          delivery_id: delivery.id,
          endpoint_id: endpoint.id,
          attempt_no: outcome.attempt.attemptNo,
          response_status: sent.responseStatus,
          error: sent.error,
          duration_ms: sent.durationMs,
          delivery_status: state.status,
          manual,
        },
        'attempt',
      );
    }
    const saved = await attemptLog.record(outcome).then(
      () => true,
      () => false, // logged by the attempt log; the lease brings the delivery back
    );
    if (!manual) recorded(endpoint.id);
    if (!saved) {
      if (heldBack.length > 0) await giveBack(heldBack);
      tripping.delete(endpoint.id);
      return undefined;
    }
    deps.metrics?.attempt({
      endpointId: endpoint.id,
      ok: sent.error === null,
      status: state.status,
      durationMs: sent.durationMs,
    });
    // Observed once per delivery, after its record commits: an attempt whose record failed is made
    // again with attemptCount still 0 and counted then; retries and manual attempts never are.
    if (!manual && delivery.attemptCount === 0) deps.metrics?.deliveryLag(sent.startedAt - delivery.createdAt);
    if (change) await changeCircuit(endpoint.id, change, now, heldBack);
    if (state.disableEndpoint && !disabling.has(endpoint.id)) {
      disabling.add(endpoint.id);
      try {
        if (await disableEndpoint({ store, config }, endpoint, 'gone', config.clock.now())) {
          logger.warn({ endpoint_id: endpoint.id }, 'endpoint answered 410 Gone and was disabled');
        }
      } catch (error) {
        logger.error({ err: error, endpoint_id: endpoint.id }, 'disabling an endpoint that answered 410 failed');
      } finally {
        disabling.delete(endpoint.id);
      }
    }
    return outcome;
  }

  /**
   * Endpoints whose circuit this process decided to open and has not written yet: nothing more of
   * theirs is claimed or sent meanwhile (the attempt is recorded first, which takes a flush).
   */
  const tripping = new Set<string>();

  /** Takes the endpoint's queued (not yet sent) deliveries out of its queue. */
  function takeQueued(endpointId: string): Held[] {
    const taken = queues.get(endpointId)?.takeWaiting() ?? [];
    for (const item of taken) waitingById.delete(item.claimed.delivery.id);
    return taken;
  }

  /**
   * Writes a circuit change. Opening: `heldBack` are the endpoint's queued deliveries (claimed, not
   * sent); the store gives them back in the same transaction, due at their created_at like the rest
   * of the endpoint's backlog (store/circuit-sql.ts), so they are let go of here without a give-back
   * of our own; if the circuit was not opened after all, they are given back as usual.
   */
  async function changeCircuit(
    endpointId: string,
    change: CircuitChange,
    now: number,
    heldBack: Held[],
  ): Promise<void> {
    try {
      if (change.kind === 'open') {
        const opened = await store.openCircuit(endpointId, {
          at: now,
          probeAt: change.probeAt,
          heldBack: heldBack.map(claimOf),
        });
        if (!opened) {
          await giveBack(heldBack);
          return;
        }
        logger.warn(
          { endpoint_id: endpointId, next_probe_at: change.probeAt },
          'endpoint keeps failing: circuit opened',
        );
        loop.letGo(heldBack.length);
        for (const item of heldBack) item.settle(false);
        // Those a claim queued while the circuit was being written (rare: the endpoint was left out
        // of claims from the decision on) are given back, due now; the claim skips them while open.
        const late = takeQueued(endpointId);
        if (late.length > 0) await giveBack(late);
      } else if (change.kind === 'close') {
        if (!(await store.closeCircuit(endpointId, now))) return;
        logger.info({ endpoint_id: endpointId }, 'probe succeeded: circuit closed, the waiting deliveries are due');
        loop.wake();
      } else {
        await store.failCircuitProbe(endpointId, change.probeAt);
      }
    } catch (error) {
      logger.error({ err: error, endpoint_id: endpointId }, 'writing the endpoint circuit failed');
      if (heldBack.length > 0) await giveBack(heldBack);
    } finally {
      if (change.kind === 'open' && tripping.delete(endpointId)) {
        const queue = queues.get(endpointId);
        if (queue) drain(queue);
      }
    }
  }

  /**
   * Endpoints deleted since the last claim came back: a claim that ran while the delete committed may
   * still bring some of their deliveries (it took them first). Ids are never used again, so keeping
   * one a claim longer than needed costs nothing.
   */
  let deletedSinceClaim = new Set<string>();

  /** Queues a claim in the endpoints' queues and starts what they hand out. */
  function queueClaimed(claimed: ClaimedDelivery[], claimedAt: number): Array<Promise<boolean>> {
    const settled: Array<Promise<boolean>> = [];
    const touched = new Map<string, EndpointQueue>();
    const deleted = deletedSinceClaim;
    deletedSinceClaim = new Set();
    for (const c of claimed) {
      if (deleted.has(c.endpoint.id)) {
        loop.letGo(1); // not sent; the delete failed it in the store
        settled.push(Promise.resolve(false));
        continue;
      }
      const queue = queueOf(c);
      settled.push(
        new Promise<boolean>((settle) => {
          const item = { claimed: c, claimedAt, settle };
          queue.add(item);
          waitingById.set(c.delivery.id, item);
        }),
      );
      touched.set(c.endpoint.id, queue);
    }
    for (const queue of touched.values()) drain(queue);
    return settled;
  }

  const loop = createClaimLoop({
    store,
    clock: config.clock,
    leaseMs: config.claimLeaseMs,
    logger,
    track,
    target: {
      // A queue exists while the endpoint has deliveries here (waiting, in flight, or rate-limited).
      endpoints: () => queues.keys(),
      isLong: (endpointId) => {
        const queue = queues.get(endpointId);
        return queue !== undefined && isLong(queue);
      },
      tripping: () => tripping,
      queue: queueClaimed,
    },
  });

  return {
    start() {
      loop.start();
    },

    stop() {
      stopped ??= (async () => {
        stopping = true;
        loop.stop();
        const unsent: Held[] = [];
        for (const queue of queues.values()) unsent.push(...queue.stop());
        waitingById.clear();
        await giveBack(unsent);
        // Attempts in flight end within attemptTimeoutMs; each is recorded before its promise settles.
        while (running.size > 0) await Promise.allSettled([...running]);
        await attemptLog.flush();
        await sender.close();
        try {
          await loop.releaseLeases();
        } catch (error) {
          logger.warn({ err: error }, 'letting go of endpoint leases failed; other workers take them when they end');
        }
      })();
      return stopped;
    },

    async runOnce() {
      const settled = await track(loop.claimBatch());
      const attempted = await Promise.all(settled);
      return attempted.filter(Boolean).length;
    },

    wake(endpointIds) {
      loop.wake(endpointIds);
    },

    async attemptNow(accountId, deliveryId) {
      // The loop may hold this delivery. Waiting in a queue: the manual attempt takes its place, so it
      // is not sent twice. Being sent: that attempt finishes and is recorded first, so the two never
      // race to write the delivery's state (a late automatic failure must not undo a manual success).
      const waiting = waitingById.get(deliveryId);
      const takenOver = waiting !== undefined && waiting.claimed.delivery.accountId === accountId;
      if (takenOver) {
        queues.get(waiting.claimed.endpoint.id)?.remove(waiting);
        waitingById.delete(deliveryId);
        loop.letGo(1);
        waiting.settle(false);
      }
      await sendingById.get(deliveryId);
      const claimed = await store.claimDelivery(accountId, deliveryId);
      if (!claimed) return undefined;
      inFlight++;
      manualInFlight++;
      let outcome: AttemptOutcome | undefined;
      try {
        outcome = await track(attempt(claimed, true));
      } finally {
        inFlight--;
        manualInFlight--;
      }
      // It was due when the loop claimed it: if it is still pending, it is due again now, not at the end of the lease.
      if (takenOver && outcome?.status === 'pending') await store.releaseClaims([claimOf(waiting)], config.clock.now());
      return store.getDelivery(accountId, deliveryId);
    },

    endpointDeleted(endpointId) {
      deletedSinceClaim.add(endpointId);
      const dropped = takeQueued(endpointId);
      loop.letGo(dropped.length);
      for (const item of dropped) item.settle(false);
      const queue = queues.get(endpointId);
      if (queue?.isIdle()) queues.delete(endpointId);
    },

    stats() {
      return { inFlight, lastAttemptAt, dueCount: loop.held - (inFlight - manualInFlight) - recording };
    },
  };
}
