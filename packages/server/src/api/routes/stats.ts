import { DeliveryStatsSchema, StatsQuery } from '@herald/protocol/api';
import { invalid } from '../errors.js';
import { scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';
import { parseTime } from './events.js';

/** The longest window a stats request may cover. */
const MAX_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
/** The most buckets one answer holds (a day of minutes). */
const MAX_BUCKETS = 1_440;

/**
 * GET /v1/stats/deliveries: the account's deliveries created since `since` (default: an hour ago),
 * counted per `bucket_seconds` (default 60) of their creation time by where they stand now, every
 * bucket listed (zeros included) so a chart can draw the answer as it is; and the failed ones per
 * endpoint; and, as of now, the oldest due delivery and the failing and disabled endpoint counts.
 * What the dashboard's overview draws; the API contract leaves the route to us.
 */
export function statsRoutes(app: Api, { store, config }: RouteDeps): void {
  app.get(
    '/v1/stats/deliveries',
    {
      config: { tenantScoped: true },
      schema: {
        operationId: 'getDeliveryStats',
        tags: ['Deliveries'],
        summary: 'Delivery counts over time',
        description:
          "Deliveries created since `since` (default: an hour ago), counted per `bucket_seconds` (default 60) by where they stand now, every bucket listed; the failed ones per endpoint; and, as of now, the oldest due delivery and the failing and disabled endpoint counts. At most 7 days and 1,440 buckets. A portal session sees its tenant's figures only.",
        querystring: StatsQuery,
        response: { 200: DeliveryStatsSchema },
      },
    },
    async (request) => {
      const scoped = scopedStore(store, request);
      const tenant = { tenantId: request.query.tenant_id };
      const now = config.clock.now();
      const bucketMs = (request.query.bucket_seconds ?? 60) * 1000;
      const asked = request.query.since === undefined ? now - 60 * 60 * 1000 : parseTime('since', request.query.since);
      if (asked >= now) throw invalid('since', 'must be in the past.');
      if (now - asked > MAX_WINDOW_MS) throw invalid('since', 'must be at most 7 days ago.');
      const since = Math.floor(asked / bucketMs) * bucketMs;
      const count = Math.floor((now - since) / bucketMs) + 1;
      if (count > MAX_BUCKETS) {
        throw invalid(
          'bucket_seconds',
          `gives ${count} buckets over this window; at most ${MAX_BUCKETS}: choose a larger bucket or a later since.`,
        );
      }
      const [stats, health] = await Promise.all([
        scoped.deliveryStats({ since, until: now + 1, bucketMs, ...tenant }),
        scoped.accountHealth(now, tenant),
      ]);
      const buckets = Array.from({ length: count }, (_, i) => ({
        start: new Date(since + i * bucketMs).toISOString(),
        succeeded: 0,
        failed: 0,
        pending: 0,
      }));
      for (const c of stats.counts) {
        const bucket = buckets[Math.round((c.bucketStart - since) / bucketMs)];
        if (bucket) bucket[c.status] += c.count;
      }
      return {
        since: new Date(since).toISOString(),
        until: new Date(now).toISOString(),
        bucket_seconds: bucketMs / 1000,
        buckets,
        failed_by_endpoint: stats.failedByEndpoint
          .sort((a, b) => b.failed - a.failed || (a.endpointId < b.endpointId ? -1 : 1))
          .map((e) => ({ endpoint_id: e.endpointId, failed: e.failed })),
        // Now, whatever the window: the oldest delivery due (enabled endpoints), and the endpoints
        // failing (in a run of failed attempts) or disabled, counted by the store.
        oldest_due_at: health.oldestDue && new Date(health.oldestDue.dueAt).toISOString(),
        oldest_due_delivery_id: health.oldestDue?.deliveryId ?? null,
        failing_endpoints: health.failingEndpoints,
        disabled_endpoints: health.disabledEndpoints,
      };
    },
  );
}
