import type { Clock } from '@herald/protocol';
import type { Logger } from 'pino';
import { isEndedLocalOwner, newOwnerId } from '../owner-id.js';
import type { ClaimedDelivery, Store } from '../store/types.js';

/**
 * The claim loop: when this process claims due deliveries, how many, and which endpoints each claim
 * leaves out. It claims
 *
 * - at once on wake() (a publish committed; on PostgreSQL every process's, by LISTEN/NOTIFY), and on
 *   the backstop poll (POLL_MS);
 * - again right after a claim, when the claim came back full or another was asked for while it ran;
 * - again when an attempt ends and there is RECLAIM_ROOM under MAX_HELD, if the last claim was full
 *   or the attempt's endpoint was left out of it and its queue is no longer long;
 * - never more than CLAIM_BATCH at once, nor past MAX_HELD held by the whole process.
 *
 * It leaves out of a claim the endpoints whose local queue is long and those whose circuit is being
 * opened; it holds the process's endpoint leases (PostgreSQL: one claimant per endpoint), lets go of
 * each once the process has none of its deliveries, and before its first claim lets go of those of
 * dead dispatchers on this host. The endpoints' queues are the dispatcher's (dispatcher.ts): the loop
 * reads them and hands them what it claimed, through ClaimTarget. Its store, clock and poll timer are
 * handed in: tests drive it with the manual clock and a fake of the store's claim calls.
 */
export interface ClaimLoop {
  /** Begins polling and claims at once. */
  start(): void;
  /**
   * Claims now (a publish committed, a circuit closed), if the loop has started. `endpointIds`: the
   * endpoints the publish made deliveries due for; when the claim would leave out every one of them
   * (long queue, circuit being opened), nothing is claimed and they count as left out, so an attempt
   * of theirs claims once their queue is short again.
   */
  wake(endpointIds?: readonly string[]): void;
  /** Stops polling and claiming; a claim still running gives back what it gets. */
  stop(): void;
  /** One claim: queues it and resolves with one promise per claimed delivery (true: attempted). */
  claimBatch(): Promise<Array<Promise<boolean>>>;
  /** An automatic attempt of the endpoint was recorded: its delivery is no longer held; claims again if it should. */
  attemptEnded(endpointId: string): void;
  /** Held deliveries that left the process without an automatic attempt (given back, taken over, held back). */
  letGo(count: number): void;
  /** Deliveries this process holds, queued and in flight together. */
  readonly held: number;
  /** Lets go of every endpoint lease of this loop's claimant (stop, once its attempts have ended). */
  releaseLeases(): Promise<void>;
}

/**
 * Deliveries taken per claim: one transaction each, so larger batches cost fewer commits. A chosen
 * value, not measured against others: a quarter of MAX_HELD, so a process that is empty fills in
 * four claims; a larger batch holds its transaction (on SQLite, the store's one thread) longer.
 */
export const CLAIM_BATCH = 500;
/**
 * Deliveries held in memory at most, queued, in flight and waiting for their attempt's record
 * together (dispatch-record-backpressure.test.ts): a chosen bound on this process's
 * memory and on what its crash leaves leased until the lease ends. (docs/latency.md measured one
 * endpoint's queue at 1,278–1,865 of them at a claim's end, at 1,000 events/s on a loaded machine.)
 */
export const MAX_HELD = 2_000;
/**
 * When the last claim was full, claim again as soon as this much room is free, without waiting for
 * the poll. A quarter of a batch, a chosen value: lower makes many small claims (a transaction each)
 * while attempts end one by one; higher leaves the endpoints' queues to run lower before a refill.
 */
export const RECLAIM_ROOM = CLAIM_BATCH / 4;
/**
 * The backstop poll. Publishes wake the loop at once (wake(); on PostgreSQL every process's, by
 * LISTEN/NOTIFY), so the poll finds what became due by the clock: retries, ended leases, probes, and
 * what a lost notification did not announce. A chosen value: such a delivery is sent up to this much
 * late; shorter costs more claims, most of them empty, on an idle store.
 */
export const POLL_MS = 250;

/** The store calls the loop makes. */
export type ClaimStore = Pick<
  Store,
  'claimDueDeliveries' | 'releaseClaims' | 'endpointLeaseOwners' | 'releaseEndpointLeases'
>;

/** The endpoints' queues, as the loop sees them (the dispatcher keeps them). */
export interface ClaimTarget {
  /** Endpoints this process holds deliveries of: waiting, in flight, or with a rate to remember. */
  endpoints(): Iterable<string>;
  /** Whether the endpoint's local queue is long (EndpointQueue.isLong); false when it has none. */
  isLong(endpointId: string): boolean;
  /** Endpoints whose circuit this process is opening: nothing more of theirs is claimed meanwhile. */
  tripping(): Iterable<string>;
  /** Queues a claim; one promise per delivery, true once it was attempted, false when given back. */
  queue(claimed: ClaimedDelivery[], claimedAt: number): Array<Promise<boolean>>;
}

