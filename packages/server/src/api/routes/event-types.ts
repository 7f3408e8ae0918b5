import { EventTypePageSchema } from '@herald/protocol/api';
import { BUILT_IN_EVENT_TYPES } from '../../event-types.js';
import type { Api, RouteDeps } from '../server.js';

export function eventTypeRoutes(app: Api, _deps: RouteDeps): void {
  /** The built-in types with the JSON Schema their `data` must match; producers' own types are free. */
  // The same for everyone and no account's data: a portal session may read it (its endpoint form).
  app.get(
    '/v1/event-types',
    {
      config: { tenantScoped: true },
      schema: {
        operationId: 'listEventTypes',
        tags: ['Events'],
        summary: 'List built-in event types',
        description:
          'The event types Herald itself publishes, with the JSON Schema their `data` matches. Your own types need no registration.',
        response: { 200: EventTypePageSchema },
      },
    },
    async () => ({
      data: BUILT_IN_EVENT_TYPES.map(({ name, description, schema }) => ({
        name,
        description,
        // A TypeBox schema is a JSON Schema object; its bookkeeping keys are not enumerable.
        schema: schema as unknown as Record<string, unknown>,
      })),
      next_cursor: null,
    }),
  );
}
