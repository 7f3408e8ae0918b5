import { AlertPageSchema, AlertsQuery, DEFAULT_PAGE } from '@herald/protocol/api';
import { callerOf } from '../auth.js';
import { presentAlert } from '../present.js';
import type { Api, RouteDeps } from '../server.js';

/**
 * How long a resolved alert stays in the list: a day, so that one that fired and resolved overnight
 * is still there in the morning.
 */
export const RESOLVED_ALERTS_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * GET /v1/alerts: the account's open alerts and those resolved in the last RESOLVED_ALERTS_WINDOW_MS,
 * newest first (by when they opened), paginated like the other lists; `state` keeps one of the two.
 * Any key may read it. The API contract leaves the route to us (alerts/alert-check.ts fires them).
 */
export function alertRoutes(app: Api, { store, config }: RouteDeps): void {
  app.get(
    '/v1/alerts',
    {
      schema: {
        operationId: 'listAlerts',
        tags: ['Operations'],
        summary: 'List alerts',
        description:
          'The account’s open alerts and those resolved in the last day, newest first; `state` keeps one of the two. Any key may read it.',
        querystring: AlertsQuery,
        response: { 200: AlertPageSchema },
      },
    },
    async (request) => {
      const { accountId } = callerOf(request);
      const q = request.query;
      const page = await store.listAlerts(accountId, {
        state: q.state,
        resolvedSince: config.clock.now() - RESOLVED_ALERTS_WINDOW_MS,
        cursor: q.cursor,
        limit: q.limit ?? DEFAULT_PAGE,
      });
      return { data: page.data.map(presentAlert), next_cursor: page.nextCursor };
    },
  );
}
