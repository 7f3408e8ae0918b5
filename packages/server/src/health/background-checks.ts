import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { checkAlerts } from '../alerts/alert-check.js';
import type { Config } from '../config.js';
import { disableFailingEndpoints } from '../dispatch/endpoint-disabling.js';
import { settleWaitingDeliveries } from '../dispatch/waiting-deliveries.js';
import { newOwnerId } from '../owner-id.js';
import { purgeExpired } from '../retention/purge.js';
import type { Store } from '../store/types.js';

/**
 * The periodic work beside the dispatcher (roles `serve` and `worker`): disabling endpoints that
 * have failed for --disable-after, alerts, failing disabled endpoints' deliveries whose window
 * closed (dispatch/waiting-deliveries.ts), and retention. Each check reads config.clock, so a test
 * moves the manual clock and calls runOnce() instead of waiting; in production a timer runs them.
 *
 * Every worker process has the timers, and each timer first asks the store whose turn it is
 * (store.claimPeriodicRun, one conditional write): a check runs once per interval across the fleet,
 * by whichever process gets there first, and keeps running while any process lives. Each check is
 * also safe to run twice (conditional writes decide who publishes), so a slow run overlapping the
 * next interval's does no harm.
 */
export interface BackgroundChecks {
  start(): void;
  stop(): Promise<void>;
  /** Runs every check once, now, whoever ran it last; resolves when they are done. */
  runOnce(): Promise<void>;
}

/** Retention: its cutoff moves slowly, and the first pass after a quiet hour does the catching up. */
const PURGE_INTERVAL_MS = 60 * 60 * 1000;

export function createBackgroundChecks(deps: { config: Config; store: Store; logger: Logger }): BackgroundChecks {
  const { config, store, logger } = deps;
  const owner = newOwnerId();
  let timers: NodeJS.Timeout[] = [];
  let running: Promise<void> = Promise.resolve();

  const checks = {
    'disable-failing-endpoints': { intervalMs: config.checkIntervalMs, run: () => disableFailingEndpoints(deps) },
    alerts: { intervalMs: config.checkIntervalMs, run: () => checkAlerts(deps) },
    'waiting-deliveries': {
      intervalMs: config.checkIntervalMs,
      run: () => settleWaitingDeliveries(deps, config.clock.now()).then(() => undefined),
    },
    retention: { intervalMs: PURGE_INTERVAL_MS, run: () => purgeExpired(deps) },
  };
  type CheckName = keyof typeof checks;

  /** One check at a time, in order; a failure is logged and the next run tries again. */
  function serially(name: CheckName, whenItsTurn: boolean): Promise<void> {
    const check = checks[name];
    running = running.then(async () => {
      try {
        if (whenItsTurn) {
          const now = config.clock.now();
          if (!(await store.claimPeriodicRun({ name, now, intervalMs: check.intervalMs, owner }))) return;
        }
        const began = performance.now();
        await check.run();
        logger.debug({ check: name, duration_ms: Math.round(performance.now() - began) }, 'background check ran');
      } catch (error) {
        logger.error({ err: error, check: name }, 'background check failed; it runs again at its next interval');
      }
    });
    return running;
  }

  const health = (whenItsTurn: boolean) =>
    Promise.all([
      serially('disable-failing-endpoints', whenItsTurn),
      serially('alerts', whenItsTurn),
      serially('waiting-deliveries', whenItsTurn),
    ]).then(() => undefined);

  return {
    start() {
      if (timers.length > 0) return;
      timers = [
        setInterval(() => void health(true), config.checkIntervalMs),
        setInterval(() => void serially('retention', true), PURGE_INTERVAL_MS),
      ];
      for (const t of timers) t.unref();
      void health(true);
      void serially('retention', true);
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
      await running;
    },
    async runOnce() {
      await Promise.all([health(false), serially('retention', false)]);
    },
  };
}
