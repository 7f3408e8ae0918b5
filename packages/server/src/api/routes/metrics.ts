import { MetricsSchema } from '@herald/protocol/api';
import type { Api, RouteDeps } from '../server.js';

/** GET /metrics: Prometheus text, without auth like /healthz (bind or firewall the port to limit who scrapes). */
export function metricsRoutes(app: Api, { metrics }: RouteDeps): void {
  if (!metrics) return;
  app.get(
    '/metrics',
    {
      config: { public: true },
      schema: {
        operationId: 'getMetrics',
        tags: ['Operations'],
        summary: 'Prometheus metrics',
        description:
          'Counters and gauges in Prometheus text format. Needs no key: bind or firewall the port to limit who scrapes.',
        response: { 200: MetricsSchema },
      },
    },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}
