import type { Config } from '../config.js';
import type { Store } from '../store/types.js';

/**
 * A disabled endpoint's deliveries wait off the claim path, end `failed` when their retry window
 * (`--retry-max-age`, 24 h) closes, and resume on re-enable if still inside it (the statements
 * are store/waiting-sql.ts). This runs for one endpoint right after it is disabled or re-enabled,
 * and for every endpoint on each --check-interval: that periodic pass fails the deliveries whose
 * window closed meanwhile, and repairs what a crash between a disable and its settling left.
 */
export async function settleWaitingDeliveries(
  deps: { store: Pick<Store, 'settleWaitingDeliveries'>; config: Pick<Config, 'retryMaxAgeMs'> },
  now: number,
  endpointIds?: readonly string[],
): Promise<{ waiting: number; failed: number; resumed: number }> {
  const window = duration(deps.config.retryMaxAgeMs);
  return deps.store.settleWaitingDeliveries({
    at: now,
    windowStart: now - deps.config.retryMaxAgeMs,
    reasons: {
      disabled: `Not delivered: its endpoint was disabled when the delivery's ${window} retry window closed`,
      circuitOpen: `Not delivered: its endpoint kept failing (circuit open) when the delivery's ${window} retry window closed`,
    },
    endpointIds,
  });
}

/** 86_400_000 → "24-hour"; shorter windows (tests, --retry-max-age 90s) in minutes or seconds. */
function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}-hour`;
  if (ms % 60_000 === 0) return `${ms / 60_000}-minute`;
  return `${Math.round(ms / 1000)}-second`;
}
