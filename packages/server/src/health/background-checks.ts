import type { Logger } from 'pino';
import { checkAlerts } from '../alerts/alert-check.js';
import type { Config } from '../config.js';
import { disableFailingEndpoints } from '../dispatch/endpoint-disabling.js';
import { purgeExpired } from '../retention/purge.js';
import type { Store } from '../store/types.js';

/**
 * The periodic work beside the dispatcher (roles `serve` and `worker`): disabling endpoints that
 * have failed for --disable-after, alerts, and retention. Each check reads config.clock, so a test
 * moves the manual clock and calls runOnce() instead of waiting; in production a timer runs them.
 * Every check is safe to run in several processes at once (conditional writes decide who publishes).
 */
export interface BackgroundChecks {
  start(): void;
  stop(): Promise<void>;
  /** Runs every check once, now; resolves when they are done. */
  runOnce(): Promise<void>;
}

/** Endpoint disabling and alerts: often enough that an alert is at most this late. */
const CHECK_INTERVAL_MS = 30_000;
/** Retention: its cutoff moves slowly, and the first pass after start does the catching up. */
const PURGE_INTERVAL_MS = 60 * 60 * 1000;

export function createBackgroundChecks(deps: { config: Config; store: Store; logger: Logger }): BackgroundChecks {
  const { logger } = deps;
  let timers: NodeJS.Timeout[] = [];
  let running: Promise<void> = Promise.resolve();

  /** One check at a time, in order; a failure is logged and the next run tries again. */
  function serially(name: string, check: () => Promise<unknown>): Promise<void> {
    running = running.then(async () => {
      try {
        await check();
      } catch (error) {
        logger.error({ err: error, check: name }, 'background check failed; it runs again at its next interval');
      }
    });
    return running;
  }

  const health = () =>
    Promise.all([
      serially('disable-failing-endpoints', () => disableFailingEndpoints(deps)),
      serially('alerts', () => checkAlerts(deps)),
    ]).then(() => undefined);
  const retention = () => serially('retention', () => purgeExpired(deps));

  return {
    start() {
      if (timers.length > 0) return;
      timers = [
        setInterval(() => void health(), CHECK_INTERVAL_MS),
        setInterval(() => void retention(), PURGE_INTERVAL_MS),
      ];
      for (const t of timers) t.unref();
      void health();
      void retention();
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
      await running;
    },
    async runOnce() {
      await Promise.all([health(), retention()]);
    },
  };
}
