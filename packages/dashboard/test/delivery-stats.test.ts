import { describe, expect, it } from 'vitest';
import type { DeliveryStats } from '../src/api.js';
import { chartBuckets } from '../src/delivery-stats.js';

describe("the overview chart draws the server's counts per minute", () => {
  it('turns each bucket into one point per series, on a time axis in seconds', () => {
    const stats: DeliveryStats = {
      since: '2026-11-27T05:58:00.000Z',
      until: '2026-11-27T06:00:30.000Z',
      bucket_seconds: 60,
      buckets: [
        { start: '2026-11-27T05:58:00.000Z', succeeded: 0, failed: 0, pending: 1 },
        { start: '2026-11-27T05:59:00.000Z', succeeded: 3, failed: 1, pending: 0 },
        { start: '2026-11-27T06:00:00.000Z', succeeded: 2, failed: 0, pending: 0 },
      ],
      failed_by_endpoint: [{ endpoint_id: 'ep_1', failed: 1 }],
      oldest_due_at: null,
      oldest_due_delivery_id: null,
      failing_endpoints: 0,
      disabled_endpoints: 1,
    };
    const buckets = chartBuckets(stats);
    const at = (hms: string) => Date.parse(`2026-11-27T${hms}Z`) / 1000;
    expect(buckets).toEqual({
      t: [at('05:58:00'), at('05:59:00'), at('06:00:00')],
      succeeded: [0, 3, 2],
      failed: [0, 1, 0],
      pending: [1, 0, 0],
    });
  });
});
