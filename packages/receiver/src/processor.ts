import { type Clock, isEndedLocalOwner, newOwnerId, readEnvelope } from '@herald/protocol';
import { type Alert, type FailureRateOptions, failureRateMonitor } from './alerts.js';
import type { ReceivedEvent } from './event.js';
import {
  type EventSource,
  HandlerWriteError,
  type Inbox,
  type InboxEvent,
  type InboxTransaction,
  type KeyPosition,
} from './inbox/types.js';
import { describeError, type Logger } from './log.js';
import type { ReceiverMetrics } from './metrics.js';

/** What a handler gets beside the event. */
export interface HandlerContext {
  /** The `webhook-id` the event was stored under. */
  id: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /** `webhook` when it came to the route, `poll` when the watchdog found it in the sender's feed. */
  source: EventSource;
  receivedAt: Date;
  /** `order.key(event)`, or null. */
  orderKey: string | null;
  /** The whole JSON body as the sender sent it. */
  payload: Record<string, unknown>;
  /**
   * Writes made through it commit in the transaction that marks this event processed: they happen
   * exactly once, even if the process dies at any moment.
   */
  transaction: InboxTransaction;
}

export type Handler<Data = unknown> = (event: ReceivedEvent<Data>, ctx: HandlerContext) => unknown;

/** Handlers by event type; `'*'` takes every type that has no handler of its own. */
// biome-ignore lint/suspicious/noExplicitAny: each handler types its own event data.
export type Handlers = Record<string, Handler<any>>;

export interface RetryOptions {
  /**
   * Runs of a failing handler in all (the first and its retries) before the event is parked as dead.
   * @default 5
   */
  attempts?: number;
  /**
   * The wait before retry n (1 for the first retry), ms.
   * @default (n) => Math.min(1000 * 2 ** (n - 1), 300_000)  // 1 s, 2 s, 4 s, … at most 5 min
   * @example { attempts: 8, backoff: (n) => 30_000 * n }
   */
  backoff?: (retry: number) => number;
}

export const defaultBackoff = (retry: number): number => Math.min(1000 * 2 ** (retry - 1), 300_000);

export interface ProcessorOptions {
  inbox: Inbox;
  handlers: Handlers;
  retry: Required<RetryOptions>;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  /** How long stop() waits for running handlers before it lets go of their events. */
  stopTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  metrics: ReceiverMetrics;
  onAlert: (alert: Alert) => void;
  failureRate: FailureRateOptions;
  /** How the inbox settles a fresh endpoint stream's start; undefined: only as told (`openStream`). */
  settle?: { afterMs: number; from: 'lowest' | 'beginning' };
}

/**
 * Whether an event without a sequence is older than the newest one processed for its key (last
 * writer wins by `occurred_at`, compared as instants). Events with a sequence are never stale: the
 * inbox hands them out in sequence order, however late they arrive. Null when the time is missing
 * or unreadable, so nothing can be said.
 */
export function isStale(event: InboxEvent, position: KeyPosition | null): boolean | null {
  if (event.sequence > 0) return false;
  const at = Date.parse(event.occurredAt);
  if (Number.isNaN(at)) return null;
  if (position === null) return false;
  const newest = Date.parse(position.occurredAt);
  return !Number.isNaN(newest) && at < newest;
}

/** The workers this process runs now: any other claimant with this process's pid has ended. */
const liveWorkers = new Set<string>();

/**
 * Claims due events from the inbox and runs their handlers, `concurrency` at a time, at most one
 * per order key. Every outcome is written back to the inbox: processed, stale, retry later, dead.
 */
