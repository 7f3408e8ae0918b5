import type { DeliveryStats } from './api.js';

export interface DeliveryBuckets {
  /** Bucket starts, Unix seconds (what uPlot takes for a time axis). */
  t: number[];
  succeeded: number[];
  failed: number[];
  pending: number[];
}

/**
 * The chart's series from GET /v1/stats/deliveries: deliveries per bucket by the time they were
 * created, split by where they stand now. The server counts them all and lists every bucket.
 */
export function chartBuckets(stats: DeliveryStats): DeliveryBuckets {
  return {
    t: stats.buckets.map((b) => Date.parse(b.start) / 1000),
    succeeded: stats.buckets.map((b) => b.succeeded),
    failed: stats.buckets.map((b) => b.failed),
    pending: stats.buckets.map((b) => b.pending),
  };
}
