import { describe, expect, it } from 'vitest';
import type { Delivery } from '../src/api.js';
import { bucketDeliveries } from '../src/delivery-stats.js';

const NOW = Date.parse('2026-11-27T06:00:30.000Z');

function delivery(status: Delivery['status'], createdAt: string): Delivery {
  return {
    id: `dlv_${createdAt}`,
    event_id: 'evt_1',
    endpoint_id: 'ep_1',
    status,
    sequence: 1,
    attempt_count: 1,
    next_attempt_at: null,
    created_at: createdAt,
  };
}

describe('the overview chart counts deliveries per minute by where they stand', () => {
  it('puts each delivery in the minute it was created, split by status, and leaves out older ones', () => {
    const buckets = bucketDeliveries(
      [
        delivery('succeeded', '2026-11-27T06:00:10.000Z'),
        delivery('succeeded', '2026-11-27T06:00:29.000Z'),
        delivery('failed', '2026-11-27T05:59:59.999Z'),
        delivery('pending', '2026-11-27T05:58:00.000Z'),
        delivery('succeeded', '2026-11-27T05:50:00.000Z'),
      ],
      NOW - 3 * 60_000,
      NOW,
    );
    expect(buckets.t).toEqual(
      [5 * 3600 + 57 * 60, 5 * 3600 + 58 * 60, 5 * 3600 + 59 * 60, 6 * 3600].map(
        (s) => Date.parse('2026-11-27T00:00:00Z') / 1000 + s,
      ),
    );
    expect(buckets.succeeded).toEqual([0, 0, 0, 2]);
    expect(buckets.failed).toEqual([0, 0, 1, 0]);
    expect(buckets.pending).toEqual([0, 1, 0, 0]);
  });

  it('draws an empty window as zeros, one point a minute', () => {
    const buckets = bucketDeliveries([], NOW - 60 * 60_000, NOW);
    expect(buckets.t).toHaveLength(61);
    expect(buckets.succeeded.every((n) => n === 0)).toBe(true);
  });
});
