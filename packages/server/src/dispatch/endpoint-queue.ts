import type { Clock } from '@herald/protocol';
import { createTokenBucket, type TokenBucket } from '../rate/token-bucket.js';
import type { ClaimedDelivery } from '../store/types.js';

/**
 * One endpoint's queue in this process: the deliveries a claim handed to this dispatcher for the
 * endpoint, waiting for their turn. It decides, and only decides, what is sent next:
 *
 * - the cap: at most `cap` requests in flight to the endpoint (`--endpoint-concurrency`);
 * - the rate: one token of the endpoint's bucket (`rate_limit_per_s`, rate/token-bucket.ts) per
 *   request; over its rate the deliveries wait here, they are not failed;
 * - give-back: a delivery that waited here longer than `staleAfterMs` (half the claim lease) is
 *   given back instead of sent, so another process that claims it when the lease ends never sends
 *   it at the same time as this one;
 * - whether the queue is long (isLong): the next claim then leaves the endpoint out.
 *
 * The dispatcher (dispatcher.ts) composes the queues: it sends what `next()` hands out, gives back
 * what it calls stale and holds an endpoint back while its circuit is being opened; the claim loop
 * (claim-loop.ts) counts what the whole process holds. Nothing here does I/O: tests drive it with
 * the manual clock.
 */
export interface EndpointQueue {
  readonly endpointId: string;
  /** Deliveries waiting here, not yet sent. */
  readonly waitingCount: number;
  /** Requests this queue started that have not ended. */
  readonly inFlight: number;
  /** A claimed delivery joins the end of the queue. */
  add(item: Held): void;
  /**
   * The endpoint's rate limit as the newest claim read it (a PATCH may have changed it); null or
   * ≤ 0: unlimited. A changed limit starts a full bucket; the same limit keeps the bucket.
   */
  setRateLimit(perSecond: number | null): void;
  /**
   * What to do next: send the head (it now counts as in flight; call attemptEnded() when its attempt
   * ends), give the head back (stale), or nothing (empty, at the cap, or over the rate: then the
   * queue calls `onTokenDue` once the token is there, and hands out nothing before).
   */
  next(): NextStep;
  /** An attempt that next() handed out has ended: its slot is free. */
  attemptEnded(): void;
  /** Takes one waiting delivery out (a manual attempt takes its place). */
  remove(item: Held): void;
  /** Takes every waiting (not yet sent) delivery out, oldest first. */
  takeWaiting(): Held[];
  /** Stops the wait for a token and takes every waiting delivery out: the dispatcher is stopping. */
  stop(): Held[];
  /**
   * A queue is long when it holds more than twice the cap and more than about a second of the
   * endpoint's work at its pace (cap / recent latency, or its rate limit): the next claim leaves such
   * an endpoint out, so a slow endpoint's backlog does not fill this process's memory while others
   * wait. A fast endpoint's queue of a few hundred is not long: leaving it out made the claims scan
   * past its due rows and come back empty (commit 6565285: in a 40,000-delivery run to 4 fast
   * endpoints, 122 of 200 claims came back empty when the rule was 2 × cap alone; none of 295 with
   * this one). `latencyMs`: the endpoint's recent attempt duration (Latencies), undefined: none yet.
   */
  isLong(latencyMs: number | undefined): boolean;
  /** Nothing waiting, nothing in flight, no rate to remember: the dispatcher may forget the queue. */
  isIdle(): boolean;
}

/** A claimed delivery held in this process, from its claim until it is sent or given back. */
export interface Held {
  claimed: ClaimedDelivery;
  /** When the claim returned, on the config clock. */
  claimedAt: number;
  /** Ends the claim's wait for this delivery: true when it was attempted, false when given back or taken over. */
  settle(attempted: boolean): void;
}

export type NextStep = { kind: 'send'; item: Held } | { kind: 'stale'; item: Held } | { kind: 'none' };

/** How the queue waits for a rate token: setTimeout in production, something a test drives in tests. */
export interface Timers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const nodeTimers: Timers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface EndpointQueueOptions {
  endpointId: string;
  /** Requests in flight to the endpoint at most (`--endpoint-concurrency`). */
  cap: number;
  /** A delivery waiting longer than this since its claim is given back (half the claim lease, see above). */
  staleAfterMs: number;
  /** The config clock: what claimedAt is on. */
  clock: Clock;
  /** The rate bucket's clock, ms: monotonic in production (rate/token-bucket.ts says why). */
  rateNow: () => number;
  timers: Timers;
  /** Called when the rate token this queue waited for is there: drain it again. */
  onTokenDue(): void;
}

