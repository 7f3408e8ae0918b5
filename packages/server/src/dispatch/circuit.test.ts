import { manualClock } from '@herald/protocol';
import { describe, expect, it } from 'vitest';
import type { EndpointCircuit } from '../store/types.js';
import { CIRCUIT_FAILURES, createCircuitBreaker, MAX_PROBE_INTERVAL_MS } from './circuit.js';

const closed: EndpointCircuit = { openedAt: null, probeAt: null, failedProbes: 0 };

describe('the circuit of an endpoint', () => {
  it('opens after five failures in a row, not when a success comes between', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker({ retryBaseMs: 30_000, circuitFailures: CIRCUIT_FAILURES });
    const ep = { id: 'ep_1', circuit: closed };
    for (let i = 0; i < CIRCUIT_FAILURES - 1; i++) expect(breaker.afterAttempt(ep, false, clock.now())).toBeUndefined();
    expect(breaker.afterAttempt(ep, true, clock.now())).toBeUndefined();
    for (let i = 0; i < CIRCUIT_FAILURES - 1; i++) expect(breaker.afterAttempt(ep, false, clock.now())).toBeUndefined();
    clock.advance(1000);
    expect(breaker.afterAttempt(ep, false, clock.now())).toEqual({ kind: 'open', probeAt: clock.now() + 30_000 });
    // Another endpoint's failures are its own.
    expect(breaker.afterAttempt({ id: 'ep_2', circuit: closed }, false, clock.now())).toBeUndefined();
  });

  it('spaces probes on the retry schedule, up to an hour, and closes on the first success', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker({ retryBaseMs: 30_000, circuitFailures: CIRCUIT_FAILURES });
    const open = (failedProbes: number) => ({
      id: 'ep_1',
      circuit: { openedAt: 0, probeAt: clock.now(), failedProbes },
    });
    const waits = [0, 1, 2, 3, 10].map((n) => {
      const change = breaker.afterAttempt(open(n), false, clock.now());
      return change?.kind === 'probe_failed' ? change.probeAt - clock.now() : undefined;
    });
    expect(waits).toEqual([60_000, 120_000, 240_000, 480_000, MAX_PROBE_INTERVAL_MS]);
    expect(breaker.afterAttempt(open(4), true, clock.now())).toEqual({ kind: 'close' });
  });

  it('never opens with --circuit-failures 0', () => {
    const breaker = createCircuitBreaker({ retryBaseMs: 30_000, circuitFailures: 0 });
    for (let i = 0; i < 100; i++)
      expect(breaker.afterAttempt({ id: 'ep_1', circuit: closed }, false, i)).toBeUndefined();
  });
});