/** The backstop poll's timer: setInterval in production, something a test runs by hand in tests. */
export interface PollTimer {
  repeat(run: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
}

export const nodePollTimer: PollTimer = {
  // Not unref'd: in `herald worker` this timer is what keeps the process alive while the
  // database is away (its sockets gone, nothing else on the event loop).
  repeat: (run, ms) => setInterval(run, ms),
  cancel: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export function createClaimLoop(deps: {
  store: ClaimStore;
  clock: Clock;
  /** --claim-lease: how long a claim leases its deliveries and their endpoints. */
  leaseMs: number;
  logger: Logger;
  target: ClaimTarget;
  poll?: PollTimer;
  /** Registers a claim, so that stopping waits for it (the dispatcher's running set). */
  track?: <T>(promise: Promise<T>) => Promise<T>;
}): ClaimLoop {
  const { store, clock, logger, target } = deps;
  const pollTimer = deps.poll ?? nodePollTimer;
  const track = deps.track ?? (<T>(promise: Promise<T>) => promise);
  /** This dispatcher among all on the database: the store leases each endpoint to one claimant at a time. */
  const claimantId = newOwnerId();
  /** Endpoints this loop's claims have leased; each is let go of once the process has none of their deliveries. */
  const leased = new Set<string>();
  let deadClaimantsChecked = false;
  let held = 0;
  let started = false;
  let stopping = false;
  let claiming = false;
  let claimAgain = false;
  /** The last claim came back full: more may be due. */
  let moreDue = false;
  /** Endpoints the last claim left out because their local queue was long: they may have more due. */
  let leftOut = new Set<string>();
  let poll: unknown;

  /**
   * A dispatcher killed with -9 keeps its endpoint leases until they run out (--claim-lease), and
   * nothing of those endpoints is sent meanwhile. Before its first claim, a dispatcher lets go of the
   * leases of claimants on its own host whose process is gone: a restart after a crash resumes at
   * once. (Other hosts' claimants cannot be checked from here; their leases run out.)
   */
  async function releaseDeadClaimantsOfThisHost(): Promise<void> {
    for (const owner of await store.endpointLeaseOwners()) {
      if (!isEndedLocalOwner(owner)) continue;
      await store.releaseEndpointLeases(owner);
      logger.info({ claimant: owner }, 'let go of the endpoint leases of a dispatcher on this host that has ended');
    }
  }

  /** Whether a claim starting now leaves the endpoint out: its local queue is long, or its circuit is being opened. */
  function leftOutNow(endpointId: string): boolean {
    return target.isLong(endpointId) || [...target.tripping()].includes(endpointId);
  }

  /** Claims one batch and queues it; resolves with one promise per claimed delivery (true: attempted). */
  async function claimBatch(): Promise<Array<Promise<boolean>>> {
    const limit = Math.min(CLAIM_BATCH, MAX_HELD - held);
    if (limit <= 0 || stopping) return [];
    if (!deadClaimantsChecked) {
      await releaseDeadClaimantsOfThisHost();
      deadClaimantsChecked = true;
    }
    // An endpoint with a long local queue sits this claim out, so the batch is other endpoints' work.
    const holding = new Set(target.endpoints());
    const excludeEndpointIds = [...new Set([...holding, ...target.tripping()])].filter(leftOutNow);
    leftOut = new Set(excludeEndpointIds);
    const releaseEndpointIds = [...leased].filter((id) => !holding.has(id));
    for (const id of releaseEndpointIds) leased.delete(id);
    const claimed = await store.claimDueDeliveries({
      now: clock.now(),
      limit,
      leaseMs: deps.leaseMs,
      excludeEndpointIds,
      claimant: { id: claimantId, releaseEndpointIds },
    });
    for (const c of claimed) leased.add(c.endpoint.id);
    if (stopping) {
      // stop() began while this claim ran (a claim can take a while on Postgres): give it all back.
      await store.releaseClaims(
        claimed.map((c) => ({ deliveryId: c.delivery.id, claim: c.claim })),
        clock.now(),
      );
      return [];
    }
    moreDue = claimed.length === limit;
    // Counted before they are queued: a queue may give some back at once, which counts them out.
    held += claimed.length;
    return target.queue(claimed, clock.now());
  }

  /** The loop's claim: again and again while claims come back full and there is room. */
  async function pump(): Promise<void> {
    if (stopping) return;
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = true;
    try {
      do {
        claimAgain = false;
        if (MAX_HELD - held < RECLAIM_ROOM) break; // finishing attempts call pump() again
        await track(claimBatch());
        if (moreDue) claimAgain = true;
      } while (claimAgain && !stopping);
    } catch (error) {
      logger.error({ err: error }, 'claiming due deliveries failed; trying again at the next poll');
    } finally {
      claiming = false;
    }
  }

  return {
    start() {
      if (started || stopping) return;
      started = true;
      poll = pollTimer.repeat(() => void pump(), POLL_MS);
      void pump();
    },
    wake(endpointIds) {
      if (!started) return;
      // Measured with 1,000,000 deliveries pending for an endpoint whose queue is long (64 clients
      // publishing to it, `herald serve` on SQLite): a claim per publish commit held `serve` at 89 %
      // of `herald api`'s publish rate; without those claims, 99 % (12,848/s against 12,989/s,
      // medians of four runs each).
      if (endpointIds?.every(leftOutNow)) {
        for (const id of endpointIds) leftOut.add(id);
        return;
      }
      void pump();
    },
    stop() {
      stopping = true;
      if (poll !== undefined) pollTimer.cancel(poll);
    },
    claimBatch,
    attemptEnded(endpointId) {
      held--;
      // Claim again without waiting for the poll when the last claim was full, or when an endpoint it
      // left out is about to run dry: with one busy endpoint, waiting for the poll idled the sender.
      const refill = moreDue || (leftOut.has(endpointId) && !target.isLong(endpointId));
      if (started && refill && MAX_HELD - held >= RECLAIM_ROOM) void pump();
    },
    letGo(count) {
      held -= count;
    },
    get held() {
      return held;
    },
    async releaseLeases() {
      leased.clear();
      await store.releaseEndpointLeases(claimantId);
    },
  };
}