export function createProcessor(options: ProcessorOptions) {
  const { inbox, clock, logger, metrics } = options;
  /**
   * The claimant of this run of the processor: new at each start(), so that a handler left behind by
   * stop() can never record its outcome over the claim of a later run.
   */
  let workerId = newOwnerId();
  /** Running handlers, by event id. */
  const inFlight = new Map<string, Promise<void>>();
  let running = false;
  let loopDone: Promise<void> | undefined;
  let woken = false;
  let wakeWaiter: (() => void) | undefined;
  const recordOutcome = failureRateMonitor(options.failureRate, (rate, window) =>
    options.onAlert({
      kind: 'failure_rate',
      message: `${Math.round(rate * 100)} % of the last ${window} handler runs failed.`,
      rate,
      window,
    }),
  );

  function wake(): void {
    woken = true;
    wakeWaiter?.();
  }

  function waitForWake(ms: number): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeWaiter = undefined;
        woken = false;
        resolve();
      }
      wakeWaiter = done;
    });
  }

  /**
   * Claims of processes on this host that have ended (killed with -9, or restarted in a container
   * with the same pid) are let go at once rather than when their lease runs out (30 s by default).
   * Claims of other hosts' processes cannot be judged from here: they wait for their lease.
   */
  async function releaseEndedClaims(): Promise<void> {
    try {
      for (const claimant of await inbox.claimants()) {
        if (!isEndedLocalOwner(claimant, liveWorkers)) continue;
        const released = await inbox.release(claimant);
        if (released > 0) {
          logger.info(
            { claimant, released },
            'herald receiver: let go of the claims of a process on this host that has ended',
          );
        }
      }
    } catch (error) {
      // Their leases still run out: this only makes recovery faster.
      logger.warn({ err: describeError(error) }, 'herald receiver: looking for claims of ended processes failed');
    }
  }

  /**
   * While claiming fails (a read-only or full disk, a database away), the wait between tries doubles
   * from pollInterval up to this, and the failure is logged once, then once more when claiming works
   * again, instead of once per poll. A webhook the route stores wakes the loop at once.
   */
  const maxClaimBackoffMs = 30_000;

  async function loop(worker: string): Promise<void> {
    await releaseEndedClaims();
    let claimFailures = 0;
    while (running) {
      const room = options.concurrency - inFlight.size;
      let claimed: InboxEvent[] = [];
      if (room > 0) {
        woken = false;
        try {
          const now = clock.now();
          const settle = options.settle && { before: now - options.settle.afterMs, from: options.settle.from };
          claimed = await inbox.claim({ workerId: worker, now, leaseMs: options.leaseMs, limit: room, settle });
          if (claimFailures > 0) {
            logger.info(
              { inbox: inbox.where, failures: claimFailures },
              'herald receiver: claiming from the inbox works again',
            );
            claimFailures = 0;
          }
        } catch (error) {
          claimFailures++;
          if (claimFailures === 1) {
            logger.error(
              { inbox: inbox.where, err: describeError(error) },
              'herald receiver: claiming from the inbox failed; no event is processed until it works again ' +
                '(retried with backoff; logged again when it works)',
            );
          }
        }
        for (const event of claimed) {
          const run = handle(event, worker).finally(() => {
            inFlight.delete(event.id);
            wake();
          });
          inFlight.set(event.id, run);
        }
      }
      if (claimFailures > 0) {
        await waitForWake(
          Math.max(
            options.pollIntervalMs,
            Math.min(options.pollIntervalMs * 2 ** (claimFailures - 1), maxClaimBackoffMs),
          ),
        );
      } else if (claimed.length === 0 || claimed.length === room) {
        await waitForWake(options.pollIntervalMs);
      }
    }
  }

  /**
   * The inbox could not record a handler's outcome (its commit failed: a lost connection, a busy or
   * full database), or the handler failed because ctx.transaction lost its connection. That is not
   * the handler's failure: nothing of the run was kept, so the event is let go to run again, attempts
   * unchanged. If letting go fails too, its lease runs out.
   */
  async function outcomeNotRecorded(event: InboxEvent, workerId: string, error: unknown): Promise<void> {
    logger.error(
      { eventId: event.id, inbox: inbox.where, err: describeError(error) },
      'herald receiver: the inbox could not record the outcome of a handler run; the event runs again',
    );
    try {
      await inbox.release(workerId, [event.id]);
    } catch (releaseError) {
      logger.warn(
        { eventId: event.id, inbox: inbox.where, err: describeError(releaseError) },
        'herald receiver: letting go of an event failed; it runs again when its lease has passed',
      );
    }
  }

  async function handle(event: InboxEvent, workerId: string): Promise<void> {
    const lease = setInterval(
      () => {
        inbox.extendLease([event.id], workerId, clock.now() + options.leaseMs).catch((error) => {
          logger.warn({ eventId: event.id, err: describeError(error) }, 'herald receiver: extending a lease failed');
        });
      },
      Math.max(10, options.leaseMs / 3),
    );
    try {
      const unit = inbox.begin();
      let position: (KeyPosition & { key: string }) | undefined;
      if (event.orderKey !== null) {
        const newest = event.sequence > 0 ? null : await inbox.keyPosition(event.orderKey);
        const stale = isStale(event, newest);
        if (stale) {
          let committed: boolean;
          try {
            committed = await unit.commit({ id: event.id, workerId, status: 'stale', now: clock.now() });
          } catch (error) {
            await outcomeNotRecorded(event, workerId, error);
            return;
          }
          if (committed) {
            metrics.stale.inc();
            logger.info(
              { eventId: event.id, key: event.orderKey, newer: newest?.eventId },
              'herald receiver: stale event skipped',
            );
          }
          return;
        }
        if (stale === null) {
          // No sequence and no readable time: it cannot be placed, so it runs and leaves the key's position alone.
          logger.warn(
            { eventId: event.id, key: event.orderKey, occurredAt: event.occurredAt },
            'herald receiver: an ordered event has neither a sequence nor a readable occurred_at; handled without an order check',
          );
        } else {
          position = {
            key: event.orderKey,
            endpointId: event.endpointId,
            sequence: event.sequence,
            occurredAt: event.occurredAt,
            eventId: event.id,
          };
        }
      }
      const attempt = event.attempts + 1;
      try {
        const { envelope: received, payload } = readEnvelope(event.body, { id: event.id });
        const handler = options.handlers[event.type] ?? options.handlers['*'];
        if (handler) {
          await handler(received, {
            id: event.id,
            attempt,
            source: event.source,
            receivedAt: new Date(event.receivedAt),
            orderKey: event.orderKey,
            payload,
            transaction: unit.transaction,
          });
        }
        let committed: boolean;
        try {
          committed = await unit.commit({ id: event.id, workerId, status: 'processed', now: clock.now(), position });
        } catch (error) {
          // A statement the handler queued that fails at commit (SQLite) is the handler's failure.
          if (error instanceof HandlerWriteError) throw error.cause;
          await outcomeNotRecorded(event, workerId, error);
          return;
        }
        if (committed) {
          metrics.processed.inc({ type: event.type });
        } else {
          logger.warn(
            { eventId: event.id },
            'herald receiver: claim lost (lease ran out); its writes were rolled back',
          );
        }
        recordOutcome(false);
      } catch (error) {
        await unit.rollback();
        if (unit.connectionLost) {
          await outcomeNotRecorded(event, workerId, error);
          return;
        }
        const dead = attempt >= options.retry.attempts;
        const message = describeError(error);
        await inbox.fail({
          id: event.id,
          workerId,
          error: message,
          attempts: attempt,
          nextAttemptAt: dead ? null : clock.now() + options.retry.backoff(attempt),
        });
        metrics.failed.inc({ type: event.type });
        recordOutcome(true);
        logger.error(
          { eventId: event.id, type: event.type, attempt, dead, err: message },
          dead
            ? 'herald receiver: handler failed for the last time; event parked as dead'
            : 'herald receiver: handler failed; will retry',
        );
        if (dead) {
          metrics.dead.inc({ type: event.type });
          options.onAlert({
            kind: 'dead',
            message: `Event ${event.id} (${event.type}) failed ${attempt} times and was parked as dead: ${message}`,
            eventId: event.id,
            type: event.type,
            error: message,
          });
        }
      }
    } catch (error) {
      // The inbox itself failed: the event stays claimed until its lease runs out, then runs again.
      logger.error({ eventId: event.id, err: describeError(error) }, 'herald receiver: recording an outcome failed');
    } finally {
      clearInterval(lease);
    }
  }

  return {
    get workerId() {
      return workerId;
    },
    wake,
    start(): void {
      if (running) return;
      running = true;
      if (loopDone !== undefined) workerId = newOwnerId();
      liveWorkers.add(workerId);
      loopDone = loop(workerId);
    },
    /**
     * Stops claiming and waits for the handlers that run, for at most stopTimeoutMs. The events of
     * handlers still running then are let go, so that another process (or the next start) runs
     * them at once; whatever those handlers do after that is not recorded.
     */
    async stop(): Promise<void> {
      running = false;
      wakeWaiter?.();
      await loopDone;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<true>((resolve) => {
        timer = setTimeout(() => resolve(true), options.stopTimeoutMs);
      });
      const hung = await Promise.race([Promise.all(inFlight.values()).then(() => false), timedOut]);
      clearTimeout(timer);
      if (hung) {
        const ids = [...inFlight.keys()];
        logger.warn(
          { eventIds: ids, stopTimeoutMs: options.stopTimeoutMs },
          'herald receiver: handlers still running at the stop deadline; their events are let go to run again',
        );
        await inbox.release(workerId, ids).catch((error) => {
          logger.warn(
            { inbox: inbox.where, err: describeError(error) },
            'herald receiver: letting go of the events of hung handlers failed; they run again when their lease has passed',
          );
        });
      }
      liveWorkers.delete(workerId);
    },
  };
}
