import type { Api, RouteDeps } from '../server.js';

/** GET /metrics: Prometheus text, without auth like /healthz (bind or firewall the port to limit who scrapes). */
export function metricsRoutes(app: Api, { metrics }: RouteDeps): void {
  if (!metrics) return;
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
