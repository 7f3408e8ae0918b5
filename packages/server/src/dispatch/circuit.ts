import type { Config } from '../config.js';
import type { EndpointRecord } from '../store/types.js';

/**
 * The circuit per endpoint: an endpoint that keeps failing stops costing everyone.
 *
 *   closed ──CIRCUIT_FAILURES automatic attempts in a row fail──▶ open: the claim skips the
 *            endpoint by its row; its pending deliveries, and those published meanwhile, stay due
 *            at their created_at, so they keep their order and nothing is rewritten
 *   open ──probe time comes──▶ half_open: the claim hands out one delivery, the oldest, as the probe
 *   half_open ──the probe fails──▶ open; the next probe waits twice as long
 *   half_open ──the probe succeeds──▶ closed: the backlog is due already, and the claim drains it
 *            oldest first, paced by the endpoint's cap, beside every other endpoint's share
 *
 * Opening and closing write the endpoint row and a bounded set of deliveries, never the backlog
 * (store/circuit-sql.ts says how and why: rewriting a million-row backlog on each change stalled
 * every other endpoint for seconds).
 *
 * Probes follow the retry schedule: the first `--retry-base` (30 s) after opening, then 1 min,
 * 2 min, … up to MAX_PROBE_INTERVAL_MS. Every delivery's window still holds while it is open: the
 * periodic pass (waiting-deliveries.ts) fails those whose window closes, with the reason.
 *
 * The state lives on the endpoint row, so every process sees it; the run of failures is counted
 * here, in the dispatcher that holds the endpoint (one at a time: the endpoint lease), and starts
 * again when another takes it over.
 */

/**
 * The default of `--circuit-failures`: failed automatic attempts in a row that open the circuit.
 * Five: a receiver restarting fails the requests in flight at that moment, up to the cap of 10,
 * but those come back with successes between them as the retries spread out; five with no success
 * between is an endpoint that is down, and opening at five keeps at most a cap's worth of requests
 * hanging on it before it is held back.
 */
export const CIRCUIT_FAILURES = 5;
/** The longest wait between probes: a receiver back after a long outage gets its backlog within the hour. */
export const MAX_PROBE_INTERVAL_MS = 60 * 60 * 1000;
/** Endpoints whose run of failures is tracked at most; with more, the counts start again. */
const MAX_TRACKED = 10_000;

export type CircuitChange =
  | { kind: 'open'; probeAt: number }
  | { kind: 'close' }
  | { kind: 'probe_failed'; probeAt: number };

/** The wait before the probe after `failedProbes` failed ones: retry base × 2^failedProbes, capped. */
export function probeDelay(config: Pick<Config, 'retryBaseMs'>, failedProbes: number): number {
  return Math.min(config.retryBaseMs * 2 ** failedProbes, MAX_PROBE_INTERVAL_MS);
}

export interface CircuitBreaker {
  /**
   * What one automatic attempt's outcome does to its endpoint's circuit; undefined: nothing.
   * `endpoint` is as the claim read it: a circuit open then makes this attempt its probe.
   */
  afterAttempt(endpoint: Pick<EndpointRecord, 'id' | 'circuit'>, ok: boolean, now: number): CircuitChange | undefined;
}

export function createCircuitBreaker(config: Pick<Config, 'retryBaseMs' | 'circuitFailures'>): CircuitBreaker {
  const threshold = config.circuitFailures;
  const failuresInARow = new Map<string, number>();
  return {
    afterAttempt(endpoint, ok, now) {
      // Off: an open circuit left from before still closes on a success (or on re-enabling).
      if (threshold === 0 && endpoint.circuit.openedAt === null) return undefined;
      if (endpoint.circuit.openedAt !== null) {
        failuresInARow.delete(endpoint.id);
        if (ok) return { kind: 'close' };
        return { kind: 'probe_failed', probeAt: now + probeDelay(config, endpoint.circuit.failedProbes + 1) };
      }
      if (ok) {
        failuresInARow.delete(endpoint.id);
        return undefined;
      }
      const failures = (failuresInARow.get(endpoint.id) ?? 0) + 1;
      if (failures < threshold) {
        if (!failuresInARow.has(endpoint.id) && failuresInARow.size >= MAX_TRACKED) failuresInARow.clear();
        failuresInARow.set(endpoint.id, failures);
        return undefined;
      }
      failuresInARow.delete(endpoint.id);
      return { kind: 'open', probeAt: now + probeDelay(config, 0) };
    },
  };
}