/**
 * A queue of at most two rounds of the cap is never long, whatever the latency says: a chosen floor
 * (it was the whole rule before the pace was judged, and a queue that short empties within two
 * round trips of the endpoint).
 */
const NEVER_LONG_CAPS = 2;

export function createEndpointQueue(options: EndpointQueueOptions): EndpointQueue {
  const { endpointId, cap, staleAfterMs, clock, rateNow, timers } = options;
  const waiting: Held[] = [];
  let inFlight = 0;
  /** null: no rate limit. */
  let bucket: TokenBucket | null = null;
  /** Set while the queue waits for a rate token: nothing is handed out meanwhile. */
  let tokenTimer: unknown = null;

  return {
    endpointId,
    get waitingCount() {
      return waiting.length;
    },
    get inFlight() {
      return inFlight;
    },

    add(item) {
      waiting.push(item);
    },

    setRateLimit(rate) {
      const perSecond = rate !== null && rate > 0 ? rate : null;
      if (perSecond === (bucket?.perSecond ?? null)) return;
      // A burst of one second's worth, as the API's per-key limit (the API accepts integers ≥ 1).
      bucket = perSecond === null ? null : createTokenBucket({ perSecond, burst: perSecond, now: rateNow });
    },

    next() {
      if (inFlight >= cap || tokenTimer !== null) return NONE;
      const head = waiting[0];
      if (head === undefined) return NONE;
      if (clock.now() - head.claimedAt > staleAfterMs) {
        waiting.shift();
        return { kind: 'stale', item: head };
      }
      const waitS = bucket === null ? 0 : bucket.take();
      if (waitS > 0) {
        tokenTimer = timers.set(
          () => {
            tokenTimer = null;
            options.onTokenDue();
          },
          Math.ceil(waitS * 1000),
        );
        return NONE;
      }
      waiting.shift();
      inFlight++;
      return { kind: 'send', item: head };
    },

    attemptEnded() {
      inFlight--;
    },

    remove(item) {
      const at = waiting.indexOf(item);
      if (at >= 0) waiting.splice(at, 1);
    },

    takeWaiting() {
      return waiting.splice(0);
    },

    stop() {
      if (tokenTimer !== null) timers.clear(tokenTimer);
      tokenTimer = null;
      return waiting.splice(0);
    },

    isLong(latencyMs) {
      if (waiting.length <= NEVER_LONG_CAPS * cap) return false;
      if (latencyMs === undefined) return true;
      // The endpoint's pace, deliveries a second: the cap per recent latency, or its rate limit if
      // lower. Under 1 ms counts as 1 ms: a 0 ms average would make the pace infinite.
      const perSecond = Math.min(cap * (1000 / Math.max(latencyMs, 1)), bucket?.perSecond ?? Number.POSITIVE_INFINITY);
      // A second of work is a chosen span: longer holds more in memory per endpoint, shorter makes
      // more claims leave the endpoint out and come back to it.
      return waiting.length > perSecond;
    },

    isIdle() {
      return waiting.length === 0 && inFlight === 0 && bucket === null;
    },
  };
}

const NONE: NextStep = { kind: 'none' };

/**
 * Each endpoint's recent attempt duration, ms, as a moving average (isLong reads it), kept while the
 * endpoint's queue comes and goes.
 */
export interface Latencies {
  of(endpointId: string): number | undefined;
  record(endpointId: string, durationMs: number): void;
}

/** Endpoints whose recent latency is kept at most: with more, the averages start again from their next attempts. */
const MAX_LATENCIES = 10_000;

export function createLatencies(): Latencies {
  const averages = new Map<string, number>();
  return {
    of: (endpointId) => averages.get(endpointId),
    record(endpointId, durationMs) {
      const average = averages.get(endpointId);
      if (average === undefined && averages.size >= MAX_LATENCIES) averages.clear();
      averages.set(
        endpointId,
        // The newest attempt weighs 0.2, a chosen value: higher follows a change of the endpoint's
        // pace sooner and jumps more with one slow attempt (docs/latency.md saw such jumps).
        average === undefined ? durationMs : 0.8 * average + 0.2 * durationMs,
      );
    },
  };
}
