import type { Delivery } from './api.js';

export interface DeliveryBuckets {
  /** Bucket starts, Unix seconds (what uPlot takes for a time axis). */
  t: number[];
  succeeded: number[];
  failed: number[];
  pending: number[];
}

/**
 * Deliveries per bucket by the minute they were created, split by where they stand now. Deliveries
 * outside [since, now) are left out.
 */
export function bucketDeliveries(
  deliveries: Delivery[],
  since: number,
  now: number,
  bucketMs = 60_000,
): DeliveryBuckets {
  const start = Math.floor(since / bucketMs) * bucketMs;
  const count = Math.max(1, Math.ceil((now - start) / bucketMs));
  const buckets: DeliveryBuckets = {
    t: Array.from({ length: count }, (_, i) => (start + i * bucketMs) / 1000),
    succeeded: new Array(count).fill(0),
    failed: new Array(count).fill(0),
    pending: new Array(count).fill(0),
  };
  for (const delivery of deliveries) {
    const at = Date.parse(delivery.created_at);
    if (at < since || at >= now + bucketMs) continue;
    const i = Math.min(count - 1, Math.floor((at - start) / bucketMs));
    buckets[delivery.status][i] = (buckets[delivery.status][i] ?? 0) + 1;
  }
  return buckets;
}
