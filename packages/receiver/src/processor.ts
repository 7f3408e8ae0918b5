import { type Clock, isEndedLocalOwner, newOwnerId } from '@herald/protocol';
import { type Alert, type FailureRateOptions, failureRateMonitor } from './alerts.js';
import { type ReceivedEvent, readEvent } from './event.js';
import type { EventSource, Inbox, InboxEvent, InboxTransaction, KeyPosition } from './inbox/types.js';
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
  clock: Clock;
  logger: Logger;
  metrics: ReceiverMetrics;
  onAlert: (alert: Alert) => void;
  failureRate: FailureRateOptions;
}

/** Whether `event` comes before the newest event processed for its key. */
export function isOlder(event: InboxEvent, position: KeyPosition): boolean {
  if (event.endpointId === position.endpointId && event.sequence > 0 && position.sequence > 0) {
    return event.sequence < position.sequence;
  }
  return event.occurredAt < position.occurredAt;
}

/** The workers this process runs now: any other claimant with this process's pid has ended. */
const liveWorkers = new Set<string>();

/**
 * Claims due events from the inbox and runs their handlers, `concurrency` at a time, at most one
 * per order key. Every outcome is written back to the inbox: processed, stale, retry later, dead.
 */
export function createProcessor(options: ProcessorOptions) {
  const { inbox, clock, logger, metrics } = options;
  const workerId = newOwnerId();
  const inFlight = new Set<Promise<void>>();
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

  async function loop(): Promise<void> {
    await releaseEndedClaims();
    while (running) {
      const room = options.concurrency - inFlight.size;
      let claimed: InboxEvent[] = [];
      if (room > 0) {
        woken = false;
        try {
          claimed = await inbox.claim({ workerId, now: clock.now(), leaseMs: options.leaseMs, limit: room });
        } catch (error) {
          logger.error({ err: describeError(error) }, 'herald receiver: claiming from the inbox failed');
        }
        for (const event of claimed) {
          const run = handle(event).finally(() => {
            inFlight.delete(run);
            wake();
          });
          inFlight.add(run);
        }
      }
      if (claimed.length === 0 || claimed.length === room) await waitForWake(options.pollIntervalMs);
    }
  }

  async function handle(event: InboxEvent): Promise<void> {
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
        const newest = await inbox.keyPosition(event.orderKey);
        if (newest !== null && isOlder(event, newest)) {
          if (await unit.commit({ id: event.id, workerId, status: 'stale', now: clock.now() })) {
            metrics.stale.inc();
            logger.info(
              { eventId: event.id, key: event.orderKey, newer: newest.eventId },
              'herald receiver: stale event skipped',
            );
          }
          return;
        }
        position = {
          key: event.orderKey,
          endpointId: event.endpointId,
          sequence: event.sequence,
          occurredAt: event.occurredAt,
          eventId: event.id,
        };
      }
      const attempt = event.attempts + 1;
      try {
        const { event: received, payload } = readEvent(event.id, event.body);
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
        const committed = await unit.commit({
          id: event.id,
          workerId,
          status: 'processed',
          now: clock.now(),
          position,
        });
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
    workerId,
    wake,
    start(): void {
      if (running) return;
      running = true;
      liveWorkers.add(workerId);
      loopDone = loop();
    },
    /** Stops claiming and waits for the handlers that run. */
    async stop(): Promise<void> {
      running = false;
      wakeWaiter?.();
      await loopDone;
      await Promise.all([...inFlight]);
      liveWorkers.delete(workerId);
    },
  };
}
