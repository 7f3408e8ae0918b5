/**
 * A token bucket: the one rate limit of Herald, used by the API per key (api/rate-limit.ts,
 * `--rate-limit`) and by the dispatcher per endpoint (dispatch/endpoint-queue.ts,
 * `rate_limit_per_s`).
 *
 * It starts full with `burst` tokens, gains `perSecond` tokens a second up to `burst`, and each
 * request takes one. Both callers give a burst of one second's worth (`perSecond`, at least 1): a
 * client or a receiver that was quiet may send a second's worth at once, and is then held to the
 * rate. What happens when no token is there is the caller's: the API answers 429, the endpoint's
 * queue waits.
 *
 * `now` is in milliseconds, and monotonic in production (performance.now()): the bucket measures how
 * fast requests really arrive, and a test that freezes or jumps the config clock must neither
 * starve nor flood it. Tests hand in a manual clock.
 */
export interface TokenBucket {
  /** Tokens gained per second. */
  readonly perSecond: number;
  /** Takes one token and returns 0; or takes none and returns the seconds until one is there (> 0). */
  take(): number;
}

export function createTokenBucket(options: { perSecond: number; burst: number; now: () => number }): TokenBucket {
  const { perSecond, burst, now } = options;
  let tokens = burst;
  let refilledAt = now();
  return {
    perSecond,
    take() {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - refilledAt) / 1000) * perSecond);
      refilledAt = t;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return (1 - tokens) / perSecond;
    },
  };
}
